"""build_adapters: one adapter per vendor, live or outbox according to the settings."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from activities.adapters.registry import Adapters, build_adapters
from activities.adapters.slack import escalation_message_blocks
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import VendorServers, offline_settings


def test_offline_settings_give_outbox_adapters(http: httpx.AsyncClient) -> None:
    adapters = build_adapters(offline_settings(), http, MemoryOutbox())
    assert adapters.live() == dict.fromkeys(
        ("pagerduty", "slack", "jira", "email", "statuspage", "opsgenie", "twilio"), False
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        adapters.slack = adapters.slack  # type: ignore[misc]
    assert [f.name for f in dataclasses.fields(Adapters)] == [
        "pagerduty",
        "slack",
        "jira",
        "email",
        "statuspage",
        "opsgenie",
        "twilio",
    ]


async def test_every_adapter_live_against_the_local_servers(
    vendor_servers: VendorServers, http: httpx.AsyncClient
) -> None:
    outbox = MemoryOutbox()
    adapters = build_adapters(vendor_servers.settings(), http, outbox)
    assert all(adapters.live().values())

    await adapters.pagerduty.trigger(
        dedup_key="e-1", summary="s", source="src", severity="error", custom_details={}
    )
    await adapters.opsgenie.create_alert(
        alias="e-1",
        message="m",
        description="d",
        priority="P2",
        responders=[{"type": "team", "name": "payments"}],
        tags=["t"],
        details={"k": "v"},
    )
    await adapters.slack.post_message(
        channel="#escalations",
        text="t",
        blocks=escalation_message_blocks(ticket_id="T-1", headline="h", body="b", state="open"),
        idempotency_key="k",
    )
    await adapters.jira.create_bug(
        escalation_key="e-1",
        summary="s",
        description="d",
        priority="High",
        labels=[],
        idempotency_key="k",
    )
    await adapters.email.send(
        to=["a@example.com"], subject="s", body="b", idempotency_key="k", escalation_id="e-1"
    )
    await adapters.statuspage.create_incident(
        name="n", body="b", impact="minor", component_ids=[], metadata={}, idempotency_key="k"
    )
    await adapters.twilio.send_sms(to="+15555550199", body="b", idempotency_key="k")

    assert outbox.messages == []
    assert vendor_servers.schema_violations() == {}
    assert len(vendor_servers.smtp.messages) == 1
    assert all(
        len(server.requests) >= 1
        for server in (
            vendor_servers.pagerduty,
            vendor_servers.opsgenie,
            vendor_servers.slack,
            vendor_servers.jira,
            vendor_servers.statuspage,
            vendor_servers.twilio,
        )
    )
