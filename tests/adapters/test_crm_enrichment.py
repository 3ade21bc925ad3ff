"""CrmEnricher (activities/crm_enrichment.py) against the local HubSpot and Salesforce servers:
no CRM configured changes nothing; a `salesforce:`/`hubspot:` prefix picks the CRM; without
one Salesforce is asked first, then HubSpot."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from activities.adapters.crm import CrmReader
from activities.adapters.hubspot import HubSpotAdapter
from activities.adapters.salesforce import SalesforceAdapter
from activities.crm_enrichment import CrmEnricher, build_crm_enricher
from escalation.triggers import TicketEvent
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers_more import HubSpotServer, SalesforceServer


def event(customer_id: str) -> TicketEvent:
    return TicketEvent.model_validate(
        {
            "ticket_id": "T-1",
            "created_at": datetime(2026, 3, 2, tzinfo=UTC),
            "customer": {"customer_id": customer_id},
        }
    )


async def test_no_crm_configured_changes_nothing(http: httpx.AsyncClient) -> None:
    settings = offline_settings()
    assert build_crm_enricher(settings) is None
    readers: list[CrmReader] = [HubSpotAdapter(settings, http, MemoryOutbox())]
    original = event("9001")
    assert await CrmEnricher(readers, timeout_seconds=1).enrich(original) == (original, None)


async def test_prefix_picks_the_crm_and_salesforce_is_asked_first(
    http: httpx.AsyncClient,
    hubspot_server: HubSpotServer,
    salesforce_server: SalesforceServer,
) -> None:
    hubspot_server.add_company("9001", name="Globex", customer_tier="Strategic")
    salesforce_server.add_account("001Ax00000GlobexAA", Name="Globex SF", Tier__c="Enterprise")
    settings = live_settings(hubspot=hubspot_server, salesforce=salesforce_server)
    outbox = MemoryOutbox()
    enricher = CrmEnricher(
        [HubSpotAdapter(settings, http, outbox), SalesforceAdapter(settings, http, outbox)],
        timeout_seconds=2,
    )
    by_prefix, crm = await enricher.enrich(event("hubspot:9001"))
    assert crm is not None and (crm.crm, crm.account_id, crm.status) == ("hubspot", "9001", "found")
    assert by_prefix.customer.tier.value == "strategic"
    assert salesforce_server.requests == []

    # No prefix: Salesforce first (it finds the 18-character id), HubSpot never asked.
    before = len(hubspot_server.requests)
    sf, crm = await enricher.enrich(event("001Ax00000GlobexAA"))
    assert crm is not None and crm.crm == "salesforce" and crm.filled == ["tier"]
    assert sf.customer.tier.value == "enterprise" and sf.customer.name == "Globex SF"
    assert len(hubspot_server.requests) == before

    # A digits-only id is not Salesforce's: it falls through to HubSpot.
    _, crm = await enricher.enrich(event("9001"))
    assert crm is not None and crm.crm == "hubspot" and crm.cached is True
    assert outbox.messages == []
