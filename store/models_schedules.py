"""Tables of issue 4 (people and time): run-time schedule changes and inbound webhook ids.

- `schedule_overrides`: someone takes a team's primary or secondary shift for [start, end),
  added through `POST /v1/schedules/{team}/overrides` on top of the policy's schedule;
- `schedule_time_off`: someone is away for [start, end); filed under a team, it applies to the
  person everywhere (their designated backup covers their shifts);
- `webhook_deliveries`: one row per vendor delivery id (PagerDuty `X-Webhook-Id`), so a
  redelivered webhook changes nothing.

The policy file stays the source of the rotations; these rows only add to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class ScheduleOverride(Base):
    __tablename__ = "schedule_overrides"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # ovr_<hex>
    team: Mapped[str] = mapped_column(String(64))
    person: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))  # primary | secondary
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="api")
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_schedule_overrides_team_end", "team", "end_at"),)


class ScheduleTimeOff(Base):
    __tablename__ = "schedule_time_off"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # off_<hex>
    team: Mapped[str] = mapped_column(String(64))  # where it was filed
    person: Mapped[str] = mapped_column(String(64))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="api")
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_schedule_time_off_end", "end_at"),
        Index("ix_schedule_time_off_team", "team"),
    )


class WebhookDelivery(Base):
    """A vendor delivery we have taken on. The primary key is the de-duplication."""

    __tablename__ = "webhook_deliveries"

    vendor: Mapped[str] = mapped_column(String(32), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100), default="")
    ticket_id: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(32), default="processing")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
