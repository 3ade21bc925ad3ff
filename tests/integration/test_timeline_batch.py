"""The batched timeline activity (workflow patch `timeline-in-batches`) on real PostgreSQL:
lines land in sequence order in one transaction, a replayed batch adds nothing, and a line the
database refuses is left out without losing the others or stalling the workflow."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.recording import RecordingActivities
from escalation import activity_names as names
from escalation.models import (
    EscalationInput,
    EscalationState,
    EscalationStatus,
    ResolveInput,
    TimelineBatch,
    TimelineEntry,
)
from escalation.policy import Policy
from escalation.vocabulary import Priority, RouteKey
from store.repository import Repository
from tests.conftest import make_settings, running_worker, without_business_hours

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _line(
    ticket: str, sequence: int, kind: str, status: EscalationStatus, actor: str = "system"
) -> TimelineEntry:
    key = f"escalation-{ticket}.r1"
    return TimelineEntry(
        escalation_key=key,
        ticket_id=ticket,
        event_key=f"{key}:{sequence}",
        sequence=sequence,
        kind=kind,
        at=T0 + timedelta(seconds=sequence),
        actor="dan" if kind == "acknowledged" else actor,
        status=status,
        priority=Priority.P1,
        route=RouteKey.TECHNICAL,
        team="payments",
        subject="checkout down",
    )


async def test_a_batch_lands_in_sequence_order_once(repository: Repository) -> None:
    recording = RecordingActivities(repository)
    lines = [
        _line("BATCH-1", 3, "acknowledged", EscalationStatus.ACKNOWLEDGED),
        _line("BATCH-1", 1, "escalation_started", EscalationStatus.PAGING),
        _line("BATCH-1", 2, "step_started", EscalationStatus.PAGING),
    ]
    batch = TimelineBatch(entries=lines)
    keys = await ActivityEnvironment().run(recording.record_timeline_batch, batch)
    assert keys == [f"escalation-BATCH-1.r1:{n}" for n in (1, 2, 3)]
    assert await ActivityEnvironment().run(recording.record_timeline_batch, batch) == []
    events = repository.timeline("escalation-BATCH-1.r1")
    assert [(e.sequence, e.kind) for e in events] == [
        (1, "escalation_started"),
        (2, "step_started"),
        (3, "acknowledged"),
    ]
    row = repository.latest_escalation("BATCH-1")
    assert row is not None and row.status == "acknowledged" and row.acknowledged_by == "dan"


async def test_a_refused_line_is_left_out_and_the_others_kept(repository: Repository) -> None:
    recording = RecordingActivities(repository)
    lines = [
        _line("BATCH-2", 1, "escalation_started", EscalationStatus.PAGING),
        _line("BATCH-2", 2, "note_added", EscalationStatus.PAGING, actor="bad\u0000name"),
        _line("BATCH-2", 3, "step_started", EscalationStatus.PAGING),
    ]
    recorded = await ActivityEnvironment().run(
        recording.record_timeline_batch, TimelineBatch(entries=lines)
    )
    assert recorded == ["escalation-BATCH-2.r1:1", "escalation-BATCH-2.r1:3"]
    assert [e.sequence for e in repository.timeline("escalation-BATCH-2.r1")] == [1, 3]


async def test_input_the_store_refuses_does_not_stall_the_escalation(
    time_skipping_env: WorkflowEnvironment,
    policy: Policy,
    repository: Repository,
    database_url: str,
    task_queue: str,
) -> None:
    """A NUL in the reason (a workflow started without the API's input checks): the store
    refuses the escalation facts that carry it (a text column); they are left out, the
    timeline is recorded and the escalation still completes."""
    settings = make_settings(database_url, task_queue)
    ticket = f"NUL{uuid.uuid4().hex[:6]}"
    async with running_worker(
        time_skipping_env.client, settings, without_business_hours(policy), repository
    ):
        handle = await time_skipping_env.client.start_workflow(
            names.ESCALATION_WORKFLOW,
            EscalationInput(
                ticket_id=ticket,
                priority=Priority.P3,
                route=RouteKey.TECHNICAL,
                subject="Export fails",
                reason="Need help because \u0000 export fails",
            ),
            id=f"escalation-{ticket}",
            task_queue=task_queue,
            result_type=EscalationState,
        )
        await time_skipping_env.sleep(timedelta(minutes=5))
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan", resolution="fixed"))
        final = await asyncio.wait_for(handle.result(), 60)
    assert final.status is EscalationStatus.RESOLVED
    kinds = [e.kind for e in repository.timeline(final.escalation_key)]
    assert {"escalation_started", "step_started", "resolved"} <= set(kinds)
    with psycopg.connect(database_url) as connection:
        facts = connection.execute(
            "SELECT count(*) FROM escalation_facts WHERE escalation_key = %s",
            (final.escalation_key,),
        ).fetchone()
    assert facts == (0,)  # refused, not retried, left out
