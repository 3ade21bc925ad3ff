"""Dry run: who would be notified when, and through which channel, if an escalation started
at a given instant and nobody answered.

Pure: the same domain code as a real escalation (`build_plan` freezes the plan,
`resolve_oncall` + `restaff_step` staff each step at the moment it would run, with the
schedule's overrides and time off), and the caller supplies the run-time schedule changes
(the API and the CLI read them from the store). Nothing is sent and no clock is read.

    simulate(policy, priority=Priority.P0, route=RouteKey.OUTAGE,
             start=datetime(2026, 12, 24, 22, tzinfo=UTC))

Assumptions, stated in every result: nobody acknowledges or resolves (the worst case), so
every step is shown with the condition that would skip it; delivery succeeds on the first
channel (fallbacks are not shown).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from escalation.calendar import ensure_utc, is_business_time, next_business_start
from escalation.models import PlannedAction, PlanRequest, Recipient
from escalation.oncall import resolve_oncall
from escalation.planning import build_plan, recipient, restaff_step
from escalation.policy import ActionKind, Policy, StopCondition, Target
from escalation.schedules import Override, TimeOff
from escalation.vocabulary import Priority, RouteKey

__all__ = [
    "SimulatedNotification",
    "SimulatedPerson",
    "SimulatedStep",
    "Simulation",
    "simulate",
    "simulation_window",
]

SIMULATION_TICKET = "SIMULATION"

_CHANNEL: dict[ActionKind, str] = {
    ActionKind.EMAIL: "email",
    ActionKind.EXECUTIVE_NOTIFICATION: "email",
    ActionKind.CUSTOMER_COMMUNICATION: "email",
    ActionKind.SMS: "sms",
    ActionKind.PHONE: "phone",
    ActionKind.STATUS_PAGE: "statuspage",
    ActionKind.WAR_ROOM: "slack war room",
    ActionKind.OWNERSHIP_CHANGE: "assignment",
    ActionKind.REASSIGN: "assignment",
    ActionKind.IN_APP: "in-app",
    ActionKind.QUEUE: "queue",
}

_UNLESS: dict[StopCondition, str] = {
    StopCondition.ACKNOWLEDGED: "skipped once acknowledged",
    StopCondition.PICKED_UP: "skipped once picked up",
    StopCondition.RESOLVED: "skipped once resolved",
}


class SimulatedPerson(BaseModel):
    person_id: str | None = None
    name: str
    address: str | None = Field(default=None, description="where this channel reaches them")


class SimulatedNotification(BaseModel):
    kind: ActionKind
    channel: str = Field(description="pagerduty, opsgenie, slack #channel, email, sms, phone...")
    target: str | None = None
    recipients: list[SimulatedPerson] = Field(default_factory=list)
    note: str = ""


class SimulatedStep(BaseModel):
    index: int
    label: str
    at: datetime
    offset_seconds: float
    unless: str | None = Field(default=None, description="what would skip this step")
    primary_oncall: SimulatedPerson | None = None
    primary_source: str = "none"
    secondary_oncall: SimulatedPerson | None = None
    secondary_source: str = "none"
    oncall_reason: str = ""
    business_hours_open: bool | None = Field(
        default=None, description="None when the team has no business hours"
    )
    next_business_start: datetime | None = None
    notifications: list[SimulatedNotification]
    warnings: list[str] = Field(default_factory=list)


class Simulation(BaseModel):
    priority: Priority
    route: RouteKey
    team: str
    team_name: str
    chain: list[str]
    start: datetime
    paging_provider: str
    steps: list[SimulatedStep]
    assumptions: list[str]


def simulation_window(
    policy: Policy,
    *,
    priority: Priority,
    route: RouteKey,
    start: datetime,
    team: str | None = None,
) -> tuple[str, datetime, datetime]:
    """(team, first instant, last instant) a simulation looks at: what to read run-time
    schedule changes for. Raises PlanError for an unknown route or team."""
    plan = build_plan(
        policy,
        PlanRequest(ticket_id=SIMULATION_TICKET, priority=priority, route=route, team=team),
    )
    start = ensure_utc(start, "start")
    last = max(step.at_seconds for step in plan.steps)
    return plan.team, start, start + timedelta(seconds=last)


def _person(person: Recipient, kind: ActionKind | None) -> SimulatedPerson:
    address: str | None
    if kind in (ActionKind.SMS, ActionKind.PHONE):
        address = person.phone
    elif kind is ActionKind.SLACK or kind is ActionKind.WAR_ROOM:
        address = f"<@{person.slack_user_id}>" if person.slack_user_id else None
    elif kind is ActionKind.PAGE:
        address = person.email
    else:
        address = person.email
    return SimulatedPerson(person_id=person.person_id, name=person.name, address=address)


def _channel(action: PlannedAction, paging_provider: str) -> str:
    if action.kind is ActionKind.PAGE:
        return paging_provider
    if action.kind is ActionKind.SLACK:
        return f"slack {action.channel or '#escalations'}"
    if action.kind is ActionKind.FILE_BUG:
        return "tracker"
    return _CHANNEL.get(action.kind, action.kind.value)


def _notification(action: PlannedAction, paging_provider: str) -> SimulatedNotification:
    return SimulatedNotification(
        kind=action.kind,
        channel=_channel(action, paging_provider),
        target=action.target.value if action.target is not None else None,
        recipients=[_person(r, action.kind) for r in action.recipients],
        note=action.note,
    )


def simulate(
    policy: Policy,
    *,
    priority: Priority,
    route: RouteKey,
    start: datetime,
    team: str | None = None,
    overrides: Sequence[Override] = (),
    time_off: Sequence[TimeOff] = (),
    suspected_bug: bool = False,
) -> Simulation:
    """The timeline of an escalation started at `start` that nobody answers.

    `overrides` and `time_off` are the run-time schedule changes of the team (added to the
    policy's schedule). Raises PlanError for an unknown route or team."""
    start = ensure_utc(start, "start")
    plan = build_plan(
        policy,
        PlanRequest(
            ticket_id=SIMULATION_TICKET,
            priority=priority,
            route=route,
            team=team,
            suspected_bug=suspected_bug,
        ),
    )
    team_def = policy.team(plan.team)
    manager = recipient(policy.person(team_def.manager)) if team_def.manager else None
    hours = team_def.business_hours
    steps: list[SimulatedStep] = []
    for planned in plan.steps:
        at = start + timedelta(seconds=planned.at_seconds)
        oncall = resolve_oncall(policy, plan.team, at, overrides, time_off)
        step, unstaffed = restaff_step(policy, plan.team, planned, oncall.primary, oncall.secondary)
        open_now = None if hours is None else is_business_time(hours, at)
        warnings: list[str] = []
        actions = list(step.actions)
        if (
            open_now is False
            and step.index == 0
            and priority in (Priority.P0, Priority.P1)
            and oncall.primary is not None
            and not any(a.kind is ActionKind.PHONE for a in actions)
        ):
            actions.append(
                PlannedAction(
                    kind=ActionKind.PHONE,
                    target=Target.PRIMARY_ONCALL,
                    recipients=[oncall.primary],
                    note="outside business hours",
                )
            )
        for target in unstaffed:
            told = (
                f"the team manager ({manager.name}) is told at once"
                if manager
                else "the team has no manager to tell"
            )
            warnings.append(
                f"no one on call for {target}: {told}; policy no_one_on_call="
                f"{policy.rules.no_one_on_call.value}"
            )
        for action in actions:
            if action.recipients or action.target in (None, Target.TEAM, Target.CUSTOMER):
                continue
            if action.target.value not in unstaffed:
                warnings.append(
                    f"{action.kind.value} to {action.target.value}: nobody is configured"
                )
        next_open = (
            next_business_start(hours, at) if hours is not None and open_now is False else None
        )
        if open_now is False and priority in (Priority.P2, Priority.P3):
            warnings.append(
                f"outside {team_def.name} business hours; next opening "
                f"{next_open.isoformat() if next_open else 'unknown'}"
            )
        steps.append(
            SimulatedStep(
                index=step.index,
                label=step.label,
                at=at,
                offset_seconds=planned.at_seconds,
                unless=_UNLESS.get(step.stop_when) if step.stop_when else None,
                primary_oncall=_person(oncall.primary, None) if oncall.primary else None,
                primary_source=oncall.primary_source,
                secondary_oncall=_person(oncall.secondary, None) if oncall.secondary else None,
                secondary_source=oncall.secondary_source,
                oncall_reason=oncall.reason,
                business_hours_open=open_now,
                next_business_start=next_open,
                notifications=[_notification(a, plan.paging_provider) for a in actions],
                warnings=warnings,
            )
        )
    return Simulation(
        priority=priority,
        route=plan.route,
        team=plan.team,
        team_name=plan.team_name,
        chain=plan.chain,
        start=start,
        paging_provider=plan.paging_provider,
        steps=steps,
        assumptions=[
            "nobody acknowledges or resolves: every step runs (see `unless` for what skips it)",
            "each notification is delivered on its first channel (fallbacks not shown)",
            "on-call is resolved when each step runs, with the schedule's overrides and "
            "time off at that instant",
        ],
    )
