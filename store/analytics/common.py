"""Shared pieces of the analytics queries: tables, the period/team scope, small maths."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func

from store import models
from store import models_analytics as ma
from store.analytics.period import Period

E = models.Escalation
N = models.Notification
F = ma.EscalationFacts
T = ma.EscalationTrigger
S = ma.Survey
R = ma.EscalationReview
K = ma.KbDraft
AT = ma.AgentTicket

PRIORITIES = ("P0", "P1", "P2", "P3")


def scope(period: Period, team: str | None) -> ColumnElement[bool]:
    """Escalations started in the period (and owned by the team, when given)."""
    condition = and_(E.started_at >= period.start, E.started_at < period.end)
    if team:
        condition = and_(condition, E.team == team)
    return condition


def count_if(condition: Any) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def ratio(part: float | int | None, whole: float | int | None) -> float | None:
    if part is None or not whole:
        return None
    return round(float(part) / float(whole), 4)


def change_pct(current: int, previous: int) -> float | None:
    if previous == 0:
        return None
    return round((current - previous) * 100.0 / previous, 1)


def opt_float(value: Any, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without their zone; every stored timestamp is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
