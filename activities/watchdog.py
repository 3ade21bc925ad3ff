"""Watchdog activities (escalation/watchdog.py has the design): count the pollers of the
escalations task queue and the recent adapter failures, and send an alert straight through
the email and SMS adapters. They run on the watchdog's own task queue, in the watchdog worker
(worker/watchdog.py), so they keep working when every escalation worker is gone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import structlog
from temporalio import activity
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.adapters.base import PermanentVendorError, RetryableVendorError
from activities.adapters.registry import Adapters
from escalation.watchdog import (
    WATCHDOG_ALERT,
    WATCHDOG_CHECK,
    AlertRequest,
    AlertResult,
    WatchdogInput,
    WatchdogReport,
    alert_text,
)
from store.repository import Repository
from store.watchdog import channel_health

log = structlog.get_logger("escalation.watchdog")


def _now() -> datetime:
    return datetime.now(UTC)


class WatchdogActivities:
    """Receives the Temporal client (DescribeTaskQueue), the store and the adapters."""

    def __init__(self, client: Client, repository: Repository, adapters: Adapters) -> None:
        self._client = client
        self._repository = repository
        self._adapters = adapters

    async def _pollers(
        self, task_queue: str, kind: TaskQueueType.ValueType, since: datetime
    ) -> int:
        response = await self._client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=self._client.namespace,
                task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
                task_queue_type=kind,
            )
        )
        # The server remembers a poller for minutes after its last poll; only recent ones count.
        return sum(
            1
            for poller in response.pollers
            if poller.last_access_time.ToDatetime(tzinfo=UTC) >= since
        )

    @activity.defn(name=WATCHDOG_CHECK)
    async def check(self, request: WatchdogInput) -> WatchdogReport:
        now = _now()
        since = now - timedelta(seconds=request.stale_after_seconds)
        workflow_pollers, activity_pollers = await asyncio.gather(
            self._pollers(request.task_queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, since),
            self._pollers(request.task_queue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, since),
        )
        channels = await asyncio.to_thread(
            channel_health,
            self._repository.sessions,
            now - timedelta(seconds=request.window_seconds),
        )
        return WatchdogReport(
            checked_at=now,
            task_queue=request.task_queue,
            workflow_pollers=workflow_pollers,
            activity_pollers=activity_pollers,
            channels=channels,
        )

    @activity.defn(name=WATCHDOG_ALERT)
    async def alert(self, request: AlertRequest) -> AlertResult:
        """Send through each requested channel that has not already sent in an earlier
        attempt (kept in the heartbeat details, so a retry does not page twice)."""
        info = activity.info()
        already: list[str] = list(info.heartbeat_details[0]) if info.heartbeat_details else []
        result = AlertResult(sent_via=list(already))
        text = alert_text(request.report)
        retryable: list[str] = []
        for channel in request.channels:
            if channel in already:
                continue
            try:
                await self._send(channel, request, text)
            except RetryableVendorError as err:
                retryable.append(f"{channel}: {err}")
                result.failed[channel] = str(err)
                continue
            except PermanentVendorError as err:
                result.failed[channel] = str(err)
                continue
            result.sent_via.append(channel)
            activity.heartbeat(result.sent_via)
        log.warning(
            "watchdog_alert",
            problems=len(request.report.problems),
            sent_via=result.sent_via,
            failed=list(result.failed),
        )
        if not result.sent_via and retryable:
            raise ApplicationError("; ".join(retryable), type="RetryableVendorError")
        return result

    async def _send(self, channel: str, request: AlertRequest, text: str) -> None:
        subject = (
            f"[watchdog] {len(request.report.problems)} problem(s) on {request.report.task_queue}"
        )
        if channel == "email":
            await self._adapters.email.send(
                to=list(request.emails),
                subject=subject,
                body=text + "\n",
                idempotency_key=f"{request.idempotency_key}:email",
                escalation_id=request.idempotency_key,
            )
        elif channel == "sms":
            assert request.phone is not None
            await self._adapters.twilio.send_sms(
                to=request.phone,
                body=_sms(request.report.problems),
                idempotency_key=f"{request.idempotency_key}:sms",
            )
        else:
            raise PermanentVendorError("watchdog", f"unknown alert channel {channel!r}")


def _sms(problems: Sequence[str]) -> str:
    first = problems[0] if problems else "problem"
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"Escalation watchdog: {first}{more}"[:1600]
