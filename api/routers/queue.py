"""/v1/queue: a team's queue of escalations waiting to be picked up (store/queue.py)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel

from api.auth import require
from api.deps import PolicyDep, RepositoryDep
from escalation.apikeys import Permission
from store.queue import QueuedEscalation, team_queue

router = APIRouter(prefix="/v1/queue", tags=["queue"])


class TeamQueue(BaseModel):
    team: str
    items: list[QueuedEscalation]


@router.get("", response_model=TeamQueue, dependencies=[Depends(require(Permission.READ))])
async def get_team_queue(
    repository: RepositoryDep,
    policy: PolicyDep,
    team: Annotated[str, Query(max_length=64, description="team id from the policy")],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TeamQueue:
    """Open escalations of `team` nobody has picked up: those queued first at the start of a
    business day (escalated outside business hours) on top, then by priority and age."""
    if team not in {t.id for t in policy.teams}:  # the validation-error shape, as /v1/oncall
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["query", "team"], "msg": f"unknown team {team!r}", "type": "value_error"}],
        )
    items = await asyncio.to_thread(team_queue, repository.sessions, team, limit=limit)
    return TeamQueue(team=team, items=items)
