"""Priority P0..P3 from the requester's priority and the triggers, with the reasons kept."""

from __future__ import annotations

from collections.abc import Iterable

from escalation.triggers.decision import (
    PriorityDecision,
    PriorityDowngrade,
    PriorityReason,
    Trigger,
)
from escalation.triggers.event import TicketEvent
from escalation.triggers.kinds import TriggerKind
from escalation.triggers.policy import TriggerPolicy
from escalation.vocabulary import Priority

ORDER: tuple[Priority, ...] = (Priority.P0, Priority.P1, Priority.P2, Priority.P3)
"""Most urgent first."""

CRITICAL_SIGNALS = frozenset(
    {TriggerKind.CRITICAL_ISSUE, TriggerKind.SECURITY_KEYWORDS, TriggerKind.MASS_PATTERN}
)
"""Outage, security or data-loss signals: the only grounds for P0."""


def rank(priority: Priority) -> int:
    return ORDER.index(priority)


def most_urgent(priorities: Iterable[Priority]) -> Priority:
    return min(priorities, key=rank)


def raise_by(priority: Priority, levels: int) -> Priority:
    return ORDER[max(0, rank(priority) - levels)]


def has_critical_signal(triggers: Iterable[Trigger]) -> bool:
    return any(t.active and t.kind in CRITICAL_SIGNALS for t in triggers)


def decide_priority(
    event: TicketEvent, triggers: Iterable[Trigger], policy: TriggerPolicy
) -> PriorityDecision:
    active = [t for t in triggers if t.active]
    reasons: list[PriorityReason] = []
    downgrade: PriorityDowngrade | None = None
    requested = event.requester_priority
    if requested is None:
        base = policy.default_priority
        reasons.append(PriorityReason(priority=base, source="default", detail="policy default"))
    elif requested is Priority.P0 and not has_critical_signal(active):
        base = policy.requester_p0_downgrade_to
        why = "requester set P0 but no outage, security or data-loss signal was found"
        downgrade = PriorityDowngrade(from_priority=Priority.P0, to_priority=base, reason=why)
        reasons.append(
            PriorityReason(priority=base, source="requester", detail=f"{why}; {base} instead")
        )
    else:
        base = requested
        reasons.append(
            PriorityReason(priority=base, source="requester", detail=f"requester set {base}")
        )

    priority = base
    for t in active:
        if t.priority_floor is not None:
            reasons.append(
                PriorityReason(priority=t.priority_floor, source=t.kind.value, detail=t.summary)
            )
            priority = most_urgent((priority, t.priority_floor))

    bump = policy.sla_breach_priority_bump
    sla = next((t for t in active if t.kind is TriggerKind.SLA_BREACH_IMMINENT), None)
    if sla is not None and bump:
        raised = raise_by(priority, bump)
        if raised is Priority.P0 and not has_critical_signal(active):
            raised = most_urgent((priority, Priority.P1))  # P0 needs a critical signal
        reasons.append(
            PriorityReason(
                priority=raised,
                source=sla.kind.value,
                detail=f"{sla.summary}: raised {bump} level(s) from {priority}",
            )
        )
        priority = raised

    reasons.sort(key=lambda r: rank(r.priority))  # the deciding reasons first
    return PriorityDecision(priority=priority, reasons=reasons, downgrade=downgrade)
