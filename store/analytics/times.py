"""Acknowledgement and resolution times per priority against the targets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from store.analytics.common import PRIORITIES, E, count_if, opt_float, scope
from store.analytics.period import Period
from store.analytics.schemas import PriorityTimes
from store.analytics.sqlfn import policy_seconds
from store.analytics.targets import Targets


def _target(by_priority: dict[str, float | None]) -> Any:
    whens = {p: literal(v) for p, v in by_priority.items() if v is not None}
    return case(whens, value=E.priority, else_=None) if whens else literal(None)


def response_times(
    session: Session, period: Period, team: str | None, targets: Targets
) -> list[PriorityTimes]:
    ack = policy_seconds(E.started_at, E.acknowledged_at, E.time_scale)
    res = policy_seconds(E.started_at, E.resolved_at, E.time_scale)
    rows = session.execute(
        select(
            E.priority,
            func.count(),
            func.count(E.acknowledged_at),
            func.avg(ack),
            count_if(ack <= _target(targets.ack_seconds)),
            func.count(E.resolved_at),
            func.avg(res),
            count_if(res <= _target(targets.resolution_seconds)),
        )
        .where(scope(period, team))
        .group_by(E.priority)
    ).all()
    found = {row[0]: row for row in rows}
    result = []
    for priority in PRIORITIES:
        row = found.get(priority)
        ack_avg = opt_float(row[3]) if row else None
        res_avg = opt_float(row[6]) if row else None
        ack_target = targets.ack_seconds.get(priority)
        res_target = targets.resolution_seconds.get(priority)
        result.append(
            PriorityTimes(
                priority=priority,
                escalations=int(row[1]) if row else 0,
                acknowledged=int(row[2]) if row else 0,
                ack_avg_seconds=ack_avg,
                ack_target_seconds=ack_target,
                ack_within_target=int(row[4]) if row else 0,
                ack_status=targets.status(ack_avg, ack_target),
                resolved=int(row[5]) if row else 0,
                resolution_avg_seconds=res_avg,
                resolution_target_seconds=res_target,
                resolution_within_target=int(row[7]) if row else 0,
                resolution_status=targets.status(res_avg, res_target),
            )
        )
    return result
