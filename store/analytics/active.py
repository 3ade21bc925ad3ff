"""The live list: escalations not yet resolved, most urgent first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.analytics.common import PRIORITIES, E, utc
from store.analytics.schemas import Active, ActiveEscalation


def active_escalations(
    session: Session, team: str | None, now: datetime, ui_base: str, limit: int = 100
) -> Active:
    where = E.status != "resolved"
    if team:
        where = where & (E.team == team)
    counts = dict(
        session.execute(select(E.priority, func.count()).where(where).group_by(E.priority)).all()
    )
    rows = session.scalars(
        select(E).where(where).order_by(E.priority, E.started_at).limit(limit)
    ).all()
    items = []
    for row in rows:
        started = utc(row.started_at) or now
        items.append(
            ActiveEscalation(
                key=row.key,
                ticket_id=row.ticket_id,
                priority=row.priority,
                status=row.status,
                route=row.route,
                team=row.team,
                assignee=row.assignee,
                subject=row.subject,
                customer_name=row.customer_name,
                customer_tier=row.customer_tier,
                started_at=started,
                age_seconds=round((now - started).total_seconds(), 1),
                acknowledged_at=utc(row.acknowledged_at),
                bounces=row.bounces,
                temporal_ui_url=f"{ui_base}/workflows/escalation-{row.ticket_id}",
            )
        )
    by_priority = {p: int(counts.get(p, 0)) for p in PRIORITIES}
    return Active(total=sum(by_priority.values()), by_priority=by_priority, items=items)
