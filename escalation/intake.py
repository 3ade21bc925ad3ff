"""Intake glue between the store, the trigger evaluation and the workflows; pure.

- the `triggers:` section of the organisation policy as a TriggerPolicy;
- the SLA calendar of a ticket (business hours of the first team of its route);
- event keys (idempotency), message keys (sentiment history), incident escalation ids;
- what the escalation and the watch workflow are started with, derived from a decision.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from escalation.calendar import BusinessHours
from escalation.models import EscalationInput
from escalation.policy import Policy
from escalation.ticket_clock import AgeWithout, TicketClockFacts
from escalation.triggers import (
    DecisionAction,
    TicketEvent,
    TriggerDecision,
    TriggerKind,
    TriggerPolicy,
)
from escalation.triggers.event import TICKET_ID_PATTERN, TextSource
from escalation.triggers.policy import AgeMeasure
from escalation.triggers.sentiment import SentimentScorer
from escalation.vocabulary import Priority, RouteKey

MAX_TICKET_AGE = timedelta(days=3650)
"""Older creation times are refused at intake: calendars and windows stay bounded (and
datetime arithmetic near year 1 or 9999 cannot overflow)."""
MAX_CLOCK_SKEW = timedelta(days=1)
"""How far in the future a ticket system's clock may run ahead of ours."""

DEFAULT_ROUTE = RouteKey.TECHNICAL
"""The route whose first team's calendar runs the SLA clock of a ticket not yet evaluated."""

MAX_SENTIMENT_HISTORY = 200


def load_trigger_policy(policy: Policy) -> TriggerPolicy:
    """The organisation policy's `triggers:` section (defaults for everything left out)."""
    return TriggerPolicy.model_validate(policy.triggers or {})


def route_team(policy: Policy, route: RouteKey) -> str | None:
    found = policy.routes.get(route)
    return found.chain[0] if found is not None and found.chain else None


def sla_calendar(policy: Policy, route: RouteKey | str | None) -> BusinessHours | None:
    """Business hours of the first team of the route (None: the SLA clock never pauses)."""
    key = RouteKey(route) if route else DEFAULT_ROUTE
    team_id = route_team(policy, key)
    if team_id is None:
        return None
    team = next((t for t in policy.teams if t.id == team_id), None)
    return team.business_hours if team is not None else None


def implausible_times(event: TicketEvent, now: datetime) -> list[tuple[str, str]]:
    """(field, problem) for every time of the event outside [now - 10 years, now + 1 day]."""
    earliest, latest = now - MAX_TICKET_AGE, now + MAX_CLOCK_SKEW
    stamps: list[tuple[str, datetime | None]] = [
        ("created_at", event.created_at),
        ("first_response_at", event.first_response_at),
        *((f"comments.{i}.created_at", c.created_at) for i, c in enumerate(event.comments)),
    ]
    problems = []
    for where, at in stamps:
        if at is None:
            continue
        if at < earliest:
            problems.append((where, f"{at.isoformat()} is more than 10 years ago"))
        elif at > latest:
            problems.append((where, f"{at.isoformat()} is in the future"))
    return problems


def without_nul(event: TicketEvent) -> TicketEvent:
    """The event with NUL characters removed from every text (PostgreSQL text cannot hold
    them; help desks occasionally pass one through from a pasted log)."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("\x00", "")
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    if "\\u0000" not in event.model_dump_json():
        return event
    return TicketEvent.model_validate(clean(event.model_dump()))


# --------------------------------------------------------------------------- keys


def content_event_key(event: TicketEvent) -> str:
    """Idempotency key of an event that carries no event id: the hash of its content."""
    canonical = json.dumps(event.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def body_event_key(body: bytes) -> str:
    """Idempotency key of a webhook whose vendor sends no event id: a replay is byte-equal."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def message_key(message: TextSource, event: TicketEvent) -> str:
    """Stable identity of a customer message across events (comment id when there is one)."""
    if message.where.startswith("comments["):
        index = int(message.where[len("comments[") : -1])
        comment = event.comments[index]
        if comment.comment_id:
            return f"c:{comment.comment_id}"
    digest = hashlib.sha1(
        f"{message.at.isoformat()}|{message.text[:500]}".encode(), usedforsecurity=False
    ).hexdigest()[:16]
    return ("o:" if message.where == "subject+description" else "m:") + digest


_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]+")
_TICKET_ID = re.compile(TICKET_ID_PATTERN)


def incident_ticket_id(incident_key: str) -> str:
    """The escalation ticket id of an outage incident (`escalation-<it>` is its workflow id):
    the incident key made safe for ticket ids, e.g. `outage:login:ZD-1001`."""
    safe = _UNSAFE.sub("-", incident_key).strip("-.:_") or "outage"
    if len(safe) > 120:
        digest = hashlib.sha1(incident_key.encode(), usedforsecurity=False).hexdigest()[:10]
        safe = f"{safe[:109]}-{digest}"
    if not _TICKET_ID.match(safe):
        safe = "outage-" + safe
    return safe


# --------------------------------------------------------------------------- sentiment


class CachingScorer:
    """Scores each distinct text once per evaluation (the evaluation and the sentiment
    history both need the customer's messages scored)."""

    def __init__(self, inner: SentimentScorer, size: int = 256) -> None:
        self._inner = inner
        self._cache: OrderedDict[str, float] = OrderedDict()
        self._size = size

    def score(self, text: str) -> float:
        found = self._cache.get(text)
        if found is None:
            found = self._inner.score(text)
            self._cache[text] = found
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return found


def prior_sentiments(stored: Sequence[Mapping[str, Any]], keys: Iterable[str]) -> list[float]:
    """Scores of earlier customer messages the event does not carry, oldest first."""
    present = set(keys)
    earlier = [s for s in stored if s.get("key") not in present]
    earlier.sort(key=lambda s: str(s.get("at", "")))
    return [max(-1.0, min(1.0, float(s["score"]))) for s in earlier]


def updated_sentiments(
    stored: Sequence[Mapping[str, Any]], event: TicketEvent, scorer: SentimentScorer
) -> list[dict[str, Any]]:
    """The ticket's sentiment history with this event's customer messages added."""
    by_key = {str(s["key"]): dict(s) for s in stored if "key" in s}
    for message in event.customer_messages():
        key = message_key(message, event)
        if key not in by_key:
            by_key[key] = {
                "key": key,
                "at": message.at.isoformat(),
                "score": round(scorer.score(message.text), 4),
            }
    history = sorted(by_key.values(), key=lambda s: str(s["at"]))
    return history[-MAX_SENTIMENT_HISTORY:]


def current_message_keys(event: TicketEvent) -> list[str]:
    return [message_key(m, event) for m in event.customer_messages()]


# --------------------------------------------------------------------------- workflows


def escalation_reason(decision: TriggerDecision) -> str:
    return decision.reason[:2000]


def active_trigger_names(decision: TriggerDecision) -> list[str]:
    return [t.kind.value for t in decision.active_triggers]


def escalation_input(
    event: TicketEvent,
    decision: TriggerDecision,
    *,
    time_scale: float,
    requested_by: str,
    helpdesk: str | None = None,
) -> EscalationInput:
    """The escalation of one ticket, from its decision. Fields that EscalationInput gains in
    other issues (legal hold, suspected bug, help desk) are passed when the model has them."""
    values: dict[str, Any] = {
        "ticket_id": event.ticket_id,
        "priority": decision.priority,
        "route": decision.route.route,
        "subject": event.subject[:300],
        "reason": escalation_reason(decision),
        "customer_name": event.customer.name[:200],
        "customer_tier": event.customer.tier,
        "triggers": active_trigger_names(decision),
        "requested_by": requested_by,
        "time_scale": time_scale,
    }
    optional: dict[str, Any] = {
        "legal_hold": decision.legal_hold,
        "suspected_bug": decision.route.file_bug,
        "helpdesk": helpdesk,
    }
    fields = EscalationInput.model_fields
    values.update({k: v for k, v in optional.items() if k in fields and v is not None})
    return EscalationInput.model_validate(values)


def incident_input(
    event: TicketEvent,
    decision: TriggerDecision,
    incident_ticket: str,
    *,
    time_scale: float,
) -> EscalationInput:
    """The one escalation of an outage incident: P0 (or the decision's priority), outage
    route, no single customer's text in it."""
    incident = decision.outage_incident
    assert incident is not None
    area = incident.product_area or "several areas"
    subject = (
        f"Outage suspected in {area}: {len(incident.ticket_ids)} similar tickets from "
        f"{incident.customers} customers within {incident.window_minutes:g} min"
    )
    return EscalationInput(
        ticket_id=incident_ticket,
        priority=decision.priority,
        route=RouteKey.OUTAGE,
        subject=subject[:300],
        reason=escalation_reason(decision),
        customer_name=f"{incident.customers} customers",
        customer_tier=event.customer.tier,
        triggers=active_trigger_names(decision),
        requested_by="intake",
        time_scale=time_scale,
    )


def clock_facts(
    event: TicketEvent,
    decision: TriggerDecision,
    policy: TriggerPolicy,
    calendar: BusinessHours | None,
    *,
    revision: int,
    observed_at: datetime,
    time_scale: float,
) -> TicketClockFacts:
    """What TicketWatch needs to know, from the event and its decision. The age threshold is
    the one of the decided priority without the SLA bump (the evaluation measures age against
    the ticket's own priority); `recheck_at` (the evaluation's own next check) covers any gap."""
    priority = watch_priority(decision)
    age = policy.ticket_age.for_priority(priority)
    return TicketClockFacts(
        ticket_id=event.ticket_id,
        revision=revision,
        observed_at=observed_at,
        created_at=event.created_at,
        first_response_at=event.first_response_at,
        resolved=event.resolved,
        priority=priority,
        age_minutes=age.minutes,
        age_without=AgeWithout.FIRST_RESPONSE
        if age.without is AgeMeasure.FIRST_RESPONSE
        else AgeWithout.RESOLUTION,
        sla_first_response_minutes=event.sla.first_response_minutes,
        sla_resolution_minutes=event.sla.resolution_minutes,
        sla_fraction=policy.sla_breach_imminent_fraction,
        business_hours=calendar,
        recheck_at=decision.next_check_at,
        time_scale=time_scale,
    )


def watch_priority(decision: TriggerDecision) -> Priority:
    """The decided priority before the SLA bump (ticket age is measured against it)."""
    sla = TriggerKind.SLA_BREACH_IMMINENT
    if sla not in decision.kinds():
        return decision.priority
    others = [r for r in decision.priority_reasons if r.source != sla.value]
    order = (Priority.P0, Priority.P1, Priority.P2, Priority.P3)
    return min((r.priority for r in others), key=order.index, default=decision.priority)


def acts(decision: TriggerDecision) -> bool:
    return decision.action in (DecisionAction.ESCALATE, DecisionAction.OUTAGE_INCIDENT)
