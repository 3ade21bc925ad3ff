"""Watching the watchers: the pure part of the watchdog (names, models, assessment).

A Temporal Schedule (worker/watchdog.py) starts the `Watchdog` workflow every few minutes on
its own task queue (`watchdog`), served by a small separate worker, never by the escalation
workers it watches. Each run

1. checks that workers are polling the escalations task queue (workflow *and* activity
   pollers seen recently, from DescribeTaskQueue), and
2. checks the adapters: per channel, the notifications that failed permanently and the
   deliveries whose retry budget ran out (so the fallback was used) in a recent window;

and when something is wrong, alerts through channels that do not depend on the failing part:
the alert activity runs on the watchdog's own queue and calls the email and SMS adapters
directly (no escalation worker, no escalation workflow involved), skipping any alert channel
that is itself unhealthy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

WATCHDOG_WORKFLOW: Final = "Watchdog"
WATCHDOG_CHECK: Final = "watchdog_check"
WATCHDOG_ALERT: Final = "watchdog_alert"
WATCHDOG_SCHEDULE_ID: Final = "escalation-watchdog"

# Alert channels, in the order they are tried; each maps to the notification channels whose
# health it depends on (an alert never goes through a channel that is failing).
ALERT_CHANNELS: Final = ("email", "sms")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WatchdogInput(_Model):
    """What one watchdog run checks, and whom it alerts (set by the schedule)."""

    task_queue: str = Field(description="the escalations task queue to watch")
    stale_after_seconds: float = Field(
        default=90.0, gt=0, description="a poller not seen for this long counts as gone"
    )
    window_seconds: float = Field(default=900.0, gt=0, description="adapter health window")
    failure_threshold: int = Field(
        default=5, ge=1, description="failures of one channel in the window that alert"
    )
    alert_emails: list[str] = Field(default_factory=list)
    alert_phone: str | None = None


class ChannelHealth(_Model):
    channel: str
    total: int = 0  # notifications recorded in the window
    failed: int = 0  # recorded as failed (vendor refused)
    exhausted: int = 0  # retry budget ran out, the fallback channel was used

    @property
    def failures(self) -> int:
        return self.failed + self.exhausted


class WatchdogReport(_Model):
    checked_at: datetime
    task_queue: str
    workflow_pollers: int = 0
    activity_pollers: int = 0
    channels: list[ChannelHealth] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    unhealthy_channels: list[str] = Field(default_factory=list)
    alerted_via: list[str] = Field(default_factory=list)


class AlertRequest(_Model):
    """Send the report's problems through `channels` (chosen by `alert_channels`)."""

    idempotency_key: str
    report: WatchdogReport
    channels: list[str]
    emails: list[str] = Field(default_factory=list)
    phone: str | None = None


class AlertResult(_Model):
    sent_via: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)


# Action kinds whose delivery depends on a notification channel (timeline `action` detail of
# `delivery_retries_exhausted` -> the channel that was down).
ACTION_CHANNEL: Final = {
    "page": "pagerduty",
    "slack": "slack",
    "email": "email",
    "executive_notification": "email",
    "customer_communication": "email",
    "sms": "sms",
    "phone": "phone",
    "status_page": "statuspage",
    "war_room": "slack",
    "file_bug": "jira",
}


def assess(
    *,
    report: WatchdogReport,
    request: WatchdogInput,
) -> WatchdogReport:
    """Fill `problems` and `unhealthy_channels` from the counts in `report`."""
    problems: list[str] = []
    if report.workflow_pollers == 0:
        problems.append(
            f"no worker is polling workflow tasks on task queue {request.task_queue!r} "
            f"(none seen in the last {request.stale_after_seconds:.0f}s): escalations are "
            "not advancing"
        )
    if report.activity_pollers == 0:
        problems.append(
            f"no worker is polling activity tasks on task queue {request.task_queue!r}: "
            "nothing is being delivered"
        )
    unhealthy = []
    for health in report.channels:
        if health.failures >= request.failure_threshold:
            unhealthy.append(health.channel)
            problems.append(
                f"channel {health.channel}: {health.failed} failed and {health.exhausted} "
                f"retry budgets exhausted in the last {request.window_seconds / 60:.0f} min "
                f"(of {health.total} recorded)"
            )
    return report.model_copy(update={"problems": problems, "unhealthy_channels": unhealthy})


def alert_channels(report: WatchdogReport, request: WatchdogInput) -> list[str]:
    """The alert channels to use: configured ones that are not themselves failing. When every
    configured channel is unhealthy, all of them are tried anyway (best effort)."""
    configured: list[str] = [
        channel
        for channel in ALERT_CHANNELS
        if (channel == "email" and request.alert_emails)
        or (channel == "sms" and request.alert_phone)
    ]
    healthy = [c for c in configured if c not in report.unhealthy_channels]
    return healthy or configured


def alert_text(report: WatchdogReport) -> str:
    lines = [f"Escalation watchdog, {report.checked_at:%Y-%m-%d %H:%M} UTC:"]
    lines += [f"- {problem}" for problem in report.problems]
    return "\n".join(lines)
