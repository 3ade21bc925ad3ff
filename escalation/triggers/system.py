"""System-automatic triggers: SLA breach imminent, critical issue (outage, data loss), negative
sentiment, security and legal keywords, revenue impact, mass pattern."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from escalation.triggers.decision import Evidence, OutageIncident, Trigger
from escalation.triggers.facts import Facts, phrase_evidence
from escalation.triggers.kinds import PhraseCategory, TriggerKind
from escalation.triggers.sentiment import SentimentSource
from escalation.triggers.similarity import densest_window, similar_tickets


def sla_elapsed_minutes(f: Facts) -> float:
    return max(0.0, f.minutes_since_created - f.context.sla_paused_minutes)


_TOLERANCE_MINUTES = 1 / 60_000  # one millisecond


def sla_breach_imminent(f: Facts) -> Trigger | None:
    if f.event.resolved:
        return None
    fraction = f.policy.sla_breach_imminent_fraction
    elapsed = sla_elapsed_minutes(f)
    targets: list[tuple[str, float]] = []
    if f.event.first_response_at is None and f.event.sla.first_response_minutes:
        targets.append(("first_response", f.event.sla.first_response_minutes))
    if f.event.sla.resolution_minutes:
        targets.append(("resolution", f.event.sla.resolution_minutes))
    evidence = []
    summaries = []
    for name, target in targets:
        used = elapsed / target
        # The watch wakes exactly at `fraction * target` (triggers/clock.py); float rounding of
        # minutes must not make that instant read 94.99...%: a millisecond of tolerance.
        if elapsed + _TOLERANCE_MINUTES >= fraction * target:
            state = "breached" if used >= 1 else "breach imminent"
            summaries.append(f"{name.replace('_', ' ')} SLA {state} ({used:.0%})")
            evidence.append(
                Evidence(
                    source=f"sla.{name}",
                    detail=f"{name.replace('_', ' ')} SLA {state}: {used:.0%} of {target:g} min "
                    f"elapsed (threshold {fraction:.0%})",
                    observed=round(used, 4),
                    threshold=fraction,
                )
            )
    if not evidence:
        return None
    return f.trigger(TriggerKind.SLA_BREACH_IMMINENT, "; ".join(summaries), evidence)


def critical_issue(f: Facts) -> Trigger | None:
    """P0/P1 created: the customer reports an outage or data loss."""
    outage = f.scan.get(PhraseCategory.OUTAGE)
    data_loss = f.scan.get(PhraseCategory.DATA_LOSS)
    if not outage and not data_loss:
        return None
    what = " and ".join(w for w, m in (("outage", outage), ("data loss", data_loss)) if m)
    return f.trigger(
        TriggerKind.CRITICAL_ISSUE,
        f"{what} reported by the customer",
        phrase_evidence(outage + data_loss),
    )


def negative_sentiment(f: Facts) -> Trigger | None:
    reading = f.sentiment
    limit = f.policy.negative_sentiment_below
    if reading.source is SentimentSource.NONE or reading.score >= limit:
        return None
    origin = "ticket system" if reading.source is SentimentSource.TICKET_SYSTEM else "VADER"
    return f.trigger(
        TriggerKind.NEGATIVE_SENTIMENT,
        f"very negative sentiment ({reading.score:+.2f})",
        [
            Evidence(
                source=reading.where,
                detail=f"the customer's sentiment is {reading.score:+.2f} ({origin}), "
                f"below {limit:+.2f}",
                observed=reading.score,
                threshold=limit,
            )
        ],
    )


def security_keywords(f: Facts) -> Trigger | None:
    matches = f.scan.get(PhraseCategory.SECURITY)
    if not matches:
        return None
    return f.trigger(
        TriggerKind.SECURITY_KEYWORDS, "a security incident is reported", phrase_evidence(matches)
    )


def legal_keywords(f: Facts) -> Trigger | None:
    matches = f.scan.get(PhraseCategory.LEGAL)
    if not matches:
        return None
    return f.trigger(
        TriggerKind.LEGAL_KEYWORDS, "the customer threatens legal action", phrase_evidence(matches)
    )


def revenue_impact(f: Facts) -> Trigger | None:
    amount = f.event.revenue_at_risk
    limit = f.policy.revenue_impact_above
    if amount is None or amount <= limit:
        return None
    return f.trigger(
        TriggerKind.REVENUE_IMPACT,
        f"${amount:,.0f} revenue at risk",
        [
            Evidence(
                source="revenue_at_risk",
                detail=f"${amount:,.2f} at risk, above ${limit:,.2f}",
                observed=float(amount),
                threshold=float(limit),
            )
        ],
    )


@dataclass(frozen=True, slots=True)
class MassPattern:
    ticket_ids: list[str]  # this ticket and the similar ones, oldest first
    customers: int


def find_mass_pattern(f: Facts) -> MassPattern | None:
    """5+ similar tickets within an hour across customers (this ticket included)."""
    p = f.policy
    others = [t for t in f.context.area_recent_tickets if t.ticket_id != f.event.ticket_id]
    similar = similar_tickets(
        f.normalised_text, others, p.similarity_threshold, f.event.product_area
    )
    window = timedelta(minutes=p.mass_pattern_window_minutes)
    members = densest_window(f.event.created_at, similar, window)
    customers = len({t.customer_id for t in members} | {f.event.customer.customer_id})
    if len(members) + 1 < p.mass_pattern_min_tickets or customers < p.mass_pattern_min_customers:
        return None
    ordered = sorted(
        [(t.created_at, t.ticket_id) for t in members] + [(f.event.created_at, f.event.ticket_id)]
    )
    return MassPattern([tid for _, tid in ordered], customers)


def mass_pattern(f: Facts, found: MassPattern | None) -> Trigger | None:
    if found is None:
        return None
    p = f.policy
    count = len(found.ticket_ids)
    minutes = p.mass_pattern_window_minutes
    return f.trigger(
        TriggerKind.MASS_PATTERN,
        f"{count} similar tickets from {found.customers} customers within {minutes:g} min",
        [
            Evidence(
                source="context.area_recent_tickets",
                detail=f"{count} similar tickets in {f.event.product_area or 'the same area'} "
                f"within {minutes:g} min from {found.customers} customers "
                f"(threshold {p.mass_pattern_min_tickets})",
                observed=count,
                threshold=p.mass_pattern_min_tickets,
                ticket_ids=found.ticket_ids,
            )
        ],
    )


def outage_incident(f: Facts, found: MassPattern) -> OutageIncident:
    """One incident for the burst, keyed by area and its oldest ticket so that every ticket of
    the burst names the same incident."""
    area = f.event.product_area
    return OutageIncident(
        incident_key=f"outage:{area or 'any'}:{found.ticket_ids[0]}",
        existing_incident_id=f.context.open_outage_incident_id,
        product_area=area,
        ticket_ids=found.ticket_ids,
        customers=found.customers,
        window_minutes=f.policy.mass_pattern_window_minutes,
    )
