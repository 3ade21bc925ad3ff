"""IntercomAdapter against the local Intercom server."""

from __future__ import annotations

import httpx
import pytest

from activities.adapters.base import PermanentVendorError, RetryableVendorError
from activities.adapters.intercom import IntercomAdapter
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers_more import IntercomServer


def adapter(
    server: IntercomServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> IntercomAdapter:
    return IntercomAdapter(live_settings(intercom=server), http, outbox)


async def test_note_is_an_admin_note_valid_against_the_spec(
    intercom_server: IntercomServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    receipt = await adapter(intercom_server, http, outbox).add_note(
        conversation_id="215468", text="Escalated: P1 billing", idempotency_key="k"
    )
    request = intercom_server.last_request()
    assert (request.method, request.path) == ("POST", "/conversations/215468/reply")
    assert request.header("authorization") == "Bearer intercom-test-token"
    assert request.header("intercom-version") == "2.14"
    assert request.json == {
        "message_type": "note",
        "type": "admin",
        "admin_id": intercom_server.admin_id,
        "body": "<p>Escalated: P1 billing</p>",
    }
    (part,) = intercom_server.parts("215468")
    assert part["part_type"] == "note" and receipt.external_id == part["id"]
    assert intercom_server.schema_violations == []


async def test_reply_is_a_comment_the_customer_sees(
    intercom_server: IntercomServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    await adapter(intercom_server, http, outbox).reply(
        conversation_id="215468", text="We are on it.", idempotency_key="k"
    )
    assert intercom_server.parts("215468")[0]["part_type"] == "comment"
    assert intercom_server.schema_violations == []


async def test_unknown_conversation_or_admin_is_permanent(
    intercom_server: IntercomServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    with pytest.raises(PermanentVendorError) as caught:
        await adapter(intercom_server, http, outbox).add_note(
            conversation_id="1", text="x", idempotency_key="k"
        )
    assert caught.value.status == 404 and "not_found" in caught.value.message
    settings = live_settings(intercom=intercom_server, intercom_admin_id="42")
    with pytest.raises(PermanentVendorError) as admin:
        await IntercomAdapter(settings, http, outbox).add_note(
            conversation_id="215468", text="x", idempotency_key="k"
        )
    assert "admin_not_found" in admin.value.message


async def test_bad_token_is_permanent(
    intercom_server: IntercomServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    settings = live_settings(intercom=intercom_server, intercom_access_token="bad")
    with pytest.raises(PermanentVendorError) as caught:
        await IntercomAdapter(settings, http, outbox).add_note(
            conversation_id="215468", text="x", idempotency_key="k"
        )
    assert caught.value.status == 401


async def test_429_uses_retry_after_or_the_reset_time(
    intercom_server: IntercomServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    intercom = adapter(intercom_server, http, outbox)
    intercom_server.fail_next("/conversations/*/reply", status=429, headers={"Retry-After": "3"})
    with pytest.raises(RetryableVendorError) as explicit:
        await intercom.add_note(conversation_id="215468", text="x", idempotency_key="k")
    assert explicit.value.retry_after == 3.0
    intercom_server.fail_next("/conversations/*/reply", status=429)  # Intercom's own headers
    with pytest.raises(RetryableVendorError) as reset:
        await intercom.add_note(conversation_id="215468", text="x", idempotency_key="k")
    assert reset.value.status == 429 and reset.value.retry_after is not None
    assert 0 < reset.value.retry_after <= IntercomServer.reset_in + 1
    assert intercom_server.parts("215468") == []


async def test_5xx_is_retryable(
    intercom_server: IntercomServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    intercom_server.fail_next("/conversations/*/reply", status=500)
    with pytest.raises(RetryableVendorError):
        await adapter(intercom_server, http, outbox).add_note(
            conversation_id="215468", text="x", idempotency_key="k"
        )


async def test_outbox_mode_without_credentials(
    intercom_server: IntercomServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    # A token without an admin to author notes is not enough either.
    half = live_settings(intercom=intercom_server, intercom_admin_id=None)
    assert not IntercomAdapter(half, http, outbox).live
    intercom = IntercomAdapter(offline_settings(), http, outbox)
    receipt = await intercom.add_note(conversation_id="215468", text="n", idempotency_key="k1")
    assert not receipt.delivered
    message = outbox.only()
    assert (message.vendor, message.operation, message.idempotency_key) == (
        "intercom",
        "add_note",
        "k1",
    )
    assert message.payload["conversation_id"] == "215468"
    assert message.payload["message_type"] == "note"
    assert intercom_server.requests == []
