"""Intake over HTTP: `POST /v1/tickets/events` and the help-desk webhooks, against the real API
(uvicorn), a real worker, the Temporal dev server and PostgreSQL.

Every decision kind (escalate, outage incident, suggest, none), the legal hold, idempotent
replays, the escalation package, and webhook authentication: a signed delivery is processed
once, an unsigned, expired or forged one gets 401 and stores nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from escalation.settings import Settings
from store.intake import IntakeRepository
from store.models_intake import IntakeTicket, OutageIncidentTicket
from store.repository import Repository
from tests.conftest import make_settings
from tests.integration.intake_fixtures import zendesk_signed_headers
from tests.unit.test_helpdesk_mapping import (
    freshdesk_body,
    intercom_notification,
    zendesk_comment_added,
    zendesk_ticket_created,
)

pytestmark = pytest.mark.integration

HELPDESK = f"helpdesk-{uuid.uuid4().hex}"
VIEWER = f"viewer-{uuid.uuid4().hex}"
AS_HELPDESK = {"authorization": f"Bearer {HELPDESK}"}
ZENDESK_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
INTERCOM_SECRET = "intercom-client-secret"
FRESHDESK_SECRET = "freshdesk-shared-secret"


@pytest.fixture(scope="module")
def queue() -> str:
    return f"tq-intake-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def settings(dev_env: WorkflowEnvironment, database_url: str, queue: str) -> Settings:
    return make_settings(
        database_url,
        queue,
        temporal_address=dev_env.client.service_client.config.target_host,
        escalation_api_keys=f"hd:ticket-system:{HELPDESK},view:viewer:{VIEWER}",
        zendesk_webhook_secret=ZENDESK_SECRET,
        intercom_client_secret=INTERCOM_SECRET,
        freshdesk_webhook_secret=FRESHDESK_SECRET,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def ticket(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ticket_id": f"T-{uuid.uuid4().hex[:10]}",
        "event_type": "created",
        "subject": "Exporting invoices",
        "description": "How do I export my invoices to CSV?",
        "created_at": (_now() - timedelta(minutes=5)).isoformat(),
        "product_area": "reports",
        "customer": {"customer_id": f"C-{uuid.uuid4().hex[:6]}", "name": "Acme"},
    }
    body.update(changes)
    return body


async def post(http: httpx.AsyncClient, body: dict[str, Any], status: int = 200) -> Any:
    answer = await http.post("/v1/tickets/events", json=body, headers=AS_HELPDESK)
    assert answer.status_code == status, answer.text
    return answer.json()


async def test_escalate_starts_then_updates_and_a_replay_changes_nothing(
    http: httpx.AsyncClient, dev_env: WorkflowEnvironment, store: IntakeRepository
) -> None:
    body = ticket(
        event_id="evt-1",
        subject="Cannot log in",
        description="Nothing works. I want to speak to a manager about this.",
        product_area="login",
    )
    first = await post(http, body)
    assert first["action"] == "escalate" and first["duplicate"] is False
    assert first["priority"] == "P2"
    assert first["decision"]["route"]["route"] == "manager_request"
    [trigger] = [t for t in first["decision"]["triggers"] if t["kind"] == "explicit_request"]
    assert trigger["evidence"][0]["matched_text"] == "speak to a manager"
    assert first["reason"].startswith("Need help because the customer asked for a manager")
    assert {r["source"] for r in first["decision"]["priority_reasons"]} >= {"explicit_request"}
    escalation = first["escalation"]
    assert escalation["kind"] == "ticket" and escalation["started"] is True
    workflow = dev_env.client.get_workflow_handle(escalation["workflow_id"])
    assert (await workflow.describe()).status == WorkflowExecutionStatus.RUNNING
    watch = dev_env.client.get_workflow_handle(f"ticket-{body['ticket_id']}")
    assert (await watch.describe()).status == WorkflowExecutionStatus.RUNNING
    assert first["watch"]["next_deadline"]["key"].startswith("age:P2")

    replay = await post(http, body)
    assert replay["duplicate"] is True
    assert {k: v for k, v in replay.items() if k != "duplicate"} == {
        k: v for k, v in first.items() if k != "duplicate"
    }
    assert store.event_count(ticket_id=body["ticket_id"]) == 1

    comment = {
        "author_role": "customer",
        "body": "Any news? Still locked out.",
        "created_at": _now().isoformat(),
    }
    update = await post(http, {**body, "event_id": "evt-2", "comments": [comment]})
    assert update["escalation"]["started"] is False and update["escalation"]["updated"] is True
    assert store.event_count(ticket_id=body["ticket_id"]) == 2

    package = await http.get(f"/v1/escalations/{body['ticket_id']}/package", headers=AS_HELPDESK)
    assert package.status_code == 200, package.text
    p = package.json()
    assert p["reason"] == update["reason"]
    assert [m["body"] for m in p["conversation"]][-1] == "Any news? Still locked out."
    assert [h["action"] for h in p["history"]] == ["escalate", "escalate"]
    assert p["account"]["customer_id"] == body["customer"]["customer_id"]
    assert p["triggers"][0]["evidence"]
    assert p["suggested_resolution"]["approach"]
    missing = await http.get("/v1/escalations/nope/package", headers=AS_HELPDESK)
    assert missing.status_code == 404


async def test_suggest_and_none_start_nothing(
    http: httpx.AsyncClient, store: IntakeRepository
) -> None:
    angry = ticket(
        subject="Slow reports",
        description="This is unacceptable, terrible service. Reports take forever.",
    )
    suggested = await post(http, angry)
    assert suggested["action"] == "suggest" and suggested["escalation"] is None
    kinds = set(suggested["suggestion"]["triggers"])
    assert "complaint_language" in kinds
    assert any("empathy" in g for g in suggested["suggestion"]["guidance"])
    assert store.event_count(ticket_id=angry["ticket_id"], action="suggest") == 1

    quiet = await post(http, ticket())
    assert quiet["action"] == "none" and quiet["escalation"] is None
    assert quiet["suggestion"] is None and quiet["decision"]["triggers"] == []
    assert quiet["watch"]["watching"] is True


async def test_legal_hold_is_returned_and_recorded(
    http: httpx.AsyncClient, repository: Repository
) -> None:
    body = ticket(description="If this is not fixed today we will file a lawsuit.")
    answer = await post(http, body)
    assert answer["legal_hold"] is True and answer["decision"]["legal_hold"] is True
    assert answer["decision"]["route"]["route"] == "legal"
    assert answer["action"] == "escalate"
    with repository.sessions() as session:
        row = session.get(IntakeTicket, body["ticket_id"])
        assert row is not None and row.legal_hold is True


async def test_mass_pattern_opens_one_incident_that_links_the_tickets(
    http: httpx.AsyncClient, dev_env: WorkflowEnvironment, repository: Repository
) -> None:
    area = f"login-{uuid.uuid4().hex[:4]}"
    start = _now() - timedelta(minutes=20)

    def similar(i: int) -> dict[str, Any]:
        return ticket(
            ticket_id=f"M{i}-{area}",
            subject="Login page returns error 500",
            description="When I try to log in to the dashboard I get error 500 on the "
            f"login page (attempt {i}).",
            product_area=area,
            created_at=(start + timedelta(minutes=2 * i)).isoformat(),
        )

    answers = [await post(http, similar(i)) for i in range(6)]
    assert [a["action"] for a in answers[:4]] == ["none"] * 4  # 4 of 5 in the hour
    fifth, sixth = answers[4], answers[5]
    assert fifth["action"] == "outage_incident" and fifth["priority"] == "P0"
    incident = fifth["escalation"]
    assert incident["kind"] == "outage_incident" and incident["started"] is True
    assert incident["ticket_id"] == f"outage:{area}:M0-{area}"
    assert incident["linked_tickets"] == [f"M{i}-{area}" for i in range(5)]
    assert sixth["escalation"]["ticket_id"] == incident["ticket_id"]  # joins, no new one
    assert sixth["escalation"]["started"] is False and sixth["escalation"]["updated"] is True
    assert len(sixth["escalation"]["linked_tickets"]) == 6
    handle = dev_env.client.get_workflow_handle(incident["workflow_id"])
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    for i in range(6):  # no ticket of the burst got its own escalation
        with pytest.raises(Exception, match="not found"):
            await dev_env.client.get_workflow_handle(f"escalation-M{i}-{area}").describe()
    with repository.sessions() as session:
        linked = session.scalars(
            select(OutageIncidentTicket.ticket_id).where(
                OutageIncidentTicket.incident_key == incident["incident_key"]
            )
        ).all()
    assert len(linked) == 6


async def test_intake_needs_a_ticket_system_key(http: httpx.AsyncClient) -> None:
    body = ticket()
    assert (await http.post("/v1/tickets/events", json=body)).status_code == 401
    viewer = {"authorization": f"Bearer {VIEWER}"}
    assert (await http.post("/v1/tickets/events", json=body, headers=viewer)).status_code == 403
    bad = await http.post(
        "/v1/tickets/events", json={**body, "ticket_id": "bad id!"}, headers=AS_HELPDESK
    )
    assert bad.status_code == 422


async def test_a_field_invalid_once_nul_is_dropped_is_a_422(http: httpx.AsyncClient) -> None:
    """Ticket text has NUL dropped (PostgreSQL cannot store it); a field that is invalid
    without it is refused naming the field, not a 500 (found by the OpenAPI fuzzer)."""
    body = ticket()
    body["customer"] = {**body["customer"], "requester_email": "\u0000@globex.example"}
    answer = await http.post("/v1/tickets/events", json=body, headers=AS_HELPDESK)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", "customer", "requester_email"]


# --------------------------------------------------------------------------- webhooks


def zendesk_headers(body: bytes, *, secret: str = ZENDESK_SECRET, age: float = 0) -> dict[str, str]:
    return zendesk_signed_headers(body, secret=secret, webhook_id="01HZWEBHOOK", age=age)


def intercom_headers(body: bytes, secret: str = INTERCOM_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {"content-type": "application/json", "X-Hub-Signature": f"sha1={digest}"}


def _zendesk(ticket_no: str) -> dict[str, Any]:
    body = zendesk_ticket_created()
    body["id"] = f"evt-{uuid.uuid4()}"
    body["detail"]["id"] = ticket_no
    body["detail"]["created_at"] = (_now() - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body["detail"]["priority"] = "NORMAL"
    body["detail"]["description"] = "Exports to CSV are missing the VAT column."
    body["detail"]["tags"] = ["area_reports"]
    return body


async def test_zendesk_webhook_signed_once_replay_duplicate(
    http: httpx.AsyncClient, store: IntakeRepository
) -> None:
    number = str(uuid.uuid4().int % 10**8)
    created = _zendesk(number)
    raw = json.dumps(created).encode()
    first = await http.post("/v1/webhooks/zendesk", content=raw, headers=zendesk_headers(raw))
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["accepted"] is True and answer["duplicate"] is False
    assert answer["result"]["ticket_id"] == f"ZD-{number}"
    assert answer["result"]["source"] == "zendesk"

    replay = await http.post("/v1/webhooks/zendesk", content=raw, headers=zendesk_headers(raw))
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    assert store.event_count(ticket_id=f"ZD-{number}") == 1

    comment = zendesk_comment_added(staff=False, body="I want to speak to a supervisor now.")
    comment["detail"] = {**created["detail"], "status": "OPEN"}
    comment["id"] = f"evt-{uuid.uuid4()}"
    raw2 = json.dumps(comment).encode()
    second = await http.post("/v1/webhooks/zendesk", content=raw2, headers=zendesk_headers(raw2))
    assert second.status_code == 200, second.text
    result = second.json()["result"]
    assert result["action"] == "escalate"
    assert result["escalation"]["started"] is True
    # the comment was folded into the ticket's history: description + comment both known
    stored = store.latest_event(f"ZD-{number}")
    assert stored is not None and stored.description.startswith("Exports to CSV")
    assert [c.body for c in stored.comments] == ["I want to speak to a supervisor now."]


@pytest.mark.parametrize("case", ["unsigned", "expired", "forged", "tampered"])
async def test_zendesk_webhook_rejected_stores_nothing(
    http: httpx.AsyncClient, store: IntakeRepository, case: str
) -> None:
    number = str(uuid.uuid4().int % 10**8)
    raw = json.dumps(_zendesk(number)).encode()
    headers = {
        "unsigned": {"content-type": "application/json"},
        "expired": zendesk_headers(raw, age=600),
        "forged": zendesk_headers(raw, secret="not-the-secret"),
        "tampered": zendesk_headers(raw),
    }[case]
    sent = raw.replace(b"VAT", b"TAX") if case == "tampered" else raw
    answer = await http.post("/v1/webhooks/zendesk", content=sent, headers=headers)
    assert answer.status_code == 401
    assert store.event_count(ticket_id=f"ZD-{number}") == 0
    assert store.ticket(f"ZD-{number}") is None


async def test_intercom_webhook(http: httpx.AsyncClient, store: IntakeRepository) -> None:
    note = intercom_notification("conversation.user.created")
    conversation = str(uuid.uuid4().int % 10**12)
    note["data"]["item"]["id"] = conversation
    note["data"]["item"]["created_at"] = int(_now().timestamp()) - 120
    note["id"] = f"notif_{uuid.uuid4()}"
    raw = json.dumps(note).encode()
    for headers in (
        {"content-type": "application/json"},
        intercom_headers(raw, "forged"),
        {"content-type": "application/json", "X-Hub-Signature": "sha1=nothex"},
    ):
        rejected = await http.post("/v1/webhooks/intercom", content=raw, headers=headers)
        assert rejected.status_code == 401
    assert store.event_count(ticket_id=f"IC-{conversation}") == 0

    first = await http.post("/v1/webhooks/intercom", content=raw, headers=intercom_headers(raw))
    assert first.status_code == 200, first.text
    result = first.json()["result"]
    assert result["ticket_id"] == f"IC-{conversation}" and result["action"] == "none"
    replay = await http.post("/v1/webhooks/intercom", content=raw, headers=intercom_headers(raw))
    assert replay.json()["duplicate"] is True
    assert store.event_count(ticket_id=f"IC-{conversation}") == 1

    ping = json.dumps({"type": "notification_event", "topic": "ping", "id": "notif_p"}).encode()
    pinged = await http.post("/v1/webhooks/intercom", content=ping, headers=intercom_headers(ping))
    assert pinged.status_code == 200 and pinged.json()["ignored"] == "Intercom ping"
    junk = b'{"type": "notification_event", "topic": "conversation.user.created"}'
    unreadable = await http.post(
        "/v1/webhooks/intercom", content=junk, headers=intercom_headers(junk)
    )
    assert unreadable.status_code == 422


async def test_freshdesk_webhook(http: httpx.AsyncClient, store: IntakeRepository) -> None:
    number = str(uuid.uuid4().int % 10**8)
    raw = json.dumps(
        freshdesk_body(
            ticket_id=number,
            ticket_created_at=(_now() - timedelta(minutes=2)).isoformat(),
            ticket_description="We were billed $5,000 twice this month.",
        )
    ).encode()
    url = "/v1/webhooks/freshdesk"
    for secret in (None, "wrong"):
        headers = {"content-type": "application/json"}
        if secret:
            headers["X-Freshdesk-Webhook-Secret"] = secret
        assert (await http.post(url, content=raw, headers=headers)).status_code == 401
    assert store.event_count(ticket_id=f"FD-{number}") == 0
    good = {"content-type": "application/json", "X-Freshdesk-Webhook-Secret": FRESHDESK_SECRET}
    first = await http.post(url, content=raw, headers=good)
    assert first.status_code == 200, first.text
    assert first.json()["result"]["ticket_id"] == f"FD-{number}"
    replay = await http.post(url, content=raw, headers=good)
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    assert store.event_count(ticket_id=f"FD-{number}") == 1


async def test_implausible_times_are_refused_and_nothing_stored(
    http: httpx.AsyncClient, store: IntakeRepository
) -> None:
    for created in ("0001-01-01T00:00:00Z", "9999-12-31T23:00:00Z", "2001-01-01T00:00:00Z"):
        body = ticket(created_at=created)
        answer = await http.post("/v1/tickets/events", json=body, headers=AS_HELPDESK)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"] == ["body", "created_at"]
        assert store.event_count(ticket_id=body["ticket_id"]) == 0
    late = ticket(
        comments=[{"author_role": "customer", "body": "hi", "created_at": "3000-01-01T00:00:00Z"}]
    )
    answer = await http.post("/v1/tickets/events", json=late, headers=AS_HELPDESK)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "comments", "0", "created_at"]


async def test_nul_characters_are_dropped_not_a_500(
    http: httpx.AsyncClient, store: IntakeRepository
) -> None:
    body = ticket(
        subject="checkout\u0000down",
        description="Stack trace:\u0000\u0000 NullPointerException",
        comments=[
            {
                "author_role": "customer",
                "body": "still\u0000 down",
                "created_at": _now().isoformat(),
            }
        ],
    )
    answer = await post(http, body)
    assert answer["ticket_id"] == body["ticket_id"]
    stored = store.latest_event(body["ticket_id"])
    assert stored is not None
    assert stored.subject == "checkoutdown" and stored.comments[0].body == "still down"
