"""Business calendar: opening hours, weekends, holidays, DST, SLA clocks that pause."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from escalation.calendar import (
    add_business_duration,
    business_elapsed,
    is_business_time,
    next_business_start,
    open_intervals,
)
from tests.unit.schedules.helpers import BERLIN_OFFICE, NEW_YORK_OFFICE, hours, local, utc

NY = "America/New_York"
BERLIN = "Europe/Berlin"


def test_business_time_edges_are_half_open() -> None:
    office = hours(NEW_YORK_OFFICE)
    tuesday = (2024, 1, 9)
    assert not is_business_time(office, local(NY, *tuesday, 8, 59, 59))
    assert is_business_time(office, local(NY, *tuesday, 9, 0))
    assert is_business_time(office, local(NY, *tuesday, 16, 59, 59))
    assert not is_business_time(office, local(NY, *tuesday, 17, 0))
    assert not is_business_time(office, local(NY, 2024, 1, 13, 12, 0))  # Saturday


def test_us_independence_day_is_closed() -> None:
    office = hours(NEW_YORK_OFFICE)
    assert not is_business_time(office, local(NY, 2024, 7, 4, 11, 0))  # Thursday, July 4th
    assert is_business_time(office, local(NY, 2024, 7, 5, 11, 0))
    # 2026: July 4th is a Saturday, observed on Friday July 3rd.
    assert not is_business_time(office, local(NY, 2026, 7, 3, 11, 0))


def test_german_unity_day_is_closed_in_berlin() -> None:
    office = hours(BERLIN_OFFICE)
    assert not is_business_time(office, local(BERLIN, 2024, 10, 3, 10, 0))  # Thursday
    assert next_business_start(office, local(BERLIN, 2024, 10, 2, 18, 0)) == local(
        BERLIN, 2024, 10, 4, 9, 0
    )


def test_extra_closed_dates() -> None:
    office = hours({**NEW_YORK_OFFICE, "closed_dates": ["2024-12-24"]})
    assert not is_business_time(office, local(NY, 2024, 12, 24, 10, 0))
    # Dec 25 is a public holiday too: next opening is Thursday Dec 26.
    assert next_business_start(office, local(NY, 2024, 12, 23, 17, 0)) == local(
        NY, 2024, 12, 26, 9, 0
    )


def test_next_business_start_over_a_weekend_and_the_march_dst_change() -> None:
    office = hours(NEW_YORK_OFFICE)
    friday_evening = local(NY, 2024, 3, 8, 18, 0)  # EST
    assert next_business_start(office, friday_evening) == utc(2024, 3, 11, 13, 0)  # 09:00 EDT


def test_next_business_start_during_business_hours_is_now() -> None:
    office = hours(NEW_YORK_OFFICE)
    now = local(NY, 2024, 1, 9, 10, 30)
    assert next_business_start(office, now) == now


def test_next_business_start_over_a_holiday_weekend() -> None:
    office = hours(NEW_YORK_OFFICE)
    # Friday before Memorial Day (Monday May 27th 2024), after hours.
    assert next_business_start(office, local(NY, 2024, 5, 24, 17, 0)) == local(
        NY, 2024, 5, 28, 9, 0
    )


def test_add_business_duration_pauses_over_the_weekend() -> None:
    office = hours(NEW_YORK_OFFICE)
    friday_3pm = local(NY, 2024, 3, 8, 15, 0)
    due = add_business_duration(office, friday_3pm, timedelta(hours=4))
    assert due == local(NY, 2024, 3, 11, 11, 0)  # 2 h on Friday, 2 h on Monday (now EDT)
    assert business_elapsed(office, friday_3pm, due) == timedelta(hours=4)


def test_add_business_duration_starting_off_hours_waits_for_the_opening() -> None:
    office = hours(NEW_YORK_OFFICE)
    saturday = local(NY, 2024, 1, 20, 12, 0)
    assert add_business_duration(office, saturday, timedelta(hours=8)) == local(
        NY, 2024, 1, 22, 17, 0
    )
    # An SLA that ends exactly at closing time does not roll over to the next day.
    assert add_business_duration(office, local(NY, 2024, 1, 16, 9, 0), timedelta(hours=8)) == (
        local(NY, 2024, 1, 16, 17, 0)
    )


def test_add_business_duration_skips_a_holiday() -> None:
    office = hours(NEW_YORK_OFFICE)
    due = add_business_duration(office, local(NY, 2024, 7, 3, 16, 0), timedelta(hours=2))
    assert due == local(NY, 2024, 7, 5, 10, 0)


def test_zero_and_negative_durations() -> None:
    office = hours(NEW_YORK_OFFICE)
    saturday = local(NY, 2024, 1, 13, 12, 0)
    assert add_business_duration(office, saturday, timedelta(0)) == saturday
    with pytest.raises(ValueError, match="negative"):
        add_business_duration(office, saturday, timedelta(minutes=-1))


def test_round_the_clock_calendar_counts_real_time_across_dst() -> None:
    always = hours({"timezone": BERLIN, "weekly": {"mon-sun": "00:00-24:00"}})
    midnight = local(BERLIN, 2024, 3, 31, 0, 0)
    next_midnight = local(BERLIN, 2024, 4, 1, 0, 0)
    assert business_elapsed(always, midnight, next_midnight) == timedelta(hours=23)
    assert add_business_duration(always, midnight, timedelta(hours=24)) == midnight + timedelta(
        hours=24
    )
    assert open_intervals(always, midnight, next_midnight) == [(midnight, next_midnight)]
    autumn = local(BERLIN, 2024, 10, 27, 0, 0)
    assert business_elapsed(always, autumn, local(BERLIN, 2024, 10, 28, 0, 0)) == timedelta(
        hours=25
    )


def test_business_day_is_eight_hours_on_dst_days() -> None:
    office = hours({"timezone": NY, "weekly": {"mon-sun": "09:00-17:00"}})
    for day in ((2024, 3, 10), (2024, 11, 3)):
        start = local(NY, *day, 0, 0)
        assert business_elapsed(office, start, start + timedelta(days=1)) == timedelta(hours=8)


def test_overnight_and_split_ranges() -> None:
    night_desk = hours({"timezone": "UTC", "weekly": {"mon-fri": ["08:00-12:00", "22:00-02:00"]}})
    assert is_business_time(night_desk, utc(2024, 1, 9, 23, 0))  # Tuesday night
    assert is_business_time(night_desk, utc(2024, 1, 10, 1, 59))  # continues into Wednesday
    assert not is_business_time(night_desk, utc(2024, 1, 10, 2, 0))
    assert is_business_time(night_desk, utc(2024, 1, 13, 1, 0))  # Friday's night shift
    assert not is_business_time(night_desk, utc(2024, 1, 14, 1, 0))  # Saturday night: closed
    assert next_business_start(night_desk, utc(2024, 1, 9, 12, 0)) == utc(2024, 1, 9, 22, 0)


def test_business_elapsed() -> None:
    office = hours(NEW_YORK_OFFICE)
    monday = local(NY, 2024, 1, 8, 0, 0)
    assert business_elapsed(office, monday, monday + timedelta(days=7)) == timedelta(hours=40)
    assert business_elapsed(office, monday, monday) == timedelta(0)
    with pytest.raises(ValueError, match="before start"):
        business_elapsed(office, monday, monday - timedelta(seconds=1))


def test_naive_datetimes_are_rejected() -> None:
    office = hours(NEW_YORK_OFFICE)
    naive = datetime(2024, 1, 9, 10, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_business_time(office, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_business_start(office, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_duration(office, naive, timedelta(hours=1))
    with pytest.raises(ValueError, match="timezone-aware"):
        business_elapsed(office, utc(2024, 1, 9), naive)


def test_results_are_utc_whatever_the_input_offset() -> None:
    office = hours(NEW_YORK_OFFICE)
    berlin_input = local(BERLIN, 2024, 1, 20, 12, 0).astimezone(ZoneInfo(BERLIN))
    result = next_business_start(office, berlin_input)
    assert result.utcoffset() == timedelta(0)
    assert result == local(NY, 2024, 1, 22, 9, 0)


def test_martin_luther_king_day_is_closed() -> None:
    office = hours(NEW_YORK_OFFICE)
    assert next_business_start(office, local(NY, 2024, 1, 13, 12, 0)) == local(
        NY, 2024, 1, 16, 9, 0
    )
