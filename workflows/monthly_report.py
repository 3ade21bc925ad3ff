"""MonthlyReportWorkflow: build last month's Escalation Monthly Report and post it to Slack
and email. Started on the 1st of each month by a Temporal Schedule (worker/report_schedule.py).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from escalation.closing import (
        BUILD_MONTHLY_REPORT,
        MONTHLY_REPORT_WORKFLOW,
        PUBLISH_MONTHLY_REPORT,
        MonthlyReportPublished,
        MonthlyReportRequest,
        MonthlyReportText,
    )

_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5))


def _previous_month(year: int, month: int) -> str:
    return f"{year - 1}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


@workflow.defn(name=MONTHLY_REPORT_WORKFLOW)
class MonthlyReportWorkflow:
    @workflow.run
    async def run(self, request: MonthlyReportRequest) -> MonthlyReportPublished:
        now = workflow.now()
        month = request.month or _previous_month(now.year, now.month)
        report = await workflow.execute_activity(
            BUILD_MONTHLY_REPORT,
            MonthlyReportRequest(month=month),
            result_type=MonthlyReportText,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=_RETRY,
        )
        published: MonthlyReportPublished = await workflow.execute_activity(
            PUBLISH_MONTHLY_REPORT,
            report,
            result_type=MonthlyReportPublished,
            start_to_close_timeout=timedelta(minutes=2),
            schedule_to_close_timeout=timedelta(hours=6),
            retry_policy=_RETRY,
        )
        return published
