"""/v1/schedules and /v1/oncall: on-call schedules, run-time overrides and time off, who is on
call at an instant, and each schedule as an iCalendar feed.

The rotations come from the policy file; overrides and time off added here are stored in
PostgreSQL (store/schedules.py) and apply at once, to the API's answers and to escalation
steps that run from then on (the worker reads the same rows when a step runs).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.auth import Principal, require
from api.deps import PolicyDep, RepositoryDep
from escalation.apikeys import Permission
from escalation.models import Recipient
from escalation.oncall import effective_schedule, resolve_oncall
from escalation.policy import Policy
from escalation.request_text import RequestText
from escalation.schedules import (
    Assignment,
    Level,
    OnCallSchedule,
    Override,
    TimeOff,
    next_handoff,
    schedule_to_ics,
    who_is_on_call,
)
from store.schedules import ScheduleStore

router = APIRouter(prefix="/v1", tags=["schedules"])

MAX_PERIOD = timedelta(days=366)
HANDOFF_HORIZON = timedelta(days=31)

Reader = Annotated[Principal, Depends(require(Permission.READ))]
Manager = Annotated[Principal, Depends(require(Permission.MANAGE))]


def get_schedule_store(repository: RepositoryDep) -> ScheduleStore:
    return ScheduleStore(repository.sessions)


SchedulesDep = Annotated[ScheduleStore, Depends(get_schedule_store)]


# --------------------------------------------------------------------------- models


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Period(_Body):
    person: RequestText = Field(
        min_length=1, max_length=64, description="a person id of the policy"
    )
    start: AwareDatetime = Field(description="ISO 8601 with a time zone, e.g. ...T09:00:00Z")
    end: AwareDatetime
    note: RequestText = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _ordered(self) -> _Period:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.end - self.start > MAX_PERIOD:
            raise ValueError("a period may last at most 366 days")
        return self


class OverrideCreate(_Period):
    """`person` takes the team's `level` shift for [start, end), whatever the rotation says."""

    level: Level = Level.PRIMARY


class TimeOffCreate(_Period):
    """`person` is away for [start, end): their designated backup covers their shifts, on
    every team's schedule."""


class OverrideOut(BaseModel):
    id: str | None = Field(description="None for overrides written in the policy file")
    source: Literal["policy", "runtime"]
    team: str
    person: str
    level: Level
    start: datetime
    end: datetime
    note: str = ""
    created_by: str | None = None
    created_at: datetime | None = None


class TimeOffOut(BaseModel):
    id: str | None = Field(description="None for time off written in the policy file")
    source: Literal["policy", "runtime"]
    team: str = Field(description="the team it was filed under (it applies everywhere)")
    person: str
    start: datetime
    end: datetime
    note: str = ""
    created_by: str | None = None
    created_at: datetime | None = None


class OnCallPerson(BaseModel):
    person_id: str | None
    name: str
    email: str | None = None
    slack_user_id: str | None = None
    source: str = Field(
        description="layer, after_hours, override, time_off (a backup covering), static "
        "(the team's fixed on-call in the policy)"
    )
    layer: str | None = None
    replaced_person_id: str | None = Field(default=None, description="who is on time off")
    reason: str = ""


class OnCallOut(BaseModel):
    team: str
    team_name: str
    at: datetime
    primary: OnCallPerson | None
    secondary: OnCallPerson | None
    has_schedule: bool = Field(description="false: the team only has a static on-call")
    next_handoff: datetime | None = Field(
        default=None, description="the next change of primary or secondary within 31 days"
    )


class StaticOnCall(BaseModel):
    primary: str | None
    secondary: str | None


class TeamScheduleOut(BaseModel):
    team: str
    team_name: str
    schedule: OnCallSchedule | None = Field(
        description="the policy's rotations (run-time changes are listed separately)"
    )
    static_oncall: StaticOnCall
    overrides: list[OverrideOut]
    time_off: list[TimeOffOut]
    oncall_now: OnCallOut
    ics_url: str


class ScheduleList(BaseModel):
    items: list[TeamScheduleOut]


# --------------------------------------------------------------------------- helpers


def _unknown_team(loc: list[str], team: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{"loc": loc, "msg": f"unknown team {team!r}", "type": "value_error"}],
    )


def _known_team(policy: Policy, team: str) -> None:
    if team not in {t.id for t in policy.teams}:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown team {team!r}")


def _known_person(policy: Policy, person: str) -> None:
    if person not in {p.id for p in policy.people}:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": ["body", "person"],
                    "msg": f"unknown person {person!r}",
                    "type": "value_error",
                }
            ],
        )


def _person(
    recipient: Recipient | None,
    source: str,
    assignment: Assignment | None,
    team: str,
) -> OnCallPerson | None:
    if recipient is None:
        return None
    if source == "static":
        reason = f"static on-call of the policy (teams.{team}.oncall)"
        if assignment is not None:
            reason += f"; the schedule names nobody ({assignment.reason})"
        layer = replaced = None
    else:
        reason = assignment.reason if assignment else ""
        layer = assignment.layer if assignment else None
        replaced = assignment.replaced_person_id if assignment else None
    return OnCallPerson(
        person_id=recipient.person_id,
        name=recipient.name,
        email=recipient.email,
        slack_user_id=recipient.slack_user_id,
        source=source,
        layer=layer,
        replaced_person_id=replaced,
        reason=reason,
    )


def oncall_answer(
    policy: Policy,
    team: str,
    at: datetime,
    overrides: list[Override],
    time_off: list[TimeOff],
) -> OnCallOut:
    """Who is primary and secondary at `at`, by the same `resolve_oncall` a step uses; the
    schedule's per-level answer supplies the reasons."""
    resolution = resolve_oncall(policy, team, at, overrides, time_off)
    schedule = effective_schedule(policy, team, overrides, time_off)
    answer = who_is_on_call(schedule, at, policy.backups()) if schedule is not None else None
    handoff = (
        next_handoff(schedule, at, policy.backups(), horizon=HANDOFF_HORIZON)
        if schedule is not None
        else None
    )
    return OnCallOut(
        team=team,
        team_name=policy.team(team).name,
        at=at,
        primary=_person(
            resolution.primary,
            resolution.primary_source,
            answer.primary if answer else None,
            team,
        ),
        secondary=_person(
            resolution.secondary,
            resolution.secondary_source,
            answer.secondary if answer else None,
            team,
        ),
        has_schedule=policy.schedule(team) is not None,
        next_handoff=handoff,
    )


def _team_people(policy: Policy, team_id: str) -> list[str]:
    team = policy.team(team_id)
    people = {*team.members, team.manager, team.oncall.primary, team.oncall.secondary}
    schedule = policy.schedule(team_id)
    if schedule is not None:
        people.update(schedule.person_ids())
    return sorted(p for p in people if p)


def _team_view(
    policy: Policy, store: ScheduleStore, team: str, now: datetime, include_past: bool
) -> TeamScheduleOut:
    since = None if include_past else now
    schedule = policy.schedule(team)
    overrides = [
        OverrideOut(
            id=None,
            source="policy",
            team=team,
            person=o.person,
            level=o.level,
            start=o.start,
            end=o.end,
            note=o.note,
        )
        for o in (schedule.overrides if schedule else [])
        if since is None or o.end > since
    ]
    overrides += [
        OverrideOut(source="runtime", **stored.model_dump())
        for stored in store.overrides(team, ending_after=since)
    ]
    time_off = [
        TimeOffOut(
            id=None,
            source="policy",
            team=team,
            person=t.person,
            start=t.start,
            end=t.end,
            note=t.note,
        )
        for t in (schedule.time_off if schedule else [])
        if since is None or t.end > since
    ]
    time_off += [
        TimeOffOut(source="runtime", **stored.model_dump())
        for stored in store.time_off(
            team=team, people=_team_people(policy, team), ending_after=since
        )
    ]
    changes = store.runtime_schedule_changes(team, now, now + HANDOFF_HORIZON)
    team_def = policy.team(team)
    return TeamScheduleOut(
        team=team,
        team_name=team_def.name,
        schedule=schedule,
        static_oncall=StaticOnCall(
            primary=team_def.oncall.primary, secondary=team_def.oncall.secondary
        ),
        overrides=overrides,
        time_off=time_off,
        oncall_now=oncall_answer(policy, team, now, *changes),
        ics_url=f"/v1/schedules/{team}.ics",
    )


# --------------------------------------------------------------------------- routes


@router.get("/schedules", response_model=ScheduleList)
async def list_schedules(
    _: Reader,
    policy: PolicyDep,
    store: SchedulesDep,
    include_past: Annotated[bool, Query(description="also list ended overrides")] = False,
) -> ScheduleList:
    """Every team with an on-call schedule in the policy or run-time overrides: rotations,
    overrides, time off and who is on call now."""
    now = datetime.now(UTC)

    def build() -> ScheduleList:
        teams = {s.team for s in policy.schedules} | store.teams_with_overrides()
        ordered = [t.id for t in policy.teams if t.id in teams]
        return ScheduleList(
            items=[_team_view(policy, store, team, now, include_past) for team in ordered]
        )

    return await asyncio.to_thread(build)


@router.get(
    "/schedules/{team}.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "iCalendar (RFC 5545) feed"},
        404: {"description": "unknown team"},
    },
)
async def schedule_ics(
    team: str,
    _: Reader,
    policy: PolicyDep,
    store: SchedulesDep,
    start: Annotated[AwareDatetime | None, Query(description="default: now")] = None,
    days: Annotated[int, Query(ge=1, le=366, description="length of the feed")] = 30,
) -> Response:
    """The team's shifts (both levels, with run-time overrides and time off) as an iCalendar
    feed a calendar app can subscribe to. A team without a schedule gets an empty calendar."""
    _known_team(policy, team)
    now = datetime.now(UTC)
    first = start.astimezone(UTC) if start is not None else now
    last = first + timedelta(days=days)

    def build() -> str:
        overrides, time_off = store.runtime_schedule_changes(team, first, last)
        schedule = effective_schedule(policy, team, overrides, time_off) or OnCallSchedule(
            team=team
        )
        names = {p.id: p.name for p in policy.people}
        return schedule_to_ics(schedule, first, last, policy.backups(), names, now)

    text = await asyncio.to_thread(build)
    return Response(
        content=text,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="oncall-{team}.ics"'},
    )


@router.get("/schedules/{team}", response_model=TeamScheduleOut)
async def get_schedule(
    team: str,
    _: Reader,
    policy: PolicyDep,
    store: SchedulesDep,
    include_past: Annotated[bool, Query(description="also list ended overrides")] = False,
) -> TeamScheduleOut:
    """One team's schedule, overrides, time off and who is on call now (404: unknown team)."""
    _known_team(policy, team)
    now = datetime.now(UTC)
    return await asyncio.to_thread(_team_view, policy, store, team, now, include_past)


@router.post(
    "/schedules/{team}/overrides",
    response_model=OverrideOut,
    status_code=status.HTTP_201_CREATED,
)
async def add_override(
    team: str,
    body: OverrideCreate,
    principal: Manager,
    policy: PolicyDep,
    store: SchedulesDep,
) -> OverrideOut:
    """Put `person` on the team's primary or secondary shift for [start, end). Applies at
    once; among overlapping overrides the one added last wins."""
    _known_team(policy, team)
    _known_person(policy, body.person)
    override = Override(
        person=body.person, start=body.start, end=body.end, level=body.level, note=body.note
    )
    stored = await asyncio.to_thread(
        store.add_override, team=team, override=override, created_by=principal.name
    )
    return OverrideOut(source="runtime", **stored.model_dump())


@router.delete("/schedules/{team}/overrides/{override_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_override(
    team: str, override_id: str, _: Manager, policy: PolicyDep, store: SchedulesDep
) -> Response:
    """Remove a run-time override (404 when the team has no such override)."""
    _known_team(policy, team)
    if not await asyncio.to_thread(store.delete_override, team, override_id):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"team {team!r} has no override {override_id!r}"
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/schedules/{team}/time-off", response_model=TimeOffOut, status_code=status.HTTP_201_CREATED
)
async def add_time_off(
    team: str,
    body: TimeOffCreate,
    principal: Manager,
    policy: PolicyDep,
    store: SchedulesDep,
) -> TimeOffOut:
    """Mark `person` away for [start, end). Their designated backup covers their shifts on
    every team's schedule (filed under this team, listed with it)."""
    _known_team(policy, team)
    _known_person(policy, body.person)
    period = TimeOff(person=body.person, start=body.start, end=body.end, note=body.note)
    stored = await asyncio.to_thread(
        store.add_time_off, team=team, time_off=period, created_by=principal.name
    )
    return TimeOffOut(source="runtime", **stored.model_dump())


@router.delete("/schedules/{team}/time-off/{time_off_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_time_off(
    team: str, time_off_id: str, _: Manager, policy: PolicyDep, store: SchedulesDep
) -> Response:
    """Remove run-time time off (404 when none with this id was filed under the team)."""
    _known_team(policy, team)
    if not await asyncio.to_thread(store.delete_time_off, team, time_off_id):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"team {team!r} has no time off {time_off_id!r}"
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/oncall", response_model=OnCallOut, tags=["oncall"])
async def oncall(
    _: Reader,
    policy: PolicyDep,
    store: SchedulesDep,
    team: Annotated[str, Query(min_length=1, max_length=64)],
    at: Annotated[
        AwareDatetime | None,
        Query(description="ISO 8601 with a time zone (encode `+` as %2B); default now"),
    ] = None,
) -> OnCallOut:
    """Who is primary and secondary on call for `team` at `at`, and why (rotation layer,
    after-hours layer, override, a backup covering time off, or the static on-call)."""
    if team not in {t.id for t in policy.teams}:
        raise _unknown_team(["query", "team"], team)
    instant = at.astimezone(UTC) if at is not None else datetime.now(UTC)

    def build() -> OnCallOut:
        overrides, time_off = store.runtime_schedule_changes(
            team, instant, instant + HANDOFF_HORIZON
        )
        return oncall_answer(policy, team, instant, overrides, time_off)

    return await asyncio.to_thread(build)
