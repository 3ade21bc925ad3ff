"""Read an escalation's decisions back from its Temporal history, independently of the
workflow's own state: when each step was decided (the workflow task whose commands started
the step or recorded it as skipped), which signals that task had already seen, and the
durable timer the step waited on.

This is what makes the chaos oracle independent of load and wall-clock timing: a step must
have run exactly when no stop signal (acknowledge/resolve) had reached the workflow by the
workflow task that decided it, and its timer must have been aimed at its cadence offset.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle

from escalation import activity_names as names

WFT_STARTED = EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
WFT_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
TIMER_STARTED = EventType.EVENT_TYPE_TIMER_STARTED
TIMER_FIRED = EventType.EVENT_TYPE_TIMER_FIRED
MARKER = EventType.EVENT_TYPE_MARKER_RECORDED


def _payload_json(payloads: Any) -> Any:
    try:
        return json.loads(payloads.payloads[0].data)
    except (IndexError, ValueError):
        return None


@dataclass
class StepDecision:
    index: int
    ran: bool
    decided_in: int  # WorkflowTaskStarted event id of the deciding workflow task
    decided_at: float  # its time (what workflow.now() said)
    signals_seen: list[str]  # signal names delivered before that workflow task
    timer_due_at: float | None = None  # when the step's timer was set to fire
    timer_fired_in: int | None = None  # workflow task that delivered the timer


@dataclass
class History:
    events: list[HistoryEvent]
    wft_started: list[int] = field(default_factory=list)
    wft_time: dict[int, float] = field(default_factory=dict)
    completed_to_started: dict[int, int] = field(default_factory=dict)
    signals: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    async def fetch(cls, handle: WorkflowHandle[Any, Any]) -> History:
        events = [event async for event in handle.fetch_history_events()]
        history = cls(events)
        for event in events:
            if event.event_type == WFT_STARTED:
                history.wft_started.append(event.event_id)
                history.wft_time[event.event_id] = event.event_time.ToDatetime().timestamp()
            elif event.event_type == WFT_COMPLETED:
                attributes = event.workflow_task_completed_event_attributes
                history.completed_to_started[event.event_id] = attributes.started_event_id
            elif event.event_type == SIGNALED:
                name = event.workflow_execution_signaled_event_attributes.signal_name
                history.signals.append((event.event_id, name))
        return history

    def plan_loaded_at(self) -> int | None:
        """Event id of the completion of the first plan_escalation activity."""
        scheduled = None
        for event in self.events:
            if event.event_type == SCHEDULED and (
                event.activity_task_scheduled_event_attributes.activity_type.name
                == names.PLAN_ESCALATION
            ):
                scheduled = event.event_id
            elif (
                scheduled is not None
                and event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
                and event.activity_task_completed_event_attributes.scheduled_event_id == scheduled
            ):
                return event.event_id
        return None

    def signal_ids(self, names_: set[str]) -> list[int]:
        return [event_id for event_id, name in self.signals if name in names_]

    def delivered_in(self, event_id: int) -> int | None:
        """The workflow task (its started event id) that delivered `event_id` to the code: the
        first one after it that completed (an attempt lost with a killed worker or timed out
        delivered nothing)."""
        completed = sorted(self.completed_to_started.values())
        position = bisect_right(completed, event_id)
        return completed[position] if position < len(completed) else None

    def step_decisions(self, labels: dict[int, str]) -> dict[int, StepDecision]:
        """Per step index: whether it ran or was skipped, and what the workflow knew then.
        `labels` maps step index to label (the step's timer is summarised `until <label>`)."""
        decisions: dict[int, StepDecision] = {}
        timers: dict[str, tuple[float, int | None]] = {}  # label -> (fires at, fired in)
        timer_ids: dict[str, str] = {}
        # Workflow time moves on to a local activity's completion within its workflow task:
        # a timer started after one counts from there (per workflow task completed event id).
        local_done: dict[int, float] = {}
        for event in self.events:
            if event.event_type == MARKER:
                done = _local_activity_completed(event)
                if done is not None:
                    completed_id = (
                        event.marker_recorded_event_attributes.workflow_task_completed_event_id
                    )
                    local_done[completed_id] = max(local_done.get(completed_id, 0.0), done)
            if event.event_type == TIMER_STARTED:
                attributes = event.timer_started_event_attributes
                summary = _payload_json_single(event.user_metadata.summary)
                if isinstance(summary, str) and summary.startswith("until "):
                    completed_id = attributes.workflow_task_completed_event_id
                    started_in = self.completed_to_started.get(completed_id)
                    base = max(
                        self.wft_time.get(started_in or -1, 0.0), local_done.get(completed_id, 0.0)
                    )
                    fires = base + attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
                    label = summary.removeprefix("until ")
                    timers[label] = (fires, None)
                    timer_ids[attributes.timer_id] = label
            elif event.event_type == TIMER_FIRED:
                label_or_none = timer_ids.get(event.timer_fired_event_attributes.timer_id)
                if label_or_none is not None:
                    fires, _ = timers[label_or_none]
                    timers[label_or_none] = (fires, self.delivered_in(event.event_id))
            elif event.event_type in (SCHEDULED, MARKER):
                found, completed_id = _step_decisions_in(event)
                if not found:
                    continue
                # (the time-skipping test server names the started event here instead)
                started = self.completed_to_started.get(completed_id, completed_id)
                seen = [name for event_id, name in self.signals if event_id < started]
                for index, ran in found:
                    # A step staffed and then skipped (a resolve arrived while it was being
                    # staffed): the skip, decided later, is the step's decision.
                    if index in decisions and (ran or not decisions[index].ran):
                        continue
                    decision = StepDecision(
                        index=index,
                        ran=ran,
                        decided_in=started,
                        decided_at=self.wft_time[started],
                        signals_seen=seen,
                    )
                    decisions[index] = decision
                    label = labels.get(index, "")
                    if label and label in timers:
                        decision.timer_due_at, decision.timer_fired_in = timers[label]
        return decisions


def _local_activity_completed(event: HistoryEvent) -> float | None:
    """When a local activity recorded in this marker completed (epoch seconds), if it is one."""
    marker = event.marker_recorded_event_attributes
    details = marker.details.get("data")
    data = _payload_json(details) if details is not None else None
    if marker.marker_name != "core_local_activity" or not isinstance(data, dict):
        return None
    done = data.get("complete_time")
    if not isinstance(done, dict):
        return None
    return int(done.get("seconds", 0)) + int(done.get("nanos", 0)) / 1e9


def _step_decisions_in(event: HistoryEvent) -> tuple[list[tuple[int, bool]], int]:
    """(step index, ran) decided by the workflow task that scheduled this activity or
    recorded this local activity, and that task's completed event id. A step runs when its
    on-call look-up (`resolve_step`, a local activity since the `lookups-as-local-activities`
    patch) starts; it is skipped when its `step_skipped` timeline line is written."""
    if event.event_type == MARKER:
        marker = event.marker_recorded_event_attributes
        details = marker.details.get("data")
        data = _payload_json(details) if details is not None else None
        if marker.marker_name != "core_local_activity" or not isinstance(data, dict):
            return [], 0
        if data.get("activity_type") != names.RESOLVE_STEP:
            return [], 0
        index = int(str(data["activity_id"]).rsplit(":s", 1)[1])
        return [(index, True)], marker.workflow_task_completed_event_id
    attributes = event.activity_task_scheduled_event_attributes
    kind = attributes.activity_type.name
    data = _payload_json(attributes.input)
    if not isinstance(data, dict):
        return [], 0
    if kind == names.RESOLVE_STEP:
        found = [(int(data["step"]["index"]), True)]
    else:  # a skip is a timeline line, alone or in a batch (written a bit later)
        found = [
            (int(line["step_index"]), False)
            for line in timeline_lines(kind, data)
            if line.get("kind") == "step_skipped"
        ]
    return found, attributes.workflow_task_completed_event_id


def timeline_lines(activity_type: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The timeline lines an activity's input carries: one, a batch of them, a delivery's or
    a sync's reserved line (patch `deliveries-record-themselves`), or none."""
    if activity_type == names.RECORD_TIMELINE:
        return [data]
    if activity_type == names.RECORD_TIMELINE_BATCH:
        return [line for line in data.get("entries", []) if isinstance(line, dict)]
    reserved = data.get("timeline")
    return [reserved] if isinstance(reserved, dict) else []


def _payload_json_single(payload: Any) -> Any:
    try:
        return json.loads(payload.data) if payload.data else None
    except ValueError:
        return None
