"""Customer-initiated triggers: explicit request, complaint language, repeated contacts, VIP."""

from __future__ import annotations

from datetime import timedelta

from escalation.triggers.decision import Evidence, Trigger
from escalation.triggers.facts import Facts, phrase_evidence
from escalation.triggers.kinds import PhraseCategory, TriggerKind
from escalation.triggers.similarity import densest_window, similar_tickets
from escalation.vocabulary import Priority


def explicit_request(f: Facts) -> Trigger | None:
    manager = f.scan.get(PhraseCategory.MANAGER_REQUEST)
    escalation = f.scan.get(PhraseCategory.ESCALATION_REQUEST)
    evidence = phrase_evidence(manager + escalation)
    if f.event.requested_person:
        evidence.append(
            Evidence(
                source="requested_person",
                detail=f"customer asked for {f.event.requested_person!r}",
                matched_text=f.event.requested_person,
            )
        )
    if not evidence:
        return None
    wants_manager = bool(manager) or f.event.requested_person is not None
    summary = (
        "the customer asked for a manager" if wants_manager else "the customer asked to escalate"
    )
    return f.trigger(TriggerKind.EXPLICIT_REQUEST, summary, evidence)


def wants_manager(f: Facts) -> bool:
    return f.scan.has(PhraseCategory.MANAGER_REQUEST) or f.event.requested_person is not None


def complaint_language(f: Facts) -> Trigger | None:
    matches = f.scan.get(PhraseCategory.COMPLAINT)
    if not matches:
        return None
    return f.trigger(
        TriggerKind.COMPLAINT_LANGUAGE, "the customer complains", phrase_evidence(matches)
    )


def repeated_contacts(f: Facts) -> Trigger | None:
    p = f.policy
    candidates = [
        t
        for t in f.context.customer_recent_tickets
        if t.ticket_id != f.event.ticket_id and t.customer_id == f.event.customer.customer_id
    ]
    similar = similar_tickets(
        f.normalised_text, candidates, p.similarity_threshold, f.event.product_area
    )
    window = timedelta(hours=p.repeat_window_hours)
    ids = [t.ticket_id for t in densest_window(f.event.created_at, similar, window)]
    count = len(ids) + 1
    if count < p.repeat_min_tickets:
        return None
    return f.trigger(
        TriggerKind.REPEATED_CONTACTS,
        f"{count} tickets on the same issue within {p.repeat_window_hours:g} h",
        [
            Evidence(
                source="context.customer_recent_tickets",
                detail=f"{count} similar tickets from this customer within "
                f"{p.repeat_window_hours:g} h (threshold {p.repeat_min_tickets})",
                observed=count,
                threshold=p.repeat_min_tickets,
                ticket_ids=ids,
            )
        ],
    )


CRITICAL_REQUESTER_PRIORITIES = (Priority.P0, Priority.P1)


def vip_critical(f: Facts, critical_signals: bool) -> Trigger | None:
    """An enterprise/strategic (or flagged VIP) account with a critical issue."""
    customer = f.event.customer
    if not (customer.vip or customer.tier in f.policy.vip_tiers):
        return None
    why: list[str] = []
    if f.event.requester_priority in CRITICAL_REQUESTER_PRIORITIES:
        why.append(f"requester priority {f.event.requester_priority}")
    tags = sorted(set(f.event.tags) & set(f.policy.critical_tags))
    if tags:
        why.append(f"tagged {', '.join(tags)}")
    if critical_signals:
        why.append("outage, security or data-loss signal")
    if not why:
        return None
    vip = "VIP" if customer.vip else f"{customer.tier}-tier"
    article = "an" if vip[0] in "aeiou" else "a"
    return f.trigger(
        TriggerKind.VIP_CRITICAL,
        f"{article} {vip} account has a critical issue",
        [Evidence(source="customer", detail=f"{vip} account; critical: {'; '.join(why)}")],
    )
