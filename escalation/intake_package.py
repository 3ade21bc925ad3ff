"""The escalation package: the context every escalation carries (the issue's list), pure.

Built by intake (or the clock check) when an escalation starts or is updated, stored as JSON
(`escalation_packages`) and served at `GET /v1/escalations/{ticket_id}/package`:
full ticket history (every event processed, the whole conversation), the agent's notes and the
steps already tried, customer sentiment (latest and trend) and communication preferences,
account details and health, time spent by each handler, the reason ("Need help because ..."),
the triggers with their evidence, and a suggested approach drawn from similar resolved
escalations (found with SQL by the store and passed in).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from escalation.triggers import (
    AuthorRole,
    OutageIncident,
    PriorityReason,
    RouteDecision,
    TicketEvent,
    Trigger,
    TriggerDecision,
)
from escalation.triggers.sentiment import SentimentScorer
from escalation.vocabulary import CustomerTier, Priority

MAX_MESSAGE_CHARS = 4_000
MAX_HISTORY = 100
MAX_MESSAGES = 200


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PackageTicket(_Out):
    ticket_id: str
    subject: str
    description: str
    channel: str
    product_area: str | None
    status: str
    tags: list[str]
    requester_priority: Priority | None
    created_at: datetime
    first_response_at: datetime | None


class PackageMessage(_Out):
    at: datetime
    author_role: AuthorRole
    author_id: str | None = None
    public: bool = True
    body: str
    sentiment: float | None = Field(default=None, description="Customer messages only.")


class PackageHistoryEntry(_Out):
    at: datetime
    source: str = Field(description="api, zendesk, freshdesk, intercom or clock.")
    event_type: str
    status: str
    assignee: str | None
    action: str | None = Field(description="What intake decided on this event.")
    priority: str | None


class PackageSentiment(_Out):
    latest: float
    source: str
    trend: list[float] = Field(description="The customer's messages, oldest first.")
    direction: str = Field(description="worsening, improving, steady or unknown.")


class PackageCommunication(_Out):
    channel: str = Field(description="Where the ticket came in.")
    preferred_channel: str = Field(description="Where the customer last wrote from.")
    legal_hold: bool = Field(description="No outbound customer message while the hold stands.")
    note: str


class PackageAccount(_Out):
    customer_id: str
    name: str
    tier: CustomerTier
    vip: bool
    arr: Decimal | None
    health_score: float | None
    health_score_30d_ago: float | None
    health_drop: float | None
    revenue_at_risk: Decimal | None
    billing_amount: Decimal | None
    tickets_last_48h: int


class PackageHandler(_Out):
    agent_id: str
    since: datetime
    until: datetime
    minutes_assigned: float
    minutes_investigated: float = Field(description="As the agent reported it.")


class PackageSimilar(_Out):
    ticket_id: str
    subject: str
    similarity: float
    resolution: str
    resolved_by: str | None
    resolved_at: datetime | None


class PackageSuggestion(_Out):
    approach: str
    similar: list[PackageSimilar]


class EscalationContextPackage(_Out):
    ticket_id: str
    escalation_workflow_id: str
    built_at: datetime
    reason: str = Field(description='"Need help because ..."')
    priority: Priority
    priority_reasons: list[PriorityReason]
    route: RouteDecision
    legal_hold: bool
    triggers: list[Trigger] = Field(description="Active triggers with their evidence.")
    ticket: PackageTicket
    conversation: list[PackageMessage]
    agent_notes: list[PackageMessage]
    steps_tried: list[str]
    history: list[PackageHistoryEntry]
    sentiment: PackageSentiment
    communication: PackageCommunication
    account: PackageAccount
    time_per_handler: list[PackageHandler]
    suggested_resolution: PackageSuggestion
    outage_incident: OutageIncident | None = None


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One processed event of the ticket, as the store keeps it."""

    at: datetime
    source: str
    event: TicketEvent
    action: str | None
    priority: str | None


_STEP = re.compile(
    r"^\s*(?:[-*\u2022]\s+|\d+[.)]\s+|(?:tried|checked|verified|restarted|reset|cleared|"
    r"reinstalled|asked|confirmed|reproduced|escalated|rolled back|updated|tested)\b)",
    re.IGNORECASE,
)


def steps_tried(event: TicketEvent) -> list[str]:
    """What was already done: self-service, the agent's investigation, and the step-like
    lines of the agent's internal notes ("tried ...", "- cleared cache")."""
    steps: list[str] = []
    tried = event.self_service
    if tried.chatbot_used:
        steps.append("customer went through the chatbot")
    if tried.kb_articles_viewed:
        steps.append(f"customer viewed {tried.kb_articles_viewed} knowledge-base article(s)")
    if event.agent.minutes_investigated:
        steps.append(f"agent investigated {event.agent.minutes_investigated:g} min")
    replies = [c for c in event.comments if c.author_role is AuthorRole.AGENT and c.public]
    if replies:
        steps.append(f"agent replied to the customer {len(replies)} time(s)")
    for note in event.comments:
        if note.author_role is not AuthorRole.AGENT or note.public:
            continue
        for line in note.body.splitlines():
            if _STEP.match(line):
                steps.append(line.strip(" -*\u2022")[:300])
    return steps


def handler_times(history: Sequence[HistoryItem], now: datetime) -> list[PackageHandler]:
    """Who held the ticket when, from the assignee each event reported."""
    spans: list[PackageHandler] = []
    current: str | None = None
    since = now
    invested = 0.0
    for item in sorted(history, key=lambda h: h.at):
        agent = item.event.agent.agent_id
        if agent != current:
            if current is not None:
                spans.append(_span(current, since, item.at, invested))
            current, since, invested = agent, item.at, 0.0
        invested = max(invested, item.event.agent.minutes_investigated)
    if current is not None:
        spans.append(_span(current, since, max(now, since), invested))
    return spans


def _span(agent: str, since: datetime, until: datetime, invested: float) -> PackageHandler:
    return PackageHandler(
        agent_id=agent,
        since=since,
        until=until,
        minutes_assigned=round((until - since) / timedelta(minutes=1), 1),
        minutes_investigated=invested,
    )


def _direction(trend: Sequence[float]) -> str:
    if len(trend) < 2:
        return "unknown"
    delta = trend[-1] - trend[0]
    if delta <= -0.2:
        return "worsening"
    if delta >= 0.2:
        return "improving"
    return "steady"


def suggestion(similar: Sequence[PackageSimilar]) -> PackageSuggestion:
    useful = [s for s in similar if s.resolution.strip()]
    if not useful:
        approach = (
            "No similar resolved escalation found: start from the triggers' evidence and the "
            "steps already tried."
        )
    else:
        best = useful[0]
        approach = (
            f"Similar ticket {best.ticket_id} ({best.similarity:.0%} alike) was resolved"
            + (f" by {best.resolved_by}" if best.resolved_by else "")
            + f": {best.resolution.strip()[:500]}"
        )
    return PackageSuggestion(approach=approach, similar=list(similar))


def build_package(
    *,
    event: TicketEvent,
    decision: TriggerDecision,
    escalation_workflow_id: str,
    history: Sequence[HistoryItem],
    similar: Sequence[PackageSimilar],
    scorer: SentimentScorer,
    tickets_last_48h: int,
    now: datetime,
) -> EscalationContextPackage:
    conversation: list[PackageMessage] = []
    opening = "\n".join(t for t in (event.subject, event.description) if t)
    trend: list[float] = []
    if opening:
        score = round(scorer.score(opening), 4)
        trend.append(score)
        conversation.append(
            PackageMessage(
                at=event.created_at,
                author_role=AuthorRole.CUSTOMER,
                body=opening[:MAX_MESSAGE_CHARS],
                sentiment=score,
            )
        )
    notes: list[PackageMessage] = []
    for comment in sorted(event.comments, key=lambda c: c.created_at):
        said: float | None = None
        if comment.author_role is AuthorRole.CUSTOMER:
            said = round(scorer.score(comment.body), 4)
            trend.append(said)
        message = PackageMessage(
            at=comment.created_at,
            author_role=comment.author_role,
            author_id=comment.author_id,
            public=comment.public,
            body=comment.body[:MAX_MESSAGE_CHARS],
            sentiment=said,
        )
        conversation.append(message)
        if comment.author_role is AuthorRole.AGENT and not comment.public:
            notes.append(message)
    customer_channels = [
        h.event.channel for h in history if h.event.comments or h.event.description
    ]
    preferred = customer_channels[-1] if customer_channels else event.channel
    c = event.customer
    drop = (
        round(c.health_score_30d_ago - c.health_score, 2)
        if c.health_score is not None and c.health_score_30d_ago is not None
        else None
    )
    comm_note = (
        "Legal hold: send the customer nothing until Legal releases the hold."
        if decision.legal_hold
        else f"Answer on {preferred.value}, where the customer last wrote."
    )
    return EscalationContextPackage(
        ticket_id=event.ticket_id,
        escalation_workflow_id=escalation_workflow_id,
        built_at=now,
        reason=decision.reason,
        priority=decision.priority,
        priority_reasons=decision.priority_reasons,
        route=decision.route,
        legal_hold=decision.legal_hold,
        triggers=decision.active_triggers,
        ticket=PackageTicket(
            ticket_id=event.ticket_id,
            subject=event.subject,
            description=event.description[:MAX_MESSAGE_CHARS],
            channel=event.channel.value,
            product_area=event.product_area,
            status=event.status.value,
            tags=list(event.tags),
            requester_priority=event.requester_priority,
            created_at=event.created_at,
            first_response_at=event.first_response_at,
        ),
        conversation=conversation[-MAX_MESSAGES:],
        agent_notes=notes[-MAX_MESSAGES:],
        steps_tried=steps_tried(event),
        history=[
            PackageHistoryEntry(
                at=h.at,
                source=h.source,
                event_type=h.event.event_type.value,
                status=h.event.status.value,
                assignee=h.event.agent.agent_id,
                action=h.action,
                priority=h.priority,
            )
            for h in list(history)[-MAX_HISTORY:]
        ],
        sentiment=PackageSentiment(
            latest=decision.sentiment.score,
            source=decision.sentiment.source,
            trend=trend,
            direction=_direction(trend),
        ),
        communication=PackageCommunication(
            channel=event.channel.value,
            preferred_channel=preferred.value,
            legal_hold=decision.legal_hold,
            note=comm_note,
        ),
        account=PackageAccount(
            customer_id=c.customer_id,
            name=c.name,
            tier=c.tier,
            vip=c.vip,
            arr=c.arr,
            health_score=c.health_score,
            health_score_30d_ago=c.health_score_30d_ago,
            health_drop=drop,
            revenue_at_risk=event.revenue_at_risk,
            billing_amount=event.billing_amount,
            tickets_last_48h=tickets_last_48h,
        ),
        time_per_handler=handler_times(history, now),
        suggested_resolution=suggestion(similar),
        outage_incident=decision.outage_incident,
    )
