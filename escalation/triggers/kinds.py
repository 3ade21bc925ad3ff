"""Names of the triggers in the matrix, their families and how each one acts."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class TriggerFamily(StrEnum):
    """The four rows of the trigger matrix."""

    CUSTOMER = "customer"  # customer-initiated
    AGENT = "agent"  # agent-initiated
    SYSTEM = "system"  # system-automatic
    CONDITION = "condition"  # condition-based (clock and account state)


class TriggerKind(StrEnum):
    """Every trigger of the matrix. The values are also the keys under `triggers.rules`."""

    # customer-initiated
    EXPLICIT_REQUEST = "explicit_request"
    COMPLAINT_LANGUAGE = "complaint_language"
    REPEATED_CONTACTS = "repeated_contacts"
    VIP_CRITICAL = "vip_critical"
    # agent-initiated
    AGENT_MARKED = "agent_marked"
    INVESTIGATION_TIMEOUT = "investigation_timeout"
    SUSPECTED_BUG = "suspected_bug"
    SENTIMENT_TREND = "sentiment_trend"
    # system-automatic
    SLA_BREACH_IMMINENT = "sla_breach_imminent"
    CRITICAL_ISSUE = "critical_issue"  # P0/P1 created: outage or data loss
    NEGATIVE_SENTIMENT = "negative_sentiment"
    SECURITY_KEYWORDS = "security_keywords"
    LEGAL_KEYWORDS = "legal_keywords"
    REVENUE_IMPACT = "revenue_impact"
    MASS_PATTERN = "mass_pattern"
    # condition-based
    TICKET_AGE = "ticket_age"
    FAILED_SELF_SERVICE = "failed_self_service"
    HEALTH_DROP = "health_drop"

    @property
    def family(self) -> TriggerFamily:
        return FAMILY[self]


FAMILY: Mapping[TriggerKind, TriggerFamily] = MappingProxyType(
    {
        TriggerKind.EXPLICIT_REQUEST: TriggerFamily.CUSTOMER,
        TriggerKind.COMPLAINT_LANGUAGE: TriggerFamily.CUSTOMER,
        TriggerKind.REPEATED_CONTACTS: TriggerFamily.CUSTOMER,
        TriggerKind.VIP_CRITICAL: TriggerFamily.CUSTOMER,
        TriggerKind.AGENT_MARKED: TriggerFamily.AGENT,
        TriggerKind.INVESTIGATION_TIMEOUT: TriggerFamily.AGENT,
        TriggerKind.SUSPECTED_BUG: TriggerFamily.AGENT,
        TriggerKind.SENTIMENT_TREND: TriggerFamily.AGENT,
        TriggerKind.SLA_BREACH_IMMINENT: TriggerFamily.SYSTEM,
        TriggerKind.CRITICAL_ISSUE: TriggerFamily.SYSTEM,
        TriggerKind.NEGATIVE_SENTIMENT: TriggerFamily.SYSTEM,
        TriggerKind.SECURITY_KEYWORDS: TriggerFamily.SYSTEM,
        TriggerKind.LEGAL_KEYWORDS: TriggerFamily.SYSTEM,
        TriggerKind.REVENUE_IMPACT: TriggerFamily.SYSTEM,
        TriggerKind.MASS_PATTERN: TriggerFamily.SYSTEM,
        TriggerKind.TICKET_AGE: TriggerFamily.CONDITION,
        TriggerKind.FAILED_SELF_SERVICE: TriggerFamily.CONDITION,
        TriggerKind.HEALTH_DROP: TriggerFamily.CONDITION,
    }
)


class TriggerMode(StrEnum):
    """How a trigger acts when it fires."""

    AUTO = "auto"  # escalate at once
    SUGGEST = "suggest"  # suggest the escalation to the agent, who decides


class PhraseCategory(StrEnum):
    """Groups of phrases searched in the customer's words."""

    MANAGER_REQUEST = "manager_request"
    ESCALATION_REQUEST = "escalation_request"
    COMPLAINT = "complaint"
    LEGAL = "legal"
    SECURITY = "security"
    OUTAGE = "outage"
    DATA_LOSS = "data_loss"
    ACCOUNT = "account"
    FEEDBACK = "feedback"
