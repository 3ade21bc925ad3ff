"""What the evaluation returns: the triggers with their evidence, priority, route and action.

These models are the body of the intake response, so they are documented like the request.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, computed_field

from escalation.triggers.kinds import PhraseCategory, TriggerFamily, TriggerKind, TriggerMode
from escalation.vocabulary import Priority, RouteKey


class _Out(BaseModel):
    # extra="ignore": a client parsing a response (which carries the computed `escalate`)
    # with these same models must not fail.
    model_config = ConfigDict(frozen=True, extra="ignore")


class Evidence(_Out):
    """Why a trigger fired: the words matched, or the number compared with its threshold."""

    source: str = Field(description='Where: "comments[2]", "sla.resolution", "customer", ...')
    detail: str = Field(description="Human-readable statement of the evidence.")
    matched_text: str | None = Field(default=None, description="The customer's own words.")
    pattern: str | None = Field(default=None, description="The policy phrase that matched.")
    observed: float | None = Field(default=None, description="The measured value.")
    threshold: float | None = Field(default=None, description="The policy threshold.")
    ticket_ids: list[str] = Field(default_factory=list, description="Related tickets.")


class GuardRule(StrEnum):
    """The playbook's "WHAT NOT TO DO" rules and the decisions they force."""

    EMPATHY_FIRST = "empathy_first"  # anger alone: empathy first, suggest only
    BILLING_WITHIN_REFUND_LIMIT = "billing_within_refund_limit"  # the agent can resolve it
    REQUESTER_P0_DOWNGRADED = "requester_p0_downgraded"  # P0 needs outage/security/data loss
    OUTAGE_INCIDENT = "outage_incident"  # one incident links the tickets, no separate ones
    LEGAL_HOLD = "legal_hold"  # no outbound customer message while the hold stands


class Trigger(_Out):
    kind: TriggerKind
    family: TriggerFamily
    mode: TriggerMode
    priority_floor: Priority | None = Field(
        description="Lowest priority this trigger gives the escalation (none: the ticket's)."
    )
    summary: str = Field(description="One line, e.g. 'customer asked for a manager'.")
    evidence: list[Evidence]
    suppressed_by: GuardRule | None = Field(
        default=None, description="Set when a playbook rule keeps this trigger from acting."
    )

    @property
    def active(self) -> bool:
        return self.suppressed_by is None


class AppliedRule(_Out):
    rule: GuardRule
    detail: str


class PriorityReason(_Out):
    priority: Priority
    source: str = Field(description="A trigger kind, 'requester' or 'default'.")
    detail: str


class PriorityDowngrade(_Out):
    from_priority: Priority
    to_priority: Priority
    reason: str


class PriorityDecision(_Out):
    priority: Priority
    reasons: list[PriorityReason]
    downgrade: PriorityDowngrade | None = None


class RouteDecision(_Out):
    route: RouteKey
    reason: str
    chain: list[str] = Field(description="Who, in order (role names).")
    file_bug: bool = Field(default=False, description="File the bug in the tracker.")
    finance_manager: bool = Field(default=False, description="Billing above the threshold.")
    bypass_queue: bool = Field(default=False, description="Straight to the team, no queue.")
    legal_hold: bool = Field(default=False, description="Hold outbound customer messages.")
    paging: bool = Field(default=True, description="False: backlog item only, nobody paged.")


class OutageIncident(_Out):
    """One outage incident for a burst of similar tickets across customers."""

    incident_key: str = Field(description="Stable key: the same burst gives the same key.")
    existing_incident_id: str | None = Field(description="Open incident to link to, if any.")
    product_area: str | None
    ticket_ids: list[str] = Field(description="This ticket and the similar ones, oldest first.")
    customers: int
    window_minutes: float


class DecisionAction(StrEnum):
    ESCALATE = "escalate"  # an auto trigger acts: start or update the escalation now
    OUTAGE_INCIDENT = "outage_incident"  # open (or join) the outage incident instead
    SUGGEST = "suggest"  # only suggest-mode triggers: the agent decides
    NONE = "none"


class SentimentOut(_Out):
    score: float
    source: str = Field(description="ticket_system, computed or none.")
    where: str


class IgnoredPhraseOut(_Out):
    """A phrase that looked like a trigger but was negated or a product question."""

    category: PhraseCategory
    where: str
    matched_text: str
    pattern: str
    reason: str


class TriggerDecision(_Out):
    ticket_id: str
    evaluated_at: datetime
    action: DecisionAction
    triggers: list[Trigger] = Field(description="Every trigger found, suppressed ones too.")
    priority: Priority
    priority_reasons: list[PriorityReason]
    priority_downgrade: PriorityDowngrade | None = None
    route: RouteDecision
    legal_hold: bool = False
    outage_incident: OutageIncident | None = None
    rules_applied: list[AppliedRule] = Field(default_factory=list)
    sentiment: SentimentOut
    reason: str = Field(description='"Need help because ..." or why nothing is escalated.')
    guidance: list[str] = Field(default_factory=list, description="Advice for the agent.")
    ignored_phrases: list[IgnoredPhraseOut] = Field(default_factory=list)
    next_check_at: datetime | None = Field(
        default=None, description="When a clock trigger would next fire if nothing changes."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def escalate(self) -> bool:
        """True when something must happen now without waiting for the agent."""
        return self.action in (DecisionAction.ESCALATE, DecisionAction.OUTAGE_INCIDENT)

    @property
    def active_triggers(self) -> list[Trigger]:
        return [t for t in self.triggers if t.active]

    def kinds(self, *, active_only: bool = True) -> set[TriggerKind]:
        return {t.kind for t in self.triggers if t.active or not active_only}

    def trigger(self, kind: TriggerKind) -> Trigger | None:
        return next((t for t in self.triggers if t.kind is kind), None)
