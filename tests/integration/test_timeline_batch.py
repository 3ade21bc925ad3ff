"""The batched timeline activity (workflow patch `timeline-in-batches`) on real PostgreSQL:
lines land in sequence order in one transaction, a replayed batch adds nothing, and a line the
database refuses is left out without losing the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import ActivityEnvironment

from activities.recording import RecordingActivities
from escalation.models import EscalationStatus, TimelineBatch, TimelineEntry
from escalation.vocabulary import Priority, RouteKey
from store.repository import Repository

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
    assert await ActivityEnvironment().run(recording.record_timeline_batch, batch) == 3
    assert await ActivityEnvironment().run(recording.record_timeline_batch, batch) == 0
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
    assert recorded == 2
    assert [e.sequence for e in repository.timeline("escalation-BATCH-2.r1")] == [1, 3]
