"""Request and response models of the HTTP API (they are the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from escalation.closing import GapCategory
from escalation.models import TICKET_ID_PATTERN, EscalationState
from escalation.request_text import RequestBool, RequestText
from escalation.vocabulary import CustomerTier, Priority, RouteKey


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Customer(_Body):
    name: RequestText = Field(
        default="", max_length=200, description="company name (no personal data)"
    )
    tier: CustomerTier = CustomerTier.STANDARD
    email: RequestText | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="contact for proactive communication (stays in encrypted payloads only)",
    )


class EscalationCreate(_Body):
    ticket_id: RequestText = Field(pattern=TICKET_ID_PATTERN, examples=["ZD-4711"])
    priority: Priority
    route: RouteKey = RouteKey.TECHNICAL
    team: RequestText | None = Field(default=None, description="override the route's first team")
    subject: RequestText = Field(default="", max_length=300)
    reason: RequestText = Field(default="", max_length=2000, description="Need help because ...")
    customer: Customer = Customer()
    triggers: list[RequestText] = Field(default_factory=list, max_length=50)
    requested_by: RequestText = Field(default="api", max_length=200)
    suspected_bug: RequestBool = Field(default=False, description="file a bug in the tracker")
    legal_hold: RequestBool = Field(
        default=False, description="no outbound customer message while the hold stands"
    )
    requested_person: RequestText | None = Field(
        default=None, max_length=64, description="person id the customer asked for by name"
    )
    original_agent: RequestText | None = Field(
        default=None, max_length=200, description="the L1 agent handing over (gets the result)"
    )
    original_agent_email: RequestText | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    helpdesk: Literal["zendesk", "freshdesk", "intercom"] | None = None
    helpdesk_ticket_id: RequestText | None = Field(default=None, max_length=128)


class EscalationCreated(BaseModel):
    ticket_id: str
    workflow_id: str
    created: bool = Field(description="false when the ticket already had a running escalation")
    temporal_ui_url: str
    state: EscalationState | None = Field(
        default=None, description="present with `?wait=true` when a worker answered in time"
    )


class AcknowledgeBody(_Body):
    by: RequestText = Field(min_length=1, max_length=200)
    note: RequestText = Field(default="", max_length=2000)


class ResolveBody(_Body):
    by: RequestText = Field(min_length=1, max_length=200)
    resolution: RequestText = Field(default="", max_length=5000)
    kb_article_needed: RequestBool = Field(
        default=False, description="draft a KB article from this"
    )
    necessary: RequestBool | None = Field(default=None, description="was the escalation necessary?")
    preventable: GapCategory | None = Field(
        default=None, description="the gap that would have prevented it, if any"
    )


class ArbitrateBody(_Body):
    owner_team: RequestText = Field(min_length=1, max_length=64)
    by: RequestText = Field(min_length=1, max_length=200)
    reason: RequestText = Field(default="", max_length=2000)


class ConfirmBody(_Body):
    by: RequestText = Field(
        min_length=1, max_length=200, description="the agent who told the customer"
    )


class ReassignBody(_Body):
    to_team: RequestText = Field(min_length=1, max_length=64)
    by: RequestText = Field(min_length=1, max_length=200)
    reason: RequestText = Field(default="", max_length=2000)


class NoteBody(_Body):
    by: RequestText = Field(min_length=1, max_length=200)
    text: RequestText = Field(min_length=1, max_length=5000)


class Accepted(BaseModel):
    accepted: bool = True
    detail: str = ""


class EscalationSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    ticket_id: str
    status: str
    priority: str
    route: str
    team: str
    assignee: str | None
    bounces: int
    subject: str
    customer_name: str
    customer_tier: str
    started_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None


class EscalationList(BaseModel):
    total: int
    items: list[EscalationSummary]


class TimelineItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sequence: int
    kind: str
    at: datetime
    actor: str
    via: str
    step_index: int | None
    detail: dict[str, str]


class EscalationDetail(BaseModel):
    state: EscalationState
    temporal_ui_url: str
    timeline: list[TimelineItem]
