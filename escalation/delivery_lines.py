"""The timeline lines that report a delivery (`action_delivered` / `action_failed`) and a
channel sync (`channels_synced`).

Once a run is patched (`deliveries-record-themselves`), the workflow reserves the line's
sequence number when it starts the activity and hands the line over in the request; the
activity writes it when its work is done. That saves a store activity and a workflow task for
every delivery, which is most of a P0's work. When the activity could not write it (every
attempt failed, the store refused the line, or a worker from before the patch ran it), the
workflow writes the same line itself: same event key, same sequence, so the timeline has no
gap and never a line twice.

A reserved line keeps its place in the order (right after the step that dispatched it); its
`at` says when the delivery landed. Its row snapshot is the escalation's state at dispatch;
the store applies a snapshot only if no later line was applied already.
"""

from __future__ import annotations

from datetime import datetime

from escalation.models import (
    ActionOutcome,
    DeliveryResult,
    SyncResult,
    TimelineEntry,
)
from escalation.policy import ActionKind

# Ownership changes and reassignments change the assignee, which the line's snapshot must
# carry at its own (fresh) sequence: the workflow keeps recording those itself.
_WORKFLOW_RECORDED_KINDS = frozenset({ActionKind.OWNERSHIP_CHANGE, ActionKind.REASSIGN})


def records_itself(kind: ActionKind) -> bool:
    """Does a patched run hand this action's timeline line to its activity?"""
    return kind not in _WORKFLOW_RECORDED_KINDS


def delivery_kind(result: DeliveryResult) -> str:
    return "action_failed" if result.outcome is ActionOutcome.FAILED else "action_delivered"


def delivery_detail(action: ActionKind, result: DeliveryResult) -> dict[str, str]:
    return {
        "action": action.value,
        "channel": result.channel,
        "outcome": result.outcome.value,
        "detail": result.detail[:300],
    }


def delivery_line(
    reserved: TimelineEntry, action: ActionKind, result: DeliveryResult, at: datetime
) -> TimelineEntry:
    """The reserved line, filled in with what the delivery did."""
    return reserved.model_copy(
        update={
            "kind": delivery_kind(result),
            "at": at,
            "detail": delivery_detail(action, result),
        }
    )


def sync_detail(status: str, result: SyncResult) -> dict[str, str]:
    return {
        "status": status,
        "pages": str(result.pages_updated),
        "messages": str(result.messages_updated),
        "failures": "; ".join(result.failures)[:300],
    }


def sync_line(reserved: TimelineEntry, result: SyncResult, at: datetime) -> TimelineEntry:
    """The reserved `channels_synced` line, filled in with what the sync did."""
    return reserved.model_copy(
        update={
            "kind": "channels_synced",
            "at": at,
            "detail": sync_detail(reserved.status.value, result),
        }
    )
