"""Fixtures of the proof tests: local vendor servers whose SMTP server remembers when each
message arrived and can be stopped and started again on the same port, a policy file with
every team open around the clock, and helpers shared by the proof modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from escalation.policy import Policy
from tests.conftest import without_business_hours
from tests.proof.servers import ProofSmtpServer
from tests.vendors.plugin import VendorServers
from tests.vendors.servers import (
    JiraServer,
    OpsgenieServer,
    PagerDutyServer,
    SlackServer,
    StatuspageServer,
    TwilioServer,
)


@pytest.fixture
def proof_vendors() -> Iterator[VendorServers]:
    """All seven local vendor servers, with the restartable, timestamping SMTP server."""
    servers = VendorServers(
        pagerduty=PagerDutyServer().start(),
        slack=SlackServer().start(),
        jira=JiraServer().start(),
        statuspage=StatuspageServer().start(),
        opsgenie=OpsgenieServer().start(),
        twilio=TwilioServer().start(),
        smtp=ProofSmtpServer().start(),
    )
    try:
        yield servers
    finally:
        for name in ("pagerduty", "slack", "jira", "statuspage", "opsgenie", "twilio", "smtp"):
            getattr(servers, name).stop()


@pytest.fixture
def open_policy(policy: Policy) -> Policy:
    """The example policy with every team open around the clock (no after-hours extras)."""
    return without_business_hours(policy)


@pytest.fixture
def open_policy_file(open_policy: Policy, tmp_path: Path) -> Path:
    """`open_policy` as a YAML file, for worker subprocesses (ESCALATION_POLICY)."""
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(open_policy.model_dump(mode="json")), encoding="utf-8")
    return path
