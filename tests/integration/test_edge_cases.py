"""The seed's edge cases as workflow tests on the time-skipping server: on-call resolved when a
step runs, nobody on call, ping-pong circuit breaker, after hours, requested person away, and
legal hold. Each test builds the policy it needs from the example policy."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from escalation import activity_names as names
from escalation.calendar import BusinessHours, is_business_time, next_business_start
from escalation.models import (
    AcknowledgeInput,
    ArbitrateInput,
    EscalationInput,
    EscalationState,
    EscalationStatus,
    ReassignInput,
    ResolveInput,
)
from escalation.policy import Policy
from escalation.vocabulary import Priority, RouteKey
from store.repository import Repository
from tests.conftest import make_settings, running_worker, without_business_hours

pytestmark = pytest.mark.integration


def _variant(base: Policy, change: Callable[[dict[str, Any]], None]) -> Policy:
    data = without_business_hours(base).model_dump(mode="json")
    change(data)
    return Policy.model_validate(data)


def _team(data: dict[str, Any], team_id: str) -> dict[str, Any]:
    return next(t for t in data["teams"] if t["id"] == team_id)


async def _start(
    env: WorkflowEnvironment, task_queue: str, priority: Priority, route: RouteKey, **extra: Any
) -> WorkflowHandle[Any, EscalationState]:
    ticket = f"E{uuid.uuid4().hex[:8]}"
    return await env.client.start_workflow(
        names.ESCALATION_WORKFLOW,
        EscalationInput(
            ticket_id=ticket, priority=priority, route=route, subject="Sync broken", **extra
        ),
        id=f"escalation-{ticket}",
        task_queue=task_queue,
        result_type=EscalationState,
    )


async def _state(handle: WorkflowHandle[Any, EscalationState]) -> EscalationState:
    return await handle.query(names.QUERY_STATE, result_type=EscalationState)


def _kinds(repository: Repository, key: str) -> list[str]:
    return [e.kind for e in repository.timeline(key)]


@pytest.fixture
def settings_for(database_url: str, task_queue: str):  # type: ignore[no-untyped-def]
    return make_settings(database_url, task_queue)


async def test_oncall_is_resolved_when_each_step_runs(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    now = await time_skipping_env.get_current_time()
    # From T+3 on, an override makes max the engineering secondary: T+5 must page max,
    # although erin was secondary when the escalation started.
    override = {
        "person": "max",
        "level": "secondary",
        "start": (now + timedelta(minutes=3)).isoformat(),
        "end": (now + timedelta(hours=2)).isoformat(),
    }
    variant = _variant(
        policy, lambda d: d["schedules"].append({"team": "engineering", "overrides": [override]})
    )
    async with running_worker(time_skipping_env.client, settings_for, variant, repository):
        handle = await _start(time_skipping_env, task_queue, Priority.P0, RouteKey.OUTAGE)
        await time_skipping_env.sleep(timedelta(minutes=6))
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan"))
        final = await handle.result()
    pages = {
        (r.step_index, r.target)
        for r in repository.notifications(final.escalation_key)
        if r.channel == "pagerduty"
    }
    assert (0, "dan") in pages
    assert (1, "max") in pages and (1, "erin") not in pages


async def test_no_one_on_call_tells_the_manager_at_once_and_goes_on(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    variant = _variant(policy, lambda d: _team(d, "engineering")["oncall"].update(secondary=None))
    async with running_worker(time_skipping_env.client, settings_for, variant, repository):
        handle = await _start(time_skipping_env, task_queue, Priority.P0, RouteKey.OUTAGE)
        await time_skipping_env.sleep(timedelta(minutes=6))
        state = await _state(handle)
        assert state.unstaffed_steps == [1]
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan"))
        final = await handle.result()
    assert "no_one_on_call" in _kinds(repository, final.escalation_key)
    step1 = [r for r in repository.notifications(final.escalation_key) if r.step_index == 1]
    # The manager (ivy) was emailed about the gap; the rest of T+5 still ran (VP page, war room).
    assert any(r.channel == "email" and r.target == "ivy" and r.action == "email" for r in step1)
    assert any(r.channel == "pagerduty" and r.target == "ivy" for r in step1)
    assert not any(r.channel == "pagerduty" and r.target == "erin" for r in step1)


async def test_no_one_on_call_can_wait_for_someone(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    def change(d: dict[str, Any]) -> None:
        _team(d, "engineering")["oncall"].update(primary=None)
        d["rules"]["no_one_on_call"] = "wait"

    async with running_worker(
        time_skipping_env.client, settings_for, _variant(policy, change), repository
    ):
        handle = await _start(time_skipping_env, task_queue, Priority.P0, RouteKey.OUTAGE)
        await time_skipping_env.sleep(timedelta(minutes=20))
        state = await _state(handle)
        assert state.steps == [], "T+0 must wait while nobody is on call"
        assert state.unstaffed_steps == [0]
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="ivy"))
        final = await handle.result()
    emails = [r for r in repository.notifications(final.escalation_key) if r.channel == "email"]
    assert [(r.target, r.step_index) for r in emails] == [("ivy", 0)], "manager told exactly once"
    assert not any(r.channel == "pagerduty" for r in repository.notifications(final.escalation_key))


async def test_ping_pong_opens_the_circuit_breaker_until_a_manager_names_the_owner(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    async with running_worker(
        time_skipping_env.client, settings_for, without_business_hours(policy), repository
    ):
        handle = await _start(time_skipping_env, task_queue, Priority.P2, RouteKey.TECHNICAL)

        async def reassign(team: str) -> EscalationState:
            return await handle.execute_update(
                names.UPDATE_REASSIGN,
                ReassignInput(to_team=team, by="alice"),
                result_type=EscalationState,
            )

        first = await reassign("engineering")
        assert first.bounces == 1 and first.status is EscalationStatus.PAGING
        second = await reassign("l2")
        assert second.bounces == 2 and second.status is EscalationStatus.ARBITRATION
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await reassign("engineering")
        assert isinstance(refused.value.cause, ApplicationError)
        assert "circuit breaker" in refused.value.cause.message
        decided = await handle.execute_update(
            names.UPDATE_ARBITRATE,
            ArbitrateInput(owner_team="engineering", by="frank"),
            result_type=EscalationState,
        )
        assert decided.team == "engineering" and decided.owner_locked_by == "frank"
        assert decided.status is EscalationStatus.PAGING
        with pytest.raises(WorkflowUpdateFailedError) as locked:
            await reassign("l2")
        assert "frank" in locked.value.cause.message  # type: ignore[union-attr]
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan"))
        final = await handle.result()
    kinds = _kinds(repository, final.escalation_key)
    assert (
        kinds.count("reassigned") == 2 and "circuit_breaker_open" in kinds and "arbitrated" in kinds
    )
    told = [
        r
        for r in repository.notifications(final.escalation_key)
        if r.action == "email" and r.target.startswith("frank")
    ]
    assert told, "the support manager is asked to arbitrate"


async def test_after_hours_phones_the_oncall_and_promises_the_next_business_start(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    hours = {"timezone": "America/New_York", "weekly": {"mon-sun": "00:00-00:01"}}
    variant = _variant(policy, lambda d: _team(d, "l2").update(business_hours=hours))
    business = BusinessHours.model_validate(hours)
    async with running_worker(time_skipping_env.client, settings_for, variant, repository):
        handle = await _start(
            time_skipping_env,
            task_queue,
            Priority.P1,
            RouteKey.TECHNICAL,
            customer_email="it@globex.example",
        )
        await time_skipping_env.sleep(timedelta(minutes=1))
        await handle.signal(names.SIGNAL_ACKNOWLEDGE, AcknowledgeInput(by="alice"))
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="alice"))
        final = await handle.result()
    rows = [r for r in repository.notifications(final.escalation_key) if r.step_index == 0]
    if is_business_time(business, final.started_at):  # the one open minute of the day
        assert not any(r.channel == "phone" for r in rows)
        return
    assert any(r.channel == "phone" and r.target == "alice" for r in rows), (
        "critical after hours: phone"
    )
    promise = next(r for r in rows if r.action == "customer_communication")
    assert promise.outcome == "outbox"
    expected = next_business_start(business, final.started_at)
    bodies = [m.payload.get("body", "") for m in repository.outbox(vendor="email", limit=500)]
    assert any(f"will be addressed by {expected:%Y-%m-%d %H:%M} UTC" in str(b) for b in bodies)


async def test_requested_person_away_goes_to_backup_and_reviews_on_return(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    now = await time_skipping_env.get_current_time()
    back = now + timedelta(hours=3)
    away = {
        "person": "lee",
        "start": (now - timedelta(days=1)).isoformat(),
        "end": back.isoformat(),
    }
    variant = _variant(
        policy,
        lambda d: next(s for s in d["schedules"] if s["team"] == "vip")["time_off"].append(away),
    )
    async with running_worker(time_skipping_env.client, settings_for, variant, repository):
        handle = await _start(
            time_skipping_env,
            task_queue,
            Priority.P2,
            RouteKey.VIP,
            requested_person="lee",
            customer_email="cfo@initech.example",
        )
        await time_skipping_env.sleep(timedelta(minutes=1))
        state = await _state(handle)
        assert state.assignee == "jon", "lee's designated backup handles it"
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="jon"))
        await time_skipping_env.sleep(timedelta(hours=3))
        final = await handle.result()
    kinds = _kinds(repository, final.escalation_key)
    assert "requested_person_unavailable" in kinds and "requested_person_returned" in kinds
    rows = repository.notifications(final.escalation_key)
    assert any(r.action == "customer_communication" and r.target == "customer" for r in rows)
    assert any(r.action == "email" and r.target == "lee" for r in rows), "asked to review on return"
    returned = next(
        e
        for e in repository.timeline(final.escalation_key)
        if e.kind == "requested_person_returned"
    )
    assert returned.at >= back - timedelta(seconds=1)


async def test_legal_hold_refuses_customer_messages(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    async with running_worker(
        time_skipping_env.client, settings_for, without_business_hours(policy), repository
    ):
        handle = await _start(
            time_skipping_env,
            task_queue,
            Priority.P0,
            RouteKey.LEGAL,
            legal_hold=True,
            customer_email="legal@hooli.example",
        )
        await time_skipping_env.sleep(timedelta(minutes=16))  # past T+15 customer communication
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="kim"))
        final = await handle.result()
    rows = repository.notifications(final.escalation_key)
    customer = [r for r in rows if r.action == "customer_communication"]
    assert customer and all(
        r.outcome == "skipped" and "legal hold" in r.result["detail"] for r in customer
    )
    assert final.legal_hold is True


async def test_an_outsiders_acknowledgement_is_recorded_as_such(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    async with running_worker(
        time_skipping_env.client, settings_for, without_business_hours(policy), repository
    ):
        insider = await _start(time_skipping_env, task_queue, Priority.P1, RouteKey.TECHNICAL)
        outsider = await _start(time_skipping_env, task_queue, Priority.P1, RouteKey.TECHNICAL)
        await insider.signal(names.SIGNAL_ACKNOWLEDGE, AcknowledgeInput(by="bob"))
        await outsider.signal(names.SIGNAL_ACKNOWLEDGE, AcknowledgeInput(by="night-contractor"))
        for handle in (insider, outsider):
            await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="alice"))
        finals = [await insider.result(), await outsider.result()]
    words = [
        next(
            e.detail["responder"]
            for e in repository.timeline(f.escalation_key)
            if e.kind == "acknowledged"
        )
        for f in finals
    ]
    assert words == ["yes", "outsider"]
