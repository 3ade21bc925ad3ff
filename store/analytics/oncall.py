"""On-call health per team: pages sent, acknowledged within 5 minutes, average
acknowledgement time, false alerts (paged escalations reviewed as unnecessary)."""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from store.analytics.common import E, N, R, count_if, opt_float, ratio, scope
from store.analytics.period import Period
from store.analytics.schemas import OnCallHealth
from store.analytics.sqlfn import policy_seconds
from store.analytics.targets import Targets

PAGED = ("delivered", "outbox", "fallback")


def oncall_health(
    session: Session, period: Period, team: str | None, targets: Targets
) -> list[OnCallHealth]:
    where = scope(period, team)
    page = (N.action == "page") & N.outcome.in_(PAGED)
    pages = dict(
        session.execute(
            select(E.team, func.count(N.id))
            .select_from(E)
            .join(N, N.escalation_key == E.key)
            .where(where, page)
            .group_by(E.team)
        ).all()
    )
    ack = policy_seconds(E.started_at, E.acknowledged_at, E.time_scale)
    paged = exists().where(N.escalation_key == E.key, page)
    rows = session.execute(
        select(
            E.team,
            func.count(),
            count_if(ack <= targets.oncall_ack_seconds),
            func.avg(ack),
            count_if(R.necessary.is_(False)),
        )
        .select_from(E)
        .outerjoin(R, R.escalation_key == E.key)
        .where(where, paged)
        .group_by(E.team)
        .order_by(E.team)
    ).all()
    return [
        OnCallHealth(
            team=name,
            pages=int(pages.get(name, 0)),
            paged_escalations=int(count),
            acked_within_target=int(within),
            acked_within_share=ratio(within, count),
            ack_avg_seconds=opt_float(avg),
            false_alerts=int(false_alerts),
        )
        for name, count, within, avg, false_alerts in rows
    ]
