"""Report and dashboard query time over 10k, 100k and 1M escalations in PostgreSQL.

    python -m bench.analytics [--sizes 10000,100000,1000000] [--repeat 3] [--layout time]

Creates a scratch database (TEST_DATABASE_ADMIN_URL, default the local postgres), grows it to
each size with SQL `generate_series` (a year of escalations with facts, triggers, reviews,
surveys, pages, KB drafts and handled tickets in realistic proportions), runs VACUUM ANALYZE
(what autovacuum does to a live table: statistics and the visibility map that index-only
scans need), then times `build_dashboard` (last 30 days, all teams and one team) and
`build_monthly_report` (one month), keeping the median of `--repeat` runs. Drops the database
at the end. Bounded: the 1M step loads in about a minute and a half on a 2-core machine.

`--layout time` (the default) writes each batch in start-time order, as a live store is
written (an escalation row is inserted when it starts; its facts, triggers and pages follow
within minutes); `--layout scattered` keeps the old generator's order (start times hashed
from the row number, so one month's rows sit on nearly every page of every table), the
pessimistic case.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

from store.analytics import build_dashboard, parse_period
from store.analytics.report import build_monthly_report
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade

ADMIN_URL = os.environ.get(
    "TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
END = datetime(2026, 1, 1, tzinfo=UTC)  # the data covers the year before

# $1 first id, $2 last id (inclusive). Escalation i starts at a deterministic pseudo-random
# point of 2025; hashes of i pick priority, route, team, delays and everything else.
GROW = [
    """
    INSERT INTO escalations (key, ticket_id, status, priority, route, team, assignee, bounces,
        subject, customer_name, customer_tier, time_scale, started_at, acknowledged_at,
        acknowledged_by, resolved_at, resolved_by, last_sequence, updated_at)
    SELECT 'escalation-B' || i || '.r', 'B' || (i % (%(last)s * 9 / 10 + 1)),
        CASE WHEN i % 10 = 0 THEN 'paging' WHEN i % 10 = 1 THEN 'acknowledged' ELSE 'resolved' END,
        p, r, t, NULL, (i % 17 = 0)::int, 'bench ' || i, 'Customer ' || (i % 997),
        (ARRAY['free','standard','business','enterprise','strategic'])[1 + i % 5], 1.0,
        s,
        CASE WHEN i % 10 <> 0 THEN s + make_interval(secs => 60 + (i * 7919) % 2400) END,
        CASE WHEN i % 10 <> 0 THEN 'responder' END,
        CASE WHEN i % 10 > 1 THEN s + make_interval(secs => 1800 + (i * 104729) % 100000) END,
        CASE WHEN i % 10 > 1 THEN 'responder' END, 3, s
    FROM (
        SELECT i,
            TIMESTAMPTZ '2025-01-01 00:00+00'
                + make_interval(secs => (i * 2654435761) % 31536000) AS s,
            (ARRAY['P0','P1','P1','P2','P2','P2','P2','P3','P3','P3'])[1 + (i * 31) % 10] AS p,
            (ARRAY['technical','billing','security','vip','outage','product','account'])
                [1 + (i * 13) % 7] AS r,
            (ARRAY['l2','billing','security','vip','engineering','product','csm'])
                [1 + (i * 13) % 7] AS t
        FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
    ) AS g
    %(order)s
    """,
    """
    INSERT INTO escalation_facts (escalation_key, ticket_id, agent_id, agent_team, category,
        reason, reopens, recorded_at)
    SELECT 'escalation-B' || i || '.r', 'B' || i, 'agent-' || (i * 7) % 40,
        'tier1-' || (i * 7) % 40 % 4, 'category-' || (i * 11) % 25, '', NULL, now()
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
    %(order)s
    """,
    """
    INSERT INTO escalation_triggers (escalation_key, trigger_type)
    SELECT 'escalation-B' || i || '.r', 'trigger-' || (i * 5) % 18
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
    %(order)s
    """,
    """
    INSERT INTO escalation_reviews (escalation_key, necessary, preventable, gap_category,
        reopened, agent_feedback, specialist_feedback, reviewed_by, created_at, updated_at)
    SELECT 'escalation-B' || i || '.r', i % 7 <> 0, i % 5 = 0,
        CASE WHEN i % 5 = 0 THEN (ARRAY['training','tool','process'])[1 + i % 3] END,
        false, '', '', 'manager', now(), now()
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i WHERE i % 10 > 2
    %(order)s
    """,
    """
    INSERT INTO surveys (token_hash, escalation_key, ticket_id, created_at, expires_at, used_at,
        score, comment)
    SELECT md5(i::text) || md5((i + 1)::text), 'escalation-B' || i || '.r', 'B' || i, now(),
        now() + interval '14 days', CASE WHEN i % 3 <> 0 THEN now() END,
        CASE WHEN i % 3 <> 0 THEN 1 + (i * 7) % 5 END, NULL
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i WHERE i % 10 > 3
    %(order)s
    """,
    """
    INSERT INTO notifications (idempotency_key, escalation_key, ticket_id, step_index, action,
        channel, target, outcome, external_id, error, result, created_at)
    SELECT 'escalation-B' || i || '.r:0:' || a, 'escalation-B' || i || '.r', 'B' || i, 0, a, a,
        'oncall', 'delivered', NULL, NULL, '{}', now()
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i,
        unnest(ARRAY['page','slack']) AS a
    WHERE (i * 31) % 10 < 3
    %(order)s
    """,
    """
    INSERT INTO kb_drafts (escalation_key, ticket_id, title, problem, resolution, route, tags,
        status, created_by, created_at)
    SELECT 'escalation-B' || i || '.r', 'B' || i, 'Article ' || i, '', '', '', '', 'draft',
        'bench', now()
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i WHERE i % 20 = 0
    %(order)s
    """,
    """
    INSERT INTO agent_tickets (ticket_id, agent_id, team, handled_at)
    SELECT 'H' || i, 'agent-' || (i * 7) % 40, 'tier1-' || (i * 7) % 40 % 4,
        TIMESTAMPTZ '2025-01-01 00:00+00' + make_interval(secs => (i * 2654435761) % 31536000)
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
    %(order)s
    """,
]


# Physical row order of each growth batch (see the module docstring). The ORDER BY repeats
# the start-time expression of the escalation row (and of the handled ticket) so every table
# is written in the same order.
LAYOUTS = {"time": "ORDER BY (i * 2654435761) % 31536000", "scattered": ""}


def _peak_rss_mib() -> float:
    """Peak resident memory of this process (the bench and the result models it builds; the
    server's memory is PostgreSQL's). Linux reports ru_maxrss in KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _best(repeat: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times) if repeat < 3 else statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database (prints its URL)")
    parser.add_argument("--layout", choices=sorted(LAYOUTS), default="time")
    parser.add_argument(
        "--budget",
        type=float,
        default=280.0,
        help="seconds; a size whose load would not fit "
        "(projected from the previous one) is skipped and says so",
    )
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    name = f"esc_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    engine = make_engine(url)
    try:
        upgrade(url)
        sessions = make_sessionmaker(engine)
        window = parse_period("30d", now=END)
        month = "2025-12"
        print(
            f"layout {args.layout}, median of {args.repeat} runs; dashboard "
            f"{window.start:%Y-%m-%d} to {window.end:%Y-%m-%d}, report {month}; "
            f"window rows: escalations in {month}"
        )
        print(
            f"{'escalations':>12} {'load s':>8} {'window rows':>12} {'dashboard ms':>13} "
            f"{'team ms':>8} {'report ms':>10} {'peak MiB':>9}"
        )
        loaded, per_row, began = 0, 0.0, time.perf_counter()
        for size in sizes:
            projected = per_row * (size - loaded) * 1.2
            if per_row and time.perf_counter() - began + projected > args.budget:
                print(
                    f"{size:>12,} skipped: loading would take ~{projected:.0f} s, past the "
                    f"{args.budget:.0f} s budget (--budget to allow it)"
                )
                continue
            started = time.perf_counter()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("SET synchronous_commit = off")
                for statement in GROW:
                    sql = (
                        statement.replace("%(first)s", str(loaded + 1))
                        .replace("%(last)s", str(size))
                        .replace("%(order)s", LAYOUTS[args.layout])
                    )
                    conn.execute(sql)
                conn.execute("VACUUM ANALYZE")
            load = time.perf_counter() - started
            per_row = load / (size - loaded)
            loaded = size

            def dashboard(team: str | None = None) -> object:
                with sessions() as session:
                    return build_dashboard(session, window, team, now=END, ui_base="")

            def report() -> object:
                with sessions() as session:
                    return build_monthly_report(session, month)

            board = _best(args.repeat, dashboard)
            team = _best(args.repeat, lambda: dashboard("engineering"))
            monthly = _best(args.repeat, report)
            with sessions() as session:
                rows = build_monthly_report(session, month).volume.total
            print(
                f"{size:>12,} {load:>8.1f} {rows:>12,} {board * 1000:>13.0f} "
                f"{team * 1000:>8.0f} {monthly * 1000:>10.0f} {_peak_rss_mib():>9.0f}",
                flush=True,
            )
    finally:
        engine.dispose()
        if args.keep:
            print(f"kept {url}")
        else:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
