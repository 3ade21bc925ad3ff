"""The trigger matrix: run every detector, in the matrix's order."""

from __future__ import annotations

from escalation.triggers import agent, conditions, customer, system
from escalation.triggers.decision import Trigger
from escalation.triggers.facts import Facts
from escalation.triggers.kinds import TriggerKind
from escalation.triggers.priority import CRITICAL_SIGNALS
from escalation.triggers.system import MassPattern, find_mass_pattern

MATRIX_ORDER: tuple[TriggerKind, ...] = tuple(TriggerKind)


def in_matrix_order(triggers: list[Trigger]) -> list[Trigger]:
    return sorted(triggers, key=lambda t: MATRIX_ORDER.index(t.kind))


def detect_signals(f: Facts) -> tuple[list[Trigger], MassPattern | None]:
    """Every trigger except ticket age (which needs the priority these decide)."""
    mass = find_mass_pattern(f)
    found = [
        customer.explicit_request(f),
        customer.complaint_language(f),
        customer.repeated_contacts(f),
        agent.agent_marked(f),
        agent.investigation_timeout(f),
        agent.suspected_bug(f),
        agent.sentiment_trend(f),
        system.sla_breach_imminent(f),
        system.critical_issue(f),
        system.negative_sentiment(f),
        system.security_keywords(f),
        system.legal_keywords(f),
        system.revenue_impact(f),
        system.mass_pattern(f, mass),
        conditions.failed_self_service(f),
        conditions.health_drop(f),
    ]
    triggers = [t for t in found if t is not None]
    critical = any(t.kind in CRITICAL_SIGNALS for t in triggers)
    vip = customer.vip_critical(f, critical)
    if vip is not None:
        triggers.append(vip)
    return in_matrix_order(triggers), mass
