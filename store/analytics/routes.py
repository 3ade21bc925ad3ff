"""Route performance: count, resolution rate, time to resolution, CSAT per route."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.analytics.common import E, S, opt_float, ratio, scope
from store.analytics.period import Period
from store.analytics.schemas import RoutePerformance
from store.analytics.sqlfn import policy_seconds


def route_performance(
    session: Session, period: Period, team: str | None = None
) -> list[RoutePerformance]:
    scores = (
        select(S.escalation_key, func.avg(S.score).label("score"))
        .join(E, E.key == S.escalation_key)
        .where(S.score.is_not(None), scope(period, team))
        .group_by(S.escalation_key)
        .subquery()
    )
    rows = session.execute(
        select(
            E.route,
            func.count(),
            func.count(E.resolved_at),
            func.avg(policy_seconds(E.started_at, E.resolved_at, E.time_scale)),
            func.avg(scores.c.score),
        )
        .select_from(E)
        .outerjoin(scores, scores.c.escalation_key == E.key)
        .where(scope(period, team))
        .group_by(E.route)
        .order_by(func.count().desc(), E.route)
    ).all()
    return [
        RoutePerformance(
            route=route,
            escalations=int(count),
            resolved=int(resolved),
            resolution_rate=ratio(resolved, count),
            resolution_avg_seconds=opt_float(avg_res),
            csat_avg=opt_float(csat, 2),
        )
        for route, count, resolved, avg_res, csat in rows
    ]
