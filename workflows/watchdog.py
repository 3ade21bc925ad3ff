"""WatchdogWorkflow: one health check of the escalation service, started every few minutes by
the `escalation-watchdog` Temporal Schedule on the `watchdog` task queue (see
escalation/watchdog.py for the design). It checks, decides, and alerts when needed; it keeps
no state between runs."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from escalation.watchdog import (
        WATCHDOG_ALERT,
        WATCHDOG_CHECK,
        WATCHDOG_WORKFLOW,
        AlertRequest,
        AlertResult,
        WatchdogInput,
        WatchdogReport,
        alert_channels,
        assess,
    )

# A check that cannot run within a minute is reported by the next scheduled run instead.
_CHECK_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)
_ALERT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=15),
    non_retryable_error_types=["PermanentVendorError"],
)


@workflow.defn(name=WATCHDOG_WORKFLOW)
class WatchdogWorkflow:
    @workflow.run
    async def run(self, request: WatchdogInput) -> WatchdogReport:
        counts: WatchdogReport = await workflow.execute_activity(
            WATCHDOG_CHECK,
            request,
            result_type=WatchdogReport,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(seconds=60),
            retry_policy=_CHECK_RETRY,
            summary=f"pollers on {request.task_queue}, adapter failures",
        )
        report = assess(report=counts, request=request)
        if not report.problems:
            return report
        channels = alert_channels(report, request)
        workflow.logger.warning("watchdog problems: %s", report.problems)
        if not channels:
            return report  # nobody to alert is configured; the report stays in the history
        result: AlertResult = await workflow.execute_activity(
            WATCHDOG_ALERT,
            AlertRequest(
                idempotency_key=f"watchdog:{workflow.info().workflow_id}",
                report=report,
                channels=channels,
                emails=request.alert_emails,
                phone=request.alert_phone,
            ),
            result_type=AlertResult,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(minutes=2),
            retry_policy=_ALERT_RETRY,
            summary=f"alert via {', '.join(channels)}",
        )
        return report.model_copy(update={"alerted_via": result.sent_via})
