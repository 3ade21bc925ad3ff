"""When would a clock trigger next fire if nothing changes? The watch workflow sleeps until
then and evaluates again."""

from __future__ import annotations

from datetime import datetime, timedelta

from escalation.triggers.conditions import age_rule_applies
from escalation.triggers.event import SlaTargets, TicketStatus
from escalation.triggers.facts import Facts
from escalation.vocabulary import Priority


def next_check_at(f: Facts, priority: Priority) -> datetime | None:
    if f.event.resolved:
        return None
    created = f.event.created_at
    paused = timedelta(minutes=f.context.sla_paused_minutes)
    fraction = f.policy.sla_breach_imminent_fraction
    candidates: list[datetime] = []
    # A pending ticket's SLA clock stands still: no SLA deadline until it is open again (the
    # event that reopens it is evaluated, and tells the watch the moved deadline).
    sla = f.event.sla if f.event.status is not TicketStatus.PENDING else SlaTargets()
    if f.event.first_response_at is None and sla.first_response_minutes:
        candidates.append(
            created + paused + timedelta(minutes=sla.first_response_minutes * fraction)
        )
    if sla.resolution_minutes:
        candidates.append(created + paused + timedelta(minutes=sla.resolution_minutes * fraction))
    rule = f.policy.ticket_age.for_priority(priority)
    if age_rule_applies(f, rule.without):
        candidates.append(created + timedelta(minutes=rule.minutes))
    future = [c for c in candidates if c > f.now]
    return min(future) if future else None
