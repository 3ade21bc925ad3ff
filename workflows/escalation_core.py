"""The state an EscalationWorkflow keeps and the plumbing every part of it uses: the plan
and its look-ups, stop conditions, visibility (search attributes, details, the state query)
and the timeline writes. The parts (delivery, steps, closing) build on it; workflows/
escalation.py puts them together with the handlers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from escalation import activity_names as names
    from escalation.activity_names import STORE_REFUSED_INPUT
    from escalation.closing import EscalationFactsInput
    from escalation.models import (
        TIMELINE_BATCH_MAX,
        AcknowledgeInput,
        AgentConfirmInput,
        Availability,
        AvailabilityRequest,
        Channel,
        EscalationInput,
        EscalationPlan,
        EscalationState,
        EscalationStatus,
        InternalNotification,
        MessageRef,
        PageRef,
        PlannedStep,
        PlanRequest,
        Recipient,
        ResolvedStep,
        ResolveInput,
        StepRecord,
        StepRequest,
        TimelineBatch,
        TimelineEntry,
    )
    from escalation.policy import ActionKind, StopCondition
    from workflows import search_attributes as sa

# Activities that only touch our own database retry until it is back; vendor deliveries get
# a bounded budget, then the channel's fallback runs (DESIGN.md section 5).
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
)
# How long the original agent has to confirm the customer was told before no survey is sent.
CONFIRMATION_WINDOW_SECONDS = 24 * 3600

# Patches: behaviour added after histories were recorded (tests/histories/ replays them).
PATCH_ONCALL_AT_STEP = "oncall-resolved-at-step-time"
PATCH_ACK_MISSED = "record-acknowledgement-missed"
PATCH_CLOSE_THE_LOOP = "close-the-loop"  # facts at start; hand-back, review, survey at the end
CLOSING_STEP = 100  # step index of closing-loop messages (keeps their idempotency keys apart)
# A resolve that arrives before the plan is loaded, or while a step is being staffed, stops
# that step: the handler notes the request at entry, before it waits for the plan.
PATCH_EARLY_STOP = "stop-requested-before-plan"
# After a vendor outage, a later step's delivery on a channel waits for the earlier steps'
# deliveries on that channel, so pages arrive in step order.
PATCH_DELIVERY_ORDER = "deliver-in-step-order"
# The acknowledge/resolve Updates answer once the state changed; the channel sync runs on.
PATCH_SYNC_IN_BACKGROUND = "sync-channels-in-background"
# Timeline lines written while a previous write is in flight go together in one activity.
PATCH_TIMELINE_BATCHES = "timeline-in-batches"
# The plan, on-call and availability look-ups (fast reads of policy and schedules) run as
# local activities: no task-queue round trip and no extra workflow task before a page.
PATCH_LOCAL_LOOKUPS = "lookups-as-local-activities"
# A P2/P3 escalated outside business hours goes first in the team's queue at the next start.
PATCH_QUEUE_FIRST = "queue-first-at-business-start"
# In-app notifications and queue entries (rows in our own store, no vendor) are written in
# the timeline batch that reports them, not by a `deliver_action` activity each; so are the
# escalation facts; and the lines of the start and of T+0 go in one batch (see
# `_hold_timeline`). A new P3 costs one store activity instead of six. It also stands for
# every patch above (`_patched`): a new run records one patch marker, not ten.
PATCH_INTERNAL_RECORDS = "internal-records-with-timeline"
# A delivery's (and a channel sync's) timeline line is written by its own activity, from a
# line the workflow reserves when it starts it (escalation/delivery_lines.py): no store
# activity and workflow task per delivery. Stands for every patch above, as the one before.
PATCH_DELIVERIES_RECORD = "deliveries-record-themselves"
LOOKUP_TIMEOUT = timedelta(seconds=30)

VENDOR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["PermanentVendorError", "PlanError"],
)


_Found = TypeVar("_Found", EscalationPlan, ResolvedStep, Availability)
_LookupRequest = PlanRequest | StepRequest | AvailabilityRequest


class EscalationCore:
    def __init__(self, request: EscalationInput) -> None:
        info = workflow.info()
        self._input = request
        self._key = f"{info.workflow_id}.{info.first_execution_run_id[:8]}"
        self._started_at = workflow.now()
        self._cadence_origin = self._started_at  # moves to the reassignment time on reassign
        self._plan: EscalationPlan | None = None
        self._team = request.team or ""
        self._chain: list[str] = []
        self._status = EscalationStatus.PAGING
        self._assignee: str | None = None
        self._ack: AcknowledgeInput | None = None
        self._ack_at: datetime | None = None
        self._resolution: ResolveInput | None = None
        self._resolved_at: datetime | None = None
        self._steps: list[StepRecord] = []
        self._next_index = 0
        self._generation = 0  # bumps on reassignment, so the new team is notified afresh
        self._bounces = 0
        self._notes = 0
        self._sequence = 0
        self._pages: list[PageRef] = []
        self._messages: list[MessageRef] = []
        self._synced: tuple[EscalationStatus, int, int] = (EscalationStatus.PAGING, 0, 0)
        self._sync_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._legal_hold = request.legal_hold
        self._breaker_open = False  # circuit breaker: reassignment needs manager arbitration
        self._owner_locked_by: str | None = None  # the manager who named the owner
        self._unstaffed_steps: list[int] = []
        self._business_open = True
        self._agent_confirmed: AgentConfirmInput | None = None
        self._next_business_start: datetime | None = None
        # Noted synchronously by the handlers (see PATCH_EARLY_STOP); honoured once patched.
        self._resolve_requested = False
        self._honour_early_stop = False
        self._in_step_order = False
        self._sync_in_background = False
        # Deliveries not finished yet: number -> ((generation, step index), action kind).
        self._in_flight: dict[int, tuple[tuple[int, int], ActionKind]] = {}
        self._dispatched = 0
        self._batch_timeline = False
        self._local_lookups = False
        self._unrecorded: list[TimelineEntry] = []
        self._flushing = False
        self._internal_with_timeline = False
        self._deliveries_record = False
        # Store-only notifications waiting for their timeline line's batch, by event key.
        self._unrecorded_rows: dict[str, InternalNotification] = {}
        self._unrecorded_facts: EscalationFactsInput | None = None
        # Once patched, lines wait from the start until T+0 has run or the workflow first
        # waits (`_release_timeline`): the start, T+0 and its store-only notifications then
        # cost one activity. Only look-ups (local activities) run in between.
        self._hold_timeline = False

    def _patched(self, patch: str) -> bool:
        """A patch from before `internal-records-with-timeline`. A run that has that patch
        has all of them, without a marker each (each marker is two history events and a
        search-attribute write on the server); a run from before it asks for each one where
        it always did, so its history replays."""
        return self._internal_with_timeline or workflow.patched(patch)

    def _require_plan(self) -> EscalationPlan:
        if self._plan is None:  # handlers may run before run(); the plan comes first there
            raise ApplicationError("escalation plan not loaded yet")
        return self._plan

    async def _load_plan(self, *, team: str | None) -> None:
        request = self._input
        plan = await self._look_up(
            names.PLAN_ESCALATION,
            PlanRequest(
                ticket_id=request.ticket_id,
                priority=request.priority,
                route=request.route,
                team=team,
                customer_name=request.customer_name,
                customer_email=request.customer_email,
                suspected_bug=request.suspected_bug,
            ),
            result_type=EscalationPlan,
            summary=f"plan {request.priority.value} {request.route.value} escalation",
        )
        self._plan = plan
        self._team = plan.team
        self._chain = plan.chain
        self._assignee = plan.primary_oncall.person_id if plan.primary_oncall else None
        self._upsert_search_attributes()

    async def _look_up(
        self,
        activity: str,
        request: _LookupRequest,
        *,
        result_type: type[_Found],
        summary: str,
        activity_id: str | None = None,
    ) -> _Found:
        """A read of policy and schedules: a local activity once patched (see
        PATCH_LOCAL_LOOKUPS), a regular activity in histories recorded before."""
        found: _Found
        if self._local_lookups:
            found = await workflow.execute_local_activity(
                activity,
                request,
                result_type=result_type,
                start_to_close_timeout=LOOKUP_TIMEOUT,
                retry_policy=VENDOR_RETRY,
                summary=summary,
                activity_id=activity_id,
            )
        else:
            found = await workflow.execute_activity(
                activity,
                request,
                result_type=result_type,
                start_to_close_timeout=LOOKUP_TIMEOUT,
                retry_policy=VENDOR_RETRY,
                summary=summary,
            )
        return found

    def _due(self, step: PlannedStep) -> datetime:
        return self._cadence_origin + timedelta(seconds=step.at_seconds * self._input.time_scale)

    def _stop_met(self, condition: StopCondition | None) -> bool:
        if self._status is EscalationStatus.RESOLVED:
            return True
        if self._honour_early_stop and self._resolve_requested:
            return True  # the resolve handler is waiting for the plan: nothing more runs
        if condition in (StopCondition.ACKNOWLEDGED, StopCondition.PICKED_UP):
            return self._status is EscalationStatus.ACKNOWLEDGED
        return False

    def _skip_reason(self, condition: StopCondition | None) -> str:
        if self._status is EscalationStatus.RESOLVED or (
            self._honour_early_stop and self._resolve_requested
        ):
            return "resolved"
        return f"{condition.value if condition else 'condition'} already met"

    def _customer_recipient(self) -> Recipient | None:
        if not self._input.customer_email:
            return None
        name = self._input.customer_name or "customer"
        return Recipient(name=name, email=self._input.customer_email)

    def _responders(self) -> list[Recipient]:
        plan = self._require_plan()
        people = [p for p in (plan.primary_oncall, plan.secondary_oncall) if p is not None]
        return people

    def _upsert_search_attributes(self) -> None:
        workflow.upsert_search_attributes(
            [
                sa.ESCALATION_PRIORITY.value_set(self._input.priority.value),
                sa.ESCALATION_STATE.value_set(self._visible_status().value),
                sa.ESCALATION_TEAM.value_set(self._team),
                sa.CUSTOMER_TIER.value_set(self._input.customer_tier.value),
                sa.TICKET_ID.value_set(self._input.ticket_id),
                sa.CUSTOMER_NAME.value_set(self._input.customer_name),
                sa.ACKNOWLEDGED.value_set(self._status is not EscalationStatus.PAGING),
                sa.BOUNCES.value_set(self._bounces),
            ]
        )

    def _visible_status(self) -> EscalationStatus:
        if self._breaker_open and self._status is not EscalationStatus.RESOLVED:
            return EscalationStatus.ARBITRATION
        return self._status

    def _set_details(self) -> None:
        state = self._state()
        lines = [
            f"**{state.priority.value} {state.status.value}** · team `{state.team}` · "
            f"assignee {state.assignee or 'nobody yet'} · bounces {state.bounces}",
        ]
        for record in state.steps:
            mark = "skipped" if record.skipped else "ran"
            lines.append(f"- {record.label}: {mark} {record.reason}".rstrip())
        if state.next_step:
            lines.append(f"Next: {state.next_step} at {state.next_step_at:%H:%M:%S} UTC")
        workflow.set_current_details("\n".join(lines))

    def _state(self) -> EscalationState:
        plan = self._plan
        next_step = None
        next_at = None
        if plan is not None and self._status is not EscalationStatus.RESOLVED:
            upcoming = plan.steps[self._next_index :] if self._next_index < len(plan.steps) else []
            pending = [s for s in upcoming if not self._stop_met(s.stop_when)]
            if pending:
                next_step = pending[0].label
                next_at = self._due(pending[0])
        return EscalationState(
            ticket_id=self._input.ticket_id,
            escalation_key=self._key,
            status=self._visible_status(),
            priority=self._input.priority,
            route=plan.route if plan else self._input.route,
            team=self._team,
            chain=self._chain,
            assignee=self._assignee,
            acknowledged_by=self._ack.by if self._ack else None,
            acknowledged_at=self._ack_at,
            acknowledged_via=self._ack.via if self._ack else None,
            resolved_by=self._resolution.by if self._resolution else None,
            resolved_at=self._resolved_at,
            resolution=self._resolution.resolution if self._resolution else "",
            started_at=self._started_at,
            steps=list(self._steps),
            next_step=next_step,
            next_step_at=next_at,
            bounces=self._bounces,
            notes=self._notes,
            time_scale=self._input.time_scale,
            legal_hold=self._legal_hold,
            owner_locked_by=self._owner_locked_by,
            unstaffed_steps=list(self._unstaffed_steps),
        )

    def _record(
        self,
        kind: str,
        *,
        actor: str = "system",
        via: Channel = Channel.SYSTEM,
        step_index: int | None = None,
        detail: dict[str, str] | None = None,
        at: datetime | None = None,
        notification: InternalNotification | None = None,
    ) -> None:
        """Write one timeline line to the store (idempotent on its event key), with the
        store-only notification it reports, if any, in the same transaction."""
        self._sequence += 1
        entry = self._entry(kind, actor=actor, via=via, step_index=step_index, detail=detail, at=at)
        self._enqueue(entry, notification)

    def _reserve_line(self, kind: str, *, step_index: int | None = None) -> TimelineEntry:
        """A line (and its place in the order) for an activity to fill in and write itself
        (escalation/delivery_lines.py)."""
        self._sequence += 1
        return self._entry(kind, step_index=step_index)

    def _entry(
        self,
        kind: str,
        *,
        actor: str = "system",
        via: Channel = Channel.SYSTEM,
        step_index: int | None = None,
        detail: dict[str, str] | None = None,
        at: datetime | None = None,
    ) -> TimelineEntry:
        """The line numbered `_sequence`, with a snapshot of the escalation now."""
        return TimelineEntry(
            escalation_key=self._key,
            ticket_id=self._input.ticket_id,
            event_key=f"{self._key}:{self._sequence}",
            sequence=self._sequence,
            kind=kind,
            at=at or workflow.now(),
            actor=actor,
            via=via,
            step_index=step_index,
            detail=detail or {},
            status=self._status,
            priority=self._input.priority,
            route=self._plan.route if self._plan else self._input.route,
            team=self._team,
            assignee=self._assignee,
            bounces=self._bounces,
            subject=self._input.subject,
            customer_name=self._input.customer_name,
            customer_tier=self._input.customer_tier,
            time_scale=self._input.time_scale,
            started_at=self._started_at,
        )

    def _enqueue(
        self, entry: TimelineEntry, notification: InternalNotification | None = None
    ) -> None:
        # Not awaited: a slow or restarting database must never delay a page. The sequence
        # number lets the store apply snapshots in order whatever order they arrive in.
        if not self._batch_timeline:
            self._tasks.append(asyncio.create_task(self._store(entry)))
            return
        self._unrecorded.append(entry)
        if notification is not None:
            self._unrecorded_rows[entry.event_key] = notification
        if not self._hold_timeline:
            self._start_flush()

    def _release_timeline(self) -> None:
        """End the start-up hold: what was recorded so far goes to the store now."""
        if not self._hold_timeline:
            return
        self._hold_timeline = False
        if self._unrecorded:
            self._start_flush()

    def _start_flush(self) -> None:
        """One flush at a time: a running one takes whatever was recorded meanwhile."""
        if not self._flushing:
            self._flushing = True
            self._tasks.append(asyncio.create_task(self._flush_timeline()))

    async def _flush_timeline(self) -> None:
        """One activity for every line written since the last one started (a burst of lines
        in one workflow task, or while the store was slow, costs one activity, not one each)."""
        try:
            while self._unrecorded:
                batch = self._unrecorded[:TIMELINE_BATCH_MAX]
                del self._unrecorded[: len(batch)]
                kinds = ", ".join(dict.fromkeys(e.kind for e in batch))
                rows = [
                    row
                    for e in batch
                    if (row := self._unrecorded_rows.pop(e.event_key, None)) is not None
                ]
                facts, self._unrecorded_facts = self._unrecorded_facts, None
                await self._write_to_store(
                    names.RECORD_TIMELINE_BATCH,
                    TimelineBatch(entries=batch, notifications=rows, facts=facts),
                    summary=f"record {kinds}",
                )
        finally:
            self._flushing = False

    async def _store(self, entry: TimelineEntry) -> None:
        await self._write_to_store(names.RECORD_TIMELINE, entry, summary=f"record {entry.kind}")

    async def _write_to_store(self, activity: str, request: BaseModel, *, summary: str) -> None:
        """A write to our own store, retried until the store is back. Input the store refuses
        (the activity says so without retrying) is logged and left out: a record must never
        stall or fail the escalation."""
        try:
            await workflow.execute_activity(
                activity,
                request,
                start_to_close_timeout=timedelta(seconds=20),
                retry_policy=STORE_RETRY,
                summary=summary[:200],
            )
        except ActivityError as err:
            cause = err.cause
            if not (isinstance(cause, ApplicationError) and cause.type == STORE_REFUSED_INPUT):
                raise
            workflow.logger.error("the store refused %s: %s", activity, cause.message)
