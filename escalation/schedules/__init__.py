"""On-call schedules: models (models.py), resolution (resolve.py), iCalendar export (ical.py).

Pure and deterministic like the rest of escalation/: every function takes the instant.
"""

from escalation.schedules.ical import schedule_to_ics
from escalation.schedules.models import (
    Assignment,
    Layer,
    Level,
    OnCallAnswer,
    OnCallSchedule,
    OnCallSource,
    Override,
    Restriction,
    Rotation,
    RotationType,
    Shift,
    TimeOff,
)
from escalation.schedules.resolve import next_handoff, oncall_timeline, who_is_on_call

__all__ = [
    "Assignment",
    "Layer",
    "Level",
    "OnCallAnswer",
    "OnCallSchedule",
    "OnCallSource",
    "Override",
    "Restriction",
    "Rotation",
    "RotationType",
    "Shift",
    "TimeOff",
    "next_handoff",
    "oncall_timeline",
    "schedule_to_ics",
    "who_is_on_call",
]
