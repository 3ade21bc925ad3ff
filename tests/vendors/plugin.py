"""Pytest plugin (loaded from tests/conftest.py): local vendor servers and matching Settings.

Fixtures (function scope: a fresh server per test, stopped afterwards):
`pagerduty_server`, `slack_server`, `jira_server`, `statuspage_server`, `opsgenie_server`,
`twilio_server`, `smtp_server`, and `vendor_servers` (all seven at once, as `VendorServers`).

Settings helpers (plain functions, importable from here):

* `live_settings(pagerduty=..., slack=..., ..., smtp=..., **overrides)`: every vendor given is
  pointed at its server with the server's fake credentials (so its adapter is live); every
  vendor not given has no credentials (outbox) and a loopback URL that refuses connections,
  so no test can reach the internet. Environment variables never leak in.
* `offline_settings(**overrides)`: no vendor live.

Issue-8 servers (tests/vendors/servers_more.py), function scope as well: `zendesk_server`,
`freshdesk_server`, `intercom_server`, `teams_server`, `linear_server`, `github_server`,
`hubspot_server`, `salesforce_server`, and `more_vendor_servers` (all eight, as
`MoreVendorServers`; kept apart from `vendor_servers` so tests of the first seven do not start
them). `live_settings` takes them as keywords too (`zendesk=` also makes Zendesk Guide live).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from escalation.settings import Settings
from tests.vendors.servers import (
    JiraServer,
    OpsgenieServer,
    PagerDutyServer,
    SlackServer,
    SmtpServer,
    StatuspageServer,
    TwilioServer,
)
from tests.vendors.servers_more import (
    FreshdeskServer,
    GitHubServer,
    HubSpotServer,
    IntercomServer,
    LinearServer,
    SalesforceServer,
    TeamsServer,
    ZendeskServer,
)

# Port 9 (discard) on loopback: nothing listens there, so a stray call fails fast, locally.
UNREACHABLE = "http://127.0.0.1:9"


def offline_settings(**overrides: Any) -> Settings:
    """Settings with every vendor adapter in outbox mode and every URL on loopback."""
    values: dict[str, Any] = {
        "pagerduty_events_url": UNREACHABLE,
        "pagerduty_routing_key": None,
        "pagerduty_webhook_secret": None,
        "opsgenie_api_url": UNREACHABLE,
        "opsgenie_api_key": None,
        "slack_api_url": f"{UNREACHABLE}/api",
        "slack_bot_token": None,
        "slack_signing_secret": None,
        "jira_base_url": None,
        "jira_email": None,
        "jira_api_token": None,
        "jira_project_key": "OPS",
        "twilio_api_url": UNREACHABLE,
        "twilio_account_sid": None,
        "twilio_auth_token": None,
        "twilio_from_number": None,
        "statuspage_api_url": f"{UNREACHABLE}/v1",
        "statuspage_api_key": None,
        "statuspage_page_id": None,
        "zendesk_base_url": None,
        "zendesk_email": None,
        "zendesk_api_token": None,
        "zendesk_webhook_secret": None,
        "intercom_access_token": None,
        "intercom_client_secret": None,
        "freshdesk_api_key": None,
        "freshdesk_webhook_secret": None,
        "zendesk_guide_section_id": None,
        "zendesk_guide_permission_group_id": None,
        "freshdesk_base_url": None,
        "intercom_api_url": UNREACHABLE,
        "intercom_admin_id": None,
        "teams_webhook_url": None,
        "linear_api_url": f"{UNREACHABLE}/graphql",
        "linear_api_key": None,
        "linear_team_id": None,
        "github_api_url": UNREACHABLE,
        "github_token": None,
        "github_repository": None,
        "hubspot_api_url": UNREACHABLE,
        "hubspot_token": None,
        "salesforce_instance_url": None,
        "salesforce_token": None,
        "crm_timeout_seconds": 2.0,
        "crm_cache_ttl_seconds": 300.0,
        "escalation_bridge_url_template": None,
        "smtp_host": None,
        "smtp_port": 9,
        "smtp_username": None,
        "smtp_password": None,
        "smtp_from": "escalations@example.com",
    }
    values.update(overrides)
    return Settings(**values)


def live_settings(
    *,
    pagerduty: PagerDutyServer | None = None,
    slack: SlackServer | None = None,
    jira: JiraServer | None = None,
    statuspage: StatuspageServer | None = None,
    opsgenie: OpsgenieServer | None = None,
    twilio: TwilioServer | None = None,
    smtp: SmtpServer | None = None,
    zendesk: ZendeskServer | None = None,
    freshdesk: FreshdeskServer | None = None,
    intercom: IntercomServer | None = None,
    teams: TeamsServer | None = None,
    linear: LinearServer | None = None,
    github: GitHubServer | None = None,
    hubspot: HubSpotServer | None = None,
    salesforce: SalesforceServer | None = None,
    **overrides: Any,
) -> Settings:
    """Settings whose adapters for the given (running) servers are live against them."""
    values: dict[str, Any] = {}
    if zendesk is not None:
        values.update(
            zendesk_base_url=zendesk.url,
            zendesk_email=zendesk.email,
            zendesk_api_token=zendesk.api_token,
            zendesk_webhook_secret="zendesk-test-webhook-secret",
            zendesk_guide_section_id=next(iter(sorted(zendesk.sections))),
            zendesk_guide_permission_group_id=7001,
        )
    if freshdesk is not None:
        values.update(freshdesk_base_url=freshdesk.url, freshdesk_api_key=freshdesk.api_key)
    if intercom is not None:
        values.update(
            intercom_api_url=intercom.url,
            intercom_access_token=intercom.access_token,
            intercom_admin_id=intercom.admin_id,
        )
    if teams is not None:
        values.update(teams_webhook_url=teams.webhook_url)
    if linear is not None:
        values.update(
            linear_api_url=linear.graphql_url,
            linear_api_key=linear.api_key,
            linear_team_id=linear.team_id,
        )
    if github is not None:
        values.update(
            github_api_url=github.url,
            github_token=github.token,
            github_repository=github.repository,
        )
    if hubspot is not None:
        values.update(hubspot_api_url=hubspot.url, hubspot_token=hubspot.token)
    if salesforce is not None:
        values.update(salesforce_instance_url=salesforce.url, salesforce_token=salesforce.token)
    if pagerduty is not None:
        values.update(
            pagerduty_events_url=pagerduty.base_url,
            pagerduty_routing_key=pagerduty.routing_key,
        )
    if slack is not None:
        values.update(
            slack_api_url=slack.base_url,
            slack_bot_token=slack.token,
            slack_signing_secret="slack-test-signing-secret",
        )
    if jira is not None:
        values.update(
            jira_base_url=jira.base_url,
            jira_email=jira.email,
            jira_api_token=jira.api_token,
            jira_project_key=next(iter(jira.projects)),
        )
    if statuspage is not None:
        values.update(
            statuspage_api_url=statuspage.base_url,
            statuspage_api_key=statuspage.api_key,
            statuspage_page_id=statuspage.page_id,
        )
    if opsgenie is not None:
        values.update(opsgenie_api_url=opsgenie.base_url, opsgenie_api_key=opsgenie.api_key)
    if twilio is not None:
        values.update(
            twilio_api_url=twilio.base_url,
            twilio_account_sid=twilio.account_sid,
            twilio_auth_token=twilio.auth_token,
            twilio_from_number=twilio.from_number,
        )
    if smtp is not None:
        values.update(smtp_host=smtp.host, smtp_port=smtp.port)
        if smtp.auth is not None:
            values.update(smtp_username=smtp.auth[0], smtp_password=smtp.auth[1])
    values.update(overrides)
    return offline_settings(**values)


@dataclass(frozen=True)
class VendorServers:
    """All local vendor servers of one test."""

    pagerduty: PagerDutyServer
    slack: SlackServer
    jira: JiraServer
    statuspage: StatuspageServer
    opsgenie: OpsgenieServer
    twilio: TwilioServer
    smtp: SmtpServer

    def settings(self, **overrides: Any) -> Settings:
        """Settings with every adapter live against these servers."""
        return live_settings(
            pagerduty=self.pagerduty,
            slack=self.slack,
            jira=self.jira,
            statuspage=self.statuspage,
            opsgenie=self.opsgenie,
            twilio=self.twilio,
            smtp=self.smtp,
            **overrides,
        )

    def schema_violations(self) -> dict[str, list[str]]:
        """Violations per vendor, only for vendors that have some."""
        found = {
            name: list(getattr(self, name).schema_violations)
            for name in ("pagerduty", "slack", "jira", "statuspage", "opsgenie", "twilio", "smtp")
        }
        return {name: problems for name, problems in found.items() if problems}


@pytest.fixture
def pagerduty_server() -> Iterator[PagerDutyServer]:
    """A running PagerDutyServer (Events API v2)."""
    with PagerDutyServer() as server:
        yield server


@pytest.fixture
def slack_server() -> Iterator[SlackServer]:
    """A running SlackServer (Web API under /api)."""
    with SlackServer() as server:
        yield server


@pytest.fixture
def jira_server() -> Iterator[JiraServer]:
    """A running JiraServer (REST v3, project OPS)."""
    with JiraServer() as server:
        yield server


@pytest.fixture
def statuspage_server() -> Iterator[StatuspageServer]:
    """A running StatuspageServer (API under /v1)."""
    with StatuspageServer() as server:
        yield server


@pytest.fixture
def opsgenie_server() -> Iterator[OpsgenieServer]:
    """A running OpsgenieServer (Alert API v2)."""
    with OpsgenieServer() as server:
        yield server


@pytest.fixture
def twilio_server() -> Iterator[TwilioServer]:
    """A running TwilioServer (Messages and Calls)."""
    with TwilioServer() as server:
        yield server


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running SmtpServer (aiosmtpd) that records messages."""
    with SmtpServer() as server:
        yield server


@pytest.fixture
def vendor_servers(
    pagerduty_server: PagerDutyServer,
    slack_server: SlackServer,
    jira_server: JiraServer,
    statuspage_server: StatuspageServer,
    opsgenie_server: OpsgenieServer,
    twilio_server: TwilioServer,
    smtp_server: SmtpServer,
) -> VendorServers:
    """All seven servers; `vendor_servers.settings()` makes every adapter live on them."""
    return VendorServers(
        pagerduty=pagerduty_server,
        slack=slack_server,
        jira=jira_server,
        statuspage=statuspage_server,
        opsgenie=opsgenie_server,
        twilio=twilio_server,
        smtp=smtp_server,
    )


@dataclass(frozen=True)
class MoreVendorServers:
    """The issue-8 vendor servers of one test."""

    zendesk: ZendeskServer
    freshdesk: FreshdeskServer
    intercom: IntercomServer
    teams: TeamsServer
    linear: LinearServer
    github: GitHubServer
    hubspot: HubSpotServer
    salesforce: SalesforceServer

    names = (
        "zendesk",
        "freshdesk",
        "intercom",
        "teams",
        "linear",
        "github",
        "hubspot",
        "salesforce",
    )

    def settings(self, **overrides: Any) -> Settings:
        """Settings with every issue-8 adapter live against these servers."""
        return live_settings(**{name: getattr(self, name) for name in self.names}, **overrides)

    def schema_violations(self) -> dict[str, list[str]]:
        """Violations per vendor, only for vendors that have some."""
        found = {name: list(getattr(self, name).schema_violations) for name in self.names}
        return {name: problems for name, problems in found.items() if problems}


@pytest.fixture
def zendesk_server() -> Iterator[ZendeskServer]:
    """A running ZendeskServer (Tickets API + Help Center), ticket 4711 present."""
    with ZendeskServer() as server:
        yield server


@pytest.fixture
def freshdesk_server() -> Iterator[FreshdeskServer]:
    """A running FreshdeskServer (API v2), ticket 42 present."""
    with FreshdeskServer() as server:
        yield server


@pytest.fixture
def intercom_server() -> Iterator[IntercomServer]:
    """A running IntercomServer, conversation 215468 present."""
    with IntercomServer() as server:
        yield server


@pytest.fixture
def teams_server() -> Iterator[TeamsServer]:
    """A running TeamsServer (a Workflows webhook)."""
    with TeamsServer() as server:
        yield server


@pytest.fixture
def linear_server() -> Iterator[LinearServer]:
    """A running LinearServer (GraphQL at /graphql, team ENG)."""
    with LinearServer() as server:
        yield server


@pytest.fixture
def github_server() -> Iterator[GitHubServer]:
    """A running GitHubServer (repository acme/platform)."""
    with GitHubServer() as server:
        yield server


@pytest.fixture
def hubspot_server() -> Iterator[HubSpotServer]:
    """A running HubSpotServer (no companies until `add_company`)."""
    with HubSpotServer() as server:
        yield server


@pytest.fixture
def salesforce_server() -> Iterator[SalesforceServer]:
    """A running SalesforceServer (no accounts until `add_account`)."""
    with SalesforceServer() as server:
        yield server


@pytest.fixture
def more_vendor_servers(
    zendesk_server: ZendeskServer,
    freshdesk_server: FreshdeskServer,
    intercom_server: IntercomServer,
    teams_server: TeamsServer,
    linear_server: LinearServer,
    github_server: GitHubServer,
    hubspot_server: HubSpotServer,
    salesforce_server: SalesforceServer,
) -> MoreVendorServers:
    """All eight issue-8 servers; `.settings()` makes every issue-8 adapter live on them."""
    return MoreVendorServers(
        zendesk=zendesk_server,
        freshdesk=freshdesk_server,
        intercom=intercom_server,
        teams=teams_server,
        linear=linear_server,
        github=github_server,
        hubspot=hubspot_server,
        salesforce=salesforce_server,
    )
