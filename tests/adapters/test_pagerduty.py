"""PagerDutyAdapter against the local Events API v2 server."""

from __future__ import annotations

import httpx
import pytest

from activities.adapters.base import DeliveryReceipt, PermanentVendorError, RetryableVendorError
from activities.adapters.pagerduty import PagerDutyAdapter, normalize_dedup_key
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers import PagerDutyServer


def adapter(
    server: PagerDutyServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> PagerDutyAdapter:
    return PagerDutyAdapter(live_settings(pagerduty=server), http, outbox)


async def trigger(pd: PagerDutyAdapter, key: str = "escalation-T-1:s0:alice") -> DeliveryReceipt:
    return await pd.trigger(
        dedup_key=key,
        summary="[P0] Checkout failing for ACME",
        source="escalation-routing/payments",
        severity="critical",
        custom_details={"ticket_id": "T-1", "tier": "enterprise"},
        links=[{"href": "https://help.example.com/T-1", "text": "Ticket"}],
    )


async def test_trigger_sends_a_valid_event_and_opens_an_alert(
    pagerduty_server: PagerDutyServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    pd = adapter(pagerduty_server, http, outbox)
    assert pd.live

    receipt = await trigger(pd)

    assert receipt.delivered and receipt.external_id == "escalation-T-1:s0:alice"
    request = pagerduty_server.last_request("/v2/enqueue")
    assert request.method == "POST"
    assert request.header("authorization") is None  # the key travels in the body
    assert request.json == {
        "routing_key": pagerduty_server.routing_key,
        "event_action": "trigger",
        "dedup_key": "escalation-T-1:s0:alice",
        "payload": {
            "summary": "[P0] Checkout failing for ACME",
            "source": "escalation-routing/payments",
            "severity": "critical",
            "custom_details": {"ticket_id": "T-1", "tier": "enterprise"},
        },
        "links": [{"href": "https://help.example.com/T-1", "text": "Ticket"}],
    }
    alert = pagerduty_server.alert("escalation-T-1:s0:alice")
    assert alert is not None and alert.status == "triggered"
    assert pagerduty_server.schema_violations == []
    assert outbox.messages == []


async def test_trigger_is_idempotent_and_ack_resolve_follow_the_alert(
    pagerduty_server: PagerDutyServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    pd = adapter(pagerduty_server, http, outbox)
    await trigger(pd)
    await trigger(pd)  # a retried activity: de-duplicated into the open alert
    assert len(pagerduty_server.alerts) == 1
    assert pagerduty_server.alerts[0].trigger_count == 2

    ack = await pd.acknowledge(dedup_key="escalation-T-1:s0:alice")
    assert ack.delivered and ack.operation == "acknowledge"
    statuses = [pagerduty_server.alerts[0].status]
    await pd.resolve(dedup_key="escalation-T-1:s0:alice")
    statuses.append(pagerduty_server.alerts[0].status)
    assert statuses == ["acknowledged", "resolved"]
    assert pagerduty_server.last_request().json == {
        "routing_key": pagerduty_server.routing_key,
        "event_action": "resolve",
        "dedup_key": "escalation-T-1:s0:alice",
    }
    assert pagerduty_server.schema_violations == []


async def test_per_call_routing_key_overrides_the_default(
    pagerduty_server: PagerDutyServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    pd = adapter(pagerduty_server, http, outbox)
    await pd.acknowledge(dedup_key="k", routing_key="TEAMKEY0000000000000000000000042")
    assert pagerduty_server.last_request().json["routing_key"] == "TEAMKEY0000000000000000000000042"
    assert len(pagerduty_server.dropped_events) == 1  # no open alert: PagerDuty drops it


async def test_long_summary_is_truncated_and_long_dedup_key_hashed_stably(
    pagerduty_server: PagerDutyServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    pd = adapter(pagerduty_server, http, outbox)
    long_key = "escalation-" + "x" * 400
    receipt = await pd.trigger(
        dedup_key=long_key, summary="s" * 5000, source="src", severity="info", custom_details={}
    )
    sent = pagerduty_server.last_request().json
    assert len(sent["payload"]["summary"]) == 1024
    assert len(sent["dedup_key"]) <= 255
    assert sent["dedup_key"] == normalize_dedup_key(long_key) == receipt.external_id
    assert normalize_dedup_key(long_key) != normalize_dedup_key(long_key + "y")
    assert normalize_dedup_key("short") == "short"
    assert pagerduty_server.schema_violations == []


async def test_400_is_permanent(
    pagerduty_server: PagerDutyServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    pagerduty_server.fail_next("/v2/enqueue", status=400)
    with pytest.raises(PermanentVendorError) as caught:
        await trigger(adapter(pagerduty_server, http, outbox))
    assert caught.value.status == 400
    assert "invalid event" in caught.value.message


async def test_429_is_retryable_with_retry_after(
    pagerduty_server: PagerDutyServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    pagerduty_server.fail_next("/v2/enqueue", status=429, headers={"Retry-After": "30"})
    with pytest.raises(RetryableVendorError) as caught:
        await trigger(adapter(pagerduty_server, http, outbox))
    assert caught.value.status == 429 and caught.value.retry_after == 30.0


async def test_burst_of_5xx_is_retryable_then_succeeds(
    pagerduty_server: PagerDutyServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    pd = adapter(pagerduty_server, http, outbox)
    pagerduty_server.fail_next("/v2/enqueue", status=503, times=2)
    for _ in range(2):
        with pytest.raises(RetryableVendorError) as caught:
            await trigger(pd)
        assert caught.value.status == 503 and caught.value.retry_after is None
    assert (await trigger(pd)).delivered
    assert len(pagerduty_server.alerts) == 1


async def test_dropped_connection_is_retryable(
    pagerduty_server: PagerDutyServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    pagerduty_server.fail_next("/v2/enqueue", drop=True)
    with pytest.raises(RetryableVendorError) as caught:
        await trigger(adapter(pagerduty_server, http, outbox))
    assert caught.value.status is None and "network error" in caught.value.message


async def test_outbox_mode_without_routing_key(
    http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    pd = PagerDutyAdapter(offline_settings(), http, outbox)
    assert not pd.live

    receipt = await trigger(pd)
    await pd.resolve(dedup_key="escalation-T-1:s0:alice")

    assert not receipt.delivered and receipt.external_id == "escalation-T-1:s0:alice"
    first, second = outbox.messages
    assert (first.vendor, first.operation) == ("pagerduty", "trigger")
    assert first.idempotency_key == "trigger:escalation-T-1:s0:alice"
    assert first.payload["event_action"] == "trigger"
    assert first.payload["payload"]["severity"] == "critical"
    assert first.payload["routing_key"] == ""
    assert (
        second.operation == "resolve" and second.payload["dedup_key"] == "escalation-T-1:s0:alice"
    )


async def test_outbox_never_stores_a_per_team_routing_key(
    http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    pd = PagerDutyAdapter(offline_settings(), http, outbox)
    await pd.acknowledge(dedup_key="k", routing_key="SECRET-TEAM-KEY")
    assert outbox.only().payload["routing_key"] == "<redacted>"


async def test_empty_dedup_key_is_refused(http: httpx.AsyncClient, outbox: MemoryOutbox) -> None:
    pd = PagerDutyAdapter(offline_settings(), http, outbox)
    with pytest.raises(PermanentVendorError):
        await pd.acknowledge(dedup_key="")
