"""A team's queue: its open escalations nobody has picked up yet, in the order to take them.

Escalations raised outside business hours that reached the next business start unpicked
(timeline line `queued_first`, written by the workflow at that start) come first, in the order
they were queued; the rest follow by priority, then by age.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from store import models


class QueuedEscalation(BaseModel):
    position: int
    ticket_id: str
    escalation_key: str
    priority: str
    status: str
    subject: str
    started_at: datetime
    queued_first_at: datetime | None = None


def team_queue(
    sessions: sessionmaker[Session], team: str, *, limit: int = 100
) -> list[QueuedEscalation]:
    escalation = models.Escalation
    queued_first_at = (
        select(func.min(models.TimelineEvent.at))
        .where(
            models.TimelineEvent.escalation_key == escalation.key,
            models.TimelineEvent.kind == "queued_first",
        )
        .scalar_subquery()
    )
    query = (
        select(escalation, queued_first_at.label("queued_first_at"))
        .where(
            escalation.team == team,
            escalation.status != "resolved",
            escalation.acknowledged_at.is_(None),
        )
        .order_by(
            case((queued_first_at.is_(None), 1), else_=0),
            queued_first_at,
            escalation.priority,
            escalation.started_at,
        )
        .limit(limit)
    )
    with sessions() as session:
        rows = session.execute(query).all()
    return [
        QueuedEscalation(
            position=position,
            ticket_id=row.Escalation.ticket_id,
            escalation_key=row.Escalation.key,
            priority=row.Escalation.priority,
            status=row.Escalation.status,
            subject=row.Escalation.subject,
            started_at=row.Escalation.started_at,
            queued_first_at=row.queued_first_at,
        )
        for position, row in enumerate(rows, start=1)
    ]
