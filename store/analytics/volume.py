"""Volume by severity and by trigger type, with the change from the previous period, and
volume over time."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.orm import Session

from store.analytics.common import PRIORITIES, E, T, change_pct, count_if, scope
from store.analytics.period import Period
from store.analytics.schemas import Count, TimePoint, Volume, VolumeOverTime
from store.analytics.sqlfn import bucket

BUCKETS = (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400)
MAX_POINTS = 60


def _both_periods(
    period: Period, team: str | None
) -> tuple[Period, ColumnElement[bool], ColumnElement[bool]]:
    previous = period.previous()
    span = Period(label="both", start=previous.start, end=period.end)
    is_current: ColumnElement[bool] = E.started_at >= period.start
    return previous, scope(span, team), is_current


def volume(session: Session, period: Period, team: str | None = None) -> Volume:
    _, where, is_current = _both_periods(period, team)
    current, prior = count_if(is_current), count_if(~is_current)

    severity = session.execute(
        select(E.priority, current, prior).where(where).group_by(E.priority)
    ).all()
    found = {row[0]: (int(row[1]), int(row[2])) for row in severity}
    by_severity = [
        Count(key=p, count=c, previous=v, change_pct=change_pct(c, v))
        for p in PRIORITIES
        for c, v in [found.get(p, (0, 0))]
    ]

    trigger = func.coalesce(T.trigger_type, literal_column("'unspecified'"))
    by_trigger_rows = session.execute(
        select(trigger.label("trigger"), current, prior)
        .select_from(E)
        .outerjoin(T, T.escalation_key == E.key)
        .where(where)
        .group_by(trigger)
        .order_by(current.desc(), trigger)
    ).all()
    by_trigger = [
        Count(
            key=row[0],
            count=int(row[1]),
            previous=int(row[2]),
            change_pct=change_pct(int(row[1]), int(row[2])),
        )
        for row in by_trigger_rows
    ]
    total = sum(c.count for c in by_severity)
    previous_total = sum(c.previous for c in by_severity)
    return Volume(
        total=total,
        previous_total=previous_total,
        change_pct=change_pct(total, previous_total),
        by_severity=by_severity,
        by_trigger=by_trigger,
    )


def choose_bucket(period: Period, first: datetime | None, last: datetime | None) -> int:
    """Buckets for at most ~60 points over the period; a compressed demo (all data within a
    sliver of the period) zooms in on the span that holds data."""
    span = period.seconds
    if first is not None and last is not None:
        data_span = max((last - first).total_seconds(), 60.0)
        if data_span < span / 20:
            span = data_span
    for width in BUCKETS:
        if span / width <= MAX_POINTS:
            return width
    return BUCKETS[-1]


def over_time(session: Session, period: Period, team: str | None = None) -> VolumeOverTime:
    where = scope(period, team)
    first, last = session.execute(
        select(func.min(E.started_at), func.max(E.started_at)).where(where)
    ).one()
    width = choose_bucket(period, first, last)
    start = bucket(E.started_at, width).label("bucket")
    rows = session.execute(
        select(start, E.priority, func.count()).where(where).group_by(start, E.priority)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for at, priority, number in rows:
        counts.setdefault(int(at), dict.fromkeys(PRIORITIES, 0))[priority] = int(number)
    points: list[TimePoint] = []
    if counts:
        # Fill the gaps between the first and last bucket so the chart's x axis is time.
        for at in range(min(counts), max(counts) + width, width):
            points.append(
                TimePoint(
                    start=datetime.fromtimestamp(at, UTC),
                    counts=counts.get(at, dict.fromkeys(PRIORITIES, 0)),
                )
            )
    return VolumeOverTime(bucket_seconds=width, points=points)
