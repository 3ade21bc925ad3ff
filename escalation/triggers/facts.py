"""The inputs of one evaluation, prepared once and shared by every detector."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from escalation.triggers.context import TicketContext
from escalation.triggers.decision import Evidence, Trigger
from escalation.triggers.event import TextSource, TicketEvent
from escalation.triggers.kinds import TriggerKind
from escalation.triggers.phrases import PhraseMatch, PhraseScan, scan_text
from escalation.triggers.policy import TriggerPolicy
from escalation.triggers.sentiment import SentimentReading, SentimentScorer, latest_sentiment
from escalation.triggers.similarity import normalise_for_similarity, ticket_text
from escalation.triggers.text import TokenizedText


@dataclass(frozen=True, slots=True)
class Facts:
    event: TicketEvent
    context: TicketContext
    now: datetime
    policy: TriggerPolicy
    scorer: SentimentScorer
    messages: tuple[TextSource, ...]  # the customer's messages, oldest first
    scan: PhraseScan
    sentiment: SentimentReading
    normalised_text: str  # for similarity with other tickets

    @property
    def minutes_since_created(self) -> float:
        return (self.now - self.event.created_at).total_seconds() / 60.0

    def trigger(self, kind: TriggerKind, summary: str, evidence: list[Evidence]) -> Trigger | None:
        """A trigger as the policy configures it, or None when the policy disables it."""
        rule = self.policy.rule(kind)
        if not rule.enabled:
            return None
        return Trigger(
            kind=kind,
            family=kind.family,
            mode=rule.mode,
            priority_floor=rule.priority,
            summary=summary,
            evidence=evidence,
        )


def build_facts(
    event: TicketEvent,
    context: TicketContext,
    now: datetime,
    policy: TriggerPolicy,
    scorer: SentimentScorer,
) -> Facts:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    scan = PhraseScan()
    matcher = policy.phrases.matcher
    for source in event.customer_texts():
        scan_text(source.where, TokenizedText.of(source.text), matcher, scan)
    messages = tuple(event.customer_messages())
    return Facts(
        event=event,
        context=context,
        now=now,
        policy=policy,
        scorer=scorer,
        messages=messages,
        scan=scan,
        sentiment=latest_sentiment(event, messages, scorer),
        normalised_text=normalise_for_similarity(ticket_text(event.subject, event.description)),
    )


def phrase_evidence(matches: list[PhraseMatch], limit: int = 5) -> list[Evidence]:
    return [
        Evidence(
            source=m.where,
            detail=f'"{m.matched}" in {m.where}',
            matched_text=m.matched,
            pattern=m.pattern,
        )
        for m in matches[:limit]
    ]
