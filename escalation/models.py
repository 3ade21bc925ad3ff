"""Pydantic models at the workflow boundary: inputs, the frozen plan, signals and state.

Every workflow, signal, update and activity takes exactly one of these models, so fields can
be added without breaking callers or recorded histories (DESIGN.md section 7).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from escalation.closing import EscalationFactsInput
from escalation.policy import ActionKind, StopCondition, Target
from escalation.vocabulary import CustomerTier, Priority, RouteKey

TICKET_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EscalationStatus(StrEnum):
    """The `EscalationState` search attribute; the escalation's life cycle."""

    PAGING = "paging"  # cadence running, nobody has acknowledged
    ACKNOWLEDGED = "acknowledged"
    ARBITRATION = "arbitration"  # circuit breaker open: a manager must name the owner
    RESOLVED = "resolved"


class Channel(StrEnum):
    """How a responder acted on an escalation (recorded with every ack/resolve)."""

    API = "api"
    CLI = "cli"
    SLACK = "slack"
    PAGERDUTY = "pagerduty"
    TEMPORAL = "temporal"  # `temporal workflow signal`
    SYSTEM = "system"


API_KEY_NAME_DOC = "name of the API key that made the request (timeline attribution)"


class EscalationInput(_Model):
    """Start an escalation for one ticket. Ticket text stays out: a subject line is enough."""

    ticket_id: str = Field(pattern=TICKET_ID_PATTERN)
    priority: Priority
    route: RouteKey = RouteKey.TECHNICAL
    team: str | None = Field(default=None, description="override the route's first team")
    subject: str = Field(default="", max_length=300)
    reason: str = Field(default="", max_length=2000, description="Need help because ...")
    customer_name: str = Field(default="", max_length=200)
    customer_tier: CustomerTier = CustomerTier.STANDARD
    customer_email: str | None = None
    triggers: list[str] = Field(default_factory=list)
    requested_by: str = "api"
    api_key_name: str | None = Field(default=None, max_length=64, description=API_KEY_NAME_DOC)
    time_scale: float = Field(default=1.0, gt=0, description="0.01 runs timers 100x faster")
    delivery_budget_seconds: float = Field(
        default=600,
        gt=0,
        description="how long one notification is retried before its fallback channel is used",
    )
    suspected_bug: bool = Field(default=False, description="file a bug in the team's tracker")
    legal_hold: bool = Field(
        default=False, description="no outbound customer message leaves while the hold stands"
    )
    requested_person: str | None = Field(
        default=None, description="person id the customer asked for by name"
    )
    original_agent: str | None = Field(
        default=None, max_length=200, description="the L1 agent who hands over (person id)"
    )
    helpdesk: str | None = Field(default=None, description="zendesk | freshdesk | intercom")
    helpdesk_ticket_id: str | None = Field(
        default=None, max_length=128, description="the ticket's id in the help desk"
    )
    original_agent_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    kb_article_suggested: bool = False


class Recipient(_Model):
    """A person (or channel) an action addresses, resolved from the policy."""

    person_id: str | None = None
    name: str
    email: str | None = None
    slack_user_id: str | None = None
    phone: str | None = None


class PlannedAction(_Model):
    kind: ActionKind
    target: Target | None = None
    recipients: list[Recipient] = Field(default_factory=list)
    channel: str | None = None  # Slack channel for slack actions
    note: str = ""


class PlannedStep(_Model):
    index: int
    at_seconds: float
    stop_when: StopCondition | None = None
    label: str = ""
    actions: list[PlannedAction]


class EscalationPlan(_Model):
    """The snapshot an escalation walks: frozen at start, so policy edits never change an
    escalation in flight."""

    route: RouteKey
    chain: list[str]
    team: str
    team_name: str
    paging_provider: str
    pagerduty_routing_key: str | None = None
    primary_oncall: Recipient | None = None
    secondary_oncall: Recipient | None = None
    steps: list[PlannedStep]
    max_bounces: int = 2
    no_one_on_call: str = "skip"
    no_one_on_call_recheck_seconds: float = 300
    team_manager: Recipient | None = None
    support_manager: Recipient | None = None
    responder_ids: list[str] = Field(
        default_factory=list, description="people expected to act: team, on-call, managers"
    )


class PlanRequest(_Model):
    ticket_id: str
    priority: Priority
    route: RouteKey
    team: str | None = None
    customer_name: str = ""
    customer_email: str | None = None
    suspected_bug: bool = False


class StepRequest(_Model):
    """Resolve a step's on-call targets at the moment it runs (schedules change)."""

    ticket_id: str
    priority: Priority
    route: RouteKey
    team: str
    step: PlannedStep
    at: datetime


class ResolvedStep(_Model):
    step: PlannedStep
    primary_oncall: Recipient | None = None
    secondary_oncall: Recipient | None = None
    oncall_reason: str = ""
    unstaffed_targets: list[str] = Field(
        default_factory=list, description="on-call targets nobody covers right now"
    )
    team_manager: Recipient | None = None
    business_hours_open: bool = True
    next_business_start: datetime | None = None


class AvailabilityRequest(_Model):
    person_id: str
    at: datetime


class Availability(_Model):
    person_id: str
    available: bool
    back_at: datetime | None = None
    backup: Recipient | None = None
    person: Recipient | None = None


class AcknowledgeInput(_Model):
    by: str = Field(min_length=1, max_length=200)
    via: Channel = Channel.API
    note: str = Field(default="", max_length=2000)
    api_key_name: str | None = Field(default=None, max_length=64, description=API_KEY_NAME_DOC)


class ResolveInput(_Model):
    by: str = Field(min_length=1, max_length=200)
    via: Channel = Channel.API
    resolution: str = Field(default="", max_length=5000)
    api_key_name: str | None = Field(default=None, max_length=64, description=API_KEY_NAME_DOC)
    kb_article_needed: bool = False
    necessary: bool | None = Field(default=None, description="was the escalation necessary?")
    preventable: str | None = Field(
        default=None, max_length=500, description="training, tool or process gap, if any"
    )


class ArbitrateInput(_Model):
    """A manager names the owning team after the circuit breaker opened."""

    owner_team: str = Field(min_length=1, max_length=64)
    by: str = Field(min_length=1, max_length=200)
    via: Channel = Channel.API
    reason: str = Field(default="", max_length=2000)
    api_key_name: str | None = Field(default=None, max_length=64, description=API_KEY_NAME_DOC)


class AgentConfirmInput(_Model):
    """The original agent confirms the customer was told (then the survey goes out)."""

    by: str = Field(min_length=1, max_length=200)
    via: Channel = Channel.API


class ReassignInput(_Model):
    to_team: str = Field(min_length=1, max_length=64)
    by: str = Field(min_length=1, max_length=200)
    via: Channel = Channel.API
    reason: str = Field(default="", max_length=2000)
    api_key_name: str | None = Field(default=None, max_length=64, description=API_KEY_NAME_DOC)


class NoteInput(_Model):
    by: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=5000)
    via: Channel = Channel.API
    api_key_name: str | None = Field(default=None, max_length=64, description=API_KEY_NAME_DOC)


class TicketUpdatedInput(_Model):
    """The ticket changed in the help desk (status, priority, new comment)."""

    status: str | None = None
    priority: Priority | None = None
    comment_count: int | None = None
    solved: bool = False
    legal_hold: bool | None = Field(default=None, description="set or lift the legal hold")


# How soon each priority is acknowledged (the promise made to the customer, and the
# dashboard's targets).
ACK_TARGET_SECONDS: dict[Priority, float] = {
    Priority.P0: 5 * 60,
    Priority.P1: 15 * 60,
    Priority.P2: 30 * 60,
    Priority.P3: 24 * 3600,
}


class PageRef(_Model):
    provider: str  # pagerduty | opsgenie
    dedup_key: str
    routing_key: str | None = None


class MessageRef(_Model):
    channel: str
    ts: str


class StepRecord(_Model):
    index: int
    label: str
    due_at: datetime
    ran_at: datetime | None = None
    skipped: bool = False
    reason: str = ""


class ActionOutcome(StrEnum):
    DELIVERED = "delivered"
    OUTBOX = "outbox"  # no credentials: written to the outbox
    FALLBACK = "fallback"  # primary channel failed; the fallback channel delivered
    FAILED = "failed"  # every channel failed permanently; recorded, escalation goes on
    SKIPPED = "skipped"  # nobody to address, or refused (e.g. legal hold)


class DeliverRequest(_Model):
    """One action of one cadence step, with everything the activity needs to deliver it."""

    escalation_key: str
    workflow_id: str
    ticket_id: str
    priority: Priority
    route: RouteKey
    team: str
    team_name: str
    step_index: int
    action_index: int
    action: PlannedAction
    subject: str
    customer_name: str
    customer_tier: CustomerTier
    paging_provider: str
    pagerduty_routing_key: str | None = None
    responders: list[Recipient] = Field(default_factory=list)
    use_fallback: bool = False
    legal_hold: bool = False
    customer_message: str = ""
    helpdesk: str | None = None
    helpdesk_ticket_id: str | None = None
    # The timeline line reserved for this delivery (patch `deliveries-record-themselves`):
    # the activity writes it when the delivery is done (escalation/delivery_lines.py).
    timeline: TimelineEntry | None = None


class DeliveryResult(_Model):
    outcome: ActionOutcome
    channel: str
    detail: str = ""
    pages: list[PageRef] = Field(default_factory=list)
    messages: list[MessageRef] = Field(default_factory=list)
    new_owner: Recipient | None = None
    recorded: bool = False  # the activity wrote the request's timeline line

    def stored(self) -> dict[str, object]:
        """What a notification row keeps: the result, not how its line was written."""
        return self.model_dump(mode="json", exclude={"recorded"})


class SyncRequest(_Model):
    """Tell every channel the escalation changed state (ack stops paging everywhere)."""

    escalation_key: str
    ticket_id: str
    status: EscalationStatus
    actor: str
    via: Channel
    subject: str
    pages: list[PageRef]
    messages: list[MessageRef]
    timeline: TimelineEntry | None = None  # reserved `channels_synced` line, as above


class SyncResult(_Model):
    pages_updated: int
    messages_updated: int
    failures: list[str] = Field(default_factory=list)
    recorded: bool = False  # the activity wrote the request's timeline line


class TimelineEntry(_Model):
    """One line of an escalation's story, recorded in SQL by an activity."""

    escalation_key: str
    ticket_id: str
    event_key: str  # unique: makes recording idempotent under activity retries
    sequence: int  # order of events within the escalation; the row keeps the latest
    kind: str
    at: datetime
    actor: str = "system"
    via: Channel = Channel.SYSTEM
    step_index: int | None = None
    detail: dict[str, str] = Field(default_factory=dict)
    # Snapshot of the escalation row after this event
    status: EscalationStatus
    priority: Priority
    route: RouteKey
    team: str
    assignee: str | None = None
    bounces: int = 0
    subject: str = ""
    customer_name: str = ""
    customer_tier: CustomerTier = CustomerTier.STANDARD
    time_scale: float = 1.0
    started_at: datetime | None = None


# At most this many lines per batch: keeps one activity payload far below the 2 MB limit.
TIMELINE_BATCH_MAX = 50


class InternalNotification(_Model):
    """An in-app notification or queue entry: a notifications row in our own store, written
    in the same transaction as the `action_delivered` line that reports it
    (escalation/internal_records.py)."""

    idempotency_key: str
    escalation_key: str
    ticket_id: str
    step_index: int
    action: ActionKind
    channel: str
    target: str
    result: DeliveryResult


class TimelineBatch(_Model):
    """Timeline lines recorded together: what a workflow wrote while the previous batch was
    in flight (one activity instead of one per line), with the store-only notifications those
    lines report and, in the escalation's first batch, who escalated it and why (both absent
    in histories recorded before patch `internal-records-with-timeline`)."""

    entries: list[TimelineEntry] = Field(min_length=1, max_length=TIMELINE_BATCH_MAX)
    notifications: list[InternalNotification] = Field(
        default_factory=list, max_length=TIMELINE_BATCH_MAX
    )
    facts: EscalationFactsInput | None = None


class EscalationState(_Model):
    """What the `state` query answers: the live picture of one escalation."""

    ticket_id: str
    escalation_key: str
    status: EscalationStatus
    priority: Priority
    route: RouteKey
    team: str
    chain: list[str]
    assignee: str | None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_via: Channel | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution: str = ""
    started_at: datetime
    steps: list[StepRecord]
    next_step: str | None = None
    next_step_at: datetime | None = None
    bounces: int = 0
    notes: int = 0
    time_scale: float = 1.0
    legal_hold: bool = False
    owner_locked_by: str | None = None
    unstaffed_steps: list[int] = Field(default_factory=list)
