"""Adapter health for the watchdog: per channel, what was recorded in a recent window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from escalation.watchdog import ACTION_CHANNEL, ChannelHealth
from store import models


def channel_health(sessions: sessionmaker[Session], since: datetime) -> list[ChannelHealth]:
    """Per channel since `since`: notifications recorded, how many failed (the vendor refused),
    and how many deliveries ran out of retry budget (timeline `delivery_retries_exhausted`,
    which records no notification row for the channel that was down)."""
    found: dict[str, ChannelHealth] = {}
    with sessions() as session:
        failed = func.sum(case((models.Notification.outcome == "failed", 1), else_=0))
        rows = session.execute(
            select(models.Notification.channel, func.count(), failed)
            .where(models.Notification.created_at >= since)
            .group_by(models.Notification.channel)
        ).all()
        for channel, total, failures in rows:
            found[channel] = ChannelHealth(
                channel=channel, total=int(total), failed=int(failures or 0)
            )
        details = session.scalars(
            select(models.TimelineEvent.detail).where(
                models.TimelineEvent.kind == "delivery_retries_exhausted",
                models.TimelineEvent.at >= since,
            )
        ).all()
    for detail in details:
        action = str((detail or {}).get("action", ""))
        channel = ACTION_CHANNEL.get(action, action or "unknown")
        health = found.setdefault(channel, ChannelHealth(channel=channel))
        health.exhausted += 1
    return sorted(found.values(), key=lambda h: h.channel)
