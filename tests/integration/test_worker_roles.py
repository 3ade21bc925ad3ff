"""ESCALATION_WORKER_ROLE on the real dev server and PostgreSQL: a `workflows` worker runs the
cadence and its local look-ups but no delivery; an `activities` worker delivers; together they
are one escalation service."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from escalation import activity_names as names
from escalation.models import EscalationState, EscalationStatus, ResolveInput
from escalation.policy import Policy
from store.repository import Repository
from tests.conftest import make_settings, running_worker, without_business_hours
from tests.integration.escalation_helpers import start_p0
from tests.integration.waiting import eventually

pytestmark = pytest.mark.integration


async def test_a_workflows_worker_waits_for_an_activities_worker_to_deliver(
    dev_env: WorkflowEnvironment,
    policy: Policy,
    repository: Repository,
    database_url: str,
    task_queue: str,
) -> None:
    settings = make_settings(database_url, task_queue)
    workflows = settings.model_copy(update={"escalation_worker_role": "workflows"})
    activities = settings.model_copy(update={"escalation_worker_role": "activities"})
    policy = without_business_hours(policy)
    ticket = f"ROLE{uuid.uuid4().hex[:6]}"
    async with running_worker(dev_env.client, workflows, policy, repository):
        handle = await start_p0(dev_env.client, task_queue, ticket)
        # The plan and on-call look-ups are local activities: T+0 runs and dispatches.
        state = await _state_once_t0_ran(handle)
        await asyncio.sleep(2)
        assert repository.notifications(f"{state.escalation_key}.") == []  # nobody delivers
        assert repository.timeline(state.escalation_key) == []  # nor writes the timeline
        async with running_worker(dev_env.client, activities, policy, repository):
            await eventually(
                lambda: len(repository.notifications(f"{state.escalation_key}.")) >= 4,
                within=30,
            )
            await handle.execute_update(
                names.UPDATE_RESOLVE,
                ResolveInput(by="dan", resolution="fixed"),
                result_type=EscalationState,
            )
            final = await asyncio.wait_for(handle.result(), 60)
    assert final.status is EscalationStatus.RESOLVED
    kinds = [e.kind for e in repository.timeline(final.escalation_key)]
    assert kinds[:2] == ["escalation_started", "step_started"]
    assert kinds.count("action_delivered") >= 4 and "resolved" in kinds


async def _state_once_t0_ran(handle: WorkflowHandle[Any, EscalationState]) -> EscalationState:
    for _ in range(150):
        state: EscalationState = await handle.query(names.QUERY_STATE, result_type=EscalationState)
        if state.steps:
            return state
        await asyncio.sleep(0.1)
    raise AssertionError("T+0 did not run on the workflows worker within 15 s")
