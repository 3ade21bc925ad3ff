"""CRM enrichment by the requester's email domain, over HTTP: the real API, a real worker, the
Temporal dev server, PostgreSQL and the local HubSpot and Salesforce servers (both configured,
so Salesforce's SOQL query is asked first, then HubSpot's companies search).

Events whose customer id is the help desk's (`zd-org-…`, `fd-company-…`) are enriched by the
requester's domain; a second event of the domain is served from the cache; free-mail and
injected domains make no request; a CRM 429 or 500 is recorded and intake still answers.
The API + worker set-up (`api_url`, `http`, `store`) is tests/integration/intake_fixtures.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from escalation.settings import Settings
from store.intake import IntakeRepository
from tests.conftest import make_settings
from tests.integration.intake_fixtures import crm_ticket_event as ticket
from tests.integration.intake_fixtures import post_ticket_event
from tests.unit.test_helpdesk_mapping import freshdesk_body
from tests.vendors.servers_more import HubSpotServer, SalesforceServer

pytestmark = pytest.mark.integration

HELPDESK = f"helpdesk-{uuid.uuid4().hex}"
AS_HELPDESK = {"authorization": f"Bearer {HELPDESK}"}
FRESHDESK_SECRET = f"fd-{uuid.uuid4().hex}"
SEARCH = "/crm/v3/objects/companies/search"
QUERY = "/services/data/*/query"


@pytest.fixture(scope="module")
def hubspot() -> Iterator[HubSpotServer]:
    with HubSpotServer(strict=True) as server:
        yield server


@pytest.fixture(scope="module")
def salesforce() -> Iterator[SalesforceServer]:
    with SalesforceServer(strict=True) as server:
        yield server


@pytest.fixture(scope="module")
def settings(
    dev_env: WorkflowEnvironment,
    database_url: str,
    hubspot: HubSpotServer,
    salesforce: SalesforceServer,
) -> Settings:
    return make_settings(
        database_url,
        f"tq-crm-domain-{uuid.uuid4().hex[:8]}",
        temporal_address=dev_env.client.service_client.config.target_host,
        escalation_api_keys=f"hd:ticket-system:{HELPDESK}",
        freshdesk_webhook_secret=FRESHDESK_SECRET,
        hubspot_api_url=hubspot.url,
        hubspot_token=hubspot.token,
        salesforce_instance_url=salesforce.url,
        salesforce_token=salesforce.token,
        crm_timeout_seconds=2.0,
    )


def hubspot_company(hubspot: HubSpotServer) -> str:
    """A new HubSpot company with every profile property set; its (unique) domain."""
    domain = f"globex-{uuid.uuid4().hex[:8]}.example"
    hubspot.add_company(
        str(uuid.uuid4().int % 10**9),
        name="Globex",
        domain=domain,
        customer_tier="Enterprise",
        arr="250,000",
        health_score="41",
        customer_success_manager="Carol Danvers",
    )
    return domain


async def post(http: httpx.AsyncClient, body: dict[str, Any]) -> Any:
    return await post_ticket_event(http, body, AS_HELPDESK)


def searches_for(hubspot: HubSpotServer, domain: str) -> int:
    return sum(
        1
        for r in hubspot.requests_to(SEARCH)
        if r.json["filterGroups"][0]["filters"][0]["value"] == domain
    )


def queries_for(salesforce: SalesforceServer, domain: str) -> int:
    return sum(1 for r in salesforce.requests_to(QUERY) if f"'{domain}'" in r.query["q"][-1])


async def test_a_help_desk_id_is_enriched_by_the_requester_domain_then_cached(
    http: httpx.AsyncClient,
    hubspot: HubSpotServer,
    salesforce: SalesforceServer,
    store: IntakeRepository,
) -> None:
    domain = hubspot_company(hubspot)
    first = await post(
        http, ticket({"customer_id": "zd-org-4711", "requester_email": f"it@{domain}"})
    )
    crm = first["crm"]
    assert (crm["crm"], crm["status"], crm["lookup_key"], crm["domain"]) == (
        "hubspot",
        "found",
        "domain",
        domain,
    )
    assert crm["account_id"] == "zd-org-4711" and crm["crm_account_id"].isdigit()
    assert crm["filled"] == ["tier", "arr", "health_score"] and crm["missing"] == []
    assert crm["csm"] == "Carol Danvers" and crm["cached"] is False
    stored = store.latest_event(first["ticket_id"])
    assert stored is not None
    customer = stored.customer
    assert (customer.tier.value, customer.arr, customer.health_score, customer.name) == (
        "enterprise",
        Decimal(250_000),
        41.0,
        "Globex",
    )
    # Salesforce was asked first (SOQL, no Account with that Website), then HubSpot.
    assert (queries_for(salesforce, domain), searches_for(hubspot, domain)) == (1, 1)

    # Another requester of the same company, another ticket: from the cache, no request.
    second = await post(
        http, ticket({"customer_id": "zd-org-4711", "requester_email": f"ops@{domain.upper()}"})
    )
    assert second["crm"]["status"] == "found" and second["crm"]["cached"] is True
    assert second["crm"]["filled"] == ["tier", "arr", "health_score"]
    assert (queries_for(salesforce, domain), searches_for(hubspot, domain)) == (1, 1)
    assert hubspot.schema_violations == [] and salesforce.malformed_queries == []


async def test_a_freshdesk_webhook_is_enriched_from_salesforce_by_website(
    http: httpx.AsyncClient, salesforce: SalesforceServer, store: IntakeRepository
) -> None:
    domain = f"initech-{uuid.uuid4().hex[:8]}.example"
    salesforce.add_account(
        f"001Dn{uuid.uuid4().hex[:13].upper()}",
        Name="Initech",
        Website=domain,
        Tier__c="Strategic",
        ARR__c=2_400_000,
        Health_Score__c=35,
        CSM__c="Peter Gibbons",
    )
    number = str(uuid.uuid4().int % 10**8)
    raw = json.dumps(
        freshdesk_body(
            ticket_id=number,
            ticket_created_at=(datetime.now(UTC) - timedelta(minutes=2)).isoformat(),
            ticket_tags="billing",
            ticket_requester_email=f"it@{domain}",
        )
    ).encode()
    answer = await http.post(
        "/v1/webhooks/freshdesk",
        content=raw,
        headers={
            "content-type": "application/json",
            "X-Freshdesk-Webhook-Secret": FRESHDESK_SECRET,
        },
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    crm = result["crm"]
    assert (crm["crm"], crm["status"], crm["lookup_key"], crm["domain"]) == (
        "salesforce",
        "found",
        "domain",
        domain,
    )
    assert crm["account_id"] == "fd-company-4100012" and crm["csm"] == "Peter Gibbons"
    assert crm["filled"] == ["tier", "arr", "health_score"]
    stored = store.latest_event(f"FD-{number}")
    assert stored is not None
    assert (stored.customer.tier.value, stored.customer.arr, stored.customer.health_score) == (
        "strategic",
        Decimal(2_400_000),
        35.0,
    )
    assert stored.customer.requester_email == f"it@{domain}"
    assert queries_for(salesforce, domain) == 1


@pytest.mark.parametrize(
    ("email", "words"),
    [
        ("jane.doe@gmail.com", "gmail.com is a free-mail domain"),
        ("boss@outlook.com", "outlook.com is a free-mail domain"),
        ("it@globex.example'OR'1'='1", "not a valid hostname"),
        ("it@globex.example\\'--", "not a valid hostname"),
    ],
)
async def test_free_mail_and_injected_domains_make_no_request(
    http: httpx.AsyncClient,
    hubspot: HubSpotServer,
    salesforce: SalesforceServer,
    email: str,
    words: str,
) -> None:
    before = len(hubspot.requests) + len(salesforce.requests)
    answer = await post(http, ticket({"customer_id": "zd-org-4711", "requester_email": email}))
    crm = answer["crm"]
    assert (crm["status"], crm["lookup_key"], crm["domain"]) == ("not_found", "domain", None)
    assert words in crm["reason"]
    assert crm["missing"] == ["tier", "arr", "health_score", "csm"]
    assert len(hubspot.requests) + len(salesforce.requests) == before
    assert salesforce.malformed_queries == []


async def test_crm_429_and_500_are_recorded_and_intake_still_answers(
    http: httpx.AsyncClient, hubspot: HubSpotServer, salesforce: SalesforceServer
) -> None:
    in_hubspot = hubspot_company(hubspot)
    customer = {"customer_id": "zd-org-5150", "requester_email": f"it@{in_hubspot}"}
    hubspot.fail_next(SEARCH, status=429)
    limited = await post(http, ticket(customer))
    assert (limited["crm"]["crm"], limited["crm"]["status"]) == ("hubspot", "unavailable")
    assert "429" in limited["crm"]["reason"] and limited["crm"]["filled"] == []
    assert limited["decision"]["ticket_id"] == limited["ticket_id"]
    # Not cached: the next event of the domain asks HubSpot again and gets the account.
    later = await post(http, ticket(customer))
    assert later["crm"]["status"] == "found" and later["crm"]["cached"] is False
    assert searches_for(hubspot, in_hubspot) == 2

    in_salesforce = f"umbrella-{uuid.uuid4().hex[:8]}.example"
    salesforce.add_account("001Dn00000UMBRELLA", Name="Umbrella", Website=in_salesforce)
    other = {"customer_id": "fd-company-77", "requester_email": f"it@{in_salesforce}"}
    salesforce.fail_next(QUERY, status=500)
    failed = await post(http, ticket(other))
    # HubSpot does not know the domain either; Salesforce's 500 is the outcome worth keeping.
    assert (failed["crm"]["crm"], failed["crm"]["status"]) == ("salesforce", "unavailable")
    assert "500" in failed["crm"]["reason"]
    again = await post(http, ticket(other))
    assert (again["crm"]["crm"], again["crm"]["status"]) == ("salesforce", "found")
    assert again["crm"]["crm_account_id"] == "001Dn00000UMBRELLA"
    assert queries_for(salesforce, in_salesforce) == 2
