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
    **overrides: Any,
) -> Settings:
    """Settings whose adapters for the given (running) servers are live against them."""
    values: dict[str, Any] = {}
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
