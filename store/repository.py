"""Reads and idempotent writes of the system of record.

Writes are safe to repeat (activities are at-least-once): timeline events and notifications
are unique by key, and the escalation row only moves forward in sequence order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from escalation.closing import EscalationFactsInput
from escalation.models import EscalationStatus, InternalNotification, TimelineEntry
from store import models
from store.closing import record_facts_in


def _insert_ignoring_conflicts(session: Session, table: Any, values: dict[str, Any]) -> bool:
    """INSERT .. ON CONFLICT DO NOTHING; True when a row was inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING, because rowcount is not reliable for INSERT .. ON CONFLICT with psycopg 3.
    statement = insert(table).values(**values).on_conflict_do_nothing()
    result = session.execute(statement.returning(*table.primary_key.columns))
    return result.first() is not None


@dataclass(frozen=True)
class RecordedBatch:
    """What a timeline batch wrote that was not there before."""

    event_keys: list[str]
    notifications: list[InternalNotification]


def _now() -> datetime:
    return datetime.now(UTC)


class Repository:
    """All SQL of the service, behind one object that receives the session factory."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self._sessions

    # ------------------------------------------------------------------ timeline
    def record_timeline(self, entry: TimelineEntry) -> bool:
        with self._sessions.begin() as session:
            return self._record_timeline_in(session, entry)

    def record_timeline_batch(
        self,
        entries: list[TimelineEntry],
        notifications: Sequence[InternalNotification] = (),
        facts: EscalationFactsInput | None = None,
    ) -> RecordedBatch:
        """Record several lines, the store-only notifications they report and the escalation
        facts in one transaction (lines in sequence order); what was new (a retried batch:
        nothing)."""
        with self._sessions.begin() as session:
            lines = [
                entry.event_key
                for entry in sorted(entries, key=lambda e: e.sequence)
                if self._record_timeline_in(session, entry)
            ]
            rows = [n for n in notifications if self._save_internal_in(session, n)]
            if facts is not None:
                record_facts_in(session, facts)
        return RecordedBatch(event_keys=lines, notifications=rows)

    def record_escalation_facts(self, facts: EscalationFactsInput) -> bool:
        """The escalation facts on their own (store/closing.py record_facts_in)."""
        with self._sessions.begin() as session:
            return record_facts_in(session, facts)

    def save_internal_notification(self, notification: InternalNotification) -> bool:
        """One store-only notification row on its own; True when it was new."""
        with self._sessions.begin() as session:
            return self._save_internal_in(session, notification)

    def _save_internal_in(self, session: Session, notification: InternalNotification) -> bool:
        return _insert_ignoring_conflicts(
            session,
            models.Notification.__table__,
            {
                "idempotency_key": notification.idempotency_key,
                "escalation_key": notification.escalation_key,
                "ticket_id": notification.ticket_id,
                "step_index": notification.step_index,
                "action": notification.action.value,
                "channel": notification.channel,
                "target": notification.target[:200],
                "outcome": notification.result.outcome.value,
                "external_id": None,
                "error": None,
                "result": notification.result.stored(),
                "created_at": _now(),
            },
        )

    def _record_timeline_in(self, session: Session, entry: TimelineEntry) -> bool:
        inserted = _insert_ignoring_conflicts(
            session,
            models.TimelineEvent.__table__,
            {
                "event_key": entry.event_key,
                "escalation_key": entry.escalation_key,
                "ticket_id": entry.ticket_id,
                "sequence": entry.sequence,
                "kind": entry.kind,
                "at": entry.at,
                "actor": entry.actor,
                "via": entry.via.value,
                "step_index": entry.step_index,
                "detail": entry.detail,
            },
        )
        self._apply_snapshot(session, entry)
        return inserted

    def _apply_snapshot(self, session: Session, entry: TimelineEntry) -> None:
        row = session.get(models.Escalation, entry.escalation_key, with_for_update=True)
        now = _now()
        if row is None:
            _insert_ignoring_conflicts(
                session,
                models.Ticket.__table__,
                {
                    "id": entry.ticket_id,
                    "subject": entry.subject,
                    "customer_name": entry.customer_name,
                    "customer_tier": entry.customer_tier.value,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            inserted = _insert_ignoring_conflicts(
                session,
                models.Escalation.__table__,
                {
                    "key": entry.escalation_key,
                    "ticket_id": entry.ticket_id,
                    "status": entry.status.value,
                    "priority": entry.priority.value,
                    "route": entry.route.value,
                    "team": entry.team,
                    "assignee": entry.assignee,
                    "bounces": entry.bounces,
                    "subject": entry.subject,
                    "customer_name": entry.customer_name,
                    "customer_tier": entry.customer_tier.value,
                    "time_scale": entry.time_scale,
                    "started_at": entry.started_at or entry.at,
                    "last_sequence": 0,
                    "updated_at": now,
                },
            )
            del inserted
            row = session.get(models.Escalation, entry.escalation_key, with_for_update=True)
            assert row is not None
        if entry.kind == "acknowledged" and row.acknowledged_at is None:
            row.acknowledged_at, row.acknowledged_by = entry.at, entry.actor
        if entry.kind == "resolved" and row.resolved_at is None:
            row.resolved_at, row.resolved_by = entry.at, entry.actor
        if entry.sequence <= row.last_sequence:
            return  # an older snapshot arriving late never overwrites a newer one
        row.last_sequence = entry.sequence
        row.status = entry.status.value
        row.team = entry.team
        row.route = entry.route.value
        row.assignee = entry.assignee
        row.bounces = entry.bounces
        row.updated_at = now
        if entry.status is not EscalationStatus.RESOLVED and entry.kind == "reassigned":
            row.acknowledged_at = row.acknowledged_by = None

    def timeline(self, escalation_key: str) -> Sequence[models.TimelineEvent]:
        with self._sessions() as session:
            return session.scalars(
                select(models.TimelineEvent)
                .where(models.TimelineEvent.escalation_key == escalation_key)
                .order_by(models.TimelineEvent.sequence)
            ).all()

    # ------------------------------------------------------------------ notifications
    def find_notification(self, idempotency_key: str) -> models.Notification | None:
        with self._sessions() as session:
            return session.scalars(
                select(models.Notification).where(
                    models.Notification.idempotency_key == idempotency_key
                )
            ).first()

    def save_notification(self, **values: Any) -> models.Notification:
        """Record a notification's outcome once; a repeat returns the first record."""
        values.setdefault("created_at", _now())
        with self._sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            # One round trip: a new row comes back with RETURNING; only a repeat reads the
            # first one.
            statement = (
                insert(models.Notification)
                .values(**values)
                .on_conflict_do_nothing()
                .returning(models.Notification)
            )
            row = session.scalars(statement).first()
            if row is None:
                row = session.scalars(
                    select(models.Notification).where(
                        models.Notification.idempotency_key == values["idempotency_key"]
                    )
                ).one()
        return row

    def notifications(self, escalation_key_prefix: str) -> Sequence[models.Notification]:
        with self._sessions() as session:
            return session.scalars(
                select(models.Notification)
                .where(models.Notification.escalation_key.startswith(escalation_key_prefix))
                .order_by(models.Notification.id)
            ).all()

    # ------------------------------------------------------------------ outbox
    def write_outbox(
        self, *, vendor: str, operation: str, idempotency_key: str, payload: dict[str, Any]
    ) -> bool:
        with self._sessions.begin() as session:
            return _insert_ignoring_conflicts(
                session,
                models.OutboxMessage.__table__,
                {
                    "vendor": vendor,
                    "operation": operation,
                    "idempotency_key": idempotency_key,
                    "payload": payload,
                    "created_at": _now(),
                },
            )

    def outbox(
        self, *, vendor: str | None = None, limit: int = 100
    ) -> Sequence[models.OutboxMessage]:
        with self._sessions() as session:
            query = select(models.OutboxMessage).order_by(models.OutboxMessage.id.desc())
            if vendor:
                query = query.where(models.OutboxMessage.vendor == vendor)
            return session.scalars(query.limit(limit)).all()

    # ------------------------------------------------------------------ escalations
    def list_escalations(
        self,
        *,
        status: str | None = None,
        priority: str | None = None,
        team: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[Sequence[models.Escalation], int]:
        with self._sessions() as session:
            query = select(models.Escalation)
            if status:
                query = query.where(models.Escalation.status == status)
            if priority:
                query = query.where(models.Escalation.priority == priority)
            if team:
                query = query.where(models.Escalation.team == team)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(models.Escalation.started_at.desc()).limit(limit).offset(offset)
            ).all()
            return rows, total

    def latest_escalation(self, ticket_id: str) -> models.Escalation | None:
        with self._sessions() as session:
            return session.scalars(
                select(models.Escalation)
                .where(models.Escalation.ticket_id == ticket_id)
                .order_by(models.Escalation.started_at.desc())
            ).first()
