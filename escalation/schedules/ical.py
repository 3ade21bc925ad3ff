"""iCalendar (RFC 5545) export of a schedule's shifts, written by hand (no dependency).

One VEVENT per shift with someone on call (gaps are left out), times in UTC, CRLF line
endings, content lines folded at 75 octets. UIDs are derived from the team, level and shift
start, so a re-exported feed updates the same events in calendar clients instead of adding
copies; DTSTAMP comes from the caller (no clock is read here).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from escalation.calendar import ensure_utc
from escalation.schedules.models import Level, OnCallSchedule, Shift
from escalation.schedules.resolve import oncall_timeline

__all__ = ["escape_text", "fold_line", "schedule_to_ics"]

PRODID = "-//escalation-routing//on-call schedule//EN"
_UID_DOMAIN = "escalation-routing"
_MAX_OCTETS = 75
_UNSAFE_UID = re.compile(r"[^A-Za-z0-9._-]+")


def escape_text(value: str) -> str:
    """Escape a TEXT property value (RFC 5545 section 3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold_line(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets (UTF-8), never splitting a
    character; continuation lines start with one space (RFC 5545 section 3.1)."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > _MAX_OCTETS:
            pieces.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += octets
    pieces.append("".join(current))
    return "\r\n".join(pieces)


def _stamp(value: datetime) -> str:
    return ensure_utc(value).strftime("%Y%m%dT%H%M%SZ")


def _level_label(level: Level) -> str:
    return "Primary" if level is Level.PRIMARY else "Secondary"


def _event(schedule: OnCallSchedule, shift: Shift, name: str, dtstamp: str) -> list[str]:
    team = _UNSAFE_UID.sub("-", schedule.team).strip("-") or "team"
    uid = f"oncall-{team}-{shift.level.value}-{_stamp(shift.start)}@{_UID_DOMAIN}"
    description = f"{shift.reason} (person id: {shift.person_id})"
    return [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{dtstamp}",
        f"DTSTART:{_stamp(shift.start)}",
        f"DTEND:{_stamp(shift.end)}",
        f"SUMMARY:{escape_text(f'{_level_label(shift.level)} on-call: {name}')}",
        f"DESCRIPTION:{escape_text(description)}",
        f"CATEGORIES:on-call,{shift.level.value}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
    ]


def schedule_to_ics(
    schedule: OnCallSchedule,
    start: datetime,
    end: datetime,
    backups: Mapping[str, str],
    person_names: Mapping[str, str],
    dtstamp: datetime,
) -> str:
    """The schedule's shifts in [start, end) as an iCalendar document (both levels).

    `person_names` maps person ids to display names (the id is used when a name is missing);
    `dtstamp` is the export instant, written as every event's DTSTAMP.
    """
    stamp = _stamp(dtstamp)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(f'On-call: {schedule.team}')}",
    ]
    for shift in oncall_timeline(schedule, start, end, backups):
        if shift.person_id is None:
            continue
        name = person_names.get(shift.person_id, shift.person_id)
        lines.extend(_event(schedule, shift, name, stamp))
    lines.append("END:VCALENDAR")
    return "".join(fold_line(line) + "\r\n" for line in lines)
