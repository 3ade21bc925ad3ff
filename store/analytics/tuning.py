"""Settings for the analytics reads, applied to the transaction that runs them."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def prepare_analytics(session: Session) -> None:
    """PostgreSQL: no JIT for this transaction (SET LOCAL ends with it).

    At 1M escalations the planner's cost for the reopen check and the period joins passes
    jit_above_cost (100k), and compiling the expressions took 0.3-1.1 s (EXPLAIN ANALYZE
    "JIT: Timing ... Total"), longer than the query it was meant to speed up. SQLite has no
    such setting."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
