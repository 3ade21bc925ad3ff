"""Who is on call for a team at an instant: the team's schedule (policy plus run-time
overrides and time off) when it names someone, the static `oncall` of the policy otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from escalation.models import Recipient
from escalation.planning import recipient
from escalation.policy import Policy
from escalation.schedules import OnCallSchedule, Override, TimeOff, who_is_on_call


class OnCallResolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str
    at: datetime
    primary: Recipient | None
    secondary: Recipient | None
    primary_source: str
    secondary_source: str
    reason: str = ""


def effective_schedule(
    policy: Policy,
    team_id: str,
    overrides: Sequence[Override] = (),
    time_off: Sequence[TimeOff] = (),
) -> OnCallSchedule | None:
    """The policy's schedule for the team with run-time overrides and time off added."""
    schedule = policy.schedule(team_id)
    if schedule is None:
        if not overrides:
            return None
        schedule = OnCallSchedule(team=team_id)
    return OnCallSchedule.model_validate(
        {
            **schedule.model_dump(),
            "overrides": [*schedule.overrides, *overrides],
            "time_off": [*schedule.time_off, *time_off],
        }
    )


def resolve_oncall(
    policy: Policy,
    team_id: str,
    at: datetime,
    overrides: Sequence[Override] = (),
    time_off: Sequence[TimeOff] = (),
) -> OnCallResolution:
    team = policy.team(team_id)
    schedule = effective_schedule(policy, team_id, overrides, time_off)
    primary_id, secondary_id = team.oncall.primary, team.oncall.secondary
    primary_source = secondary_source = "static"
    reasons: list[str] = []
    if schedule is not None:
        answer = who_is_on_call(schedule, at, policy.backups())
        if answer.primary.person_id is not None:
            primary_id, primary_source = answer.primary.person_id, answer.primary.source.value
            reasons.append(f"primary: {answer.primary.reason}")
        if answer.secondary.person_id is not None:
            secondary_id = answer.secondary.person_id
            secondary_source = answer.secondary.source.value
            reasons.append(f"secondary: {answer.secondary.reason}")
    if schedule is not None:
        # Never fall back to someone the schedule knows is away.
        away = {t.person for t in schedule.time_off if t.start <= at < t.end}
        if primary_id in away and primary_source == "static":
            primary_id = None
            reasons.append("static primary is on time off")
        if secondary_id in away and secondary_source == "static":
            secondary_id = None
            reasons.append("static secondary is on time off")
    if primary_id is None:
        primary_source = "none"
    if secondary_id is None:
        secondary_source = "none"
    return OnCallResolution(
        team=team_id,
        at=at,
        primary=recipient(policy.person(primary_id)) if primary_id else None,
        secondary=recipient(policy.person(secondary_id)) if secondary_id else None,
        primary_source=primary_source,
        secondary_source=secondary_source,
        reason="; ".join(reasons),
    )
