"""/v1/analytics: the BI views (docs/analytics.md) listed, and each exported as CSV.

For Tableau and Power BI that cannot reach the database: `GET /v1/analytics/escalations.csv`
with a key that may `read` (a viewer key), filtered by `from`, `to` and `team`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError

from api.auth import require
from api.deps import RepositoryDep
from escalation.apikeys import Permission
from store.analytics.export import TEAM_PATTERN, ExportFilter, open_csv
from store.analytics.views import VIEWS, UnknownView, View, find_view

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

CSV_MEDIA = "text/csv; charset=utf-8; header=present"


class ViewListing(BaseModel):
    csv_path: str
    definition: View


@router.get(
    "",
    response_model=list[ViewListing],
    dependencies=[Depends(require(Permission.READ))],
)
async def list_views() -> list[ViewListing]:
    """Every BI view with its columns (kind and meaning) and its CSV path."""
    return [ViewListing(csv_path=f"/v1/analytics/{v.name}.csv", definition=v) for v in VIEWS]


@router.get(
    "/{view}.csv",
    response_class=StreamingResponse,
    dependencies=[Depends(require(Permission.READ))],
    responses={
        200: {"content": {CSV_MEDIA: {}}, "description": "RFC 4180 CSV with a header row"},
        404: {"description": "no such view; the message lists the valid ones"},
    },
)
async def export_csv(
    view: str,
    repository: RepositoryDep,
    from_: Annotated[
        datetime | None,
        Query(alias="from", description="inclusive, ISO 8601; naive times are UTC"),
    ] = None,
    to: Annotated[datetime | None, Query(description="exclusive, ISO 8601")] = None,
    team: Annotated[str | None, Query(pattern=TEAM_PATTERN)] = None,
) -> StreamingResponse:
    """One BI view as CSV, streamed: `from`/`to` filter the view's time column (see
    `GET /v1/analytics`), `team` its team."""
    try:
        found = find_view(view)
    except UnknownView as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    try:
        filters = ExportFilter(start=from_, end=to, team=team)
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {"loc": ["query", "to"], "msg": e["msg"], "type": "value_error"}
                for e in exc.errors()
            ],
        ) from exc
    try:
        chunks = await asyncio.to_thread(open_csv, repository.sessions, found, filters)
    except DBAPIError as exc:
        # Most likely a database migrated before 0006_bi_views.
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"cannot read {found.view} ({type(exc.orig).__name__}): run `escalation migrate`",
        ) from exc
    return StreamingResponse(
        chunks,
        media_type=CSV_MEDIA,
        headers={
            "Content-Disposition": f'attachment; filename="{found.view}.csv"',
            "Cache-Control": "no-store",
        },
    )
