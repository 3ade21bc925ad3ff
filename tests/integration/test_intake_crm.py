"""CRM enrichment of intake over HTTP: `POST /v1/tickets/events` against the real API, a real
worker, the Temporal dev server, PostgreSQL and the local HubSpot server (HUBSPOT_TOKEN set).

An event without tier / ARR / health score gets them from the CRM (and the CSM is named in
the response); a CRM 500 or a CRM slower than CRM_TIMEOUT_SECONDS leaves intake answering on
time with the miss recorded; a cached account makes no second request.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
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
from tests.vendors.servers_more import HubSpotServer

pytestmark = pytest.mark.integration

HELPDESK = f"helpdesk-{uuid.uuid4().hex}"
AS_HELPDESK = {"authorization": f"Bearer {HELPDESK}"}
CRM_TIMEOUT = 0.5
COMPANIES = "/crm/v3/objects/companies/*"


@pytest.fixture(scope="module")
def hubspot() -> Iterator[HubSpotServer]:
    with HubSpotServer() as server:
        yield server


@pytest.fixture(scope="module")
def settings(dev_env: WorkflowEnvironment, database_url: str, hubspot: HubSpotServer) -> Settings:
    return make_settings(
        database_url,
        f"tq-crm-{uuid.uuid4().hex[:8]}",
        temporal_address=dev_env.client.service_client.config.target_host,
        escalation_api_keys=f"hd:ticket-system:{HELPDESK}",
        hubspot_api_url=hubspot.url,
        hubspot_token=hubspot.token,
        crm_timeout_seconds=CRM_TIMEOUT,
    )


def company(hubspot: HubSpotServer) -> str:
    """A new HubSpot company with every profile property set; its id."""
    company_id = str(uuid.uuid4().int % 10**9)
    hubspot.add_company(
        company_id,
        name="Globex",
        customer_tier="Enterprise",
        arr="250,000",
        health_score="41",
        customer_success_manager="Carol Danvers",
    )
    return company_id


async def post(http: httpx.AsyncClient, body: dict[str, Any]) -> Any:
    return await post_ticket_event(http, body, AS_HELPDESK)


def requests_for(hubspot: HubSpotServer, company_id: str) -> int:
    return len(hubspot.requests_to(f"/crm/v3/objects/companies/{company_id}"))


async def test_missing_account_data_is_filled_from_the_crm_and_cached(
    http: httpx.AsyncClient, hubspot: HubSpotServer, store: IntakeRepository
) -> None:
    account = company(hubspot)
    first = await post(http, ticket({"customer_id": account}))
    assert first["crm"] == {
        "crm": "hubspot",
        "account_id": account,
        "status": "found",
        "cached": False,
        "filled": ["tier", "arr", "health_score"],
        "missing": [],
        "csm": "Carol Danvers",
        "reason": None,
        "lookup_key": "id",
        "domain": None,
        "crm_account_id": account,
    }
    stored = store.latest_event(first["ticket_id"])
    assert stored is not None
    customer = stored.customer
    assert (customer.tier.value, customer.arr, customer.health_score, customer.name) == (
        "enterprise",
        Decimal(250_000),
        41.0,
        "Globex",
    )
    assert requests_for(hubspot, account) == 1

    # Another ticket of the same account: answered from the cache, no second request.
    second = await post(http, ticket({"customer_id": account}))
    assert second["crm"]["status"] == "found" and second["crm"]["cached"] is True
    assert requests_for(hubspot, account) == 1
    # A replayed event answers the stored response: the CRM is not asked either.
    replay = await http.post(
        "/v1/tickets/events",
        json=ticket({"customer_id": account}, event_id="crm-replay"),
        headers=AS_HELPDESK,
    )
    again = await http.post(
        "/v1/tickets/events",
        json=ticket({"customer_id": account}, event_id="crm-replay"),
        headers=AS_HELPDESK,
    )
    assert replay.status_code == again.status_code == 200
    assert again.json()["duplicate"] is True and again.json()["crm"]["status"] == "found"
    assert requests_for(hubspot, account) == 1


async def test_the_ticket_systems_values_win(
    http: httpx.AsyncClient, hubspot: HubSpotServer, store: IntakeRepository
) -> None:
    account = company(hubspot)
    sent = {"customer_id": account, "name": "Acme", "tier": "strategic", "arr": "12"}
    answer = await post(http, ticket(sent))
    assert answer["crm"]["filled"] == ["health_score"]
    stored = store.latest_event(answer["ticket_id"])
    assert stored is not None
    assert (stored.customer.tier.value, stored.customer.arr, stored.customer.name) == (
        "strategic",
        Decimal(12),
        "Acme",
    )
    assert stored.customer.health_score == 41.0


async def test_crm_500_is_recorded_and_intake_still_answers(
    http: httpx.AsyncClient, hubspot: HubSpotServer, store: IntakeRepository
) -> None:
    account = company(hubspot)
    hubspot.fail_next(COMPANIES, status=500)
    answer = await post(http, ticket({"customer_id": account}))
    crm = answer["crm"]
    assert crm["status"] == "unavailable" and "500" in crm["reason"]
    assert crm["filled"] == [] and crm["missing"] == ["tier", "arr", "health_score", "csm"]
    stored = store.latest_event(answer["ticket_id"])
    assert stored is not None and stored.customer.tier.value == "standard"
    # Failures are not cached: the next event asks again and gets the data.
    later = await post(http, ticket({"customer_id": account}))
    assert later["crm"]["status"] == "found" and later["crm"]["cached"] is False
    assert requests_for(hubspot, account) == 2


async def test_slow_crm_never_holds_up_an_escalation(
    http: httpx.AsyncClient, hubspot: HubSpotServer, dev_env: WorkflowEnvironment
) -> None:
    account = company(hubspot)
    hubspot.fail_next(COMPANIES, status=None, delay=3.0)  # answers, but 6x too late
    body = ticket(
        {"customer_id": account},
        description="This is a disgrace. I want to speak to a manager right now.",
    )
    started = time.monotonic()
    answer = await post(http, body)
    elapsed = time.monotonic() - started
    assert answer["crm"]["status"] == "unavailable"
    assert answer["crm"]["reason"] == f"timeout after {CRM_TIMEOUT:g} s"
    assert elapsed < 2.5, f"intake waited {elapsed:.2f} s on the CRM"
    assert answer["action"] == "escalate" and answer["escalation"]["started"] is True
    await dev_env.client.get_workflow_handle(answer["escalation"]["workflow_id"]).terminate(
        "test over"
    )


async def test_an_id_that_is_not_the_crms_is_recorded_without_a_request(
    http: httpx.AsyncClient, hubspot: HubSpotServer
) -> None:
    before = len(hubspot.requests)
    answer = await post(http, ticket({"customer_id": "zd-org-123"}))
    assert answer["crm"]["status"] == "not_found" and answer["crm"]["crm"] == "hubspot"
    assert len(hubspot.requests) == before
