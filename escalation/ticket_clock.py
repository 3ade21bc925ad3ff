"""The ticket's clock: when a condition-based trigger (ticket age, SLA 95 %) next comes due.

Pure and deterministic: TicketWatchWorkflow (`ticket-<id>`) imports this module (passed through
its sandbox) and sleeps until the next deadline; intake uses the same functions for the SLA
pause. Nothing here reads the clock: every function takes the instant it reasons about.

- Ticket age runs on the wall clock (P0 30 min and P1 2 h without response, P2 8 h and P3 24 h
  without resolution), as the trigger evaluation measures it.
- The SLA clock of a non-critical ticket (P2, P3) runs only inside the business hours of the
  team its route leads to (escalation/calendar.py: weekly hours, time zone, public holidays);
  a critical ticket's (P0, P1) runs around the clock, as does any ticket whose team has no
  business hours in the policy.
- A ticket waiting on the customer (status `pending`: Zendesk pending, Freshdesk Pending,
  Intercom snoozed) stops its SLA clock, whatever its priority, and the clock resumes where it
  stood when the ticket goes back to open: `sla_pending` drops the SLA deadlines while it
  holds, `sla_pending_minutes` (the SLA-clock minutes spent pending so far, measured on the
  same clock: business minutes when a calendar applies) moves them later afterwards. Ticket
  age keeps running: it measures how long the customer has waited overall.
- A deadline at or before `observed_at` was already evaluated by the intake that sent the
  facts, so only later ones count; each deadline fires once (its key is remembered).

Both pending fields default to "never pending", which computes exactly the deadlines of facts
recorded before they existed: running watches and their histories replay unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from escalation.calendar import BusinessHours, add_business_duration, business_elapsed
from escalation.vocabulary import Priority

TICKET_WATCH_WORKFLOW = "TicketWatch"
CHECK_TICKET_CLOCK = "check_ticket_clock"
SIGNAL_TICKET_CHANGED = "ticket_changed"
QUERY_WATCH_STATE = "watch_state"

CRITICAL_PRIORITIES = frozenset({Priority.P0, Priority.P1})


def watch_workflow_id(ticket_id: str) -> str:
    return f"ticket-{ticket_id}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgeWithout(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class TicketClockFacts(_Model):
    """What the watch workflow needs to know about a ticket: times and targets, no text."""

    ticket_id: str = Field(max_length=128)
    revision: int = Field(ge=0, description="Intake event number; older facts are ignored.")
    observed_at: AwareDatetime = Field(description="Ticket time at which intake evaluated.")
    created_at: AwareDatetime
    first_response_at: AwareDatetime | None = None
    resolved: bool = False
    priority: Priority
    age_minutes: float | None = Field(default=None, gt=0, description="Age threshold.")
    age_without: AgeWithout = AgeWithout.RESOLUTION
    sla_first_response_minutes: float | None = Field(default=None, gt=0)
    sla_resolution_minutes: float | None = Field(default=None, gt=0)
    sla_fraction: float = Field(default=0.95, gt=0, le=1)
    business_hours: BusinessHours | None = Field(
        default=None, description="The SLA calendar; None: the clock never pauses."
    )
    recheck_at: AwareDatetime | None = Field(
        default=None, description="When the last evaluation said a trigger would next fire."
    )
    time_scale: float = Field(default=1.0, gt=0)
    sla_pending: bool = Field(
        default=False, description="Waiting on the customer: the SLA clock stands still."
    )
    sla_pending_minutes: float = Field(
        default=0,
        ge=0,
        description="SLA-clock minutes spent pending before `observed_at` (added to the SLA "
        "deadlines).",
    )

    @property
    def critical(self) -> bool:
        return self.priority in CRITICAL_PRIORITIES

    @property
    def calendar(self) -> BusinessHours | None:
        """The calendar the SLA clock follows: none for critical tickets."""
        return None if self.critical else self.business_hours


class Deadline(_Model):
    key: str = Field(description="Identifies the deadline so that it fires once.")
    at: AwareDatetime
    label: str


class ClockCheckRequest(_Model):
    ticket_id: str
    at: AwareDatetime = Field(description="Ticket time of the check (the deadline).")
    deadline_key: str
    revision: int


class ClockCheckResult(_Model):
    action: str = Field(description="The decision's action: escalate, outage_incident, ...")
    priority: Priority | None = None
    triggers: list[str] = Field(default_factory=list, description="Active trigger kinds.")
    escalation_workflow_id: str | None = None
    escalation_started: bool = False
    next_check_at: AwareDatetime | None = None
    resolved: bool = False
    skipped: str | None = Field(default=None, description="Why nothing was evaluated.")


class WatchCheck(_Model):
    deadline_key: str
    at: AwareDatetime
    action: str
    escalation_workflow_id: str | None = None


class WatchState(_Model):
    """What the `watch_state` query answers."""

    ticket_id: str
    revision: int
    resolved: bool
    priority: Priority
    next_deadline: Deadline | None
    fired: list[str]
    checks: list[WatchCheck]


def sla_due(facts: TicketClockFacts, target_minutes: float) -> datetime:
    """When `sla_fraction` of the target has elapsed on the ticket's SLA clock (the minutes
    spent pending do not count, so they push the deadline later on the same clock)."""
    budget = timedelta(minutes=target_minutes * facts.sla_fraction + facts.sla_pending_minutes)
    calendar = facts.calendar
    if calendar is None:
        return facts.created_at + budget
    return add_business_duration(calendar, facts.created_at, budget)


def sla_paused_minutes(
    calendar: BusinessHours | None, created_at: datetime, now: datetime
) -> float:
    """Minutes the SLA clock has stood still between creation and `now` (outside business
    hours); what `TicketContext.sla_paused_minutes` carries into the evaluation."""
    if calendar is None or now <= created_at:
        return 0.0
    wall = now - created_at
    return max(0.0, (wall - business_elapsed(calendar, created_at, now)).total_seconds() / 60)


def deadlines(facts: TicketClockFacts) -> list[Deadline]:
    """Every deadline of the ticket's clock, in time order (fired or not)."""
    if facts.resolved:
        return []
    out: list[Deadline] = []
    responded = facts.first_response_at is not None
    if facts.age_minutes is not None and (
        facts.age_without is AgeWithout.RESOLUTION or not responded
    ):
        without = (
            "first response" if facts.age_without is AgeWithout.FIRST_RESPONSE else "resolution"
        )
        out.append(
            Deadline(
                key=f"age:{facts.priority}:{facts.age_without}:{facts.age_minutes:g}",
                at=facts.created_at + timedelta(minutes=facts.age_minutes),
                label=f"{facts.priority} {facts.age_minutes:g} min without {without}",
            )
        )
    pct = f"{facts.sla_fraction:.0%}"
    if facts.sla_pending:  # the SLA clock stands still until the ticket is open again
        return _with_recheck(out, facts)
    clock = "business" if facts.calendar is not None else "24/7"
    if facts.sla_first_response_minutes and not responded:
        target = facts.sla_first_response_minutes
        out.append(
            Deadline(
                key=f"sla:first_response:{target:g}:{clock}",
                at=sla_due(facts, target),
                label=f"first response SLA {pct} of {target:g} min ({clock} clock)",
            )
        )
    if facts.sla_resolution_minutes:
        target = facts.sla_resolution_minutes
        out.append(
            Deadline(
                key=f"sla:resolution:{target:g}:{clock}",
                at=sla_due(facts, target),
                label=f"resolution SLA {pct} of {target:g} min ({clock} clock)",
            )
        )
    return _with_recheck(out, facts)


def _with_recheck(out: list[Deadline], facts: TicketClockFacts) -> list[Deadline]:
    if facts.recheck_at is not None:
        out.append(
            Deadline(
                key=f"recheck:{facts.recheck_at.isoformat()}",
                at=facts.recheck_at,
                label="re-evaluate: a trigger comes due",
            )
        )
    return sorted(out, key=lambda d: (d.at, d.key))


def pending_intervals(
    marks: Sequence[tuple[datetime, bool]], until: datetime
) -> list[tuple[datetime, datetime]]:
    """The spans during which the ticket was pending, from its status marks (when each event
    arrived, whether it said pending), oldest first; a pause still open ends at `until`."""
    spans: list[tuple[datetime, datetime]] = []
    since: datetime | None = None
    for at, pending in sorted(marks, key=lambda m: m[0]):
        if at > until:
            break
        if pending and since is None:
            since = at
        elif not pending and since is not None:
            spans.append((since, at))
            since = None
    if since is not None and until > since:
        spans.append((since, until))
    return spans


def sla_pending_minutes(
    calendar: BusinessHours | None, marks: Sequence[tuple[datetime, bool]], until: datetime
) -> float:
    """SLA-clock minutes the ticket spent pending up to `until`: business minutes when the
    clock follows a calendar (a pause overnight costs nothing extra), wall minutes otherwise."""
    total = timedelta(0)
    for start, end in pending_intervals(marks, until):
        total += end - start if calendar is None else business_elapsed(calendar, start, end)
    return total.total_seconds() / 60


def next_deadline(
    facts: TicketClockFacts,
    fired: set[str] | frozenset[str],
    checked_until: datetime | None = None,
) -> Deadline | None:
    """The earliest deadline that has not fired yet and lies after both `observed_at` and the
    last check (an evaluation at a time covers everything due by then)."""
    after = facts.observed_at if checked_until is None else max(facts.observed_at, checked_until)
    return next((d for d in deadlines(facts) if d.at > after and d.key not in fired), None)


class TicketWatchAnchor(_Model):
    """Maps workflow time to ticket time: with `time_scale` 0.01 a ticket hour passes in 36 s."""

    ticket_time: AwareDatetime
    workflow_time: AwareDatetime
    time_scale: float = Field(gt=0)

    def ticket_now(self, workflow_now: datetime) -> datetime:
        return self.ticket_time + (workflow_now - self.workflow_time) / self.time_scale

    def wait_for(self, workflow_now: datetime, due: datetime) -> timedelta:
        """Workflow time to wait until the ticket clock reaches `due` (zero if past)."""
        remaining = (due - self.ticket_now(workflow_now)) * self.time_scale
        return max(timedelta(0), remaining)
