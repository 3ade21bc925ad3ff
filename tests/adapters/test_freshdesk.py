"""FreshdeskAdapter against the local Freshdesk server."""

from __future__ import annotations

import base64

import httpx
import pytest

from activities.adapters.base import PermanentVendorError, RetryableVendorError
from activities.adapters.freshdesk import FreshdeskAdapter, freshdesk_priority
from escalation.vocabulary import Priority
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers_more import FreshdeskServer


def adapter(
    server: FreshdeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> FreshdeskAdapter:
    return FreshdeskAdapter(live_settings(freshdesk=server), http, outbox)


def test_priority_mapping_p0_is_urgent() -> None:
    assert [freshdesk_priority(p) for p in Priority] == [4, 3, 2, 1]
    assert freshdesk_priority("p2") == 2
    with pytest.raises(ValueError):
        freshdesk_priority("P4")


async def test_private_note_as_escaped_html(
    freshdesk_server: FreshdeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    receipt = await adapter(freshdesk_server, http, outbox).add_private_note(
        ticket_id="42", text="Escalated to <billing>\nFinance Manager paged", idempotency_key="k"
    )
    request = freshdesk_server.last_request()
    assert (request.method, request.path) == ("POST", "/api/v2/tickets/42/notes")
    token = base64.b64encode(b"freshdesk-test-key:X").decode()
    assert request.header("authorization") == f"Basic {token}"
    assert request.json == {
        "body": "<p>Escalated to &lt;billing&gt;<br>Finance Manager paged</p>",
        "private": True,
    }
    assert receipt.external_id == str(freshdesk_server.notes[0]["id"])
    assert freshdesk_server.schema_violations == []


async def test_update_ticket_maps_priority_and_agent(
    freshdesk_server: FreshdeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    receipt = await adapter(freshdesk_server, http, outbox).update_ticket(
        ticket_id=42, priority=Priority.P0, responder_id=77001, idempotency_key="k"
    )
    assert freshdesk_server.last_request().json == {"priority": 4, "responder_id": 77001}
    assert receipt.detail == {"priority": 4, "responder_id": 77001}
    assert freshdesk_server.tickets[42]["priority"] == 4
    assert freshdesk_server.schema_violations == []


async def test_400_and_404_are_permanent(
    freshdesk_server: FreshdeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    freshdesk = adapter(freshdesk_server, http, outbox)
    freshdesk_server.fail_next("/api/v2/tickets/42", status=400, method="PUT")
    with pytest.raises(PermanentVendorError) as caught:
        await freshdesk.update_ticket(ticket_id=42, priority="P1", idempotency_key="k")
    assert caught.value.status == 400 and "Validation failed" in caught.value.message
    with pytest.raises(PermanentVendorError) as missing:
        await freshdesk.add_private_note(ticket_id=9, text="x", idempotency_key="k")
    assert missing.value.status == 404
    with pytest.raises(PermanentVendorError):  # refused locally, nothing sent
        await freshdesk.update_ticket(ticket_id=42, priority="urgent", idempotency_key="k")


async def test_bad_api_key_is_permanent(
    freshdesk_server: FreshdeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    settings = live_settings(freshdesk=freshdesk_server, freshdesk_api_key="nope")
    with pytest.raises(PermanentVendorError) as caught:
        await FreshdeskAdapter(settings, http, outbox).add_private_note(
            ticket_id=42, text="x", idempotency_key="k"
        )
    assert caught.value.status == 401


async def test_429_is_retryable_with_retry_after(
    freshdesk_server: FreshdeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    freshdesk_server.fail_next("/api/v2/tickets/42/notes", status=429, headers={"Retry-After": "9"})
    with pytest.raises(RetryableVendorError) as caught:
        await adapter(freshdesk_server, http, outbox).add_private_note(
            ticket_id=42, text="x", idempotency_key="k"
        )
    assert caught.value.status == 429 and caught.value.retry_after == 9.0
    assert freshdesk_server.notes == []


async def test_5xx_is_retryable(
    freshdesk_server: FreshdeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    freshdesk_server.fail_next("/api/v2/tickets/42", status=502)
    with pytest.raises(RetryableVendorError):
        await adapter(freshdesk_server, http, outbox).update_ticket(
            ticket_id=42, priority="P3", idempotency_key="k"
        )


async def test_outbox_mode_without_credentials(
    http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    freshdesk = FreshdeskAdapter(offline_settings(), http, outbox)
    assert not freshdesk.live
    await freshdesk.add_private_note(ticket_id=42, text="note", idempotency_key="n1")
    await freshdesk.update_ticket(ticket_id=42, priority="P1", idempotency_key="u1")
    note, update = outbox.messages
    assert note.payload == {"ticket_id": 42, "body": "<p>note</p>", "private": True}
    assert (update.operation, update.payload) == ("update_ticket", {"ticket_id": 42, "priority": 3})
