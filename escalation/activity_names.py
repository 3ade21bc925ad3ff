"""Names of activities, workflows, signals, updates and queries.

Names live in histories and the Temporal UI, so they are spelled once, here, and shared by the
workflow (which calls activities by name, keeping I/O libraries out of its sandbox) and the
activity implementations.
"""

from typing import Final

ESCALATION_WORKFLOW: Final = "Escalation"

PLAN_ESCALATION: Final = "plan_escalation"
RESOLVE_STEP: Final = "resolve_step"
CHECK_AVAILABILITY: Final = "check_availability"
HAND_BACK: Final = "hand_back_resolution"
DELIVER_ACTION: Final = "deliver_action"
SYNC_CHANNELS: Final = "sync_channels"
RECORD_TIMELINE: Final = "record_timeline"
RECORD_TIMELINE_BATCH: Final = "record_timeline_batch"
# ApplicationError type of a store write whose input the database refuses (not retried).
STORE_REFUSED_INPUT: Final = "StoreRefusedInput"

SIGNAL_ACKNOWLEDGE: Final = "acknowledge"
SIGNAL_RESOLVE: Final = "resolve"
SIGNAL_REASSIGN: Final = "reassign"
SIGNAL_ADD_NOTE: Final = "add_note"
SIGNAL_TICKET_UPDATED: Final = "ticket_updated"
SIGNAL_AGENT_CONFIRMED: Final = "agent_confirmed"
QUERY_STATE: Final = "state"
# Synchronous variants used by the API: same effect as the signals, but they answer with the
# new state, and their validators reject an impossible transition (ack after resolve -> 409).
UPDATE_ACKNOWLEDGE: Final = "acknowledge_sync"
UPDATE_RESOLVE: Final = "resolve_sync"
UPDATE_REASSIGN: Final = "reassign_sync"
UPDATE_ARBITRATE: Final = "arbitrate"
