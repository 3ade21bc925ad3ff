"""Walking the cadence: durable timers until each step, on-call re-staffed when a step runs
(nobody on call never waits silently), after-hours promises and the queue-first timer."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalation import activity_names as names
    from escalation.models import (
        PlannedAction,
        PlannedStep,
        ResolvedStep,
        StepRecord,
        StepRequest,
    )
    from escalation.policy import ActionKind, StopCondition, Target
    from escalation.vocabulary import Priority

from workflows.escalation_core import (
    PATCH_ACK_MISSED,
    PATCH_ONCALL_AT_STEP,
    PATCH_QUEUE_FIRST,
)
from workflows.escalation_delivery import EscalationDelivery


class EscalationSteps(EscalationDelivery):
    async def _wait_until_due(self, step: PlannedStep, due: datetime, generation: int) -> None:
        """Durable timer until the step is due, cut short by its stop condition or by a
        reassignment (which starts the new team's cadence)."""
        if self._stop_met(step.stop_when):
            return
        remaining = (due - workflow.now()).total_seconds()
        if remaining <= 0:
            return
        self._release_timeline()
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._stop_met(step.stop_when) or self._generation != generation,
                timeout=timedelta(seconds=remaining),
                timeout_summary=f"until {step.label}",
            )

    def _skip_step(self, step: PlannedStep, due: datetime) -> None:
        self._steps.append(
            StepRecord(
                index=step.index,
                label=step.label,
                due_at=due,
                skipped=True,
                reason=self._skip_reason(step.stop_when),
            )
        )
        self._record("step_skipped", step_index=step.index)

    async def _run_step(self, step: PlannedStep, due: datetime) -> None:
        fired_at = workflow.now()  # when the timer fired, before on-call lookups
        if self._patched(PATCH_ONCALL_AT_STEP):
            # On-call is resolved when the step runs, not when the escalation started.
            staffed = await self._staff_step(step)
            if staffed is None:  # resolved (or stopped) while waiting for someone on call
                self._skip_step(step, due)
                return
            if self._honour_early_stop and self._stop_met(step.stop_when):
                # Resolved (or acknowledged) while the step was being staffed: it stops here.
                self._skip_step(step, due)
                return
            step = staffed
            missed = step.stop_when in (StopCondition.ACKNOWLEDGED, StopCondition.PICKED_UP)
            if missed and self._patched(PATCH_ACK_MISSED):
                # Nobody acknowledged in time: kept for the post-incident review.
                primary = self._require_plan().primary_oncall
                self._record(
                    "acknowledgement_missed",
                    step_index=step.index,
                    detail={"expected": (primary.person_id or "") if primary else ""},
                    at=fired_at,
                )
            customer = self._customer_recipient()
            if step.index == 0 and not self._business_open and customer is not None:
                # After hours: tell the customer when the issue will really be addressed.
                self._dispatch(
                    0,
                    len(step.actions) + 1,
                    PlannedAction(
                        kind=ActionKind.CUSTOMER_COMMUNICATION,
                        target=Target.CUSTOMER,
                        recipients=[customer],
                    ),
                    "after hours",
                )
            if step.index == 0 and not self._business_open and self._queues_first():
                self._tasks.append(asyncio.create_task(self._queue_first_at_business_start()))
        self._steps.append(
            StepRecord(index=step.index, label=step.label, due_at=due, ran_at=fired_at)
        )
        # Stamped with the moment the timer fired: staffing the step took an activity since.
        self._record(
            "step_started", step_index=step.index, detail={"label": step.label}, at=fired_at
        )
        for action_index, action in enumerate(step.actions):
            self._dispatch(step.index, action_index, action, step.label)
        self._set_details()

    async def _staff_step(self, step: PlannedStep) -> PlannedStep | None:
        """Re-staff the step's on-call targets from the schedules now. Nobody on call never
        waits silently: the team manager is told at once and `no_one_on_call` recorded; the
        policy chooses whether the step then goes ahead or waits until someone is on call.
        None: the step's stop condition came true while it waited."""
        plan = self._require_plan()
        while True:
            resolved = await self._look_up(
                names.RESOLVE_STEP,
                StepRequest(
                    ticket_id=self._input.ticket_id,
                    priority=self._input.priority,
                    route=plan.route,
                    team=plan.team,
                    step=step,
                    at=workflow.now(),
                ),
                result_type=ResolvedStep,
                summary=f"who is on call for {plan.team} now ({step.label})",
                # Names the step in the local-activity marker (tests/proof reads it there).
                activity_id=f"{names.RESOLVE_STEP}:g{self._generation}:s{step.index}",
            )
            self._business_open = resolved.business_hours_open
            self._next_business_start = resolved.next_business_start
            if resolved.primary_oncall is not None and self._ack is None:
                self._assignee = resolved.primary_oncall.person_id
            if not resolved.unstaffed_targets:
                return resolved.step
            if step.index not in self._unstaffed_steps:
                self._unstaffed_steps.append(step.index)
                self._record(
                    "no_one_on_call",
                    step_index=step.index,
                    detail={"targets": ",".join(resolved.unstaffed_targets), "team": plan.team},
                )
                if plan.team_manager is not None:
                    self._dispatch(
                        step.index,
                        len(step.actions),
                        PlannedAction(
                            kind=ActionKind.EMAIL,
                            target=Target.TEAM_MANAGER,
                            recipients=[plan.team_manager],
                            note="Nobody is on call for "
                            f"{', '.join(resolved.unstaffed_targets)} in {plan.team_name}: "
                            "please take this escalation.",
                        ),
                        f"{step.label} (no one on call)",
                    )
            if plan.no_one_on_call != "wait":
                return resolved.step
            if self._stop_met(step.stop_when):
                return None
            recheck = plan.no_one_on_call_recheck_seconds * self._input.time_scale
            if await self._stopped_within(step.stop_when, recheck, "until someone is on call"):
                return None

    def _queues_first(self) -> bool:
        """A non-critical escalation raised outside business hours waits for the next
        business day (P0/P1 page the after-hours on-call instead); once patched, it is put
        first in the team's queue when that day starts."""
        if self._input.priority not in (Priority.P2, Priority.P3):
            return False
        return self._patched(PATCH_QUEUE_FIRST)

    async def _queue_first_at_business_start(self) -> None:
        """Durable timer until the team's next business start; unless picked up (or resolved)
        by then, the ticket goes first in the team's queue and the team channel is told."""
        start = self._next_business_start
        if start is None:
            return
        delay = (start - workflow.now()).total_seconds()
        picked_up = StopCondition.PICKED_UP
        if delay > 0 and await self._stopped_within(
            picked_up, delay, "until the next business day starts"
        ):
            return
        if self._stop_met(picked_up):
            return
        escalated = f"{self._started_at:%Y-%m-%d %H:%M} UTC"
        self._record(
            "queued_first",
            detail={"team": self._team, "business_start": start.isoformat()},
        )
        note = (
            f"Start of the business day: {self._input.priority.value} ticket "
            f"{self._input.ticket_id} was escalated outside business hours ({escalated}) and "
            "is first in the queue."
        )
        self._dispatch(
            0,
            95,
            PlannedAction(kind=ActionKind.QUEUE, target=Target.TEAM, note=note),
            "first in queue at business start",
        )
        self._dispatch(
            0,
            96,
            PlannedAction(
                kind=ActionKind.SLACK,
                target=Target.TEAM,
                channel=self._team_channel(),
                note=note,
            ),
            "first in queue at business start",
        )

    def _team_channel(self) -> str | None:
        """The team's Slack channel, as the plan's own team-channel actions name it."""
        for planned in self._require_plan().steps:
            for action in planned.actions:
                if action.kind is ActionKind.SLACK and action.target is Target.TEAM:
                    return action.channel
        return None

    async def _stopped_within(
        self, condition: StopCondition | None, seconds: float, summary: str
    ) -> bool:
        """Durable wait of at most `seconds`; True when the stop condition came true."""
        self._release_timeline()
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._stop_met(condition),
                timeout=timedelta(seconds=seconds),
                timeout_summary=summary,
            )
        return self._stop_met(condition)
