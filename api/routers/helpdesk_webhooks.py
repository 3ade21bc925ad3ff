"""/v1/webhooks/zendesk, /zendesk/trigger, /freshdesk, /intercom: help-desk ticket events,
mapped onto the intake schema (escalation/helpdesk_mapping.py, escalation/zendesk_trigger.py)
and processed like `POST /v1/tickets/events`.

No API key: each request is verified on its raw body before anything is parsed, and a missing,
expired or forged signature answers 401 with nothing stored:

- Zendesk (both event-subscription and trigger webhooks): `X-Zendesk-Webhook-Signature` =
  base64 HMAC-SHA256(ZENDESK_WEBHOOK_SECRET, `X-Zendesk-Webhook-Signature-Timestamp` + body),
  timestamp within 5 minutes;
- Intercom: `X-Hub-Signature: sha1=` HMAC-SHA1(INTERCOM_CLIENT_SECRET, body);
- Freshdesk (unsigned automation webhooks): the custom header `X-Freshdesk-Webhook-Secret`
  must equal FRESHDESK_WEBHOOK_SECRET.

Each event is stored once, keyed on the vendor's event id (Zendesk event `id`, Intercom
notification `id`; a Zendesk trigger webhook `trigger:<ticket id>@<updated_at>` from its signed
body; Freshdesk sends none, so the SHA-256 of the body): a replay changes nothing
and answers 200 with `duplicate: true`. Deliveries that are not ticket events (Intercom `ping`,
a Zendesk user event) answer 200 with `ignored`; a verified body we cannot read answers 422.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Request, status

from activities.intake_service import IntakeService
from api.deps import SettingsDep
from api.intake_schemas import WebhookResult
from api.routers.tickets import IntakeDep, run_intake
from escalation.helpdesk_mapping import (
    Ignored,
    Mapped,
    MappingError,
    map_freshdesk,
    map_intercom,
    map_zendesk,
)
from escalation.intake import body_event_key
from escalation.settings import Settings
from escalation.webhook_signatures import (
    VerificationResult,
    verify_freshdesk,
    verify_intercom,
    verify_zendesk,
)
from escalation.zendesk_trigger import map_zendesk_trigger

log = structlog.get_logger("escalation.api.helpdesk_webhooks")

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

MAX_BODY_BYTES = 1024 * 1024
FRESHDESK_SECRET_HEADER = "X-Freshdesk-Webhook-Secret"


async def _raw_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "body too large")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "body too large")
    return body


def _verified(vendor: str, result: VerificationResult, request: Request) -> None:
    if not result:
        log.warning("webhook_rejected", vendor=vendor, reason=result.reason, path=request.url.path)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid {vendor} signature")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "body is not JSON") from exc


# A vendor's mapper (escalation/helpdesk_mapping.py, zendesk_trigger.py): decoded JSON in.
Mapper = Callable[[Any], Mapped | Ignored]


def _map(vendor: str, body: bytes, mapper: Mapper) -> Mapped | Ignored:
    """The verified body read as JSON and mapped onto the intake schema; 422 otherwise."""
    try:
        return mapper(_json(body))
    except MappingError as exc:
        log.warning("webhook_unreadable", vendor=vendor, error=str(exc))
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


async def _ingest(
    service: IntakeService, vendor: str, body: bytes, mapper: Mapper
) -> WebhookResult:
    """Map a verified body and run intake on it, keyed on the vendor's event id (or the body's
    hash when the vendor sends none); events that are not ticket events are acknowledged."""
    mapped = _map(vendor, body, mapper)
    if isinstance(mapped, Ignored):
        log.info("webhook_ignored", vendor=vendor, reason=mapped.reason)
        return WebhookResult(accepted=False, ignored=mapped.reason)
    result = await run_intake(
        service, mapped.event, source=vendor, event_key=mapped.event_key or body_event_key(body)
    )
    return WebhookResult(accepted=True, duplicate=result.duplicate, result=result)


async def _zendesk_body(request: Request, settings: Settings) -> bytes:
    """The raw body of a Zendesk webhook whose signature holds (401 otherwise): one check for
    both kinds of Zendesk webhook."""
    body = await _raw_body(request)
    _verified(
        "zendesk",
        verify_zendesk(
            body,
            request.headers.get("X-Zendesk-Webhook-Signature"),
            request.headers.get("X-Zendesk-Webhook-Signature-Timestamp"),
            settings.zendesk_webhook_secret or "",
            now=time.time(),
        ),
        request,
    )
    return body


@router.post("/zendesk", response_model=WebhookResult)
async def zendesk_webhook(
    request: Request, settings: SettingsDep, service: IntakeDep
) -> WebhookResult:
    """Zendesk event-subscription webhooks (`zen:event-type:ticket.*`)."""
    body = await _zendesk_body(request, settings)
    return await _ingest(service, "zendesk", body, map_zendesk)


@router.post("/zendesk/trigger", response_model=WebhookResult)
async def zendesk_trigger_webhook(
    request: Request, settings: SettingsDep, service: IntakeDep
) -> WebhookResult:
    """Zendesk trigger/automation webhooks whose JSON body is the template documented in
    escalation/zendesk_trigger.py (placeholders render as strings). Signed and verified like
    the event-subscription webhooks; a replay of the same ticket update changes nothing."""
    body = await _zendesk_body(request, settings)
    return await _ingest(service, "zendesk", body, map_zendesk_trigger)


@router.post("/intercom", response_model=WebhookResult)
async def intercom_webhook(
    request: Request, settings: SettingsDep, service: IntakeDep
) -> WebhookResult:
    """Intercom conversation notifications (`conversation.*`; `ping` is acknowledged)."""
    body = await _raw_body(request)
    _verified(
        "intercom",
        verify_intercom(
            body, request.headers.get("X-Hub-Signature"), settings.intercom_client_secret or ""
        ),
        request,
    )
    return await _ingest(service, "intercom", body, map_intercom)


@router.post("/freshdesk", response_model=WebhookResult)
async def freshdesk_webhook(
    request: Request, settings: SettingsDep, service: IntakeDep
) -> WebhookResult:
    """Freshdesk automation webhooks in the documented template
    (escalation/helpdesk_mapping.py), authenticated by the `X-Freshdesk-Webhook-Secret` header."""
    body = await _raw_body(request)
    _verified(
        "freshdesk",
        verify_freshdesk(
            request.headers.get(FRESHDESK_SECRET_HEADER), settings.freshdesk_webhook_secret or ""
        ),
        request,
    )
    # Stands in for the ticket's creation time when the automation rule does not send one.
    received_at = datetime.now(UTC)
    return await _ingest(
        service, "freshdesk", body, lambda payload: map_freshdesk(payload, received_at=received_at)
    )
