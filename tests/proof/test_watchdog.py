"""Watching the watchers: the watchdog's Temporal Schedule, triggered at once on the dev
server, finds (1) no worker polling the escalations queue and alerts by email and SMS, (2) a
channel that keeps failing and alerts around it (SMTP failing: SMS only), and (3) nothing
wrong while a worker polls and the channels are fine (no alert). The watchdog's worker serves
its own task queue: the alerts go out although no escalation worker runs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import Client, ScheduleHandle
from temporalio.testing import WorkflowEnvironment

from escalation.policy import Policy
from escalation.settings import Settings
from escalation.watchdog import WatchdogReport
from store.repository import Repository
from tests.conftest import make_settings, running_worker
from tests.integration.waiting import eventually
from tests.vendors.plugin import live_settings
from tests.vendors.servers import SmtpServer, TwilioServer
from worker.watchdog import ensure_watchdog_schedule, watchdog_worker

pytestmark = pytest.mark.integration

ONCALL_PHONE = "+15555550199"


def _settings(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    smtp: SmtpServer,
    twilio: TwilioServer,
) -> Settings:
    live = live_settings(smtp=smtp, twilio=twilio).model_dump()
    for key in ("database_url", "temporal_task_queue"):
        live.pop(key)
    live.update(
        temporal_address=dev_env.client.service_client.config.target_host,
        escalation_watchdog_task_queue=f"watchdog-{uuid.uuid4().hex[:8]}",
        escalation_watchdog_interval_seconds=3600,  # runs only when the test triggers it
        escalation_watchdog_failure_threshold=3,
        escalation_watchdog_emails="platform-oncall@example.com",
        escalation_watchdog_phone=ONCALL_PHONE,
    )
    return make_settings(database_url, task_queue, **live)


async def _trigger_and_wait(
    client: Client, handle: ScheduleHandle, previous: int, timeout: float = 30.0
) -> WatchdogReport:
    """Trigger the schedule now and return the report of the run it starts."""
    await handle.trigger()

    async def runs() -> list[str]:
        description = await handle.describe()
        return [a.action.workflow_id for a in description.info.recent_actions]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(ids := await runs()) <= previous:
        assert loop.time() < deadline, "the schedule did not start a run"
        await asyncio.sleep(0.2)
    report: WatchdogReport = await asyncio.wait_for(
        client.get_workflow_handle(ids[-1], result_type=WatchdogReport).result(), timeout
    )
    return report


def _seed_failures(repository: Repository, channel: str, count: int) -> None:
    now = datetime.now(UTC)
    for i in range(count):
        repository.save_notification(
            idempotency_key=f"watchdog-seed:{uuid.uuid4().hex}",
            escalation_key=f"escalation-WD{i}.seed",
            ticket_id=f"WD{i}",
            step_index=0,
            action="email",
            channel=channel,
            target="carol",
            outcome="failed",
            external_id=None,
            error=f"{channel}: 554 rejected",
            result={},
            created_at=now - timedelta(seconds=i),
        )


async def test_watchdog_alerts_without_workers_and_around_a_failing_channel(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    repository: Repository,
    policy: Policy,
    smtp_server: SmtpServer,
    twilio_server: TwilioServer,
) -> None:
    settings = _settings(dev_env, database_url, task_queue, smtp_server, twilio_server)
    client = dev_env.client
    schedule_id = f"watchdog-test-{uuid.uuid4().hex[:8]}"
    assert await ensure_watchdog_schedule(client, settings, schedule_id) is True
    assert await ensure_watchdog_schedule(client, settings, schedule_id) is False  # idempotent
    handle = client.get_schedule_handle(schedule_id)
    described = await handle.describe()
    interval = described.schedule.spec.intervals[0].every
    assert interval == timedelta(seconds=settings.escalation_watchdog_interval_seconds)
    try:
        async with watchdog_worker(client, settings, repository) as worker, worker:
            # 1. No escalation worker polls the escalations queue: alert by email and SMS.
            report = await _trigger_and_wait(client, handle, 0)
            print(f"\nwatchdog, no workers: {report.problems}; alerted via {report.alerted_via}")
            assert report.workflow_pollers == 0 and report.activity_pollers == 0
            assert any("no worker is polling workflow tasks" in p for p in report.problems)
            assert report.alerted_via == ["email", "sms"]
            mail = await eventually(lambda: smtp_server.messages)
            assert mail[0].rcpt_tos == ["platform-oncall@example.com"]
            assert "no worker is polling" in mail[0].body
            sms = await eventually(lambda: twilio_server.messages)
            assert sms[0]["to"] == ONCALL_PHONE and "no worker" in sms[0]["body"]

            # 2. A worker polls, but email keeps failing: the alert avoids email (SMS only).
            _seed_failures(repository, "email", 3)
            async with running_worker(client, settings, policy, repository):
                await asyncio.sleep(0.5)  # the worker's first polls reach the server
                report = await _trigger_and_wait(client, handle, 1)
            print(f"watchdog, email failing: {report.problems}; alerted via {report.alerted_via}")
            assert report.workflow_pollers >= 1 and report.activity_pollers >= 1
            assert report.unhealthy_channels == ["email"]
            assert report.alerted_via == ["sms"]
            assert len(smtp_server.messages) == 1, "the alert went through the failing channel"
            await eventually(lambda: len(twilio_server.messages) == 2)
            assert "channel email" in twilio_server.messages[1]["body"]

            # 3. Healthy: a worker polls, failures aged out of the window: no alert.
            quiet = settings.model_copy(update={"escalation_watchdog_window_seconds": 0.001})
            await ensure_watchdog_schedule(client, quiet, schedule_id)  # updates the window
            async with running_worker(client, settings, policy, repository):
                await asyncio.sleep(0.5)
                report = await _trigger_and_wait(client, handle, 2)
            print(f"watchdog, healthy: {report.problems}; alerted via {report.alerted_via}")
            assert report.problems == [] and report.alerted_via == []
            assert len(smtp_server.messages) == 1 and len(twilio_server.messages) == 2

            # 4. The worker that polled a moment ago is gone: once its last poll is older
            #    than the staleness limit (90 s by default, above the 60 s long poll of an
            #    idle worker; 2 s here), the watchdog sees no worker and alerts.
            hasty = quiet.model_copy(update={"escalation_watchdog_stale_seconds": 2.0})
            await ensure_watchdog_schedule(client, hasty, schedule_id)
            await asyncio.sleep(2.5)
            report = await _trigger_and_wait(client, handle, 3)
            print(f"watchdog, worker gone: {report.problems[:1]}; alerted via {report.alerted_via}")
            assert report.workflow_pollers == 0 and report.alerted_via == ["email", "sms"]
    finally:
        await handle.delete()
