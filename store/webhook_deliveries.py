"""Inbound webhook deliveries, de-duplicated on the vendor's delivery id.

PagerDuty delivers at least once and signs no timestamp, so a replayed or retried delivery is
recognised by its `X-Webhook-Id`. A delivery is *claimed* (inserted) before it is acted on;
a second claim of the same id fails, so a replay changes nothing. When acting fails in a way
the vendor should retry (Temporal unreachable), the claim is released so the retry is handled;
a claim left `processing` by a process that died mid-way is taken over after `STALE_CLAIM`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from store.models_schedules import WebhookDelivery

__all__ = ["STALE_CLAIM", "WebhookDeliveryStore"]

STALE_CLAIM = timedelta(minutes=2)


def _now() -> datetime:
    return datetime.now(UTC)


class WebhookDeliveryStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def claim(
        self, vendor: str, delivery_id: str, event_type: str = "", *, now: datetime | None = None
    ) -> bool:
        """Record the delivery; False when it was already recorded (a replay), unless that
        claim is still `processing` after `STALE_CLAIM` (its process died): then take it over."""
        now = now or _now()
        table: Any = WebhookDelivery.__table__
        with self._sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            inserted = session.execute(
                insert(table)
                .values(
                    vendor=vendor,
                    delivery_id=delivery_id[:200],
                    event_type=event_type[:100],
                    outcome="processing",
                    detail={},
                    received_at=now,
                )
                .on_conflict_do_nothing()
                # RETURNING, not rowcount: psycopg 3 under SQLAlchemy 2.1 reports -1 here.
                .returning(table.c.delivery_id)
            ).first()
            if inserted is not None:
                return True
            taken_over = session.execute(
                update(table)
                .where(
                    table.c.vendor == vendor,
                    table.c.delivery_id == delivery_id[:200],
                    table.c.outcome == "processing",
                    table.c.received_at < now - STALE_CLAIM,
                )
                .values(received_at=now)
                .returning(table.c.delivery_id)
            ).first()
            return taken_over is not None

    def finish(
        self,
        vendor: str,
        delivery_id: str,
        outcome: str,
        *,
        ticket_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.vendor == vendor,
                    WebhookDelivery.delivery_id == delivery_id[:200],
                )
                .values(
                    outcome=outcome[:32],
                    ticket_id=ticket_id[:128] if ticket_id else None,
                    detail=detail or {},
                    finished_at=_now(),
                )
            )

    def release(self, vendor: str, delivery_id: str) -> None:
        """Forget a claim whose processing failed, so the vendor's retry is handled."""
        with self._sessions.begin() as session:
            session.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.vendor == vendor,
                    WebhookDelivery.delivery_id == delivery_id[:200],
                )
            )

    def get(self, vendor: str, delivery_id: str) -> dict[str, Any] | None:
        with self._sessions() as session:
            row = session.scalars(
                select(WebhookDelivery).where(
                    WebhookDelivery.vendor == vendor,
                    WebhookDelivery.delivery_id == delivery_id[:200],
                )
            ).first()
            if row is None:
                return None
            return {
                "vendor": row.vendor,
                "delivery_id": row.delivery_id,
                "event_type": row.event_type,
                "ticket_id": row.ticket_id,
                "outcome": row.outcome,
                "detail": dict(row.detail or {}),
            }

    def count(self, vendor: str) -> int:
        with self._sessions() as session:
            return len(
                session.scalars(
                    select(WebhookDelivery.delivery_id).where(WebhookDelivery.vendor == vendor)
                ).all()
            )
