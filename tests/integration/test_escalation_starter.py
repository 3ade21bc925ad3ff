"""activities/escalation_starter.py against the Temporal dev server: telling a workflow that is
not running answers False (nobody to tell), telling a running one answers True and the signal
arrives. No worker: the server accepts signals for a started workflow whether or not it runs.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.escalation_starter import escalation_workflow_id, signal_escalation, tell_watch
from escalation import activity_names as names
from escalation.ticket_clock import SIGNAL_TICKET_CHANGED, TicketClockFacts, watch_workflow_id
from escalation.vocabulary import Priority

pytestmark = pytest.mark.integration


def _facts(ticket_id: str, *, resolved: bool) -> TicketClockFacts:
    now = datetime.now(UTC)
    return TicketClockFacts(
        ticket_id=ticket_id,
        revision=1,
        observed_at=now,
        created_at=now - timedelta(minutes=5),
        resolved=resolved,
        priority=Priority.P2,
    )


async def _signals(handle: WorkflowHandle[object, object]) -> list[str]:
    """Names of the signals in the workflow's history (the start signal included)."""
    history = await handle.fetch_history()
    return [
        event.workflow_execution_signaled_event_attributes.signal_name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]


async def test_telling_workflows_that_are_not_running_answers_false(
    dev_env: WorkflowEnvironment,
) -> None:
    ticket_id = f"T-{uuid.uuid4().hex[:10]}"
    client = dev_env.client
    assert await signal_escalation(client, ticket_id, "ticket_updated", None) is False
    queue = f"tq-starter-{uuid.uuid4().hex[:8]}"
    # A solved ticket's watch is only signalled, never started.
    assert await tell_watch(client, _facts(ticket_id, resolved=True), task_queue=queue) is False
    with pytest.raises(RPCError) as missing:
        await client.get_workflow_handle(watch_workflow_id(ticket_id)).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND


async def test_telling_running_workflows_answers_true_and_the_signal_arrives(
    dev_env: WorkflowEnvironment,
) -> None:
    ticket_id = f"T-{uuid.uuid4().hex[:10]}"
    client = dev_env.client
    queue = f"tq-starter-{uuid.uuid4().hex[:8]}"  # no worker polls it: the workflows wait
    escalation = await client.start_workflow(
        names.ESCALATION_WORKFLOW, id=escalation_workflow_id(ticket_id), task_queue=queue
    )
    open_facts = _facts(ticket_id, resolved=False)
    assert await tell_watch(client, open_facts, task_queue=queue) is True  # signal-with-start
    watch = client.get_workflow_handle(watch_workflow_id(ticket_id))
    try:
        assert await signal_escalation(client, ticket_id, "ticket_updated", None) is True
        solved = _facts(ticket_id, resolved=True)
        assert await tell_watch(client, solved, task_queue=queue) is True
        assert await _signals(escalation) == ["ticket_updated"]
        assert await _signals(watch) == [SIGNAL_TICKET_CHANGED, SIGNAL_TICKET_CHANGED]
    finally:
        await escalation.terminate("test done")
        await watch.terminate("test done")
