"""Replay tests: recorded workflow histories must replay on the current workflow code.

A change to EscalationWorkflow that running escalations could not replay fails here. Histories
under tests/histories/ are committed; `RECORD_HISTORIES=1 pytest tests/integration/test_replay.py`
re-records the fresh one (do that only for an intentional, patched change).
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from escalation import activity_names as names
from escalation.models import (
    AcknowledgeInput,
    AgentConfirmInput,
    EscalationInput,
    EscalationState,
    NoteInput,
    ReassignInput,
    ResolveInput,
)
from escalation.policy import Policy
from escalation.vocabulary import Priority, RouteKey
from store.repository import Repository
from tests.conftest import make_settings, running_worker, without_business_hours
from tests.integration.escalation_helpers import start_p0
from worker.main import WORKFLOWS

pytestmark = pytest.mark.integration

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
CURRENT_HISTORY = "v8"  # bump when recording after an intentional, patched change


def _replayer() -> Replayer:
    return Replayer(workflows=list(WORKFLOWS), data_converter=pydantic_data_converter)


async def _record_story(
    env: WorkflowEnvironment,
    task_queue: str,
    policy: Policy,
    repository: Repository,
    database_url: str,
) -> WorkflowHistory:
    """A P0 that nobody acknowledges for 6 minutes, gets a note, is reassigned, acknowledged,
    then resolved: every signal, update and step kind in one history."""
    settings = make_settings(database_url, task_queue)
    ticket = f"REPLAY{uuid.uuid4().hex[:6]}"
    async with running_worker(env.client, settings, policy, repository):
        handle = await start_p0(env.client, task_queue, ticket)
        await env.sleep(timedelta(minutes=6))
        await handle.signal(names.SIGNAL_ADD_NOTE, NoteInput(by="hank", text="bridge is open"))
        await handle.execute_update(
            names.UPDATE_REASSIGN,
            ReassignInput(to_team="incident-command", by="hank", reason="needs IC"),
            result_type=EscalationState,
        )
        await env.sleep(timedelta(minutes=2))
        await handle.execute_update(
            names.UPDATE_ACKNOWLEDGE, AcknowledgeInput(by="hank"), result_type=EscalationState
        )
        await env.sleep(timedelta(minutes=20))
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="hank", resolution="rolled back"))
        await handle.result()
        return await handle.fetch_history()


async def test_fresh_history_replays(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    policy: Policy,
    repository: Repository,
    database_url: str,
) -> None:
    history = await _record_story(time_skipping_env, task_queue, policy, repository, database_url)
    await _replayer().replay_workflow(history)
    _keep(history, "p0_reassign_ack_resolve")


async def _record_p3_story(
    env: WorkflowEnvironment,
    task_queue: str,
    policy: Policy,
    repository: Repository,
    database_url: str,
) -> WorkflowHistory:
    """A P3 (T+0 queue + in-app: store-only notifications) acknowledged, then resolved."""
    settings = make_settings(database_url, task_queue)
    ticket = f"REPLAY{uuid.uuid4().hex[:6]}"
    async with running_worker(env.client, settings, without_business_hours(policy), repository):
        handle = await env.client.start_workflow(
            names.ESCALATION_WORKFLOW,
            EscalationInput(
                ticket_id=ticket, priority=Priority.P3, route=RouteKey.TECHNICAL, subject="Export"
            ),
            id=f"escalation-{ticket}",
            task_queue=task_queue,
            result_type=EscalationState,
        )
        await env.sleep(timedelta(minutes=10))
        await handle.execute_update(
            names.UPDATE_ACKNOWLEDGE, AcknowledgeInput(by="dan"), result_type=EscalationState
        )
        await env.sleep(timedelta(hours=2))
        await handle.signal(names.SIGNAL_AGENT_CONFIRMED, AgentConfirmInput(by="agent"))
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan", resolution="fixed"))
        await handle.result()
        return await handle.fetch_history()


async def test_fresh_p3_history_replays(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    policy: Policy,
    repository: Repository,
    database_url: str,
) -> None:
    history = await _record_p3_story(
        time_skipping_env, task_queue, policy, repository, database_url
    )
    await _replayer().replay_workflow(history)
    _keep(history, "p3_queue_in_app_ack_resolve")


def _keep(history: WorkflowHistory, story: str) -> None:
    """With RECORD_HISTORIES=1, commit-ready: each recording gets a new name, so older
    histories stay to prove patches keep them replayable."""
    if os.environ.get("RECORD_HISTORIES") == "1":
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / f"{story}_{CURRENT_HISTORY}.json").write_text(
            json.dumps(json.loads(history.to_json()), indent=1) + "\n"
        )


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_committed_history_replays(path: Path) -> None:
    # Escalation workflow ids are `escalation-<ticket>`; the workflow derives keys from it.
    history = WorkflowHistory.from_json(f"escalation-{path.stem}", path.read_text())
    await _replayer().replay_workflow(history)


def test_histories_are_committed() -> None:
    assert sorted(HISTORIES.glob("*.json")), "record one with RECORD_HISTORIES=1"
