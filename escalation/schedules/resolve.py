"""Who is on call: at an instant, the next change, and the shifts over a period.

Pure functions of the schedule, the instant and the backups mapping (person id -> designated
backup's person id); the precedence rules are described in models.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from escalation.calendar import (
    ensure_utc,
    is_business_time,
    is_within,
    open_intervals,
    weekly_intervals,
)
from escalation.schedules.models import (
    Assignment,
    Layer,
    Level,
    OnCallAnswer,
    OnCallSchedule,
    OnCallSource,
    Shift,
)

__all__ = ["next_handoff", "oncall_timeline", "who_is_on_call"]

_NOBODY = Assignment(person_id=None, source=OnCallSource.NONE, reason="no one is scheduled")
_LEVELS = (Level.PRIMARY, Level.SECONDARY)


def _layer_person(layer: Layer, at: datetime) -> str | None:
    person = layer.rotation.person_at(at)
    if person is None:
        return None
    if layer.restriction is not None and not is_within(
        layer.restriction.weekly, layer.restriction_tz, at
    ):
        return None
    return person


def _on_time_off(schedule: OnCallSchedule, person: str, at: datetime) -> bool:
    return any(t.person == person and t.start <= at < t.end for t in schedule.time_off)


def _scheduled(schedule: OnCallSchedule, level: Level, at: datetime) -> Assignment:
    """Who the schedule names before time off is taken into account."""
    for override in reversed(schedule.overrides):
        if override.level is level and override.start <= at < override.end:
            return Assignment(
                person_id=override.person,
                source=OnCallSource.OVERRIDE,
                reason=f"override {override.start.isoformat()} to {override.end.isoformat()}",
            )
    after_hours = schedule.after_hours
    if (
        level is Level.PRIMARY
        and after_hours is not None
        and schedule.business_hours is not None
        and not is_business_time(schedule.business_hours, at)
        and (person := _layer_person(after_hours, at)) is not None
    ):
        return Assignment(
            person_id=person,
            source=OnCallSource.AFTER_HOURS,
            layer=after_hours.name,
            reason=f"after-hours layer {after_hours.name!r} (outside business hours)",
        )
    for layer in reversed(schedule.layers(level)):
        if (person := _layer_person(layer, at)) is not None:
            return Assignment(
                person_id=person,
                source=OnCallSource.LAYER,
                layer=layer.name,
                reason=f"layer {layer.name!r}",
            )
    return _NOBODY


def _resolve(
    schedule: OnCallSchedule, level: Level, at: datetime, backups: Mapping[str, str]
) -> Assignment:
    scheduled = _scheduled(schedule, level, at)
    away = scheduled.person_id
    if away is None or not _on_time_off(schedule, away, at):
        return scheduled
    chain = [away]
    while (backup := backups.get(chain[-1])) is not None and backup not in chain:
        if not _on_time_off(schedule, backup, at):
            via = f" via {', '.join(chain[1:])}" if len(chain) > 1 else ""
            return Assignment(
                person_id=backup,
                source=OnCallSource.TIME_OFF,
                layer=scheduled.layer,
                replaced_person_id=away,
                reason=f"backup for {away} (time off){via}; scheduled by {scheduled.reason}",
            )
        chain.append(backup)
    return Assignment(
        person_id=None,
        source=OnCallSource.TIME_OFF,
        layer=scheduled.layer,
        replaced_person_id=away,
        reason=f"{away} is on time off and no backup is available; scheduled by {scheduled.reason}",
    )


def who_is_on_call(
    schedule: OnCallSchedule, at: datetime, backups: Mapping[str, str]
) -> OnCallAnswer:
    """Primary and secondary at `at` (person id or None, with the source of each)."""
    at = ensure_utc(at, "at")
    return OnCallAnswer(
        at=at,
        primary=_resolve(schedule, Level.PRIMARY, at, backups),
        secondary=_resolve(schedule, Level.SECONDARY, at, backups),
    )


def _change_points(schedule: OnCallSchedule, start: datetime, end: datetime) -> list[datetime]:
    """Every instant in (start, end) at which the answer may change (a superset)."""
    points: set[datetime] = set()
    for layer in schedule.all_layers():
        points.update(layer.rotation.handoffs(start, end))
        if layer.restriction is not None:
            for lo, hi in weekly_intervals(
                layer.restriction.weekly, layer.restriction_tz, start, end
            ):
                points.update((lo, hi))
    if schedule.after_hours is not None and schedule.business_hours is not None:
        for lo, hi in open_intervals(schedule.business_hours, start, end):
            points.update((lo, hi))
    for override in schedule.overrides:
        points.update((override.start, override.end))
    for time_off in schedule.time_off:
        points.update((time_off.start, time_off.end))
    return sorted(p for p in points if start < p < end)


def oncall_timeline(
    schedule: OnCallSchedule, start: datetime, end: datetime, backups: Mapping[str, str]
) -> list[Shift]:
    """Shifts of both levels within [start, end), clipped to it, ordered by start then level.

    Consecutive stretches with the same assignment are one shift. Stretches where a level has
    nobody are included too (person_id None), so a dry run can show the gaps.
    """
    start, end = ensure_utc(start, "start"), ensure_utc(end, "end")
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    if end == start:
        return []
    bounds = [start, *_change_points(schedule, start, end), end]
    pending: dict[Level, tuple[Assignment, datetime]] = {}
    shifts: list[Shift] = []

    def close(level: Level, until: datetime) -> None:
        assignment, since = pending.pop(level)
        shifts.append(Shift(**assignment.model_dump(), start=since, end=until, level=level))

    for lo in bounds[:-1]:
        answer = who_is_on_call(schedule, lo, backups)
        for level in _LEVELS:
            assignment = answer.level(level)
            if level in pending and pending[level][0] == assignment:
                continue
            if level in pending:
                close(level, lo)
            pending[level] = (assignment, lo)
    for level in list(pending):
        close(level, end)
    shifts.sort(key=lambda s: (s.start, _LEVELS.index(s.level)))
    return shifts


def next_handoff(
    schedule: OnCallSchedule,
    at: datetime,
    backups: Mapping[str, str] | None = None,
    *,
    horizon: timedelta = timedelta(days=366),
) -> datetime | None:
    """The first instant after `at` at which the primary or secondary person changes
    (including to or from nobody); None when nothing changes within `horizon`.

    Without `backups`, someone on time off is replaced by nobody."""
    at = ensure_utc(at, "at")
    backups = backups or {}

    def people(instant: datetime) -> tuple[str | None, str | None]:
        answer = who_is_on_call(schedule, instant, backups)
        return answer.primary.person_id, answer.secondary.person_id

    current = people(at)
    limit = at + horizon
    lo = at
    while lo < limit:
        hi = min(lo + timedelta(days=31), limit)
        for instant in (*_change_points(schedule, lo, hi), hi):
            if people(instant) != current:
                return instant
        lo = hi
    return None
