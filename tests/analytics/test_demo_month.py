"""`escalation demo --month` through the real API, worker and dev server (a small, fast
month), then the dashboard shows it."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from rich.console import Console
from temporalio.testing import WorkflowEnvironment

from escalation.demo_month import plan_month, replay_month
from escalation.policy import Policy
from store.repository import Repository
from tests.conftest import make_settings, running_worker
from tests.integration.api_server import serve_api

pytestmark = pytest.mark.integration
ADMIN = "admin-secret-for-the-demo-test"


def test_plan_is_reproducible_and_realistic() -> None:
    first, again = plan_month(7, 120), plan_month(7, 120)
    assert [(p.ticket_id, p.priority, p.offset) for p in first] == [
        (p.ticket_id, p.priority, p.offset) for p in again
    ]
    assert [p.ticket_id for p in plan_month(8, 120)] != [p.ticket_id for p in first]
    priorities = [p.priority for p in first]
    assert priorities.count("P0") < priorities.count("P1") < priorities.count("P2")
    by_agent: dict[str, int] = {}
    for p in first:
        by_agent[p.agent] = by_agent.get(p.agent, 0) + 1
    assert max(by_agent, key=lambda a: by_agent[a]) == "agent-07"  # the heavy escalator
    assert any(p.reopen for p in first)


async def test_month_replay_populates_the_dashboard(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    repository: Repository,
    policy: Policy,
) -> None:
    settings = make_settings(
        database_url,
        task_queue,
        temporal_address=dev_env.client.service_client.config.target_host,
        escalation_time_scale=0.002,
        escalation_api_keys=f"demo:admin:{ADMIN}",
        escalation_api_key_pepper="pepper-for-the-demo-test-0123",
    )
    async with running_worker(dev_env.client, settings, policy, repository):
        with serve_api(settings) as url:
            code = await replay_month(
                url, Console(quiet=True), ADMIN, seed=3, minutes=0.25, count=12, tail_minutes=0.5
            )
            assert code == 0
            headers = {"authorization": f"Bearer {ADMIN}"}
            async with httpx.AsyncClient(base_url=url, headers=headers) as client:
                for _ in range(100):
                    board = (await client.get("/v1/dashboard?period=24h")).json()
                    if board["volume"]["total"] >= 12 and board["outcomes"]["reviewed"]:
                        break
                    await asyncio.sleep(0.2)
    assert board["volume"]["total"] >= 12  # + the probe and any reopened tickets
    assert board["outcomes"]["resolved"] >= 1
    assert board["outcomes"]["reviewed"] >= 1
    assert {a["agent_id"] for a in board["agents"]} <= {f"agent-{n:02d}" for n in range(1, 13)}
    assert any(t["key"] != "unspecified" for t in board["volume"]["by_trigger"])
