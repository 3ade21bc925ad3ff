"""Bare Temporal: the baseline every figure is compared with.

A trivial workflow that does what an escalation does with Temporal, and nothing else: it is
started, pages once through an activity (an HTTP POST to the same local PagerDuty server), then
waits on durable timers (one per "step", paging again when each fires) until it is
acknowledged (signal or update) and resolved. No database, no plan, no timeline.

`python -m bench bare-worker` runs a worker for it (the benchmark starts it as a subprocess, like
the escalation worker), configured from the environment: TEMPORAL_ADDRESS, BENCH_TASK_QUEUE,
BENCH_MAX_CACHED_WORKFLOWS, BENCH_STICKY_TIMEOUT_SECONDS, BENCH_WORKFLOW_TASK_POLLS,
BENCH_ACTIVITY_TASK_POLLS (the escalation worker's own settings, so both poll alike).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from temporalio import activity, workflow
from temporalio.common import RetryPolicy

BARE_WORKFLOW = "BareEscalation"
BARE_PAGE = "bare_page"


class BareInput(BaseModel):
    ticket_id: str
    page_url: str = ""  # PagerDuty events URL; empty: do not page (capacity fill)
    routing_key: str = ""
    step_offsets: list[float] = Field(default_factory=list)  # seconds after start


class BarePage(BaseModel):
    page_url: str
    routing_key: str
    ticket_id: str
    step: int
    due: datetime
    fired: datetime


class BareAck(BaseModel):
    by: str


class BareState(BaseModel):
    ticket_id: str
    acknowledged: bool
    resolved: bool
    steps_fired: int


_http: Any = None  # one shared HTTP client per worker process, as the escalation adapters do


@activity.defn(name=BARE_PAGE)
async def bare_page(page: BarePage) -> None:
    import httpx  # imported here: the workflow module must stay free of I/O libraries

    body = {
        "routing_key": page.routing_key,
        "event_action": "trigger",
        "dedup_key": f"bare-{page.ticket_id}-s{page.step}",
        "payload": {
            "summary": f"bare page {page.ticket_id}",
            "source": "bench",
            "severity": "critical",
            "custom_details": {
                "ticket_id": page.ticket_id,
                "step": page.step,
                "due": page.due.isoformat(),
                "fired": page.fired.isoformat(),
            },
        },
    }
    global _http
    if _http is None:
        _http = httpx.AsyncClient(timeout=10)
    response = await _http.post(f"{page.page_url}/v2/enqueue", json=body)
    response.raise_for_status()


@workflow.defn(name=BARE_WORKFLOW)
class BareWorkflow:
    @workflow.init
    def __init__(self, request: BareInput) -> None:
        self._request = request
        self._acknowledged = False
        self._resolved = False
        self._steps_fired = 0

    @workflow.run
    async def run(self, request: BareInput) -> BareState:
        started = workflow.now()
        await self._page(0, started)
        for index, offset in enumerate(request.step_offsets, start=1):
            due = started + timedelta(seconds=offset)
            remaining = (due - workflow.now()).total_seconds()
            if remaining > 0:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self._resolved, timeout=remaining)
            if self._resolved:
                break
            await self._page(index, due)
        await workflow.wait_condition(lambda: self._resolved)
        return self.state()

    async def _page(self, step: int, due: datetime) -> None:
        self._steps_fired += 1
        if not self._request.page_url:
            return
        await workflow.execute_activity(
            BARE_PAGE,
            BarePage(
                page_url=self._request.page_url,
                routing_key=self._request.routing_key,
                ticket_id=self._request.ticket_id,
                step=step,
                due=due,
                fired=workflow.now(),
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=5)),
        )

    @workflow.signal(name="acknowledge")
    def acknowledge(self, ack: BareAck) -> None:
        self._acknowledged = True

    @workflow.update(name="acknowledge_sync")
    def acknowledge_sync(self, ack: BareAck) -> BareState:
        self._acknowledged = True
        return self.state()

    @workflow.signal(name="resolve")
    def resolve(self, ack: BareAck) -> None:
        self._resolved = True

    @workflow.query(name="state")
    def state(self) -> BareState:
        return BareState(
            ticket_id=self._request.ticket_id,
            acknowledged=self._acknowledged,
            resolved=self._resolved,
            steps_fired=self._steps_fired,
        )


async def run_bare_worker() -> None:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import PollerBehaviorSimpleMaximum, Worker

    client = await Client.connect(
        os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"),
        data_converter=pydantic_data_converter,
    )
    worker = Worker(
        client,
        task_queue=os.environ["BENCH_TASK_QUEUE"],
        workflows=[BareWorkflow],
        activities=[bare_page],
        max_cached_workflows=int(os.environ.get("BENCH_MAX_CACHED_WORKFLOWS", "1000")),
        sticky_queue_schedule_to_start_timeout=timedelta(
            seconds=float(os.environ.get("BENCH_STICKY_TIMEOUT_SECONDS", "2"))
        ),
        workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(
            int(os.environ.get("BENCH_WORKFLOW_TASK_POLLS", "20"))
        ),
        activity_task_poller_behavior=PollerBehaviorSimpleMaximum(
            int(os.environ.get("BENCH_ACTIVITY_TASK_POLLS", "10"))
        ),
        graceful_shutdown_timeout=timedelta(seconds=2),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(worker.run())
    print("bare worker started", flush=True)
    await stop.wait()
    await worker.shutdown()
    await task
