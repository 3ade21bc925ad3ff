"""All vendor adapters of one process, built once from the settings (DESIGN.md section 7:
activities that need clients are methods of a class that receives them)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from activities.adapters.base import OutboxSink
from activities.adapters.email import EmailAdapter
from activities.adapters.jira import JiraAdapter
from activities.adapters.opsgenie import OpsgenieAdapter
from activities.adapters.pagerduty import PagerDutyAdapter
from activities.adapters.slack import SlackAdapter
from activities.adapters.statuspage import StatuspageAdapter
from activities.adapters.twilio import TwilioAdapter
from escalation.settings import Settings


@dataclass(frozen=True)
class Adapters:
    """One adapter per vendor, sharing one HTTP client and one outbox."""

    pagerduty: PagerDutyAdapter
    slack: SlackAdapter
    jira: JiraAdapter
    email: EmailAdapter
    statuspage: StatuspageAdapter
    opsgenie: OpsgenieAdapter
    twilio: TwilioAdapter

    def live(self) -> dict[str, bool]:
        """Which adapters really send (True) and which write to the outbox, by vendor."""
        return {
            "pagerduty": self.pagerduty.live,
            "slack": self.slack.live,
            "jira": self.jira.live,
            "email": self.email.live,
            "statuspage": self.statuspage.live,
            "opsgenie": self.opsgenie.live,
            "twilio": self.twilio.live,
        }


def build_adapters(settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> Adapters:
    """Build every adapter; each one is live or writes to `outbox` according to `settings`."""
    return Adapters(
        pagerduty=PagerDutyAdapter(settings, client, outbox),
        slack=SlackAdapter(settings, client, outbox),
        jira=JiraAdapter(settings, client, outbox),
        email=EmailAdapter(settings, client, outbox),
        statuspage=StatuspageAdapter(settings, client, outbox),
        opsgenie=OpsgenieAdapter(settings, client, outbox),
        twilio=TwilioAdapter(settings, client, outbox),
    )
