"""EscalationWorkflow: one per escalated ticket (`escalation-<ticket id>`).

It freezes its plan at start, then walks the severity cadence with durable timers: each step
waits until its offset (scaled by `time_scale`) unless its stop condition comes true first.
Step actions run as concurrent activities so a slow vendor never delays the next step, and an
acknowledgement on any channel updates every channel. Everything with a side effect is an
activity called by name, so no I/O library enters the workflow sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from escalation import activity_names as names
    from escalation.models import (
        AcknowledgeInput,
        ActionOutcome,
        Channel,
        DeliverRequest,
        DeliveryResult,
        EscalationInput,
        EscalationPlan,
        EscalationState,
        EscalationStatus,
        MessageRef,
        NoteInput,
        PageRef,
        PlannedStep,
        PlanRequest,
        ReassignInput,
        Recipient,
        ResolveInput,
        StepRecord,
        SyncRequest,
        SyncResult,
        TicketUpdatedInput,
        TimelineEntry,
    )
    from escalation.policy import StopCondition
    from workflows import search_attributes as sa

# Activities that only touch our own database retry until it is back; vendor deliveries get
# a bounded budget, then the channel's fallback runs (DESIGN.md section 5).
_STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
)
_VENDOR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["PermanentVendorError", "PlanError"],
)


@workflow.defn(name=names.ESCALATION_WORKFLOW)
class EscalationWorkflow:
    @workflow.init
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

    # ------------------------------------------------------------------ main line
    @workflow.run
    async def run(self, request: EscalationInput) -> EscalationState:
        await self._load_plan(team=request.team)
        self._record("escalation_started", detail={"reason": request.reason[:500]})

        while self._next_index < len(self._require_plan().steps):
            step = self._require_plan().steps[self._next_index]
            generation = self._generation
            due = self._due(step)
            await self._wait_until_due(step, due, generation)
            if self._generation != generation:
                continue  # reassigned while waiting: walk the new team's cadence from its T+0
            self._next_index += 1
            if self._stop_met(step.stop_when):
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
                continue
            await self._run_step(step, due)

        self._set_details()
        await workflow.wait_condition(lambda: self._status is EscalationStatus.RESOLVED)
        await workflow.wait_condition(lambda: all(t.done() for t in self._tasks))
        await self._sync_channels()  # pages raised after the resolve signal, if any
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and all(t.done() for t in self._tasks)
        )
        for task in self._tasks:
            task.result()  # surface a bug in a delivery coroutine instead of hiding it
        return self._state()

    async def _wait_until_due(self, step: PlannedStep, due: datetime, generation: int) -> None:
        """Durable timer until the step is due, cut short by its stop condition or by a
        reassignment (which starts the new team's cadence)."""
        if self._stop_met(step.stop_when):
            return
        remaining = (due - workflow.now()).total_seconds()
        if remaining <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._stop_met(step.stop_when) or self._generation != generation,
                timeout=timedelta(seconds=remaining),
                timeout_summary=f"until {step.label}",
            )

    def _require_plan(self) -> EscalationPlan:
        if self._plan is None:  # handlers may run before run(); the plan comes first there
            raise ApplicationError("escalation plan not loaded yet")
        return self._plan

    async def _load_plan(self, *, team: str | None) -> None:
        request = self._input
        plan = await workflow.execute_activity(
            names.PLAN_ESCALATION,
            PlanRequest(
                ticket_id=request.ticket_id,
                priority=request.priority,
                route=request.route,
                team=team,
                customer_name=request.customer_name,
                customer_email=request.customer_email,
            ),
            result_type=EscalationPlan,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_VENDOR_RETRY,
            summary=f"plan {request.priority.value} {request.route.value} escalation",
        )
        self._plan = plan
        self._team = plan.team
        self._chain = plan.chain
        self._assignee = plan.primary_oncall.person_id if plan.primary_oncall else None
        self._upsert_search_attributes()

    def _due(self, step: PlannedStep) -> datetime:
        return self._cadence_origin + timedelta(seconds=step.at_seconds * self._input.time_scale)

    def _stop_met(self, condition: StopCondition | None) -> bool:
        if self._status is EscalationStatus.RESOLVED:
            return True
        if condition in (StopCondition.ACKNOWLEDGED, StopCondition.PICKED_UP):
            return self._status is EscalationStatus.ACKNOWLEDGED
        return False

    def _skip_reason(self, condition: StopCondition | None) -> str:
        if self._status is EscalationStatus.RESOLVED:
            return "resolved"
        return f"{condition.value if condition else 'condition'} already met"

    # ------------------------------------------------------------------ steps
    async def _run_step(self, step: PlannedStep, due: datetime) -> None:
        self._steps.append(
            StepRecord(index=step.index, label=step.label, due_at=due, ran_at=workflow.now())
        )
        self._record("step_started", step_index=step.index, detail={"label": step.label})
        plan = self._require_plan()
        for action_index, action in enumerate(step.actions):
            request = DeliverRequest(
                escalation_key=f"{self._key}.g{self._generation}",
                workflow_id=workflow.info().workflow_id,
                ticket_id=self._input.ticket_id,
                priority=self._input.priority,
                route=plan.route,
                team=plan.team,
                team_name=plan.team_name,
                step_index=step.index,
                action_index=action_index,
                action=action,
                subject=self._input.subject,
                customer_name=self._input.customer_name,
                customer_tier=self._input.customer_tier,
                paging_provider=plan.paging_provider,
                pagerduty_routing_key=plan.pagerduty_routing_key,
                responders=self._responders(),
            )
            self._tasks.append(asyncio.create_task(self._deliver(request, step.label)))
        self._set_details()

    def _responders(self) -> list[Recipient]:
        plan = self._require_plan()
        people = [p for p in (plan.primary_oncall, plan.secondary_oncall) if p is not None]
        return people

    async def _deliver(self, request: DeliverRequest, label: str) -> None:
        action = request.action
        who = ", ".join(r.name for r in action.recipients) or action.channel or "team"
        summary = f"{label}: {action.kind.value} -> {who}"
        try:
            result = await self._deliver_once(request, summary)
        except ActivityError as err:
            # The vendor stayed down past the retry budget: use the channel's fallback.
            self._record(
                "delivery_retries_exhausted",
                step_index=request.step_index,
                detail={"action": action.kind.value, "error": str(err.cause or err)[:300]},
            )
            fallback = request.model_copy(update={"use_fallback": True})
            try:
                result = await self._deliver_once(fallback, f"fallback for {summary}")
            except ActivityError as final:
                result = DeliveryResult(
                    outcome=ActionOutcome.FAILED,
                    channel=action.kind.value,
                    detail=str(final.cause or final)[:300],
                )
        self._pages.extend(result.pages)
        self._messages.extend(result.messages)
        if result.new_owner is not None:
            self._assignee = result.new_owner.person_id or result.new_owner.name
        self._record(
            "action_delivered" if result.outcome is not ActionOutcome.FAILED else "action_failed",
            step_index=request.step_index,
            detail={
                "action": action.kind.value,
                "channel": result.channel,
                "outcome": result.outcome.value,
                "detail": result.detail[:300],
            },
        )
        if self._status is not EscalationStatus.PAGING:
            # Acknowledged or resolved while this page was in flight: update it too.
            await self._sync_channels()

    async def _deliver_once(self, request: DeliverRequest, summary: str) -> DeliveryResult:
        result: DeliveryResult = await workflow.execute_activity(
            names.DELIVER_ACTION,
            request,
            result_type=DeliveryResult,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(seconds=self._input.delivery_budget_seconds),
            retry_policy=_VENDOR_RETRY,
            summary=summary[:200],
        )
        return result

    async def _sync_channels(self) -> None:
        """Bring every page and message in line with the current status, once per change."""
        async with self._sync_lock:
            wanted = (self._status, len(self._pages), len(self._messages))
            if wanted == self._synced or self._status is EscalationStatus.PAGING:
                return
            actor, via = self._last_actor()
            result = await workflow.execute_activity(
                names.SYNC_CHANNELS,
                SyncRequest(
                    escalation_key=self._key,
                    ticket_id=self._input.ticket_id,
                    status=self._status,
                    actor=actor,
                    via=via,
                    subject=self._input.subject,
                    pages=list(self._pages),
                    messages=list(self._messages),
                ),
                result_type=SyncResult,
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=timedelta(seconds=self._input.delivery_budget_seconds),
                retry_policy=_VENDOR_RETRY,
                summary=f"mark {len(self._pages)} pages, {len(self._messages)} messages "
                f"{self._status.value}",
            )
            self._synced = wanted
            self._record(
                "channels_synced",
                detail={
                    "status": self._status.value,
                    "pages": str(result.pages_updated),
                    "messages": str(result.messages_updated),
                    "failures": "; ".join(result.failures)[:300],
                },
            )

    def _last_actor(self) -> tuple[str, Channel]:
        if self._resolution is not None:
            return self._resolution.by, self._resolution.via
        if self._ack is not None:
            return self._ack.by, self._ack.via
        return "system", Channel.SYSTEM

    # ------------------------------------------------------------------ signals
    @workflow.signal(name=names.SIGNAL_ACKNOWLEDGE)
    async def acknowledge(self, request: AcknowledgeInput) -> None:
        await self._acknowledge(request)

    @workflow.signal(name=names.SIGNAL_RESOLVE)
    async def resolve(self, request: ResolveInput) -> None:
        await self._resolve(request)

    @workflow.signal(name=names.SIGNAL_REASSIGN)
    async def reassign(self, request: ReassignInput) -> None:
        await self._reassign(request)

    @workflow.signal(name=names.SIGNAL_ADD_NOTE)
    async def add_note(self, request: NoteInput) -> None:
        self._notes += 1
        self._record(
            "note_added", actor=request.by, via=request.via, detail={"text": request.text[:2000]}
        )

    @workflow.signal(name=names.SIGNAL_TICKET_UPDATED)
    async def ticket_updated(self, request: TicketUpdatedInput) -> None:
        detail = {k: str(v) for k, v in request.model_dump(exclude_none=True).items()}
        self._record("ticket_updated", actor="helpdesk", detail=detail)
        if request.solved and self._status is not EscalationStatus.RESOLVED:
            await self._resolve(
                ResolveInput(by="helpdesk", via=Channel.SYSTEM, resolution="ticket solved")
            )

    # ------------------------------------------------------------------ updates
    @workflow.update(name=names.UPDATE_ACKNOWLEDGE)
    async def acknowledge_sync(self, request: AcknowledgeInput) -> EscalationState:
        await self._acknowledge(request)
        return self._state()

    @acknowledge_sync.validator
    def _validate_acknowledge(self, request: AcknowledgeInput) -> None:
        if self._status is EscalationStatus.RESOLVED:
            raise ApplicationError("escalation already resolved", type="Conflict")

    @workflow.update(name=names.UPDATE_RESOLVE)
    async def resolve_sync(self, request: ResolveInput) -> EscalationState:
        await self._resolve(request)
        return self._state()

    @resolve_sync.validator
    def _validate_resolve(self, request: ResolveInput) -> None:
        if self._status is EscalationStatus.RESOLVED:
            raise ApplicationError("escalation already resolved", type="Conflict")

    @workflow.update(name=names.UPDATE_REASSIGN)
    async def reassign_sync(self, request: ReassignInput) -> EscalationState:
        await self._reassign(request)
        return self._state()

    @reassign_sync.validator
    def _validate_reassign(self, request: ReassignInput) -> None:
        if self._status is EscalationStatus.RESOLVED:
            raise ApplicationError("escalation already resolved", type="Conflict")
        if request.to_team == self._team:
            raise ApplicationError(f"already with team {request.to_team}", type="Conflict")

    @workflow.query(name=names.QUERY_STATE)
    def state(self) -> EscalationState:
        return self._state()

    # ------------------------------------------------------------------ transitions
    async def _acknowledge(self, request: AcknowledgeInput) -> None:
        if self._status is not EscalationStatus.PAGING:
            self._record(
                "acknowledge_ignored",
                actor=request.by,
                via=request.via,
                detail={"reason": f"already {self._status.value}"},
            )
            return
        self._status = EscalationStatus.ACKNOWLEDGED
        self._ack = request
        self._ack_at = workflow.now()
        self._assignee = request.by
        self._upsert_search_attributes()
        self._set_details()
        self._record("acknowledged", actor=request.by, via=request.via)
        await self._sync_channels()

    async def _resolve(self, request: ResolveInput) -> None:
        if self._status is EscalationStatus.RESOLVED:
            return
        self._status = EscalationStatus.RESOLVED
        self._resolution = request
        self._resolved_at = workflow.now()
        self._upsert_search_attributes()
        self._set_details()
        self._record(
            "resolved",
            actor=request.by,
            via=request.via,
            detail={"resolution": request.resolution[:2000]},
        )
        await self._sync_channels()

    async def _reassign(self, request: ReassignInput) -> None:
        if self._status is EscalationStatus.RESOLVED or request.to_team == self._team:
            return
        previous = self._team
        self._bounces += 1
        self._generation += 1
        await workflow.wait_condition(lambda: self._plan is not None)
        await self._load_plan(team=request.to_team)
        # The new team must acknowledge afresh; its plan starts with the step now due.
        self._status = EscalationStatus.PAGING
        self._ack = None
        self._ack_at = None
        self._next_index = 0
        self._cadence_origin = workflow.now()
        self._upsert_search_attributes()
        self._record(
            "reassigned",
            actor=request.by,
            via=request.via,
            detail={"from": previous, "to": request.to_team, "reason": request.reason[:500]},
        )

    # ------------------------------------------------------------------ visibility
    def _upsert_search_attributes(self) -> None:
        workflow.upsert_search_attributes(
            [
                sa.ESCALATION_PRIORITY.value_set(self._input.priority.value),
                sa.ESCALATION_STATE.value_set(self._status.value),
                sa.ESCALATION_TEAM.value_set(self._team),
                sa.CUSTOMER_TIER.value_set(self._input.customer_tier.value),
                sa.TICKET_ID.value_set(self._input.ticket_id),
                sa.CUSTOMER_NAME.value_set(self._input.customer_name),
                sa.ACKNOWLEDGED.value_set(self._status is not EscalationStatus.PAGING),
                sa.BOUNCES.value_set(self._bounces),
            ]
        )

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
            status=self._status,
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
        )

    def _record(
        self,
        kind: str,
        *,
        actor: str = "system",
        via: Channel = Channel.SYSTEM,
        step_index: int | None = None,
        detail: dict[str, str] | None = None,
    ) -> None:
        """Write one timeline line to the store (idempotent on its event key)."""
        self._sequence += 1
        entry = TimelineEntry(
            escalation_key=self._key,
            ticket_id=self._input.ticket_id,
            event_key=f"{self._key}:{self._sequence}",
            sequence=self._sequence,
            kind=kind,
            at=workflow.now(),
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
        # Not awaited: a slow or restarting database must never delay a page. The sequence
        # number lets the store apply snapshots in order whatever order they arrive in.
        self._tasks.append(asyncio.create_task(self._store(entry)))

    async def _store(self, entry: TimelineEntry) -> None:
        await workflow.execute_activity(
            names.RECORD_TIMELINE,
            entry,
            start_to_close_timeout=timedelta(seconds=20),
            retry_policy=_STORE_RETRY,
            summary=f"record {entry.kind}",
        )
