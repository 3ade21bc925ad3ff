"""Sentiment of the customer's words: the ticket system's score when it sends one, otherwise
vaderSentiment's compound score (-1..1).

Build the analyzer once (it reads its lexicon from disk) and pass it to `evaluate`; workflows
never build it (the watch workflow evaluates through an activity or with the scores known).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from escalation.triggers.event import TextSource, TicketEvent

MAX_SCORED_CHARS = 5_000
"""VADER's compound score saturates long before this; longer text only costs time."""


class SentimentScorer(Protocol):
    def score(self, text: str) -> float:
        """Sentiment of `text` in [-1, 1]; 0 for empty or neutral text."""
        ...


class VaderScorer:
    """vaderSentiment's compound score. Build once per process and share it."""

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
            SentimentIntensityAnalyzer,
        )

        self._analyzer = SentimentIntensityAnalyzer()

    def score(self, text: str) -> float:
        text = text.strip()
        if not text:
            return 0.0
        compound = self._analyzer.polarity_scores(text[:MAX_SCORED_CHARS])["compound"]
        return max(-1.0, min(1.0, float(compound)))


class SentimentSource(StrEnum):
    TICKET_SYSTEM = "ticket_system"
    COMPUTED = "computed"
    NONE = "none"  # no customer text at all


@dataclass(frozen=True, slots=True)
class SentimentReading:
    score: float
    source: SentimentSource
    where: str  # which message was scored


def latest_sentiment(
    event: TicketEvent, messages: Sequence[TextSource], scorer: SentimentScorer
) -> SentimentReading:
    """Sentiment of the latest customer message."""
    if event.sentiment_score is not None:
        return SentimentReading(event.sentiment_score, SentimentSource.TICKET_SYSTEM, "event")
    if not messages:
        return SentimentReading(0.0, SentimentSource.NONE, "")
    last = messages[-1]
    return SentimentReading(scorer.score(last.text), SentimentSource.COMPUTED, last.where)


def message_scores(
    prior: Sequence[float], messages: Sequence[TextSource], scorer: SentimentScorer
) -> list[float]:
    """Scores of every customer message, oldest first (earlier ones the store kept first)."""
    return [*prior, *(scorer.score(m.text) for m in messages)]
