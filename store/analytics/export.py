"""CSV export of the BI views: RFC 4180 (comma, CRLF, fields quoted when they hold a comma, a
quote or a line break, quotes doubled), a header row, UTF-8 without a BOM.

Rows are fetched in batches (a server-side cursor on PostgreSQL) and written as they come, so
an export of a million escalations never sits in memory. Values are written the same on
PostgreSQL and SQLite: the catalogue's column kind decides, not the driver's Python type.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Select,
    String,
    column,
    select,
    table,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeEngine

from store.analytics.views import Kind, View

TEAM_PATTERN = r"^[a-z0-9_-]{1,64}$"
BATCH_ROWS = 1000

_TYPES: dict[Kind, TypeEngine[Any]] = {
    Kind.TEXT: String(),
    Kind.INTEGER: Integer(),
    Kind.NUMBER: Float(),
    Kind.BOOLEAN: Boolean(),
    Kind.TIMESTAMP: DateTime(timezone=True),
    Kind.DATE: Date(),
}


class ExportFilter(BaseModel):
    """Rows whose time column is in [start, end) and whose team is `team` (each optional).

    Naive times are UTC. For `daily_volume` a day is in when its start (00:00 UTC) is."""

    model_config = ConfigDict(frozen=True)

    start: datetime | None = None
    end: datetime | None = None
    team: str | None = Field(default=None, pattern=TEAM_PATTERN)

    @model_validator(mode="after")
    def _ordered(self) -> ExportFilter:
        if self.start and self.end and _utc(self.start) >= _utc(self.end):
            raise ValueError("`from` must be before `to`")
        return self


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _first_day_from(value: datetime) -> date:
    """The first UTC day that starts at or after `value`."""
    moment = _utc(value)
    day = moment.date()
    return day if moment.timetz().replace(tzinfo=None) == time() else day + timedelta(days=1)


def query(view: View, filters: ExportFilter) -> Select[Any]:
    kinds = {c.name: c.kind for c in view.columns}
    columns = [column(c.name, _TYPES[c.kind]) for c in view.columns]
    source = table(view.view, *columns)
    statement = select(*columns).select_from(source)
    when = source.c[view.time_column]
    # SQLite compares timestamps as text: bounds go in as UTC, in the stored format.
    if kinds[view.time_column] is Kind.DATE:
        if filters.start:
            statement = statement.where(when >= _first_day_from(filters.start))
        if filters.end:
            statement = statement.where(when < _first_day_from(filters.end))
    else:
        if filters.start:
            statement = statement.where(when >= _utc(filters.start))
        if filters.end:
            statement = statement.where(when < _utc(filters.end))
    if filters.team:
        statement = statement.where(source.c[view.team_column] == filters.team)
    return statement.order_by(*(source.c[name] for name in view.order_by))


def format_value(kind: Kind, value: Any) -> str:
    """One field as text: empty for NULL, true/false, UTC `YYYY-MM-DD HH:MM:SS[.ffffff]`,
    numbers to the millisecond without trailing zeros."""
    if value is None:
        return ""
    if kind is Kind.BOOLEAN:
        return "true" if value else "false"
    if kind is Kind.TIMESTAMP and isinstance(value, datetime):
        return _utc(value).replace(tzinfo=None).isoformat(sep=" ")
    if kind is Kind.DATE and isinstance(value, date):
        return value.isoformat()
    if kind is Kind.NUMBER:
        number = float(value)
        if not math.isfinite(number):
            return ""
        text = f"{number:.3f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)


def open_csv(
    sessions: sessionmaker[Session],
    view: View,
    filters: ExportFilter,
    *,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[bytes]:
    """Run the export's query now (so a missing view or a dead database fails here, before a
    200 is sent) and return the CSV as an iterator of chunks that closes its session at the
    end, or when the consumer stops early."""
    session = sessions()
    try:
        result = session.execute(query(view, filters), execution_options={"yield_per": batch_rows})
    except BaseException:
        session.close()
        raise
    return _chunks(session, result, view)


def _chunks(session: Session, result: Any, view: View) -> Iterator[bytes]:
    kinds = [c.kind for c in view.columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect="excel", lineterminator="\r\n")
    try:
        writer.writerow([c.name for c in view.columns])
        yield _drain(buffer)
        for rows in result.partitions():
            writer.writerows(
                [format_value(kind, value) for kind, value in zip(kinds, row, strict=True)]
                for row in rows
            )
            yield _drain(buffer)
    finally:
        result.close()
        session.close()


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data
