"""The worker's own metrics and log context, next to the Temporal SDK's.

Our instruments live on the SDK runtime's metric meter, so the worker serves one Prometheus
endpoint (ESCALATION_WORKER_METRICS_ADDRESS) with both the SDK's `temporal_*` metrics and ours:

* `escalation_started{priority,trigger}`: escalations started (counted when the workflow
  first runs, through `workflow.metric_meter()`, which stays silent during replay);
* `escalation_notifications{channel,outcome}`: notification units recorded by delivery;
* `escalation_vendor_errors{vendor,status}`: vendor calls that failed (`status` is the HTTP
  status, or `network`);
* `escalation_acknowledgement_latency_seconds{priority}`: escalation start to acknowledgement.

`TelemetryInterceptor` (registered by the worker) binds workflow id, ticket id, step, activity
and attempt into structlog's contextvars for every activity, so every log line an activity
writes carries them, and observes acknowledgement latency from the timeline it records.
Without `install()` every instrument is a no-op, so activities work unchanged in unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from temporalio import activity, workflow
from temporalio.common import MetricCounter, MetricHistogramFloat, MetricMeter
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from escalation import activity_names as names
from escalation.models import TimelineBatch, TimelineEntry
from escalation.triggers.kinds import TriggerKind

STARTED = "escalation_started"
NOTIFICATIONS = "escalation_notifications"
VENDOR_ERRORS = "escalation_vendor_errors"
ACK_LATENCY = "escalation_acknowledgement_latency_seconds"
# Seconds, from a P0 answered at once to a P3 answered the next day.
ACK_LATENCY_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400]

_KNOWN_TRIGGERS = frozenset(kind.value for kind in TriggerKind)


@dataclass(frozen=True)
class _Instruments:
    notifications: MetricCounter
    vendor_errors: MetricCounter
    ack_latency: MetricHistogramFloat


def _create(meter: MetricMeter) -> _Instruments:
    return _Instruments(
        notifications=meter.create_counter(
            NOTIFICATIONS, "notification units recorded, by channel and outcome"
        ),
        vendor_errors=meter.create_counter(
            VENDOR_ERRORS, "failed vendor calls, by vendor and HTTP status (or network)"
        ),
        ack_latency=meter.create_histogram_float(
            ACK_LATENCY, "escalation start to acknowledgement, seconds", "s"
        ),
    )


_instruments = _create(MetricMeter.noop)


def install(meter: MetricMeter) -> None:
    """Send our instruments to this meter (the worker runtime's)."""
    global _instruments
    _instruments = _create(meter)


def notification(channel: str, outcome: str) -> None:
    _instruments.notifications.add(1, {"channel": channel, "outcome": outcome})


def vendor_error(vendor: str, status: int | None) -> None:
    _instruments.vendor_errors.add(
        1, {"vendor": vendor, "status": str(status) if status is not None else "network"}
    )


def acknowledgement_latency(priority: str, seconds: float) -> None:
    _instruments.ack_latency.record(max(0.0, seconds), {"priority": priority})


def trigger_label(triggers: list[str]) -> str:
    """The first trigger of an escalation as a bounded label value (`explicit` when the
    escalation was requested directly; `other` for a name outside the trigger matrix)."""
    if not triggers:
        return "explicit"
    first = triggers[0]
    return first if first in _KNOWN_TRIGGERS else "other"


# ---------------------------------------------------------------------------- interceptor
def _log_context(arg: Any) -> dict[str, Any]:
    info = activity.info()
    return {
        "workflow_id": info.workflow_id,
        "ticket_id": getattr(arg, "ticket_id", None),
        "step": getattr(arg, "step_index", None),
        "activity": info.activity_type,
        "attempt": info.attempt,
    }


def _newly_recorded(arg: Any, result: Any) -> list[TimelineEntry]:
    """Timeline lines an activity recorded for the first time (a retried record does not
    count twice): `record_timeline` answers True, `record_timeline_batch` the new keys."""
    if isinstance(arg, TimelineEntry):
        return [arg] if result is True else []
    if isinstance(arg, TimelineBatch) and isinstance(result, list):
        new = set(result)
        return [entry for entry in arg.entries if entry.event_key in new]
    return []


class _ActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        arg = input.args[0] if input.args else None
        with structlog.contextvars.bound_contextvars(**_log_context(arg)):
            result = await self.next.execute_activity(input)
        for entry in _newly_recorded(arg, result):
            if entry.kind == "acknowledged" and entry.started_at is not None:
                latency = (entry.at - entry.started_at).total_seconds()
                acknowledgement_latency(entry.priority.value, latency)
        return result


class _WorkflowInbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        info = workflow.info()
        arg = input.args[0] if input.args else None
        if info.workflow_type == names.ESCALATION_WORKFLOW and not info.continued_run_id:
            priority = getattr(getattr(arg, "priority", None), "value", "unknown")
            workflow.metric_meter().create_counter(
                STARTED, "escalations started, by priority and first trigger"
            ).add(1, {"priority": priority, "trigger": trigger_label(getattr(arg, "triggers", []))})
        return await self.next.execute_workflow(input)


class TelemetryInterceptor(Interceptor):
    """Worker interceptor: log context and metrics for our activities and workflows."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityInbound(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _WorkflowInbound
