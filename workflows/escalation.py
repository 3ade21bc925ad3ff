"""EscalationWorkflow: one per escalated ticket (`escalation-<ticket id>`).

It freezes its plan at start, then walks the severity cadence with durable timers: each step
waits until its offset (scaled by `time_scale`) unless its stop condition comes true first.
Step actions run as concurrent activities so a slow vendor never delays the next step, and an
acknowledgement on any channel updates every channel. Everything with a side effect is an
activity called by name, so no I/O library enters the workflow sandbox.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from escalation import activity_names as names
    from escalation.models import (
        AcknowledgeInput,
        AgentConfirmInput,
        ArbitrateInput,
        Channel,
        EscalationInput,
        EscalationState,
        EscalationStatus,
        NoteInput,
        PlannedAction,
        ReassignInput,
        ResolveInput,
        TicketUpdatedInput,
    )
    from escalation.policy import ActionKind, Target

from workflows.escalation_closing import EscalationClosing
from workflows.escalation_core import (
    PATCH_CLOSE_THE_LOOP,
    PATCH_DELIVERIES_RECORD,
    PATCH_DELIVERY_ORDER,
    PATCH_EARLY_STOP,
    PATCH_INTERNAL_RECORDS,
    PATCH_LOCAL_LOOKUPS,
    PATCH_SYNC_IN_BACKGROUND,
    PATCH_TIMELINE_BATCHES,
)
from workflows.escalation_steps import EscalationSteps


def _attribution(
    request: EscalationInput
    | AcknowledgeInput
    | ResolveInput
    | ReassignInput
    | NoteInput
    | ArbitrateInput,
) -> dict[str, str]:
    """Timeline detail naming the API key behind a request (none for CLI, Slack, webhooks).

    Only the detail of the timeline activity's input changes, which replay does not compare.
    """
    return {"api_key": request.api_key_name} if request.api_key_name else {}


@workflow.defn(name=names.ESCALATION_WORKFLOW)
class EscalationWorkflow(EscalationSteps, EscalationClosing):
    @workflow.init
    def __init__(self, request: EscalationInput) -> None:
        super().__init__(request)

    @workflow.run
    async def run(self, request: EscalationInput) -> EscalationState:
        # First: a run that has one of these patches has every earlier one too (`_patched`).
        self._deliveries_record = workflow.patched(PATCH_DELIVERIES_RECORD)
        self._internal_with_timeline = self._deliveries_record or workflow.patched(
            PATCH_INTERNAL_RECORDS
        )
        self._batch_timeline = self._patched(PATCH_TIMELINE_BATCHES)
        self._local_lookups = self._patched(PATCH_LOCAL_LOOKUPS)
        self._hold_timeline = self._internal_with_timeline
        await self._load_plan(team=request.team)
        # Decided once, here: a history recorded before a patch keeps its old behaviour.
        self._honour_early_stop = self._patched(PATCH_EARLY_STOP)
        self._in_step_order = self._patched(PATCH_DELIVERY_ORDER)
        self._sync_in_background = self._patched(PATCH_SYNC_IN_BACKGROUND)
        close_the_loop = self._patched(PATCH_CLOSE_THE_LOOP)
        if close_the_loop and self._internal_with_timeline:
            self._unrecorded_facts = self._escalation_facts()  # with the first batch
        self._record(
            "escalation_started",
            detail={"reason": request.reason[:500], **_attribution(request)},
        )
        if close_the_loop and not self._internal_with_timeline:
            self._tasks.append(asyncio.create_task(self._record_facts()))
        if request.requested_person and not (self._honour_early_stop and self._resolve_requested):
            await self._honour_requested_person(request.requested_person)

        while self._next_index < len(self._require_plan().steps):
            step = self._require_plan().steps[self._next_index]
            generation = self._generation
            due = self._due(step)
            await self._wait_until_due(step, due, generation)
            if self._generation != generation:
                continue  # reassigned while waiting: walk the new team's cadence from its T+0
            self._next_index += 1
            if self._stop_met(step.stop_when):
                self._skip_step(step, due)
                continue
            await self._run_step(step, due)

        self._release_timeline()
        self._set_details()
        await workflow.wait_condition(lambda: self._status is EscalationStatus.RESOLVED)
        await workflow.wait_condition(lambda: all(t.done() for t in self._tasks))
        await self._sync_channels()  # pages raised after the resolve signal, if any
        if self._patched(PATCH_CLOSE_THE_LOOP):
            await self._close_the_loop()
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and all(t.done() for t in self._tasks)
        )
        for task in self._tasks:
            task.result()  # surface a bug in a delivery coroutine instead of hiding it
        return self._state()

    @workflow.signal(name=names.SIGNAL_AGENT_CONFIRMED)
    async def agent_confirmed(self, request: AgentConfirmInput) -> None:
        if self._agent_confirmed is None:
            self._agent_confirmed = request
            self._record("agent_confirmed", actor=request.by, via=request.via)

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
            "note_added",
            actor=request.by,
            via=request.via,
            detail={"text": request.text[:2000], **_attribution(request)},
        )

    @workflow.signal(name=names.SIGNAL_TICKET_UPDATED)
    async def ticket_updated(self, request: TicketUpdatedInput) -> None:
        detail = {k: str(v) for k, v in request.model_dump(exclude_none=True).items()}
        self._record("ticket_updated", actor="helpdesk", detail=detail)
        if request.legal_hold is not None and request.legal_hold != self._legal_hold:
            self._legal_hold = request.legal_hold
            self._record("legal_hold_set" if request.legal_hold else "legal_hold_lifted")
        if request.solved and self._status is not EscalationStatus.RESOLVED:
            await self._resolve(
                ResolveInput(by="helpdesk", via=Channel.SYSTEM, resolution="ticket solved")
            )

    @workflow.update(name=names.UPDATE_ACKNOWLEDGE)
    async def acknowledge_sync(self, request: AcknowledgeInput) -> EscalationState:
        await self._acknowledge(request)
        return self._state()

    @acknowledge_sync.validator
    def _validate_acknowledge(self, request: AcknowledgeInput) -> None:
        self._refuse_when_resolved()

    @workflow.update(name=names.UPDATE_RESOLVE)
    async def resolve_sync(self, request: ResolveInput) -> EscalationState:
        await self._resolve(request)
        return self._state()

    @resolve_sync.validator
    def _validate_resolve(self, request: ResolveInput) -> None:
        self._refuse_when_resolved()

    @workflow.update(name=names.UPDATE_REASSIGN)
    async def reassign_sync(self, request: ReassignInput) -> EscalationState:
        await self._reassign(request)
        return self._state()

    @reassign_sync.validator
    def _validate_reassign(self, request: ReassignInput) -> None:
        self._refuse_when_resolved()
        if request.to_team == self._team:
            raise ApplicationError(f"already with team {request.to_team}", type="Conflict")
        refusal = self._reassign_refusal()
        if refusal:
            raise ApplicationError(refusal, type="Conflict")

    @workflow.update(name=names.UPDATE_ARBITRATE)
    async def arbitrate(self, request: ArbitrateInput) -> EscalationState:
        """A manager names the owning team: closes the circuit breaker, and the owner stays
        until a manager arbitrates again."""
        previous = self._team
        if request.owner_team != self._team:
            await self._move_to(request.owner_team)
        self._breaker_open = False
        self._owner_locked_by = request.by
        self._upsert_search_attributes()
        self._set_details()
        self._record(
            "arbitrated",
            actor=request.by,
            via=request.via,
            detail={
                "from": previous,
                "owner": request.owner_team,
                "reason": request.reason[:500],
                **_attribution(request),
            },
        )
        return self._state()

    @arbitrate.validator
    def _validate_arbitrate(self, request: ArbitrateInput) -> None:
        self._refuse_when_resolved()

    def _refuse_when_resolved(self) -> None:
        """Every Update is refused (409 at the API) once the escalation is resolved."""
        if self._status is EscalationStatus.RESOLVED:
            raise ApplicationError("escalation already resolved", type="Conflict")

    def _reassign_refusal(self) -> str:
        if self._breaker_open:
            return (
                f"circuit breaker open after {self._bounces} bounces: a manager must name the "
                "owner (POST .../arbitrate)"
            )
        if self._owner_locked_by:
            return f"owner named by manager {self._owner_locked_by}; ask a manager to arbitrate"
        return ""

    @workflow.query(name=names.QUERY_STATE)
    def state(self) -> EscalationState:
        return self._state()

    async def _acknowledge(self, request: AcknowledgeInput) -> None:
        # A signal can arrive before run() has loaded the plan; the plan says who responds.
        await workflow.wait_condition(lambda: self._plan is not None)
        if self._status is not EscalationStatus.PAGING:
            self._record(
                "acknowledge_ignored",
                actor=request.by,
                via=request.via,
                detail={"reason": f"already {self._status.value}", **_attribution(request)},
            )
            return
        self._status = EscalationStatus.ACKNOWLEDGED
        self._ack = request
        self._ack_at = workflow.now()
        self._assignee = request.by
        self._upsert_search_attributes()
        self._set_details()
        self._record(
            "acknowledged",
            actor=request.by,
            via=request.via,
            detail={"responder": self._responder_word(request.by), **_attribution(request)},
        )
        await self._sync_after_transition()

    def _responder_word(self, who: str) -> str:
        """Was the acknowledger among the escalation's responders? An outsider's ack is
        accepted (the API requires a role allowing it) and recorded as such."""
        plan = self._plan
        return "yes" if plan is not None and who in plan.responder_ids else "outsider"

    async def _resolve(self, request: ResolveInput) -> None:
        self._resolve_requested = True  # before the wait: run() must not start another step
        await workflow.wait_condition(lambda: self._plan is not None)  # keep signal order
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
            detail={"resolution": request.resolution[:2000], **_attribution(request)},
        )
        await self._sync_after_transition()

    async def _reassign(self, request: ReassignInput) -> None:
        if self._status is EscalationStatus.RESOLVED or request.to_team == self._team:
            return
        refusal = self._reassign_refusal()
        if refusal:
            self._record(
                "reassign_refused",
                actor=request.by,
                via=request.via,
                detail={"to": request.to_team, "reason": refusal, **_attribution(request)},
            )
            return
        previous = self._team
        self._bounces += 1
        await self._move_to(request.to_team)
        self._record(
            "reassigned",
            actor=request.by,
            via=request.via,
            detail={
                "from": previous,
                "to": request.to_team,
                "reason": request.reason[:500],
                **_attribution(request),
            },
        )
        plan = self._require_plan()
        if self._bounces >= plan.max_bounces:
            # Ping-pong between teams: stop it and ask a manager to name the owner.
            self._breaker_open = True
            self._upsert_search_attributes()
            self._set_details()
            self._record("circuit_breaker_open", detail={"bounces": str(self._bounces)})
            managers = [m for m in (plan.support_manager, plan.team_manager) if m is not None]
            if managers:
                self._dispatch(
                    0,
                    80 + self._bounces,
                    PlannedAction(
                        kind=ActionKind.EMAIL,
                        target=Target.SUPPORT_MANAGER,
                        recipients=list({m.person_id: m for m in managers}.values()),
                        note=f"Escalation bounced {self._bounces} times between teams: "
                        "please name the owning team (manager arbitration).",
                    ),
                    "circuit breaker",
                )

    async def _move_to(self, team: str) -> None:
        """Hand the escalation to another team: it is notified afresh and must acknowledge;
        its cadence starts now."""
        self._generation += 1
        await workflow.wait_condition(lambda: self._plan is not None)
        await self._load_plan(team=team)
        self._status = EscalationStatus.PAGING
        self._ack = None
        self._ack_at = None
        self._next_index = 0
        self._cadence_origin = workflow.now()
        self._upsert_search_attributes()
