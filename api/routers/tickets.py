"""/v1/tickets/events (intake) and /v1/escalations/{ticket_id}/package (the context package)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from temporalio.service import RPCError, RPCStatusCode

from activities.crm_enrichment import build_crm_enricher
from activities.intake_service import EventInFlight, ImplausibleEvent, IntakeService
from api.auth import require
from api.temporal_gateway import TemporalGateway
from escalation.apikeys import Permission
from escalation.intake_package import EscalationContextPackage
from escalation.intake_results import TicketEventResult
from escalation.triggers import TicketEvent, VaderScorer
from store.intake import IntakeRepository

router = APIRouter(tags=["tickets"])

INTAKE = [Depends(require(Permission.INTAKE))]
READ = [Depends(require(Permission.READ))]


def get_intake(request: Request) -> IntakeService:
    """The process's intake service, built on first use from what the lifespan set up (the
    VADER lexicon is read once; the lifespan closes its CRM client)."""
    state = request.app.state
    service: IntakeService | None = getattr(state, "intake", None)
    if service is None:
        gateway: TemporalGateway = state.gateway
        service = IntakeService(
            repository=IntakeRepository(state.repository.sessions),
            policy=state.policy,
            settings=state.settings,
            scorer=VaderScorer(),
            client=gateway.client,
            crm=build_crm_enricher(state.settings),  # None without CRM credentials
        )
        state.intake = service
    return service


IntakeDep = Annotated[IntakeService, Depends(get_intake)]


async def run_intake(
    service: IntakeService, event: TicketEvent, **kwargs: Any
) -> TicketEventResult:
    """Intake with its failures mapped to HTTP: an event being processed 409 (retry later),
    Temporal unreachable 503 (nothing recorded, the retry is processed)."""
    try:
        return await service.ingest(event, **kwargs)
    except ImplausibleEvent as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {"loc": ["body", *where.split(".")], "msg": what, "type": "value_error"}
                for where, what in exc.problems
            ],
        ) from exc
    except EventInFlight as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"event {exc} is being processed; retry later"
        ) from exc
    except RPCError as exc:
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "Temporal is unavailable"
            ) from exc
        raise


@router.post("/v1/tickets/events", response_model=TicketEventResult, dependencies=INTAKE)
async def ticket_event(event: TicketEvent, service: IntakeDep) -> TicketEventResult:
    """A ticket was created, updated or commented.

    The event is stored once (idempotent on `event_id`, or on its content when it has none: a
    replay answers the stored response with `duplicate: true`) and evaluated against the
    trigger matrix. The answer lists every trigger with its evidence, the priority with its
    reasons, the route, the legal-hold flag, and what happened:

    - `escalate`: the ticket's escalation was started (`escalation.started`) or, when one was
      running, told about the event (`escalation.updated`, signal `ticket_updated`);
    - `outage_incident`: the ticket joined the one escalation of a burst of similar tickets
      (`escalation.kind = outage_incident`, keyed by `decision.outage_incident.incident_key`;
      `escalation.linked_tickets` lists the tickets linked to it);
    - `suggest`: nothing starts; `suggestion` tells the agent why an escalation is suggested;
    - `none`.

    Open tickets get a clock (`watch`: workflow `ticket-<id>`) that escalates on ticket age
    and SLA risk even when no further event arrives.
    """
    return await run_intake(service, event, source="api")


@router.get(
    "/v1/escalations/{ticket_id}/package",
    response_model=EscalationContextPackage,
    dependencies=READ,
    tags=["escalations"],
)
async def escalation_package(ticket_id: str, service: IntakeDep) -> EscalationContextPackage:
    """The context of the ticket's latest escalation: ticket history, the agent's notes and
    steps tried, sentiment, account and health, time per handler, the reason, the triggers
    with evidence and a suggested approach from similar resolved escalations."""
    found = await asyncio.to_thread(service.repository.package, ticket_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no escalation package for {ticket_id!r}")
    return EscalationContextPackage.model_validate(found)
