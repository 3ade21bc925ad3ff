"""OpsgenieAdapter against the local Alert API v2 server."""

from __future__ import annotations

import httpx
import pytest

from activities.adapters.base import DeliveryReceipt, PermanentVendorError, RetryableVendorError
from activities.adapters.opsgenie import OpsgenieAdapter, normalize_alias
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers import OpsgenieServer

ALIAS = "escalation-T/1:s0:alice smith"


def adapter(
    server: OpsgenieServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> OpsgenieAdapter:
    return OpsgenieAdapter(live_settings(opsgenie=server), http, outbox)


async def create(ops: OpsgenieAdapter, message: str = "[P0] Checkout failing") -> DeliveryReceipt:
    return await ops.create_alert(
        alias=ALIAS,
        message=message,
        description="Escalated from ticket T-1",
        priority="P1",
        responders=[{"type": "user", "username": "alice@example.com"}],
        tags=["escalation", "P0", "payments"],
        details={"ticket_id": "T-1"},
    )


async def test_create_alert_sends_a_valid_payload_with_genie_key(
    opsgenie_server: OpsgenieServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    receipt = await create(adapter(opsgenie_server, http, outbox), message="m" * 200)

    request = opsgenie_server.last_request()
    assert (request.method, request.path) == ("POST", "/v2/alerts")
    assert request.header("authorization") == f"GenieKey {opsgenie_server.api_key}"
    assert request.json == {
        "message": "m" * 129 + "\u2026",
        "alias": ALIAS,
        "description": "Escalated from ticket T-1",
        "responders": [{"type": "user", "username": "alice@example.com"}],
        "tags": ["escalation", "P0", "payments"],
        "details": {"ticket_id": "T-1"},
        "priority": "P1",
        "source": "escalation-routing",
    }
    assert receipt.delivered and receipt.external_id == ALIAS
    status = opsgenie_server.request_status[str(receipt.detail["request_id"])]
    assert status["status"] == "Created alert"
    alert = opsgenie_server.alert(ALIAS)
    assert alert is not None and alert.priority == "P1"
    assert opsgenie_server.schema_violations == []


async def test_ack_note_close_address_the_alert_by_url_encoded_alias(
    opsgenie_server: OpsgenieServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    ops = adapter(opsgenie_server, http, outbox)
    await create(ops)
    await create(ops)  # same alias while open: Opsgenie only counts it

    await ops.acknowledge(alias=ALIAS, note="by alice")
    await ops.add_note(alias=ALIAS, note="customer informed")
    closed = await ops.close(alias=ALIAS)

    ack, note, close = opsgenie_server.requests[2:]
    encoded = "escalation-T%2F1%3As0%3Aalice%20smith"
    assert ack.raw_path == f"/v2/alerts/{encoded}/acknowledge?identifierType=alias"
    assert ack.json == {"source": "escalation-routing", "note": "by alice"}
    assert note.raw_path == f"/v2/alerts/{encoded}/notes?identifierType=alias"
    assert note.json == {"note": "customer informed", "source": "escalation-routing"}
    assert close.raw_path == f"/v2/alerts/{encoded}/close?identifierType=alias"
    assert close.json == {"source": "escalation-routing"}
    alert = opsgenie_server.alert(ALIAS)
    assert alert is not None
    assert (alert.count, alert.acknowledged, alert.status) == (2, True, "closed")
    assert alert.notes == ["by alice", "customer informed"]
    assert closed.operation == "close" and closed.external_id == ALIAS
    assert opsgenie_server.schema_violations == []


def test_long_alias_is_shortened_deterministically() -> None:
    alias = "a" * 600
    assert len(normalize_alias(alias)) == 512
    assert normalize_alias(alias) == normalize_alias(alias) != normalize_alias(alias + "b")


async def test_422_is_permanent(
    opsgenie_server: OpsgenieServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    opsgenie_server.fail_next("/v2/alerts", status=422)
    with pytest.raises(PermanentVendorError) as caught:
        await create(adapter(opsgenie_server, http, outbox))
    assert caught.value.status == 422 and "not processable" in caught.value.message


async def test_bad_key_is_permanent(
    opsgenie_server: OpsgenieServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    settings = live_settings(opsgenie=opsgenie_server, opsgenie_api_key="wrong")
    with pytest.raises(PermanentVendorError) as caught:
        await create(OpsgenieAdapter(settings, http, outbox))
    assert caught.value.status == 401


async def test_429_is_retryable_with_retry_after(
    opsgenie_server: OpsgenieServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    opsgenie_server.fail_next("/v2/alerts/*/close", status=429, headers={"Retry-After": "4"})
    with pytest.raises(RetryableVendorError) as caught:
        await adapter(opsgenie_server, http, outbox).close(alias=ALIAS)
    assert caught.value.status == 429 and caught.value.retry_after == 4.0


async def test_5xx_is_retryable(
    opsgenie_server: OpsgenieServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    opsgenie_server.fail_next("/v2/alerts", status=503, times=3)
    with pytest.raises(RetryableVendorError) as caught:
        await create(adapter(opsgenie_server, http, outbox))
    assert caught.value.status == 503


async def test_outbox_mode_without_api_key(http: httpx.AsyncClient, outbox: MemoryOutbox) -> None:
    ops = OpsgenieAdapter(offline_settings(), http, outbox)
    assert not ops.live
    receipt = await create(ops)
    await ops.acknowledge(alias=ALIAS)
    await ops.add_note(alias=ALIAS, note="one")
    await ops.add_note(alias=ALIAS, note="two")
    await ops.close(alias=ALIAS, note="done")

    assert not receipt.delivered and receipt.external_id == ALIAS
    assert [m.operation for m in outbox.messages] == [
        "create_alert",
        "acknowledge",
        "add_note",
        "add_note",
        "close",
    ]
    keys = [m.idempotency_key for m in outbox.messages]
    assert len(set(keys)) == len(keys)  # two different notes are two messages
    assert outbox.messages[0].payload["priority"] == "P1"
    assert outbox.messages[-1].payload == {"source": "escalation-routing", "note": "done"}


async def test_empty_alias_or_note_is_refused(
    http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    ops = OpsgenieAdapter(offline_settings(), http, outbox)
    with pytest.raises(PermanentVendorError):
        await ops.acknowledge(alias=" ")
    with pytest.raises(PermanentVendorError):
        await ops.add_note(alias=ALIAS, note="")
