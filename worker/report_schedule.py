"""The Temporal Schedule that runs the monthly report on the 1st of each month (06:00 UTC)."""

from __future__ import annotations

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleSpec,
)

from escalation.closing import (
    MONTHLY_REPORT_SCHEDULE_ID,
    MONTHLY_REPORT_WORKFLOW,
    MonthlyReportRequest,
)

MONTHLY_CRON = "0 6 1 * *"


async def ensure_monthly_report_schedule(
    client: Client, task_queue: str, schedule_id: str = MONTHLY_REPORT_SCHEDULE_ID
) -> bool:
    """Create the schedule unless it exists; True when this call created it. Every worker
    calls it at start, so it is idempotent (an existing schedule is left as operators set it,
    e.g. paused)."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            MONTHLY_REPORT_WORKFLOW,
            MonthlyReportRequest(),
            id=f"{schedule_id}-run",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(cron_expressions=[MONTHLY_CRON]),
    )
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        return False
    return True
