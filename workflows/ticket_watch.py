"""TicketWatchWorkflow: one per open ticket (`ticket-<id>`), the ticket's clock.

Intake signals-with-start it with the ticket's clock facts (times, SLA targets, the age
threshold of its priority, the SLA calendar). It sleeps on a durable timer until the next
deadline (escalation/ticket_clock.py: ticket age, SLA 95 % on a business-hours clock for
non-critical tickets), then runs the `check_ticket_clock` activity, which re-evaluates the
ticket at that ticket time and escalates if a trigger fires. New facts (a new event) wake it to
recompute; a solved ticket ends it.

Deterministic: time is `workflow.now()`, mapped to ticket time by the anchor (scaled by
`time_scale`); the trigger evaluation (VADER reads files) and every side effect run in the
activity; domain modules are passed through the sandbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from escalation.ticket_clock import (
        CHECK_TICKET_CLOCK,
        QUERY_WATCH_STATE,
        SIGNAL_TICKET_CHANGED,
        TICKET_WATCH_WORKFLOW,
        ClockCheckRequest,
        ClockCheckResult,
        Deadline,
        TicketClockFacts,
        TicketWatchAnchor,
        WatchCheck,
        WatchState,
        next_deadline,
    )

_CHECK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
MAX_CHECKS_BEFORE_CONTINUE = 200


@workflow.defn(name=TICKET_WATCH_WORKFLOW)
class TicketWatchWorkflow:
    @workflow.init
    def __init__(self, facts: TicketClockFacts) -> None:
        self._facts = facts
        self._anchor = self._anchor_for(facts)
        self._fired: set[str] = set()
        self._checks: list[WatchCheck] = []
        self._checked_until: datetime | None = None  # ticket time of the last check
        self._changed = False

    @staticmethod
    def _anchor_for(facts: TicketClockFacts) -> TicketWatchAnchor:
        return TicketWatchAnchor(
            ticket_time=facts.observed_at,
            workflow_time=workflow.now(),
            time_scale=facts.time_scale,
        )

    @workflow.run
    async def run(self, facts: TicketClockFacts) -> WatchState:
        while not self._facts.resolved:
            due = next_deadline(self._facts, self._fired, self._checked_until)
            self._changed = False
            workflow.set_current_details(self._details(due))
            if due is None:
                await workflow.wait_condition(lambda: self._changed)
                continue
            wait = self._anchor.wait_for(workflow.now(), due.at)
            if wait > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: self._changed, timeout=wait, timeout_summary=due.label[:200]
                    )
                    continue  # new facts: recompute the deadlines
                except TimeoutError:
                    pass
            await self._check(due)
            if len(self._checks) >= MAX_CHECKS_BEFORE_CONTINUE or (
                workflow.info().is_continue_as_new_suggested()
            ):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carried_facts())
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state()

    async def _check(self, due: Deadline) -> None:
        self._fired.add(due.key)
        self._checked_until = due.at
        result: ClockCheckResult = await workflow.execute_activity(
            CHECK_TICKET_CLOCK,
            ClockCheckRequest(
                ticket_id=self._facts.ticket_id,
                at=due.at,
                deadline_key=due.key,
                revision=self._facts.revision,
            ),
            result_type=ClockCheckResult,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=_CHECK_RETRY,
            summary=f"check {due.label}"[:200],
        )
        self._checks.append(
            WatchCheck(
                deadline_key=due.key,
                at=due.at,
                action=result.action,
                escalation_workflow_id=result.escalation_workflow_id,
            )
        )
        update: dict[str, object] = {}
        if result.next_check_at is not None and result.next_check_at > due.at:
            update["recheck_at"] = result.next_check_at
        if result.resolved:
            update["resolved"] = True
        if update:
            self._facts = self._facts.model_copy(update=update)

    def _carried_facts(self) -> TicketClockFacts:
        """Continue-as-new keeps the clock: deadlines already fired lie before the new
        `observed_at` (the ticket time now), so they do not fire again."""
        now = self._anchor.ticket_now(workflow.now())
        return self._facts.model_copy(update={"observed_at": now})

    @workflow.signal(name=SIGNAL_TICKET_CHANGED)
    def ticket_changed(self, facts: TicketClockFacts) -> None:
        if facts.ticket_id != self._facts.ticket_id or facts.revision < self._facts.revision:
            return  # an older event delivered late
        self._facts = facts
        self._anchor = self._anchor_for(facts)
        self._changed = True

    @workflow.query(name=QUERY_WATCH_STATE)
    def watch_state(self) -> WatchState:
        return self._state()

    def _state(self) -> WatchState:
        return WatchState(
            ticket_id=self._facts.ticket_id,
            revision=self._facts.revision,
            resolved=self._facts.resolved,
            priority=self._facts.priority,
            next_deadline=None
            if self._facts.resolved
            else next_deadline(self._facts, self._fired, self._checked_until),
            fired=sorted(self._fired),
            checks=list(self._checks),
        )

    def _details(self, due: Deadline | None) -> str:
        f = self._facts
        head = f"**{f.priority}** ticket clock · revision {f.revision} · {len(self._checks)} checks"
        if due is None:
            return head + "\nNo deadline pending."
        return head + f"\nNext: {due.label} at {due.at:%Y-%m-%d %H:%M} UTC (ticket time)"
