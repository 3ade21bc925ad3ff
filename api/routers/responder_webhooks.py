"""/v1/webhooks/slack/interactions and /v1/webhooks/pagerduty: acknowledgements from the tools
responders already have open.

No API key here: each vendor signs its requests, and the signature over the raw body is checked
before anything is parsed (401 and nothing changes when it is missing, expired or forged).

- Slack buttons (Acknowledge / Resolve / Reassign, value = ticket id) signal the escalation
  workflow (`acknowledge` / `resolve`, via=slack, by = the policy person with that
  `slack_user_id`, else `slack:<name>`). Slack wants a 200 within 3 s: the signal is sent with a
  2.5 s budget and the answer is always an empty 200 for a verified request; when the click
  could not be applied (no running escalation, Temporal unreachable, Reassign) the clicker gets
  an ephemeral message through the payload's `response_url`. The workflow itself rewrites every
  Slack message and acknowledges every page, so the buttons disappear for everyone.
- PagerDuty webhooks v3: `incident.acknowledged` / `incident.resolved` for an incident whose
  `incident_key` is one of our dedup keys signal that escalation (via=pagerduty). Each delivery
  is de-duplicated on `X-Webhook-Id` (stored), so a replay changes nothing. Everything we do not
  act on gets 202 with the reason; only "Temporal unreachable" answers 503, so PagerDuty retries.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import httpx
import structlog
from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.auth import public
from api.deps import GatewayDep, PolicyDep, RepositoryDep, SettingsDep
from api.temporal_gateway import TemporalGateway
from escalation import activity_names as names
from escalation.models import AcknowledgeInput, Channel, ResolveInput
from escalation.responder_events import (
    ResponderAction,
    SlackClick,
    pagerduty_actor,
    parse_dedup_key,
    parse_pagerduty_webhook,
    parse_slack_interaction,
    slack_actor,
)
from escalation.settings import Settings
from escalation.webhook_signatures import verify_pagerduty, verify_slack
from store.webhook_deliveries import WebhookDeliveryStore

log = structlog.get_logger("escalation.api.webhooks")

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

MAX_BODY_BYTES = 256 * 1024  # PagerDuty drops deliveries above 256 KB; Slack's are small
SLACK_SIGNAL_BUDGET = 2.5  # seconds: Slack shows an error after 3
PAGERDUTY_SIGNAL_BUDGET = 4.0  # seconds: PagerDuty expects a 2xx within 5

SignalOutcome = Literal["signalled", "not_running", "stale", "unavailable"]


def get_deliveries(repository: RepositoryDep) -> WebhookDeliveryStore:
    return WebhookDeliveryStore(repository.sessions)


DeliveriesDep = Annotated[WebhookDeliveryStore, Depends(get_deliveries)]


class WebhookAnswer(BaseModel):
    status: str
    detail: str = ""
    ticket_id: str | None = None


async def _raw_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "body too large")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "body too large")
    return body


def _rejected(vendor: str, reason: str, request: Request) -> HTTPException:
    log.warning("webhook_rejected", vendor=vendor, reason=reason, path=request.url.path)
    return HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid {vendor} signature")


async def _signal(
    gateway: TemporalGateway,
    ticket_id: str,
    signal: str,
    argument: Any,
    *,
    budget: float,
    run_prefix: str | None = None,
) -> SignalOutcome:
    """Signal the ticket's escalation; with `run_prefix`, only if the running escalation is
    the one whose first run id starts with it (an old incident must not act on a new one)."""
    try:
        async with asyncio.timeout(budget):
            handle = await gateway.handle(ticket_id)
            if run_prefix is not None:
                description = await handle.describe()
                if description.status != WorkflowExecutionStatus.RUNNING:
                    return "not_running"
                first_run = description.raw_info.first_run_id or description.run_id
                if not first_run.startswith(run_prefix):
                    return "stale"
                handle = (await gateway.client()).get_workflow_handle(
                    handle.id, run_id=description.run_id
                )
            await handle.signal(signal, argument)
            return "signalled"
    except TimeoutError:
        return "unavailable"
    except HTTPException:  # the gateway could not connect
        return "unavailable"
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return "not_running"
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            return "unavailable"
        raise


# --------------------------------------------------------------------------- Slack


def _response_url_allowed(url: str, settings: Settings) -> bool:
    """Only Slack's own hooks host (or the host SLACK_API_URL points at, for a local Slack):
    the URL comes from a signed payload, but we still never post to arbitrary hosts."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return False
    if parts.scheme == "https" and parts.hostname == "hooks.slack.com":
        return True
    api = urlsplit(settings.slack_api_url)
    return (parts.hostname, parts.port) == (api.hostname, api.port)


async def _reply_ephemeral(url: str, text: str) -> None:
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.post(
                url, json={"response_type": "ephemeral", "replace_original": False, "text": text}
            )
            if response.status_code >= 400:
                log.warning("slack_response_url_failed", status=response.status_code)
    except httpx.HTTPError as exc:
        log.warning("slack_response_url_failed", error=str(exc))


def _slack_reply_text(click: SlackClick, outcome: SignalOutcome | None) -> str | None:
    ticket = click.ticket_id
    if click.action is ResponderAction.REASSIGN:
        return (
            f"To hand ticket {ticket} to another team, use the API: "
            f'`POST /v1/escalations/{ticket}/reassign` with `{{"to_team": "<team>", "by": '
            f'"<you>"}}`. The new team is notified at once and must acknowledge afresh.'
        )
    if outcome == "not_running":
        return f"There is no running escalation for ticket {ticket} (it may be resolved)."
    if outcome == "unavailable":
        return (
            f"Could not reach the escalation service for ticket {ticket}; your "
            f"{click.action.value} may not have been recorded. Please try again."
        )
    return None


@router.post(
    "/slack/interactions",
    dependencies=[Depends(public("Slack signs every request (X-Slack-Signature)"))],
    response_class=Response,
    responses={
        200: {"description": "verified; the click is applied (or explained to the clicker)"},
        400: {"description": "verified, but not a Slack interaction payload"},
        401: {"description": "missing, expired (older than 5 minutes) or forged signature"},
    },
)
async def slack_interactions(
    request: Request,
    background: BackgroundTasks,
    settings: SettingsDep,
    policy: PolicyDep,
    gateway: GatewayDep,
) -> Response:
    """Slack interactivity Request URL: button clicks on escalation messages."""
    body = await _raw_body(request)
    verdict = verify_slack(
        body,
        request.headers.get("x-slack-request-timestamp"),
        request.headers.get("x-slack-signature"),
        settings.slack_signing_secret or "",
        now=time.time(),
    )
    if not verdict:
        raise _rejected("Slack", verdict.reason, request)
    try:
        click = parse_slack_interaction(body)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    if click is None:
        return Response(status_code=status.HTTP_200_OK)
    by = slack_actor(policy, click.user_id, click.user_name)
    outcome: SignalOutcome | None = None
    if click.action is ResponderAction.ACKNOWLEDGE:
        outcome = await _signal(
            gateway,
            click.ticket_id,
            names.SIGNAL_ACKNOWLEDGE,
            AcknowledgeInput(by=by, via=Channel.SLACK, note=f"Slack user {click.user_id}"),
            budget=SLACK_SIGNAL_BUDGET,
        )
    elif click.action is ResponderAction.RESOLVE:
        outcome = await _signal(
            gateway,
            click.ticket_id,
            names.SIGNAL_RESOLVE,
            ResolveInput(by=by, via=Channel.SLACK, resolution="resolved from Slack"),
            budget=SLACK_SIGNAL_BUDGET,
        )
    log.info(
        "slack_click",
        action=click.action.value,
        ticket_id=click.ticket_id,
        by=by,
        outcome=outcome or "replied",
    )
    text = _slack_reply_text(click, outcome)
    if text and click.response_url and _response_url_allowed(click.response_url, settings):
        background.add_task(_reply_ephemeral, click.response_url, text)
    return Response(status_code=status.HTTP_200_OK)


# --------------------------------------------------------------------------- PagerDuty


def _answer(outcome: str, detail: str = "", ticket: str | None = None) -> JSONResponse:
    return JSONResponse(
        WebhookAnswer(status=outcome, detail=detail, ticket_id=ticket).model_dump(),
        status_code=status.HTTP_202_ACCEPTED,
    )


@router.post(
    "/pagerduty",
    dependencies=[Depends(public("PagerDuty signs every delivery (X-PagerDuty-Signature)"))],
    response_model=WebhookAnswer,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        400: {"description": "verified, but not a PagerDuty v3 webhook body"},
        401: {"description": "missing or forged X-PagerDuty-Signature"},
        503: {"description": "Temporal unreachable: PagerDuty retries the delivery"},
    },
)
async def pagerduty_webhook(
    request: Request,
    settings: SettingsDep,
    policy: PolicyDep,
    gateway: GatewayDep,
    deliveries: DeliveriesDep,
) -> JSONResponse:
    """PagerDuty webhooks v3 subscription URL (`incident.acknowledged`, `incident.resolved`).

    `PAGERDUTY_WEBHOOK_SECRET` may hold several comma-separated secrets while one is rotated."""
    body = await _raw_body(request)
    secrets = [s.strip() for s in (settings.pagerduty_webhook_secret or "").split(",")]
    verdict = verify_pagerduty(body, request.headers.get("x-pagerduty-signature"), secrets)
    if not verdict:
        raise _rejected("PagerDuty", verdict.reason, request)
    try:
        event = parse_pagerduty_webhook(body)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    if event.action is None:
        return _answer("ignored", f"event type {event.event_type} is not acted on")
    delivery_id = (request.headers.get("x-webhook-id") or "").strip() or f"event:{event.id}"
    claimed = await asyncio.to_thread(deliveries.claim, "pagerduty", delivery_id, event.event_type)
    if not claimed:
        return _answer("duplicate", f"delivery {delivery_id} was already handled")

    async def finish(outcome: str, detail: str, ticket: str | None = None) -> JSONResponse:
        await asyncio.to_thread(
            deliveries.finish,
            "pagerduty",
            delivery_id,
            outcome,
            ticket_id=ticket,
            detail={"detail": detail, "incident_id": event.incident_id or ""},
        )
        log.info(
            "pagerduty_webhook", outcome=outcome, ticket_id=ticket, event_type=event.event_type
        )
        return _answer(outcome, detail, ticket)

    key = parse_dedup_key(event.incident_key)
    if key is None:
        return await finish("unmatched", "the incident was not raised by an escalation")
    if event.by_integration:
        return await finish(
            "echo", f"{event.event_type} came from an integration, not a person", key.ticket_id
        )
    by = pagerduty_actor(policy, event)
    note = f"PagerDuty incident {event.incident_id or ''}".strip()
    argument: AcknowledgeInput | ResolveInput
    if event.action is ResponderAction.ACKNOWLEDGE:
        signal = names.SIGNAL_ACKNOWLEDGE
        argument = AcknowledgeInput(by=by, via=Channel.PAGERDUTY, note=note)
    else:
        signal = names.SIGNAL_RESOLVE
        argument = ResolveInput(by=by, via=Channel.PAGERDUTY, resolution=f"resolved in {note}")
    try:
        outcome = await _signal(
            gateway,
            key.ticket_id,
            signal,
            argument,
            budget=PAGERDUTY_SIGNAL_BUDGET,
            run_prefix=key.run,
        )
    except Exception:
        await asyncio.to_thread(deliveries.release, "pagerduty", delivery_id)
        raise
    if outcome == "unavailable":
        await asyncio.to_thread(deliveries.release, "pagerduty", delivery_id)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Temporal is unavailable")
    detail = {
        "signalled": f"{signal} by {by}",
        "not_running": "the escalation is no longer running",
        "stale": "the incident belongs to an earlier escalation of this ticket",
    }[outcome]
    return await finish(outcome, detail, key.ticket_id)
