"""Escalation triggers: intake schema, trigger policy and the pure evaluation.

    decision = evaluate(event, context, now, policy, scorer)

`event` is what the ticket system sent (TicketEvent), `context` what the store knows about the
ticket's history (TicketContext), `policy` the `triggers:` section of the organisation policy
(TriggerPolicy), `scorer` a SentimentScorer (VaderScorer, built once per process).
"""

from escalation.triggers.context import RelatedTicket, TicketContext
from escalation.triggers.decision import (
    AppliedRule,
    DecisionAction,
    Evidence,
    GuardRule,
    OutageIncident,
    PriorityDowngrade,
    PriorityReason,
    RouteDecision,
    Trigger,
    TriggerDecision,
)
from escalation.triggers.evaluate import evaluate
from escalation.triggers.event import (
    AgentInfo,
    AuthorRole,
    Channel,
    Comment,
    CustomerInfo,
    EventType,
    SelfService,
    SlaTargets,
    TicketEvent,
    TicketStatus,
)
from escalation.triggers.kinds import PhraseCategory, TriggerFamily, TriggerKind, TriggerMode
from escalation.triggers.policy import TriggerPolicy, TriggerRule
from escalation.triggers.sentiment import SentimentScorer, VaderScorer
from escalation.triggers.similarity import normalise_for_similarity

__all__ = [
    "AgentInfo",
    "AppliedRule",
    "AuthorRole",
    "Channel",
    "Comment",
    "CustomerInfo",
    "DecisionAction",
    "EventType",
    "Evidence",
    "GuardRule",
    "OutageIncident",
    "PhraseCategory",
    "PriorityDowngrade",
    "PriorityReason",
    "RelatedTicket",
    "RouteDecision",
    "SelfService",
    "SentimentScorer",
    "SlaTargets",
    "TicketContext",
    "TicketEvent",
    "TicketStatus",
    "Trigger",
    "TriggerDecision",
    "TriggerFamily",
    "TriggerKind",
    "TriggerMode",
    "TriggerPolicy",
    "TriggerRule",
    "VaderScorer",
    "evaluate",
    "normalise_for_similarity",
]
