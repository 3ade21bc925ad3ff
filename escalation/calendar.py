"""Business calendar: weekly opening hours in an IANA time zone, public holidays, closed dates.

Pure and deterministic (this module also runs inside Temporal workflows): nothing here reads
the clock; every function takes the instant it reasons about. Datetimes go in timezone-aware
(any offset; naive ones are rejected with a ValueError) and come out in UTC.

Opening hours are wall-clock times in the calendar's time zone, so "mon-fri 09:00-17:00" stays
09:00-17:00 local across daylight-saving changes. A range whose end is not after its start runs
overnight into the next day ("22:00-06:00"); "24:00" is allowed as an end ("00:00-24:00" is a
whole day). A local time that does not exist (the spring-forward gap) is read with the offset
in force before the change (PEP 495 fold=0), an ambiguous one as its first occurrence.

A closed date (public holiday or an extra closed date) closes the ranges that *start* on it.

    hours = BusinessHours.model_validate({
        "timezone": "America/New_York",
        "weekly": {"mon-fri": "09:00-17:00"},
        "holiday_country": "US",
    })
    add_business_duration(hours, start, timedelta(hours=8))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

__all__ = [
    "WEEKDAYS",
    "BusinessHours",
    "Interval",
    "TimeRange",
    "Weekday",
    "WeeklyHours",
    "add_business_duration",
    "business_elapsed",
    "ensure_utc",
    "is_business_time",
    "is_within",
    "local_to_utc",
    "next_business_start",
    "open_intervals",
    "parse_hhmm",
    "parse_timezone",
    "weekly_intervals",
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)

Interval = tuple[datetime, datetime]
"""A half-open UTC interval [start, end)."""

# How far ahead the searches look before deciding that a calendar never opens.
_SEARCH_LIMIT_DAYS = 800
_MINUTES_PER_DAY = 24 * 60
_HHMM = re.compile(r"^(\d{2}):(\d{2})$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- parsing helpers


def parse_timezone(value: object) -> str:
    """Validate an IANA time zone name ('Europe/Berlin') and return it unchanged."""
    if not isinstance(value, str) or not value:
        raise ValueError("a time zone name such as 'Europe/Berlin' is required")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name such as 'Europe/Berlin')"
        ) from None
    return value


TimeZoneName = Annotated[str, BeforeValidator(parse_timezone)]


def parse_hhmm(value: object, *, allow_24: bool = False) -> int:
    """'HH:MM' -> minutes after midnight. '24:00' only when `allow_24` (the end of a day)."""
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 17:00 as the sexagesimal number 1020.
        raise ValueError(
            f"time must be a string 'HH:MM', got the number {value} (quote times in YAML: '17:00')"
        )
    if isinstance(value, time):
        return value.hour * 60 + value.minute
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"time must have the format HH:MM (e.g. '09:00'), got {value!r}")
    hour, minute = int(match.group(1)), int(match.group(2))
    if allow_24 and (hour, minute) == (24, 0):
        return _MINUTES_PER_DAY
    if hour > 23 or minute > 59:
        limit = "00:00-24:00" if allow_24 else "00:00-23:59"
        raise ValueError(f"time {value!r} is out of range ({limit})")
    return hour * 60 + minute


def _format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _hhmm(value: object) -> str:
    return _format_hhmm(parse_hhmm(value))


def _hhmm_end(value: object) -> str:
    return _format_hhmm(parse_hhmm(value, allow_24=True))


HHMM = Annotated[str, BeforeValidator(_hhmm)]
"""A wall-clock time 'HH:MM' (00:00-23:59)."""

EndHHMM = Annotated[str, BeforeValidator(_hhmm_end)]
"""A wall-clock time 'HH:MM' that may also be '24:00' (the end of the day)."""


def ensure_utc(value: datetime, name: str = "datetime") -> datetime:
    """Return `value` converted to UTC; a naive datetime is a ValueError."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} must be timezone-aware (UTC), got the naive datetime {value.isoformat()}"
        )
    return value.astimezone(UTC)


def _aware_utc(value: datetime) -> datetime:
    return ensure_utc(value)


UTCDatetime = Annotated[datetime, AfterValidator(_aware_utc)]
"""A timezone-aware datetime, normalised to UTC (naive input is a validation error)."""


def local_to_utc(naive_local: datetime, tz: ZoneInfo) -> datetime:
    """Wall-clock time in `tz` -> UTC (gap: offset before the change; ambiguous: first)."""
    return naive_local.replace(tzinfo=tz, fold=0).astimezone(UTC)


# --------------------------------------------------------------------------- weekly hours


class TimeRange(_Strict):
    """Opening hours within one day: '09:00-17:00'. An end not after the start is overnight."""

    start: HHMM
    end: EndHHMM

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            start, sep, end = value.partition("-")
            if not sep:
                raise ValueError(f"a time range must look like '09:00-17:00', got {value!r}")
            return {"start": start.strip(), "end": end.strip()}
        return value

    @model_validator(mode="after")
    def _check(self) -> TimeRange:
        if parse_hhmm(self.end, allow_24=True) == self.start_minute:
            raise ValueError(f"time range {self.start}-{self.end} is empty (start equals end)")
        return self

    @property
    def start_minute(self) -> int:
        return parse_hhmm(self.start)

    @property
    def end_minute(self) -> int:
        """Minutes after the start day's midnight; > 1440 when the range runs overnight."""
        end = parse_hhmm(self.end, allow_24=True)
        return end if end > self.start_minute else end + _MINUTES_PER_DAY

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


_DAY_INDEX: dict[str, int] = {name: index for index, name in enumerate(WEEKDAYS)}


def _expand_days(key: str) -> list[Weekday]:
    """'mon' | 'mon-fri' | 'sat,sun' | 'fri-mon' (wraps) -> weekdays."""
    days: list[Weekday] = []
    for part in key.split(","):
        names = [name.strip().lower() for name in part.split("-")]
        unknown = [name for name in names if name not in _DAY_INDEX]
        if unknown or len(names) > 2:
            bad = unknown[0] if unknown else part
            raise ValueError(
                f"unknown weekday {bad!r} in {key!r} (use {', '.join(WEEKDAYS)}, "
                "a range such as 'mon-fri', or a list such as 'sat,sun')"
            )
        index, stop = _DAY_INDEX[names[0]], _DAY_INDEX[names[-1]]
        days.append(WEEKDAYS[index])
        while index != stop:
            index = (index + 1) % 7
            days.append(WEEKDAYS[index])
    return days


def _expand_weekly(value: Any) -> Any:
    """{'mon-fri': '09:00-17:00', 'sat': ['10:00-12:00', '13:00-15:00']} -> per weekday."""
    if not isinstance(value, Mapping):
        return value
    expanded: dict[str, list[Any]] = {}
    for key, ranges in value.items():
        if not isinstance(key, str):
            raise ValueError(
                f"weekday keys must be strings such as 'mon' or 'mon-fri', got {key!r}"
            )
        items = list(ranges) if isinstance(ranges, list | tuple) else [ranges]
        for day in _expand_days(key):
            expanded.setdefault(day, []).extend(items)
    return expanded


WeeklyRanges = Annotated[dict[Weekday, list[TimeRange]], BeforeValidator(_expand_weekly)]
"""Opening ranges per weekday; keys may be ranges ('mon-fri') or lists ('sat,sun')."""


class WeeklyHours(_Strict):
    """Recurring weekly windows in a time zone (also used for on-call layer restrictions)."""

    timezone: TimeZoneName
    weekly: WeeklyRanges

    @model_validator(mode="after")
    def _not_empty(self) -> WeeklyHours:
        if not any(self.weekly.values()):
            raise ValueError(
                "weekly: at least one time range is required, e.g. {'mon-fri': '09:00-17:00'}"
            )
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """The merged UTC windows overlapping [start, end), clipped to it."""
        return weekly_intervals(self.weekly, self.tz, start, end)


def _holiday_country(value: str | None) -> str | None:
    if not value:
        return None
    try:
        _holiday_calendar(value.upper(), None)
    except NotImplementedError as exc:
        raise ValueError(f"unknown holiday country code {value!r}: {exc}") from None
    return value.upper()


class BusinessHours(WeeklyHours):
    """A team's business calendar: weekly hours, public holidays and extra closed dates.

    `holiday_country` / `holiday_subdivision` are codes of the `holidays` package ('US' / 'NY',
    'DE' / 'BE'); observed holidays (a Saturday July 4th observed on Friday) are closed too.
    """

    holiday_country: Annotated[str | None, AfterValidator(_holiday_country)] = None
    holiday_subdivision: str | None = None
    closed_dates: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_holidays(self) -> BusinessHours:
        if self.holiday_subdivision and not self.holiday_country:
            raise ValueError("holiday_subdivision: needs holiday_country as well")
        if self.holiday_country and self.holiday_subdivision:
            try:
                _holiday_calendar(self.holiday_country, self.holiday_subdivision)
            except NotImplementedError as exc:
                raise ValueError(f"holiday_subdivision: {exc}") from None
        return self

    def is_closed_date(self, day: date) -> bool:
        """True on a public holiday or an extra closed date (local calendar date)."""
        if day in self.closed_dates:
            return True
        if self.holiday_country is None:
            return False
        return day in _holiday_calendar(self.holiday_country, self.holiday_subdivision)

    def holiday_name(self, day: date) -> str | None:
        if self.holiday_country is None:
            return None
        name = _holiday_calendar(self.holiday_country, self.holiday_subdivision).get(day)
        return str(name) if name is not None else None


@lru_cache(maxsize=64)
def _holiday_calendar(country: str, subdivision: str | None) -> holidays.HolidayBase:
    # Years are filled in lazily (expand=True) on lookup; the data is static per package version.
    return holidays.country_holidays(country, subdiv=subdivision)


# --------------------------------------------------------------------------- interval engine


def _day_ranges(
    weekly: Mapping[Weekday, Sequence[TimeRange]], tz: ZoneInfo, day: date
) -> list[Interval]:
    midnight = datetime.combine(day, time())
    result = []
    for rng in weekly.get(WEEKDAYS[day.weekday()], ()):
        start = local_to_utc(midnight + timedelta(minutes=rng.start_minute), tz)
        end = local_to_utc(midnight + timedelta(minutes=rng.end_minute), tz)
        if end > start:  # a range inside a DST gap can vanish
            result.append((start, end))
    result.sort()
    return result


def _iter_open(
    weekly: Mapping[Weekday, Sequence[TimeRange]],
    tz: ZoneInfo,
    start: datetime,
    closed: Callable[[date], bool] | None = None,
) -> Iterator[Interval]:
    """Disjoint open intervals from `start` on, in order (the first clipped to `start`).

    Overlapping ranges are trimmed, touching ones are yielded separately (a calendar that is
    always open never ends an interval). Ends when nothing opens for _SEARCH_LIMIT_DAYS days.
    """
    day = start.astimezone(tz).date() - timedelta(days=1)  # overnight ranges of the day before
    frontier = start  # everything before it has been yielded (or lies before `start`)
    idle_days = 0
    while idle_days <= _SEARCH_LIMIT_DAYS:
        idle_days += 1
        if closed is None or not closed(day):
            for lo, hi in _day_ranges(weekly, tz, day):
                lo = max(lo, frontier)
                if hi > lo:
                    idle_days = 0
                    frontier = hi
                    yield lo, hi
        day += timedelta(days=1)


def _merged(intervals: Iterable[Interval], end: datetime) -> list[Interval]:
    """Clip ordered disjoint intervals at `end` and join the touching ones."""
    result: list[Interval] = []
    for lo, hi in intervals:
        if lo >= end:
            break
        hi = min(hi, end)
        if result and result[-1][1] == lo:
            result[-1] = (result[-1][0], hi)
        else:
            result.append((lo, hi))
    return result


def weekly_intervals(
    weekly: Mapping[Weekday, Sequence[TimeRange]],
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    closed: Callable[[date], bool] | None = None,
) -> list[Interval]:
    """Merged UTC windows of `weekly` (local to `tz`) within [start, end), clipped to it."""
    start, end = ensure_utc(start, "start"), ensure_utc(end, "end")
    if end <= start:
        return []
    return _merged(_iter_open(weekly, tz, start, closed), end)


def _business_iter(hours: BusinessHours, start: datetime) -> Iterator[Interval]:
    return _iter_open(hours.weekly, hours.tz, start, hours.is_closed_date)


def open_intervals(hours: BusinessHours, start: datetime, end: datetime) -> list[Interval]:
    """Business-time intervals within [start, end), in UTC, merged and clipped."""
    return weekly_intervals(hours.weekly, hours.tz, start, end, hours.is_closed_date)


# --------------------------------------------------------------------------- public functions


def is_within(
    weekly: Mapping[Weekday, Sequence[TimeRange]],
    tz: ZoneInfo,
    at: datetime,
    closed: Callable[[date], bool] | None = None,
) -> bool:
    """True when `at` lies inside one of the weekly windows (of a day that is not closed)."""
    at = ensure_utc(at, "at")
    local_day = at.astimezone(tz).date()
    for offset in (-1, 0, 1):  # overnight ranges start the day before; +1 for odd DST zones
        day = local_day + timedelta(days=offset)
        if closed is not None and closed(day):
            continue
        if any(lo <= at < hi for lo, hi in _day_ranges(weekly, tz, day)):
            return True
    return False


def is_business_time(hours: BusinessHours, at: datetime) -> bool:
    """True when `at` lies inside the opening hours on a day that is not closed."""
    return is_within(hours.weekly, hours.tz, at, hours.is_closed_date)


def next_business_start(hours: BusinessHours, at: datetime) -> datetime:
    """The earliest business instant at or after `at` (`at` itself during business hours).

    This is when a paused SLA clock resumes, and when a queued ticket is picked up.
    """
    at = ensure_utc(at, "at")
    first = next(_business_iter(hours, at), None)
    if first is None:
        raise ValueError(f"the business calendar never opens within {_SEARCH_LIMIT_DAYS} days")
    return first[0]


def add_business_duration(hours: BusinessHours, start: datetime, duration: timedelta) -> datetime:
    """When `duration` of business time has elapsed after `start` (an SLA clock that pauses
    off-hours and resumes at the next business start). The earliest t with
    business_elapsed(hours, start, t) == duration; `start` itself for a zero duration."""
    start = ensure_utc(start, "start")
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    if duration == timedelta(0):
        return start
    remaining = duration
    for lo, hi in _business_iter(hours, start):
        available = hi - lo
        if remaining <= available:
            return lo + remaining
        remaining -= available
    raise ValueError(f"the business calendar never opens within {_SEARCH_LIMIT_DAYS} days")


def business_elapsed(hours: BusinessHours, start: datetime, end: datetime) -> timedelta:
    """Business time between `start` and `end` (end before start is a ValueError)."""
    start, end = ensure_utc(start, "start"), ensure_utc(end, "end")
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    total = timedelta(0)
    for lo, hi in _merged(_business_iter(hours, start), end):
        total += hi - lo
    return total
