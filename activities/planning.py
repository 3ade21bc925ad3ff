"""Activities that read the organization policy and schedules: freeze a plan, re-staff a step
when it runs, and tell whether a person is available."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from escalation import activity_names as names
from escalation.calendar import is_business_time, next_business_start
from escalation.models import (
    Availability,
    AvailabilityRequest,
    EscalationPlan,
    PlannedAction,
    PlanRequest,
    ResolvedStep,
    StepRequest,
)
from escalation.oncall import resolve_oncall
from escalation.planning import PlanError, build_plan, recipient, restaff_step
from escalation.policy import ActionKind, Policy, Target
from escalation.schedules import Override, TimeOff
from escalation.vocabulary import Priority

ScheduleChanges = Callable[[str, datetime], tuple[Sequence[Override], Sequence[TimeOff]]]


def _no_changes(team: str, at: datetime) -> tuple[Sequence[Override], Sequence[TimeOff]]:
    return (), ()


class PlanningActivities:
    """On-call lookups sit behind these activities, so schedules can change at run time."""

    def __init__(self, policy: Policy, schedule_changes: ScheduleChanges | None = None) -> None:
        self._policy = policy
        self._schedule_changes = schedule_changes or _no_changes

    @activity.defn(name=names.PLAN_ESCALATION)
    async def plan_escalation(self, request: PlanRequest) -> EscalationPlan:
        try:
            return build_plan(self._policy, request)
        except PlanError as exc:
            raise ApplicationError(str(exc), type="PlanError", non_retryable=True) from exc

    @activity.defn(name=names.RESOLVE_STEP)
    async def resolve_step(self, request: StepRequest) -> ResolvedStep:
        """Who is on call now (schedule + run-time overrides and time off), re-staffing the
        step's on-call targets, and whether the team is inside business hours."""
        policy = self._policy
        overrides, time_off = await asyncio.to_thread(
            self._schedule_changes, request.team, request.at
        )
        oncall = resolve_oncall(policy, request.team, request.at, overrides, time_off)
        step, unstaffed = restaff_step(
            policy, request.team, request.step, oncall.primary, oncall.secondary
        )
        team = policy.team(request.team)
        hours = team.business_hours
        open_now = hours is None or is_business_time(hours, request.at)
        if (
            not open_now
            and step.index == 0
            and request.priority in (Priority.P0, Priority.P1)
            and oncall.primary is not None
            and not any(a.kind is ActionKind.PHONE for a in step.actions)
        ):
            # A critical issue outside business hours phones the on-call.
            phone = PlannedAction(
                kind=ActionKind.PHONE,
                target=Target.PRIMARY_ONCALL,
                recipients=[oncall.primary],
                note="outside business hours",
            )
            step = step.model_copy(update={"actions": [*step.actions, phone]})
        return ResolvedStep(
            step=step,
            primary_oncall=oncall.primary,
            secondary_oncall=oncall.secondary,
            oncall_reason=oncall.reason,
            unstaffed_targets=unstaffed,
            team_manager=recipient(policy.person(team.manager)) if team.manager else None,
            business_hours_open=open_now,
            next_business_start=None
            if open_now or hours is None
            else next_business_start(hours, request.at),
        )

    @activity.defn(name=names.CHECK_AVAILABILITY)
    async def check_availability(self, request: AvailabilityRequest) -> Availability:
        """Is a person on time off at `at` (policy schedules and run-time time off)?"""
        policy = self._policy
        if request.person_id not in {p.id for p in policy.people}:
            raise ApplicationError(
                f"unknown person {request.person_id!r}", type="PlanError", non_retryable=True
            )
        person = policy.person(request.person_id)
        periods: list[TimeOff] = [t for s in policy.schedules for t in s.time_off]
        for team in policy.teams:
            _, extra = await asyncio.to_thread(self._schedule_changes, team.id, request.at)
            periods.extend(extra)
        away = [t for t in periods if t.person == person.id and t.start <= request.at < t.end]
        backup = policy.person(person.backup) if person.backup else None
        return Availability(
            person_id=person.id,
            available=not away,
            back_at=max(t.end for t in away) if away else None,
            backup=recipient(backup) if backup else None,
            person=recipient(person),
        )
