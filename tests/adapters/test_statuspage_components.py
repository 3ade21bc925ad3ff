"""Statuspage component impact (issue 8), added to the existing StatuspageAdapter."""

from __future__ import annotations

import httpx
import pytest

from activities.adapters.base import PermanentVendorError, RetryableVendorError
from activities.adapters.statuspage import StatuspageAdapter
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers import StatuspageServer


def adapter(
    server: StatuspageServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> StatuspageAdapter:
    return StatuspageAdapter(live_settings(statuspage=server), http, outbox)


async def test_explicit_component_statuses(
    statuspage_server: StatuspageServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    receipt = await adapter(statuspage_server, http, outbox).create_incident(
        name="Checkout degraded",
        body="Investigating",
        impact="major",
        component_ids=["cmp-checkout", "cmp-api"],
        components={"cmp-api": "degraded_performance", "cmp-login": "operational"},
        metadata={"escalation": {"id": "escalation-T-9"}},
        idempotency_key="k",
    )
    incident = statuspage_server.last_request().json["incident"]
    assert incident["component_ids"] == ["cmp-checkout", "cmp-api", "cmp-login"]
    assert incident["components"] == {
        "cmp-checkout": "partial_outage",  # the impact's default
        "cmp-api": "degraded_performance",
        "cmp-login": "operational",
    }
    stored = statuspage_server.incidents[str(receipt.external_id)]
    assert {c["id"]: c["status"] for c in stored["components"]}["cmp-api"] == (
        "degraded_performance"
    )
    assert statuspage_server.schema_violations == []


async def test_update_components_then_resolve_back_to_operational(
    statuspage_server: StatuspageServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    page = adapter(statuspage_server, http, outbox)
    opened = await page.create_incident(
        name="n",
        body="b",
        impact="minor",
        component_ids=["cmp-checkout"],
        metadata={},
        idempotency_key="k",
    )
    incident_id = str(opened.external_id)
    await page.update_components(
        incident_id=incident_id,
        components={"cmp-checkout": "major_outage"},
        body="Now a full outage",
        idempotency_key="k2",
    )
    assert statuspage_server.incidents[incident_id]["components"][0]["status"] == "major_outage"
    await page.resolve_incident(
        incident_id=incident_id,
        body="Fixed",
        components={"cmp-checkout": "operational"},
        idempotency_key="k3",
    )
    assert statuspage_server.last_request().json == {
        "incident": {
            "status": "resolved",
            "body": "Fixed",
            "component_ids": ["cmp-checkout"],
            "components": {"cmp-checkout": "operational"},
        }
    }
    stored = statuspage_server.incidents[incident_id]
    assert stored["status"] == "resolved" and stored["components"][0]["status"] == "operational"
    assert statuspage_server.schema_violations == []


async def test_invalid_component_status_is_refused_locally(
    statuspage_server: StatuspageServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    page = adapter(statuspage_server, http, outbox)
    with pytest.raises(PermanentVendorError):
        await page.update_components(
            incident_id="x",
            components={"cmp": "broken"},  # type: ignore[dict-item]
            idempotency_key="k",
        )
    assert statuspage_server.requests == []


async def test_update_components_errors_are_classified(
    statuspage_server: StatuspageServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    page = adapter(statuspage_server, http, outbox)
    with pytest.raises(PermanentVendorError) as missing:
        await page.update_components(
            incident_id="nope", components={"c": "operational"}, idempotency_key="k"
        )
    assert missing.value.status == 404
    statuspage_server.fail_next("/pages/*/incidents/*", status=429, headers={"Retry-After": "2"})
    with pytest.raises(RetryableVendorError) as limited:
        await page.update_components(
            incident_id="nope", components={"c": "operational"}, idempotency_key="k"
        )
    assert limited.value.retry_after == 2.0


async def test_outbox_mode(http: httpx.AsyncClient, outbox: MemoryOutbox) -> None:
    page = StatuspageAdapter(offline_settings(), http, outbox)
    await page.update_components(
        incident_id="abc", components={"cmp": "partial_outage"}, idempotency_key="k"
    )
    message = outbox.only()
    assert message.operation == "update_components"
    assert message.payload == {
        "incident": {"component_ids": ["cmp"], "components": {"cmp": "partial_outage"}}
    }
