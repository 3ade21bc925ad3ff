"""Small builders several integration modules share: a P0 started straight at the workflow,
a Slack delivery request, and the activities a history scheduled."""

from __future__ import annotations

import json
from typing import Any

from temporalio.client import Client, WorkflowHandle, WorkflowHistory

from escalation import activity_names as names
from escalation.models import (
    DeliverRequest,
    EscalationInput,
    EscalationState,
    PlannedAction,
    TimelineEntry,
)
from escalation.policy import ActionKind
from escalation.vocabulary import CustomerTier, Priority, RouteKey


async def start_p0(
    client: Client, task_queue: str, ticket: str
) -> WorkflowHandle[Any, EscalationState]:
    """A P0 outage escalation, started without the API's checks."""
    return await client.start_workflow(
        names.ESCALATION_WORKFLOW,
        EscalationInput(
            ticket_id=ticket, priority=Priority.P0, route=RouteKey.OUTAGE, subject="Outage"
        ),
        id=f"escalation-{ticket}",
        task_queue=task_queue,
        result_type=EscalationState,
    )


def slack_request(
    ticket: str, escalation_key: str, timeline: TimelineEntry | None = None
) -> DeliverRequest:
    """T+0's Slack post to #escalations for `ticket` (P1, payments)."""
    return DeliverRequest(
        escalation_key=escalation_key,
        workflow_id=f"escalation-{ticket}",
        ticket_id=ticket,
        priority=Priority.P1,
        route=RouteKey.TECHNICAL,
        team="payments",
        team_name="Payments",
        step_index=0,
        action_index=0,
        action=PlannedAction(kind=ActionKind.SLACK, channel="#escalations"),
        subject=f"checkout down {ticket}",
        customer_name="Globex",
        customer_tier=CustomerTier.ENTERPRISE,
        paging_provider="pagerduty",
        timeline=timeline,
    )


def scheduled_activities(history: WorkflowHistory) -> list[tuple[str, Any]]:
    """(activity name, its JSON input) of every activity the history scheduled, in order."""
    return [
        (
            e.activity_task_scheduled_event_attributes.activity_type.name,
            json.loads(e.activity_task_scheduled_event_attributes.input.payloads[0].data),
        )
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
