"""What the store knows about the ticket's surroundings, computed elsewhere (SQL) and handed
to the evaluation so that the evaluation itself stays pure.

The store pre-filters cheaply with indexes (same customer or same product area, a time window a
little wider than the policy's); the evaluation applies the policy's exact windows and the
similarity threshold, so every number is applied in one place and near-misses are testable.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from escalation.triggers.event import TICKET_ID_PATTERN

SentimentValue = Annotated[float, Field(ge=-1, le=1)]


class RelatedTicket(BaseModel):
    """Another ticket that may be about the same issue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ticket_id: str = Field(pattern=TICKET_ID_PATTERN)
    customer_id: str = Field(min_length=1, max_length=128)
    created_at: AwareDatetime
    product_area: str | None = Field(default=None, max_length=200)
    text: str = Field(
        default="",
        max_length=5_000,
        description="Subject and start of the description (raw or already normalised).",
    )
    similarity: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Similarity to the evaluated ticket if the store computed it; "
        "otherwise computed from `text` with rapidfuzz.",
    )


class TicketContext(BaseModel):
    """History around one ticket. Every list is pre-filtered and bounded by the store."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_recent_tickets: list[RelatedTicket] = Field(
        default_factory=list,
        max_length=1_000,
        description="The same customer's other tickets from about the last repeat window.",
    )
    area_recent_tickets: list[RelatedTicket] = Field(
        default_factory=list,
        max_length=5_000,
        description="Any customer's other tickets in the same product area from about the "
        "last mass-pattern window.",
    )
    prior_customer_sentiments: list[SentimentValue] = Field(
        default_factory=list,
        max_length=1_000,
        description="Sentiment (-1..1) of earlier customer messages on this ticket that the "
        "event does not carry, oldest first.",
    )
    open_outage_incident_id: str | None = Field(
        default=None,
        max_length=128,
        description="An outage incident already open for this product area, to link to.",
    )
    sla_paused_minutes: float = Field(
        default=0,
        ge=0,
        description="Minutes the SLA clock has been paused (outside business hours, pending).",
    )
