"""Trigger policy: every threshold, phrase list and per-trigger mode, with the defaults from the
issue and DESIGN.md section 1.

It is embedded in the organisation policy YAML under `triggers:` and loads from a plain dict.
Nested sections merge over their defaults, so an organisation writes only what it changes:

    triggers:
      sla_breach_imminent_fraction: 0.9
      rules:
        negative_sentiment: {mode: auto}          # priority keeps its default (P3)
      phrases:
        complaint: {phrases: ["not impressed"]}   # exclusions keep their defaults
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from escalation.triggers.kinds import PhraseCategory, TriggerKind, TriggerMode
from escalation.triggers.phrasebook import (
    DEFAULT_NEGATORS,
    DEFAULT_PHRASES,
    DEFAULT_SCOPE_BREAKERS,
)
from escalation.triggers.phrases import (
    PhraseMatcher,
    PhraseSet,
    PhraseSyntaxError,
    compile_phrase,
)
from escalation.vocabulary import CustomerTier, Priority

Threshold = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


class _PolicyModel(BaseModel):
    """Frozen, strict about unknown keys, and merging partial nested sections over defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _merge_nested_defaults(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        merged = dict(data)
        for name, info in cls.model_fields.items():
            value = merged.get(name)
            default = info.get_default(call_default_factory=True)
            if isinstance(value, Mapping) and isinstance(default, BaseModel):
                merged[name] = {**default.model_dump(), **value}
        return merged


class TriggerRule(_PolicyModel):
    """How one trigger acts."""

    enabled: bool = True
    mode: TriggerMode = TriggerMode.SUGGEST
    priority: Priority | None = Field(
        default=None,
        description="Lowest priority an escalation from this trigger gets; none: the ticket's own.",
    )


def _rule(mode: TriggerMode, priority: Priority | None = None) -> TriggerRule:
    return TriggerRule(mode=mode, priority=priority)


_AUTO, _SUGGEST = TriggerMode.AUTO, TriggerMode.SUGGEST
_P0, _P1, _P2, _P3 = Priority.P0, Priority.P1, Priority.P2, Priority.P3


class TriggerRules(_PolicyModel):
    """One rule per trigger of the matrix (field names are the TriggerKind values)."""

    explicit_request: TriggerRule = _rule(_AUTO, _P2)
    complaint_language: TriggerRule = _rule(_SUGGEST, _P3)
    repeated_contacts: TriggerRule = _rule(_AUTO, _P2)
    vip_critical: TriggerRule = _rule(_AUTO, _P1)
    agent_marked: TriggerRule = _rule(_AUTO)
    investigation_timeout: TriggerRule = _rule(_SUGGEST)
    suspected_bug: TriggerRule = _rule(_AUTO, _P2)
    sentiment_trend: TriggerRule = _rule(_SUGGEST, _P3)
    sla_breach_imminent: TriggerRule = _rule(_AUTO)
    critical_issue: TriggerRule = _rule(_AUTO, _P0)
    negative_sentiment: TriggerRule = _rule(_SUGGEST, _P3)
    security_keywords: TriggerRule = _rule(_AUTO, _P0)
    legal_keywords: TriggerRule = _rule(_AUTO, _P1)
    revenue_impact: TriggerRule = _rule(_AUTO, _P1)
    mass_pattern: TriggerRule = _rule(_AUTO, _P0)
    ticket_age: TriggerRule = _rule(_AUTO)
    failed_self_service: TriggerRule = _rule(_SUGGEST, _P3)
    health_drop: TriggerRule = _rule(_SUGGEST, _P2)

    def for_kind(self, kind: TriggerKind) -> TriggerRule:
        rule: TriggerRule = getattr(self, kind.value)
        return rule


class PhraseList(_PolicyModel):
    phrases: list[str] = Field(default_factory=list, max_length=500)
    exclusions: list[str] = Field(default_factory=list, max_length=500)

    @field_validator("phrases", "exclusions")
    @classmethod
    def _valid_grammar(cls, phrases: list[str]) -> list[str]:
        for i, phrase in enumerate(phrases):
            try:
                compile_phrase(phrase)
            except PhraseSyntaxError as exc:
                raise ValueError(f"item {i}: {exc}") from exc
        return phrases


def _phrases(category: PhraseCategory) -> PhraseList:
    phrases, exclusions = DEFAULT_PHRASES[category]
    return PhraseList(phrases=list(phrases), exclusions=list(exclusions))


class PhraseBook(_PolicyModel):
    """Phrase lists per category (grammar in escalation/triggers/phrases.py) and negation."""

    manager_request: PhraseList = _phrases(PhraseCategory.MANAGER_REQUEST)
    escalation_request: PhraseList = _phrases(PhraseCategory.ESCALATION_REQUEST)
    complaint: PhraseList = _phrases(PhraseCategory.COMPLAINT)
    legal: PhraseList = _phrases(PhraseCategory.LEGAL)
    security: PhraseList = _phrases(PhraseCategory.SECURITY)
    outage: PhraseList = _phrases(PhraseCategory.OUTAGE)
    data_loss: PhraseList = _phrases(PhraseCategory.DATA_LOSS)
    account: PhraseList = _phrases(PhraseCategory.ACCOUNT)
    feedback: PhraseList = _phrases(PhraseCategory.FEEDBACK)
    negators: list[str] = Field(default_factory=lambda: list(DEFAULT_NEGATORS))
    scope_breakers: list[str] = Field(default_factory=lambda: list(DEFAULT_SCOPE_BREAKERS))
    negation_window: int = Field(default=3, ge=0, le=10, description="Words looked back.")
    gap_words: int = Field(default=4, ge=0, le=10, description="Longest '...' gap, in words.")

    @model_validator(mode="after")
    def _phrases_compile(self) -> PhraseBook:
        self.matcher  # noqa: B018 - compile once, so a bad phrase fails at load time
        return self

    @cached_property
    def matcher(self) -> PhraseMatcher:
        """Compiled once per policy object. Derive changed policies with `model_validate`
        (which compiles again), not `model_copy(update=...)` (which would keep this cache)."""
        sets: dict[PhraseCategory, PhraseSet] = {}
        for category in PhraseCategory:
            plist: PhraseList = getattr(self, category.value)
            try:
                sets[category] = PhraseSet.of(plist.phrases, plist.exclusions, self.gap_words)
            except PhraseSyntaxError as exc:
                raise ValueError(f"phrases.{category.value}: {exc}") from exc
        return PhraseMatcher(
            sets=sets,
            negators=frozenset(w.casefold() for w in self.negators),
            scope_breakers=frozenset(w.casefold() for w in self.scope_breakers),
            negation_window=self.negation_window,
        )


class AgeMeasure(StrEnum):
    FIRST_RESPONSE = "first_response"  # fires while the ticket has no first response
    RESOLUTION = "resolution"  # fires while the ticket is unresolved


class AgeRule(_PolicyModel):
    minutes: float = Field(gt=0, le=525_600)
    without: AgeMeasure


class AgeThresholds(_PolicyModel):
    """Ticket age per priority: P0 30 min and P1 2 h without response, P2 8 h and P3 24 h
    without resolution."""

    P0: AgeRule = AgeRule(minutes=30, without=AgeMeasure.FIRST_RESPONSE)
    P1: AgeRule = AgeRule(minutes=120, without=AgeMeasure.FIRST_RESPONSE)
    P2: AgeRule = AgeRule(minutes=480, without=AgeMeasure.RESOLUTION)
    P3: AgeRule = AgeRule(minutes=1440, without=AgeMeasure.RESOLUTION)

    def for_priority(self, priority: Priority) -> AgeRule:
        rule: AgeRule = getattr(self, priority.value)
        return rule


def _lower(values: list[str]) -> list[str]:
    return [v.strip().casefold() for v in values if v.strip()]


class TriggerPolicy(_PolicyModel):
    """All trigger thresholds. Comparisons: "above"/"below" are strict, counts and "drop of N+"
    and "N minutes" are inclusive (>=)."""

    # system-automatic
    sla_breach_imminent_fraction: float = Field(
        default=0.95, gt=0, le=1, description="Fraction of an SLA target elapsed that fires."
    )
    sla_breach_priority_bump: int = Field(
        default=1, ge=0, le=3, description="Levels an imminent SLA breach raises the priority."
    )
    negative_sentiment_below: float = Field(default=-0.7, ge=-1, le=1)
    revenue_impact_above: Threshold = Decimal(10_000)
    mass_pattern_min_tickets: int = Field(default=5, ge=2, description="Including this ticket.")
    mass_pattern_window_minutes: float = Field(default=60, gt=0)
    mass_pattern_min_customers: int = Field(default=2, ge=1)
    # customer-initiated
    repeat_min_tickets: int = Field(default=3, ge=2, description="Including this ticket.")
    repeat_window_hours: float = Field(default=48, gt=0)
    vip_tiers: list[CustomerTier] = Field(
        default_factory=lambda: [CustomerTier.ENTERPRISE, CustomerTier.STRATEGIC]
    )
    critical_tags: list[str] = Field(
        default_factory=lambda: ["critical", "urgent", "production_down", "sev1", "p0", "p1"],
        description="Tags that make a VIP's ticket a critical issue.",
    )
    similarity_threshold: float = Field(
        default=0.72, gt=0, le=1, description="Similarity (0..1) at which two tickets match."
    )
    # agent-initiated
    investigation_minutes: float = Field(default=30, gt=0)
    sentiment_trend_min_messages: int = Field(default=3, ge=2)
    sentiment_trend_min_drop: float = Field(default=0.5, gt=0, le=2)
    sentiment_trend_negative_below: float = Field(default=-0.05, ge=-1, le=1)
    # condition-based
    ticket_age: AgeThresholds = AgeThresholds()
    self_service_min_kb_articles: int = Field(default=1, ge=0)
    health_drop_points: float = Field(default=20, gt=0, le=100)
    # priority and routing
    requester_p0_downgrade_to: Priority = Priority.P1
    default_priority: Priority = Priority.P3
    billing_finance_manager_above: Threshold = Decimal(1_000)
    default_agent_refund_limit: Threshold | None = None
    empathy_first: bool = Field(
        default=True, description="Anger alone (complaint, negative sentiment) only suggests."
    )
    billing_guard_keeps: list[TriggerKind] = Field(
        default_factory=lambda: [
            TriggerKind.CRITICAL_ISSUE,
            TriggerKind.SECURITY_KEYWORDS,
            TriggerKind.LEGAL_KEYWORDS,
            TriggerKind.MASS_PATTERN,
            TriggerKind.REVENUE_IMPACT,
        ],
        description="Triggers that still act on a billing ticket within the agent's refund "
        "limit; every other trigger is held back (the agent can resolve it).",
    )
    billing_areas: list[str] = Field(
        default_factory=lambda: ["billing", "payments", "invoices", "refunds", "subscription"]
    )
    security_areas: list[str] = Field(
        default_factory=lambda: ["security", "account_security", "access", "authentication"]
    )
    account_areas: list[str] = Field(
        default_factory=lambda: ["account", "contract", "renewal", "licensing", "sales"]
    )
    feedback_areas: list[str] = Field(
        default_factory=lambda: ["feedback", "feature_request", "product_feedback", "ideas"]
    )
    rules: TriggerRules = TriggerRules()
    phrases: PhraseBook = PhraseBook()

    @field_validator(
        "critical_tags", "billing_areas", "security_areas", "account_areas", "feedback_areas"
    )
    @classmethod
    def _casefold(cls, values: list[str]) -> list[str]:
        return _lower(values)

    def rule(self, kind: TriggerKind) -> TriggerRule:
        return self.rules.for_kind(kind)
