"""A real worker process is killed with SIGKILL in the middle of a P0 cadence and restarted:
the cadence finishes, and the local PagerDuty server saw exactly one trigger per page (none
duplicated, none lost)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from escalation import activity_names as names
from escalation.models import EscalationInput, EscalationState, ResolveInput
from escalation.settings import DEFAULT_POLICY_PATH
from escalation.vocabulary import Priority, RouteKey
from store.repository import Repository
from tests.integration.waiting import eventually
from tests.vendors.servers import PagerDutyServer, SlackServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCALE = 0.02  # T+5m = 6 s, T+15m = 18 s, T+30m = 36 s


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "escalation", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _delivered(repository: Repository, ticket: str, step: int) -> int:
    """How many of a step's actions the timeline shows as delivered."""
    row = repository.latest_escalation(ticket)
    if row is None:
        return 0
    return sum(
        1
        for e in repository.timeline(row.key)
        if e.kind in ("action_delivered", "action_failed") and e.step_index == step
    )


async def _query(handle, timeout: float = 5.0) -> EscalationState:  # type: ignore[no-untyped-def]
    return await asyncio.wait_for(
        handle.query(names.QUERY_STATE, result_type=EscalationState), timeout
    )


async def test_sigkill_mid_p0_cadence(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    repository: Repository,
    pagerduty_server: PagerDutyServer,
    slack_server: SlackServer,
    tmp_path: Path,
) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("PAGERDUTY", "SLACK", "SMTP", "JIRA", "TWILIO", "OPSGENIE", "STATUSPAGE")
        )
    }
    env.update(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        TEMPORAL_TASK_QUEUE=task_queue,
        ESCALATION_POLICY=str(DEFAULT_POLICY_PATH),
        ESCALATION_STICKY_TIMEOUT_SECONDS="1",
        PAGERDUTY_EVENTS_URL=pagerduty_server.base_url,
        PAGERDUTY_ROUTING_KEY=pagerduty_server.routing_key,
        SLACK_API_URL=slack_server.base_url,
        SLACK_BOT_TOKEN=slack_server.token,
        # every other vendor: outbox, and a loopback URL nothing listens on
        STATUSPAGE_API_URL="http://127.0.0.1:9/v1",
        TWILIO_API_URL="http://127.0.0.1:9",
    )
    log = tmp_path / "worker.log"
    worker = _start_worker(env, log)
    kills = 0
    try:
        ticket = f"KILL{uuid.uuid4().hex[:6]}"
        handle = await dev_env.client.start_workflow(
            names.ESCALATION_WORKFLOW,
            EscalationInput(
                ticket_id=ticket, priority=Priority.P0, route=RouteKey.OUTAGE, time_scale=SCALE
            ),
            id=f"escalation-{ticket}",
            task_queue=task_queue,
            result_type=EscalationState,
        )
        # Kill after T+0's actions are all recorded, and again after T+5's: each time the
        # worker dies with durable timers pending, and the restarted worker must carry on.
        # (A kill between a vendor call and its record can make the retry call the vendor
        # again; PagerDuty's dedup_key keeps that to one alert: see test_vendor_faults.)
        for step, actions in ((0, 4), (1, 4)):
            await eventually(
                lambda s=step, n=actions: _delivered(repository, ticket, s) >= n, within=60
            )
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            kills += 1
            worker = _start_worker(env, log)

        deadline = asyncio.get_running_loop().time() + 90
        state = await _query(handle, timeout=30)
        while len([s for s in state.steps if not s.skipped]) < 4:
            assert asyncio.get_running_loop().time() < deadline, (
                f"cadence stalled: {state}\n{log.read_text()[-3000:]}"
            )
            await asyncio.sleep(0.5)
            state = await _query(handle, timeout=30)
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan", resolution="fixed"))
        final = await asyncio.wait_for(handle.result(), 60)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()

    assert kills == 2
    assert [s.index for s in final.steps if not s.skipped] == [0, 1, 2, 3]
    triggers = Counter(
        r.json["dedup_key"]
        for r in pagerduty_server.requests_to("/v2/enqueue")
        if r.json["event_action"] == "trigger"
    )
    # T+0 pages the primary (dan); T+5 pages the secondary (erin) and the VP (ivy).
    assert sorted(k.rsplit(":", 1)[-1] for k in triggers) == ["dan", "erin", "ivy"]
    assert set(triggers.values()) == {1}, f"duplicate triggers: {triggers}"
    resolves = [
        r
        for r in pagerduty_server.requests_to("/v2/enqueue")
        if r.json["event_action"] == "resolve"
    ]
    assert {r.json["dedup_key"] for r in resolves} == set(triggers)
    assert pagerduty_server.schema_violations == []
