"""All vendor adapters of one process, built once from the settings (DESIGN.md section 7:
activities that need clients are methods of a class that receives them).

The CRM read adapters share one in-process TTL cache (`crm_cache`), created here per
`build_adapters` call unless one is passed in: there is no module-level cache."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from activities.adapters.base import OutboxSink
from activities.adapters.cache import TtlCache
from activities.adapters.crm import CrmLookup
from activities.adapters.email import EmailAdapter
from activities.adapters.freshdesk import FreshdeskAdapter
from activities.adapters.github import GitHubIssuesAdapter
from activities.adapters.hubspot import HubSpotAdapter
from activities.adapters.intercom import IntercomAdapter
from activities.adapters.jira import JiraAdapter
from activities.adapters.linear import LinearAdapter
from activities.adapters.opsgenie import OpsgenieAdapter
from activities.adapters.pagerduty import PagerDutyAdapter
from activities.adapters.salesforce import SalesforceAdapter
from activities.adapters.slack import SlackAdapter
from activities.adapters.statuspage import StatuspageAdapter
from activities.adapters.teams import TeamsAdapter
from activities.adapters.tracker import BugTracker, TrackerName
from activities.adapters.twilio import TwilioAdapter
from activities.adapters.zendesk import ZendeskAdapter
from activities.adapters.zendesk_guide import ZendeskGuideAdapter
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
    # Issue 8: help desks, Teams, CRM reads, engineering trackers, knowledge base.
    zendesk: ZendeskAdapter
    freshdesk: FreshdeskAdapter
    intercom: IntercomAdapter
    teams: TeamsAdapter
    hubspot: HubSpotAdapter
    salesforce: SalesforceAdapter
    linear: LinearAdapter
    github: GitHubIssuesAdapter
    zendesk_guide: ZendeskGuideAdapter

    def bug_tracker(self, name: TrackerName) -> BugTracker:
        """The tracker adapter a team's policy names: "jira", "linear" or "github"."""
        trackers: dict[str, BugTracker] = {
            "jira": self.jira,
            "linear": self.linear,
            "github": self.github,
        }
        if name not in trackers:
            raise ValueError(f"unknown bug tracker {name!r} (expected jira, linear or github)")
        return trackers[name]

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
            "zendesk": self.zendesk.live,
            "freshdesk": self.freshdesk.live,
            "intercom": self.intercom.live,
            "teams": self.teams.live,
            "hubspot": self.hubspot.live,
            "salesforce": self.salesforce.live,
            "linear": self.linear.live,
            "github": self.github.live,
            "zendesk_guide": self.zendesk_guide.live,
        }


def build_adapters(
    settings: Settings,
    client: httpx.AsyncClient,
    outbox: OutboxSink,
    *,
    crm_cache: TtlCache[CrmLookup] | None = None,
) -> Adapters:
    """Build every adapter; each one is live or writes to `outbox` according to `settings`.
    The CRM adapters share `crm_cache` (a new one with CRM_CACHE_TTL_SECONDS if None)."""
    cache: TtlCache[CrmLookup] = (
        crm_cache if crm_cache is not None else TtlCache(ttl_seconds=settings.crm_cache_ttl_seconds)
    )
    return Adapters(
        pagerduty=PagerDutyAdapter(settings, client, outbox),
        slack=SlackAdapter(settings, client, outbox),
        jira=JiraAdapter(settings, client, outbox),
        email=EmailAdapter(settings, client, outbox),
        statuspage=StatuspageAdapter(settings, client, outbox),
        opsgenie=OpsgenieAdapter(settings, client, outbox),
        twilio=TwilioAdapter(settings, client, outbox),
        zendesk=ZendeskAdapter(settings, client, outbox),
        freshdesk=FreshdeskAdapter(settings, client, outbox),
        intercom=IntercomAdapter(settings, client, outbox),
        teams=TeamsAdapter(settings, client, outbox),
        hubspot=HubSpotAdapter(settings, client, outbox, cache=cache),
        salesforce=SalesforceAdapter(settings, client, outbox, cache=cache),
        linear=LinearAdapter(settings, client, outbox),
        github=GitHubIssuesAdapter(settings, client, outbox),
        zendesk_guide=ZendeskGuideAdapter(settings, client, outbox),
    )
