"""LinearAdapter against the local Linear GraphQL server."""

from __future__ import annotations

import uuid

import httpx
import pytest

from activities.adapters.base import DeliveryReceipt, PermanentVendorError, RetryableVendorError
from activities.adapters.linear import LinearAdapter, linear_issue_id, linear_priority
from activities.adapters.tracker import BugTracker
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers_more import LinearServer


def adapter(server: LinearServer, http: httpx.AsyncClient, outbox: MemoryOutbox) -> LinearAdapter:
    return LinearAdapter(live_settings(linear=server), http, outbox)


async def file_bug(linear: LinearAdapter, key: str = "escalation-T-1:s0:bug") -> DeliveryReceipt:
    return await linear.create_bug(
        escalation_key="escalation-T-1",
        summary="[P1] Checkout failing for ACME\n(enterprise)",
        description="Escalated from Zendesk #4711",
        priority="Highest",
        labels=["escalation", "tier-enterprise"],
        idempotency_key=key,
    )


def test_client_id_is_a_deterministic_uuid_v4() -> None:
    first = linear_issue_id("escalation-T-1:s0:bug")
    assert first == linear_issue_id("escalation-T-1:s0:bug")
    assert first != linear_issue_id("escalation-T-1:s1:bug")
    parsed = uuid.UUID(first)
    assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert [linear_priority(p) for p in ("P0", "P1", "P2", "P3", "", "High")] == [1, 2, 3, 4, 0, 2]


async def test_issue_create_with_client_id(
    linear_server: LinearServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    linear = adapter(linear_server, http, outbox)
    assert isinstance(linear, BugTracker)
    receipt = await file_bug(linear)

    assert receipt.delivered and receipt.external_id == "ENG-1"
    assert receipt.detail["created"] is True
    assert receipt.detail["id"] == linear_issue_id("escalation-T-1:s0:bug")
    request = linear_server.last_request()
    assert request.header("authorization") == linear_server.api_key
    issue_input = request.json["variables"]["input"]
    assert issue_input["teamId"] == linear_server.team_id
    assert issue_input["title"] == "[P1] Checkout failing for ACME (enterprise)"
    assert issue_input["priority"] == 1
    assert issue_input["description"].endswith("Labels: escalation, tier-enterprise")
    assert linear_server.schema_violations == []


async def test_retry_after_a_lost_response_returns_the_same_issue(
    linear_server: LinearServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    linear = adapter(linear_server, http, outbox)
    linear_server.fail_next("/graphql", lose_response=True)
    with pytest.raises(RetryableVendorError):
        await file_bug(linear)  # Linear created it, the answer was lost
    retried = await file_bug(linear)  # Temporal's retry: same key, same id

    assert retried.external_id == "ENG-1" and retried.detail["created"] is False
    assert len(linear_server.issues) == 1
    other = await file_bug(linear, key="escalation-T-2:s0:bug")
    assert other.external_id == "ENG-2"
    assert linear_server.schema_violations == []


async def test_graphql_errors_on_http_200_are_permanent(
    linear_server: LinearServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    settings = live_settings(linear=linear_server, linear_team_id=str(uuid.uuid4()))
    with pytest.raises(PermanentVendorError) as caught:
        await file_bug(LinearAdapter(settings, http, outbox))
    assert "Team not found" in caught.value.message
    assert linear_server.issues == {}


async def test_bad_api_key_is_permanent(
    linear_server: LinearServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    settings = live_settings(linear=linear_server, linear_api_key="lin_api_wrong")
    with pytest.raises(PermanentVendorError) as caught:
        await file_bug(LinearAdapter(settings, http, outbox))
    assert caught.value.status == 400 and "authenticate" in caught.value.message


async def test_ratelimited_is_retryable(
    linear_server: LinearServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    linear = adapter(linear_server, http, outbox)
    linear_server.rate_limit_next()  # Linear's way: HTTP 400 + RATELIMITED
    with pytest.raises(RetryableVendorError) as bucket:
        await file_bug(linear)
    assert bucket.value.retry_after is not None and 0 < bucket.value.retry_after <= 31
    linear_server.fail_next("/graphql", status=429, headers={"Retry-After": "5"})
    with pytest.raises(RetryableVendorError) as caught:
        await file_bug(linear)
    assert caught.value.status == 429 and caught.value.retry_after == 5.0
    assert linear_server.issues == {}


async def test_5xx_is_retryable(
    linear_server: LinearServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    linear_server.fail_next("/graphql", status=503)
    with pytest.raises(RetryableVendorError) as caught:
        await file_bug(adapter(linear_server, http, outbox))
    assert caught.value.status == 503


async def test_outbox_mode_without_credentials(
    http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    linear = LinearAdapter(offline_settings(), http, outbox)
    assert not linear.live
    receipt = await file_bug(linear)
    assert not receipt.delivered
    message = outbox.only()
    assert (message.vendor, message.operation) == ("linear", "create_bug")
    assert message.payload["variables"]["input"]["id"] == receipt.external_id
    assert "issueCreate" in message.payload["query"]
