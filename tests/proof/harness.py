"""Real processes for the proof tests: a Temporal dev server on a state file (killed and started
again on the same file and port), a throwaway PostgreSQL cluster (stopped and started again),
and worker subprocesses (`python -m escalation worker`, killed with SIGKILL).

Every process is started by these classes and stopped by its own pid, never by name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from escalation.settings import Settings
from workflows.search_attributes import cli_flags

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes], sig: int, wait: float = 15.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --------------------------------------------------------------------------------------------
# Temporal dev server with a state file
# --------------------------------------------------------------------------------------------


@dataclass
class TemporalDevServer:
    """`temporal server start-dev` on a SQLite state file; `restart()` kills it (SIGKILL by
    default) and starts it again on the same file and port, so workflows survive."""

    state_dir: Path
    port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def db_file(self) -> Path:
        return self.state_dir / "temporal.db"

    def command(self) -> list[str]:
        return [
            str(BIN / "temporal"),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--headless",
            "--db-filename",
            str(self.db_file),
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            "--log-level",
            "error",
            *cli_flags(),
        ]

    def start(self, timeout: float = 30.0) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = (self.state_dir / "server.log").open("ab")
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.state_dir
        )
        self.starts += 1
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        """Ready when the CLI can list the search attributes (frontend and persistence up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"temporal dev server exited: {self.log_tail()}")
            probe = subprocess.run(
                [
                    str(BIN / "temporal"),
                    "operator",
                    "search-attribute",
                    "list",
                    "--address",
                    self.address,
                ],
                capture_output=True,
                timeout=10,
            )
            if probe.returncode == 0 and b"EscalationPriority" in probe.stdout:
                return
            time.sleep(0.1)
        raise RuntimeError(f"temporal dev server not ready in {timeout}s: {self.log_tail()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None:
            _stop(self.process, sig)
            self.process = None

    def restart(self, sig: int = signal.SIGKILL, down_for: float = 0.0) -> None:
        self.kill(sig)
        if down_for:
            time.sleep(down_for)
        # The port is released with the process; wait until nothing answers on it.
        deadline = time.monotonic() + 10
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.start()

    def log_tail(self, chars: int = 2000) -> str:
        path = self.state_dir / "server.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


# --------------------------------------------------------------------------------------------
# A throwaway PostgreSQL cluster
# --------------------------------------------------------------------------------------------


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries (initdb, postgres) not found")


@dataclass
class PostgresCluster:
    """`initdb` + `postgres -D dir -p port -k dir` in a temporary directory, run as the
    `postgres` user when the tests run as root (postgres refuses to run as root)."""

    base: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    bin: Path = field(default_factory=_pg_bin)

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _as_owner(self, command: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return command

    def init(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            # runuser keeps the cwd: make sure the postgres user can enter the parents.
            for parent in self.base.parents:
                if str(parent) in ("/", "/tmp"):
                    break
                os.chmod(parent, os.stat(parent).st_mode | 0o011)
        subprocess.run(
            self._as_owner(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
            cwd=self.base,
        )

    def start(self, timeout: float = 30.0) -> None:
        log = self.base / "postgres.log"
        command = self._as_owner(
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-k",
                str(self.base),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ]
        )
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, cwd=self.base
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {log.read_text(errors='replace')[-2000:]}")
            ready = subprocess.run(
                [
                    str(self.bin / "pg_isready"),
                    *("-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"),
                ],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("postgres did not become ready")

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self, sig: int = signal.SIGINT) -> None:
        """SIGINT is PostgreSQL's fast shutdown (clients are disconnected); SIGQUIT its
        immediate shutdown (crash-like, recovery on the next start). The signal goes to the
        postmaster itself (runuser does not pass it on)."""
        pid = self.postmaster_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        if self.process is not None:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                if pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None
        deadline = time.monotonic() + 10
        while (port_open(self.port) or self.postmaster_pid()) and time.monotonic() < deadline:
            time.sleep(0.05)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


# --------------------------------------------------------------------------------------------
# Worker subprocesses
# --------------------------------------------------------------------------------------------


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a subprocess build exactly these settings: every field as
    its upper-case variable, and none of the machine's own variables for our settings."""
    fields = Settings.model_fields
    env = {k: v for k, v in os.environ.items() if k.lower() not in fields}
    for name in fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[name.upper()] = str(value)
    return env


@dataclass
class WorkerProcess:
    """`python -m escalation worker` with these settings; `kill()` is SIGKILL."""

    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0
    module: str = "escalation"  # `python -m <module> worker`-like entry point

    def start(self) -> None:
        command = [sys.executable, "-m", self.module]
        if self.module == "escalation":
            command.append("worker")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.starts += 1

    def wait_started(self, timeout: float = 60.0) -> None:
        """Until this start's `worker_started` log line (the worker polls right after)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.tail()}")
            if (
                self.log.exists()
                and self.log.read_text(errors="replace").count("worker_started") >= self.starts
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"worker did not start in {timeout}s: {self.tail()}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process, signal.SIGTERM)
            self.process = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@contextlib.contextmanager
def worker_process(env: dict[str, str], log: Path):  # type: ignore[no-untyped-def]
    worker = WorkerProcess(env, log)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
