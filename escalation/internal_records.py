"""Notifications that live only in our own store (in-app notifications and queue entries).

They need no vendor, so once the workflow is patched (`internal-records-with-timeline`) it
does not run a `deliver_action` activity for each: it writes the notification row in the same
transaction as the timeline line that reports it. Both sides build the row's idempotency key
here, so a row written either way is the same row.
"""

from __future__ import annotations

from escalation.models import (
    ActionOutcome,
    DeliveryResult,
    InternalNotification,
    PlannedAction,
)
from escalation.policy import ActionKind

# Kinds whose delivery is a row in our own store and nothing else. Ownership changes and
# reassignments also read configuration (pools, owners), so they stay activities.
STORE_ONLY_KINDS = frozenset({ActionKind.IN_APP, ActionKind.QUEUE})


def notification_key(
    escalation_key: str,
    step_index: int,
    action_index: int,
    kind: ActionKind,
    channel: str,
    target: str,
) -> str:
    """The idempotency key of one notification unit (the notifications table's key)."""
    return f"{escalation_key}:s{step_index}:a{action_index}:{kind.value}:{channel}:{target}"


def internal_target(action: PlannedAction) -> str:
    """Who an in-app notification or queue entry is for: the action's target, or the team."""
    return action.target.value if action.target else "team"


def store_only_notification(
    *,
    escalation_key: str,
    ticket_id: str,
    step_index: int,
    action_index: int,
    action: PlannedAction,
) -> InternalNotification:
    """The row an in-app notification or queue entry writes, and the result it reports."""
    target = internal_target(action)
    channel = action.kind.value
    return InternalNotification(
        idempotency_key=notification_key(
            escalation_key, step_index, action_index, action.kind, channel, target
        ),
        escalation_key=escalation_key,
        ticket_id=ticket_id,
        step_index=step_index,
        action=action.kind,
        channel=channel,
        target=target,
        result=DeliveryResult(outcome=ActionOutcome.DELIVERED, channel=channel, detail=target),
    )
