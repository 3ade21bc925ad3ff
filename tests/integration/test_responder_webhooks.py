"""Acknowledgement from Slack buttons and PagerDuty webhooks, end to end: the real API, the dev
server, a real worker and local vendor servers. An ack on one channel reaches every other one;
unsigned, expired and forged requests get 401 and change nothing; a replayed PagerDuty delivery
changes nothing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from escalation.policy import Policy
from escalation.settings import Settings
from store.repository import Repository
from store.webhook_deliveries import WebhookDeliveryStore
from tests.conftest import ADMIN_HEADERS, make_settings, running_worker
from tests.integration.api_server import serve_api
from tests.integration.waiting import eventually
from tests.vendors.plugin import VendorServers
from tests.vendors.schemas import json_schema_validator

pytestmark = pytest.mark.integration

SLACK_SECRET = "slack-test-signing-secret"  # what live_settings gives the Slack server
PD_SECRET = "pd-test-webhook-secret"
SLACK_SCHEMA = "slack/derived/block-actions-payload.schema.json"
PD_SCHEMA = "pagerduty/derived/webhook-v3-event.schema.json"


@pytest.fixture
def api_settings(
    dev_env: WorkflowEnvironment, database_url: str, task_queue: str, vendor_servers: VendorServers
) -> Settings:
    live = vendor_servers.settings(
        pagerduty_webhook_secret=f"old-secret-being-rotated, {PD_SECRET}"
    )
    skip = ("database_url", "temporal_task_queue", "escalation_policy", "temporal_address")
    return make_settings(
        database_url,
        task_queue,
        temporal_address=dev_env.client.service_client.config.target_host,
        **{k: v for k, v in live.model_dump().items() if k not in skip},
    )


@pytest.fixture
def api_url(api_settings: Settings) -> Iterator[str]:
    with serve_api(api_settings) as url:
        yield url


# ------------------------------------------------------------------------------ helpers


def slack_request(
    payload: dict[str, Any], *, secret: str = SLACK_SECRET, age: float = 0
) -> tuple[bytes, dict[str, str]]:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = str(int(time.time() - age))
    digest = hmac.new(
        secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256
    ).hexdigest()
    return body, {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": f"v0={digest}",
    }


def click(
    action_id: str, ticket: str, message: dict[str, Any], slack_user: str, response_url: str
) -> dict[str, Any]:
    payload = {
        "type": "block_actions",
        "user": {"id": slack_user, "username": "someone", "name": "someone", "team_id": "T1"},
        "team": {"id": "T1", "domain": "acme"},
        "api_app_id": "A1",
        "trigger_id": "1.2.3",
        "response_url": response_url,
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": message["channel"],
            "is_ephemeral": False,
        },
        "channel": {"id": message["channel"], "name": "incidents"},
        "message": {"ts": message["ts"], "text": "", "blocks": []},
        "state": {"values": {}},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": f"esc:{ticket}",
                "value": ticket,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    assert json_schema_validator(SLACK_SCHEMA)(payload) == []
    return payload


def pagerduty_request(
    event_type: str,
    incident_key: str,
    *,
    webhook_id: str,
    secret: str = PD_SECRET,
    agent: dict[str, Any] | None = None,
) -> tuple[bytes, dict[str, str]]:
    event = {
        "event": {
            "id": f"01{uuid.uuid4().hex[:10].upper()}",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": "2026-12-24T22:03:00Z",
            "agent": agent or {"id": "PDAN01", "type": "user_reference", "summary": "Dan Okafor"},
            "client": None,
            "data": {
                "id": "PINC001",
                "type": "incident",
                "self": "https://api.pagerduty.com/incidents/PINC001",
                "html_url": "https://acme.pagerduty.com/incidents/PINC001",
                "number": 42,
                "status": {
                    "incident.acknowledged": "acknowledged",
                    "incident.resolved": "resolved",
                }.get(event_type, "triggered"),
                "incident_key": incident_key,
                "created_at": "2026-12-24T22:00:00Z",
                "title": "[P0] Checkout returns 502",
                "urgency": "high",
            },
        }
    }
    if event_type.startswith("incident.annotated"):
        event["event"]["data"] = {"id": "PNOTE1", "type": "incident_note", "content": "hi"}
    assert json_schema_validator(PD_SCHEMA)(event) == []
    body = json.dumps(event).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "content-type": "application/json",
        "x-webhook-id": webhook_id,
        "x-pagerduty-signature": f"v1=deadbeef{'0' * 56},v1={signature}",
    }


def p0(ticket: str) -> dict[str, Any]:
    return {
        "ticket_id": ticket,
        "priority": "P0",
        "route": "outage",
        "subject": "Checkout returns 502 for all EU customers",
        "customer": {"name": "Globex", "tier": "enterprise"},
    }


async def start_p0(http: httpx.AsyncClient, servers: VendorServers) -> tuple[str, str, dict]:
    """Start a P0; return the ticket, the PagerDuty dedup key and the Slack message."""
    ticket = f"ZD-{uuid.uuid4().hex[:6]}"
    created = await http.post("/v1/escalations", json=p0(ticket))
    assert created.status_code == 201, created.text
    pd, slack = servers.pagerduty, servers.slack
    trigger = await eventually(
        lambda: next(
            (
                r.json
                for r in pd.requests_to("/v2/enqueue")
                if r.json["event_action"] == "trigger"
                and r.json["payload"]["custom_details"]["ticket_id"] == ticket
            ),
            None,
        )
    )
    message = await eventually(
        lambda: next(
            (
                {"channel": slack.channel("#incidents").id, "ts": m["ts"]}  # type: ignore[union-attr]
                for m in slack.messages("#incidents")
                if ticket in json.dumps(m.get("blocks", []))
            ),
            None,
        )
    )
    return ticket, trigger["dedup_key"], message


async def closed(env: WorkflowEnvironment, ticket: str) -> None:
    handle = env.client.get_workflow_handle(f"escalation-{ticket}")
    for _ in range(400):
        if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"escalation-{ticket} is still running")


def replies_at(slack: Any) -> list[Any]:
    """What the API posted to the click's response_url (served by the local Slack server)."""
    return [r for r in slack.requests if r.path == "/actions/T1/1/reply-here"]


async def state(http: httpx.AsyncClient, ticket: str) -> dict[str, Any]:
    response = await http.get(f"/v1/escalations/{ticket}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# ------------------------------------------------------------------------------ tests


async def test_slack_button_ack_stops_pagerduty_and_bad_signatures_change_nothing(
    dev_env: WorkflowEnvironment,
    api_settings: Settings,
    api_url: str,
    vendor_servers: VendorServers,
    policy: Policy,
    repository: Repository,
) -> None:
    pd, slack = vendor_servers.pagerduty, vendor_servers.slack
    response_url = f"{slack.url}/actions/T1/1/reply-here"
    async with (
        running_worker(dev_env.client, api_settings, policy, repository),
        httpx.AsyncClient(base_url=api_url, timeout=30, headers=ADMIN_HEADERS) as http,
        httpx.AsyncClient(base_url=api_url, timeout=30) as slack_app,
    ):
        ticket, dedup, message = await start_p0(http, vendor_servers)
        ack = click("escalation.ack", ticket, message, "U0DAN", response_url)
        url = "/v1/webhooks/slack/interactions"

        body, headers = slack_request(ack)
        unsigned = {k: v for k, v in headers.items() if not k.startswith("x-slack")}
        forged_body, forged = slack_request(ack, secret="not-the-secret")
        old_body, expired = slack_request(ack, age=310)
        future_body, future = slack_request(ack, age=-310)
        tampered = body.replace(b"U0DAN", b"U0MAX")
        for request_body, request_headers in (
            (body, unsigned),
            (forged_body, forged),
            (old_body, expired),
            (future_body, future),
            (tampered, headers),
            (body, {**headers, "x-slack-signature": "v0=zz"}),
        ):
            rejected = await slack_app.post(url, content=request_body, headers=request_headers)
            assert rejected.status_code == 401, rejected.text
        await asyncio.sleep(0.5)
        assert (await state(http, ticket))["state"]["status"] == "paging"
        assert pd.alert(dedup).status == "triggered"  # type: ignore[union-attr]
        assert not slack.requests_to("/chat.update")

        # A signed click from Dan acknowledges: PagerDuty is acknowledged, the message updated.
        started = time.monotonic()
        accepted = await slack_app.post(url, content=body, headers=headers)
        assert accepted.status_code == 200 and accepted.content == b""
        assert time.monotonic() - started < 3
        await eventually(lambda: pd.alert(dedup).status == "acknowledged")  # type: ignore[union-attr]
        update = await eventually(lambda: slack.requests_to("/chat.update"))
        assert "Acknowledged by dan via slack" in update[0].json["text"]
        current = (await state(http, ticket))["state"]
        assert (current["acknowledged_by"], current["acknowledged_via"]) == ("dan", "slack")

        # Reassign cannot pick a team from a button: the clicker is told how, nothing changes.
        body, headers = slack_request(
            click("escalation.reassign", ticket, message, "U9STRANGER", response_url)
        )
        assert (await slack_app.post(url, content=body, headers=headers)).status_code == 200
        reply = await eventually(lambda: replies_at(slack))
        assert reply[0].json["response_type"] == "ephemeral"
        assert f"/v1/escalations/{ticket}/reassign" in reply[0].json["text"]
        assert (await state(http, ticket))["state"]["team"] == "engineering"

        # Resolve from Slack by someone outside the policy: recorded by Slack name.
        body, headers = slack_request(
            click("escalation.resolve", ticket, message, "U9STRANGER", response_url)
        )
        assert (await slack_app.post(url, content=body, headers=headers)).status_code == 200
        await eventually(lambda: pd.alert(dedup).status == "resolved")  # type: ignore[union-attr]
        resolved = await eventually(
            lambda: (
                (r := repository.latest_escalation(ticket)) is not None
                and r.resolved_by is not None
                and r
            )
        )
        assert (resolved.status, resolved.resolved_by) == ("resolved", "slack:someone")

        # A click once the escalation has ended: still 200, and the clicker is told.
        await closed(dev_env, ticket)
        body, headers = slack_request(ack)
        assert (await slack_app.post(url, content=body, headers=headers)).status_code == 200
        replies = await eventually(
            lambda: (found := replies_at(slack)) and len(found) == 2 and found
        )
        assert "no running escalation" in replies[1].json["text"]

        # Not a Slack payload (but signed): 400. Another app's button: ignored, 200.
        body, headers = slack_request({"type": "block_actions"})
        assert (await slack_app.post(url, content=body, headers=headers)).status_code == 400
        other = click("someone.else", ticket, message, "U0DAN", response_url)
        body, headers = slack_request(other)
        assert (await slack_app.post(url, content=body, headers=headers)).status_code == 200

    violations = vendor_servers.schema_violations()
    slack_problems = [v for v in violations.pop("slack", []) if "/actions/" not in v]
    assert violations == {} and slack_problems == []


async def test_pagerduty_webhook_ack_updates_slack_and_replays_change_nothing(
    dev_env: WorkflowEnvironment,
    api_settings: Settings,
    api_url: str,
    vendor_servers: VendorServers,
    policy: Policy,
    repository: Repository,
) -> None:
    pd, slack = vendor_servers.pagerduty, vendor_servers.slack
    deliveries = WebhookDeliveryStore(repository.sessions)
    async with (
        running_worker(dev_env.client, api_settings, policy, repository),
        httpx.AsyncClient(base_url=api_url, timeout=30, headers=ADMIN_HEADERS) as http,
        httpx.AsyncClient(base_url=api_url, timeout=30) as pagerduty,
    ):
        ticket, dedup, _ = await start_p0(http, vendor_servers)
        url = "/v1/webhooks/pagerduty"
        webhook_id = f"wh-{uuid.uuid4().hex}"
        body, headers = pagerduty_request("incident.acknowledged", dedup, webhook_id=webhook_id)

        forged_body, forged = pagerduty_request(
            "incident.acknowledged", dedup, webhook_id=webhook_id, secret="guess"
        )
        for request_body, request_headers in (
            (body, {k: v for k, v in headers.items() if k != "x-pagerduty-signature"}),
            (forged_body, forged),
            (body.replace(b"Dan Okafor", b"Max Kowalski"), headers),
            (body, {**headers, "x-pagerduty-signature": "v2=abc"}),
        ):
            rejected = await pagerduty.post(url, content=request_body, headers=request_headers)
            assert rejected.status_code == 401, rejected.text
        await asyncio.sleep(0.5)
        assert (await state(http, ticket))["state"]["status"] == "paging"
        assert deliveries.get("pagerduty", webhook_id) is None
        assert not slack.requests_to("/chat.update")

        accepted = await pagerduty.post(url, content=body, headers=headers)
        assert accepted.status_code == 202, accepted.text
        assert accepted.json() == {
            "status": "signalled",
            "detail": "acknowledge by dan",
            "ticket_id": ticket,
        }
        update = await eventually(lambda: slack.requests_to("/chat.update"))
        assert "Acknowledged by dan via pagerduty" in update[0].json["text"]
        current = (await state(http, ticket))["state"]
        assert (current["acknowledged_by"], current["acknowledged_via"]) == ("dan", "pagerduty")
        await eventually(lambda: pd.alert(dedup).status == "acknowledged")  # type: ignore[union-attr]
        stored = deliveries.get("pagerduty", webhook_id)
        assert stored is not None and stored["outcome"] == "signalled"

        # The same delivery again (PagerDuty retries, or an attacker replays it): nothing.
        for _ in range(2):
            replay = await pagerduty.post(url, content=body, headers=headers)
            assert replay.status_code == 202 and replay.json()["status"] == "duplicate"
        await asyncio.sleep(1.0)
        detail = await state(http, ticket)
        kinds = [e["kind"] for e in detail["timeline"]]
        assert kinds.count("acknowledged") == 1 and "acknowledge_ignored" not in kinds
        assert len(slack.requests_to("/chat.update")) == len(update)

        # Types we do not act on, an echo of our own Events API ack, and foreign incidents.
        for event_type, key, agent, expected in (
            ("incident.annotated", dedup, None, "ignored"),
            ("incident.escalated", dedup, None, "ignored"),
            (
                "incident.acknowledged",
                dedup,
                {"id": "PI1", "type": "integration_reference", "summary": "Events API"},
                "echo",
            ),
            ("incident.resolved", "some-other-integration-key", None, "unmatched"),
        ):
            body, headers = pagerduty_request(
                event_type, key, webhook_id=f"wh-{uuid.uuid4().hex}", agent=agent
            )
            answer = await pagerduty.post(url, content=body, headers=headers)
            assert answer.status_code == 202 and answer.json()["status"] == expected, answer.text
        assert (await state(http, ticket))["state"]["status"] == "acknowledged"

        # Resolved in PagerDuty: the escalation resolves and the page is resolved everywhere.
        body, headers = pagerduty_request(
            "incident.resolved", dedup, webhook_id=f"wh-{uuid.uuid4().hex}"
        )
        assert (await pagerduty.post(url, content=body, headers=headers)).json()[
            "status"
        ] == "signalled"
        await eventually(lambda: pd.alert(dedup).status == "resolved")  # type: ignore[union-attr]
        await eventually(
            lambda: any(
                "Resolved by dan via pagerduty" in r.json["text"]
                for r in slack.requests_to("/chat.update")
            )
        )
        # Late: the escalation has ended.
        await closed(dev_env, ticket)
        body, headers = pagerduty_request(
            "incident.acknowledged", dedup, webhook_id=f"wh-{uuid.uuid4().hex}"
        )
        late = await pagerduty.post(url, content=body, headers=headers)
        assert late.status_code == 202 and late.json()["status"] == "not_running"

        # Not a v3 body (but signed): 400, PagerDuty drops it.
        junk = b'{"messages": []}'
        signature = hmac.new(PD_SECRET.encode(), junk, hashlib.sha256).hexdigest()
        bad = await pagerduty.post(
            url, content=junk, headers={"x-pagerduty-signature": f"v1={signature}"}
        )
        assert bad.status_code == 400

    assert vendor_servers.schema_violations() == {}


async def test_webhooks_without_configured_secrets_refuse_everything(
    database_url: str, task_queue: str
) -> None:
    settings = make_settings(database_url, task_queue)  # no signing secrets configured
    with serve_api(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            body, headers = slack_request({"type": "block_actions"}, secret="")
            slack = await client.post(
                "/v1/webhooks/slack/interactions", content=body, headers=headers
            )
            assert slack.status_code == 401
            body, headers = pagerduty_request(
                "incident.acknowledged", "k", webhook_id="w", secret=""
            )
            pd = await client.post("/v1/webhooks/pagerduty", content=body, headers=headers)
            assert pd.status_code == 401
