"""The worker process: registers the workflows and activities and runs until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import structlog
from temporalio.client import Client, Interceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import PollerBehaviorSimpleMaximum, Worker

from activities import metrics
from activities.adapters.registry import build_adapters
from activities.closing import ClosingActivities
from activities.delivery import DeliveryActivities
from activities.outbox import StoreOutbox
from activities.planning import PlanningActivities
from activities.recording import RecordingActivities
from activities.reporting import ReportingActivities
from activities.ticket_watch import ticket_watch_activities
from escalation.policy import Policy, load_policy
from escalation.settings import Settings
from store.closing import ClosingStore
from store.db import make_engine, make_sessionmaker
from store.repository import Repository
from store.schedules import ScheduleStore
from worker.client import data_converter
from worker.report_schedule import ensure_monthly_report_schedule
from worker.watchdog import ensure_watchdog_schedule
from workflows.escalation import EscalationWorkflow
from workflows.monthly_report import MonthlyReportWorkflow
from workflows.ticket_watch import TicketWatchWorkflow

log = structlog.get_logger("escalation.worker")
# Middle-generation passes between full ones (CPython's default: 10); see freeze_startup_heap.
FULL_COLLECTION_THRESHOLD = 100
DB_THREADS = 20  # = the engine's pool_size + max_overflow (store/db.py)

WORKFLOWS = [EscalationWorkflow, TicketWatchWorkflow]


def ensure_workflow_bytecode() -> None:
    """Compile the workflow modules to __pycache__ if they are not yet.

    The sandbox re-imports a workflow's module for every new workflow it runs; without cached
    bytecode (PYTHONDONTWRITEBYTECODE=1, or a fresh checkout) each import compiles the source
    again, about 50 ms of CPU per new escalation, which capped a worker at ~20 new escalations
    per second per core in bench/. Installed packages already have bytecode; a read-only tree
    without it only loses the speed-up."""
    import compileall

    import workflows

    for path in workflows.__path__:
        with contextlib.suppress(OSError):
            compileall.compile_dir(path, quiet=2)


def worker_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime that serves Prometheus metrics (the SDK's and ours, see
    activities/metrics.py) on ESCALATION_WORKER_METRICS_ADDRESS; None when that is unset.
    One per process: the runtime binds the port."""
    address = settings.escalation_worker_metrics_address
    if not address:
        return None
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=address,
                histogram_bucket_overrides={
                    metrics.ACK_LATENCY: [float(b) for b in metrics.ACK_LATENCY_BUCKETS]
                },
            ),
            global_tags={"service": "escalation-worker"},
        )
    )
    metrics.install(runtime.metric_meter)
    return runtime


def tracing_interceptors(settings: Settings) -> list[Interceptor]:
    """OpenTelemetry spans for workflows and activities when ESCALATION_TRACING is on (needs
    the `tracing` extra: opentelemetry-sdk and the OTLP exporter)."""
    if not settings.escalation_tracing:
        return []
    from worker.tracing import tracing_interceptor

    return [tracing_interceptor("escalation-worker")]


async def connect_worker_client(settings: Settings) -> Client:
    """The worker's client: our data converter, the metrics runtime and tracing if enabled."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        runtime=worker_runtime(settings),
        interceptors=tracing_interceptors(settings),
    )


@asynccontextmanager
async def escalation_worker(
    client: Client, settings: Settings, policy: Policy, repository: Repository
) -> AsyncIterator[Worker]:
    """A configured worker, with the HTTP client its adapters share, closed on exit."""
    ensure_workflow_bytecode()
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as http:
        adapters = build_adapters(settings, http, StoreOutbox(repository))
        reporting = ReportingActivities(repository.sessions, adapters, settings)
        planning = PlanningActivities(
            policy, ScheduleStore(repository.sessions).runtime_schedule_changes
        )
        closing = ClosingActivities(ClosingStore.from_settings(repository.sessions, settings))
        recording = RecordingActivities(repository)
        delivery = DeliveryActivities(adapters, repository)
        ticket_watch = ticket_watch_activities(client, settings, policy, repository)
        role = settings.escalation_worker_role
        worker = Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=[*WORKFLOWS, MonthlyReportWorkflow] if role != "activities" else [],
            # A `workflows` worker keeps every activity for the local look-ups it runs.
            no_remote_activities=role == "workflows",
            activities=[
                reporting.build_monthly_report,
                reporting.publish_monthly_report,
                planning.plan_escalation,
                planning.resolve_step,
                planning.check_availability,
                recording.record_timeline,
                recording.record_timeline_batch,
                delivery.deliver_action,
                delivery.sync_channels,
                ticket_watch.check_ticket_clock,
                closing.record_escalation_facts,
                closing.issue_survey,
                closing.record_review,
                closing.create_kb_draft,
            ],
            interceptors=[metrics.TelemetryInterceptor()],
            sticky_queue_schedule_to_start_timeout=timedelta(
                seconds=settings.escalation_sticky_timeout_seconds
            ),
            # Each cached workflow keeps its sandbox in memory; an evicted one is replayed
            # when its next timer or signal arrives. Sized from bench/ (README "Benchmarks").
            max_cached_workflows=settings.escalation_max_cached_workflows,
            workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(
                settings.escalation_workflow_task_polls
            ),
            activity_task_poller_behavior=PollerBehaviorSimpleMaximum(
                settings.escalation_activity_task_polls
            ),
            graceful_shutdown_timeout=timedelta(seconds=5),
        )
        yield worker


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run one worker until `stop` is set (or forever)."""
    policy = load_policy(settings.escalation_policy)
    # Activities wait on PostgreSQL in threads (asyncio.to_thread): the default pool of
    # cpu+4 threads capped store writes at 6 in flight; one thread per pooled connection.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="store")
    )
    repository = Repository(make_sessionmaker(make_engine(settings.database_url, pre_ping=False)))
    client = await connect_worker_client(settings)
    async with escalation_worker(client, settings, policy, repository) as worker:
        log.info(
            "worker_started",
            task_queue=settings.temporal_task_queue,
            role=settings.escalation_worker_role,
            metrics_address=settings.escalation_worker_metrics_address,
            max_cached_workflows=settings.escalation_max_cached_workflows,
            live_adapters=[k for k, v in settings.live_adapters().items() if v],
        )
        try:  # the monthly report's Temporal Schedule (idempotent: every worker tries)
            await ensure_monthly_report_schedule(client, settings.temporal_task_queue)
        except Exception as exc:  # never keep a worker from starting
            log.warning("monthly_report_schedule_failed", error=str(exc))
        try:  # the watchdog's Schedule; its runs go to the watchdog worker (worker/watchdog.py)
            await ensure_watchdog_schedule(client, settings)
        except Exception as exc:
            log.warning("watchdog_schedule_failed", error=str(exc))
        freeze_startup_heap()
        if stop is None:
            await worker.run()
            return
        run = asyncio.create_task(worker.run())
        await stop.wait()
        await worker.shutdown()
        await run


def freeze_startup_heap() -> None:
    """Keep what is alive at start-up (imports, the policy, pydantic schemas: it lives as long
    as the process) out of every later full garbage collection, and consider full collections
    a tenth as often as CPython's default. A full pass walks every tracked object (a warm
    worker's sticky cache holds hundreds of thousands), stops the worker while it runs and
    mostly found nothing to free; passes of 0.1 to 0.6 s delayed whichever timers fired
    meanwhile (README "Benchmarks"). Evicted workflows are freed by reference counting; the
    rarer full passes still collect any cycles they leave."""
    gc.collect()  # first, so no garbage is pinned
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)
