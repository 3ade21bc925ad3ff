"""TicketWatchWorkflow's clock on the time-skipping test server.

First with a recording stand-in for the clock activity (exact deadlines: ticket age, SLA 95 %
on a business-hours clock, critical tickets around the clock, a new event moving the clock,
a solved ticket ending it), then with the real activity: a quiet P3 ticket escalates when it
turns 24 h old without resolution, with nobody sending another event.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.intake_service import IntakeService
from escalation.calendar import BusinessHours
from escalation.policy import Policy
from escalation.settings import Settings
from escalation.ticket_clock import (
    CHECK_TICKET_CLOCK,
    QUERY_WATCH_STATE,
    SIGNAL_TICKET_CHANGED,
    TICKET_WATCH_WORKFLOW,
    AgeWithout,
    ClockCheckRequest,
    ClockCheckResult,
    TicketClockFacts,
    WatchState,
    watch_workflow_id,
)
from escalation.triggers import TicketEvent, VaderScorer
from escalation.vocabulary import Priority
from store.intake import IntakeRepository
from store.repository import Repository
from tests.conftest import make_settings, running_worker
from workflows.ticket_watch import TicketWatchWorkflow

pytestmark = pytest.mark.integration

# Its own folder: tests/integration/test_replay.py replays every EscalationWorkflow history
# directly under tests/histories/.
HISTORIES = Path(__file__).resolve().parent.parent / "histories" / "ticket_watch"
HISTORY = HISTORIES / "v1.json"
# v2: a pending pause and its resume (facts with sla_pending / sla_pending_minutes).
PENDING_HISTORY = HISTORIES / "v2_pending.json"


class RecordingClock:
    """Stands in for check_ticket_clock: records each call, answers `action`."""

    def __init__(self) -> None:
        self.calls: list[ClockCheckRequest] = []
        self.action = "none"

    @activity.defn(name=CHECK_TICKET_CLOCK)
    async def check(self, request: ClockCheckRequest) -> ClockCheckResult:
        self.calls.append(request)
        return ClockCheckResult(action=self.action)


@pytest.fixture
def clock() -> Iterator[RecordingClock]:
    yield RecordingClock()


@pytest.fixture
async def fake_worker(
    time_skipping_env: WorkflowEnvironment, task_queue: str, clock: RecordingClock
) -> AsyncIterator[str]:
    async with Worker(
        time_skipping_env.client,
        task_queue=task_queue,
        workflows=[TicketWatchWorkflow],
        activities=[clock.check],
    ):
        yield task_queue


async def _minute(env: WorkflowEnvironment) -> datetime:
    now = await env.get_current_time()
    return now.astimezone(UTC).replace(second=0, microsecond=0)


def _facts(start: datetime, **changes: Any) -> TicketClockFacts:
    values: dict[str, Any] = {
        "ticket_id": f"T-{uuid.uuid4().hex[:8]}",
        "revision": 1,
        "observed_at": start,
        "created_at": start,
        "priority": Priority.P2,
        "age_minutes": 480,
        "age_without": AgeWithout.RESOLUTION,
    }
    values.update(changes)
    return TicketClockFacts.model_validate(values)


async def _watch(
    env: WorkflowEnvironment, queue: str, facts: TicketClockFacts
) -> WorkflowHandle[Any, WatchState]:
    return await env.client.start_workflow(
        TICKET_WATCH_WORKFLOW,
        facts,
        id=watch_workflow_id(facts.ticket_id),
        task_queue=queue,
        start_signal=SIGNAL_TICKET_CHANGED,
        start_signal_args=[facts],
        result_type=WatchState,
    )


async def _solve(handle: WorkflowHandle[Any, WatchState], facts: TicketClockFacts) -> WatchState:
    await handle.signal(
        SIGNAL_TICKET_CHANGED,
        facts.model_copy(update={"resolved": True, "revision": facts.revision + 1}),
    )
    return await handle.result()


def _hours(start: datetime, first: timedelta, last: timedelta) -> BusinessHours:
    """Open every day from start+first to start+last (UTC wall clock)."""
    lo, hi = start + first, start + last
    return BusinessHours.model_validate(
        {"timezone": "UTC", "weekly": {"mon-sun": f"{lo:%H:%M}-{hi:%H:%M}"}}
    )


async def test_age_then_business_hours_sla_deadline(
    time_skipping_env: WorkflowEnvironment, fake_worker: str, clock: RecordingClock
) -> None:
    env = time_skipping_env
    start = await _minute(env)
    # Open 2 h a day (start+1h .. start+3h): 95 % of 200 min = 190 business minutes are
    # 120 min on day one and 70 min on day two -> start + 25 h + 70 min.
    facts = _facts(
        start,
        sla_resolution_minutes=200,
        business_hours=_hours(start, timedelta(hours=1), timedelta(hours=3)),
    )
    handle = await _watch(env, fake_worker, facts)
    await env.sleep(timedelta(hours=30))
    state = await handle.query(QUERY_WATCH_STATE, result_type=WatchState)
    assert [c.at for c in clock.calls] == [
        start + timedelta(hours=8),  # P2: 8 h without resolution
        start + timedelta(hours=26, minutes=10),  # SLA 95 %, clock paused off-hours
    ]
    assert [c.deadline_key.split(":")[0] for c in clock.calls] == ["age", "sla"]
    assert state.next_deadline is None and len(state.checks) == 2
    final = await _solve(handle, facts)
    assert final.resolved
    if os.environ.get("RECORD_HISTORIES"):
        history = await handle.fetch_history()
        HISTORY.write_text(json.dumps(json.loads(history.to_json()), indent=1))


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    """A change to TicketWatchWorkflow that running watches could not replay fails here
    (re-record with RECORD_HISTORIES=1 only for an intentional, patched change)."""
    history = WorkflowHistory.from_json("ticket-watch", path.read_text())
    replayer = Replayer(workflows=[TicketWatchWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)


async def test_critical_ticket_sla_clock_does_not_pause(
    time_skipping_env: WorkflowEnvironment, fake_worker: str, clock: RecordingClock
) -> None:
    env = time_skipping_env
    start = await _minute(env)
    facts = _facts(
        start,
        priority=Priority.P1,
        age_minutes=120,
        age_without=AgeWithout.FIRST_RESPONSE,
        sla_first_response_minutes=60,
        business_hours=_hours(start, timedelta(hours=5), timedelta(hours=6)),
    )
    handle = await _watch(env, fake_worker, facts)
    await env.sleep(timedelta(hours=3))
    assert [c.at for c in clock.calls] == [
        start + timedelta(minutes=57),  # 95 % of 60 min, around the clock
        start + timedelta(hours=2),  # P1: 2 h without first response
    ]
    await _solve(handle, facts)


async def test_new_event_moves_the_clock_and_solved_ends_it(
    time_skipping_env: WorkflowEnvironment, fake_worker: str, clock: RecordingClock
) -> None:
    env = time_skipping_env
    start = await _minute(env)
    facts = _facts(start, priority=Priority.P3, age_minutes=1440)
    handle = await _watch(env, fake_worker, facts)
    await env.sleep(timedelta(hours=1))
    # An event after one hour: the ticket is now P2 (8 h) -> fires at start + 8 h.
    p2 = facts.model_copy(
        update={
            "revision": 2,
            "priority": Priority.P2,
            "age_minutes": 480,
            "observed_at": start + timedelta(hours=1),
        }
    )
    await handle.signal(SIGNAL_TICKET_CHANGED, p2)
    stale = facts.model_copy(update={"revision": 1, "age_minutes": 60})
    await handle.signal(SIGNAL_TICKET_CHANGED, stale)  # delivered late: ignored
    await env.sleep(timedelta(hours=8))
    assert [c.at for c in clock.calls] == [start + timedelta(hours=8)]
    final = await _solve(handle, p2)
    assert final.resolved and final.fired == [clock.calls[0].deadline_key]
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED


def _real_intake(
    env: WorkflowEnvironment, repository: Repository, policy: Policy, settings: Settings
) -> IntakeService:
    """The intake service the API runs, starting workflows on the time-skipping server."""

    async def client() -> Client:
        return env.client

    return IntakeService(
        repository=IntakeRepository(repository.sessions),
        policy=policy,
        settings=settings,
        scorer=VaderScorer(),
        client=client,
    )


async def test_quiet_ticket_escalates_on_age_through_the_real_activity(
    time_skipping_env: WorkflowEnvironment,
    database_url: str,
    repository: Repository,
    policy: Policy,
    task_queue: str,
) -> None:
    env = time_skipping_env
    settings = make_settings(database_url, task_queue)
    now = await env.get_current_time()

    intake = _real_intake(env, repository, policy, settings)
    ticket = f"ZD-{uuid.uuid4().hex[:8]}"
    event = TicketEvent.model_validate(
        {
            "ticket_id": ticket,
            "event_type": "created",
            "subject": "Exporting invoices",
            "description": "How do I export my invoices to CSV?",
            "created_at": now,
            "product_area": "reports",
            "customer": {"customer_id": f"C-{ticket}", "name": "Acme"},
        }
    )
    async with running_worker(env.client, settings, policy, repository):
        first = await intake.ingest(event, source="api", received_at=now)
        assert first.action.value == "none" and first.escalation is None
        assert first.watch is not None and first.watch.next_deadline is not None
        assert first.watch.next_deadline.at == now + timedelta(hours=24)  # P3 default

        watch = env.client.get_workflow_handle(watch_workflow_id(ticket), result_type=WatchState)
        await env.sleep(timedelta(hours=24, minutes=5))
        state = await watch.query(QUERY_WATCH_STATE, result_type=WatchState)
        assert [c.action for c in state.checks] == ["escalate"]
        assert state.checks[0].escalation_workflow_id == f"escalation-{ticket}"

        escalation = env.client.get_workflow_handle(f"escalation-{ticket}")
        assert (await escalation.describe()).status == WorkflowExecutionStatus.RUNNING
        store = IntakeRepository(repository.sessions)
        assert store.event_count(ticket_id=ticket, source="clock", action="escalate") == 1
        package = store.package(ticket)
        assert package is not None
        assert [t["kind"] for t in package["triggers"]] == ["ticket_age"]
        assert package["reason"].startswith("Need help because P3 ticket")

        # End the escalation once its activities are done: an activity still running at
        # termination keeps the shared time-skipping server from skipping for later tests.
        await _settled(escalation)
        await escalation.terminate("test over")
        solved = TicketEvent.model_validate(
            {**event.model_dump(), "status": "solved", "event_id": "solved-1"}
        )
        done = await intake.ingest(solved, source="api", received_at=await env.get_current_time())
        assert done.watch is not None and done.watch.watching is False
        assert (await watch.result()).resolved


async def _settled(handle: WorkflowHandle[Any, Any], within: float = 20) -> None:
    """Wait until the workflow has no activity in flight."""
    for _ in range(int(within / 0.1)):
        if not (await handle.describe()).raw_description.pending_activities:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{handle.id} still has activities in flight")


async def test_public_holidays_inside_the_sandbox(
    time_skipping_env: WorkflowEnvironment, fake_worker: str, clock: RecordingClock
) -> None:
    """The workflow computes the SLA deadline with the team's holiday calendar (the `holidays`
    package runs inside the workflow sandbox); it matches the pure computation."""
    from escalation.ticket_clock import next_deadline

    env = time_skipping_env
    start = await _minute(env)
    hours = BusinessHours.model_validate(
        {
            "timezone": "Europe/Berlin",
            "weekly": {"mon-fri": "09:00-17:00"},
            "holiday_country": "DE",
            "holiday_subdivision": "BE",
        }
    )
    facts = _facts(start, age_minutes=None, sla_resolution_minutes=600, business_hours=hours)
    handle = await _watch(env, fake_worker, facts)
    # The query runs next_deadline() in the workflow's sandbox, before this process computes
    # the Berlin holidays (no cache to lean on).
    state = await handle.query(QUERY_WATCH_STATE, result_type=WatchState)
    expected = next_deadline(facts, frozenset())
    assert expected is not None and state.next_deadline == expected
    assert expected.key.endswith(":business")
    final = await _solve(handle, facts)
    assert final.checks == []


async def test_pending_pauses_the_sla_clock_and_open_resumes_it(
    time_skipping_env: WorkflowEnvironment, fake_worker: str, clock: RecordingClock
) -> None:
    """Around the clock (no calendar): 95 % of 120 min is due at +114 min; pending from +30 min
    to +3 h 30 holds it, so it fires 180 min later, at +294 min, and not before."""
    env = time_skipping_env
    start = await _minute(env)
    facts = _facts(start, age_minutes=None, sla_resolution_minutes=120)
    handle = await _watch(env, fake_worker, facts)
    await env.sleep(timedelta(minutes=30))
    pending = facts.model_copy(
        update={"revision": 2, "observed_at": start + timedelta(minutes=30), "sla_pending": True}
    )
    await handle.signal(SIGNAL_TICKET_CHANGED, pending)
    await env.sleep(timedelta(hours=3))
    state = await handle.query(QUERY_WATCH_STATE, result_type=WatchState)
    assert clock.calls == [] and state.next_deadline is None  # the SLA clock stands still
    resumed = facts.model_copy(
        update={
            "revision": 3,
            "observed_at": start + timedelta(minutes=210),
            "sla_pending_minutes": 180.0,
        }
    )
    await handle.signal(SIGNAL_TICKET_CHANGED, resumed)
    await env.sleep(timedelta(hours=2))
    assert [c.at for c in clock.calls] == [start + timedelta(minutes=294)]
    assert clock.calls[0].deadline_key.startswith("sla:resolution:120")
    await _solve(handle, resumed)
    if os.environ.get("RECORD_HISTORIES"):
        history = await handle.fetch_history()
        PENDING_HISTORY.write_text(json.dumps(json.loads(history.to_json()), indent=1))


async def test_pending_ticket_through_intake_escalates_on_the_resumed_sla_clock(
    time_skipping_env: WorkflowEnvironment,
    database_url: str,
    repository: Repository,
    policy: Policy,
    task_queue: str,
) -> None:
    """The real intake and clock activity: a P1 ticket (its SLA clock runs around the clock)
    with a 60 min first-response SLA is pending from +10 to +40 min. Its 95 % point moves from
    +57 to +87 min: intake answers the moved deadline, and the clock escalates there."""
    env = time_skipping_env
    settings = make_settings(database_url, task_queue)

    intake = _real_intake(env, repository, policy, settings)
    start = (await env.get_current_time()).replace(microsecond=0)
    ticket = f"ZD-{uuid.uuid4().hex[:8]}"
    base = {
        "ticket_id": ticket,
        "subject": "API returns 502 for some requests",
        "description": "Some of our API calls fail with 502 since this morning.",
        "created_at": start,
        "product_area": "api",
        "requester_priority": "P1",
        "sla": {"first_response_minutes": 60},
        "customer": {"customer_id": f"C-{ticket}", "name": "Acme"},
    }

    received: list[datetime] = []

    async def send(n: int, status: str) -> Any:
        event = TicketEvent.model_validate({**base, "event_id": f"e{n}", "status": status})
        received.append(await env.get_current_time())
        return await intake.ingest(event, source="api", received_at=received[-1])

    async with running_worker(env.client, settings, policy, repository):
        first = await send(1, "open")
        assert first.priority.value == "P1", first.reason
        assert first.watch.next_deadline.at == start + timedelta(minutes=57)
        await env.sleep(timedelta(minutes=10))
        paused = await send(2, "pending")
        # Only ticket age (P1: 2 h without first response) is left while pending.
        assert paused.watch.next_deadline.key.startswith("age:")
        await env.sleep(timedelta(minutes=30))
        resumed = await send(3, "open")
        assert resumed.action.value != "escalate"
        due = resumed.watch.next_deadline
        # The SLA deadline and the evaluation's own recheck coincide at the moved 95 % point:
        # +57 min plus the time pending (30 min, and the milliseconds the server ran on).
        pending_for = received[2] - received[1]
        assert abs(pending_for - timedelta(minutes=30)) < timedelta(seconds=5)
        assert due is not None and due.at == start + timedelta(minutes=57) + pending_for
        watch = env.client.get_workflow_handle(watch_workflow_id(ticket), result_type=WatchState)
        state = await watch.query(QUERY_WATCH_STATE, result_type=WatchState)
        assert state.next_deadline == due  # the workflow computes the same moved deadline

        await env.sleep(timedelta(minutes=50))  # past +87 min, before the 2 h age deadline
        state = await watch.query(QUERY_WATCH_STATE, result_type=WatchState)
        assert [(c.at, c.action) for c in state.checks] == [(due.at, "escalate")]
        package = IntakeRepository(repository.sessions).package(ticket)
        assert package is not None
        assert "sla_breach_imminent" in [t["kind"] for t in package["triggers"]]

        escalation = env.client.get_workflow_handle(f"escalation-{ticket}")
        await _settled(escalation)
        await escalation.terminate("test over")
        solved = TicketEvent.model_validate({**base, "event_id": "e4", "status": "solved"})
        await intake.ingest(solved, source="api", received_at=await env.get_current_time())
        assert (await watch.result()).resolved
