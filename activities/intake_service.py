"""Intake: one ticket event in, a decision and its effects out.

    claim the event (unique on source + event key; a replay answers the stored response)
    -> index the ticket, build its TicketContext with SQL -> evaluate (pure)
    -> act: escalate (start the ticket's escalation, or tell the running one), open or join the
       outage incident, or only suggest / nothing -> give TicketWatch the clock facts
    -> record the decision, the response and (when escalating) the escalation package.

Used by `POST /v1/tickets/events`, the help-desk webhooks and the TicketWatch clock activity
(`check_clock`, which re-evaluates the ticket's last event at the deadline's ticket time).

**Why it lives in activities/.** Intake is side effects (the store, Temporal starts and
signals), so it cannot live in the pure escalation/ core, and the worker's clock activity needs
it, so it cannot live in api/ (activities must not depend on the HTTP layer). activities/ is the
side-effect layer both outer processes already build on: the worker registers activities from
it, and api/ is the outermost layer, free to import it. It takes no FastAPI type; its results
are the pure models of escalation/intake_results.py, and it starts workflows through
activities/escalation_starter.py.

**Outage incidents.** A burst of similar tickets across customers (the mass pattern) opens one
escalation, not one per ticket. Its ticket id is derived from the decision's `incident_key`
(`outage:<area>:<oldest ticket>`, see `incident_ticket_id`), so every ticket of the burst names
the same escalation (`escalation-outage:<area>:<oldest ticket>`); once an incident is open for
the area, later tickets join it (`TicketContext.open_outage_incident_id`) until its escalation
is resolved. Tickets are linked in `outage_incident_tickets` (and `intake_tickets.
outage_incident_key`), every newly linked ticket is added to the incident's timeline as a note,
and the response lists the linked tickets. The linked tickets get no escalation of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from temporalio.client import Client

from activities.crm_enrichment import CrmEnricher
from activities.escalation_starter import (
    escalation_workflow_id,
    signal_escalation,
    start_or_get_escalation,
    tell_watch,
)
from escalation import activity_names as names
from escalation.calendar import BusinessHours
from escalation.helpdesk_mapping import merge_history
from escalation.intake import (
    CachingScorer,
    clock_facts,
    content_event_key,
    current_message_keys,
    escalation_input,
    implausible_times,
    incident_input,
    incident_ticket_id,
    load_trigger_policy,
    prior_sentiments,
    route_team,
    sla_calendar,
    updated_sentiments,
    without_nul,
)
from escalation.intake_package import (
    EscalationContextPackage,
    HistoryItem,
    PackageSimilar,
    build_package,
)
from escalation.intake_results import (
    CrmEnrichment,
    EscalationRef,
    Suggestion,
    TicketEventResult,
    WatchRef,
)
from escalation.models import Channel, NoteInput, TicketUpdatedInput
from escalation.policy import Policy
from escalation.settings import Settings
from escalation.ticket_clock import (
    CRITICAL_PRIORITIES,
    ClockCheckRequest,
    ClockCheckResult,
    next_deadline,
    sla_paused_minutes,
    sla_pending_minutes,
    watch_workflow_id,
)
from escalation.triggers import (
    DecisionAction,
    SentimentScorer,
    TicketContext,
    TicketEvent,
    TicketStatus,
    TriggerDecision,
    evaluate,
)
from escalation.triggers.similarity import normalise_for_similarity, ticket_text
from escalation.vocabulary import Priority, RouteKey
from store.intake import IntakeRepository, TicketRow, decision_values

__all__ = ["EventInFlight", "ImplausibleEvent", "IntakeService"]

VENDOR_SOURCES = frozenset({"zendesk", "freshdesk", "intercom"})
ClientProvider = Callable[[], Awaitable[Client]]


class EventInFlight(Exception):
    """The same event is being processed right now (the sender should retry later)."""


class ImplausibleEvent(ValueError):
    """An event no ticket can have: times more than 10 years old or in the future, or a field
    that is invalid once its NUL characters are dropped; nothing is stored."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{where}: {what}" for where, what in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Prepared:
    event: TicketEvent
    decision: TriggerDecision
    normalized: str
    previous: TicketRow | None
    escalation_known: bool
    sentiments: list[dict[str, object]]
    scorer: CachingScorer
    calendar: BusinessHours | None
    evaluated_at: datetime
    status_marks: list[tuple[datetime, bool]]  # (arrived, pending?) of the ticket's events


def _now() -> datetime:
    return datetime.now(UTC)


class IntakeService:
    def __init__(
        self,
        *,
        repository: IntakeRepository,
        policy: Policy,
        settings: Settings,
        scorer: SentimentScorer,
        client: ClientProvider,
        crm: CrmEnricher | None = None,
    ) -> None:
        self._repo = repository
        self._policy = policy
        self._triggers = load_trigger_policy(policy)
        self._settings = settings
        self._scorer = scorer
        self._client = client
        self._crm = crm

    @property
    def repository(self) -> IntakeRepository:
        return self._repo

    async def aclose(self) -> None:
        if self._crm is not None:
            await self._crm.aclose()

    # ------------------------------------------------------------------ entry points
    async def ingest(
        self,
        event: TicketEvent,
        *,
        source: str,
        event_key: str | None = None,
        received_at: datetime | None = None,
    ) -> TicketEventResult:
        """Process one event once. Webhook events are completed from the ticket's history."""
        now = received_at or _now()
        try:
            event = without_nul(event)
        except ValidationError as err:  # e.g. "\x00@globex.example" is no address without NUL
            raise ImplausibleEvent(
                [
                    (".".join(str(part) for part in e["loc"]), f"{e['msg']} once NUL is removed")
                    for e in err.errors()
                ]
            ) from err
        problems = implausible_times(event, now)
        if problems:
            raise ImplausibleEvent(problems)
        key = event_key or event.event_id or content_event_key(event)
        claim = await asyncio.to_thread(
            self._repo.claim_event, source=source, event_key=key, event=event, received_at=now
        )
        if claim.duplicate:
            if claim.state == "done" and claim.response is not None:
                stored = TicketEventResult.model_validate(claim.response)
                return stored.model_copy(update={"duplicate": True})
            raise EventInFlight(key)
        try:
            # After the claim, so a replay never asks the CRM; before the evaluation, so the
            # triggers (VIP, revenue, health drop) see the account as the CRM knows it.
            crm: CrmEnrichment | None = None
            if self._crm is not None:
                event, crm = await self._crm.enrich(event)
            return await self._process(
                event,
                source=source,
                key=key,
                row_id=claim.event_row_id,
                evaluated_at=now,
                merge=source in VENDOR_SOURCES,
                tell_the_watch=True,
                crm=crm,
            )
        except BaseException:
            await asyncio.shield(asyncio.to_thread(self._repo.release_event, claim.event_row_id))
            raise

    async def check_clock(self, request: ClockCheckRequest) -> ClockCheckResult:
        """A TicketWatch deadline came due: evaluate the ticket's last event at that ticket
        time and act on the decision (idempotent per deadline: an activity retry finds it)."""
        event = await asyncio.to_thread(self._repo.latest_event, request.ticket_id)
        if event is None:
            return ClockCheckResult(action=DecisionAction.NONE.value, skipped="unknown ticket")
        if event.resolved:
            return ClockCheckResult(action=DecisionAction.NONE.value, resolved=True)
        key = f"{request.deadline_key}@{request.at.isoformat()}"
        claim = await asyncio.to_thread(
            self._repo.claim_event, source="clock", event_key=key, event=event, received_at=_now()
        )
        if claim.duplicate:
            if claim.state == "done" and claim.response is not None:
                return _clock_result(TicketEventResult.model_validate(claim.response), event)
            raise EventInFlight(key)
        try:
            result = await self._process(
                event,
                source="clock",
                key=key,
                row_id=claim.event_row_id,
                evaluated_at=request.at,
                merge=False,
                tell_the_watch=False,
            )
        except BaseException:
            await asyncio.shield(asyncio.to_thread(self._repo.release_event, claim.event_row_id))
            raise
        return _clock_result(result, event)

    # ------------------------------------------------------------------ pipeline
    async def _process(
        self,
        event: TicketEvent,
        *,
        source: str,
        key: str,
        row_id: int,
        evaluated_at: datetime,
        merge: bool,
        tell_the_watch: bool,
        crm: CrmEnrichment | None = None,
    ) -> TicketEventResult:
        prepared = await asyncio.to_thread(self._prepare, event, evaluated_at, merge)
        client = await self._client()
        if tell_the_watch:  # independent: the escalation and the clock are told at once
            escalation, watch = await asyncio.gather(
                self._act(client, prepared, source), self._watch(client, prepared, row_id)
            )
        else:
            escalation, watch = await self._act(client, prepared, source), None
        decision = prepared.decision
        result = TicketEventResult(
            event_key=key,
            source=source,
            ticket_id=decision.ticket_id,
            action=decision.action,
            priority=decision.priority,
            legal_hold=decision.legal_hold,
            reason=decision.reason,
            decision=decision,
            suggestion=Suggestion(
                reason=decision.reason,
                guidance=decision.guidance,
                triggers=[t.kind for t in decision.active_triggers],
            )
            if decision.action is DecisionAction.SUGGEST
            else None,
            escalation=escalation,
            watch=watch,
            package_url=f"/v1/escalations/{escalation.ticket_id}/package" if escalation else None,
            crm=crm,
        )
        await asyncio.to_thread(self._record, prepared, result, source, row_id)
        return result

    def _prepare(self, event: TicketEvent, evaluated_at: datetime, merge: bool) -> Prepared:
        if merge:
            event = merge_history(self._repo.latest_event(event.ticket_id), event)
        normalized = normalise_for_similarity(ticket_text(event.subject, event.description))
        p = self._triggers
        around = self._repo.prepare(
            event,
            normalized,
            _now(),
            repeat_window=timedelta(hours=p.repeat_window_hours),
            mass_window=timedelta(minutes=p.mass_pattern_window_minutes),
        )
        previous = around.previous
        stored = previous.message_sentiments if previous is not None else []
        known_priority = (previous.priority if previous else None) or event.requester_priority
        critical = known_priority in CRITICAL_PRIORITIES
        calendar = (
            None if critical else sla_calendar(self._policy, previous.route if previous else None)
        )
        # The SLA clock also stands still while the ticket waits on the customer (pending),
        # for every priority; this event's own status holds from now on.
        marks = [
            (at, status == TicketStatus.PENDING.value)
            for at, status in self._repo.status_marks(event.ticket_id)
        ]
        marks.append((evaluated_at, event.status is TicketStatus.PENDING))
        context = TicketContext(
            customer_recent_tickets=around.customer_tickets,
            area_recent_tickets=around.area_tickets,
            prior_customer_sentiments=prior_sentiments(stored, current_message_keys(event))[
                -1_000:
            ],
            open_outage_incident_id=around.open_incident,
            sla_paused_minutes=sla_paused_minutes(calendar, event.created_at, evaluated_at)
            + sla_pending_minutes(calendar, marks, evaluated_at),
        )
        scorer = CachingScorer(self._scorer)
        decision = evaluate(event, context, evaluated_at, self._triggers, scorer)
        return Prepared(
            event=event,
            decision=decision,
            normalized=normalized,
            previous=previous,
            escalation_known=around.escalation_known,
            sentiments=updated_sentiments(stored, event, scorer),
            scorer=scorer,
            calendar=sla_calendar(self._policy, decision.route.route),
            evaluated_at=evaluated_at,
            status_marks=marks,
        )

    async def _act(self, client: Client, prepared: Prepared, source: str) -> EscalationRef | None:
        decision, event = prepared.decision, prepared.event
        queue = self._settings.temporal_task_queue
        if decision.action is DecisionAction.ESCALATE:
            request = escalation_input(
                event,
                decision,
                time_scale=self._settings.escalation_time_scale,
                requested_by=f"intake:{source}",
                helpdesk=source if source in VENDOR_SOURCES else None,
            )
            team = route_team(self._policy, decision.route.route) or "l2"
            outcome = await start_or_get_escalation(client, request, team=team, task_queue=queue)
            if not outcome.created:
                await signal_escalation(
                    client, event.ticket_id, names.SIGNAL_TICKET_UPDATED, _ticket_update(prepared)
                )
            return self._ref("ticket", event.ticket_id, started=outcome.created)
        if decision.action is DecisionAction.OUTAGE_INCIDENT:
            return await self._join_incident(client, prepared)
        if prepared.escalation_known and await signal_escalation(
            client, event.ticket_id, names.SIGNAL_TICKET_UPDATED, _ticket_update(prepared)
        ):
            return self._ref("ticket", event.ticket_id, started=False)
        return None

    async def _join_incident(self, client: Client, prepared: Prepared) -> EscalationRef:
        decision, event = prepared.decision, prepared.event
        incident = decision.outage_incident
        assert incident is not None
        ticket = incident.existing_incident_id or incident_ticket_id(incident.incident_key)
        now = _now()
        key = await asyncio.to_thread(
            self._repo.open_incident,
            incident_key=incident.incident_key,
            escalation_ticket_id=ticket,
            product_area=incident.product_area,
            first_ticket_id=incident.ticket_ids[0],
            now=now,
        )
        newly = await asyncio.to_thread(
            self._repo.link_incident_tickets, key, incident.ticket_ids, now
        )
        request = incident_input(
            event, decision, ticket, time_scale=self._settings.escalation_time_scale
        )
        team = route_team(self._policy, RouteKey.OUTAGE) or "engineering"
        outcome = await start_or_get_escalation(
            client, request, team=team, task_queue=self._settings.temporal_task_queue
        )
        if newly:
            await signal_escalation(
                client,
                ticket,
                names.SIGNAL_ADD_NOTE,
                NoteInput(
                    by="intake",
                    via=Channel.SYSTEM,
                    text=f"Linked to outage incident {key}: {', '.join(newly)}"[:5000],
                ),
            )
        linked = await asyncio.to_thread(self._repo.incident_tickets, key)
        return self._ref(
            "outage_incident",
            ticket,
            started=outcome.created,
            updated=not outcome.created and bool(newly),
            incident_key=key,
            linked=linked,
        )

    def _ref(
        self,
        kind: str,
        ticket_id: str,
        *,
        started: bool,
        updated: bool | None = None,
        incident_key: str | None = None,
        linked: list[str] | None = None,
    ) -> EscalationRef:
        workflow_id = escalation_workflow_id(ticket_id)
        s = self._settings
        return EscalationRef(
            kind="outage_incident" if kind == "outage_incident" else "ticket",
            ticket_id=ticket_id,
            workflow_id=workflow_id,
            started=started,
            updated=(not started) if updated is None else updated,
            incident_key=incident_key,
            linked_tickets=linked or [],
            temporal_ui_url=f"{s.temporal_ui_url}/namespaces/{s.temporal_namespace}"
            f"/workflows/{workflow_id}",
        )

    async def _watch(self, client: Client, prepared: Prepared, revision: int) -> WatchRef:
        facts = clock_facts(
            prepared.event,
            prepared.decision,
            self._triggers,
            prepared.calendar,
            revision=revision,
            observed_at=prepared.evaluated_at,
            time_scale=self._settings.escalation_time_scale,
        )
        facts = facts.model_copy(  # the pause is measured on the clock the facts' SLA follows
            update={
                "sla_pending": prepared.event.status is TicketStatus.PENDING,
                "sla_pending_minutes": sla_pending_minutes(
                    facts.calendar, prepared.status_marks, prepared.evaluated_at
                ),
            }
        )
        told = await tell_watch(client, facts, task_queue=self._settings.temporal_task_queue)
        return WatchRef(
            workflow_id=watch_workflow_id(facts.ticket_id),
            watching=told and not facts.resolved,
            next_deadline=next_deadline(facts, frozenset()),
        )

    def _record(
        self, prepared: Prepared, result: TicketEventResult, source: str, row_id: int
    ) -> None:
        decision, event = prepared.decision, prepared.event
        now = _now()
        escalation = result.escalation
        packages: list[tuple[str, str, dict[str, Any]]] = []
        if escalation is not None:
            body = self._package(prepared, escalation.workflow_id, source, now).model_dump(
                mode="json"
            )
            packages.append((event.ticket_id, escalation.workflow_id, body))
            if escalation.ticket_id != event.ticket_id:
                packages.append((escalation.ticket_id, escalation.workflow_id, body))
        self._repo.finish(
            row_id,
            event.ticket_id,
            completed={
                "payload": event.model_dump(mode="json"),
                "decision": decision.model_dump(mode="json"),
                "response": result.model_dump(mode="json"),
                "action": decision.action.value,
                "priority": decision.priority.value,
                "route": decision.route.route.value,
                "legal_hold": decision.legal_hold,
                "escalation_workflow_id": escalation.workflow_id if escalation else None,
            },
            decision_values=decision_values(
                priority=decision.priority.value,
                route=decision.route.route.value,
                legal_hold=decision.legal_hold,
                message_sentiments=[dict(s) for s in prepared.sentiments],
                last_event_id=row_id,
                escalation_workflow_id=escalation.workflow_id
                if escalation is not None and escalation.kind == "ticket"
                else None,
                outage_incident_key=escalation.incident_key if escalation is not None else None,
                now=now,
            ),
            packages=packages,
            now=now,
        )

    def _package(
        self, prepared: Prepared, workflow_id: str, source: str, now: datetime
    ) -> EscalationContextPackage:
        event, decision = prepared.event, prepared.decision
        since = event.created_at - timedelta(hours=self._triggers.repeat_window_hours)
        rows, matches, recent = self._repo.package_inputs(
            event.ticket_id,
            event.customer.customer_id,
            event.product_area,
            prepared.normalized,
            since,
        )
        history = [
            HistoryItem(
                at=row.received_at,
                source=row.source,
                event=TicketEvent.model_validate(row.payload),
                action=row.action,
                priority=row.priority,
            )
            for row in rows
        ]
        history.append(
            HistoryItem(
                at=now,
                source=source,
                event=event,
                action=decision.action.value,
                priority=decision.priority.value,
            )
        )
        similar = [
            PackageSimilar(
                ticket_id=m.ticket_id,
                subject=m.subject,
                similarity=m.similarity,
                resolution=m.resolution,
                resolved_by=m.resolved_by,
                resolved_at=m.resolved_at,
            )
            for m in matches
        ]
        return build_package(
            event=event,
            decision=decision,
            escalation_workflow_id=workflow_id,
            history=history,
            similar=similar,
            scorer=prepared.scorer,
            tickets_last_48h=recent,
            now=now,
        )


def _ticket_update(prepared: Prepared) -> TicketUpdatedInput:
    event = prepared.event
    priority: Priority | None = prepared.decision.priority
    return TicketUpdatedInput(
        status=event.status.value,
        priority=priority,
        comment_count=len(event.comments),
        solved=event.resolved,
    )


def _clock_result(result: TicketEventResult, event: TicketEvent) -> ClockCheckResult:
    escalation = result.escalation
    return ClockCheckResult(
        action=result.action.value,
        priority=result.priority,
        triggers=[t.kind.value for t in result.decision.active_triggers],
        escalation_workflow_id=escalation.workflow_id if escalation else None,
        escalation_started=bool(escalation and escalation.started),
        next_check_at=result.decision.next_check_at,
        resolved=event.resolved,
    )
