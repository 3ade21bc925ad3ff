"""StatuspageAdapter against the local Statuspage server."""

from __future__ import annotations

import httpx
import pytest

from activities.adapters.base import DeliveryReceipt, PermanentVendorError, RetryableVendorError
from activities.adapters.statuspage import StatuspageAdapter
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers import StatuspageServer


def adapter(
    server: StatuspageServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> StatuspageAdapter:
    return StatuspageAdapter(live_settings(statuspage=server), http, outbox)


async def open_incident(
    page: StatuspageAdapter, escalation: str = "escalation-T-1"
) -> DeliveryReceipt:
    return await page.create_incident(
        name="Investigating: checkout failures",
        body="We are investigating reports of a problem.",
        impact="major",
        component_ids=["cmp-checkout"],
        metadata={"escalation": {"id": escalation, "ticket": "T-1"}},
        idempotency_key=f"{escalation}:s0:statuspage",
    )


async def test_create_incident_looks_up_then_creates(
    statuspage_server: StatuspageServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    receipt = await open_incident(adapter(statuspage_server, http, outbox))

    lookup, create = statuspage_server.requests
    page = statuspage_server.page_id
    assert (lookup.method, lookup.path) == ("GET", f"/v1/pages/{page}/incidents/unresolved")
    assert (create.method, create.path) == ("POST", f"/v1/pages/{page}/incidents")
    assert create.header("authorization") == f"OAuth {statuspage_server.api_key}"
    assert create.json == {
        "incident": {
            "name": "Investigating: checkout failures",
            "status": "investigating",
            "impact_override": "major",
            "body": "We are investigating reports of a problem.",
            "deliver_notifications": True,
            "metadata": {"escalation": {"id": "escalation-T-1", "ticket": "T-1"}},
            "component_ids": ["cmp-checkout"],
            "components": {"cmp-checkout": "partial_outage"},
        }
    }
    incident = statuspage_server.incidents[str(receipt.external_id)]
    assert receipt.delivered and receipt.detail["reused"] is False
    assert receipt.detail["shortlink"] == incident["shortlink"]
    assert incident["components"][0]["status"] == "partial_outage"
    assert statuspage_server.schema_violations == []


async def test_second_create_for_the_same_escalation_reuses_the_incident(
    statuspage_server: StatuspageServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    statuspage_server.add_incident(name="Unrelated", metadata={"escalation": {"id": "other"}})
    page = adapter(statuspage_server, http, outbox)
    first = await open_incident(page)
    second = await open_incident(page)
    third = await open_incident(page, escalation="escalation-T-2")

    assert second.external_id == first.external_id and second.detail["reused"] is True
    assert third.external_id != first.external_id
    assert len(statuspage_server.incidents) == 3
    assert len(statuspage_server.requests_to("/pages/*/incidents", method="POST")) == 2


async def test_resolve_incident(
    statuspage_server: StatuspageServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    page = adapter(statuspage_server, http, outbox)
    opened = await open_incident(page)
    assert opened.external_id is not None

    resolved = await page.resolve_incident(
        incident_id=opened.external_id, body="Fixed.", idempotency_key="k"
    )

    assert resolved.external_id == opened.external_id and resolved.detail["status"] == "resolved"
    request = statuspage_server.last_request()
    assert request.method == "PATCH"
    assert request.json == {"incident": {"status": "resolved", "body": "Fixed."}}
    incident = statuspage_server.incidents[opened.external_id]
    assert incident["status"] == "resolved" and incident["resolved_at"]
    # A resolved incident is not reused: a new escalation opens a new one.
    assert (await open_incident(page)).external_id != opened.external_id
    assert statuspage_server.schema_violations == []


async def test_unknown_incident_is_permanent(
    statuspage_server: StatuspageServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    with pytest.raises(PermanentVendorError) as caught:
        await adapter(statuspage_server, http, outbox).resolve_incident(
            incident_id="nope", body="x", idempotency_key="k"
        )
    assert caught.value.status == 404


async def test_422_is_permanent(
    statuspage_server: StatuspageServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    statuspage_server.fail_next("/pages/*/incidents", method="POST", status=422)
    with pytest.raises(PermanentVendorError) as caught:
        await open_incident(adapter(statuspage_server, http, outbox))
    assert caught.value.status == 422


@pytest.mark.parametrize("status", [420, 429])
async def test_rate_limit_is_retryable_with_retry_after(
    status: int,
    statuspage_server: StatuspageServer,
    http: httpx.AsyncClient,
    outbox: MemoryOutbox,
) -> None:
    statuspage_server.fail_next(
        "/pages/*/incidents/unresolved", status=status, headers={"Retry-After": "2"}
    )
    with pytest.raises(RetryableVendorError) as caught:
        await open_incident(adapter(statuspage_server, http, outbox))
    assert caught.value.status == status and caught.value.retry_after == 2.0
    assert statuspage_server.incidents == {}


async def test_5xx_is_retryable(
    statuspage_server: StatuspageServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    statuspage_server.fail_next("/pages/*/incidents", method="POST", status=500)
    with pytest.raises(RetryableVendorError):
        await open_incident(adapter(statuspage_server, http, outbox))


async def test_outbox_mode_without_credentials(
    http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    page = StatuspageAdapter(offline_settings(), http, outbox)
    assert not page.live
    receipt = await open_incident(page)
    await page.resolve_incident(incident_id="abc", body="done", idempotency_key="r1")
    assert not receipt.delivered
    created, resolved = outbox.messages
    assert (created.vendor, created.operation) == ("statuspage", "create_incident")
    assert created.idempotency_key == "escalation-T-1:s0:statuspage"
    assert created.payload["incident"]["impact_override"] == "major"
    assert resolved.payload == {"incident": {"status": "resolved", "body": "done"}}
