"""What responders do in their own tools, parsed: Slack button clicks and PagerDuty webhooks v3.

Pure: the API verifies signatures on the raw body (escalation/webhook_signatures.py), then
hands the same bytes here. Nothing here does I/O; every parser raises `ValueError` with a
message fit for a 400 answer, or returns None when the request is valid but not for us.

Correlation with what we sent: Slack buttons carry the ticket id as their value
(activities/adapters/slack.py); PagerDuty incidents carry our `dedup_key`
(`escalation-<ticket>.<run8>.g<generation>:s<step>:<target>`, activities/delivery.py), which
PagerDuty reports back as `incident_key`, so `parse_dedup_key` recovers the ticket and run.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from escalation.models import TICKET_ID_PATTERN
from escalation.policy import Policy

__all__ = [
    "SLACK_ACTIONS",
    "DedupKey",
    "PagerDutyEvent",
    "ResponderAction",
    "SlackClick",
    "pagerduty_actor",
    "parse_dedup_key",
    "parse_pagerduty_webhook",
    "parse_slack_interaction",
    "slack_actor",
]


class ResponderAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    REASSIGN = "reassign"


SLACK_ACTIONS: dict[str, ResponderAction] = {
    "escalation.ack": ResponderAction.ACKNOWLEDGE,
    "escalation.resolve": ResponderAction.RESOLVE,
    "escalation.reassign": ResponderAction.REASSIGN,
}

PAGERDUTY_ACTIONS: dict[str, ResponderAction] = {
    "incident.acknowledged": ResponderAction.ACKNOWLEDGE,
    "incident.resolved": ResponderAction.RESOLVE,
}

_TICKET = re.compile(TICKET_ID_PATTERN)


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --------------------------------------------------------------------------- Slack


class _SlackUser(_Loose):
    id: str = Field(min_length=1)
    username: str | None = None
    name: str | None = None


class _SlackAction(_Loose):
    action_id: str
    value: str | None = None


class _SlackContainer(_Loose):
    channel_id: str | None = None
    message_ts: str | None = None


class _SlackPayload(_Loose):
    type: str
    user: _SlackUser
    actions: list[_SlackAction] = Field(default_factory=list)
    response_url: str | None = None
    container: _SlackContainer | None = None


class SlackClick(BaseModel):
    """One of our buttons, pressed by a Slack user."""

    action: ResponderAction
    ticket_id: str
    user_id: str
    user_name: str | None = None
    response_url: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None


def parse_slack_interaction(body: bytes) -> SlackClick | None:
    """The button click in a Slack interactivity request (`payload=<json>` form body).

    None for a valid payload that is not a click on one of our buttons (another interaction
    type, another app's action). ValueError for a body that is not a Slack payload at all, or
    a click on our button whose value is not a ticket id."""
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError("body is not a URL-encoded form") from exc
    values = form.get("payload")
    if not values or len(values) != 1:
        raise ValueError("form field `payload` is missing")
    try:
        payload = _SlackPayload.model_validate(json.loads(values[0]))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ValueError(f"`payload` is not a Slack interaction payload: {exc}") from exc
    if payload.type != "block_actions":
        return None
    for item in payload.actions:
        action = SLACK_ACTIONS.get(item.action_id)
        if action is None:
            continue
        ticket = (item.value or "").strip()
        if not _TICKET.match(ticket):
            raise ValueError(f"button {item.action_id} carries no ticket id")
        container = payload.container or _SlackContainer()
        return SlackClick(
            action=action,
            ticket_id=ticket,
            user_id=payload.user.id,
            user_name=payload.user.username or payload.user.name,
            response_url=payload.response_url,
            channel_id=container.channel_id,
            message_ts=container.message_ts,
        )
    return None


def slack_actor(policy: Policy, user_id: str, user_name: str | None = None) -> str:
    """The policy person whose `slack_user_id` is the clicker (their person id), else
    `slack:<name or id>`, so the timeline always says who it was."""
    for person in policy.people:
        if person.slack_user_id and person.slack_user_id == user_id:
            return person.id
    return f"slack:{user_name or user_id}"[:200]


# --------------------------------------------------------------------------- PagerDuty


class _Reference(_Loose):
    id: str | None = None
    type: str | None = None
    summary: str | None = None


class _IncidentData(_Loose):
    id: str | None = None
    type: str | None = None
    incident_key: str | None = None
    status: str | None = None


class _PagerDutyInner(_Loose):
    id: str = Field(min_length=1)
    event_type: str = Field(min_length=1)
    resource_type: str | None = None
    agent: _Reference | None = None
    data: _IncidentData | None = None


class _PagerDutyBody(_Loose):
    event: _PagerDutyInner


class PagerDutyEvent(BaseModel):
    """The part of a PagerDuty v3 webhook we act on."""

    id: str
    event_type: str
    action: ResponderAction | None  # None: a type we ignore
    incident_id: str | None = None
    incident_key: str | None = None
    agent_id: str | None = None
    agent_type: str | None = None
    agent_summary: str | None = None

    @property
    def by_integration(self) -> bool:
        """The change came from an integration or service (our own Events API ack/resolve
        coming back as an echo, or an automatic action), not from a person."""
        return self.agent_type in ("integration_reference", "service_reference")


def parse_pagerduty_webhook(body: bytes) -> PagerDutyEvent:
    """ValueError when the body is not a v3 webhook (`{"event": {...}}`)."""
    try:
        parsed = _PagerDutyBody.model_validate_json(body)
    except ValidationError as exc:
        raise ValueError(f"not a PagerDuty v3 webhook body: {exc.errors()[0]['msg']}") from exc
    event = parsed.event
    data = event.data if event.data is not None and event.data.type == "incident" else None
    agent = event.agent
    return PagerDutyEvent(
        id=event.id,
        event_type=event.event_type,
        action=PAGERDUTY_ACTIONS.get(event.event_type) if data is not None else None,
        incident_id=data.id if data else None,
        incident_key=data.incident_key if data else None,
        agent_id=agent.id if agent else None,
        agent_type=agent.type if agent else None,
        agent_summary=agent.summary if agent else None,
    )


def pagerduty_actor(policy: Policy, event: PagerDutyEvent) -> str:
    """The policy person whose name is the PagerDuty user's name (their person id), else
    `pagerduty:<name or id>`."""
    summary = (event.agent_summary or "").strip()
    if summary:
        wanted = summary.casefold()
        for person in policy.people:
            if person.name.casefold() == wanted or person.id == summary:
                return person.id
    return f"pagerduty:{summary or event.agent_id or 'unknown'}"[:200]


# --------------------------------------------------------------------------- dedup keys


class DedupKey(BaseModel):
    """A PagerDuty `dedup_key` / Opsgenie `alias` we generated, taken apart."""

    ticket_id: str
    workflow_id: str
    run: str  # first 8 characters of the escalation's first run id
    generation: int  # bumps on reassignment
    step: int
    target: str | None  # person id (absent when the key was shortened with a hash)


_DEDUP = re.compile(
    r"^escalation-(?P<ticket>[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}?)"
    r"\.(?P<run>[0-9a-f]{8})\.g(?P<gen>\d{1,6}):s(?P<step>\d{1,4})(?::(?P<target>.*))?$"
)


def parse_dedup_key(key: str | None) -> DedupKey | None:
    """`escalation-<ticket>.<run8>.g<gen>:s<step>:<target>` -> its parts; None for a key
    that is not ours (another integration's incident)."""
    if not key or len(key) > 255:
        return None
    match = _DEDUP.match(key)
    if match is None:
        return None
    ticket = match.group("ticket")
    return DedupKey(
        ticket_id=ticket,
        workflow_id=f"escalation-{ticket}",
        run=match.group("run"),
        generation=int(match.group("gen")),
        step=int(match.group("step")),
        target=match.group("target") or None,
    )
