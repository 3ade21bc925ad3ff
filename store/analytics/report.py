"""The monthly report: volume summary, resolution effectiveness, customer impact, process
improvements and recommendations derived from the data."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from store.analytics.agents import agent_rates
from store.analytics.common import E, scope
from store.analytics.oncall import oncall_health
from store.analytics.outcomes import outcomes
from store.analytics.period import Period, month_period
from store.analytics.reasons import top_reasons
from store.analytics.routes import route_performance
from store.analytics.schemas import (
    AgentRate,
    OnCallHealth,
    Outcomes,
    PriorityTimes,
    Reason,
    RoutePerformance,
    Volume,
)
from store.analytics.targets import DEFAULT_TARGETS, Targets
from store.analytics.times import response_times
from store.analytics.tuning import prepare_analytics
from store.analytics.volume import volume


class TierImpact(BaseModel):
    tier: str
    escalations: int
    customers: int


class CustomerImpact(BaseModel):
    customers_affected: int
    by_tier: list[TierImpact]
    csat_avg: float | None
    csat_responses: int
    csat_satisfied_share: float | None
    p0_escalations: int


class MonthlyReport(BaseModel):
    month: str
    period: Period
    generated_at: datetime
    empty: bool
    volume: Volume
    times: list[PriorityTimes]
    outcomes: Outcomes
    routes: list[RoutePerformance]
    customer_impact: CustomerImpact
    reasons: list[Reason]
    coaching: list[AgentRate]
    oncall: list[OnCallHealth]
    recommendations: list[str]


def customer_impact(session: Session, period: Period, result: Outcomes) -> CustomerImpact:
    where = scope(period, None)
    rows = session.execute(
        select(E.customer_tier, func.count(), func.count(distinct(E.customer_name)))
        .where(where)
        .group_by(E.customer_tier)
        .order_by(func.count().desc(), E.customer_tier)
    ).all()
    customers = session.execute(
        select(func.count(distinct(E.customer_name))).where(where, E.customer_name != "")
    ).scalar_one()
    p0 = session.execute(select(func.count()).where(where, E.priority == "P0")).scalar_one()
    return CustomerImpact(
        customers_affected=int(customers),
        by_tier=[TierImpact(tier=t, escalations=int(n), customers=int(c)) for t, n, c in rows],
        csat_avg=result.csat_avg,
        csat_responses=result.csat_responses,
        csat_satisfied_share=result.csat_satisfied_share,
        p0_escalations=int(p0),
    )


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def recommendations(
    targets: Targets,
    vol: Volume,
    times: list[PriorityTimes],
    result: Outcomes,
    reasons: list[Reason],
    coaching: list[AgentRate],
    oncall: list[OnCallHealth],
) -> list[str]:
    """Plain rules over the month's figures; each names the number that triggered it."""
    advice: list[str] = []
    for row in times:
        if row.ack_status == "missed":
            advice.append(
                f"{row.priority} acknowledgement averaged {_minutes(row.ack_avg_seconds)} "
                f"against a {_minutes(row.ack_target_seconds)} target: review on-call coverage "
                f"and paging for {row.priority}."
            )
        if row.resolution_status == "missed":
            advice.append(
                f"{row.priority} resolution averaged {_minutes(row.resolution_avg_seconds)} "
                f"against {_minutes(row.resolution_target_seconds)}: add specialist capacity or "
                "an earlier hand-off to engineering."
            )
    if (
        result.resolution_rate is not None
        and result.resolution_rate < targets.resolution_rate_target
    ):
        advice.append(
            f"Only {result.resolution_rate:.0%} of escalations were resolved "
            f"(target {targets.resolution_rate_target:.0%}): chase the open backlog."
        )
    if result.csat_avg is not None and result.csat_avg < targets.csat_target:
        advice.append(
            f"CSAT after escalation is {result.csat_avg:.2f}/5 (target {targets.csat_target:.1f}): "
            "read the low-score comments and follow up with those customers."
        )
    if result.reopen_rate is not None and result.reopen_rate > targets.reopen_rate_target:
        advice.append(
            f"{result.reopen_rate:.0%} of resolved escalations reopened within 7 days: "
            "confirm fixes with the customer before closing."
        )
    if (
        result.unnecessary_share is not None
        and result.unnecessary_share > targets.unnecessary_share_target
    ):
        advice.append(
            f"{result.unnecessary_share:.0%} of reviewed escalations were unnecessary: tighten "
            "the escalation criteria and coach the agents flagged below."
        )
    preventable = [r for r in reasons if r.preventable]
    if preventable:
        top = max(preventable, key=lambda r: r.preventable)
        advice.append(
            f"Top prevention opportunity: '{top.reason}' ({top.escalations} escalations, "
            f"{top.preventable} preventable) - {top.opportunity}."
        )
    if result.resolved and (result.knowledge_capture_rate or 0) < 0.2:
        advice.append(
            f"Knowledge captured for {result.kb_drafts} of {result.resolved} resolved "
            "escalations: flag 'KB article needed' on recurring fixes."
        )
    flagged = [a for a in coaching if a.flags]
    if flagged:
        names = ", ".join(a.agent_id for a in flagged[:5])
        advice.append(f"Coaching: {names} ({flagged[0].flags[0]}).")
    for health in oncall:
        paged, false_alerts = health.paged_escalations, health.false_alerts
        if false_alerts and paged and false_alerts / paged > 0.2:
            advice.append(
                f"{health.team}: {false_alerts} of {paged} pages were false "
                "alerts: raise the paging threshold for that route."
            )
    if vol.change_pct is not None and vol.change_pct >= 25:
        advice.append(
            f"Escalations rose {vol.change_pct:.0f}% from the previous month: check the top "
            "trigger types for a new recurring problem."
        )
    if not advice and vol.total:
        advice.append("Every target was met: keep the current process.")
    return advice


def build_monthly_report(
    session: Session,
    month: str,
    *,
    targets: Targets = DEFAULT_TARGETS,
    now: datetime | None = None,
) -> MonthlyReport:
    period = month_period(month)
    prepare_analytics(session)
    vol = volume(session, period, None)
    times = response_times(session, period, None, targets)
    result = outcomes(session, period, None, targets)
    reasons = top_reasons(session, period, None)
    agents = agent_rates(session, period, None, targets)
    oncall = oncall_health(session, period, None, targets)
    coaching = [a for a in agents if a.flags]
    return MonthlyReport(
        month=month,
        period=period,
        generated_at=now or datetime.now(UTC),
        empty=vol.total == 0,
        volume=vol,
        times=times,
        outcomes=result,
        routes=route_performance(session, period, None),
        customer_impact=customer_impact(session, period, result),
        reasons=reasons,
        coaching=coaching,
        oncall=oncall,
        recommendations=(
            recommendations(targets, vol, times, result, reasons, coaching, oncall)
            if vol.total
            else []
        ),
    )
