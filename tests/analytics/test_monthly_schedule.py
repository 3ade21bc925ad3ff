"""The monthly report workflow and its Temporal Schedule, on the dev server: the schedule is
created idempotently, a triggered run posts the report to Slack and email (outbox mode)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.adapters.registry import build_adapters
from activities.outbox import StoreOutbox
from activities.reporting import ReportingActivities
from escalation.closing import MonthlyReportPublished, MonthlyReportRequest
from store import models
from store.repository import Repository
from tests.analytics import dataset
from tests.conftest import make_settings
from worker.report_schedule import ensure_monthly_report_schedule
from workflows.monthly_report import MonthlyReportWorkflow

pytestmark = pytest.mark.integration


def _outbox(repository: Repository, vendor: str) -> list[models.OutboxMessage]:
    with repository.sessions() as session:
        return list(
            session.scalars(
                select(models.OutboxMessage)
                .where(models.OutboxMessage.vendor == vendor)
                .order_by(models.OutboxMessage.id)
            )
        )


async def test_schedule_runs_the_report_and_posts_it(
    dev_env: WorkflowEnvironment, repository: Repository, database_url: str, task_queue: str
) -> None:
    with repository.sessions.begin() as session:
        dataset.load(session)
    client: Client = dev_env.client
    settings = make_settings(database_url, task_queue)
    schedule_id = f"monthly-report-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient() as http:
        adapters = build_adapters(settings, http, StoreOutbox(repository))
        reporting = ReportingActivities(repository.sessions, adapters, settings)
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[MonthlyReportWorkflow],
            activities=[reporting.build_monthly_report, reporting.publish_monthly_report],
        ):
            # A chosen month, run directly: the report's content reaches both channels.
            result = await client.execute_workflow(
                MonthlyReportWorkflow.run,
                MonthlyReportRequest(month="2026-01"),
                id=f"report-{uuid.uuid4().hex[:8]}",
                task_queue=task_queue,
                result_type=MonthlyReportPublished,
            )
            assert (result.month, result.slack, result.email) == ("2026-01", "outbox", "outbox")
            slack = _outbox(repository, "slack")[-1].payload
            assert slack["channel"] == settings.escalation_report_slack_channel
            assert "# Escalation Monthly Report: 2026-01" in slack["text"]
            assert "## Recommendations" in slack["text"]
            email = _outbox(repository, "email")[-1].payload
            assert "Escalation Monthly Report: 2026-01" in str(email)

            # The schedule: created once, a second call leaves it alone.
            assert await ensure_monthly_report_schedule(client, task_queue, schedule_id)
            assert not await ensure_monthly_report_schedule(client, task_queue, schedule_id)
            handle = client.get_schedule_handle(schedule_id)
            described = await handle.describe()
            upcoming = described.info.next_action_times[0]
            assert (upcoming.day, upcoming.hour, upcoming.minute) == (1, 6, 0)  # MONTHLY_CRON
            before = len(_outbox(repository, "slack"))
            await handle.trigger()
            for _ in range(200):
                described = await handle.describe()
                if described.info.recent_actions:
                    break
                await asyncio.sleep(0.1)
            action = described.info.recent_actions[-1].action
            run = client.get_workflow_handle(
                action.workflow_id,  # type: ignore[union-attr]
                result_type=MonthlyReportPublished,
            )
            published = await run.result()
            assert published.slack == "outbox"  # last month: empty, but still posted
            assert len(_outbox(repository, "slack")) == before + 1
            await handle.delete()
