"""/v1/escalations: start, list, inspect and act on escalations."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from temporalio.client import WorkflowHandle

from activities.escalation_starter import start_or_get_escalation
from api.auth import Principal, require
from api.deps import GatewayDep, PolicyDep, RepositoryDep, SettingsDep
from api.schemas import (
    Accepted,
    AcknowledgeBody,
    ArbitrateBody,
    ConfirmBody,
    EscalationCreate,
    EscalationCreated,
    EscalationDetail,
    EscalationList,
    EscalationSummary,
    NoteBody,
    ReassignBody,
    ResolveBody,
    TimelineItem,
)
from api.temporal_gateway import TemporalGateway, translate_errors, workflow_id_for
from escalation import activity_names as names
from escalation.apikeys import Permission
from escalation.models import (
    AcknowledgeInput,
    AgentConfirmInput,
    ArbitrateInput,
    Channel,
    EscalationInput,
    EscalationState,
    EscalationStatus,
    NoteInput,
    ReassignInput,
    ResolveInput,
)
from escalation.policy import Policy

router = APIRouter(prefix="/v1/escalations", tags=["escalations"])

TicketPath = Annotated[str, "ticket id"]
# Every route names the permission it needs; mutations also take the caller, whose key name
# goes into the workflow input (`api_key_name`) and so into the timeline next to `by`.
CanStart = Annotated[Principal, Depends(require(Permission.START_ESCALATION))]
CanRespond = Annotated[Principal, Depends(require(Permission.RESPOND))]
CanManage = Annotated[Principal, Depends(require(Permission.MANAGE))]
CAN_READ = [Depends(require(Permission.READ))]


async def _query_state(gateway: TemporalGateway, ticket_id: str) -> EscalationState:
    handle = await gateway.handle(ticket_id)
    try:
        state: EscalationState = await handle.query(names.QUERY_STATE, result_type=EscalationState)
    except Exception as exc:
        gateway.escalation_keys.forget(ticket_id)
        raise await translate_errors(ticket_id, handle, exc) from exc
    gateway.escalation_keys.remember(ticket_id, state.escalation_key)
    return state


@router.post(
    "",
    response_model=EscalationCreated,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "the ticket already has a running escalation"}},
)
async def create_escalation(
    body: EscalationCreate,
    response: Response,
    gateway: GatewayDep,
    settings: SettingsDep,
    policy: PolicyDep,
    principal: CanStart,
    wait: Annotated[
        bool,
        Query(
            description="also wait (at most 5 s) for a worker to load the plan and answer "
            "with the escalation's state; by default the answer comes as soon as the "
            "escalation is durably started, with `state` null"
        ),
    ] = False,
) -> EscalationCreated:
    """Escalate a ticket explicitly. Idempotent per ticket: while an escalation for the ticket
    runs, a second call returns it (200) instead of starting another."""
    if body.team is not None:
        _known_team(policy, body.team, "team")
    if body.requested_person is not None and body.requested_person not in {
        p.id for p in policy.people
    }:
        raise _unprocessable("requested_person", f"unknown person {body.requested_person!r}")
    client = await gateway.client()
    workflow_id = workflow_id_for(body.ticket_id)
    request = EscalationInput(
        ticket_id=body.ticket_id,
        priority=body.priority,
        route=body.route,
        team=body.team,
        subject=body.subject,
        reason=body.reason,
        customer_name=body.customer.name,
        customer_tier=body.customer.tier,
        customer_email=body.customer.email,
        triggers=body.triggers,
        requested_by=body.requested_by,
        api_key_name=principal.name,
        time_scale=settings.escalation_time_scale,
        suspected_bug=body.suspected_bug,
        legal_hold=body.legal_hold,
        requested_person=body.requested_person,
        original_agent=body.original_agent,
        original_agent_email=body.original_agent_email,
        helpdesk=body.helpdesk,
        helpdesk_ticket_id=body.helpdesk_ticket_id,
    )
    team = body.team or policy.routes[body.route].chain[0]
    outcome = await start_or_get_escalation(
        client, request, team=team, task_queue=settings.temporal_task_queue
    )
    created = outcome.created
    if not created:
        response.status_code = status.HTTP_200_OK
    # Not waiting by default: a busy worker must not hold the ticket system's request (the
    # escalation is durable once started; GET shows its state).
    state = await _state_when_ready(gateway, body.ticket_id) if wait else None
    return EscalationCreated(
        ticket_id=body.ticket_id,
        workflow_id=workflow_id,
        created=created,
        temporal_ui_url=gateway.ui_url(body.ticket_id),
        state=state,
    )


async def _state_when_ready(gateway: TemporalGateway, ticket_id: str) -> EscalationState | None:
    """The state right after start, if a worker answers quickly; None otherwise (the
    escalation is durable either way)."""
    try:
        return await asyncio.wait_for(_query_state(gateway, ticket_id), timeout=5)
    except (TimeoutError, HTTPException):
        return None


@router.get("", response_model=EscalationList, dependencies=CAN_READ)
async def list_escalations(
    repository: RepositoryDep,
    status_filter: Annotated[EscalationStatus | None, Query(alias="status")] = None,
    priority: Annotated[str | None, Query(pattern=r"^P[0-3]$")] = None,
    team: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,  # larger: a 500 from PostgreSQL
) -> EscalationList:
    """Escalations from the system of record, newest first."""
    rows, total = await asyncio.to_thread(
        repository.list_escalations,
        status=status_filter.value if status_filter else None,
        priority=priority,
        team=team,
        limit=limit,
        offset=offset,
    )
    return EscalationList(
        total=total, items=[EscalationSummary.model_validate(row) for row in rows]
    )


@router.get("/{ticket_id}", response_model=EscalationDetail, dependencies=CAN_READ)
async def get_escalation(
    ticket_id: TicketPath, gateway: GatewayDep, repository: RepositoryDep
) -> EscalationDetail:
    """Live state from the workflow, and the timeline recorded so far."""
    known_key = gateway.escalation_keys.get(ticket_id)
    if known_key is None:
        state = await _query_state(gateway, ticket_id)
        events = await asyncio.to_thread(repository.timeline, state.escalation_key)
    else:
        # The key is known from an earlier answer: read the timeline while the workflow
        # answers the query, and read it again only if the ticket has a new escalation since.
        reading = asyncio.ensure_future(asyncio.to_thread(repository.timeline, known_key))
        try:
            state = await _query_state(gateway, ticket_id)
        except BaseException:
            _abandon(reading)
            raise
        if state.escalation_key == known_key:
            events = await reading
        else:
            _abandon(reading)
            events = await asyncio.to_thread(repository.timeline, state.escalation_key)
    return EscalationDetail(
        state=state,
        temporal_ui_url=gateway.ui_url(ticket_id),
        timeline=[TimelineItem.model_validate(e) for e in events],
    )


def _abandon(reading: asyncio.Future[Any]) -> None:
    """Drop a read whose answer is not needed (its outcome is retrieved, so nothing logs it)."""

    def retrieve(done: asyncio.Future[Any]) -> None:
        if not done.cancelled():
            done.exception()

    reading.cancel()
    reading.add_done_callback(retrieve)


async def _update(
    gateway: TemporalGateway, ticket_id: str, update: str, argument: Any
) -> EscalationState:
    handle: WorkflowHandle[Any, Any] = await gateway.handle(ticket_id)
    try:
        result: EscalationState = await handle.execute_update(
            update, argument, result_type=EscalationState
        )
    except Exception as exc:
        raise await translate_errors(ticket_id, handle, exc) from exc
    gateway.escalation_keys.remember(ticket_id, result.escalation_key)
    return result


@router.post("/{ticket_id}/acknowledge", response_model=EscalationState)
async def acknowledge(
    ticket_id: TicketPath, body: AcknowledgeBody, gateway: GatewayDep, principal: CanRespond
) -> EscalationState:
    """Acknowledge: stops paging on every channel. 409 once the escalation is resolved."""
    return await _update(
        gateway,
        ticket_id,
        names.UPDATE_ACKNOWLEDGE,
        AcknowledgeInput(by=body.by, note=body.note, via=Channel.API, api_key_name=principal.name),
    )


@router.post("/{ticket_id}/resolve", response_model=EscalationState)
async def resolve(
    ticket_id: TicketPath, body: ResolveBody, gateway: GatewayDep, principal: CanRespond
) -> EscalationState:
    """Resolve: stops the cadence and resolves every page. 409 if already resolved."""
    return await _update(
        gateway,
        ticket_id,
        names.UPDATE_RESOLVE,
        ResolveInput(
            by=body.by,
            resolution=body.resolution,
            via=Channel.API,
            api_key_name=principal.name,
            kb_article_needed=body.kb_article_needed,
            necessary=body.necessary,
            preventable=body.preventable.value if body.preventable else None,
        ),
    )


@router.post("/{ticket_id}/reassign", response_model=EscalationState)
async def reassign(
    ticket_id: TicketPath,
    body: ReassignBody,
    gateway: GatewayDep,
    policy: PolicyDep,
    principal: CanRespond,
) -> EscalationState:
    """Hand the escalation to another team, which is notified and must acknowledge afresh.
    409 while the circuit breaker waits for a manager, or after a manager named the owner."""
    _known_team(policy, body.to_team, "to_team")
    return await _update(
        gateway,
        ticket_id,
        names.UPDATE_REASSIGN,
        ReassignInput(
            to_team=body.to_team,
            by=body.by,
            reason=body.reason,
            via=Channel.API,
            api_key_name=principal.name,
        ),
    )


@router.post("/{ticket_id}/notes", response_model=Accepted, status_code=status.HTTP_202_ACCEPTED)
async def add_note(
    ticket_id: TicketPath, body: NoteBody, gateway: GatewayDep, principal: CanRespond
) -> Accepted:
    """Add a note to the escalation's timeline."""
    handle = await gateway.handle(ticket_id)
    try:
        await handle.signal(
            names.SIGNAL_ADD_NOTE,
            NoteInput(by=body.by, text=body.text, api_key_name=principal.name),
        )
    except Exception as exc:
        raise await translate_errors(ticket_id, handle, exc) from exc
    return Accepted(detail="note recorded")


def _unprocessable(field: str, message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{"loc": ["body", field], "msg": message, "type": "value_error"}],
    )


def _known_team(policy: Policy, team: str, field: str) -> None:
    if team not in {t.id for t in policy.teams}:
        raise _unprocessable(field, f"unknown team {team!r}")


@router.post("/{ticket_id}/arbitrate", response_model=EscalationState)
async def arbitrate(
    ticket_id: TicketPath,
    body: ArbitrateBody,
    gateway: GatewayDep,
    policy: PolicyDep,
    principal: CanManage,
) -> EscalationState:
    """Manager arbitration: name the owning team after the circuit breaker opened (or to
    change a previous decision). Requires the manager role."""
    _known_team(policy, body.owner_team, "owner_team")
    return await _update(
        gateway,
        ticket_id,
        names.UPDATE_ARBITRATE,
        ArbitrateInput(
            owner_team=body.owner_team,
            by=body.by,
            reason=body.reason,
            via=Channel.API,
            api_key_name=principal.name,
        ),
    )


@router.post("/{ticket_id}/confirm", response_model=Accepted, status_code=status.HTTP_202_ACCEPTED)
async def confirm(
    ticket_id: TicketPath, body: ConfirmBody, gateway: GatewayDep, principal: CanRespond
) -> Accepted:
    """The original agent confirms they told the customer: the CSAT survey goes out."""
    handle = await gateway.handle(ticket_id)
    try:
        await handle.signal(
            names.SIGNAL_AGENT_CONFIRMED, AgentConfirmInput(by=body.by, via=Channel.API)
        )
    except Exception as exc:
        raise await translate_errors(ticket_id, handle, exc) from exc
    del principal
    return Accepted(detail="confirmation recorded; the survey follows")
