"""Patch `deliveries-record-themselves`: a delivery's timeline line (and a channel sync's) is
reserved by the workflow when it starts the activity and written by the activity, on real
PostgreSQL; the workflow writes the same line only when the activity could not."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.delivery import DeliveryActivities
from escalation import activity_names as names
from escalation.delivery_lines import delivery_line, records_itself
from escalation.models import (
    ActionOutcome,
    Channel,
    DeliveryResult,
    EscalationStatus,
    ResolveInput,
    SyncRequest,
    TimelineEntry,
)
from escalation.policy import ActionKind, Policy
from escalation.vocabulary import Priority, RouteKey
from store.repository import Repository
from tests.conftest import make_settings, running_worker
from tests.integration.escalation_helpers import scheduled_activities, slack_request, start_p0
from tests.vendors.servers import SlackServer
from workflows.escalation_core import PATCH_DELIVERIES_RECORD

pytestmark = pytest.mark.integration


def _reserved(ticket: str, sequence: int, *, subject: str = "checkout down") -> TimelineEntry:
    return TimelineEntry(
        escalation_key=f"escalation-{ticket}.r1",
        ticket_id=ticket,
        event_key=f"escalation-{ticket}.r1:{sequence}",
        sequence=sequence,
        kind="action_delivered",
        at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        step_index=0,
        status=EscalationStatus.PAGING,
        priority=Priority.P1,
        route=RouteKey.TECHNICAL,
        team="payments",
        subject=subject,
    )


async def test_the_activity_writes_its_reserved_line_once(
    delivery: DeliveryActivities, slack_server: SlackServer, repository: Repository
) -> None:
    ticket = f"SELF{uuid.uuid4().hex[:6]}"
    request = slack_request(ticket, f"escalation-{ticket}.r1.g0", _reserved(ticket, 3))
    first = await ActivityEnvironment().run(delivery.deliver_action, request)
    again = await ActivityEnvironment().run(delivery.deliver_action, request)  # a retry
    assert first.recorded and again.recorded
    assert first.outcome is ActionOutcome.DELIVERED
    lines = repository.timeline(f"escalation-{ticket}.r1")
    assert [(e.sequence, e.kind, e.step_index) for e in lines] == [(3, "action_delivered", 0)]
    assert lines[0].detail == {
        "action": "slack",
        "channel": "slack",
        "outcome": "delivered",
        "detail": first.detail[:300],
    }
    assert len([m for m in slack_server.messages("#escalations") if ticket in m["text"]]) == 1
    # The notification row keeps the result, not how its line was written.
    rows = repository.notifications(request.escalation_key)
    assert [r.result.get("recorded") for r in rows] == [None]


async def test_a_line_the_store_refuses_is_left_to_the_workflow(
    delivery: DeliveryActivities, repository: Repository
) -> None:
    """NUL in the line's snapshot: the store refuses the line, not the delivery. The post
    stands, the result says the line is not written, and nothing is retried."""
    ticket = f"SELF{uuid.uuid4().hex[:6]}"
    request = slack_request(
        ticket, f"escalation-{ticket}.r1.g0", _reserved(ticket, 2, subject="checkout\u0000down")
    )
    result = await ActivityEnvironment().run(delivery.deliver_action, request)
    assert result.outcome is ActionOutcome.DELIVERED and not result.recorded
    assert repository.timeline(f"escalation-{ticket}.r1") == []
    assert len(repository.notifications(request.escalation_key)) == 1


async def test_a_sync_writes_its_channels_synced_line(
    delivery: DeliveryActivities, repository: Repository
) -> None:
    ticket = f"SELF{uuid.uuid4().hex[:6]}"
    reserved = _reserved(ticket, 7).model_copy(
        update={"kind": "channels_synced", "status": EscalationStatus.ACKNOWLEDGED}
    )
    result = await ActivityEnvironment().run(
        delivery.sync_channels,
        SyncRequest(
            escalation_key=f"escalation-{ticket}.r1",
            ticket_id=ticket,
            status=EscalationStatus.ACKNOWLEDGED,
            actor="dan",
            via=Channel.API,
            subject="checkout down",
            pages=[],
            messages=[],
            timeline=reserved,
        ),
    )
    assert result.recorded
    lines = repository.timeline(f"escalation-{ticket}.r1")
    assert [(e.sequence, e.kind, e.detail) for e in lines] == [
        (
            7,
            "channels_synced",
            {"status": "acknowledged", "pages": "0", "messages": "0", "failures": ""},
        )
    ]


def test_a_line_the_workflow_writes_is_the_reserved_one() -> None:
    """Same event key and sequence whoever writes it: never a gap, never a line twice."""
    reserved = _reserved("T", 4)
    failed = DeliveryResult(outcome=ActionOutcome.FAILED, channel="pagerduty", detail="x" * 400)
    at = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
    line = delivery_line(reserved, ActionKind.PAGE, failed, at)
    assert (line.event_key, line.sequence, line.kind, line.at) == (
        reserved.event_key,
        4,
        "action_failed",
        at,
    )
    assert line.detail["detail"] == "x" * 300
    assert not records_itself(ActionKind.OWNERSHIP_CHANGE)  # changes the assignee snapshot
    assert records_itself(ActionKind.PAGE)


async def test_a_p0_writes_no_store_activity_per_delivery(
    time_skipping_env: WorkflowEnvironment,
    policy: Policy,
    repository: Repository,
    database_url: str,
    task_queue: str,
) -> None:
    """A P0 through T+0 and T+5 min (8 deliveries, config/policy.yaml): every delivery's line
    is in the store at the sequence the workflow reserved, the sequences have no gap, and no
    timeline batch carries a delivery's line."""
    settings = make_settings(database_url, task_queue)
    ticket = f"SELF{uuid.uuid4().hex[:6]}"
    async with running_worker(time_skipping_env.client, settings, policy, repository):
        handle = await start_p0(time_skipping_env.client, task_queue, ticket)
        await time_skipping_env.sleep(timedelta(minutes=6))
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan", resolution="fixed"))
        final = await asyncio.wait_for(handle.result(), 60)
        history = await handle.fetch_history()
    scheduled = scheduled_activities(history)
    deliveries = [r for name, r in scheduled if name == names.DELIVER_ACTION]
    reserved = {r["timeline"]["sequence"]: r["action"]["kind"] for r in deliveries}
    assert len(deliveries) >= 8 and len(reserved) == len(deliveries)
    batched = {
        line["kind"]
        for name, r in scheduled
        if name == names.RECORD_TIMELINE_BATCH
        for line in r["entries"]
    }
    assert not batched & {"action_delivered", "action_failed", "channels_synced"}, batched
    lines = repository.timeline(final.escalation_key)
    assert [e.sequence for e in lines] == list(range(1, len(lines) + 1))
    by_sequence = {e.sequence: e for e in lines}
    for sequence, kind in reserved.items():
        assert by_sequence[sequence].kind == "action_delivered"
        assert by_sequence[sequence].detail["action"] == kind
    assert _patch_markers(history) == [PATCH_DELIVERIES_RECORD]


def _patch_markers(history: WorkflowHistory) -> list[str]:
    return [
        json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
