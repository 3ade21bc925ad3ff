"""POST /v1/simulate: a dry run of an escalation, so a manager can check policy and schedules
before they matter. Nothing is sent; see escalation/simulate.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.auth import Principal, require
from api.deps import PolicyDep, RepositoryDep
from escalation.apikeys import Permission
from escalation.planning import PlanError
from escalation.request_text import RequestBool, RequestText
from escalation.simulate import Simulation, simulate, simulation_window
from escalation.vocabulary import Priority, RouteKey
from store.schedules import ScheduleStore

router = APIRouter(prefix="/v1", tags=["simulate"])


class SimulateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    priority: Priority
    route: RouteKey = RouteKey.TECHNICAL
    team: RequestText | None = Field(default=None, description="override the route's first team")
    at: AwareDatetime | None = Field(default=None, description="start instant; default now")
    suspected_bug: RequestBool = False
    runtime_changes: RequestBool = Field(
        default=True, description="include the overrides and time off added through the API"
    )


@router.post("/simulate", response_model=Simulation)
async def simulate_escalation(
    body: SimulateBody,
    _: Annotated[Principal, Depends(require(Permission.READ))],
    policy: PolicyDep,
    repository: RepositoryDep,
) -> Simulation:
    """Who would be notified when, through which channel, if an escalation started at `at`
    and nobody answered, with on-call resolved at each step's time."""
    if body.team is not None and body.team not in {t.id for t in policy.teams}:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": ["body", "team"],
                    "msg": f"unknown team {body.team!r}",
                    "type": "value_error",
                }
            ],
        )
    start = body.at.astimezone(UTC) if body.at is not None else datetime.now(UTC)

    def run() -> Simulation:
        team, first, last = simulation_window(
            policy, priority=body.priority, route=body.route, start=start, team=body.team
        )
        overrides, time_off = (
            ScheduleStore(repository.sessions).runtime_schedule_changes(team, first, last)
            if body.runtime_changes
            else ([], [])
        )
        return simulate(
            policy,
            priority=body.priority,
            route=body.route,
            start=start,
            team=body.team,
            overrides=overrides,
            time_off=time_off,
            suspected_bug=body.suspected_bug,
        )

    try:
        return await asyncio.to_thread(run)
    except PlanError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["body", "route"], "msg": str(exc), "type": "value_error"}],
        ) from exc
