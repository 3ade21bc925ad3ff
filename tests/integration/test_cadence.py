"""Every cadence step of every severity, under the time-skipping test server.

The worker runs the real activities against a real PostgreSQL database with every adapter in
outbox mode (no credentials), so the notifications table shows exactly what was sent when.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import timedelta

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from escalation import activity_names as names
from escalation.models import (
    AcknowledgeInput,
    AgentConfirmInput,
    EscalationInput,
    EscalationState,
    EscalationStatus,
    ResolveInput,
)
from escalation.policy import Policy
from escalation.vocabulary import Priority, RouteKey
from store.repository import Repository
from tests.conftest import make_settings, running_worker, without_business_hours
from workflows.escalation_core import CLOSING_STEP

pytestmark = pytest.mark.integration

MIN = 60.0


async def _start(
    env: WorkflowEnvironment, task_queue: str, priority: Priority, route: RouteKey = RouteKey.OUTAGE
) -> WorkflowHandle[object, EscalationState]:
    ticket = f"T{uuid.uuid4().hex[:8]}"
    return await env.client.start_workflow(
        names.ESCALATION_WORKFLOW,
        EscalationInput(
            ticket_id=ticket,
            priority=priority,
            route=route,
            subject="Checkout failing",
            customer_name="Globex",
            customer_email="ops@globex.example",
        ),
        id=f"escalation-{ticket}",
        task_queue=task_queue,
        result_type=EscalationState,
    )


async def _state(handle: WorkflowHandle[object, EscalationState]) -> EscalationState:
    return await handle.query(names.QUERY_STATE, result_type=EscalationState)


def _offsets(state: EscalationState) -> dict[int, float]:
    """Step index -> seconds after start at which the step ran (skipped steps absent)."""
    return {
        s.index: (s.ran_at - state.started_at).total_seconds()
        for s in state.steps
        if s.ran_at is not None and not s.skipped
    }


def _actions_by_step(repository: Repository, key: str) -> dict[int, set[str]]:
    by_step: dict[int, set[str]] = defaultdict(set)
    for row in repository.notifications(key):
        if row.step_index < CLOSING_STEP:  # closing-the-loop messages are not cadence steps
            by_step[row.step_index].add(f"{row.action}:{row.channel}")
    return dict(by_step)


async def _finish(
    handle: WorkflowHandle[object, EscalationState], by: str = "alice"
) -> EscalationState:
    # The agent confirms first, so closing the loop does not wait (a time-skipping server
    # would otherwise skip ahead while other escalations of the test are still open).
    await handle.signal(names.SIGNAL_AGENT_CONFIRMED, AgentConfirmInput(by="agent"))
    await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by=by, resolution="fixed"))
    return await handle.result()


@pytest.fixture
def policy(policy: Policy) -> Policy:
    return without_business_hours(policy)


@pytest.fixture
def settings_for(database_url: str, task_queue: str):  # type: ignore[no-untyped-def]
    return make_settings(database_url, task_queue)


async def test_p0_unacknowledged_runs_every_step_at_its_offset(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    async with running_worker(time_skipping_env.client, settings_for, policy, repository):
        handle = await _start(time_skipping_env, task_queue, Priority.P0)
        await time_skipping_env.sleep(timedelta(minutes=31))
        state = await _state(handle)
        assert state.status is EscalationStatus.PAGING
        offsets = _offsets(state)
        assert offsets.keys() == {0, 1, 2, 3}
        for index, expected in {0: 0, 1: 5 * MIN, 2: 15 * MIN, 3: 30 * MIN}.items():
            assert offsets[index] == pytest.approx(expected, abs=1.0)
        final = await _finish(handle)
    actions = _actions_by_step(repository, final.escalation_key)
    assert actions[0] == {"page:pagerduty", "slack:slack", "email:email", "status_page:statuspage"}
    # T+5: secondary on-call and VP paged, manager told, war room opened
    assert {"page:pagerduty", "email:email"} <= actions[1]
    assert any(a.startswith("war_room:") for a in actions[1])
    targets = {
        r.target for r in repository.notifications(final.escalation_key) if r.step_index == 1
    }
    assert {"erin", "ivy"} <= targets  # secondary on-call of engineering, and the VP
    assert actions[2] == {"executive_notification:email", "customer_communication:email"}
    assert actions[3] == {"email:email"}
    assert final.status is EscalationStatus.RESOLVED


async def test_p0_acknowledged_skips_ack_steps_but_not_unresolved_steps(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    async with running_worker(time_skipping_env.client, settings_for, policy, repository):
        handle = await _start(time_skipping_env, task_queue, Priority.P0)
        await time_skipping_env.sleep(timedelta(minutes=3))
        await handle.signal(names.SIGNAL_ACKNOWLEDGE, AcknowledgeInput(by="dan"))
        await time_skipping_env.sleep(timedelta(minutes=17))  # T+20
        state = await _state(handle)
        assert state.status is EscalationStatus.ACKNOWLEDGED
        assert state.acknowledged_by == "dan"
        assert _offsets(state).keys() == {0, 2}
        assert [s.index for s in state.steps if s.skipped] == [1]
        assert state.next_step_at is not None
        assert (state.next_step_at - state.started_at).total_seconds() == pytest.approx(30 * MIN)
        final = await _finish(handle, by="dan")
    assert _offsets(final).keys() == {0, 2}
    assert [s.index for s in final.steps if s.skipped] == [1, 3]
    actions = _actions_by_step(repository, final.escalation_key)
    assert set(actions) == {0, 2}, "nothing may be sent for a skipped step"


async def test_p1_cadence_and_ack(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    async with running_worker(time_skipping_env.client, settings_for, policy, repository):
        silent = await _start(time_skipping_env, task_queue, Priority.P1, RouteKey.TECHNICAL)
        acked = await _start(time_skipping_env, task_queue, Priority.P1, RouteKey.TECHNICAL)
        await time_skipping_env.sleep(timedelta(minutes=10))
        await acked.signal(names.SIGNAL_ACKNOWLEDGE, AcknowledgeInput(by="alice"))
        await time_skipping_env.sleep(timedelta(minutes=21))  # T+31
        silent_state = await _state(silent)
        acked_state = await _state(acked)
        assert _offsets(silent_state) == pytest.approx({0: 0, 1: 15 * MIN, 2: 30 * MIN}, abs=1.0)
        assert _offsets(acked_state) == pytest.approx({0: 0, 2: 30 * MIN}, abs=1.0)
        # T+30 unresolved: the support manager takes ownership
        assert silent_state.assignee == "frank"
        assert acked_state.assignee == "frank"
        silent_final = await _finish(silent)
        acked_final = await _finish(acked)
    silent_actions = _actions_by_step(repository, silent_final.escalation_key)
    assert silent_actions[0] == {"slack:slack", "email:email"}
    assert silent_actions[1] == {"phone:phone"}
    assert silent_actions[2] == {"ownership_change:ownership_change", "email:email"}
    assert 1 not in _actions_by_step(repository, acked_final.escalation_key)


async def test_p2_cadence_reassigns_then_manager(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    async with running_worker(time_skipping_env.client, settings_for, policy, repository):
        handle = await _start(time_skipping_env, task_queue, Priority.P2, RouteKey.TECHNICAL)
        await time_skipping_env.sleep(timedelta(hours=1, minutes=1))
        state = await _state(handle)
        assert _offsets(state) == pytest.approx({0: 0, 1: 60 * MIN}, abs=1.0)
        assert state.assignee == "bob"  # reassigned from the pool: not the primary (alice)
        await time_skipping_env.sleep(timedelta(hours=3))
        state = await _state(handle)
        assert _offsets(state) == pytest.approx({0: 0, 1: 60 * MIN, 2: 240 * MIN}, abs=1.0)
        assert state.assignee == "carol"  # the L2 manager
        final = await _finish(handle)
    actions = _actions_by_step(repository, final.escalation_key)
    assert actions[0] == {"in_app:in_app", "slack:slack"}
    assert actions[1] == {"reassign:reassign", "email:email"}
    assert actions[2] == {"ownership_change:ownership_change"}


async def test_p2_picked_up_skips_reassignment(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    async with running_worker(time_skipping_env.client, settings_for, policy, repository):
        handle = await _start(time_skipping_env, task_queue, Priority.P2, RouteKey.TECHNICAL)
        await time_skipping_env.sleep(timedelta(minutes=30))
        await handle.signal(names.SIGNAL_ACKNOWLEDGE, AcknowledgeInput(by="alice"))
        await time_skipping_env.sleep(timedelta(hours=2))
        final = await _finish(handle)
    assert _offsets(final).keys() == {0}
    assert [s.index for s in final.steps if s.skipped] == [1, 2]


async def test_p3_manager_review_after_a_day_unless_resolved(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    async with running_worker(time_skipping_env.client, settings_for, policy, repository):
        slow = await _start(time_skipping_env, task_queue, Priority.P3, RouteKey.PRODUCT)
        quick = await _start(time_skipping_env, task_queue, Priority.P3, RouteKey.PRODUCT)
        await time_skipping_env.sleep(timedelta(hours=2))
        quick_final = await _finish(quick)
        await time_skipping_env.sleep(timedelta(hours=23))
        slow_state = await _state(slow)
        assert _offsets(slow_state) == pytest.approx({0: 0, 1: 24 * 60 * MIN}, abs=1.0)
        slow_final = await _finish(slow)
    assert _offsets(quick_final).keys() == {0}
    assert _actions_by_step(repository, slow_final.escalation_key)[1] == {
        "email:email",
        "in_app:in_app",
    }
    # Product feedback goes to the backlog: nobody is paged.
    assert all(
        row.action not in ("page", "phone")
        for row in repository.notifications(slow_final.escalation_key)
    )


async def test_time_scale_compresses_the_cadence(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    async with running_worker(time_skipping_env.client, settings_for, policy, repository):
        ticket = f"T{uuid.uuid4().hex[:8]}"
        handle = await time_skipping_env.client.start_workflow(
            names.ESCALATION_WORKFLOW,
            EscalationInput(
                ticket_id=ticket, priority=Priority.P0, route=RouteKey.OUTAGE, time_scale=0.01
            ),
            id=f"escalation-{ticket}",
            task_queue=task_queue,
            result_type=EscalationState,
        )
        await time_skipping_env.sleep(timedelta(seconds=19))  # T+30m at 1/100 scale = 18 s
        state = await _state(handle)
        assert _offsets(state) == pytest.approx({0: 0, 1: 3, 2: 9, 3: 18}, abs=0.5)
        await _finish(handle)
