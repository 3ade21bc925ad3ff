"""TeamsAdapter against the local Teams webhook server (Workflows and legacy connector)."""

from __future__ import annotations

import httpx
import pytest

from activities.adapters.base import DeliveryReceipt, PermanentVendorError, RetryableVendorError
from activities.adapters.teams import TeamsAdapter
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers_more import TeamsServer


def adapter(server: TeamsServer, http: httpx.AsyncClient, outbox: MemoryOutbox) -> TeamsAdapter:
    return TeamsAdapter(live_settings(teams=server), http, outbox)


async def post(teams: TeamsAdapter) -> DeliveryReceipt:
    return await teams.post_card(
        title="[P0] Checkout returns 502 for all EU customers",
        text="Primary on-call paged. War room: https://zoom.us/j/123",
        facts={"Priority": "P0", "Customer": "Globex (enterprise)"},
        link_url="http://127.0.0.1:8000/v1/escalations/ZD-4711",
        idempotency_key="escalation-ZD-4711:s0:teams",
    )


async def test_workflows_webhook_gets_an_adaptive_card(
    teams_server: TeamsServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    receipt = await post(adapter(teams_server, http, outbox))

    assert receipt.delivered is True
    assert receipt.detail == {"http_status": 202}
    request = teams_server.last_request()
    assert request.query["sig"] == [teams_server.signature]
    assert request.json["type"] == "message"
    (attachment,) = request.json["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    (card,) = teams_server.cards
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"][0]["text"].startswith("[P0] Checkout")
    assert card["body"][2]["facts"][0] == {"title": "Priority", "value": "P0"}
    assert card["actions"][0]["type"] == "Action.OpenUrl"
    assert teams_server.schema_violations == []


async def test_legacy_incoming_webhook(http: httpx.AsyncClient, outbox: MemoryOutbox) -> None:
    with TeamsServer(legacy=True) as legacy:
        receipt = await post(adapter(legacy, http, outbox))
        assert receipt.detail == {"http_status": 200}
        assert len(legacy.cards) == 1 and legacy.schema_violations == []


async def test_legacy_failure_reported_with_http_200_is_classified(
    http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    with TeamsServer(legacy=True) as legacy:
        teams = adapter(legacy, http, outbox)
        legacy.fail_next(
            legacy.webhook_path,
            status=200,
            body="Webhook message delivery failed with error: Microsoft Teams endpoint "
            "returned HTTP error 429 with ContextId tcid=0,server=msgapi-canary-eus2-0",
        )
        with pytest.raises(RetryableVendorError) as throttled:
            await post(teams)
        assert throttled.value.status == 429
        legacy.fail_next(
            legacy.webhook_path,
            status=200,
            body="Webhook message delivery failed with error: Microsoft Teams endpoint "
            "returned HTTP error 413 with ContextId tcid=0",
        )
        with pytest.raises(PermanentVendorError) as too_big:
            await post(teams)
        assert too_big.value.status == 413


async def test_4xx_is_permanent(
    teams_server: TeamsServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    wrong_sig = teams_server.webhook_url.replace(teams_server.signature, "forged")
    settings = live_settings(teams=teams_server, teams_webhook_url=wrong_sig)
    with pytest.raises(PermanentVendorError) as caught:
        await post(TeamsAdapter(settings, http, outbox))
    assert caught.value.status == 401
    assert "forged" not in caught.value.message  # the URL is a credential
    teams_server.fail_next(teams_server.webhook_path, status=400)
    with pytest.raises(PermanentVendorError):
        await post(adapter(teams_server, http, outbox))


async def test_429_is_retryable_with_retry_after(
    teams_server: TeamsServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    teams_server.fail_next(teams_server.webhook_path, status=429, headers={"Retry-After": "4"})
    with pytest.raises(RetryableVendorError) as caught:
        await post(adapter(teams_server, http, outbox))
    assert caught.value.status == 429 and caught.value.retry_after == 4.0
    assert teams_server.cards == []


async def test_5xx_is_retryable(
    teams_server: TeamsServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    teams_server.fail_next(teams_server.webhook_path, status=502)
    with pytest.raises(RetryableVendorError):
        await post(adapter(teams_server, http, outbox))


async def test_outbox_mode_never_stores_the_webhook_url(
    http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    teams = TeamsAdapter(offline_settings(), http, outbox)
    assert not teams.live
    receipt = await post(teams)
    assert receipt.delivered is False
    message = outbox.only()
    assert (message.vendor, message.operation) == ("teams", "post_card")
    assert message.idempotency_key == "escalation-ZD-4711:s0:teams"
    assert message.payload["attachments"][0]["content"]["type"] == "AdaptiveCard"
    assert "sig=" not in str(message.payload)
