"""HubSpotAdapter (CRM read) against the local HubSpot server: never raises, caches."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from activities.adapters.cache import TtlCache
from activities.adapters.crm import CrmLookup
from activities.adapters.hubspot import HubSpotAdapter
from escalation.vocabulary import CustomerTier
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers_more import HubSpotServer


def adapter(
    server: HubSpotServer,
    http: httpx.AsyncClient,
    outbox: MemoryOutbox,
    cache: TtlCache[CrmLookup] | None = None,
    **overrides: object,
) -> HubSpotAdapter:
    return HubSpotAdapter(live_settings(hubspot=server, **overrides), http, outbox, cache=cache)


@pytest.fixture
def globex(hubspot_server: HubSpotServer) -> HubSpotServer:
    hubspot_server.add_company(
        "9001",
        name="Globex",
        customer_tier="Enterprise",
        arr="1,250,000.50",
        health_score="62",
        customer_success_manager="Carol Danvers",
    )
    return hubspot_server


async def test_company_profile_from_string_properties(
    globex: HubSpotServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    result = await adapter(globex, http, outbox).lookup("9001")

    assert result.found and result.status == "found" and not result.cached
    profile = result.profile
    assert profile is not None
    assert (profile.name, profile.tier, profile.customer_tier) == (
        "Globex",
        "Enterprise",
        CustomerTier.ENTERPRISE,
    )
    assert (profile.arr, profile.health_score, profile.csm) == (1250000.5, 62.0, "Carol Danvers")
    assert profile.missing == []
    request = globex.last_request()
    assert request.path == "/crm/v3/objects/companies/9001"
    assert request.header("authorization") == f"Bearer {globex.token}"
    assert request.query["properties"] == [
        "name,customer_tier,arr,health_score,customer_success_manager"
    ]
    assert globex.schema_violations == [] and outbox.messages == []


async def test_configurable_property_names_and_missing_values(
    globex: HubSpotServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    globex.add_company("9002", name="Initech", annualrevenue="5000000")
    result = await adapter(globex, http, outbox, hubspot_arr_property="annualrevenue").lookup(
        "9002"
    )
    assert result.profile is not None and result.profile.arr == 5_000_000.0
    assert result.profile.missing == ["tier", "health_score", "csm"]
    assert result.timeline_detail() == {
        "crm": "hubspot",
        "account_id": "9002",
        "lookup_key": "id",
        "status": "found",
        "cached": False,
        "missing": ["tier", "health_score", "csm"],
    }


async def test_results_are_cached_in_the_cache_passed_in(
    globex: HubSpotServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    now = [1000.0]
    cache: TtlCache[CrmLookup] = TtlCache(ttl_seconds=60, clock=lambda: now[0])
    hubspot = adapter(globex, http, outbox, cache=cache)
    first = await hubspot.lookup("9001")
    second = await hubspot.lookup("9001")
    missing = await hubspot.lookup("404")
    again_missing = await hubspot.lookup("404")
    assert second.cached and second.profile == first.profile
    assert missing.status == "not_found" and again_missing.cached
    assert len(globex.requests) == 2
    now[0] += 61
    assert not (await hubspot.lookup("9001")).cached
    assert len(globex.requests) == 3


async def test_4xx_refused_is_a_result_not_an_exception(
    globex: HubSpotServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    result = await adapter(globex, http, outbox, hubspot_token="bad").lookup("9001")
    assert result.status == "refused" and "INVALID_AUTHENTICATION" in str(result.reason)
    assert (await adapter(globex, http, outbox).lookup("acme.com")).status == "not_found"


async def test_429_is_unavailable_and_not_cached(
    globex: HubSpotServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    hubspot = adapter(globex, http, outbox)
    globex.fail_next("/crm/v3/objects/companies/*", status=429, headers={"Retry-After": "1"})
    limited = await hubspot.lookup("9001")
    assert limited.status == "unavailable" and "429" in str(limited.reason)
    assert (await hubspot.lookup("9001")).found  # the next escalation tries again


async def test_5xx_and_timeouts_are_unavailable(
    globex: HubSpotServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    hubspot = adapter(globex, http, outbox, crm_timeout_seconds=0.1)
    globex.fail_next("/crm/v3/objects/companies/*", status=502)
    assert (await hubspot.lookup("9001")).status == "unavailable"
    globex.fail_next("/crm/v3/objects/companies/*", status=None, delay=0.4)
    slow = await hubspot.lookup("9001")
    assert slow.status == "unavailable" and "timeout" in str(slow.reason).lower()
    # Let the late answer hit the closed connection while this test still captures output.
    await asyncio.sleep(0.5)


async def test_not_configured_without_credentials(
    http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    hubspot = HubSpotAdapter(offline_settings(), http, outbox)
    assert not hubspot.live
    result = await hubspot.lookup("9001")
    assert result.status == "not_configured" and result.profile is None
    assert outbox.messages == []  # a read has nothing to put in the outbox
