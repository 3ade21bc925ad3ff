"""ZendeskAdapter against the local Zendesk server."""

from __future__ import annotations

import base64

import httpx
import pytest

from activities.adapters.base import PermanentVendorError, RetryableVendorError
from activities.adapters.zendesk import ZendeskAdapter, zendesk_ticket_id
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers_more import ZendeskServer


def adapter(server: ZendeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox) -> ZendeskAdapter:
    return ZendeskAdapter(live_settings(zendesk=server), http, outbox)


async def test_internal_note_is_a_private_comment(
    zendesk_server: ZendeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    receipt = await adapter(zendesk_server, http, outbox).add_internal_note(
        ticket_id="ZD-4711", body="Escalated to PagerDuty (P0), Jira OPS-42", idempotency_key="k"
    )

    assert receipt.delivered and receipt.external_id == "4711" and receipt.detail["audit_id"]
    request = zendesk_server.last_request()
    assert (request.method, request.path) == ("PUT", "/api/v2/tickets/4711")
    token = base64.b64encode(b"zendesk-bot@example.com/token:zendesk-test-token").decode()
    assert request.header("authorization") == f"Basic {token}"
    assert request.json == {
        "ticket": {"comment": {"body": "Escalated to PagerDuty (P0), Jira OPS-42", "public": False}}
    }
    (comment,) = zendesk_server.tickets[4711]["comments"]
    assert comment["public"] is False
    assert zendesk_server.schema_violations == []


async def test_assign_back_to_the_original_agent(
    zendesk_server: ZendeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    zendesk_server.tickets[4711]["assignee_id"] = 1002  # the specialist took it
    receipt = await adapter(zendesk_server, http, outbox).assign_back(
        ticket_id=4711, assignee_id=1001, note="Resolved: rolled back deploy", idempotency_key="k"
    )
    assert receipt.detail["assignee_id"] == 1001
    assert zendesk_server.tickets[4711]["assignee_id"] == 1001
    body = zendesk_server.last_request().json
    assert body["ticket"]["assignee_id"] == 1001
    assert body["ticket"]["comment"]["public"] is False
    assert zendesk_server.schema_violations == []


async def test_legal_hold_adds_tags_without_replacing(
    zendesk_server: ZendeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    await adapter(zendesk_server, http, outbox).apply_legal_hold(
        ticket_id=4711, note="Legal hold requested", tags=["Litigation 2024"], idempotency_key="k"
    )
    body = zendesk_server.last_request().json
    assert body["ticket"]["additional_tags"] == ["legal_hold", "litigation_2024"]
    assert "tags" not in body["ticket"]
    assert zendesk_server.tickets[4711]["tags"] == ["vip", "legal_hold", "litigation_2024"]
    assert zendesk_server.schema_violations == []


async def test_bad_ticket_ids_and_empty_notes_are_refused_locally(
    zendesk_server: ZendeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    zendesk = adapter(zendesk_server, http, outbox)
    with pytest.raises(PermanentVendorError):
        await zendesk.add_internal_note(ticket_id="abc", body="x", idempotency_key="k")
    with pytest.raises(PermanentVendorError):
        await zendesk.add_internal_note(ticket_id=4711, body="  ", idempotency_key="k")
    assert zendesk_server.requests == []
    assert zendesk_ticket_id("#12") == 12 and zendesk_ticket_id(" zd-9 ") == 9


@pytest.mark.parametrize(("ticket", "assignee", "status"), [(4711, 5555, 422), (999, 1001, 404)])
async def test_4xx_is_permanent(
    ticket: int,
    assignee: int,
    status: int,
    zendesk_server: ZendeskServer,
    http: httpx.AsyncClient,
    outbox: MemoryOutbox,
) -> None:
    with pytest.raises(PermanentVendorError) as caught:
        await adapter(zendesk_server, http, outbox).assign_back(
            ticket_id=ticket, assignee_id=assignee, note="n", idempotency_key="k"
        )
    assert caught.value.status == status


async def test_bad_credentials_are_permanent(
    zendesk_server: ZendeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    settings = live_settings(zendesk=zendesk_server, zendesk_api_token="wrong")
    with pytest.raises(PermanentVendorError) as caught:
        await ZendeskAdapter(settings, http, outbox).add_internal_note(
            ticket_id=4711, body="x", idempotency_key="k"
        )
    assert caught.value.status == 401


async def test_429_is_retryable_with_retry_after(
    zendesk_server: ZendeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    zendesk_server.fail_next("/api/v2/tickets/*", status=429, headers={"Retry-After": "7"})
    with pytest.raises(RetryableVendorError) as caught:
        await adapter(zendesk_server, http, outbox).add_internal_note(
            ticket_id=4711, body="x", idempotency_key="k"
        )
    assert caught.value.status == 429 and caught.value.retry_after == 7.0
    assert zendesk_server.tickets[4711]["comments"] == []


async def test_5xx_is_retryable(
    zendesk_server: ZendeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    zendesk_server.fail_next("/api/v2/tickets/*", status=503)
    with pytest.raises(RetryableVendorError) as caught:
        await adapter(zendesk_server, http, outbox).add_internal_note(
            ticket_id=4711, body="x", idempotency_key="k"
        )
    assert caught.value.status == 503


async def test_outbox_mode_without_credentials(
    http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    zendesk = ZendeskAdapter(offline_settings(), http, outbox)
    assert not zendesk.live
    receipt = await zendesk.apply_legal_hold(ticket_id="ZD-7", note="hold", idempotency_key="k1")
    assert not receipt.delivered and receipt.external_id == "7"
    message = outbox.only()
    assert (message.vendor, message.operation, message.idempotency_key) == (
        "zendesk",
        "apply_legal_hold",
        "k1",
    )
    assert message.payload == {
        "ticket_id": 7,
        "ticket": {
            "comment": {"body": "hold", "public": False},
            "additional_tags": ["legal_hold"],
        },
    }
