"""Tables of the closed loop (issue 6): what analytics need beyond the escalation row.

Keyed by escalation key (`escalation-<ticket>.<run>`), never altering `escalations`:
- `escalation_facts`: who escalated (the L1 agent), why (category, reason), and the ticket it
  reopens, recorded when the escalation starts;
- `escalation_triggers`: one row per trigger type that fired (volume by trigger type);
- `agent_tickets`: tickets an agent handled (the denominator of agent escalation rates);
- `surveys`: one-time CSAT survey links (only the token's hash is stored) and their answer;
- `escalation_reviews`: was it necessary, could it have been prevented, reopened or not;
- `kb_drafts`: knowledge-base article drafts written from a resolution.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class EscalationFacts(Base):
    __tablename__ = "escalation_facts"

    escalation_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(128), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(200), index=True)
    agent_team: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    reopens: Mapped[str | None] = mapped_column(String(200))  # escalation key it reopens
    recorded_at: Mapped[datetime]


class EscalationTrigger(Base):
    __tablename__ = "escalation_triggers"

    escalation_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    trigger_type: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_escalation_triggers_type", "trigger_type"),)


class AgentTicket(Base):
    __tablename__ = "agent_tickets"

    ticket_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    team: Mapped[str | None] = mapped_column(String(64))
    handled_at: Mapped[datetime] = mapped_column(index=True)


class Survey(Base):
    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    escalation_key: Mapped[str] = mapped_column(String(200), index=True)
    ticket_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)


class EscalationReview(Base):
    __tablename__ = "escalation_reviews"

    escalation_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    necessary: Mapped[bool | None] = mapped_column(Boolean)
    preventable: Mapped[bool | None] = mapped_column(Boolean)
    gap_category: Mapped[str | None] = mapped_column(String(32))  # training | tool | process
    reopened: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_feedback: Mapped[str] = mapped_column(Text, default="")
    specialist_feedback: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class KbDraft(Base):
    __tablename__ = "kb_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    escalation_key: Mapped[str] = mapped_column(String(200), unique=True)
    ticket_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(300))
    problem: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(Text, default="")
    route: Mapped[str] = mapped_column(String(32), default="")
    tags: Mapped[str] = mapped_column(String(500), default="")  # comma-separated
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_by: Mapped[str] = mapped_column(String(200), default="system")
    created_at: Mapped[datetime] = mapped_column(index=True)
