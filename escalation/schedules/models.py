"""On-call schedule models: rotations, layers, levels, overrides, time off, after hours.

Plain data that loads from dicts (the policy YAML under teams/schedules, the API) and validates
with errors that name the field. Resolution lives in resolve.py.

    schedule = OnCallSchedule.model_validate({
        "team": "engineering",
        "primary": [{
            "name": "follow-the-sun",
            "rotation": {"type": "weekly", "handoff_time": "09:00",
                         "timezone": "America/New_York", "start_date": "2024-01-01",
                         "participants": ["dan", "erin"]},
        }],
        "overrides": [{"person": "max", "start": "2024-03-01T17:00:00Z",
                       "end": "2024-03-02T09:00:00Z", "level": "primary"}],
    })

Semantics (like PagerDuty): a level is an ordered list of layers and a later layer overrides
earlier ones wherever it has someone; outside a layer's restriction it has nobody. Outside the
schedule's business hours the after-hours layer overrides the primary level's layers where it
has someone. Overrides beat both (the last matching override in the list wins). Whoever the
schedule then names, if they are on time off, their designated backup covers (following the
backup's backup while that one is also away; nobody when the chain ends or loops).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from escalation.calendar import (
    HHMM,
    BusinessHours,
    TimeZoneName,
    UTCDatetime,
    WeeklyRanges,
    ensure_utc,
    local_to_utc,
    parse_hhmm,
)

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
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PersonId = Annotated[str, Field(min_length=1, max_length=64)]

_LENGTH = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*$")


def _parse_length(value: object) -> object:
    """'3d', '12h', '1d12h' (whole hours) -> timedelta; other input is left to pydantic."""
    if isinstance(value, str) and (match := _LENGTH.match(value)) and any(match.groups()):
        days, hours = (int(group) if group else 0 for group in match.groups())
        return timedelta(days=days, hours=hours)
    if isinstance(value, str) and not value.upper().startswith("P"):
        raise ValueError(f"shift length must look like '3d', '12h' or '1d12h', got {value!r}")
    return value


ShiftLength = Annotated[timedelta, BeforeValidator(_parse_length)]


class RotationType(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    CUSTOM = "custom"  # any whole number of hours, e.g. '12h' or '3d'


class Level(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"


class Rotation(_Strict):
    """Participants take turns in order; the first shift starts on `start_date` at
    `handoff_time` local to `timezone`, and every handoff happens at that wall-clock time
    (09:00 in New York stays 09:00 across DST: those shifts are 23 or 25 hours long).
    A weekly rotation hands off on the weekday of `start_date`."""

    type: RotationType = RotationType.WEEKLY
    length: ShiftLength | None = Field(
        default=None,
        validate_default=True,
        description="custom rotations only: '12h', '3d', '1d12h'",
    )
    handoff_time: HHMM = "09:00"
    timezone: TimeZoneName
    start_date: date
    participants: list[PersonId] = Field(min_length=1)

    @field_validator("length")
    @classmethod
    def _check_length(cls, length: timedelta | None, info: ValidationInfo) -> timedelta | None:
        kind = info.data.get("type")
        if kind is RotationType.CUSTOM:
            if length is None:
                raise ValueError("a custom rotation needs a length such as '12h' or '3d'")
            if length < timedelta(hours=1) or length % timedelta(hours=1):
                raise ValueError(f"must be a whole number of hours (at least 1h), got {length}")
        elif length is not None and kind is not None:
            raise ValueError(f"only custom rotations take a length (type is {kind.value})")
        return length

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def shift_length(self) -> timedelta:
        if self.type is RotationType.DAILY:
            return timedelta(days=1)
        if self.type is RotationType.WEEKLY:
            return timedelta(days=7)
        assert self.length is not None  # checked by the validator
        return self.length

    def _anchor(self) -> datetime:
        minutes = parse_hhmm(self.handoff_time)
        return datetime.combine(self.start_date, time(minutes // 60, minutes % 60))

    def handoff(self, index: int) -> datetime:
        """UTC start of shift number `index` (0 is the first shift)."""
        return local_to_utc(self._anchor() + index * self.shift_length, self.tz)

    def shift_index(self, at: datetime) -> int:
        """Number of the shift in force at `at`; negative before the rotation starts."""
        at = ensure_utc(at, "at")
        local = at.astimezone(self.tz).replace(tzinfo=None)
        index = (local - self._anchor()) // self.shift_length
        while self.handoff(index) > at:
            index -= 1
        while self.handoff(index + 1) <= at:
            index += 1
        return index

    def person_at(self, at: datetime) -> str | None:
        index = self.shift_index(at)
        return self.participants[index % len(self.participants)] if index >= 0 else None

    def handoffs(self, start: datetime, end: datetime) -> list[datetime]:
        """Shift starts within [start, end), UTC."""
        start, end = ensure_utc(start, "start"), ensure_utc(end, "end")
        index = max(self.shift_index(start), 0)
        result = []
        while (instant := self.handoff(index)) < end:
            if instant >= start:
                result.append(instant)
            index += 1
        return result


class Restriction(_Strict):
    """The layer has someone only inside these weekly windows, e.g. {'mon-fri': '09:00-17:00'}.
    The time zone defaults to the layer's rotation time zone."""

    timezone: TimeZoneName | None = None
    weekly: WeeklyRanges

    @model_validator(mode="after")
    def _not_empty(self) -> Restriction:
        if not any(self.weekly.values()):
            raise ValueError("weekly: at least one time range is required")
        return self


class Layer(_Strict):
    name: str = Field(min_length=1, max_length=100)
    rotation: Rotation
    restriction: Restriction | None = None

    @property
    def restriction_tz(self) -> ZoneInfo:
        if self.restriction is not None and self.restriction.timezone is not None:
            return ZoneInfo(self.restriction.timezone)
        return self.rotation.tz


def _end_after_start(end: datetime, info: ValidationInfo) -> datetime:
    start = info.data.get("start")
    if isinstance(start, datetime) and end <= start:
        raise ValueError(f"end {end.isoformat()} must be after start {start.isoformat()}")
    return end


class Override(_Strict):
    """`person` takes the level's shift for [start, end) whatever the layers say."""

    person: PersonId
    start: UTCDatetime
    end: UTCDatetime
    level: Level = Level.PRIMARY
    note: str = ""

    _end = field_validator("end")(_end_after_start)


class TimeOff(_Strict):
    """`person` is away for [start, end): their shifts go to their designated backup."""

    person: PersonId
    start: UTCDatetime
    end: UTCDatetime
    note: str = ""

    _end = field_validator("end")(_end_after_start)


class OnCallSchedule(_Strict):
    """A team's on-call schedule. `business_hours` decides when `after_hours` applies (the
    policy loader may fill it from the team's business hours)."""

    team: str = Field(min_length=1)
    primary: list[Layer] = Field(default_factory=list)
    secondary: list[Layer] = Field(default_factory=list)
    after_hours: Layer | None = None
    business_hours: BusinessHours | None = None
    overrides: list[Override] = Field(default_factory=list)
    time_off: list[TimeOff] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> OnCallSchedule:
        for level, layers in ((Level.PRIMARY, self.primary), (Level.SECONDARY, self.secondary)):
            names = [layer.name for layer in layers]
            duplicates = sorted({name for name in names if names.count(name) > 1})
            if duplicates:
                raise ValueError(f"{level.value}: duplicate layer name(s) {', '.join(duplicates)}")
        if self.after_hours is not None and self.business_hours is None:
            raise ValueError("after_hours: needs business_hours to know when it applies")
        return self

    def layers(self, level: Level) -> list[Layer]:
        return self.primary if level is Level.PRIMARY else self.secondary

    def all_layers(self) -> list[Layer]:
        extra = [self.after_hours] if self.after_hours is not None else []
        return [*self.primary, *self.secondary, *extra]

    def person_ids(self) -> set[str]:
        """Every person the schedule names (for reference checks against the policy)."""
        ids = {pid for layer in self.all_layers() for pid in layer.rotation.participants}
        ids.update(o.person for o in self.overrides)
        ids.update(t.person for t in self.time_off)
        return ids


class OnCallSource(StrEnum):
    """Why a person holds a level at an instant (a small vocabulary, for logs and reports)."""

    LAYER = "layer"  # a rotation layer of the level
    AFTER_HOURS = "after_hours"  # the after-hours rotation, outside business hours
    OVERRIDE = "override"
    TIME_OFF = "time_off"  # a backup covering for someone on time off (or nobody left)
    NONE = "none"  # no layer has anyone: no one on call


class Assignment(_Strict):
    """Who holds one level, and why."""

    person_id: str | None
    source: OnCallSource
    layer: str | None = None  # the layer that scheduled the shift, if one did
    replaced_person_id: str | None = None  # time off: who is away
    reason: str = ""


class OnCallAnswer(_Strict):
    at: UTCDatetime
    primary: Assignment
    secondary: Assignment

    def level(self, level: Level) -> Assignment:
        return self.primary if level is Level.PRIMARY else self.secondary


class Shift(Assignment):
    """One level held by one person (or by nobody: person_id None) for [start, end)."""

    start: UTCDatetime
    end: UTCDatetime
    level: Level
