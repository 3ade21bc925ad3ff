"""The batched timeline activity (workflow patch `timeline-in-batches`) on real PostgreSQL:
lines land in sequence order in one transaction, a replayed batch adds nothing, and a line the
database refuses is left out without losing the others or stalling the workflow. In-app
notifications and queue entries (patch `internal-records-with-timeline`) travel in the batch
of the line that reports them, not in a `deliver_action` activity each."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.recording import RecordingActivities
from escalation import activity_names as names
from escalation.closing import RECORD_ESCALATION_FACTS
from escalation.internal_records import notification_key, store_only_notification
from escalation.models import (
    EscalationInput,
    EscalationState,
    EscalationStatus,
    PlannedAction,
    ResolveInput,
    TimelineBatch,
    TimelineEntry,
)
from escalation.policy import ActionKind, Policy, Target
from escalation.settings import Settings
from escalation.vocabulary import Priority, RouteKey
from store.repository import Repository
from tests.conftest import make_settings, running_worker, without_business_hours
from tests.integration.escalation_helpers import scheduled_activities
from workflows.escalation_core import CLOSING_STEP

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
    final, _ = await _p3_resolved_after_five_minutes(
        time_skipping_env,
        policy,
        repository,
        make_settings(database_url, task_queue),
        ticket=f"NUL{uuid.uuid4().hex[:6]}",
        reason="Need help because \u0000 export fails",
    )
    assert final.status is EscalationStatus.RESOLVED
    kinds = [e.kind for e in repository.timeline(final.escalation_key)]
    assert {"escalation_started", "step_started", "resolved"} <= set(kinds)
    with psycopg.connect(database_url) as connection:
        facts = connection.execute(
            "SELECT count(*) FROM escalation_facts WHERE escalation_key = %s",
            (final.escalation_key,),
        ).fetchone()
    assert facts == (0,)  # refused, not retried, left out


def _queue_row(ticket: str, action_index: int, target: Target = Target.TEAM) -> object:
    return store_only_notification(
        escalation_key=f"escalation-{ticket}.r1.g0",
        ticket_id=ticket,
        step_index=0,
        action_index=action_index,
        action=PlannedAction(kind=ActionKind.QUEUE, target=target),
    )


async def test_notification_rows_land_with_their_lines_once(repository: Repository) -> None:
    recording = RecordingActivities(repository)
    rows = [_queue_row("BATCH-3", 0), _queue_row("BATCH-3", 1, Target.TEAM_MANAGER)]
    batch = TimelineBatch(
        entries=[_line("BATCH-3", 1, "action_delivered", EscalationStatus.PAGING)],
        notifications=rows,  # type: ignore[arg-type]
    )
    assert await ActivityEnvironment().run(recording.record_timeline_batch, batch) == [
        "escalation-BATCH-3.r1:1"
    ]
    assert await ActivityEnvironment().run(recording.record_timeline_batch, batch) == []
    stored = repository.notifications("escalation-BATCH-3.r1.")
    assert [(r.idempotency_key, r.outcome, r.target) for r in stored] == [
        ("escalation-BATCH-3.r1.g0:s0:a0:queue:queue:team", "delivered", "team"),
        ("escalation-BATCH-3.r1.g0:s0:a1:queue:queue:team_manager", "delivered", "team_manager"),
    ]
    assert stored[0].result == {
        "outcome": "delivered",
        "channel": "queue",
        "detail": "team",
        "pages": [],
        "messages": [],
        "new_owner": None,
    }


async def test_a_refused_notification_is_left_out_and_the_rest_kept(
    repository: Repository,
) -> None:
    recording = RecordingActivities(repository)
    good = _queue_row("BATCH-4", 0)
    bad = _queue_row("BATCH-4", 1).model_copy(update={"ticket_id": "BATCH\u00004"})  # type: ignore[attr-defined]
    recorded = await ActivityEnvironment().run(
        recording.record_timeline_batch,
        TimelineBatch(
            entries=[_line("BATCH-4", 1, "action_delivered", EscalationStatus.PAGING)],
            notifications=[good, bad],  # type: ignore[list-item]
        ),
    )
    assert recorded == ["escalation-BATCH-4.r1:1"]
    keys = [r.idempotency_key for r in repository.notifications("escalation-BATCH-4.r1.")]
    assert keys == [good.idempotency_key]  # type: ignore[attr-defined]


def test_both_paths_name_a_notification_alike() -> None:
    """The workflow builds the key the `deliver_action` activity used to: a row written by an
    old run's activity and one written with the timeline are the same row."""
    row = store_only_notification(
        escalation_key="escalation-T.abc.g1",
        ticket_id="T",
        step_index=2,
        action_index=3,
        action=PlannedAction(kind=ActionKind.IN_APP, target=Target.TEAM_MANAGER),
    )
    assert row.idempotency_key == notification_key(
        "escalation-T.abc.g1", 2, 3, ActionKind.IN_APP, "in_app", "team_manager"
    )
    assert row.idempotency_key == "escalation-T.abc.g1:s2:a3:in_app:in_app:team_manager"


async def test_a_p3_writes_its_queue_and_in_app_rows_without_delivery_activities(
    time_skipping_env: WorkflowEnvironment,
    policy: Policy,
    repository: Repository,
    database_url: str,
    task_queue: str,
) -> None:
    """P3 T+0 is `queue` + `in_app` (config/policy.yaml): both rows are in the store, each
    with its `action_delivered` line, and the history schedules no `deliver_action`."""
    final, history = await _p3_resolved_after_five_minutes(
        time_skipping_env,
        policy,
        repository,
        make_settings(database_url, task_queue),
        ticket=f"INT{uuid.uuid4().hex[:6]}",
    )
    scheduled = scheduled_activities(history)
    cadence_deliveries = [
        request
        for name, request in scheduled
        if name == names.DELIVER_ACTION
        and request["step_index"] < CLOSING_STEP  # closing the loop still delivers
    ]
    assert cadence_deliveries == []
    batches = [request for name, request in scheduled if name == names.RECORD_TIMELINE_BATCH]
    # The start, T+0 and its two notifications, and who escalated and why: one activity.
    first = batches[0]
    assert [line["kind"] for line in first["entries"]] == [
        "escalation_started",
        "step_started",
        "action_delivered",
        "action_delivered",
    ]
    assert len(first["notifications"]) == 2
    assert first["facts"]["escalation_key"] == final.escalation_key
    assert RECORD_ESCALATION_FACTS not in {name for name, _ in scheduled}
    with psycopg.connect(database_url) as connection:
        facts = connection.execute(
            "SELECT category FROM escalation_facts WHERE escalation_key = %s",
            (final.escalation_key,),
        ).fetchall()
    assert facts == [("technical",)]
    rows = [
        (r.action, r.outcome, r.idempotency_key)
        for r in repository.notifications(f"{final.escalation_key}.")
        if r.step_index == 0
    ]
    assert rows == [
        ("queue", "delivered", f"{final.escalation_key}.g0:s0:a0:queue:queue:team"),
        ("in_app", "delivered", f"{final.escalation_key}.g0:s0:a1:in_app:in_app:team"),
    ]
    delivered = [
        e.detail["action"]
        for e in repository.timeline(final.escalation_key)
        if e.kind == "action_delivered" and e.step_index == 0
    ]
    assert delivered == ["queue", "in_app"]


async def _p3_resolved_after_five_minutes(
    env: WorkflowEnvironment,
    policy: Policy,
    repository: Repository,
    settings: Settings,
    *,
    ticket: str,
    reason: str = "",
) -> tuple[EscalationState, WorkflowHistory]:
    """A P3 started straight at the workflow (no API checks), resolved five minutes in."""
    async with running_worker(env.client, settings, without_business_hours(policy), repository):
        handle = await env.client.start_workflow(
            names.ESCALATION_WORKFLOW,
            EscalationInput(
                ticket_id=ticket,
                priority=Priority.P3,
                route=RouteKey.TECHNICAL,
                subject="Export fails",
                reason=reason,
            ),
            id=f"escalation-{ticket}",
            task_queue=settings.temporal_task_queue,
            result_type=EscalationState,
        )
        await env.sleep(timedelta(minutes=5))
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan", resolution="fixed"))
        final = await asyncio.wait_for(handle.result(), 60)
        return final, await handle.fetch_history()
