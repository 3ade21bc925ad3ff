"""The intake schema: one ticket event as the ticket system (or our webhook mappers) sends it.

`POST /v1/tickets/events` documents this model in OpenAPI, so every field says what it means.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from escalation.vocabulary import CustomerTier, Priority

TICKET_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
"""Ticket ids end up in workflow ids (`escalation-<ticket id>`): keep them plain."""

Money = Annotated[
    Decimal,
    Field(
        ge=0, le=Decimal("1e12"), allow_inf_nan=False, description="Amount in the account currency."
    ),
]
ShortText = Annotated[str, Field(max_length=200)]
Identifier = Annotated[str, Field(min_length=1, max_length=128)]


class EventType(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    COMMENTED = "commented"


class Channel(StrEnum):
    EMAIL = "email"
    WEB = "web"
    CHAT = "chat"
    PHONE = "phone"
    SOCIAL = "social"
    MESSAGING = "messaging"
    API = "api"
    OTHER = "other"


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer
    ON_HOLD = "on_hold"  # waiting on a third party
    SOLVED = "solved"
    CLOSED = "closed"

    @property
    def resolved(self) -> bool:
        return self in (TicketStatus.SOLVED, TicketStatus.CLOSED)


class AuthorRole(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Comment(_Model):
    """One message on the ticket."""

    comment_id: Identifier | None = Field(default=None, description="The ticket system's id.")
    author_id: Identifier | None = Field(default=None, description="Who wrote it.")
    author_role: AuthorRole = Field(description="Customer, agent, bot or system.")
    body: str = Field(max_length=50_000, description="Plain text of the message.")
    created_at: AwareDatetime = Field(description="When it was written (with time zone).")
    public: bool = Field(default=True, description="False for an agent's internal note.")


class SlaTargets(_Model):
    """The ticket's SLA targets, in minutes from creation (business-hours pauses are applied
    by the watch workflow through `TicketContext.sla_paused_minutes`)."""

    first_response_minutes: float | None = Field(
        default=None,
        gt=0,
        le=525_600,
        description="First response due this many minutes after creation.",
    )
    resolution_minutes: float | None = Field(
        default=None,
        gt=0,
        le=525_600,
        description="Resolution due this many minutes after creation.",
    )


class CustomerInfo(_Model):
    customer_id: Identifier = Field(description="The customer's (account's) id.")
    name: ShortText = Field(default="", description="Account name; never put in search attributes.")
    tier: CustomerTier = Field(default=CustomerTier.STANDARD, description="Plan tier.")
    vip: bool = Field(default=False, description="The ticket system's VIP flag.")
    arr: Money | None = Field(default=None, description="Annual recurring revenue.")
    health_score: float | None = Field(
        default=None, ge=0, le=100, description="Customer health score now (0..100)."
    )
    health_score_30d_ago: float | None = Field(
        default=None, ge=0, le=100, description="Customer health score 30 days ago (0..100)."
    )
    requester_email: str | None = Field(
        default=None,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="The requester's email address. When customer_id is the help desk's own id "
        "(zd-org-…), the CRM account is looked up by its domain (free-mail domains excepted). "
        "Personal data: never put in search attributes or logs.",
    )


class AgentInfo(_Model):
    agent_id: Identifier | None = Field(default=None, description="The assigned agent.")
    needs_escalation: bool = Field(default=False, description="The agent marked the ticket.")
    minutes_investigated: float = Field(
        default=0, ge=0, le=525_600, description="Time the agent has spent investigating."
    )
    suspected_bug: bool = Field(default=False, description="The agent suspects a product bug.")
    refund_limit: Money | None = Field(
        default=None, description="Largest refund/credit the agent may grant without escalating."
    )


class SelfService(_Model):
    chatbot_used: bool = Field(default=False, description="The customer went through the chatbot.")
    kb_articles_viewed: int = Field(
        default=0, ge=0, le=10_000, description="Knowledge-base articles the customer viewed."
    )


@dataclass(frozen=True, slots=True)
class TextSource:
    """A piece of customer text and where it came from (for evidence)."""

    where: str  # "subject", "description", "comments[3]"
    text: str
    at: datetime


class TicketEvent(_Model):
    """A ticket was created, updated or commented: everything the triggers need."""

    event_id: Identifier | None = Field(
        default=None, description="The vendor's event id; intake is idempotent on it."
    )
    event_type: EventType = Field(default=EventType.UPDATED, description="What happened.")
    ticket_id: str = Field(pattern=TICKET_ID_PATTERN, description="The ticket system's id.")
    subject: str = Field(default="", max_length=1_000, description="Ticket subject.")
    description: str = Field(
        default="", max_length=50_000, description="The customer's first message."
    )
    comments: list[Comment] = Field(
        default_factory=list, max_length=1_000, description="Messages after the description."
    )
    channel: Channel = Field(default=Channel.EMAIL, description="Where the ticket came in.")
    product_area: ShortText | None = Field(
        default=None, description="Product area (billing, login, api, ...); similarity is per area."
    )
    requester_priority: Priority | None = Field(
        default=None, description="Priority the requester (or the help desk) set."
    )
    tags: list[ShortText] = Field(default_factory=list, max_length=100, description="Ticket tags.")
    status: TicketStatus = Field(default=TicketStatus.OPEN, description="Ticket status.")
    created_at: AwareDatetime = Field(description="When the ticket was created.")
    first_response_at: AwareDatetime | None = Field(
        default=None, description="When an agent first answered publicly, if yet."
    )
    sla: SlaTargets = Field(default_factory=SlaTargets, description="SLA targets.")
    customer: CustomerInfo = Field(description="The requesting account.")
    agent: AgentInfo = Field(default_factory=AgentInfo, description="The assigned agent's view.")
    self_service: SelfService = Field(
        default_factory=SelfService, description="What the customer tried before asking."
    )
    billing_amount: Money | None = Field(
        default=None, description="Amount disputed or to refund, for billing tickets."
    )
    revenue_at_risk: Money | None = Field(
        default=None, description="Revenue the account says is at stake."
    )
    requested_person: ShortText | None = Field(
        default=None, description="A person or role the customer asked to talk to."
    )
    sentiment_score: float | None = Field(
        default=None,
        ge=-1,
        le=1,
        description="Sentiment of the latest customer message (-1..1); computed when absent.",
    )

    @field_validator("tags")
    @classmethod
    def _normalise_tags(cls, tags: list[str]) -> list[str]:
        return [t.strip().lower() for t in tags if t.strip()]

    @field_validator("product_area")
    @classmethod
    def _normalise_area(cls, area: str | None) -> str | None:
        return (area.strip().lower() or None) if area is not None else None

    @model_validator(mode="after")
    def _times_in_order(self) -> Self:
        if self.first_response_at is not None and self.first_response_at < self.created_at:
            raise ValueError("first_response_at is before created_at")
        return self

    @property
    def resolved(self) -> bool:
        return self.status.resolved

    def customer_messages(self) -> list[TextSource]:
        """The customer's own words, oldest first: subject + description, then their comments."""
        opening = "\n".join(t for t in (self.subject, self.description) if t)
        out = [TextSource("subject+description", opening, self.created_at)] if opening else []
        comments = sorted(enumerate(self.comments), key=lambda ic: ic[1].created_at)
        out.extend(
            TextSource(f"comments[{i}]", c.body, c.created_at)
            for i, c in comments
            if c.author_role is AuthorRole.CUSTOMER and c.body
        )
        return out

    def customer_texts(self) -> list[TextSource]:
        """Customer text searched for phrases, subject and description kept apart."""
        out: list[TextSource] = []
        if self.subject:
            out.append(TextSource("subject", self.subject, self.created_at))
        if self.description:
            out.append(TextSource("description", self.description, self.created_at))
        out.extend(m for m in self.customer_messages() if m.where.startswith("comments"))
        return out

    def agent_replied(self) -> bool:
        return self.first_response_at is not None or any(
            c.author_role is AuthorRole.AGENT and c.public for c in self.comments
        )
