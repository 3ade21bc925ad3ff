"""Starting and telling workflows, shared by `POST /v1/escalations`, intake (`POST
/v1/tickets/events`, the help-desk webhooks) and the TicketWatch clock activity.

Everything here takes a connected Temporal `Client`, so the API and the worker's activities
use the same code; no FastAPI in it (hence activities/, not api/: see
activities/intake_service.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from escalation import activity_names as names
from escalation.models import EscalationInput, EscalationStatus
from escalation.ticket_clock import (
    SIGNAL_TICKET_CHANGED,
    TICKET_WATCH_WORKFLOW,
    TicketClockFacts,
    watch_workflow_id,
)
from workflows import search_attributes as sa

__all__ = [
    "StartOutcome",
    "escalation_workflow_id",
    "signal_escalation",
    "start_or_get_escalation",
    "tell_watch",
]


def escalation_workflow_id(ticket_id: str) -> str:
    return f"escalation-{ticket_id}"


@dataclass(frozen=True, slots=True)
class StartOutcome:
    workflow_id: str
    created: bool  # False: an escalation of the ticket was already running


async def start_or_get_escalation(
    client: Client, request: EscalationInput, *, team: str, task_queue: str
) -> StartOutcome:
    """Start the ticket's escalation, or find the one running (idempotent per ticket). A
    ticket whose escalation has ended gets a new one (a reopened ticket escalates again)."""
    workflow_id = escalation_workflow_id(request.ticket_id)
    try:
        await client.start_workflow(
            names.ESCALATION_WORKFLOW,
            request,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=sa.initial(
                ticket_id=request.ticket_id,
                priority=request.priority.value,
                team=team,
                tier=request.customer_tier.value,
                customer_name=request.customer_name,
                state=EscalationStatus.PAGING.value,
            ),
            static_summary=f"{request.priority.value} {request.route.value} escalation of ticket "
            f"{request.ticket_id}",
        )
    except WorkflowAlreadyStartedError:
        return StartOutcome(workflow_id, created=False)
    return StartOutcome(workflow_id, created=True)


async def _signal_if_running(client: Client, workflow_id: str, signal: str, argument: Any) -> bool:
    """Signal the workflow; False when it does not exist or has completed (NOT_FOUND), so
    callers can tell "nobody to tell" from a failure, which is raised."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        await handle.signal(signal, argument)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def signal_escalation(client: Client, ticket_id: str, signal: str, argument: Any) -> bool:
    """Signal the ticket's escalation; False when none is running."""
    return await _signal_if_running(client, escalation_workflow_id(ticket_id), signal, argument)


async def tell_watch(client: Client, facts: TicketClockFacts, *, task_queue: str) -> bool:
    """Give TicketWatch (`ticket-<id>`) the ticket's latest clock facts: signal-with-start
    while the ticket is open; a solved ticket's watch is only signalled (it then ends), never
    started. Returns whether a watch got the facts."""
    workflow_id = watch_workflow_id(facts.ticket_id)
    if facts.resolved:
        return await _signal_if_running(client, workflow_id, SIGNAL_TICKET_CHANGED, facts)
    await client.start_workflow(
        TICKET_WATCH_WORKFLOW,
        facts,
        id=workflow_id,
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        start_signal=SIGNAL_TICKET_CHANGED,
        start_signal_args=[facts],
        static_summary=f"clock of ticket {facts.ticket_id}",
    )
    return True
