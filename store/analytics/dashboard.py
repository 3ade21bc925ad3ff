"""Everything the dashboard shows, computed in one read-only session."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from store.analytics.active import active_escalations
from store.analytics.agents import agent_rates
from store.analytics.oncall import oncall_health
from store.analytics.outcomes import outcomes
from store.analytics.period import Period
from store.analytics.reasons import top_reasons
from store.analytics.routes import route_performance
from store.analytics.schemas import Dashboard
from store.analytics.targets import DEFAULT_TARGETS, Targets
from store.analytics.teams import team_names
from store.analytics.times import response_times
from store.analytics.tuning import prepare_analytics
from store.analytics.volume import over_time, volume


def build_dashboard(
    session: Session,
    period: Period,
    team: str | None = None,
    *,
    targets: Targets = DEFAULT_TARGETS,
    ui_base: str = "",
    now: datetime | None = None,
    teams: list[str] | None = None,
) -> Dashboard:
    now = now or datetime.now(UTC)
    prepare_analytics(session)
    if teams is None:
        teams = team_names(session)
    return Dashboard(
        generated_at=now,
        period=period,
        previous=period.previous(),
        team=team,
        teams=teams,
        targets=targets,
        active=active_escalations(session, team, now, ui_base),
        volume=volume(session, period, team),
        over_time=over_time(session, period, team),
        times=response_times(session, period, team, targets),
        outcomes=outcomes(session, period, team, targets),
        routes=route_performance(session, period, team),
        agents=agent_rates(session, period, team, targets),
        reasons=top_reasons(session, period, team),
        oncall=oncall_health(session, period, team, targets),
    )
