"""SalesforceAdapter (CRM read) against the local Salesforce server."""

from __future__ import annotations

import httpx
import pytest

from activities.adapters.cache import TtlCache
from activities.adapters.crm import CrmLookup
from activities.adapters.salesforce import SalesforceAdapter
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers_more import SalesforceServer

ACCOUNT = "001Dn00000ABCDEFGH"


def adapter(
    server: SalesforceServer, http: httpx.AsyncClient, outbox: MemoryOutbox, **overrides: object
) -> SalesforceAdapter:
    return SalesforceAdapter(live_settings(salesforce=server, **overrides), http, outbox)


@pytest.fixture
def org(salesforce_server: SalesforceServer) -> SalesforceServer:
    salesforce_server.add_account(
        ACCOUNT,
        Name="Globex",
        Tier__c="Strategic",
        ARR__c=2_400_000,
        Health_Score__c=48.5,
        CSM__c="005Dn000001CSMAAA",
        AnnualRevenue=90_000_000,
    )
    return salesforce_server


async def test_account_profile(
    org: SalesforceServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    result = await adapter(org, http, outbox).lookup(ACCOUNT)

    assert result.found and result.profile is not None
    profile = result.profile
    assert (profile.name, profile.tier, profile.arr, profile.health_score) == (
        "Globex",
        "Strategic",
        2_400_000.0,
        48.5,
    )
    assert profile.csm == "005Dn000001CSMAAA" and profile.customer_tier == "strategic"
    request = org.last_request()
    assert request.path == f"/services/data/v61.0/sobjects/Account/{ACCOUNT}"
    assert request.query["fields"] == ["Name,Tier__c,ARR__c,Health_Score__c,CSM__c"]
    assert request.header("authorization") == f"Bearer {org.token}"
    assert org.schema_violations == []


async def test_configured_field_names_and_a_shared_cache(
    org: SalesforceServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    cache: TtlCache[CrmLookup] = TtlCache(ttl_seconds=60)
    settings = live_settings(salesforce=org, salesforce_arr_field="AnnualRevenue")
    salesforce = SalesforceAdapter(settings, http, outbox, cache=cache)
    first = await salesforce.lookup(ACCOUNT)
    assert first.profile is not None and first.profile.arr == 90_000_000.0
    assert (await salesforce.lookup(ACCOUNT)).cached and len(org.requests) == 1


async def test_unknown_account_and_unknown_field(
    org: SalesforceServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    missing = await adapter(org, http, outbox).lookup("001Dn00000ZZZZZZZZ")
    assert missing.status == "not_found"
    assert (await adapter(org, http, outbox).lookup("acme")).status == "not_found"
    wrong = await adapter(org, http, outbox, salesforce_tier_field="Tier").lookup(ACCOUNT)
    assert wrong.status == "refused" and "INVALID_FIELD" in str(wrong.reason)


async def test_expired_session_is_refused(
    org: SalesforceServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    result = await adapter(org, http, outbox, salesforce_token="expired").lookup(ACCOUNT)
    assert result.status == "refused" and "INVALID_SESSION_ID" in str(result.reason)


async def test_quota_exhausted_and_429_are_unavailable(
    org: SalesforceServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    salesforce = adapter(org, http, outbox)
    org.fail_next("/services/data/*", status=429, headers={"Retry-After": "2"})
    assert (await salesforce.lookup(ACCOUNT)).status == "unavailable"
    org.quota_exhausted = True
    exhausted = await salesforce.lookup(ACCOUNT)
    assert exhausted.status == "unavailable" and "REQUEST_LIMIT_EXCEEDED" in str(exhausted.reason)


async def test_5xx_and_network_errors_are_unavailable(
    org: SalesforceServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    org.fail_next("/services/data/*", status=503)
    assert (await adapter(org, http, outbox).lookup(ACCOUNT)).status == "unavailable"
    org.fail_next("/services/data/*", drop=True)
    dropped = await adapter(org, http, outbox).lookup(ACCOUNT)
    assert dropped.status == "unavailable" and "network" in str(dropped.reason)


async def test_not_configured_without_credentials(
    http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    salesforce = SalesforceAdapter(offline_settings(), http, outbox)
    assert not salesforce.live
    result = await salesforce.lookup(ACCOUNT)
    assert result.status == "not_configured" and outbox.messages == []
