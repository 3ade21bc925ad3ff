"""Small builders shared by the schedule and calendar tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from escalation.calendar import BusinessHours
from escalation.schedules import OnCallSchedule


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type,misc]


def local(zone: str, *args: int) -> datetime:
    """A wall-clock time in `zone`, returned in UTC."""
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # type: ignore[arg-type,misc]


def rotation(
    participants: list[str],
    *,
    type: str = "weekly",
    start_date: str = "2024-01-01",
    handoff_time: str = "09:00",
    timezone: str = "UTC",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "type": type,
        "start_date": start_date,
        "handoff_time": handoff_time,
        "timezone": timezone,
        "participants": participants,
        **extra,
    }


def layer(name: str, participants: list[str], **kwargs: Any) -> dict[str, Any]:
    restriction = kwargs.pop("restriction", None)
    data: dict[str, Any] = {"name": name, "rotation": rotation(participants, **kwargs)}
    if restriction is not None:
        data["restriction"] = restriction
    return data


def schedule(**fields: Any) -> OnCallSchedule:
    return OnCallSchedule.model_validate({"team": "engineering", **fields})


NEW_YORK_OFFICE: dict[str, Any] = {
    "timezone": "America/New_York",
    "weekly": {"mon-fri": "09:00-17:00"},
    "holiday_country": "US",
}
BERLIN_OFFICE: dict[str, Any] = {
    "timezone": "Europe/Berlin",
    "weekly": {"mon-fri": "09:00-17:00"},
    "holiday_country": "DE",
    "holiday_subdivision": "BE",
}


def hours(data: dict[str, Any]) -> BusinessHours:
    return BusinessHours.model_validate(data)
