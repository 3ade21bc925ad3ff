"""Reads and idempotent writes of intake: ticket events, the ticket index, the SQL candidate
queries that build a TicketContext, outage incidents and escalation packages.

Candidate queries narrow with composite btree indexes: (customer_id, created_at) for repeated
contacts and (product_area, created_at) for the mass pattern, each a single index range however
many tickets the table holds. Similarity is then computed with the evaluation's own rapidfuzz
measure on the normalised text and handed over in `RelatedTicket.similarity`. On PostgreSQL
with pg_trgm, a window with more candidates than the context holds keeps the most similar ones
(trigram similarity), and the search for similar *resolved* tickets (no time window) uses the
trigram GIN index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from escalation.triggers import RelatedTicket, TicketEvent
from escalation.triggers.similarity import similarity
from store.models import Escalation, TimelineEvent
from store.models_intake import (
    EscalationPackage,
    IntakeTicket,
    IntakeTicketEvent,
    OutageIncident,
    OutageIncidentTicket,
)

__all__ = [
    "Claim",
    "HistoryRow",
    "IntakeRepository",
    "ResolvedMatch",
    "Surroundings",
    "TicketRow",
    "decision_values",
]

MAX_CUSTOMER_CANDIDATES = 1_000
MAX_AREA_CANDIDATES = 5_000
RESOLVED_CANDIDATES = 200
TRGM_SUGGEST_THRESHOLD = 0.3
RELATED_TEXT_CHARS = 5_000


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of claiming an event: new (act on it) or a duplicate (with its state)."""

    event_row_id: int
    duplicate: bool
    state: str
    response: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class TicketRow:
    ticket_id: str
    route: str | None
    priority: str | None
    legal_hold: bool
    escalation_workflow_id: str | None
    outage_incident_key: str | None
    message_sentiments: list[dict[str, Any]]
    last_event_id: int | None
    resolved: bool


@dataclass(frozen=True, slots=True)
class Surroundings:
    """What intake reads before evaluating a ticket event."""

    previous: TicketRow | None
    customer_tickets: list[RelatedTicket]
    area_tickets: list[RelatedTicket]
    open_incident: str | None
    escalation_known: bool


def _ticket_values(event: TicketEvent, normalized_text: str, now: datetime) -> dict[str, Any]:
    return {
        "ticket_id": event.ticket_id,
        "customer_id": event.customer.customer_id,
        "product_area": event.product_area,
        "created_at": event.created_at,
        "subject": event.subject[:1000],
        "normalized_text": normalized_text,
        "status": event.status.value,
        "resolved": event.resolved,
        "updated_at": now,
    }


def decision_values(
    *,
    priority: str,
    route: str,
    legal_hold: bool,
    message_sentiments: list[dict[str, Any]],
    last_event_id: int,
    escalation_workflow_id: str | None,
    outage_incident_key: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The columns of `intake_tickets` a decision updates (escalation and incident are only
    ever set, never cleared)."""
    values: dict[str, Any] = {
        "priority": priority,
        "route": route,
        "legal_hold": legal_hold,
        "message_sentiments": message_sentiments,
        "last_event_id": last_event_id,
        "updated_at": now,
    }
    if escalation_workflow_id is not None:
        values["escalation_workflow_id"] = escalation_workflow_id
    if outage_incident_key is not None:
        values["outage_incident_key"] = outage_incident_key
    return values


@dataclass(frozen=True, slots=True)
class ResolvedMatch:
    ticket_id: str
    subject: str
    similarity: float
    resolution: str
    resolved_by: str | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    id: int
    source: str
    event_type: str
    received_at: datetime
    payload: dict[str, Any]
    action: str | None
    priority: str | None


class IntakeRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._trgm: bool | None = None

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self._sessions

    def _dialect(self, session: Session) -> str:
        return session.get_bind().dialect.name

    def _insert(self, session: Session) -> Any:
        return postgresql.insert if self._dialect(session) == "postgresql" else sqlite.insert

    def has_trigram(self) -> bool:
        """True on PostgreSQL with pg_trgm installed (checked once)."""
        if self._trgm is None:
            with self._sessions() as session:
                return self._has_trigram(session)
        return self._trgm

    def _has_trigram(self, session: Session) -> bool:
        if self._trgm is None:
            if self._dialect(session) != "postgresql":
                self._trgm = False
            else:
                found = session.execute(
                    text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
                ).scalar()
                self._trgm = bool(found)
        return self._trgm

    # ------------------------------------------------------------------ events
    def claim_event(
        self, *, source: str, event_key: str, event: TicketEvent, received_at: datetime
    ) -> Claim:
        """Insert the event once; a second claim of (source, key) reports the first."""
        with self._sessions.begin() as session:
            insert = self._insert(session)
            result = session.execute(
                insert(IntakeTicketEvent.__table__)
                .values(
                    source=source,
                    event_key=event_key,
                    ticket_id=event.ticket_id,
                    event_type=event.event_type.value,
                    received_at=received_at,
                    state="processing",
                    payload=event.model_dump(mode="json"),
                    legal_hold=False,
                )
                .on_conflict_do_nothing()
                .returning(IntakeTicketEvent.__table__.c.id)
            )
            new_id = result.scalar()
            if new_id is not None:
                return Claim(int(new_id), False, "processing", None)
            row = session.scalars(
                select(IntakeTicketEvent).where(
                    IntakeTicketEvent.source == source, IntakeTicketEvent.event_key == event_key
                )
            ).one()
            return Claim(row.id, True, row.state, row.response)

    def release_event(self, event_row_id: int) -> None:
        """Forget a claim whose processing failed, so the sender's retry is handled."""
        with self._sessions.begin() as session:
            session.execute(
                delete(IntakeTicketEvent).where(
                    IntakeTicketEvent.id == event_row_id, IntakeTicketEvent.state != "done"
                )
            )

    def complete_event(
        self,
        event_row_id: int,
        *,
        payload: dict[str, Any],
        decision: dict[str, Any],
        response: dict[str, Any],
        action: str,
        priority: str,
        route: str,
        legal_hold: bool,
        escalation_workflow_id: str | None,
    ) -> None:
        with self._sessions.begin() as session:
            self._complete_event(
                session,
                event_row_id,
                payload=payload,
                decision=decision,
                response=response,
                action=action,
                priority=priority,
                route=route,
                legal_hold=legal_hold,
                escalation_workflow_id=escalation_workflow_id,
            )

    def _complete_event(
        self,
        session: Session,
        event_row_id: int,
        *,
        payload: dict[str, Any],
        decision: dict[str, Any],
        response: dict[str, Any],
        action: str,
        priority: str,
        route: str,
        legal_hold: bool,
        escalation_workflow_id: str | None,
    ) -> None:
        session.execute(
            update(IntakeTicketEvent)
            .where(IntakeTicketEvent.id == event_row_id)
            .values(
                state="done",
                payload=payload,
                decision=decision,
                response=response,
                action=action,
                priority=priority,
                route=route,
                legal_hold=legal_hold,
                escalation_workflow_id=escalation_workflow_id,
            )
        )

    def event_count(self, **filters: Any) -> int:
        with self._sessions() as session:
            query = select(func.count()).select_from(IntakeTicketEvent)
            for name, value in filters.items():
                query = query.where(getattr(IntakeTicketEvent, name) == value)
            return int(session.scalar(query) or 0)

    def history(self, ticket_id: str, limit: int = 200) -> list[HistoryRow]:
        """The ticket's processed events, oldest first (clock checks included)."""
        with self._sessions() as session:
            return self._history(session, ticket_id, limit)

    def _history(self, session: Session, ticket_id: str, limit: int = 200) -> list[HistoryRow]:
        rows = session.scalars(
            select(IntakeTicketEvent)
            .where(IntakeTicketEvent.ticket_id == ticket_id, IntakeTicketEvent.state == "done")
            .order_by(IntakeTicketEvent.id.desc())
            .limit(limit)
        ).all()
        return [
            HistoryRow(
                id=r.id,
                source=r.source,
                event_type=r.event_type,
                received_at=_aware(r.received_at),
                payload=r.payload,
                action=r.action,
                priority=r.priority,
            )
            for r in reversed(rows)
        ]

    def latest_event(self, ticket_id: str) -> TicketEvent | None:
        """The last event of the ticket that intake processed (what the clock re-evaluates)."""
        with self._sessions() as session:
            payload = session.scalar(
                select(IntakeTicketEvent.payload)
                .join(IntakeTicket, IntakeTicket.last_event_id == IntakeTicketEvent.id)
                .where(IntakeTicket.ticket_id == ticket_id)
            )
        return TicketEvent.model_validate(payload) if payload is not None else None

    def status_marks(self, ticket_id: str, limit: int = 1_000) -> list[tuple[datetime, str]]:
        """(received_at, status) of the ticket's processed events, oldest first, clock checks
        left out: when the ticket went pending and back (the SLA clock's pauses). Reads one
        JSON field, not the payloads."""
        status = IntakeTicketEvent.payload["status"].as_string()
        with self._sessions() as session:
            rows = session.execute(
                select(IntakeTicketEvent.received_at, status)
                .where(
                    IntakeTicketEvent.ticket_id == ticket_id,
                    IntakeTicketEvent.state == "done",
                    IntakeTicketEvent.source != "clock",
                )
                .order_by(IntakeTicketEvent.received_at.desc(), IntakeTicketEvent.id.desc())
                .limit(limit)  # the latest ones: a pause still open must be seen
            ).all()
        return [(_aware(at), str(value or "")) for at, value in reversed(rows)]

    # ------------------------------------------------------------------ tickets
    def ticket(self, ticket_id: str) -> TicketRow | None:
        with self._sessions() as session:
            return self._ticket(session, ticket_id)

    def _ticket(self, session: Session, ticket_id: str) -> TicketRow | None:
        row = session.get(IntakeTicket, ticket_id)
        if row is None:
            return None
        return TicketRow(
            ticket_id=row.ticket_id,
            route=row.route,
            priority=row.priority,
            legal_hold=row.legal_hold,
            escalation_workflow_id=row.escalation_workflow_id,
            outage_incident_key=row.outage_incident_key,
            message_sentiments=list(row.message_sentiments or []),
            last_event_id=row.last_event_id,
            resolved=row.resolved,
        )

    def upsert_ticket(self, event: TicketEvent, normalized_text: str, now: datetime) -> None:
        """The ticket's searchable row (created, or refreshed from the latest event)."""
        values = _ticket_values(event, normalized_text, now)
        with self._sessions.begin() as session:
            self._upsert_ticket(session, values)

    def _upsert_ticket(self, session: Session, values: dict[str, Any]) -> None:
        insert = self._insert(session)
        statement = insert(IntakeTicket.__table__).values(
            **values, legal_hold=False, message_sentiments=[]
        )
        changed = {k: v for k, v in values.items() if k != "ticket_id"}
        session.execute(statement.on_conflict_do_update(index_elements=["ticket_id"], set_=changed))

    def record_decision(self, ticket_id: str, **values: Any) -> None:
        """The ticket's state after a decision (see `decision_values`)."""
        with self._sessions.begin() as session:
            self._record_decision(session, ticket_id, decision_values(**values))

    def _record_decision(self, session: Session, ticket_id: str, values: dict[str, Any]) -> None:
        session.execute(
            update(IntakeTicket).where(IntakeTicket.ticket_id == ticket_id).values(**values)
        )

    def has_escalation(self, ticket_id: str) -> bool:
        """Whether the ticket has (or had) an escalation we may need to tell about changes."""
        with self._sessions() as session:
            return self._has_escalation(session, ticket_id)

    def _has_escalation(self, session: Session, ticket_id: str) -> bool:
        ours = session.scalar(
            select(IntakeTicket.escalation_workflow_id).where(IntakeTicket.ticket_id == ticket_id)
        )
        if ours:
            return True
        return bool(
            session.scalar(
                select(
                    exists().where(
                        Escalation.ticket_id == ticket_id, Escalation.status != "resolved"
                    )
                )
            )
        )

    # ------------------------------------------------------------------ one transaction each
    def prepare(
        self,
        event: TicketEvent,
        normalized: str,
        now: datetime,
        *,
        repeat_window: timedelta,
        mass_window: timedelta,
    ) -> Surroundings:
        """Everything intake reads before evaluating, and the ticket's index row, in one
        transaction: the previous state, the candidates, the open incident of the area."""
        with self._sessions.begin() as session:
            previous = self._ticket(session, event.ticket_id)
            self._upsert_ticket(session, _ticket_values(event, normalized, now))
            customer, area = self._candidates(
                session, event, normalized, repeat_window=repeat_window, mass_window=mass_window
            )
            return Surroundings(
                previous=previous,
                customer_tickets=customer,
                area_tickets=area,
                open_incident=self._open_incident_for_area(session, event.product_area),
                escalation_known=previous is not None
                and (
                    previous.escalation_workflow_id is not None
                    or self._has_escalation(session, event.ticket_id)
                ),
            )

    def package_inputs(
        self,
        ticket_id: str,
        customer_id: str,
        product_area: str | None,
        normalized: str,
        since: datetime,
    ) -> tuple[list[HistoryRow], list[ResolvedMatch], int]:
        """(history, similar resolved escalations, the customer's tickets since `since`)."""
        with self._sessions() as session:
            return (
                self._history(session, ticket_id),
                self._similar_resolved(session, product_area, normalized, ticket_id),
                self._recent_ticket_count(session, customer_id, since),
            )

    def finish(
        self,
        event_row_id: int,
        ticket_id: str,
        *,
        completed: dict[str, Any],
        decision_values: dict[str, Any],
        packages: list[tuple[str, str, dict[str, Any]]],
        now: datetime,
    ) -> None:
        """Record the outcome in one transaction: packages, the event, the ticket's state."""
        with self._sessions.begin() as session:
            for package_ticket, workflow_id, body in packages:
                self._save_package(session, package_ticket, workflow_id, body, now)
            self._complete_event(session, event_row_id, **completed)
            self._record_decision(session, ticket_id, decision_values)

    # ------------------------------------------------------------------ candidates
    def _related(
        self, session: Session, query: Select[Any], normalized: str, limit: int, rank: bool
    ) -> list[RelatedTicket]:
        columns = (
            IntakeTicket.ticket_id,
            IntakeTicket.customer_id,
            IntakeTicket.created_at,
            IntakeTicket.product_area,
            IntakeTicket.normalized_text,
        )
        if rank and normalized:
            query = query.order_by(
                func.similarity(IntakeTicket.normalized_text, literal(normalized)).desc(),
                IntakeTicket.created_at.desc(),
            )
        else:
            query = query.order_by(IntakeTicket.created_at.desc())
        rows = session.execute(query.with_only_columns(*columns).limit(limit)).all()
        return [
            RelatedTicket(
                ticket_id=r.ticket_id,
                customer_id=r.customer_id,
                created_at=_aware(r.created_at),
                product_area=r.product_area,
                text=r.normalized_text[:RELATED_TEXT_CHARS],
                similarity=similarity(normalized, r.normalized_text),
            )
            for r in rows
        ]

    def candidates(
        self,
        event: TicketEvent,
        normalized: str,
        *,
        repeat_window: timedelta,
        mass_window: timedelta,
    ) -> tuple[list[RelatedTicket], list[RelatedTicket]]:
        """(same customer around the repeat window, same area around the mass window).

        Each window spans the evaluation's sliding window on both sides of the ticket's
        creation time (a member may be up to one window before or after it)."""
        with self._sessions() as session:
            return self._candidates(
                session, event, normalized, repeat_window=repeat_window, mass_window=mass_window
            )

    def _candidates(
        self,
        session: Session,
        event: TicketEvent,
        normalized: str,
        *,
        repeat_window: timedelta,
        mass_window: timedelta,
    ) -> tuple[list[RelatedTicket], list[RelatedTicket]]:
        created = event.created_at
        rank = self._has_trigram(session)
        customer_q = select(IntakeTicket).where(
            IntakeTicket.customer_id == event.customer.customer_id,
            IntakeTicket.created_at >= created - repeat_window,
            IntakeTicket.created_at <= created + repeat_window,
            IntakeTicket.ticket_id != event.ticket_id,
        )
        area_filter = (
            IntakeTicket.product_area == event.product_area
            if event.product_area is not None
            else IntakeTicket.product_area.is_(None)
        )
        area_q = select(IntakeTicket).where(
            area_filter,
            IntakeTicket.created_at >= created - mass_window,
            IntakeTicket.created_at <= created + mass_window,
            IntakeTicket.ticket_id != event.ticket_id,
        )
        customer = self._related(
            session, customer_q, normalized, MAX_CUSTOMER_CANDIDATES, rank=False
        )
        area = self._related(session, area_q, normalized, MAX_AREA_CANDIDATES, rank=rank)
        return customer, area

    def open_incident_for_area(self, product_area: str | None) -> str | None:
        """The escalation ticket id of the newest outage incident of the area whose escalation
        is not resolved."""
        with self._sessions() as session:
            return self._open_incident_for_area(session, product_area)

    def _open_incident_for_area(self, session: Session, product_area: str | None) -> str | None:
        area_filter = (
            OutageIncident.product_area == product_area
            if product_area is not None
            else OutageIncident.product_area.is_(None)
        )
        resolved = exists().where(
            Escalation.ticket_id == OutageIncident.escalation_ticket_id,
            Escalation.status == "resolved",
        )
        return session.scalar(
            select(OutageIncident.escalation_ticket_id)
            .where(area_filter, ~resolved)
            .order_by(OutageIncident.opened_at.desc())
            .limit(1)
        )

    # ------------------------------------------------------------------ incidents
    def open_incident(
        self,
        *,
        incident_key: str,
        escalation_ticket_id: str,
        product_area: str | None,
        first_ticket_id: str,
        now: datetime,
    ) -> str:
        """Record the incident once; returns its incident key (an existing incident opened
        under another key for the same escalation keeps its key)."""
        with self._sessions.begin() as session:
            insert = self._insert(session)
            session.execute(
                insert(OutageIncident.__table__)
                .values(
                    incident_key=incident_key,
                    escalation_ticket_id=escalation_ticket_id,
                    product_area=product_area,
                    first_ticket_id=first_ticket_id,
                    opened_at=now,
                )
                .on_conflict_do_nothing()
            )
            key = session.scalar(
                select(OutageIncident.incident_key).where(
                    OutageIncident.escalation_ticket_id == escalation_ticket_id
                )
            )
            return key or incident_key

    def link_incident_tickets(
        self, incident_key: str, ticket_ids: Sequence[str], now: datetime
    ) -> list[str]:
        """Link tickets to the incident; returns those not linked before, in order."""
        linked: list[str] = []
        with self._sessions.begin() as session:
            insert = self._insert(session)
            for ticket_id in ticket_ids:
                inserted = session.execute(
                    insert(OutageIncidentTicket.__table__)
                    .values(incident_key=incident_key, ticket_id=ticket_id, linked_at=now)
                    .on_conflict_do_nothing()
                    .returning(OutageIncidentTicket.__table__.c.ticket_id)
                ).scalar()
                if inserted is not None:  # RETURNING: rowcount is unreliable with psycopg 3
                    linked.append(ticket_id)
            if ticket_ids:
                session.execute(
                    update(IntakeTicket)
                    .where(IntakeTicket.ticket_id.in_(list(ticket_ids)))
                    .values(outage_incident_key=incident_key)
                )
        return linked

    def incident_tickets(self, incident_key: str) -> list[str]:
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(OutageIncidentTicket.ticket_id)
                    .where(OutageIncidentTicket.incident_key == incident_key)
                    .order_by(OutageIncidentTicket.linked_at, OutageIncidentTicket.ticket_id)
                )
            )

    # ------------------------------------------------------------------ packages
    def save_package(
        self, ticket_id: str, escalation_workflow_id: str, package: dict[str, Any], now: datetime
    ) -> None:
        with self._sessions.begin() as session:
            self._save_package(session, ticket_id, escalation_workflow_id, package, now)

    def _save_package(
        self,
        session: Session,
        ticket_id: str,
        escalation_workflow_id: str,
        package: dict[str, Any],
        now: datetime,
    ) -> None:
        insert = self._insert(session)
        values = {
            "ticket_id": ticket_id,
            "escalation_workflow_id": escalation_workflow_id,
            "built_at": now,
            "package": package,
        }
        session.execute(
            insert(EscalationPackage.__table__)
            .values(**values)
            .on_conflict_do_update(
                index_elements=["ticket_id"],
                set_={k: v for k, v in values.items() if k != "ticket_id"},
            )
        )

    def package(self, ticket_id: str) -> dict[str, Any] | None:
        with self._sessions() as session:
            row = session.get(EscalationPackage, ticket_id)
            return dict(row.package) if row is not None else None

    def similar_resolved(
        self, product_area: str | None, normalized: str, exclude_ticket: str, limit: int = 3
    ) -> list[ResolvedMatch]:
        """Resolved escalations of similar tickets in the same area, most similar first, with
        the resolution their responders recorded."""
        if not normalized:
            return []
        query = self._resolved_query(exclude_ticket)
        if product_area is not None:
            query = query.where(IntakeTicket.product_area == product_area)
        with self._sessions() as session:
            rows = self._similar_rows(session, query, normalized)
        return self._rank_resolved(rows, normalized, limit)

    def _resolved_query(self, exclude_ticket: str) -> Select[Any]:
        resolved_event = (
            select(TimelineEvent.detail)
            .where(TimelineEvent.escalation_key == Escalation.key, TimelineEvent.kind == "resolved")
            .limit(1)
            .scalar_subquery()
        )
        query = (
            select(
                IntakeTicket.ticket_id,
                IntakeTicket.subject,
                IntakeTicket.normalized_text,
                Escalation.resolved_at,
                Escalation.resolved_by,
                resolved_event.label("detail"),
            )
            .join(
                Escalation,
                and_(
                    Escalation.ticket_id == IntakeTicket.ticket_id, Escalation.status == "resolved"
                ),
            )
            .where(IntakeTicket.ticket_id != exclude_ticket)
        )
        return query

    def _similar_resolved(
        self,
        session: Session,
        product_area: str | None,
        normalized: str,
        exclude_ticket: str,
        limit: int = 3,
    ) -> list[ResolvedMatch]:
        if not normalized:
            return []
        query = self._resolved_query(exclude_ticket)
        if product_area is not None:
            query = query.where(IntakeTicket.product_area == product_area)
        return self._rank_resolved(
            self._similar_rows(session, query, normalized), normalized, limit
        )

    def _similar_rows(self, session: Session, query: Select[Any], normalized: str) -> list[Any]:
        if self._has_trigram(session):
            session.execute(
                text("SELECT set_config('pg_trgm.similarity_threshold', :v, true)"),
                {"v": str(TRGM_SUGGEST_THRESHOLD)},
            )
            query = query.where(IntakeTicket.normalized_text.op("%")(literal(normalized))).order_by(
                func.similarity(IntakeTicket.normalized_text, literal(normalized)).desc()
            )
        else:
            query = query.order_by(Escalation.resolved_at.desc())
        return list(session.execute(query.limit(RESOLVED_CANDIDATES)).all())

    def _rank_resolved(self, rows: list[Any], normalized: str, limit: int) -> list[ResolvedMatch]:
        best: dict[str, ResolvedMatch] = {}
        for r in rows:
            score = similarity(normalized, r.normalized_text)
            detail = r.detail if isinstance(r.detail, dict) else {}
            match = ResolvedMatch(
                ticket_id=r.ticket_id,
                subject=r.subject,
                similarity=score,
                resolution=str(detail.get("resolution", "")),
                resolved_by=r.resolved_by,
                resolved_at=_aware(r.resolved_at) if r.resolved_at else None,
            )
            known = best.get(r.ticket_id)
            if known is None or (match.resolved_at or datetime.min.replace(tzinfo=UTC)) > (
                known.resolved_at or datetime.min.replace(tzinfo=UTC)
            ):
                best[r.ticket_id] = match
        ranked = sorted(best.values(), key=lambda m: (-m.similarity, m.ticket_id))
        return ranked[:limit]

    def recent_ticket_count(self, customer_id: str, since: datetime) -> int:
        with self._sessions() as session:
            return self._recent_ticket_count(session, customer_id, since)

    def _recent_ticket_count(self, session: Session, customer_id: str, since: datetime) -> int:
        return int(
            session.scalar(
                select(func.count())
                .select_from(IntakeTicket)
                .where(IntakeTicket.customer_id == customer_id, IntakeTicket.created_at >= since)
            )
            or 0
        )
