"""CRM lookups by the requester's email domain against the local HubSpot and Salesforce
servers: HubSpot's companies search and Salesforce's SOQL query, their request shapes, the
cache keyed by domain, errors as results, and no request for anything but a hostname; the
enricher's choice of key (activities/crm_enrichment.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from activities.adapters.cache import TtlCache
from activities.adapters.crm import CrmLookup, CrmReader
from activities.adapters.hubspot import HubSpotAdapter
from activities.adapters.salesforce import SalesforceAdapter, soql_literal
from activities.crm_enrichment import CrmEnricher
from escalation.triggers import TicketEvent
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings
from tests.vendors.servers_more import HubSpotServer, SalesforceServer

SEARCH = "/crm/v3/objects/companies/search"
QUERY = "/services/data/*/query"
INJECTIONS = [
    "globex.example' OR Name != '",
    "globex.example'OR'1'='1",
    "globex.example\\",
    "globex.example%27",
    "globex..example",
    "-globex.example",
    "globex.example/x",
    "gl\u00f6bex.example",
    "localhost",
]


@pytest.fixture
def globex_hs(hubspot_server: HubSpotServer) -> HubSpotServer:
    hubspot_server.add_company(
        "7301",
        name="Globex",
        domain="globex.example",
        customer_tier="Enterprise",
        arr="250000",
        health_score="41",
        customer_success_manager="Carol Danvers",
    )
    hubspot_server.add_company("7302", name="Initech", domain="initech.example")
    return hubspot_server


@pytest.fixture
def globex_sf(salesforce_server: SalesforceServer) -> SalesforceServer:
    salesforce_server.add_account(
        "001Dn00000GLOBEXAA",
        Name="Globex SF",
        Website="globex.example",
        Tier__c="Strategic",
        ARR__c=2_400_000,
        Health_Score__c=48.5,
        CSM__c="005Dn000001CSMAAA",
    )
    return salesforce_server


def hubspot(
    server: HubSpotServer, http: httpx.AsyncClient, cache: TtlCache[CrmLookup] | None = None
) -> HubSpotAdapter:
    return HubSpotAdapter(live_settings(hubspot=server), http, MemoryOutbox(), cache=cache)


def salesforce(server: SalesforceServer, http: httpx.AsyncClient) -> SalesforceAdapter:
    return SalesforceAdapter(live_settings(salesforce=server), http, MemoryOutbox())


async def test_hubspot_searches_companies_by_domain_with_the_by_id_properties(
    globex_hs: HubSpotServer, http: httpx.AsyncClient
) -> None:
    result = await hubspot(globex_hs, http).lookup_domain("Globex.Example")
    assert (result.status, result.lookup_key, result.account_id) == (
        "found",
        "domain",
        "globex.example",
    )
    profile = result.profile
    assert profile is not None
    assert (profile.account_id, profile.name, profile.tier, profile.arr) == (
        "7301",
        "Globex",
        "Enterprise",
        250_000.0,
    )
    assert (profile.health_score, profile.csm) == (41.0, "Carol Danvers")
    request = globex_hs.last_request(SEARCH)
    assert request.method == "POST"
    assert request.json == {
        "filterGroups": [
            {"filters": [{"propertyName": "domain", "operator": "EQ", "value": "globex.example"}]}
        ],
        "properties": ["name", "customer_tier", "arr", "health_score", "customer_success_manager"],
        "limit": 1,
    }
    assert request.header("authorization") == f"Bearer {globex_hs.token}"
    assert globex_hs.schema_violations == []


async def test_hubspot_domain_results_are_cached_by_domain_apart_from_ids(
    globex_hs: HubSpotServer, http: httpx.AsyncClient
) -> None:
    cache: TtlCache[CrmLookup] = TtlCache(ttl_seconds=60)
    adapter = hubspot(globex_hs, http, cache)
    first = await adapter.lookup_domain("globex.example")
    second = await adapter.lookup_domain("globex.example")
    nobody = await adapter.lookup_domain("umbrella.example")
    nobody_again = await adapter.lookup_domain("umbrella.example")
    by_id = await adapter.lookup("7301")
    assert first.found and second.cached and second.profile == first.profile
    assert nobody.status == "not_found" and nobody_again.cached
    assert by_id.found and not by_id.cached and by_id.lookup_key == "id"
    assert len(globex_hs.requests_to(SEARCH)) == 2
    assert len(globex_hs.requests) == 3


@pytest.mark.parametrize(
    ("status", "expected", "words"),
    [(429, "unavailable", "429"), (500, "unavailable", "500"), (400, "refused", "VALIDATION")],
)
async def test_hubspot_search_errors_are_results_and_not_cached(
    globex_hs: HubSpotServer, http: httpx.AsyncClient, status: int, expected: str, words: str
) -> None:
    adapter = hubspot(globex_hs, http)
    globex_hs.fail_next(SEARCH, status=status)
    failed = await adapter.lookup_domain("globex.example")
    assert (failed.status, failed.lookup_key) == (expected, "domain")
    assert words in str(failed.reason)
    assert (await adapter.lookup_domain("globex.example")).found  # the next event asks again
    assert len(globex_hs.requests_to(SEARCH)) == 2


async def test_salesforce_queries_accounts_by_website(
    globex_sf: SalesforceServer, http: httpx.AsyncClient
) -> None:
    result = await salesforce(globex_sf, http).lookup_domain("globex.example")
    assert result.found and result.profile is not None
    profile = result.profile
    assert (profile.account_id, profile.name, profile.tier, profile.arr) == (
        "001Dn00000GLOBEXAA",
        "Globex SF",
        "Strategic",
        2_400_000.0,
    )
    request = globex_sf.last_request(QUERY)
    assert request.query["q"] == [
        "SELECT Id,Name,Tier__c,ARR__c,Health_Score__c,CSM__c FROM Account "
        "WHERE Website = 'globex.example' LIMIT 1"
    ]
    assert globex_sf.malformed_queries == [] and globex_sf.schema_violations == []
    missing = await salesforce(globex_sf, http).lookup_domain("umbrella.example")
    assert missing.status == "not_found" and missing.reason == "no Account with this Website"


async def test_salesforce_quota_and_5xx_are_unavailable(
    globex_sf: SalesforceServer, http: httpx.AsyncClient
) -> None:
    adapter = salesforce(globex_sf, http)
    globex_sf.fail_next(QUERY, status=503)
    assert (await adapter.lookup_domain("globex.example")).status == "unavailable"
    globex_sf.quota_exhausted = True
    limited = await adapter.lookup_domain("globex.example")
    assert limited.status == "unavailable" and "REQUEST_LIMIT_EXCEEDED" in str(limited.reason)


@pytest.mark.parametrize("domain", INJECTIONS)
async def test_anything_but_a_hostname_is_refused_without_a_request(
    globex_hs: HubSpotServer,
    globex_sf: SalesforceServer,
    http: httpx.AsyncClient,
    domain: str,
) -> None:
    for adapter in (hubspot(globex_hs, http), salesforce(globex_sf, http)):
        result = await adapter.lookup_domain(domain)
        assert (result.status, result.reason) == ("not_found", "not a valid hostname")
    assert globex_hs.requests == [] and globex_sf.requests == []


def test_soql_literal_escapes_quote_and_backslash() -> None:
    assert soql_literal("globex.example") == "'globex.example'"
    assert soql_literal("a'b\\c") == "'a\\'b\\\\c'"


async def test_the_local_salesforce_server_refuses_an_unescaped_quote(
    globex_sf: SalesforceServer, http: httpx.AsyncClient
) -> None:
    """The guard the adapter relies on: the server would notice an injected quote."""
    injected = "SELECT Id FROM Account WHERE Website = 'x' OR Name != '' LIMIT 1"
    answer = await http.get(
        f"{globex_sf.url}/services/data/v61.0/query",
        params={"q": injected},
        headers={"Authorization": f"Bearer {globex_sf.token}"},
    )
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "MALFORMED_QUERY"
    assert globex_sf.malformed_queries == [injected]


def event(customer_id: str, email: str | None) -> TicketEvent:
    customer: dict[str, Any] = {"customer_id": customer_id}
    if email is not None:
        customer["requester_email"] = email
    return TicketEvent.model_validate(
        {"ticket_id": "T-1", "created_at": datetime(2026, 3, 2, tzinfo=UTC), "customer": customer}
    )


async def test_enricher_asks_salesforce_then_hubspot_by_domain(
    globex_hs: HubSpotServer, salesforce_server: SalesforceServer, http: httpx.AsyncClient
) -> None:
    settings = live_settings(hubspot=globex_hs, salesforce=salesforce_server)
    readers: list[CrmReader] = [
        HubSpotAdapter(settings, http, MemoryOutbox()),
        SalesforceAdapter(settings, http, MemoryOutbox()),
    ]
    enricher = CrmEnricher(readers, timeout_seconds=2)
    enriched, crm = await enricher.enrich(event("zd-org-4711", "it@globex.example"))
    assert crm is not None
    assert (crm.crm, crm.status, crm.lookup_key, crm.domain) == (
        "hubspot",
        "found",
        "domain",
        "globex.example",
    )
    assert (crm.account_id, crm.crm_account_id) == ("zd-org-4711", "7301")
    assert crm.filled == ["tier", "arr", "health_score"] and crm.csm == "Carol Danvers"
    assert enriched.customer.tier.value == "enterprise"
    # Salesforce (no Account with that Website) was asked first, by SOQL.
    assert len(salesforce_server.requests_to(QUERY)) == 1

    before = len(globex_hs.requests) + len(salesforce_server.requests)
    for email in ("jane@gmail.com", "x@mail.yahoo.com", "it@globex.example'OR'1'='1", None):
        same, crm = await enricher.enrich(event("fd-company-9", email))
        assert same.customer.tier.value == "standard"
        assert crm is not None and crm.status == "not_found" and crm.crm_account_id is None
        assert crm.lookup_key == ("id" if email is None else "domain")
    assert len(globex_hs.requests) + len(salesforce_server.requests) == before
