"""Evaluate one ticket event: triggers, playbook rules, priority, route, action and reason.

Pure and deterministic: time comes in as `now`, history as `TicketContext`, sentiment through
the scorer passed in. The intake API and the watch workflow (on the clock) both call this.
"""

from __future__ import annotations

from datetime import datetime

from escalation.triggers import clock, conditions, guards, matrix
from escalation.triggers.context import TicketContext
from escalation.triggers.decision import (
    AppliedRule,
    DecisionAction,
    GuardRule,
    IgnoredPhraseOut,
    OutageIncident,
    PriorityDecision,
    RouteDecision,
    SentimentOut,
    Trigger,
    TriggerDecision,
)
from escalation.triggers.event import TicketEvent
from escalation.triggers.facts import Facts, build_facts
from escalation.triggers.kinds import TriggerKind, TriggerMode
from escalation.triggers.policy import TriggerPolicy
from escalation.triggers.priority import decide_priority, rank
from escalation.triggers.routing import decide_route
from escalation.triggers.sentiment import SentimentScorer
from escalation.triggers.system import outage_incident

MAX_REASONS = 3


def evaluate(
    event: TicketEvent,
    context: TicketContext,
    now: datetime,
    policy: TriggerPolicy,
    sentiment: SentimentScorer,
) -> TriggerDecision:
    f = build_facts(event, context, now, policy, sentiment)
    triggers, mass = matrix.detect_signals(f)

    # Ticket age is measured against the ticket's own priority (before the SLA bump).
    guarded, _ = guards.billing_within_refund_limit(f, triggers)
    own = decide_priority(
        event, [t for t in guarded if t.kind is not TriggerKind.SLA_BREACH_IMMINENT], policy
    )
    age = conditions.ticket_age(f, own.priority)
    if age is not None:
        triggers = matrix.in_matrix_order([*triggers, age])

    rules: list[AppliedRule] = []
    triggers, billing_rule = guards.billing_within_refund_limit(f, triggers)
    if billing_rule is not None:
        rules.append(billing_rule)
    empathy = guards.empathy_first(f, triggers)
    if empathy is not None:
        rules.append(empathy)

    priority = decide_priority(event, triggers, policy)
    if priority.downgrade is not None:
        rules.append(
            AppliedRule(rule=GuardRule.REQUESTER_P0_DOWNGRADED, detail=priority.downgrade.reason)
        )
    route = decide_route(f, triggers)
    active = {t.kind: t for t in triggers if t.active}

    incident: OutageIncident | None = None
    if mass is not None and TriggerKind.MASS_PATTERN in active:
        incident = outage_incident(f, mass)
        rules.append(
            AppliedRule(
                rule=GuardRule.OUTAGE_INCIDENT,
                detail=f"{len(incident.ticket_ids)} similar tickets linked in one outage "
                "incident instead of separate escalations",
            )
        )
    if route.legal_hold:
        rules.append(
            AppliedRule(
                rule=GuardRule.LEGAL_HOLD,
                detail="legal threat: hold every outbound customer message until Legal releases",
            )
        )

    action = _action(active, empathy is not None)
    return TriggerDecision(
        ticket_id=event.ticket_id,
        evaluated_at=now,
        action=action,
        triggers=triggers,
        priority=priority.priority,
        priority_reasons=priority.reasons,
        priority_downgrade=priority.downgrade,
        route=route,
        legal_hold=route.legal_hold,
        outage_incident=incident,
        rules_applied=rules,
        sentiment=SentimentOut(
            score=round(f.sentiment.score, 4),
            source=f.sentiment.source.value,
            where=f.sentiment.where,
        ),
        reason=_reason(action, list(active.values()), priority, route, rules),
        guidance=_guidance(f, action, priority, route, incident, rules),
        ignored_phrases=[
            IgnoredPhraseOut(
                category=i.category,
                where=i.where,
                matched_text=i.matched,
                pattern=i.pattern,
                reason=i.reason,
            )
            for i in f.scan.ignored
        ],
        next_check_at=clock.next_check_at(f, own.priority),
    )


def _action(active: dict[TriggerKind, Trigger], empathy_first: bool) -> DecisionAction:
    if not active:
        return DecisionAction.NONE
    if empathy_first:
        return DecisionAction.SUGGEST
    mass = active.get(TriggerKind.MASS_PATTERN)
    if mass is not None and mass.mode is TriggerMode.AUTO:
        return DecisionAction.OUTAGE_INCIDENT
    if any(t.mode is TriggerMode.AUTO for t in active.values()):
        return DecisionAction.ESCALATE
    return DecisionAction.SUGGEST


def _because(t: Trigger) -> str:
    first = t.evidence[0] if t.evidence else None
    if first is None:
        return t.summary
    if first.matched_text is not None:
        return f"{t.summary} ({first.detail})"
    if first.observed is not None:
        return first.detail
    return t.summary


def _reason(
    action: DecisionAction,
    active: list[Trigger],
    priority: PriorityDecision,
    route: RouteDecision,
    rules: list[AppliedRule],
) -> str:
    if action is DecisionAction.NONE:
        held = [r.detail for r in rules if r.rule is GuardRule.BILLING_WITHIN_REFUND_LIMIT]
        return "No escalation: " + (held[0] if held else "no trigger found") + "."

    def order(t: Trigger) -> tuple[int, int, int]:
        floor = rank(t.priority_floor) if t.priority_floor is not None else 4
        return (t.mode is not TriggerMode.AUTO, floor, matrix.MATRIX_ORDER.index(t.kind))

    ranked = sorted(active, key=order)
    because = "; ".join(_because(t) for t in ranked[:MAX_REASONS])
    more = len(ranked) - MAX_REASONS
    if more > 0:
        because += f"; and {more} more trigger{'s' if more > 1 else ''}"
    return (
        f"Need help because {because}. "
        f"{priority.priority} to {' -> '.join(route.chain)} ({route.route.value})."
    )


def _guidance(
    f: Facts,
    action: DecisionAction,
    priority: PriorityDecision,
    route: RouteDecision,
    incident: OutageIncident | None,
    rules: list[AppliedRule],
) -> list[str]:
    out: list[str] = []
    applied = {r.rule for r in rules}
    if GuardRule.LEGAL_HOLD in applied:
        out.append("Legal hold: send the customer nothing until Legal releases the hold.")
    if GuardRule.EMPATHY_FIRST in applied:
        out.append(
            "Acknowledge the frustration and answer with empathy first; escalate only if a "
            "real blocker remains."
        )
    if GuardRule.BILLING_WITHIN_REFUND_LIMIT in applied:
        out.append("The amount is within your refund limit: resolve it directly.")
    if priority.downgrade is not None:
        out.append(
            f"Handled as {priority.downgrade.to_priority}, not P0: "
            "no outage, security or data-loss signal."
        )
    if incident is not None:
        out.append(
            f"Part of outage incident {incident.existing_incident_id or incident.incident_key}: "
            "answer with the incident status, do not escalate this ticket separately."
        )
    if route.file_bug:
        out.append("File the bug with the context package (steps tried, logs, versions).")
    if route.bypass_queue:
        out.append("Security: the Security Team takes it now, bypassing the queue.")
    if not route.paging and action is not DecisionAction.NONE:
        out.append("Product feedback: logged to the backlog, nobody is paged.")
    if action is DecisionAction.SUGGEST and GuardRule.EMPATHY_FIRST not in applied:
        out.append("Escalation suggested: confirm or dismiss it.")
    return out
