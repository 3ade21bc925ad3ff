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
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from escalation import activity_names as names
    from escalation.activity_names import STORE_REFUSED_INPUT
    from escalation.closing import (
        CREATE_KB_DRAFT,
        ISSUE_SURVEY,
        RECORD_ESCALATION_FACTS,
        RECORD_REVIEW,
        EscalationFactsInput,
        GapCategory,
        KbDraftInput,
        ReviewInput,
        SurveyIssued,
        SurveyRequest,
    )
    from escalation.models import (
        ACK_TARGET_SECONDS,
        TIMELINE_BATCH_MAX,
        AcknowledgeInput,
        ActionOutcome,
        AgentConfirmInput,
        ArbitrateInput,
        Availability,
        AvailabilityRequest,
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
        PlannedAction,
        PlannedStep,
        PlanRequest,
        ReassignInput,
        Recipient,
        ResolvedStep,
        ResolveInput,
        StepRecord,
        StepRequest,
        SyncRequest,
        SyncResult,
        TicketUpdatedInput,
        TimelineBatch,
        TimelineEntry,
    )
    from escalation.policy import ActionKind, StopCondition, Target
    from escalation.vocabulary import Priority
    from workflows import search_attributes as sa

# Activities that only touch our own database retry until it is back; vendor deliveries get
# a bounded budget, then the channel's fallback runs (DESIGN.md section 5).
_STORE_RETRY = RetryPolicy(
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
LOOKUP_TIMEOUT = timedelta(seconds=30)

_VENDOR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["PermanentVendorError", "PlanError"],
)


_Found = TypeVar("_Found", EscalationPlan, ResolvedStep, Availability)
_LookupRequest = PlanRequest | StepRequest | AvailabilityRequest


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

    # ------------------------------------------------------------------ main line
    @workflow.run
    async def run(self, request: EscalationInput) -> EscalationState:
        self._batch_timeline = workflow.patched(PATCH_TIMELINE_BATCHES)
        self._local_lookups = workflow.patched(PATCH_LOCAL_LOOKUPS)
        await self._load_plan(team=request.team)
        # Decided once, here: a history recorded before a patch keeps its old behaviour.
        self._honour_early_stop = workflow.patched(PATCH_EARLY_STOP)
        self._in_step_order = workflow.patched(PATCH_DELIVERY_ORDER)
        self._sync_in_background = workflow.patched(PATCH_SYNC_IN_BACKGROUND)
        self._record(
            "escalation_started",
            detail={"reason": request.reason[:500], **_attribution(request)},
        )
        if workflow.patched(PATCH_CLOSE_THE_LOOP):
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

        self._set_details()
        await workflow.wait_condition(lambda: self._status is EscalationStatus.RESOLVED)
        await workflow.wait_condition(lambda: all(t.done() for t in self._tasks))
        await self._sync_channels()  # pages raised after the resolve signal, if any
        if workflow.patched(PATCH_CLOSE_THE_LOOP):
            await self._close_the_loop()
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
                retry_policy=_VENDOR_RETRY,
                summary=summary,
                activity_id=activity_id,
            )
        else:
            found = await workflow.execute_activity(
                activity,
                request,
                result_type=result_type,
                start_to_close_timeout=LOOKUP_TIMEOUT,
                retry_policy=_VENDOR_RETRY,
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

    # ------------------------------------------------------------------ steps
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
        if workflow.patched(PATCH_ONCALL_AT_STEP):
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
            if missed and workflow.patched(PATCH_ACK_MISSED):
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

    def _dispatch(
        self, step_index: int, action_index: int, action: PlannedAction, label: str
    ) -> None:
        """Deliver one action in the background (a slow vendor never delays the cadence)."""
        plan = self._require_plan()
        customer_message = (
            self._customer_message() if action.kind is ActionKind.CUSTOMER_COMMUNICATION else ""
        )
        if action.note and action.kind is ActionKind.CUSTOMER_COMMUNICATION:
            customer_message = action.note
        request = DeliverRequest(
            escalation_key=f"{self._key}.g{self._generation}",
            workflow_id=workflow.info().workflow_id,
            ticket_id=self._input.ticket_id,
            priority=self._input.priority,
            route=plan.route,
            team=plan.team,
            team_name=plan.team_name,
            step_index=step_index,
            action_index=action_index,
            action=action,
            subject=self._input.subject,
            customer_name=self._input.customer_name,
            customer_tier=self._input.customer_tier,
            paging_provider=plan.paging_provider,
            pagerduty_routing_key=plan.pagerduty_routing_key,
            responders=self._responders(),
            legal_hold=self._legal_hold,
            customer_message=customer_message,
            helpdesk=self._input.helpdesk,
            helpdesk_ticket_id=self._input.helpdesk_ticket_id,
        )
        self._dispatched += 1
        number = self._dispatched
        self._in_flight[number] = ((self._generation, step_index), action.kind)
        self._tasks.append(asyncio.create_task(self._deliver(request, label, number)))

    def _earlier_step_in_flight(self, number: int) -> bool:
        """Is a delivery of the same kind from an earlier step still being retried?"""
        batch, kind = self._in_flight[number]
        return any(
            other < number and other_kind is kind and other_batch != batch
            for other, (other_batch, other_kind) in self._in_flight.items()
        )

    def _customer_message(self) -> str:
        """The promise made to the customer, with the real computed time."""
        plan = self._require_plan()
        if not self._business_open and self._next_business_start is not None:
            when = self._next_business_start
        else:
            target = ACK_TARGET_SECONDS[self._input.priority] * self._input.time_scale
            when = workflow.now() + timedelta(seconds=target)
        return (
            f"Your issue ({self._input.subject or self._input.ticket_id}) has been escalated to "
            f"our {plan.team_name} and will be addressed by {when:%Y-%m-%d %H:%M} UTC."
        )

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
        return workflow.patched(PATCH_QUEUE_FIRST)

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
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._stop_met(condition),
                timeout=timedelta(seconds=seconds),
                timeout_summary=summary,
            )
        return self._stop_met(condition)

    # ------------------------------------------------------------------ closing the loop
    async def _record_facts(self) -> None:
        plan = self._require_plan()
        await self._write_to_store(
            RECORD_ESCALATION_FACTS,
            EscalationFactsInput(
                escalation_key=self._key,
                ticket_id=self._input.ticket_id,
                agent_id=self._input.original_agent,
                agent_team=plan.team,
                category=plan.route.value,
                reason=self._input.reason,
                triggers=self._input.triggers[:50],
            ),
            summary="record who escalated and why",
        )

    async def _close_the_loop(self) -> None:
        """Hand the resolution back: note in the help desk, the original agent told to answer
        the customer in their own voice, the review recorded, a KB draft when asked for, and
        the CSAT survey once the agent confirms."""
        resolution = self._resolution
        if resolution is None:
            return
        text = f"Resolved by {resolution.by}: {resolution.resolution or 'no details given'}"
        self._dispatch(
            CLOSING_STEP, 0, PlannedAction(kind=ActionKind.HELPDESK_NOTE, note=text), "hand-back"
        )
        if self._input.original_agent_email:
            agent = Recipient(
                person_id=self._input.original_agent,
                name=self._input.original_agent or "agent",
                email=self._input.original_agent_email,
            )
            self._dispatch(
                CLOSING_STEP,
                1,
                PlannedAction(
                    kind=ActionKind.EMAIL,
                    recipients=[agent],
                    note=f"{text}\n\nThe ticket is back with you: please tell the customer in "
                    "your own voice, then confirm (POST /v1/escalations/"
                    f"{self._input.ticket_id}/confirm) so the satisfaction survey goes out.",
                ),
                "hand-back to agent",
            )
        gap = next((g for g in GapCategory if g.value == resolution.preventable), None)
        await self._write_to_store(
            RECORD_REVIEW,
            ReviewInput(
                escalation_key=self._key,
                necessary=resolution.necessary,
                preventable=(gap is not None) if resolution.preventable is not None else None,
                gap_category=gap,
                specialist_feedback=resolution.resolution[:5000],
                reviewed_by=resolution.by,
                agent_id=self._input.original_agent,
                trigger_types=self._input.triggers[:50],
            ),
            summary="record the escalation review",
        )
        if resolution.kb_article_needed or self._input.kb_article_suggested:
            plan = self._require_plan()
            await self._write_to_store(
                CREATE_KB_DRAFT,
                KbDraftInput(
                    escalation_key=self._key,
                    ticket_id=self._input.ticket_id,
                    title=(self._input.subject or f"Ticket {self._input.ticket_id}")[:300],
                    problem=self._input.reason[:20000],
                    resolution=resolution.resolution[:20000],
                    route=plan.route.value,
                    tags=[plan.route.value, self._input.priority.value.lower()],
                    created_by=resolution.by,
                ),
                summary="draft a knowledge-base article",
            )
            self._record("kb_draft_created")
        customer = self._customer_recipient()
        if customer is None:
            return
        wait = CONFIRMATION_WINDOW_SECONDS * self._input.time_scale
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._agent_confirmed is not None,
                timeout=timedelta(seconds=wait),
                timeout_summary="until the agent confirms the customer was told",
            )
        if self._agent_confirmed is None:
            self._record("agent_confirmation_missing")
            return
        survey: SurveyIssued = await workflow.execute_activity(
            ISSUE_SURVEY,
            SurveyRequest(escalation_key=self._key, ticket_id=self._input.ticket_id),
            result_type=SurveyIssued,
            start_to_close_timeout=timedelta(seconds=20),
            retry_policy=_STORE_RETRY,
            summary="issue the CSAT survey link",
        )
        self._dispatch(
            CLOSING_STEP,
            2,
            PlannedAction(
                kind=ActionKind.CUSTOMER_COMMUNICATION,
                target=Target.CUSTOMER,
                recipients=[customer],
                note="Your issue has been resolved. How did we do? Rate us from 1 to 5: "
                f"{survey.url}",
            ),
            "CSAT survey",
        )
        self._record("survey_sent", detail={"survey_id": str(survey.survey_id)})

    @workflow.signal(name=names.SIGNAL_AGENT_CONFIRMED)
    async def agent_confirmed(self, request: AgentConfirmInput) -> None:
        if self._agent_confirmed is None:
            self._agent_confirmed = request
            self._record("agent_confirmed", actor=request.by, via=request.via)

    async def _honour_requested_person(self, person_id: str) -> None:
        """The customer asked for someone by name. If they are away, their designated backup
        handles it, the customer is told, and the person is asked to review on return."""
        availability = await self._look_up(
            names.CHECK_AVAILABILITY,
            AvailabilityRequest(person_id=person_id, at=workflow.now()),
            result_type=Availability,
            summary=f"is {person_id} available?",
        )
        if availability.available:
            self._assignee = person_id
            self._record("requested_person_assigned", detail={"person": person_id})
            return
        backup = availability.backup
        if backup is not None:
            self._assignee = backup.person_id
        back_at = availability.back_at
        self._record(
            "requested_person_unavailable",
            detail={
                "person": person_id,
                "backup": (backup.person_id or "") if backup else "",
                "back_at": back_at.isoformat() if back_at else "",
            },
        )
        name = availability.person.name if availability.person else person_id
        handler = backup.name if backup else "Our team"
        note = (
            f"{name} is away until {back_at:%Y-%m-%d %H:%M} UTC. {handler} is handling your "
            f"issue with its full history and notes, and {name} will review it on return."
            if back_at
            else f"{name} is away. {handler} is handling your issue with its full history."
        )
        customer = self._customer_recipient()
        if customer is not None:
            self._dispatch(
                0,
                90,
                PlannedAction(
                    kind=ActionKind.CUSTOMER_COMMUNICATION,
                    target=Target.CUSTOMER,
                    recipients=[customer],
                    note=note,
                ),
                "requested person away",
            )
        if back_at is not None and availability.person is not None:
            self._tasks.append(asyncio.create_task(self._ask_for_review(availability, back_at)))

    async def _ask_for_review(self, availability: Availability, back_at: datetime) -> None:
        """Durable timer until the requested person returns, then ask them to follow up."""
        delay = (back_at - workflow.now()).total_seconds()
        if delay > 0:
            await workflow.sleep(
                timedelta(seconds=delay), summary="until the requested person returns"
            )
        person = availability.person
        if person is None:
            return
        self._record("requested_person_returned", detail={"person": availability.person_id})
        self._dispatch(
            0,
            91,
            PlannedAction(
                kind=ActionKind.EMAIL,
                target=None,
                recipients=[person],
                note="You were asked for by name while away: please review this escalation "
                "and follow up with the customer.",
            ),
            "requested person back",
        )

    def _customer_recipient(self) -> Recipient | None:
        if not self._input.customer_email:
            return None
        name = self._input.customer_name or "customer"
        return Recipient(name=name, email=self._input.customer_email)

    def _responders(self) -> list[Recipient]:
        plan = self._require_plan()
        people = [p for p in (plan.primary_oncall, plan.secondary_oncall) if p is not None]
        return people

    async def _deliver(self, request: DeliverRequest, label: str, number: int) -> None:
        try:
            if self._in_step_order and self._earlier_step_in_flight(number):
                # After an outage, pages must arrive in step order: wait for the earlier ones.
                await workflow.wait_condition(lambda: not self._earlier_step_in_flight(number))
            result = await self._deliver_with_fallback(request, label)
        finally:
            self._in_flight.pop(number, None)
        action = request.action
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

    async def _deliver_with_fallback(self, request: DeliverRequest, label: str) -> DeliveryResult:
        action = request.action
        who = ", ".join(r.name for r in action.recipients) or action.channel or "team"
        summary = f"{label}: {action.kind.value} -> {who}"
        try:
            return await self._deliver_once(request, summary)
        except ActivityError as err:
            # The vendor stayed down past the retry budget: use the channel's fallback.
            self._record(
                "delivery_retries_exhausted",
                step_index=request.step_index,
                detail={"action": action.kind.value, "error": str(err.cause or err)[:300]},
            )
        fallback = request.model_copy(update={"use_fallback": True})
        try:
            return await self._deliver_once(fallback, f"fallback for {summary}")
        except ActivityError as final:
            return DeliveryResult(
                outcome=ActionOutcome.FAILED,
                channel=action.kind.value,
                detail=str(final.cause or final)[:300],
            )

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

    # ------------------------------------------------------------------ transitions
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

    async def _sync_after_transition(self) -> None:
        """Every channel follows an acknowledge or resolve. Once patched, the handler (and the
        Update's answer) no longer waits for the vendors: the sync runs on as a task."""
        if self._sync_in_background:
            self._tasks.append(asyncio.create_task(self._sync_channels()))
        else:
            await self._sync_channels()

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

    # ------------------------------------------------------------------ visibility
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
    ) -> None:
        """Write one timeline line to the store (idempotent on its event key)."""
        self._sequence += 1
        entry = TimelineEntry(
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
        # Not awaited: a slow or restarting database must never delay a page. The sequence
        # number lets the store apply snapshots in order whatever order they arrive in.
        if not self._batch_timeline:
            self._tasks.append(asyncio.create_task(self._store(entry)))
            return
        self._unrecorded.append(entry)
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
                await self._write_to_store(
                    names.RECORD_TIMELINE_BATCH,
                    TimelineBatch(entries=batch),
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
                retry_policy=_STORE_RETRY,
                summary=summary[:200],
            )
        except ActivityError as err:
            cause = err.cause
            if not (isinstance(cause, ApplicationError) and cause.type == STORE_REFUSED_INPUT):
                raise
            workflow.logger.error("the store refused %s: %s", activity, cause.message)
