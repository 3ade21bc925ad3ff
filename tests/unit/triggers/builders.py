"""Builders for trigger tests: a quiet ticket that fires nothing, changed one field at a time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from escalation.triggers import (
    TicketContext,
    TicketEvent,
    TriggerDecision,
    TriggerPolicy,
    evaluate,
)
from escalation.triggers.context import RelatedTicket
from escalation.triggers.sentiment import SentimentScorer

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

QUIET: dict[str, Any] = {
    "ticket_id": "T-100",
    "subject": "Exporting invoices",
    "description": "How do I export my invoices to CSV?",
    "created_at": NOW - timedelta(minutes=10),
    "product_area": "reports",
    "customer": {"customer_id": "C-1", "name": "Acme", "tier": "standard"},
}


def _merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def make_event(**changes: Any) -> TicketEvent:
    return TicketEvent.model_validate(_merge(QUIET, changes))


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def comment(body: str, role: str = "customer", minutes_ago: float = 1) -> dict[str, Any]:
    return {"author_role": role, "body": body, "created_at": ago(minutes=minutes_ago)}


def related(
    ticket_id: str,
    *,
    customer_id: str = "C-1",
    minutes_ago: float = 30,
    text: str = "Exporting invoices: how do I export my invoices to CSV?",
    product_area: str | None = "reports",
    similarity: float | None = None,
) -> RelatedTicket:
    return RelatedTicket(
        ticket_id=ticket_id,
        customer_id=customer_id,
        created_at=ago(minutes=minutes_ago),
        text=text,
        product_area=product_area,
        similarity=similarity,
    )


@dataclass
class FixedScorer:
    """Scores by exact text, `default` otherwise; counts calls."""

    default: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)
    calls: int = 0

    def score(self, text: str) -> float:
        self.calls += 1
        return self.scores.get(text, self.default)


DEFAULT_POLICY = TriggerPolicy()


def run(
    event: TicketEvent,
    context: TicketContext | None = None,
    *,
    policy: TriggerPolicy = DEFAULT_POLICY,
    scorer: SentimentScorer | None = None,
    now: datetime = NOW,
) -> TriggerDecision:
    return evaluate(event, context or TicketContext(), now, policy, scorer or FixedScorer())
