"""Zendesk trigger/automation webhooks over HTTP (`POST /v1/webhooks/zendesk/trigger`), against
the real API (uvicorn), a real worker, the Temporal dev server and PostgreSQL.

The body is the documented template as Zendesk renders it (every placeholder a string); the
signature is the one of every Zendesk webhook. A valid delivery is stored once, a forged or
expired one answers 401 and stores nothing, a replay changes nothing.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from escalation.settings import Settings
from escalation.zendesk_trigger import TRIGGER_TEMPLATE
from store.intake import IntakeRepository
from tests.conftest import make_settings
from tests.integration.intake_fixtures import zendesk_signed_headers

pytestmark = pytest.mark.integration

SECRET = "zendesk-trigger-test-secret"
URL = "/v1/webhooks/zendesk/trigger"


@pytest.fixture(scope="module")
def settings(dev_env: WorkflowEnvironment, database_url: str) -> Settings:
    return make_settings(
        database_url,
        f"tq-zd-trigger-{uuid.uuid4().hex[:8]}",
        temporal_address=dev_env.client.service_client.config.target_host,
        zendesk_webhook_secret=SECRET,
    )


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def signed(body: bytes, *, secret: str = SECRET, age: float = 0) -> dict[str, str]:
    return zendesk_signed_headers(body, secret=secret, webhook_id="01HZTRIGGER", age=age)


def rendered(number: str, **changes: str) -> dict[str, str]:
    """TRIGGER_TEMPLATE as Zendesk renders it: every value a string, empty ones ""."""
    now = datetime.now(UTC)
    values = {
        "ticket_id": number,
        "updated_at": _stamp(now - timedelta(minutes=1)),
        "created_at": _stamp(now - timedelta(minutes=4)),
        "subject": "Exports broken",
        "description": "Exports to CSV are missing the VAT column.",
        "status": "Open",
        "priority": "Normal",
        "via": "Mail",
        "tags": "area_reports",
        "requester_id": "7001",
        "organization_id": "",
        "organization_name": "",
        "assignee_id": "",
        "latest_comment_id": str(uuid.uuid4().int % 10**9),
        "latest_comment": "This is unacceptable. I want to speak to a supervisor.",
        "latest_comment_author_id": "7001",
        "latest_comment_public": "true",
    }
    values.update(changes)
    assert set(values) == set(TRIGGER_TEMPLATE)
    return values


def _number() -> str:
    return str(uuid.uuid4().int % 10**8)


async def test_valid_delivery_with_strings_for_numbers_escalates_once(
    http: httpx.AsyncClient, dev_env: WorkflowEnvironment, store: IntakeRepository
) -> None:
    number = _number()
    raw = json.dumps(rendered(number)).encode()
    first = await http.post(URL, content=raw, headers=signed(raw))
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["accepted"] is True and answer["duplicate"] is False
    result = answer["result"]
    assert result["ticket_id"] == f"ZD-{number}" and result["source"] == "zendesk"
    assert result["event_key"].startswith(f"trigger:{number}@")
    assert result["action"] == "escalate" and result["escalation"]["started"] is True
    assert "explicit_request" in {t["kind"] for t in result["decision"]["triggers"]}
    workflow = dev_env.client.get_workflow_handle(result["escalation"]["workflow_id"])
    assert (await workflow.describe()).status == WorkflowExecutionStatus.RUNNING
    stored = store.latest_event(f"ZD-{number}")
    assert stored is not None and stored.customer.customer_id == "zd-user-7001"
    assert [c.body for c in stored.comments] == [
        "This is unacceptable. I want to speak to a supervisor."
    ]
    await workflow.terminate("test over")


async def test_replay_changes_nothing_even_with_a_new_invocation_id(
    http: httpx.AsyncClient, store: IntakeRepository
) -> None:
    number = _number()
    body = rendered(number, latest_comment="How do I export invoices?")
    raw = json.dumps(body).encode()
    first = await http.post(URL, content=raw, headers=signed(raw))
    assert first.status_code == 200, first.text
    assert first.json()["result"]["action"] == "none"
    # Same signed body re-sent (signed() draws a fresh invocation id each time): a duplicate.
    for _ in range(2):
        replay = await http.post(URL, content=raw, headers=signed(raw))
        assert replay.status_code == 200 and replay.json()["duplicate"] is True
    assert store.event_count(ticket_id=f"ZD-{number}") == 1
    # The next update of the ticket (a new updated_at) is a new event.
    later = {**body, "updated_at": _stamp(datetime.now(UTC)), "status": "Pending"}
    raw2 = json.dumps(later).encode()
    second = await http.post(URL, content=raw2, headers=signed(raw2))
    assert second.status_code == 200 and second.json()["duplicate"] is False
    assert store.event_count(ticket_id=f"ZD-{number}") == 2
    latest = store.latest_event(f"ZD-{number}")
    assert latest is not None and latest.status.value == "pending"


@pytest.mark.parametrize("case", ["unsigned", "forged", "expired", "tampered"])
async def test_forged_delivery_is_401_and_stores_nothing(
    http: httpx.AsyncClient, store: IntakeRepository, case: str
) -> None:
    number = _number()
    raw = json.dumps(rendered(number)).encode()
    headers = {
        "unsigned": {"content-type": "application/json"},
        "forged": signed(raw, secret="not-the-secret"),
        "expired": signed(raw, age=600),
        "tampered": signed(raw),
    }[case]
    sent = raw.replace(b"VAT", b"TAX") if case == "tampered" else raw
    answer = await http.post(URL, content=sent, headers=headers)
    assert answer.status_code == 401
    assert store.event_count(ticket_id=f"ZD-{number}") == 0
    assert store.ticket(f"ZD-{number}") is None


async def test_unreadable_signed_body_is_422(http: httpx.AsyncClient) -> None:
    for raw in (b'{"subject": "no ticket id"}', b"not json"):
        answer = await http.post(URL, content=raw, headers=signed(raw))
        assert answer.status_code == 422, answer.text
