"""Tables of issue 3 (intake): ticket events, the searchable ticket index, outage incidents and
escalation packages.

- `intake_ticket_events`: every ticket event once, unique on (source, event key). The event key
  is the vendor's event id (Zendesk envelope `id`, Intercom notification `id`), the `event_id`
  an API client sends, or the SHA-256 of the body when there is none, so a replay is found and
  answered with the stored response. A row is *claimed* (state `processing`) before the event
  is acted on and completed (`done`) with the decision and the response.
- `intake_tickets`: one row per ticket with what the SQL candidate queries need: customer,
  product area, creation time and the normalised text (`normalise_for_similarity`). The repeat
  query (same customer, 48 h) and the mass-pattern query (same area, 1 h) each read one range
  of a composite btree index, so they stay fast with millions of rows. On PostgreSQL the
  migration also adds a pg_trgm GIN index on the text (used to find similar *resolved*
  tickets across all time, and to rank a crowded window); SQLite does without.
- `outage_incidents` / `outage_incident_tickets`: one incident escalation per burst of similar
  tickets, and the tickets linked to it.
- `escalation_packages`: the context package of the latest escalation of each ticket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class IntakeTicketEvent(Base):
    __tablename__ = "intake_ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))  # api | zendesk | freshdesk | intercom | clock
    event_key: Mapped[str] = mapped_column(String(200))
    ticket_id: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="processing")  # processing | done
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the TicketEvent evaluated
    action: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[str | None] = mapped_column(String(4))
    route: Mapped[str | None] = mapped_column(String(32))
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_workflow_id: Mapped[str | None] = mapped_column(String(200))
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("source", "event_key", name="uq_intake_ticket_events_key"),
        Index("ix_intake_ticket_events_ticket", "ticket_id", "id"),
    )


class IntakeTicket(Base):
    __tablename__ = "intake_tickets"

    ticket_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    product_area: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    subject: Mapped[str] = mapped_column(String(1000), default="")
    normalized_text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[str | None] = mapped_column(String(4))  # of the latest decision
    route: Mapped[str | None] = mapped_column(String(32))
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_workflow_id: Mapped[str | None] = mapped_column(String(200))
    outage_incident_key: Mapped[str | None] = mapped_column(String(200))
    # [{"key", "at", "score"}] of the customer's messages seen so far (sentiment trend)
    message_sentiments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    last_event_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_intake_tickets_customer_created", "customer_id", "created_at"),
        Index("ix_intake_tickets_area_created", "product_area", "created_at"),
        # PostgreSQL only (migration 0003_intake): GIN (normalized_text gin_trgm_ops)
    )


class OutageIncident(Base):
    __tablename__ = "outage_incidents"

    incident_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    escalation_ticket_id: Mapped[str] = mapped_column(String(128), unique=True)
    product_area: Mapped[str | None] = mapped_column(String(200))
    first_ticket_id: Mapped[str] = mapped_column(String(128))
    opened_at: Mapped[datetime]

    __table_args__ = (Index("ix_outage_incidents_area_opened", "product_area", "opened_at"),)


class OutageIncidentTicket(Base):
    __tablename__ = "outage_incident_tickets"

    incident_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    linked_at: Mapped[datetime]

    __table_args__ = (Index("ix_outage_incident_tickets_ticket", "ticket_id"),)


class EscalationPackage(Base):
    __tablename__ = "escalation_packages"

    ticket_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    escalation_workflow_id: Mapped[str] = mapped_column(String(200))
    built_at: Mapped[datetime]
    package: Mapped[dict[str, Any]] = mapped_column(JSON)
