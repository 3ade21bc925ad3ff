"""Issue 4, after hours: a non-critical escalation raised outside business hours is put first
in its team's queue at the next business start (time-skipping server, real PostgreSQL), and
GET /v1/queue lists it first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from escalation import activity_names as names
from escalation.calendar import is_business_time, next_business_start
from escalation.models import (
    AcknowledgeInput,
    EscalationInput,
    EscalationState,
    EscalationStatus,
    ResolveInput,
    TimelineEntry,
)
from escalation.policy import BusinessHours, Policy
from escalation.settings import Settings
from escalation.vocabulary import Priority, RouteKey
from store.queue import team_queue
from store.repository import Repository
from tests.conftest import ADMIN_HEADERS, make_settings, running_worker, without_business_hours
from tests.integration.api_server import serve_api
from worker.main import WORKFLOWS

pytestmark = pytest.mark.integration


def _open_minute_half_a_day_from(now: datetime) -> dict[str, Any]:
    """Business hours of one minute a day, 12 hours from `now`: an escalation started now is
    outside business hours, and the next business start is 12 hours away."""
    opens = now + timedelta(hours=12)
    closes = opens + timedelta(minutes=1)
    window = f"{opens:%H:%M}-{closes:%H:%M}" if closes.day == opens.day else "00:00-00:01"
    return {"timezone": "UTC", "weekly": {"mon-sun": window}}


def _after_hours_policy(base: Policy, hours: dict[str, Any]) -> Policy:
    data = without_business_hours(base).model_dump(mode="json")
    next(t for t in data["teams"] if t["id"] == "l2").update(business_hours=hours)
    return Policy.model_validate(data)


async def _start(
    env: WorkflowEnvironment, task_queue: str, priority: Priority
) -> WorkflowHandle[Any, EscalationState]:
    ticket = f"Q{uuid.uuid4().hex[:8]}"
    return await env.client.start_workflow(
        names.ESCALATION_WORKFLOW,
        EscalationInput(
            ticket_id=ticket, priority=priority, route=RouteKey.TECHNICAL, subject="Export fails"
        ),
        id=f"escalation-{ticket}",
        task_queue=task_queue,
        result_type=EscalationState,
    )


async def test_after_hours_escalation_is_first_in_the_queue_at_business_start(
    time_skipping_env: WorkflowEnvironment,
    policy: Policy,
    repository: Repository,
    database_url: str,
    task_queue: str,
) -> None:
    settings = make_settings(database_url, task_queue)
    now = await time_skipping_env.get_current_time()
    window = _open_minute_half_a_day_from(now)
    hours = BusinessHours.model_validate(window)
    assert not is_business_time(hours, now)
    async with running_worker(
        time_skipping_env.client, settings, _after_hours_policy(policy, window), repository
    ):
        waiting = await _start(time_skipping_env, task_queue, Priority.P3)
        picked_up = await _start(time_skipping_env, task_queue, Priority.P2)
        await time_skipping_env.sleep(timedelta(seconds=5))
        await picked_up.signal(names.SIGNAL_ACKNOWLEDGE, AcknowledgeInput(by="alice"))
        expected = next_business_start(hours, now)
        assert expected is not None
        until = expected - await time_skipping_env.get_current_time() + timedelta(minutes=2)
        await time_skipping_env.sleep(until)
        state = await waiting.query(names.QUERY_STATE, result_type=EscalationState)
        queue = team_queue(repository.sessions, "l2")
        for handle in (waiting, picked_up):
            await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="alice"))
        finals = [await handle.result() for handle in (waiting, picked_up)]
        history = await waiting.fetch_history()
    # The history with the queue-first timer and actions replays on the current code.
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)

    lines = [e for e in repository.timeline(state.escalation_key) if e.kind == "queued_first"]
    assert len(lines) == 1 and abs(lines[0].at - expected) < timedelta(seconds=5)
    rows = repository.notifications(state.escalation_key)
    assert [r.channel for r in rows if r.action == "queue"] == ["queue", "queue"]  # T+0, start
    assert [r.action for r in rows if r.action == "slack"] == ["slack"]  # the team channel
    posted = [str(m.payload) for m in repository.outbox(vendor="slack", limit=500)]
    assert any(state.ticket_id in p and "first in the queue" in p for p in posted)
    # Picked up before the business day started: nothing to queue first.
    other = repository.timeline(finals[1].escalation_key)
    assert "queued_first" not in [e.kind for e in other]
    assert queue and queue[0].ticket_id == state.ticket_id and queue[0].queued_first_at
    assert all(f.status is EscalationStatus.RESOLVED for f in finals)


def _line(ticket: str, priority: Priority, started: datetime, kind: str) -> TimelineEntry:
    key = f"escalation-{ticket}.r1"
    return TimelineEntry(
        escalation_key=key,
        ticket_id=ticket,
        event_key=f"{key}:{kind}",
        sequence=1 if kind == "escalation_started" else 2,
        kind=kind,
        at=started if kind == "escalation_started" else started + timedelta(hours=8),
        status=EscalationStatus.PAGING,
        priority=priority,
        route=RouteKey.TECHNICAL,
        team="billing",
        started_at=started,
    )


def test_queue_order_and_http(repository: Repository, database_url: str, task_queue: str) -> None:
    """Queued first (in the order queued) on top of everything else, whatever its priority;
    then priority, then age. Over HTTP: 200 with a read key, 401 without, 422 unknown team."""
    day = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    plan = [  # ticket, priority, started, queued first?
        ("QO-P1-old", Priority.P1, day - timedelta(hours=9), False),
        ("QO-P3-night", Priority.P3, day - timedelta(hours=2), True),
        ("QO-P2-night", Priority.P2, day - timedelta(hours=3), True),
        ("QO-P2-new", Priority.P2, day - timedelta(hours=1), False),
    ]
    for ticket, priority, started, first in plan:
        repository.record_timeline(_line(ticket, priority, started, "escalation_started"))
        if first:
            repository.record_timeline(_line(ticket, priority, started, "queued_first"))
    expected = ["QO-P2-night", "QO-P3-night", "QO-P1-old", "QO-P2-new"]
    assert [q.ticket_id for q in team_queue(repository.sessions, "billing")] == expected

    settings: Settings = make_settings(database_url, task_queue)
    with serve_api(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        listed = http.get("/v1/queue", params={"team": "billing"}, headers=ADMIN_HEADERS)
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        assert [i["ticket_id"] for i in items] == expected
        assert [i["position"] for i in items] == [1, 2, 3, 4]
        assert items[0]["queued_first_at"] and items[2]["queued_first_at"] is None
        assert http.get("/v1/queue", params={"team": "billing"}).status_code == 401
        unknown = http.get("/v1/queue", params={"team": "nope"}, headers=ADMIN_HEADERS)
        assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == [
            "query",
            "team",
        ]
