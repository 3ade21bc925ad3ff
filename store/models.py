"""SQLAlchemy models: the system of record from which the dashboard and reports are computed.

Temporal holds the live state of every escalation; these tables keep what happened, so it
survives workflow retention and can be queried with SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    customer_tier: Mapped[str] = mapped_column(String(32), default="standard")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Escalation(Base):
    """One row per escalation run; updated from the timeline in sequence order."""

    __tablename__ = "escalations"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    priority: Mapped[str] = mapped_column(String(4), index=True)
    route: Mapped[str] = mapped_column(String(32))
    team: Mapped[str] = mapped_column(String(64), index=True)
    assignee: Mapped[str | None] = mapped_column(String(200))
    bounces: Mapped[int] = mapped_column(Integer, default=0)
    subject: Mapped[str] = mapped_column(String(300), default="")
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    customer_tier: Mapped[str] = mapped_column(String(32), default="standard")
    time_scale: Mapped[float] = mapped_column(Float, default=1.0)
    started_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]

    # The analytics indexes are created by migration 0007_analytics_indexes (why: there).
    __table_args__ = (
        Index("ix_escalations_started_at", "started_at"),
        Index("ix_escalations_team_started_at", "team", "started_at"),
        Index("ix_escalations_ticket_id_started_at", "ticket_id", "started_at"),
        Index(
            "ix_escalations_open",
            "priority",
            "started_at",
            postgresql_where=text("status <> 'resolved'"),
            sqlite_where=text("status <> 'resolved'"),
        ),
        Index(
            "ix_escalations_open_team",
            "team",
            "priority",
            "started_at",
            postgresql_where=text("status <> 'resolved'"),
            sqlite_where=text("status <> 'resolved'"),
        ),
    )


class TimelineEvent(Base):
    __tablename__ = "timeline_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(240), unique=True)
    escalation_key: Mapped[str] = mapped_column(String(200), index=True)
    ticket_id: Mapped[str] = mapped_column(String(128), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200), default="system")
    via: Mapped[str] = mapped_column(String(32), default="system")
    step_index: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Notification(Base):
    """Every notification attempt's final outcome, unique per idempotency key."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(400))
    escalation_key: Mapped[str] = mapped_column(String(200), index=True)
    ticket_id: Mapped[str] = mapped_column(String(128), index=True)
    step_index: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    external_id: Mapped[str | None] = mapped_column(String(400))
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_notifications_key"),)


class OutboxMessage(Base):
    """What an adapter without credentials would have sent."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vendor: Mapped[str] = mapped_column(String(32), index=True)
    operation: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(400))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("vendor", "operation", "idempotency_key", name="uq_outbox_key"),
    )
