"""The analytics queries that used to read the whole store are served by the indexes of
migration 0007_analytics_indexes (PostgreSQL).

The statements are the ones the code emits (captured from the engine), so a query rewritten
in a way the index no longer matches (a partial index's predicate is matched textually by
the planner) fails here instead of silently going back to a full scan at 1M rows. Sequential
scans are disabled for the EXPLAIN: on a test-sized table the planner would rightly prefer
them, and the question is whether an index *can* serve the query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session

from store.analytics import parse_period
from store.analytics.active import active_escalations
from store.analytics.common import scope
from store.analytics.outcomes import reopened_condition
from store.analytics.targets import DEFAULT_TARGETS
from store.analytics.teams import team_names
from store.db import make_engine
from store.models import Escalation
from store.models_analytics import EscalationReview

NOW = datetime(2026, 2, 1, tzinfo=UTC)


# A year of escalations over seven teams, one in twenty still open, some tickets escalated
# twice: enough rows and statistics for the planner to choose between the indexes by cost.
ROWS = """
INSERT INTO escalations (key, ticket_id, status, priority, route, team, bounces, subject,
    customer_name, customer_tier, time_scale, started_at, resolved_at, last_sequence, updated_at)
SELECT 'escalation-T' || i || '.r', 'T' || (i % 4000),
    CASE WHEN i % 20 = 0 THEN 'paging' ELSE 'resolved' END,
    'P' || (i % 4), 'technical', 'team-' || (i % 7), 0, '', '', 'standard', 1.0,
    TIMESTAMPTZ '2025-02-01 00:00+00' + make_interval(secs => (i * 2654435761) % 31536000),
    CASE WHEN i % 20 <> 0 THEN TIMESTAMPTZ '2025-02-01 01:00+00'
        + make_interval(secs => (i * 2654435761) % 31536000) END,
    0, now()
FROM generate_series(1, 5000) AS i
"""


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(ROWS))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE escalations"))
    yield engine
    engine.dispose()


def plans_of(engine: Engine, run: Callable[[Session], Any]) -> list[str]:
    """EXPLAIN every statement `run` executes, with its own parameters."""
    captured: list[tuple[str, Any]] = []

    def keep(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        captured.append((statement, params))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with Session(engine) as session:
            run(session)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    plans = []
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET enable_seqscan = off")
        for statement, params in captured:
            cursor.execute("EXPLAIN " + statement, params)
            plans.append("\n".join(str(row[0]) for row in cursor.fetchall()))
    finally:
        raw.close()
    return plans


def uses(plan: str, index: str) -> bool:
    """The plan reads `index` (an index, index-only or bitmap index scan)."""
    return re.search(rf"(?:using|Bitmap Index Scan on) {index}\b", plan) is not None


def test_active_list_reads_the_open_escalations_index(engine: Engine) -> None:
    plans = plans_of(engine, lambda s: active_escalations(s, None, NOW, ""))
    assert len(plans) == 2  # counts by priority, then the list
    assert all(uses(p, "ix_escalations_open") for p in plans), plans


def test_team_active_list_reads_the_open_team_index(engine: Engine) -> None:
    plans = plans_of(engine, lambda s: active_escalations(s, "team-3", NOW, ""))
    assert all("ix_escalations_open_team" in p for p in plans), plans


def test_team_period_filter_reads_the_team_time_index(engine: Engine) -> None:
    period = parse_period("30d", now=NOW)
    plans = plans_of(
        engine, lambda s: s.execute(select(func.count()).where(scope(period, "team-3")))
    )
    assert uses(plans[0], "ix_escalations_team_started_at"), plans


def test_reopen_check_probes_ticket_and_time(engine: Engine) -> None:
    period = parse_period("30d", now=NOW)
    E, R = Escalation, EscalationReview

    def reopened(session: Session) -> None:
        session.execute(
            select(func.count())
            .select_from(E)
            .outerjoin(R, R.escalation_key == E.key)
            .where(scope(period, None), reopened_condition(DEFAULT_TARGETS))
        )

    plans = plans_of(engine, reopened)
    assert uses(plans[0], "ix_escalations_ticket_id_started_at"), plans


def test_team_names_jump_through_the_team_index(engine: Engine) -> None:
    plans = plans_of(engine, team_names)
    assert "Recursive Union" in plans[0] and uses(plans[0], "ix_escalations_team"), plans
    assert "HashAggregate" not in plans[0] and "Unique" not in plans[0], plans
