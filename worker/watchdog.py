"""The watchdog: its Temporal Schedule and the small worker that serves its task queue.

Design (escalation/watchdog.py): the `Watchdog` workflow runs every
ESCALATION_WATCHDOG_INTERVAL_SECONDS on the ESCALATION_WATCHDOG_TASK_QUEUE (`watchdog`),
never on the escalations queue, so it still runs when every escalation worker is gone. Its
worker is a separate, tiny process (`python -m worker.watchdog`; one or two replicas next to
the API) with only the watchdog workflow and activities and its own HTTP client for the
email and SMS adapters. `ensure_watchdog_schedule` is idempotent and is called by every
escalation worker and by the watchdog worker at start, so the schedule exists as soon as
either runs; it brings the interval and checks in line with the settings and leaves a paused
schedule paused.

What it cannot see: the Temporal server itself being down (no schedule fires). That is the
job of the API's /healthz probed by the load balancer or uptime monitor, which reports
Temporal separately.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.worker import Worker

from activities.adapters.registry import build_adapters
from activities.outbox import StoreOutbox
from activities.watchdog import WatchdogActivities
from escalation.settings import Settings
from escalation.watchdog import WATCHDOG_SCHEDULE_ID, WATCHDOG_WORKFLOW, WatchdogInput
from store.db import make_engine, make_sessionmaker
from store.repository import Repository
from worker.client import connect
from workflows.watchdog import WatchdogWorkflow

log = structlog.get_logger("escalation.watchdog")


def watchdog_input(settings: Settings) -> WatchdogInput:
    emails = [e.strip() for e in settings.escalation_watchdog_emails.split(",") if e.strip()]
    return WatchdogInput(
        task_queue=settings.temporal_task_queue,
        stale_after_seconds=settings.escalation_watchdog_stale_seconds,
        window_seconds=settings.escalation_watchdog_window_seconds,
        failure_threshold=settings.escalation_watchdog_failure_threshold,
        alert_emails=emails,
        alert_phone=settings.escalation_watchdog_phone or None,
    )


def watchdog_schedule(settings: Settings, schedule_id: str = WATCHDOG_SCHEDULE_ID) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WATCHDOG_WORKFLOW,
            watchdog_input(settings),
            id=f"{schedule_id}-run",
            task_queue=settings.escalation_watchdog_task_queue,
            execution_timeout=timedelta(minutes=5),
        ),
        spec=ScheduleSpec(
            intervals=[
                ScheduleIntervalSpec(
                    every=timedelta(seconds=settings.escalation_watchdog_interval_seconds)
                )
            ]
        ),
        # A run still going when the next is due (e.g. alerts retrying) is not doubled up.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_watchdog_schedule(
    client: Client, settings: Settings, schedule_id: str = WATCHDOG_SCHEDULE_ID
) -> bool:
    """Create the watchdog schedule, or bring an existing one's action and interval in line
    with `settings` (keeping its paused/unpaused state). True when this call created it."""
    wanted = watchdog_schedule(settings, schedule_id)
    try:
        await client.create_schedule(schedule_id, wanted)
        return True
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate | None:
        schedule = current.description.schedule
        if schedule.spec == wanted.spec and schedule.action == wanted.action:
            return None
        schedule.spec = wanted.spec
        schedule.action = wanted.action
        schedule.policy = wanted.policy
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(schedule_id).update(update)
    return False


@asynccontextmanager
async def watchdog_worker(
    client: Client, settings: Settings, repository: Repository
) -> AsyncIterator[Worker]:
    """The watchdog's worker: only the Watchdog workflow and its two activities, on the
    watchdog task queue, with its own HTTP client for the alert adapters."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as http:
        adapters = build_adapters(settings, http, StoreOutbox(repository))
        activities = WatchdogActivities(client, repository, adapters)
        yield Worker(
            client,
            task_queue=settings.escalation_watchdog_task_queue,
            workflows=[WatchdogWorkflow],
            activities=[activities.check, activities.alert],
            max_cached_workflows=10,
            graceful_shutdown_timeout=timedelta(seconds=5),
        )


async def run_watchdog(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run the watchdog worker until `stop` is set (or forever)."""
    repository = Repository(make_sessionmaker(make_engine(settings.database_url)))
    client = await connect(settings)
    try:
        await ensure_watchdog_schedule(client, settings)
    except Exception as exc:  # the worker still serves runs of an existing schedule
        log.warning("watchdog_schedule_failed", error=str(exc))
    async with watchdog_worker(client, settings, repository) as worker:
        log.info(
            "watchdog_started",
            task_queue=settings.escalation_watchdog_task_queue,
            watching=settings.temporal_task_queue,
            every_seconds=settings.escalation_watchdog_interval_seconds,
        )
        if stop is None:
            await worker.run()
            return
        run = asyncio.create_task(worker.run())
        await stop.wait()
        await worker.shutdown()
        await run


def main() -> None:
    """`python -m worker.watchdog`: the watchdog worker as its own process."""
    from escalation.logging_setup import configure_logging

    settings = Settings()
    configure_logging(fmt=settings.escalation_log_format, level=settings.escalation_log_level)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_watchdog(settings, stop)

    asyncio.run(serve())


if __name__ == "__main__":
    main()
