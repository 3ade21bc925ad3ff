"""build_adapters: one adapter per vendor, live or outbox according to the settings."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from activities.adapters.cache import TtlCache
from activities.adapters.crm import CrmLookup
from activities.adapters.registry import Adapters, build_adapters
from activities.adapters.slack import escalation_message_blocks
from activities.adapters.tracker import BugTracker
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import MoreVendorServers, VendorServers, offline_settings

ISSUE_8_ADAPTERS = (
    "zendesk",
    "freshdesk",
    "intercom",
    "teams",
    "hubspot",
    "salesforce",
    "linear",
    "github",
    "zendesk_guide",
)


def test_offline_settings_give_outbox_adapters(http: httpx.AsyncClient) -> None:
    adapters = build_adapters(offline_settings(), http, MemoryOutbox())
    assert adapters.live() == dict.fromkeys(
        (
            "pagerduty",
            "slack",
            "jira",
            "email",
            "statuspage",
            "opsgenie",
            "twilio",
            *ISSUE_8_ADAPTERS,
        ),
        False,
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
        *ISSUE_8_ADAPTERS,
    ]


def test_bug_tracker_by_name(http: httpx.AsyncClient) -> None:
    adapters = build_adapters(offline_settings(), http, MemoryOutbox())
    assert adapters.bug_tracker("jira") is adapters.jira
    assert adapters.bug_tracker("linear") is adapters.linear
    assert adapters.bug_tracker("github") is adapters.github
    assert all(isinstance(adapters.bug_tracker(n), BugTracker) for n in ("jira", "linear"))
    with pytest.raises(ValueError):
        adapters.bug_tracker("trello")  # type: ignore[arg-type]


def test_crm_adapters_share_the_cache_passed_in(http: httpx.AsyncClient) -> None:
    cache: TtlCache[CrmLookup] = TtlCache(ttl_seconds=5)
    adapters = build_adapters(offline_settings(), http, MemoryOutbox(), crm_cache=cache)
    assert adapters.hubspot._cache is cache and adapters.salesforce._cache is cache
    other = build_adapters(offline_settings(), http, MemoryOutbox())
    assert other.hubspot._cache is other.salesforce._cache is not cache


async def test_every_adapter_live_against_the_local_servers(
    vendor_servers: VendorServers, http: httpx.AsyncClient
) -> None:
    outbox = MemoryOutbox()
    adapters = build_adapters(vendor_servers.settings(), http, outbox)
    live = adapters.live()
    assert all(live[name] for name in live if name not in ISSUE_8_ADAPTERS)

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


async def test_every_issue_8_adapter_live_against_the_local_servers(
    more_vendor_servers: MoreVendorServers, http: httpx.AsyncClient
) -> None:
    servers = more_vendor_servers
    servers.hubspot.add_company("9001", name="Globex", customer_tier="enterprise")
    servers.salesforce.add_account("001Dn00000ABCDEFGH", Name="Globex", Tier__c="strategic")
    outbox = MemoryOutbox()
    adapters = build_adapters(servers.settings(), http, outbox)
    assert all(adapters.live()[name] for name in ISSUE_8_ADAPTERS)

    await adapters.zendesk.add_internal_note(ticket_id=4711, body="n", idempotency_key="k")
    await adapters.zendesk_guide.create_draft(
        title="t", markdown="# t", labels=["kb"], idempotency_key="k"
    )
    await adapters.freshdesk.update_ticket(ticket_id=42, priority="P0", idempotency_key="k")
    await adapters.intercom.add_note(conversation_id="215468", text="n", idempotency_key="k")
    await adapters.teams.post_card(title="t", text="x", idempotency_key="k")
    for name in ("linear", "github"):
        receipt = await adapters.bug_tracker(name).create_bug(  # type: ignore[arg-type]
            escalation_key="e-1",
            summary="s",
            description="d",
            priority="P1",
            labels=["escalation"],
            idempotency_key="e-1:s0:bug",
        )
        assert receipt.delivered and receipt.detail["created"] is True
    assert (await adapters.hubspot.lookup("9001")).found
    assert (await adapters.salesforce.lookup("001Dn00000ABCDEFGH")).found

    assert outbox.messages == []
    assert servers.schema_violations() == {}
    assert all(len(getattr(servers, name).requests) >= 1 for name in servers.names)
