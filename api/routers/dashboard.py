"""/v1/dashboard (JSON) and /dashboard (the page that draws it).

The JSON needs an API key with the `read` permission. The page itself is public and holds no
data: it asks for a key (kept in the browser's localStorage, or passed once as `?key=`) and
fetches /v1/dashboard with it every 30 seconds.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import HTMLResponse

from api.auth import public, require
from api.deps import GatewayDep, PolicyDep, RepositoryDep, SettingsDep
from escalation import activity_names as names
from escalation.apikeys import Permission
from escalation.policy import Policy
from store.analytics import DEFAULT_TARGETS, PeriodError, build_dashboard, parse_period
from store.analytics.schemas import Dashboard, OnCallHealth

PAGE = Path(__file__).resolve().parent.parent / "pages" / "dashboard.html"

router = APIRouter(tags=["dashboard"])


@cache
def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


async def _running_in_temporal(gateway: GatewayDep, team: str | None) -> int | None:
    """Running escalation workflows per Temporal visibility; None when Temporal is down."""
    query = f"WorkflowType = '{names.ESCALATION_WORKFLOW}' AND ExecutionStatus = 'Running'"
    if team:
        query += f" AND EscalationTeam = '{team}'"
    try:
        client = await asyncio.wait_for(gateway.client(), timeout=2)
        counted = await asyncio.wait_for(client.count_workflows(query), timeout=2)
        return int(counted.count)
    except (TimeoutError, HTTPException, Exception):
        return None


@router.get(
    "/v1/dashboard",
    response_model=Dashboard,
    dependencies=[Depends(require(Permission.READ))],
)
async def dashboard(
    repository: RepositoryDep,
    settings: SettingsDep,
    policy: PolicyDep,
    gateway: GatewayDep,
    period: Annotated[
        str, Query(description="24h, 7d, 30d, 90d or a month YYYY-MM", max_length=10)
    ] = "30d",
    team: Annotated[str | None, Query(pattern=r"^[a-z0-9_-]{1,64}$")] = None,
) -> Dashboard:
    """Everything on the Escalation Management Dashboard, computed in SQL."""
    try:
        window = parse_period(period)
        # Years outside 1900-2099 (0000-01, 9999-12, 9999999d) overflowed datetime: a 500.
        if window.start.year < 1900 or window.end.year > 2099:
            raise PeriodError(f"invalid period {period!r}: outside the years 1900-2099")
    except (PeriodError, ValueError, OverflowError) as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["query", "period"], "msg": str(exc), "type": "value_error"}],
        ) from exc
    ui_base = f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}"
    teams = sorted(t.id for t in policy.teams)

    def compute() -> Dashboard:
        with repository.sessions() as session:
            return build_dashboard(
                session,
                window,
                team,
                targets=DEFAULT_TARGETS,
                ui_base=ui_base,
                now=datetime.now(UTC),
                teams=teams,
            )

    board, running = await asyncio.gather(
        asyncio.to_thread(compute), _running_in_temporal(gateway, team)
    )
    board.active.temporal_running = running
    _add_oncall(board, policy, team)
    return board


def _add_oncall(board: Dashboard, policy: Policy, team: str | None) -> None:
    """Current on-call and next handoff for every team that pages (rows without pages too)."""
    from escalation.oncall import effective_schedule, resolve_oncall
    from escalation.schedules import next_handoff

    now = board.generated_at
    rows = {row.team: row for row in board.oncall}
    for found in policy.teams:
        if team and found.id != team:
            continue
        schedule = policy.schedule(found.id)
        if found.id not in rows and not (found.oncall.primary or schedule):
            continue
        row = rows.get(found.id) or OnCallHealth(
            team=found.id,
            pages=0,
            paged_escalations=0,
            acked_within_target=0,
            acked_within_share=None,
            ack_avg_seconds=None,
            false_alerts=0,
        )
        try:
            current = resolve_oncall(policy, found.id, now)
            row.primary = current.primary.name if current.primary else None
            row.secondary = current.secondary.name if current.secondary else None
            effective = effective_schedule(policy, found.id)
            row.next_handoff = next_handoff(effective, now) if effective else None
        except Exception:  # an on-call lookup problem must not take the dashboard down
            pass
        rows[found.id] = row
    board.oncall = sorted(rows.values(), key=lambda r: (-r.pages, r.team))


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(public("a static page; its data comes from /v1/dashboard with a key"))],
)
async def dashboard_page() -> HTMLResponse:
    """The dashboard page: self-contained (inline CSS, JS and SVG charts, no CDN)."""
    return HTMLResponse(_page(), headers={"Cache-Control": "no-store"})
