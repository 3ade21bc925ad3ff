"""Configuration: every adapter is in outbox mode when its credentials are absent, and
Settings read from a bare environment leave them all so (issue 8)."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from activities.adapters.crm import CrmLookup
from activities.adapters.registry import Adapters, build_adapters
from activities.adapters.slack import escalation_message_blocks
from escalation.settings import Settings
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import offline_settings

# Every variable that can make an adapter live (DESIGN.md section 4 plus issue 8's).
CREDENTIAL_VARIABLES = (
    "PAGERDUTY_ROUTING_KEY",
    "OPSGENIE_API_KEY",
    "SLACK_BOT_TOKEN",
    "JIRA_BASE_URL",
    "JIRA_EMAIL",
    "JIRA_API_TOKEN",
    "SMTP_HOST",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM_NUMBER",
    "STATUSPAGE_API_KEY",
    "STATUSPAGE_PAGE_ID",
    "ZENDESK_BASE_URL",
    "ZENDESK_EMAIL",
    "ZENDESK_API_TOKEN",
    "ZENDESK_GUIDE_SECTION_ID",
    "ZENDESK_GUIDE_PERMISSION_GROUP_ID",
    "FRESHDESK_BASE_URL",
    "FRESHDESK_API_KEY",
    "INTERCOM_ACCESS_TOKEN",
    "INTERCOM_ADMIN_ID",
    "TEAMS_WEBHOOK_URL",
    "LINEAR_API_KEY",
    "LINEAR_TEAM_ID",
    "GITHUB_TOKEN",
    "GITHUB_REPOSITORY",
    "HUBSPOT_TOKEN",
    "SALESFORCE_INSTANCE_URL",
    "SALESFORCE_TOKEN",
)


def test_bare_environment_makes_nothing_live(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    live = Settings().live_adapters()
    assert set(live) >= {
        "pagerduty",
        "opsgenie",
        "slack",
        "jira",
        "email",
        "sms",
        "statuspage",
        "zendesk",
        "zendesk_guide",
        "freshdesk",
        "intercom",
        "teams",
        "linear",
        "github",
        "hubspot",
        "salesforce",
    }
    assert not any(live.values()), live


def test_one_credential_of_a_set_is_not_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LINEAR_API_KEY", "lin_api_x")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_x")
    monkeypatch.setenv("INTERCOM_ACCESS_TOKEN", "tok")
    monkeypatch.setenv("FRESHDESK_API_KEY", "key")
    live = Settings().live_adapters()
    assert not (live["linear"] or live["github"] or live["intercom"] or live["freshdesk"])
    monkeypatch.setenv("LINEAR_TEAM_ID", "team")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/platform")
    assert Settings().live_adapters()["linear"] and Settings().live_adapters()["github"]


async def test_every_adapter_uses_the_outbox_without_credentials(
    http: httpx.AsyncClient,
) -> None:
    outbox = MemoryOutbox()
    adapters = build_adapters(offline_settings(), http, outbox)
    live = adapters.live()
    assert set(live) == {f.name for f in dataclasses.fields(Adapters)}
    assert not any(live.values()), live

    # Every writing operation of every adapter, each once: all land in the outbox and none
    # reaches the network (every URL in offline_settings refuses connections anyway).
    await adapters.pagerduty.trigger(
        dedup_key="e-1", summary="s", source="src", severity="error", custom_details={}
    )
    await adapters.opsgenie.create_alert(
        alias="e-1",
        message="m",
        description="d",
        priority="P2",
        responders=[],
        tags=[],
        details={},
    )
    await adapters.slack.post_message(
        channel="#escalations",
        text="t",
        blocks=escalation_message_blocks(ticket_id="T-1", headline="h", body="b", state="open"),
        idempotency_key="slack",
    )
    await adapters.jira.create_bug(
        escalation_key="e-1",
        summary="s",
        description="d",
        priority="High",
        labels=[],
        idempotency_key="jira",
    )
    await adapters.email.send(
        to=["a@example.com"], subject="s", body="b", idempotency_key="email", escalation_id="e-1"
    )
    await adapters.statuspage.create_incident(
        name="n",
        body="b",
        impact="minor",
        component_ids=["c"],
        metadata={},
        idempotency_key="statuspage",
    )
    await adapters.twilio.send_sms(to="+15555550199", body="b", idempotency_key="sms")
    await adapters.zendesk.add_internal_note(ticket_id=4711, body="n", idempotency_key="zd")
    await adapters.zendesk_guide.create_draft(
        title="t", markdown="# t", labels=[], idempotency_key="kb"
    )
    await adapters.freshdesk.add_private_note(ticket_id=42, text="n", idempotency_key="fd")
    await adapters.intercom.add_note(conversation_id="1", text="n", idempotency_key="ic")
    await adapters.teams.post_card(title="t", text="x", idempotency_key="teams")
    for name in ("jira", "linear", "github"):
        await adapters.bug_tracker(name).create_bug(  # type: ignore[arg-type]
            escalation_key="e-1",
            summary="s",
            description="d",
            priority="P1",
            labels=[],
            idempotency_key=f"bug-{name}",
        )

    vendors = [m.vendor for m in outbox.messages]
    assert set(vendors) == {
        "pagerduty",
        "opsgenie",
        "slack",
        "jira",
        "email",
        "statuspage",
        "twilio",
        "zendesk",
        "zendesk_guide",
        "freshdesk",
        "intercom",
        "teams",
        "linear",
        "github",
    }
    # The read adapters have nothing to write: they report that they are not configured.
    for crm in (adapters.hubspot, adapters.salesforce):
        result: CrmLookup = await crm.lookup("001Dn00000ABCDEFGH")
        assert result.status == "not_configured" and result.profile is None
    assert len(outbox.messages) == len(vendors)
