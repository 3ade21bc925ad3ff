"""/v1/reports/monthly: the Escalation Monthly Report as JSON, Markdown, text or CSV."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response

from api.auth import require
from api.deps import RepositoryDep
from escalation.apikeys import Permission
from store.analytics.period import previous_month
from store.analytics.render import ReportFormat, render
from store.analytics.report import MonthlyReport, build_monthly_report

router = APIRouter(prefix="/v1/reports", tags=["reports"])

MEDIA = {
    ReportFormat.MARKDOWN: "text/markdown; charset=utf-8",
    ReportFormat.TEXT: "text/plain; charset=utf-8",
    ReportFormat.CSV: "text/csv; charset=utf-8",
}


@router.get(
    "/monthly",
    response_model=MonthlyReport,
    dependencies=[Depends(require(Permission.READ))],
    responses={200: {"content": {m: {} for m in MEDIA.values()}}},
)
async def monthly_report(
    repository: RepositoryDep,
    month: Annotated[
        str | None,
        # Years 1900-2099: year 0000 or 9999-12 (whose next month is year 10000) was a 500.
        Query(pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM; default last month"),
    ] = None,
    format: Annotated[ReportFormat, Query(description="json, markdown, text or csv")] = (
        ReportFormat.JSON
    ),
) -> Response | MonthlyReport:
    """Volume summary, resolution effectiveness, customer impact, process improvements and
    recommendations for one calendar month (UTC)."""
    wanted = month or previous_month(datetime.now(UTC))

    def build() -> MonthlyReport:
        with repository.sessions() as session:
            return build_monthly_report(session, wanted)

    report = await asyncio.to_thread(build)
    if format is ReportFormat.JSON:
        return report
    return PlainTextResponse(render(report, format), media_type=MEDIA[format])
