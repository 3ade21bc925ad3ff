"""The playbook's "WHAT NOT TO DO": anger alone gets empathy first, billing within the agent's
refund limit does not escalate. (A requester's P0 without outage, security or data-loss signals
is downgraded in priority.py.)"""

from __future__ import annotations

from decimal import Decimal

from escalation.triggers.decision import AppliedRule, GuardRule, Trigger
from escalation.triggers.facts import Facts
from escalation.triggers.kinds import TriggerKind
from escalation.triggers.routing import is_billing

EMOTIONAL_KINDS = frozenset({TriggerKind.COMPLAINT_LANGUAGE, TriggerKind.NEGATIVE_SENTIMENT})


def refund_limit(f: Facts) -> Decimal | None:
    limit = f.event.agent.refund_limit
    return limit if limit is not None else f.policy.default_agent_refund_limit


def billing_within_refund_limit(
    f: Facts, triggers: list[Trigger]
) -> tuple[list[Trigger], AppliedRule | None]:
    """Hold back every trigger but the serious ones when the agent can refund the amount."""
    amount, limit = f.event.billing_amount, refund_limit(f)
    if amount is None or limit is None or amount > limit or not is_billing(f):
        return triggers, None
    keeps = set(f.policy.billing_guard_keeps)
    held = GuardRule.BILLING_WITHIN_REFUND_LIMIT
    out = [
        t.model_copy(update={"suppressed_by": held}) if t.active and t.kind not in keeps else t
        for t in triggers
    ]
    if not any(t.suppressed_by is held for t in out):
        return out, None
    detail = (
        f"billing amount ${amount:,.2f} is within the agent's refund limit ${limit:,.2f}: "
        "the agent resolves it, no escalation"
    )
    return out, AppliedRule(rule=held, detail=detail)


def empathy_first(f: Facts, triggers: list[Trigger]) -> AppliedRule | None:
    """Anger alone (complaint language, negative sentiment) is answered with empathy first:
    the escalation is only suggested, whatever the triggers' modes."""
    active = [t for t in triggers if t.active]
    if not f.policy.empathy_first or not active:
        return None
    if any(t.kind not in EMOTIONAL_KINDS for t in active):
        return None
    return AppliedRule(
        rule=GuardRule.EMPATHY_FIRST,
        detail="anger alone: respond with empathy first; escalation only suggested",
    )
