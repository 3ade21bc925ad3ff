"""Reporting periods: a half-open UTC interval [start, end) and the one before it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

_RELATIVE = re.compile(r"^(\d{1,3})([hd])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class PeriodError(ValueError):
    pass


class Period(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def previous(self) -> Period:
        """The period of the same length just before (the previous month for a month)."""
        if _MONTH.match(self.label):
            year, month = int(self.label[:4]), int(self.label[5:])
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
            return month_period(f"{year:04d}-{month:02d}")
        length = self.end - self.start
        return Period(label=f"before {self.label}", start=self.start - length, end=self.start)


def month_period(month: str) -> Period:
    """`2026-01` -> [2026-01-01, 2026-02-01) UTC."""
    found = _MONTH.match(month)
    if not found:
        raise PeriodError(f"invalid month {month!r}: expected YYYY-MM, e.g. 2026-01")
    year, number = int(found[1]), int(found[2])
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + (number == 12), 1 if number == 12 else number + 1, 1, tzinfo=UTC)
    return Period(label=month, start=start, end=end)


def previous_month(now: datetime) -> str:
    first = now.astimezone(UTC).replace(day=1)
    last = first - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def parse_period(value: str, now: datetime | None = None) -> Period:
    """`24h`, `7d`, `30d`, `90d` (ending now) or a month `YYYY-MM`."""
    value = value.strip()
    if _MONTH.match(value):
        return month_period(value)
    found = _RELATIVE.match(value)
    if not found or int(found[1]) == 0:
        raise PeriodError(f"invalid period {value!r}: use e.g. 24h, 7d, 30d, 90d or 2026-01")
    amount = int(found[1])
    length = timedelta(hours=amount) if found[2] == "h" else timedelta(days=amount)
    end = (now or datetime.now(UTC)).astimezone(UTC)
    return Period(label=value, start=end - length, end=end)
