"""The worker process: registers the workflows and activities and runs until stopped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.adapters.registry import build_adapters
from activities.delivery import DeliveryActivities
from activities.outbox import StoreOutbox
from activities.planning import PlanningActivities
from activities.recording import RecordingActivities
from escalation.policy import Policy, load_policy
from escalation.settings import Settings
from store.db import make_engine, make_sessionmaker
from store.repository import Repository
from worker.client import connect
from workflows.escalation import EscalationWorkflow

log = structlog.get_logger("escalation.worker")

WORKFLOWS = [EscalationWorkflow]


@asynccontextmanager
async def escalation_worker(
    client: Client, settings: Settings, policy: Policy, repository: Repository
) -> AsyncIterator[Worker]:
    """A configured worker, with the HTTP client its adapters share, closed on exit."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as http:
        adapters = build_adapters(settings, http, StoreOutbox(repository))
        planning = PlanningActivities(policy)
        recording = RecordingActivities(repository)
        delivery = DeliveryActivities(adapters, repository)
        worker = Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=WORKFLOWS,
            activities=[
                planning.plan_escalation,
                recording.record_timeline,
                delivery.deliver_action,
                delivery.sync_channels,
            ],
            sticky_queue_schedule_to_start_timeout=timedelta(
                seconds=settings.escalation_sticky_timeout_seconds
            ),
            graceful_shutdown_timeout=timedelta(seconds=5),
        )
        yield worker


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run one worker until `stop` is set (or forever)."""
    policy = load_policy(settings.escalation_policy)
    repository = Repository(make_sessionmaker(make_engine(settings.database_url)))
    client = await connect(settings)
    async with escalation_worker(client, settings, policy, repository) as worker:
        log.info(
            "worker_started",
            task_queue=settings.temporal_task_queue,
            live_adapters=[k for k, v in settings.live_adapters().items() if v],
        )
        if stop is None:
            await worker.run()
            return
        run = asyncio.create_task(worker.run())
        await stop.wait()
        await worker.shutdown()
        await run
