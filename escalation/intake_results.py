"""What intake answers for one ticket event (`POST /v1/tickets/events`, the help-desk webhooks,
the TicketWatch clock activity). Pure pydantic models: the intake service
(activities/intake_service.py) builds them and stores them as the event's response, the API
serves them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from escalation.ticket_clock import Deadline
from escalation.triggers import DecisionAction, TriggerDecision, TriggerKind
from escalation.vocabulary import Priority


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EscalationRef(_Out):
    """The escalation this event started or updated."""

    kind: Literal["ticket", "outage_incident"] = Field(
        description="ticket: the ticket's own escalation; outage_incident: the one escalation "
        "of a burst of similar tickets, which this ticket is linked to."
    )
    ticket_id: str = Field(description="The escalated ticket id (the incident's for incidents).")
    workflow_id: str
    started: bool = Field(description="A new escalation was started.")
    updated: bool = Field(description="A running escalation was told about this event.")
    incident_key: str | None = None
    linked_tickets: list[str] = Field(
        default_factory=list, description="Tickets linked to the outage incident."
    )
    temporal_ui_url: str | None = None


class WatchRef(_Out):
    """The ticket's clock (TicketWatch workflow `ticket-<id>`)."""

    workflow_id: str
    watching: bool = Field(description="False once the ticket is solved.")
    next_deadline: Deadline | None = Field(
        default=None, description="The next age/SLA deadline the watch sleeps until."
    )


class Suggestion(_Out):
    """Suggest-mode triggers only: the agent decides whether to escalate."""

    reason: str
    guidance: list[str]
    triggers: list[TriggerKind]


class CrmEnrichment(_Out):
    """What the CRM lookup added to the event's customer, or why it added nothing. Present only
    when a CRM is configured; a missing or failed lookup is recorded here, never an error."""

    crm: str | None = Field(
        default=None, description="hubspot or salesforce: the CRM that answered last."
    )
    account_id: str = Field(description="The account id asked for (the event's customer_id).")
    lookup_key: Literal["id", "domain"] = Field(
        default="id",
        description="id: looked up by customer_id as the CRM's own id; domain: customer_id is "
        "the help desk's (zd-org-…), so by the requester's email domain.",
    )
    domain: str | None = Field(
        default=None, description="The email domain looked up (lookup_key domain)."
    )
    crm_account_id: str | None = Field(
        default=None, description="The CRM's id of the account found."
    )
    status: Literal["found", "not_found", "unavailable", "refused", "not_configured"] = Field(
        description="found; not_found (no such account); unavailable (timeout, 429, 5xx); "
        "refused (401/403/400: a configuration problem)."
    )
    cached: bool = Field(default=False, description="Answered from the lookup cache.")
    filled: list[str] = Field(
        default_factory=list, description="Customer fields taken from the CRM (tier, arr, ...)."
    )
    missing: list[str] = Field(
        default_factory=list,
        description="Fields neither the ticket system nor the CRM gave (tier, arr, "
        "health_score, csm).",
    )
    csm: str | None = Field(default=None, description="The account's customer success manager.")
    reason: str | None = Field(default=None, description="Why the lookup gave nothing.")


class TicketEventResult(_Out):
    event_key: str = Field(description="The idempotency key the event was stored under.")
    source: str = Field(description="api, zendesk, freshdesk, intercom or clock.")
    duplicate: bool = Field(
        default=False, description="This event was processed before: the stored answer."
    )
    ticket_id: str
    action: DecisionAction
    priority: Priority
    legal_hold: bool = Field(
        description="Legal threat: no outbound customer message may leave while the hold stands."
    )
    reason: str = Field(description='"Need help because ..." or why nothing is escalated.')
    decision: TriggerDecision = Field(
        description="Every trigger found with its evidence, priority with its reasons, route."
    )
    suggestion: Suggestion | None = None
    escalation: EscalationRef | None = None
    watch: WatchRef | None = None
    package_url: str | None = Field(
        default=None, description="Where the escalation package of the ticket is served."
    )
    crm: CrmEnrichment | None = Field(
        default=None, description="The CRM lookup (only when a CRM is configured)."
    )
