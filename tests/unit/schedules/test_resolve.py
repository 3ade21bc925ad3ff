"""Who is on call: rotations, handoffs, DST, layers, overrides, time off, after hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from escalation.schedules import (
    Level,
    OnCallSchedule,
    OnCallSource,
    Rotation,
    next_handoff,
    oncall_timeline,
    who_is_on_call,
)
from tests.unit.schedules.helpers import (
    BERLIN_OFFICE,
    NEW_YORK_OFFICE,
    layer,
    local,
    rotation,
    schedule,
    utc,
)

NY = "America/New_York"
BERLIN = "Europe/Berlin"
NO_BACKUPS: dict[str, str] = {}
SECOND = timedelta(seconds=1)
ANA_AWAY = {"person": "ana", "start": "2024-01-03T00:00:00Z", "end": "2024-01-05T00:00:00Z"}


def primary(
    sched: OnCallSchedule, at: datetime, backups: dict[str, str] | None = None
) -> str | None:
    return who_is_on_call(sched, at, backups or NO_BACKUPS).primary.person_id


# --------------------------------------------------------------------------- rotations


def test_weekly_rotation_hands_off_at_the_exact_instant() -> None:
    sched = schedule(primary=[layer("weekly", ["ana", "ben", "cy"], start_date="2024-01-01")])
    handoff = utc(2024, 1, 8, 9, 0)  # Monday after the start date, 09:00 UTC
    assert primary(sched, handoff - SECOND) == "ana"
    assert primary(sched, handoff) == "ben"
    assert primary(sched, utc(2024, 1, 15, 9, 0)) == "cy"
    assert primary(sched, utc(2024, 1, 22, 9, 0)) == "ana"  # wraps around
    answer = who_is_on_call(sched, handoff, NO_BACKUPS)
    assert answer.primary.source is OnCallSource.LAYER
    assert answer.primary.layer == "weekly"


def test_before_the_rotation_starts_nobody_is_on_call() -> None:
    sched = schedule(primary=[layer("weekly", ["ana"], start_date="2024-01-01")])
    answer = who_is_on_call(sched, utc(2024, 1, 1, 8, 59, 59), NO_BACKUPS)
    assert answer.primary.person_id is None
    assert answer.primary.source is OnCallSource.NONE
    assert answer.secondary.person_id is None


def test_daily_rotation() -> None:
    sched = schedule(primary=[layer("daily", ["ana", "ben"], type="daily", handoff_time="17:30")])
    assert primary(sched, utc(2024, 1, 1, 17, 30)) == "ana"
    assert primary(sched, utc(2024, 1, 2, 17, 29, 59)) == "ana"
    assert primary(sched, utc(2024, 1, 2, 17, 30)) == "ben"
    assert primary(sched, utc(2024, 1, 3, 17, 30)) == "ana"
    assert primary(sched, utc(2025, 1, 1, 17, 30)) == "ana"  # 366 days later: even shift


def test_custom_length_rotations() -> None:
    twelve_hours = schedule(
        primary=[layer("halves", ["ana", "ben"], type="custom", length="12h", handoff_time="08:00")]
    )
    assert primary(twelve_hours, utc(2024, 1, 1, 19, 59)) == "ana"
    assert primary(twelve_hours, utc(2024, 1, 1, 20, 0)) == "ben"
    assert primary(twelve_hours, utc(2024, 1, 2, 8, 0)) == "ana"
    three_days = schedule(
        primary=[
            layer(
                "long",
                ["ana", "ben"],
                type="custom",
                length="3d",
                timezone=NY,
                start_date="2024-03-08",
            )
        ]
    )
    # Three days after Friday 09:00 EST is Monday 09:00 EDT, across the March change.
    assert primary(three_days, local(NY, 2024, 3, 11, 8, 59)) == "ana"
    assert primary(three_days, local(NY, 2024, 3, 11, 9, 0)) == "ben"
    assert local(NY, 2024, 3, 11, 9, 0) == utc(2024, 3, 11, 13, 0)


# --------------------------------------------------------------------------- daylight saving


def test_new_york_handoff_stays_at_nine_across_the_march_change() -> None:
    sched = schedule(
        primary=[
            layer("ny", ["ana", "ben", "cy"], type="daily", timezone=NY, start_date="2024-03-08")
        ]
    )
    assert primary(sched, utc(2024, 3, 9, 14, 0)) == "ben"  # Saturday 09:00 EST
    assert primary(sched, utc(2024, 3, 10, 12, 59, 59)) == "ben"
    assert primary(sched, utc(2024, 3, 10, 13, 0)) == "cy"  # Sunday 09:00 EDT
    assert primary(sched, utc(2024, 3, 11, 13, 0)) == "ana"
    assert next_handoff(sched, utc(2024, 3, 9, 15, 0)) == utc(2024, 3, 10, 13, 0)


def test_new_york_weekly_handoff_stays_at_nine_across_the_november_change() -> None:
    sched = schedule(primary=[layer("ny", ["ana", "ben"], timezone=NY, start_date="2024-10-28")])
    handoff = local(NY, 2024, 11, 4, 9, 0)
    assert handoff == utc(2024, 11, 4, 14, 0)  # EST now
    assert primary(sched, handoff - SECOND) == "ana"
    assert primary(sched, utc(2024, 11, 4, 13, 0)) == "ana"  # 09:00 would be EDT: not yet
    assert primary(sched, handoff) == "ben"
    assert next_handoff(sched, utc(2024, 10, 30, 0, 0)) == handoff


@pytest.mark.parametrize(
    ("day", "expected_utc_hour"),
    [((2024, 3, 30), 8), ((2024, 3, 31), 7), ((2024, 10, 26), 7), ((2024, 10, 27), 8)],
)
def test_berlin_handoff_stays_at_nine(day: tuple[int, int, int], expected_utc_hour: int) -> None:
    rot = Rotation.model_validate(
        rotation(["ana", "ben"], type="daily", timezone=BERLIN, start_date="2024-03-01")
    )
    handoffs = rot.handoffs(utc(*day, 0, 0), utc(*day, 23, 59))
    assert handoffs == [utc(*day, expected_utc_hour, 0)]


def test_shifts_are_23_and_25_hours_on_dst_days() -> None:
    rot = Rotation.model_validate(
        rotation(["ana"], type="daily", timezone=NY, start_date="2024-01-01")
    )
    march = rot.handoffs(local(NY, 2024, 3, 9, 8, 0), local(NY, 2024, 3, 10, 12, 0))
    november = rot.handoffs(local(NY, 2024, 11, 2, 8, 0), local(NY, 2024, 11, 3, 12, 0))
    assert march[1] - march[0] == timedelta(hours=23)
    assert november[1] - november[0] == timedelta(hours=25)


def test_handoff_inside_the_spring_gap_happens_an_hour_later_on_the_wall_clock() -> None:
    rot = Rotation.model_validate(
        rotation(
            ["ana", "ben"], type="daily", timezone=NY, handoff_time="02:30", start_date="2024-03-09"
        )
    )
    # 02:30 does not exist on March 10th; read with the pre-change offset it is 03:30 EDT.
    assert rot.handoff(1) == local(NY, 2024, 3, 10, 3, 30)
    assert rot.person_at(local(NY, 2024, 3, 10, 3, 29)) == "ana"
    assert rot.person_at(local(NY, 2024, 3, 10, 3, 30)) == "ben"


# --------------------------------------------------------------------------- layers


def test_later_layer_with_restriction_overrides_earlier_layers() -> None:
    sched = schedule(
        primary=[
            layer("round-the-clock", ["ana"]),
            layer(
                "office-hours",
                ["dan", "eve"],
                type="daily",
                timezone=BERLIN,
                restriction={"weekly": {"mon-fri": "09:00-17:00"}},  # rotation's time zone
            ),
        ]
    )
    tuesday = (2024, 1, 9)
    assert primary(sched, local(BERLIN, *tuesday, 8, 59, 59)) == "ana"
    assert primary(sched, local(BERLIN, *tuesday, 9, 0)) == "dan"  # shift 8 since Jan 1st
    assert primary(sched, local(BERLIN, *tuesday, 16, 59, 59)) == "dan"
    assert primary(sched, local(BERLIN, *tuesday, 17, 0)) == "ana"
    assert primary(sched, local(BERLIN, 2024, 1, 13, 12, 0)) == "ana"  # Saturday
    answer = who_is_on_call(sched, local(BERLIN, *tuesday, 10, 0), NO_BACKUPS)
    assert answer.primary.layer == "office-hours"


def test_restriction_in_its_own_time_zone_and_overnight() -> None:
    sched = schedule(
        secondary=[
            layer(
                "nights",
                ["nia"],
                restriction={"timezone": NY, "weekly": {"mon-sun": "22:00-06:00"}},
            )
        ]
    )
    at = local(NY, 2024, 1, 9, 23, 0)
    answer = who_is_on_call(sched, at, NO_BACKUPS)
    assert answer.secondary.person_id == "nia"
    assert answer.primary.person_id is None
    morning = who_is_on_call(sched, local(NY, 2024, 1, 10, 5, 59), NO_BACKUPS)
    assert morning.secondary.person_id == "nia"
    day = who_is_on_call(sched, local(NY, 2024, 1, 10, 6, 0), NO_BACKUPS)
    assert day.secondary.person_id is None


def test_empty_schedule_has_nobody() -> None:
    answer = who_is_on_call(schedule(), utc(2024, 1, 1), NO_BACKUPS)
    assert (answer.primary.person_id, answer.secondary.person_id) == (None, None)
    assert answer.primary.source is OnCallSource.NONE
    assert next_handoff(schedule(), utc(2024, 1, 1)) is None


# --------------------------------------------------------------------------- overrides


def test_override_wins_for_its_window_and_level_only() -> None:
    start, end = utc(2024, 1, 10, 17, 0), utc(2024, 1, 11, 9, 0)
    sched = schedule(
        primary=[layer("p", ["ana"])],
        secondary=[layer("s", ["ben"])],
        overrides=[{"person": "max", "start": start, "end": end, "level": "primary"}],
    )
    assert primary(sched, start - SECOND) == "ana"
    answer = who_is_on_call(sched, start, NO_BACKUPS)
    assert answer.primary.person_id == "max"
    assert answer.primary.source is OnCallSource.OVERRIDE
    assert answer.secondary.person_id == "ben"
    assert primary(sched, end) == "ana"
    assert next_handoff(sched, utc(2024, 1, 10)) == start


def test_last_override_wins_and_secondary_overrides() -> None:
    sched = schedule(
        primary=[layer("p", ["ana"])],
        overrides=[
            {"person": "max", "start": "2024-01-10T00:00:00Z", "end": "2024-01-12T00:00:00Z"},
            {"person": "zoe", "start": "2024-01-11T00:00:00Z", "end": "2024-01-11T12:00:00Z"},
            {
                "person": "sam",
                "start": "2024-01-10T00:00:00Z",
                "end": "2024-01-11T00:00:00Z",
                "level": "secondary",
            },
        ],
    )
    assert primary(sched, utc(2024, 1, 10, 12)) == "max"
    assert primary(sched, utc(2024, 1, 11, 6)) == "zoe"
    assert primary(sched, utc(2024, 1, 11, 18)) == "max"
    answer = who_is_on_call(sched, utc(2024, 1, 10, 12), NO_BACKUPS)
    assert answer.secondary.person_id == "sam"
    assert answer.secondary.source is OnCallSource.OVERRIDE


# --------------------------------------------------------------------------- time off


def test_time_off_hands_the_shift_to_the_backup() -> None:
    sched = schedule(
        primary=[layer("p", ["ana", "ben"])],
        time_off=[ANA_AWAY],
    )
    backups = {"ana": "cy"}
    assert primary(sched, utc(2024, 1, 2, 23, 59, 59), backups) == "ana"
    answer = who_is_on_call(sched, utc(2024, 1, 3), backups)
    assert answer.primary.person_id == "cy"
    assert answer.primary.source is OnCallSource.TIME_OFF
    assert answer.primary.replaced_person_id == "ana"
    assert answer.primary.layer == "p"
    assert primary(sched, utc(2024, 1, 5), backups) == "ana"
    assert primary(sched, utc(2024, 1, 9, 9), backups) == "ben"  # ben's week, unaffected


def test_time_off_follows_the_backup_chain_and_never_loops() -> None:
    sched = schedule(
        primary=[layer("p", ["ana"])],
        time_off=[
            {"person": "ana", "start": "2024-01-03T00:00:00Z", "end": "2024-01-05T00:00:00Z"},
            {"person": "ben", "start": "2024-01-03T00:00:00Z", "end": "2024-01-04T00:00:00Z"},
        ],
    )
    at = utc(2024, 1, 3, 12)
    assert primary(sched, at, {"ana": "ben", "ben": "cy"}) == "cy"
    assert primary(sched, utc(2024, 1, 4, 12), {"ana": "ben", "ben": "cy"}) == "ben"
    looped = who_is_on_call(sched, at, {"ana": "ben", "ben": "ana"})
    assert looped.primary.person_id is None
    assert looped.primary.source is OnCallSource.TIME_OFF
    assert "no backup" in looped.primary.reason


def test_time_off_without_a_backup_leaves_nobody() -> None:
    sched = schedule(
        primary=[layer("p", ["ana"])],
        time_off=[ANA_AWAY],
    )
    answer = who_is_on_call(sched, utc(2024, 1, 4), NO_BACKUPS)
    assert answer.primary.person_id is None
    assert answer.primary.replaced_person_id == "ana"


def test_an_override_person_on_time_off_is_covered_too() -> None:
    sched = schedule(
        primary=[layer("p", ["ana"])],
        overrides=[
            {"person": "max", "start": "2024-01-03T00:00:00Z", "end": "2024-01-04T00:00:00Z"}
        ],
        time_off=[
            {"person": "max", "start": "2024-01-03T06:00:00Z", "end": "2024-01-03T12:00:00Z"}
        ],
    )
    answer = who_is_on_call(sched, utc(2024, 1, 3, 8), {"max": "zoe"})
    assert answer.primary.person_id == "zoe"
    assert "override" in answer.primary.reason


# --------------------------------------------------------------------------- after hours


def after_hours_schedule(office: dict[str, object], zone: str, **extra: object) -> OnCallSchedule:
    return schedule(
        primary=[layer("day", ["ana"], timezone=zone)],
        secondary=[layer("backup", ["ben"], timezone=zone)],
        after_hours=layer(
            "nights", ["nia", "ned"], type="daily", timezone=zone, handoff_time="17:00"
        ),
        business_hours=office,
        **extra,
    )


def test_after_hours_rotation_outside_business_hours() -> None:
    sched = after_hours_schedule(NEW_YORK_OFFICE, NY)
    tuesday = (2024, 1, 9)
    during = who_is_on_call(sched, local(NY, *tuesday, 16, 59), NO_BACKUPS)
    assert during.primary.person_id == "ana"
    after = who_is_on_call(sched, local(NY, *tuesday, 17, 0), NO_BACKUPS)
    assert after.primary.person_id == "nia"  # shift 8 since Jan 1st 17:00
    assert after.primary.source is OnCallSource.AFTER_HOURS
    assert after.primary.layer == "nights"
    assert after.secondary.person_id == "ben"  # the secondary level is not replaced
    assert primary(sched, local(NY, *tuesday, 8, 59)) == "ned"  # still Monday's night shift
    assert primary(sched, local(NY, 2024, 1, 13, 12, 0)) in {"nia", "ned"}  # Saturday


def test_after_hours_on_public_holidays() -> None:
    new_york = after_hours_schedule(NEW_YORK_OFFICE, NY)
    july_4th_noon = local(NY, 2024, 7, 4, 12, 0)
    answer = who_is_on_call(new_york, july_4th_noon, NO_BACKUPS)
    assert answer.primary.source is OnCallSource.AFTER_HOURS
    berlin = after_hours_schedule(BERLIN_OFFICE, BERLIN)
    unity_day = local(BERLIN, 2024, 10, 3, 12, 0)
    assert who_is_on_call(berlin, unity_day, NO_BACKUPS).primary.source is (
        OnCallSource.AFTER_HOURS
    )
    assert primary(berlin, local(BERLIN, 2024, 10, 4, 12, 0)) == "ana"


def test_override_beats_after_hours() -> None:
    at = local(NY, 2024, 1, 9, 20, 0)
    sched = after_hours_schedule(
        NEW_YORK_OFFICE,
        NY,
        overrides=[{"person": "max", "start": at, "end": at + timedelta(hours=1)}],
    )
    assert primary(sched, at) == "max"
    assert primary(sched, at + timedelta(hours=1)) == "nia"


# --------------------------------------------------------------------------- next handoff


def test_next_handoff_ignores_handoffs_to_the_same_person() -> None:
    solo = schedule(primary=[layer("solo", ["ana"], type="daily")])
    assert next_handoff(solo, utc(2024, 1, 5)) is None
    restricted = schedule(
        primary=[layer("solo", ["ana"], restriction={"weekly": {"mon-fri": "09:00-17:00"}})]
    )
    assert next_handoff(restricted, utc(2024, 1, 5, 12)) == utc(2024, 1, 5, 17)  # to nobody
    assert next_handoff(restricted, utc(2024, 1, 5, 17)) == utc(2024, 1, 8, 9)


def test_next_handoff_uses_backups_for_time_off() -> None:
    sched = schedule(
        primary=[layer("p", ["ana"])],
        time_off=[ANA_AWAY],
    )
    assert next_handoff(sched, utc(2024, 1, 2)) == utc(2024, 1, 3)
    assert next_handoff(sched, utc(2024, 1, 3), {"ana": "ben"}) == utc(2024, 1, 5)


def test_next_handoff_far_ahead_and_horizon() -> None:
    sched = schedule(primary=[layer("p", ["ana", "ben"], start_date="2024-06-01")])
    assert next_handoff(sched, utc(2024, 1, 1)) == utc(2024, 6, 1, 9)
    assert next_handoff(sched, utc(2024, 1, 1), horizon=timedelta(days=30)) is None


# --------------------------------------------------------------------------- timeline


def test_timeline_clips_merges_and_shows_gaps() -> None:
    sched = schedule(
        primary=[layer("p", ["ana", "ben"], type="daily")],
        secondary=[
            layer("s", ["cy"], type="daily", restriction={"weekly": {"mon-fri": "09:00-17:00"}})
        ],
    )
    shifts = oncall_timeline(sched, utc(2024, 1, 5, 12), utc(2024, 1, 7, 12), NO_BACKUPS)
    primary_shifts = [(s.start, s.end, s.person_id) for s in shifts if s.level is Level.PRIMARY]
    assert primary_shifts == [
        (utc(2024, 1, 5, 12), utc(2024, 1, 6, 9), "ana"),
        (utc(2024, 1, 6, 9), utc(2024, 1, 7, 9), "ben"),
        (utc(2024, 1, 7, 9), utc(2024, 1, 7, 12), "ana"),
    ]
    secondary_shifts = [(s.start, s.end, s.person_id) for s in shifts if s.level is Level.SECONDARY]
    assert secondary_shifts == [
        (utc(2024, 1, 5, 12), utc(2024, 1, 5, 17), "cy"),
        (utc(2024, 1, 5, 17), utc(2024, 1, 7, 12), None),  # Friday evening to the end: a gap
    ]
    assert shifts == sorted(shifts, key=lambda s: (s.start, s.level != Level.PRIMARY))


def test_timeline_merges_a_solo_rotation_into_one_shift() -> None:
    sched = schedule(primary=[layer("solo", ["ana"], type="daily")])
    shifts = oncall_timeline(sched, utc(2024, 1, 1), utc(2024, 2, 1), NO_BACKUPS)
    assert [(s.level, s.person_id) for s in shifts] == [
        (Level.PRIMARY, None),
        (Level.SECONDARY, None),
        (Level.PRIMARY, "ana"),
    ]
    assert shifts[2].start == utc(2024, 1, 1, 9)
    assert shifts[2].end == utc(2024, 2, 1)


def test_timeline_matches_point_queries() -> None:
    sched = after_hours_schedule(NEW_YORK_OFFICE, NY)
    start, end = local(NY, 2024, 3, 1, 0, 0), local(NY, 2024, 3, 20, 0, 0)
    backups = {"ana": "zoe"}
    shifts = oncall_timeline(sched, start, end, backups)
    for shift in shifts:
        for instant in (shift.start, shift.end - SECOND):
            answer = who_is_on_call(sched, instant, backups)
            assert answer.level(shift.level).person_id == shift.person_id
    for level in Level:
        mine = [s for s in shifts if s.level is level]
        assert mine[0].start == start and mine[-1].end == end
        assert all(a.end == b.start for a, b in pairwise(mine))


def test_timeline_rejects_bad_windows_and_naive_datetimes() -> None:
    sched = schedule(primary=[layer("p", ["ana"])])
    assert oncall_timeline(sched, utc(2024, 1, 1), utc(2024, 1, 1), NO_BACKUPS) == []
    with pytest.raises(ValueError, match="before start"):
        oncall_timeline(sched, utc(2024, 1, 2), utc(2024, 1, 1), NO_BACKUPS)
    with pytest.raises(ValueError, match="timezone-aware"):
        who_is_on_call(sched, datetime(2024, 1, 1), NO_BACKUPS)
