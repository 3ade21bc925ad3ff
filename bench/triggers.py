"""Trigger evaluation throughput and intake latency (issue 3).

    .venv/bin/python -m bench.triggers            # about 2 minutes
    .venv/bin/python -m bench.triggers --quick    # about 1 minute, smaller samples

1. Throughput on one core (the process is pinned to one CPU): `evaluate()` over a corpus of
   realistic ticket events (questions, complaints, manager requests, legal and security threats,
   outages, billing disputes; 0-4 comments; 10 same-customer and 40 same-area candidates),
   sentiment computed by VADER as in production when the ticket system sends none, with the
   candidates' similarity filled in as store/intake.py hands them over; then vaderSentiment
   alone on the same texts (every customer message the evaluation may score); both in
   tickets/s, and their ratio. Also `evaluate()` comparing the candidates itself (rapidfuzz on
   their text) and with the ticket system's sentiment score (no VADER), to show where the time
   goes. Interleaved rounds, the best of each kept: the machine may be shared.
2. Intake latency over HTTP: a Temporal dev server (SQLite, WAL), a fresh PostgreSQL database
   (SQLite when PostgreSQL is not reachable), the real API (uvicorn) and a worker as
   subprocesses; `POST /v1/tickets/events` one at a time with the same mix; p50/p90/p99.
3. The SQL candidate queries (repeats, mass pattern) through IntakeRepository on a table of
   500,000 generated tickets (`--rows N` for more), PostgreSQL only.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get(
    "BENCH_DATABASE_ADMIN_URL",
    os.environ.get("TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
ROUNDS = 4

SUBJECTS = [
    ("Exporting invoices", "How do I export my invoices to CSV for our accountant?", "reports"),
    (
        "Login page returns error 500",
        "Every login attempt fails with error 500 since 9am.",
        "login",
    ),
    ("Charged twice", "We were charged twice for March, please refund the duplicate.", "billing"),
    ("API rate limits", "Our integration hits 429 responses at 50 requests per second.", "api"),
    ("Dashboard slow", "The analytics dashboard takes a minute to load every morning.", "reports"),
    ("SSO setup", "How do I configure SAML SSO with Okta for our workspace?", "login"),
    ("Data missing", "All our projects from last week disappeared, data loss!", "storage"),
    ("Webhook retries", "Webhooks to our endpoint are not retried after a timeout.", "api"),
]
CUSTOMER_LINES = [
    "Any update on this? We are waiting.",
    "This is unacceptable, terrible service, a complete waste of time.",
    "I want to speak to a manager about this right now.",
    "Thanks, that worked perfectly!",
    "If this is not fixed we will contact our lawyer and file a lawsuit.",
    "We think there was a data breach: someone logged into our admin account.",
    "Still broken after clearing the cache as you suggested.",
    "Can you escalate this to someone senior please?",
    "How do I escalate privileges in RBAC for a new admin?",
    "The whole site is down for all our users, production outage.",
    "This is not unacceptable, just curious about the roadmap.",
    "We need a refund of $1,200 for the duplicate charge.",
]
AGENT_LINES = [
    "Thanks for reaching out, I am looking into it.",
    "Could you send us a screenshot of the error?",
    "I have reproduced the issue and asked engineering.",
]


def _related(
    rng: random.Random, n: int, ticket: int, customer: str | None, created: datetime, area: str
) -> list[Any]:
    from escalation.triggers.context import RelatedTicket

    out = []
    for k in range(n):
        s, d, _ = rng.choice(SUBJECTS)
        out.append(
            RelatedTicket(
                ticket_id=f"R-{ticket}-{k}-{customer is not None}",
                customer_id=customer or f"C-{rng.randint(301, 900)}",
                created_at=created - timedelta(minutes=rng.randint(1, 60)),
                product_area=area,
                text=f"{s}\n{d}",
            )
        )
    return out


def make_corpus(size: int, seed: int = 7) -> list[tuple[Any, Any]]:
    """(TicketEvent, TicketContext) pairs, deterministic; the candidates carry their text
    (the evaluation compares them)."""
    from escalation.triggers import TicketContext, TicketEvent

    rng = random.Random(seed)
    corpus = []
    for i in range(size):
        subject, description, area = rng.choice(SUBJECTS)
        created = NOW - timedelta(minutes=rng.randint(5, 3000))
        comments = []
        for j in range(rng.randint(0, 4)):
            customer = j % 2 == 0
            comments.append(
                {
                    "author_role": "customer" if customer else "agent",
                    "body": rng.choice(CUSTOMER_LINES if customer else AGENT_LINES),
                    "created_at": created + timedelta(minutes=10 * (j + 1)),
                }
            )
        event = TicketEvent.model_validate(
            {
                "ticket_id": f"B-{i}",
                "subject": subject,
                "description": description,
                "comments": comments,
                "product_area": area,
                "created_at": created,
                "requester_priority": rng.choice([None, "P3", "P2", "P1", "P0"]),
                "sla": {"first_response_minutes": 60, "resolution_minutes": 1440},
                "customer": {
                    "customer_id": f"C-{rng.randint(1, 300)}",
                    "tier": rng.choice(["standard", "business", "enterprise"]),
                    "health_score": rng.randint(30, 90),
                    "health_score_30d_ago": rng.randint(30, 90),
                },
                "agent": {"minutes_investigated": rng.choice([0, 10, 45])},
                "billing_amount": rng.choice([None, None, 200, 1500]),
                "revenue_at_risk": rng.choice([None, None, 5000, 25000]),
            }
        )
        context = TicketContext(
            customer_recent_tickets=_related(rng, 10, i, event.customer.customer_id, created, area),
            area_recent_tickets=_related(rng, 40, i, None, created, area),
        )
        corpus.append((event, context))
    return corpus


def as_the_store_hands_it(corpus: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """The same candidates with `similarity` filled in, as store/intake.py does in SQL's
    wake (so the evaluation does not normalise and compare them again)."""
    from escalation.triggers.similarity import (
        normalise_for_similarity,
        similarity,
        ticket_text,
    )

    out = []
    for event, context in corpus:
        mine = normalise_for_similarity(ticket_text(event.subject, event.description))

        def scored(tickets: list[Any], mine: str = mine) -> list[Any]:
            return [
                t.model_copy(
                    update={"similarity": similarity(mine, normalise_for_similarity(t.text))}
                )
                for t in tickets
            ]

        out.append(
            (
                event,
                context.model_copy(
                    update={
                        "customer_recent_tickets": scored(context.customer_recent_tickets),
                        "area_recent_tickets": scored(context.area_recent_tickets),
                    }
                ),
            )
        )
    return out


def pin_to_one_core() -> str:
    try:
        cpu = sorted(os.sched_getaffinity(0))[0]
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity)"


def rate(work: Callable[[], int], seconds: float) -> tuple[float, int]:
    """Items per second of `work` (returns items done) over at least `seconds`."""
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        done += work()
    return done / elapsed, done


def throughput(size: int, seconds: float) -> dict[str, float]:
    from escalation.triggers import TriggerPolicy, VaderScorer, evaluate

    policy = TriggerPolicy()
    scorer = VaderScorer()
    raw = make_corpus(size)
    stored = as_the_store_hands_it(raw)
    scored = [(e.model_copy(update={"sentiment_score": -0.2}), c) for e, c in stored]
    texts = [[m.text for m in e.customer_messages()] for e, _ in raw]
    analyzer = scorer._analyzer  # the same analyzer, called directly

    for event, context in stored[:50]:  # warm-up (regex compilation, caches)
        evaluate(event, context, NOW, policy, scorer)

    def evaluating(corpus: list[tuple[Any, Any]]) -> Callable[[], int]:
        def run() -> int:
            for event, context in corpus:
                evaluate(event, context, NOW, policy, scorer)
            return len(corpus)

        return run

    def run_vader() -> int:
        for messages in texts:
            for text in messages:
                analyzer.polarity_scores(text)
        return len(texts)

    # Interleaved rounds, best round of each: on a shared machine the load comes and goes, and
    # both sides of the ratio should see the same conditions.
    runs = {
        "evaluate": evaluating(stored),
        "evaluate_raw": evaluating(raw),
        "evaluate_scored": evaluating(scored),
        "vader": run_vader,
    }
    best = dict.fromkeys(runs, 0.0)
    for _ in range(ROUNDS):
        for name, run in runs.items():
            best[name] = max(best[name], rate(run, seconds / ROUNDS)[0])
    return {**best, "messages_per_ticket": sum(map(len, texts)) / len(texts)}


# --------------------------------------------------------------------------- latency


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


def spawn(name: str, args: list[str], env: dict[str, str], logdir: Path) -> Proc:
    log = logdir / f"{name}.log"
    env = {**env, "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])}
    with log.open("wb") as out:
        popen = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
    return Proc(name, popen, log)


def wait_until(probe: Callable[[], bool], within: float, what: str, proc: Proc) -> None:
    deadline = time.monotonic() + within
    while not probe():
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} died:\n{proc.log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


def _database(tmp: Path) -> tuple[str, Callable[[], None]]:
    """A fresh PostgreSQL database (dropped afterwards), else a SQLite file."""
    try:
        import psycopg

        name = f"esc_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}", drop
    except Exception:
        return f"sqlite:///{tmp / 'bench.db'}", lambda: None


def _bodies(count: int) -> list[dict[str, Any]]:
    rng = random.Random(11)
    now = datetime.now(UTC)
    out = []
    for i in range(count):
        subject, description, area = rng.choice(SUBJECTS)
        lines = rng.sample(CUSTOMER_LINES, rng.randint(0, 2))
        out.append(
            {
                "event_id": f"lat-{uuid.uuid4().hex}",
                "ticket_id": f"L-{uuid.uuid4().hex[:10]}",
                "event_type": "created",
                "subject": subject,
                "description": " ".join([description, *lines]),
                "product_area": f"{area}-{i % 40}",  # no mass pattern across the whole run
                "created_at": (now - timedelta(minutes=rng.randint(1, 30))).isoformat(),
                "sla": {"first_response_minutes": 60, "resolution_minutes": 1440},
                "customer": {"customer_id": f"C-{rng.randint(1, 5000)}", "name": "Bench"},
            }
        )
    return out


def latency(seconds: float, warmup: int, store_rows: int) -> dict[str, Any]:
    from workflows.search_attributes import cli_flags

    tmp = Path(tempfile.mkdtemp(prefix="escalation-bench-triggers-"))
    temporal_port, api_port = free_port(), free_port()
    secret = "bench-" + uuid.uuid4().hex
    database_url, drop = _database(tmp)
    procs: list[Proc] = []
    try:
        server = spawn(
            "temporal",
            [
                str(BIN / "temporal"),
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--port",
                str(temporal_port),
                "--ui-port",
                str(free_port()),
                "--headless",
                "--db-filename",
                str(tmp / "temporal.db"),
                "--sqlite-pragma",
                "journal_mode=wal",
                "--sqlite-pragma",
                "synchronous=normal",
                "--log-level",
                "error",
                *cli_flags(),
            ],
            dict(os.environ),
            tmp,
        )
        procs.append(server)
        wait_until(lambda: _port_open(temporal_port), 60, "the Temporal dev server", server)
        from store.migrate import upgrade

        upgrade(database_url)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ESCALATION_", "TEMPORAL_", "DATABASE_"))
            and not k.endswith(("_TOKEN", "_KEY", "_SECRET", "_URL", "_SID"))
        }
        env.update(
            DATABASE_URL=database_url,
            TEMPORAL_ADDRESS=f"127.0.0.1:{temporal_port}",
            TEMPORAL_TASK_QUEUE="bench-triggers",
            ESCALATION_API_KEYS=f"bench:ticket-system:{secret}",
            ESCALATION_API_KEY_PEPPER="bench-pepper-" + "0" * 32,
            ESCALATION_LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        worker = spawn(
            "worker",
            [
                sys.executable,
                "-c",
                "import asyncio; from escalation.settings import Settings; "
                "from worker.main import run_worker; asyncio.run(run_worker(Settings()))",
            ],
            env,
            tmp,
        )
        procs.append(worker)
        api = spawn(
            "api",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(api_port),
                "--log-level",
                "warning",
            ],
            env,
            tmp,
        )
        procs.append(api)
        base = f"http://127.0.0.1:{api_port}"
        wait_until(lambda: _port_open(api_port), 60, "the API", api)
        headers = {"authorization": f"Bearer {secret}"}
        bodies = iter(_bodies(100_000))
        times: list[float] = []
        actions: dict[str, int] = {}
        with httpx.Client(base_url=base, timeout=30, headers=headers) as http:
            until = None
            for i, body in enumerate(bodies):
                if i == warmup:
                    until = time.monotonic() + seconds
                if until is not None and time.monotonic() > until:
                    break
                start = time.perf_counter()
                answer = http.post("/v1/tickets/events", json=body)
                elapsed = time.perf_counter() - start
                if answer.status_code != 200:
                    raise RuntimeError(f"intake answered {answer.status_code}: {answer.text}")
                if i >= warmup:
                    times.append(elapsed * 1000)
                    action = answer.json()["action"]
                    actions[action] = actions.get(action, 0) + 1
        times.sort()

        def pct(p: float) -> float:
            return times[min(len(times) - 1, round(p / 100 * (len(times) - 1)))]

        scale = store_scale(database_url, store_rows) if database_url.startswith("postgres") else {}
        return {
            "store": scale,
            "database": database_url.split(":", 1)[0].replace("postgresql+psycopg", "postgresql"),
            "requests": len(times),
            "p50": pct(50),
            "p90": pct(90),
            "p99": pct(99),
            "max": times[-1],
            "mean": statistics.fmean(times),
            "actions": actions,
        }
    finally:
        for proc in reversed(procs):
            proc.stop()
        drop()
        shutil.rmtree(tmp, ignore_errors=True)


def store_scale(database_url: str, rows: int) -> dict[str, float]:
    """Candidate queries (repeats: same customer +-48 h; mass pattern: same area +-1 h) and the
    similar-resolved search, through IntakeRepository, on a table of `rows` tickets."""
    from escalation.triggers import TicketEvent
    from escalation.triggers.similarity import normalise_for_similarity, ticket_text
    from store.db import make_engine, make_sessionmaker
    from store.intake import IntakeRepository

    engine = make_engine(database_url)
    store = IntakeRepository(make_sessionmaker(engine))
    started = time.perf_counter()
    words = "login error export invoice refund webhook dashboard latency outage csv sso api"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"""
            INSERT INTO intake_tickets (ticket_id, customer_id, product_area, created_at,
                subject, normalized_text, status, resolved, legal_hold, message_sentiments,
                updated_at)
            SELECT 'S-' || g, 'C-' || mod(g, 200000), 'area-' || mod(g, 60),
                now() - (g * INTERVAL '15 seconds'), '',
                split_part('{words}', ' ', 1 + mod(g, 12)) || ' ' ||
                split_part('{words}', ' ', 1 + mod(g / 7, 12)) || ' page fail ' || mod(g, 997),
                'open', false, false, '[]'::json, now()
            FROM generate_series(1, {rows}) AS g
            """
        )
        conn.exec_driver_sql("ANALYZE intake_tickets")
    loaded = time.perf_counter() - started
    rng = random.Random(5)
    times: list[float] = []
    sizes: list[int] = []
    for _ in range(200):
        g = rng.randint(1, rows)
        event = TicketEvent.model_validate(
            {
                "ticket_id": f"Q-{g}",
                "subject": "login error page fail",
                "created_at": datetime.now(UTC) - timedelta(seconds=15 * g),
                "product_area": f"area-{g % 60}",
                "customer": {"customer_id": f"C-{g % 200000}"},
            }
        )
        normalized = normalise_for_similarity(ticket_text(event.subject, event.description))
        start = time.perf_counter()
        customer, area = store.candidates(
            event, normalized, repeat_window=timedelta(hours=48), mass_window=timedelta(hours=1)
        )
        times.append((time.perf_counter() - start) * 1000)
        sizes.append(len(customer) + len(area))
    times.sort()
    engine.dispose()
    return {
        "rows": rows,
        "load_s": loaded,
        "p50": times[len(times) // 2],
        "p99": times[int(len(times) * 0.99)],
        "candidates": statistics.fmean(sizes),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.triggers", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller samples (about 1 minute)")
    parser.add_argument("--no-http", action="store_true", help="skip the intake latency part")
    parser.add_argument("--rows", type=int, default=0, help="tickets for the query part")
    args = parser.parse_args(argv)
    seconds = 3.0 if args.quick else 6.0
    http_seconds = 10.0 if args.quick else 25.0
    store_rows = args.rows or (200_000 if args.quick else 500_000)
    began = time.monotonic()
    pinned = pin_to_one_core()
    print(
        f"# bench.triggers on {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, {pinned}"
    )
    t = throughput(size=500, seconds=seconds)
    print("\n## Trigger evaluation, one core (50 candidate tickets per event)")
    rows = [
        ("evaluate(), VADER sentiment, candidates scored by the store", t["evaluate"]),
        ("evaluate(), VADER sentiment, candidates compared in evaluate", t["evaluate_raw"]),
        ("evaluate(), the ticket system's sentiment score (no VADER)", t["evaluate_scored"]),
        ("vaderSentiment alone on the same texts", t["vader"]),
    ]
    for label, value in rows:
        print(f"{label:<62} {value:>8,.0f} tickets/s")
    print(f"({t['messages_per_ticket']:.1f} customer messages per ticket)")
    print(f"{'ratio evaluate() / VADER alone':<62} {t['evaluate'] / t['vader']:>8.3f}")
    if not args.no_http:
        # The servers (children inherit the affinity) get every core back.
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, range(os.cpu_count() or 1))
        lat = latency(seconds=http_seconds, warmup=30, store_rows=store_rows)
        print(
            f"\n## Intake latency over HTTP (POST /v1/tickets/events, {lat['database']}, "
            "real API + worker + Temporal dev server, sequential)"
        )
        print(f"requests {lat['requests']}, actions {lat['actions']}")
        print(
            f"p50 {lat['p50']:.1f} ms   p90 {lat['p90']:.1f} ms   p99 {lat['p99']:.1f} ms   "
            f"max {lat['max']:.1f} ms   mean {lat['mean']:.1f} ms"
        )
        if lat["store"]:
            st = lat["store"]
            print(
                f"\n## Candidate queries on {st['rows']:,.0f} tickets (PostgreSQL, loaded in "
                f"{st['load_s']:.0f} s)"
            )
            print(
                f"repeats + mass-pattern candidates: p50 {st['p50']:.1f} ms   "
                f"p99 {st['p99']:.1f} ms   ({st['candidates']:.0f} candidates on average)"
            )
    print(f"\n(total {time.monotonic() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
