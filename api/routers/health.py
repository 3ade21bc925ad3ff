"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import GatewayDep, RepositoryDep


class Health(BaseModel):
    status: str
    database: str
    temporal: str


router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz(gateway: GatewayDep, repository: RepositoryDep) -> Health:
    """Always 200 while the process serves; reports the database and Temporal separately."""

    def ping_database() -> str:
        try:
            with repository.sessions() as session:
                session.execute(text("SELECT 1"))
            return "ok"
        except Exception as exc:
            return f"unavailable: {type(exc).__name__}"

    database = await asyncio.to_thread(ping_database)
    try:
        client = await asyncio.wait_for(gateway.client(), timeout=3)
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
        temporal = "ok"
    except Exception as exc:
        temporal = f"unavailable: {type(exc).__name__}"
    overall = "ok" if database == "ok" and temporal == "ok" else "degraded"
    return Health(status=overall, database=database, temporal=temporal)
