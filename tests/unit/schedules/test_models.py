"""Schedules and business hours load from plain dicts; errors name the field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from escalation.calendar import BusinessHours
from escalation.schedules import OnCallSchedule, Rotation, RotationType
from tests.unit.schedules.helpers import NEW_YORK_OFFICE, layer, rotation

POLICY_SECTION: dict[str, Any] = {
    "team": "engineering",
    "primary": [
        {
            "name": "weekly",
            "rotation": {
                "type": "weekly",
                "handoff_time": "09:00",
                "timezone": "America/New_York",
                "start_date": "2024-01-01",
                "participants": ["dan", "erin"],
            },
        },
        {
            "name": "office-hours",
            "rotation": {
                "type": "custom",
                "length": "12h",
                "timezone": "Europe/Berlin",
                "start_date": "2024-01-01",
                "participants": ["kim"],
            },
            "restriction": {"weekly": {"mon-fri": "09:00-17:00"}},
        },
    ],
    "secondary": [{"name": "backup", "rotation": rotation(["max"], type="daily")}],
    "after_hours": layer("nights", ["hank", "ivy"], type="daily", handoff_time="17:00"),
    "business_hours": {**NEW_YORK_OFFICE, "holiday_subdivision": "NY"},
    "overrides": [
        {
            "person": "max",
            "start": "2024-03-01T17:00:00Z",
            "end": "2024-03-02T09:00:00+00:00",
            "level": "secondary",
        }
    ],
    "time_off": [
        {
            "person": "dan",
            "start": "2024-03-04T00:00:00-05:00",
            "end": "2024-03-09T00:00:00-05:00",
            "note": "vacation",
        }
    ],
}


def errors(model: type[Any], data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in info.value.errors()]


def test_full_schedule_loads_from_a_plain_dict_and_round_trips() -> None:
    sched = OnCallSchedule.model_validate(POLICY_SECTION)
    assert sched.primary[1].rotation.type is RotationType.CUSTOM
    assert sched.primary[1].rotation.shift_length == timedelta(hours=12)
    assert sched.time_off[0].start.isoformat() == "2024-03-04T05:00:00+00:00"  # normalised
    assert sched.person_ids() == {"dan", "erin", "kim", "max", "hank", "ivy"}
    dumped = sched.model_dump(mode="json")
    assert OnCallSchedule.model_validate(dumped) == sched


def test_unknown_weekday_names_the_field() -> None:
    data = {"timezone": "UTC", "weekly": {"mon-fry": "09:00-17:00"}}
    [(loc, msg)] = errors(BusinessHours, data)
    assert loc == "weekly"
    assert "unknown weekday 'fry'" in msg


def test_weekday_ranges_lists_and_wraparound() -> None:
    hours = BusinessHours.model_validate(
        {"timezone": "UTC", "weekly": {"fri-mon": "10:00-12:00", "wed,thu": ["08:00-09:00"]}}
    )
    assert sorted(hours.weekly) == sorted(["fri", "sat", "sun", "mon", "wed", "thu"])


@pytest.mark.parametrize("bad", ["9:00", "25:00", "09:60", "noon", 1020])
def test_handoff_time_must_be_hh_mm(bad: object) -> None:
    data = rotation(["ana"], handoff_time=bad)  # type: ignore[arg-type]
    [(loc, msg)] = errors(Rotation, data)
    assert loc == "handoff_time"
    assert "HH:MM" in msg or "out of range" in msg


def test_yaml_sexagesimal_time_gets_a_hint() -> None:
    [(_, msg)] = errors(Rotation, rotation(["ana"], handoff_time=1020))  # type: ignore[arg-type]
    assert "quote" in msg


def test_unknown_time_zone_names_the_field() -> None:
    data = {"team": "t", "primary": [layer("p", ["ana"], timezone="Mars/Olympus")]}
    [(loc, msg)] = errors(OnCallSchedule, data)
    assert loc == "primary.0.rotation.timezone"
    assert "unknown time zone 'Mars/Olympus'" in msg


@pytest.mark.parametrize("model_key", ["overrides", "time_off"])
def test_end_before_start_names_the_field(model_key: str) -> None:
    window = {"person": "ana", "start": "2024-01-02T00:00:00Z", "end": "2024-01-01T00:00:00Z"}
    [(loc, msg)] = errors(OnCallSchedule, {"team": "t", model_key: [window]})
    assert loc == f"{model_key}.0.end"
    assert "must be after start" in msg


def test_naive_datetimes_are_rejected_in_models() -> None:
    window = {"person": "ana", "start": "2024-01-02T00:00:00", "end": "2024-01-03T00:00:00Z"}
    [(loc, msg)] = errors(OnCallSchedule, {"team": "t", "overrides": [window]})
    assert loc == "overrides.0.start"
    assert "timezone-aware" in msg


def test_time_ranges_are_validated() -> None:
    [(loc, msg)] = errors(BusinessHours, {"timezone": "UTC", "weekly": {"mon": "09:00"}})
    assert loc == "weekly.mon.0"
    assert "09:00-17:00" in msg
    [(loc, msg)] = errors(BusinessHours, {"timezone": "UTC", "weekly": {"mon": "09:00-09:00"}})
    assert "empty" in msg
    hours = BusinessHours.model_validate({"timezone": "UTC", "weekly": {"mon": "00:00-24:00"}})
    assert str(hours.weekly["mon"][0]) == "00:00-24:00"
    [(loc, _)] = errors(BusinessHours, {"timezone": "UTC", "weekly": {}})


def test_holiday_codes_are_validated() -> None:
    [(loc, msg)] = errors(BusinessHours, {**NEW_YORK_OFFICE, "holiday_country": "XX"})
    assert loc == "holiday_country"
    [(_, msg)] = errors(BusinessHours, {**NEW_YORK_OFFICE, "holiday_subdivision": "ZZ"})
    assert "holiday_subdivision" in msg


def test_rotation_length_rules() -> None:
    [(loc, msg)] = errors(Rotation, rotation(["ana"], type="custom"))
    assert loc == "length"
    [(loc, msg)] = errors(Rotation, rotation(["ana"], type="daily", length="2d"))
    assert loc == "length" and "only custom" in msg
    [(loc, _)] = errors(Rotation, rotation(["ana"], type="custom", length="90m"))
    assert loc == "length"
    [(loc, _)] = errors(Rotation, rotation(["ana"], type="custom", length="PT30M"))
    assert loc == "length"
    [(loc, _)] = errors(Rotation, rotation([], type="daily"))
    assert loc == "participants"
    [(loc, _)] = errors(Rotation, rotation(["ana"], type="fortnightly"))
    assert loc == "type"


def test_schedule_level_rules() -> None:
    duplicate = {"team": "t", "primary": [layer("a", ["x"]), layer("a", ["y"])]}
    [(_, msg)] = errors(OnCallSchedule, duplicate)
    assert "primary: duplicate layer name(s) a" in msg
    no_hours = {"team": "t", "after_hours": layer("n", ["x"])}
    [(_, msg)] = errors(OnCallSchedule, no_hours)
    assert "after_hours" in msg and "business_hours" in msg
    [(loc, msg)] = errors(OnCallSchedule, {"team": "t", "primaries": []})
    assert loc == "primaries"  # typos are errors, not silently ignored
