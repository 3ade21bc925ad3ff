"""Agent escalation rates against their team's average, with coaching flags.

An agent's rate is escalations per handled ticket (`agent_tickets`, fed by the help-desk
intake). Without handled-ticket data the comparison falls back to escalation counts against
the team's average count per escalating agent.
"""

from __future__ import annotations

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from store.analytics.common import AT, E, F, R, count_if, ratio, scope
from store.analytics.period import Period
from store.analytics.schemas import AgentRate
from store.analytics.targets import Targets


def agent_rates(
    session: Session, period: Period, team: str | None, targets: Targets
) -> list[AgentRate]:
    agent_team = func.coalesce(F.agent_team, literal_column("''")).label("agent_team")
    escalated = session.execute(
        select(
            F.agent_id,
            agent_team,
            func.count(),
            func.count(R.escalation_key),
            count_if(R.necessary.is_(False)),
        )
        .select_from(E)
        .join(F, F.escalation_key == E.key)
        .outerjoin(R, R.escalation_key == E.key)
        .where(scope(period, team), F.agent_id.is_not(None))
        .group_by(F.agent_id, agent_team)
    ).all()
    handled_rows = session.execute(
        select(AT.agent_id, func.coalesce(AT.team, literal_column("''")), func.count())
        .where(AT.handled_at >= period.start, AT.handled_at < period.end)
        .group_by(AT.agent_id, func.coalesce(AT.team, literal_column("''")))
    ).all()
    handled = {agent: int(n) for agent, _, n in handled_rows}
    team_handled: dict[str, int] = {}
    for _, name, n in handled_rows:
        team_handled[name] = team_handled.get(name, 0) + int(n)
    team_escalations: dict[str, int] = {}
    team_agents: dict[str, int] = {}
    for _, name, n, *_rest in escalated:
        team_escalations[name] = team_escalations.get(name, 0) + int(n)
        team_agents[name] = team_agents.get(name, 0) + 1

    result = []
    for agent, name, count, reviewed, unnecessary in escalated:
        count, reviewed, unnecessary = int(count), int(reviewed), int(unnecessary)
        mine = handled.get(str(agent))
        rate = ratio(count, mine) if mine else None
        team_rate = ratio(team_escalations[name], team_handled.get(name))
        average = team_escalations[name] / team_agents[name]
        share = ratio(unnecessary, reviewed)
        flags = []
        if count >= targets.coaching_min_escalations:
            if rate is not None and team_rate:
                if rate >= team_rate * targets.coaching_rate_factor:
                    flags.append(f"escalation rate {rate:.0%} vs team {team_rate:.0%}")
            elif team_agents[name] > 1 and count >= average * targets.coaching_rate_factor:
                flags.append(f"{count} escalations vs team average {average:.1f}")
        if (
            share is not None
            and reviewed >= targets.coaching_min_escalations
            and share >= targets.coaching_unnecessary_share
        ):
            flags.append(f"{share:.0%} of reviewed escalations unnecessary")
        result.append(
            AgentRate(
                agent_id=str(agent),
                team=name,
                escalations=count,
                handled=mine,
                rate=rate,
                team_rate=team_rate,
                team_avg_escalations=round(average, 2),
                reviewed=reviewed,
                unnecessary=unnecessary,
                unnecessary_share=share,
                flags=flags,
            )
        )
    result.sort(key=lambda a: (-len(a.flags), -(a.rate or 0), -a.escalations, a.agent_id))
    return result
