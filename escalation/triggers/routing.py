"""The escalation path: which route, who in order, and the route's flags."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from escalation.triggers.customer import wants_manager
from escalation.triggers.decision import RouteDecision, Trigger
from escalation.triggers.facts import Facts
from escalation.triggers.kinds import PhraseCategory, TriggerKind
from escalation.vocabulary import RouteKey

K = TriggerKind

CHAINS: Mapping[RouteKey, tuple[str, ...]] = MappingProxyType(
    {
        RouteKey.TECHNICAL: ("L2 Technical Specialist", "Engineering"),
        RouteKey.BILLING: ("Billing Specialist", "Finance Manager"),
        RouteKey.SECURITY: ("Security Team",),
        RouteKey.VIP: ("Dedicated Senior Agent", "Support Manager", "Customer Success Manager"),
        RouteKey.LEGAL: ("Legal Team",),
        RouteKey.PRODUCT: ("Product Manager",),
        RouteKey.OUTAGE: ("On-call Engineering", "Incident Commander"),
        RouteKey.MANAGER_REQUEST: ("Support Manager",),
        RouteKey.ACCOUNT: ("Customer Success Manager",),
    }
)
"""Default role chain per route; the organisation policy names the real teams."""

ACCOUNT_ONLY_KINDS = frozenset({K.HEALTH_DROP, K.REVENUE_IMPACT})


def _in_areas(f: Facts, areas: list[str]) -> bool:
    labels = {f.event.product_area, *f.event.tags} - {None}
    return bool(labels & set(areas))


def is_billing(f: Facts) -> bool:
    return f.event.billing_amount is not None or _in_areas(f, f.policy.billing_areas)


def decide_route(f: Facts, triggers: list[Trigger]) -> RouteDecision:
    active = {t.kind: t for t in triggers if t.active}
    legal_hold = K.LEGAL_KEYWORDS in active
    file_bug = K.SUSPECTED_BUG in active
    route, reason, finance = _choose(f, active)
    chain = list(CHAINS[route])
    if route is RouteKey.TECHNICAL and not file_bug:
        chain.remove("Engineering")
    if route is RouteKey.BILLING and not finance:
        chain.remove("Finance Manager")
    if legal_hold and route is not RouteKey.LEGAL:
        chain.append("Legal Team")
    return RouteDecision(
        route=route,
        reason=reason,
        chain=chain,
        file_bug=file_bug,
        finance_manager=finance,
        bypass_queue=route is RouteKey.SECURITY,
        legal_hold=legal_hold,
        paging=route is not RouteKey.PRODUCT,
    )


def _choose(f: Facts, active: dict[TriggerKind, Trigger]) -> tuple[RouteKey, str, bool]:
    """First matching rule wins; the order is the order of urgency and specificity."""
    p = f.policy
    if K.SECURITY_KEYWORDS in active:
        return RouteKey.SECURITY, "security incident: Security Team at once, no queue", False
    if _in_areas(f, p.security_areas):
        return RouteKey.SECURITY, "account security: Security Team at once, no queue", False
    if K.LEGAL_KEYWORDS in active:
        return RouteKey.LEGAL, "legal threat: Legal Team at once, customer replies on hold", False
    if K.MASS_PATTERN in active:
        return RouteKey.OUTAGE, "burst of similar tickets: on-call engineering", False
    if K.CRITICAL_ISSUE in active:
        return RouteKey.OUTAGE, f"{active[K.CRITICAL_ISSUE].summary}: on-call engineering", False
    if K.VIP_CRITICAL in active:
        return RouteKey.VIP, active[K.VIP_CRITICAL].summary, False
    if K.EXPLICIT_REQUEST in active and wants_manager(f):
        return RouteKey.MANAGER_REQUEST, "customer demands a manager", False
    if is_billing(f):
        amount = f.event.billing_amount
        limit = p.billing_finance_manager_above
        if amount is not None and amount > limit:
            return (
                RouteKey.BILLING,
                f"billing ${amount:,.2f} above ${limit:,.2f}: Finance Manager approves",
                True,
            )
        return RouteKey.BILLING, "billing issue: Billing Specialist", False
    if K.SUSPECTED_BUG in active:
        return RouteKey.TECHNICAL, "suspected product bug: L2, then Engineering", False
    if (
        _in_areas(f, p.account_areas)
        or f.scan.has(PhraseCategory.ACCOUNT)
        or (active and set(active) <= ACCOUNT_ONLY_KINDS)
    ):
        return RouteKey.ACCOUNT, "account or contract matter: CSM", False
    if _in_areas(f, p.feedback_areas) or f.scan.has(PhraseCategory.FEEDBACK):
        return RouteKey.PRODUCT, "product feedback: backlog, no paging", False
    return RouteKey.TECHNICAL, "technical issue: L2 Technical Specialist", False
