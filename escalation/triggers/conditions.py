"""Condition-based triggers: ticket age per priority, failed self-service, health score drop."""

from __future__ import annotations

from escalation.triggers.decision import Evidence, Trigger
from escalation.triggers.facts import Facts
from escalation.triggers.kinds import TriggerKind
from escalation.triggers.policy import AgeMeasure
from escalation.vocabulary import Priority


def age_rule_applies(f: Facts, without: AgeMeasure) -> bool:
    if f.event.resolved:
        return False
    return without is AgeMeasure.RESOLUTION or f.event.first_response_at is None


def ticket_age(f: Facts, priority: Priority) -> Trigger | None:
    """P0 30 min and P1 2 h without response, P2 8 h and P3 24 h without resolution."""
    rule = f.policy.ticket_age.for_priority(priority)
    if not age_rule_applies(f, rule.without):
        return None
    age = f.minutes_since_created
    if age < rule.minutes:
        return None
    without = "first response" if rule.without is AgeMeasure.FIRST_RESPONSE else "resolution"
    return f.trigger(
        TriggerKind.TICKET_AGE,
        f"{priority} ticket {_duration(age)} old without {without}",
        [
            Evidence(
                source="created_at",
                detail=f"{priority} ticket {age:.0f} min old without {without} "
                f"(threshold {rule.minutes:g} min)",
                observed=round(age, 2),
                threshold=rule.minutes,
            )
        ],
    )


def _duration(minutes: float) -> str:
    return f"{minutes / 60:.1f} h" if minutes >= 120 else f"{minutes:.0f} min"


def failed_self_service(f: Facts) -> Trigger | None:
    tried = f.event.self_service
    need = f.policy.self_service_min_kb_articles
    if f.event.resolved or not tried.chatbot_used or tried.kb_articles_viewed < need:
        return None
    return f.trigger(
        TriggerKind.FAILED_SELF_SERVICE,
        "self-service failed (chatbot and knowledge base)",
        [
            Evidence(
                source="self_service",
                detail=f"self-service failed: chatbot used and {tried.kb_articles_viewed} KB "
                "articles viewed, still unresolved",
                observed=tried.kb_articles_viewed,
                threshold=need,
            )
        ],
    )


def health_drop(f: Facts) -> Trigger | None:
    now, before = f.event.customer.health_score, f.event.customer.health_score_30d_ago
    if now is None or before is None:
        return None
    drop = before - now
    limit = f.policy.health_drop_points
    if drop < limit:
        return None
    return f.trigger(
        TriggerKind.HEALTH_DROP,
        f"customer health fell {drop:g} points in 30 days",
        [
            Evidence(
                source="customer.health_score",
                detail=f"customer health {before:g} -> {now:g} in 30 days, a drop of {drop:g} "
                f"(threshold {limit:g})",
                observed=drop,
                threshold=limit,
            )
        ],
    )
