"""What an escalation must have sent, computed from the policy (not from what the service
recorded), and what the local vendor servers actually received.

A *unit* is one notification with its own idempotency key: a PagerDuty page (dedup_key), a
Slack post (channel + ticket), an email (Message-ID, derived from the idempotency key), a
status page incident or Jira bug (one per escalation), a call or SMS (ticket + number), a war
room (channel created for the ticket). `Observed` counts, per unit:

* **wire**: how many times the vendor accepted the call (a retry after a lost answer counts);
* **vendor**: how many distinct things the vendor ended up with (PagerDuty alerts per
  dedup_key, incidents per escalation, issues per label, emails per Message-ID, Slack
  messages, calls, SMS, war-room channels including `-2` suffixed ones).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from activities.adapters.email import make_message_id
from activities.adapters.jira import escalation_label
from activities.delivery import war_room_name
from escalation.models import EscalationPlan, PlannedAction, PlannedStep, PlanRequest
from escalation.oncall import resolve_oncall
from escalation.planning import build_plan, restaff_step
from escalation.policy import ActionKind, Policy
from tests.vendors.plugin import VendorServers

Unit = tuple[str, ...]

INTERNAL = {
    ActionKind.IN_APP,
    ActionKind.QUEUE,
    ActionKind.OWNERSHIP_CHANGE,
    ActionKind.REASSIGN,
}


def plan_for(policy: Policy, request: PlanRequest) -> EscalationPlan:
    return build_plan(policy, request)


def staffed_step(
    policy: Policy, plan: EscalationPlan, step: PlannedStep, at: datetime
) -> PlannedStep:
    """The step as it is staffed when it runs (on-call from the schedules at `at`)."""
    oncall = resolve_oncall(policy, plan.team, at)
    staffed, _ = restaff_step(policy, plan.team, step, oncall.primary, oncall.secondary)
    return staffed


def action_units(
    *,
    escalation_key: str,
    ticket_id: str,
    step_index: int,
    action_index: int,
    action: PlannedAction,
    smtp_from: str,
    primary_oncall: str | None = None,
) -> list[Unit]:
    """The vendor units one planned action produces when every vendor answers (generation 0).

    `escalation_key` is the workflow's key with its generation (`escalation-<t>.<run8>.g0`)."""
    key = f"{escalation_key}:s{step_index}:a{action_index}:{action.kind.value}"
    kind = action.kind
    units: list[Unit] = []
    if kind is ActionKind.PAGE:
        for person in action.recipients:
            target = person.person_id or person.name
            units.append(("pagerduty", f"{escalation_key}:s{step_index}:{target}"))
    elif kind is ActionKind.SLACK:
        channel = (action.channel or "#escalations").lstrip("#")
        units.append(("slack", channel, ticket_id))
    elif kind in (ActionKind.EMAIL, ActionKind.EXECUTIVE_NOTIFICATION):
        if any(r.email for r in action.recipients):
            target = ",".join(r.person_id or r.name for r in action.recipients)
            units.append(("email", make_message_id(f"{key}:email:{target}", smtp_from)))
    elif kind is ActionKind.CUSTOMER_COMMUNICATION:
        if action.recipients:
            units.append(("email", make_message_id(f"{key}:email:customer", smtp_from)))
    elif kind is ActionKind.STATUS_PAGE:
        units.append(("statuspage", escalation_key))
    elif kind is ActionKind.WAR_ROOM:
        name = war_room_name(ticket_id)
        units.append(("war_room", name))
        if any(r.slack_user_id for r in action.recipients):
            units.append(("war_room_invite", name))
        units.append(("slack", name, ticket_id))
    elif kind is ActionKind.PHONE:
        for person in action.recipients:
            if person.phone:
                units.append(("call", ticket_id, person.phone))
            elif person.email:
                target = person.person_id or person.name
                units.append(("email", make_message_id(f"{key}:email:{target}", smtp_from)))
    elif kind is ActionKind.SMS:
        for person in action.recipients:
            if person.phone:
                units.append(("sms", ticket_id, person.phone))
    elif kind is ActionKind.FILE_BUG:
        units.append(("jira", escalation_label(escalation_key)))
    elif kind is ActionKind.REASSIGN:
        if any(r.person_id != primary_oncall for r in action.recipients):
            units.append(("internal", key))
    elif kind is ActionKind.OWNERSHIP_CHANGE:
        if action.recipients:
            units.append(("internal", key))
    elif kind in INTERNAL:
        units.append(("internal", key))
    return units


_TICKET = re.compile(r"\b(ch-[a-z0-9]+-\d{3})\b")


def ticket_in(text: str) -> str | None:
    found = _TICKET.search(text or "")
    return found.group(1) if found else None


def war_room_base(channel_name: str) -> str | None:
    """`war-room-<ticket>` for a war room channel, also for a suffixed duplicate (`-2`)."""
    ticket = ticket_in(channel_name)
    if not channel_name.startswith("war-room-") or ticket is None:
        return None
    return war_room_name(ticket)


@dataclass
class Observed:
    """Per unit: accepted calls on the wire and distinct results at the vendor."""

    wire: Counter[Unit] = field(default_factory=Counter)
    vendor: Counter[Unit] = field(default_factory=Counter)
    # per unit, the times the vendor accepted it (to explain wire duplicates)
    times: dict[Unit, list[float]] = field(default_factory=dict)

    def add(self, unit: Unit, at: float, *, wire: int = 1) -> None:
        self.wire[unit] += wire
        self.times.setdefault(unit, []).append(at)


def observe(servers: VendorServers) -> Observed:
    """What the vendor servers received, as units (only the calls that create something)."""
    seen = Observed()
    pd = servers.pagerduty
    for request in pd.requests_to("/v2/enqueue"):
        body = request.json or {}
        if body.get("event_action") == "trigger":
            seen.add(("pagerduty", str(body.get("dedup_key"))), request.received_at)
    for alert in pd.alerts:
        seen.vendor[("pagerduty", alert.dedup_key)] += 1

    slack = servers.slack
    for channel in list(slack.channels.values()):
        room = war_room_base(channel.name)
        if room is not None:
            seen.vendor[("war_room", room)] += 1
        for message in slack.messages(channel.id):
            ticket = ticket_in(str(message.get("text", "")))
            if ticket is not None:
                seen.vendor[("slack", room or channel.name, ticket)] += 1
    for request in slack.requests_to("/chat.postMessage"):
        body = request.json or {}
        ticket = ticket_in(str(body.get("text", "")))
        if ticket is None:
            continue
        channel_ref = str(body.get("channel", ""))
        found = slack.channel(channel_ref)
        name = found.name if found else channel_ref.lstrip("#")
        seen.add(("slack", war_room_base(name) or name, ticket), request.received_at)
    for request in slack.requests_to("/conversations.create"):
        name = str((request.json or {}).get("name", ""))
        seen.add(("war_room", war_room_base(name) or name), request.received_at)
    for request in slack.requests_to("/conversations.invite"):
        found = slack.channel(str((request.json or {}).get("channel", "")))
        room = war_room_base(found.name) if found else None
        if room is not None:
            seen.add(("war_room_invite", room), request.received_at)
            seen.vendor[("war_room_invite", room)] = 1

    smtp = servers.smtp
    received = getattr(smtp, "received_at", None)
    for index, message in enumerate(smtp.messages):
        message_id = message.header("Message-ID") or ""
        at = received[index] if received is not None and index < len(received) else 0.0
        seen.add(("email", message_id), at)
        seen.vendor[("email", message_id)] = 1  # one message per Message-ID for the reader

    statuspage = servers.statuspage
    for incident in list(statuspage.incidents.values()):
        escalation = (incident.get("metadata") or {}).get("escalation") or {}
        seen.vendor[("statuspage", str(escalation.get("id")))] += 1
    for request in statuspage.requests_to("/pages/*/incidents", method="POST"):
        incident = (request.json or {}).get("incident") or {}
        escalation = (incident.get("metadata") or {}).get("escalation") or {}
        seen.add(("statuspage", str(escalation.get("id"))), request.received_at)

    jira = servers.jira
    for issue in list(jira.issues.values()):
        for label in issue.labels:
            if label.startswith("esc-"):
                seen.vendor[("jira", label)] += 1
    for request in jira.requests_to("/rest/api/3/issue", method="POST"):
        labels = ((request.json or {}).get("fields") or {}).get("labels") or []
        for label in labels:
            if str(label).startswith("esc-"):
                seen.add(("jira", str(label)), request.received_at)

    twilio = servers.twilio
    for call in list(twilio.calls):
        ticket = ticket_in(str(call.get("twiml") or ""))
        if ticket:
            seen.vendor[("call", ticket, str(call.get("to")))] += 1
    for message in list(twilio.messages):
        ticket = ticket_in(str(message.get("body") or ""))
        if ticket:
            seen.vendor[("sms", ticket, str(message.get("to")))] += 1
    for request in twilio.requests_to("/2010-04-01/Accounts/*/Calls.json"):
        ticket = ticket_in(request.form_value("Twiml") or "")
        if ticket:
            seen.add(("call", ticket, request.form_value("To") or ""), request.received_at)
    for request in twilio.requests_to("/2010-04-01/Accounts/*/Messages.json"):
        ticket = ticket_in(request.form_value("Body") or "")
        if ticket:
            seen.add(("sms", ticket, request.form_value("To") or ""), request.received_at)
    return seen
