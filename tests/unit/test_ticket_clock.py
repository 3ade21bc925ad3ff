"""The ticket clock (escalation/ticket_clock.py): deadlines, business-hours SLA pause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from escalation.calendar import BusinessHours
from escalation.ticket_clock import (
    AgeWithout,
    TicketClockFacts,
    TicketWatchAnchor,
    deadlines,
    next_deadline,
    pending_intervals,
    sla_paused_minutes,
    sla_pending_minutes,
)
from escalation.vocabulary import Priority

# Monday 2026-03-02 16:00 Berlin (15:00 UTC); the team works mon-fri 09:00-17:00 Berlin.
MONDAY_4PM = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
BERLIN = BusinessHours.model_validate(
    {"timezone": "Europe/Berlin", "weekly": {"mon-fri": "09:00-17:00"}, "holiday_country": "DE"}
)


def facts(**changes: object) -> TicketClockFacts:
    values: dict[str, object] = {
        "ticket_id": "T-1",
        "revision": 1,
        "observed_at": MONDAY_4PM,
        "created_at": MONDAY_4PM,
        "priority": Priority.P2,
        "age_minutes": 480,
        "age_without": AgeWithout.RESOLUTION,
        "sla_resolution_minutes": 120,
        "business_hours": BERLIN,
    }
    values.update(changes)
    return TicketClockFacts.model_validate(values)


def test_non_critical_sla_clock_pauses_outside_business_hours() -> None:
    # 95 % of 120 min = 114 business minutes: 60 today (16:00-17:00), 54 tomorrow from 09:00.
    due = next_deadline(facts(age_minutes=None), frozenset())
    assert due is not None
    assert due.at == datetime(2026, 3, 3, 8, 54, tzinfo=UTC)  # Tuesday 09:54 Berlin
    assert due.key.startswith("sla:resolution:120:business")


def test_critical_sla_clock_runs_around_the_clock() -> None:
    due = next_deadline(facts(priority=Priority.P1, age_minutes=None), frozenset())
    assert due is not None
    assert due.at == MONDAY_4PM + timedelta(minutes=114)


def test_public_holiday_pauses_the_clock() -> None:
    # Friday 2026-04-03 is Good Friday in Germany: Thursday 16:00 + 114 business minutes
    # -> 60 min Thursday, then Monday 2026-04-06 is Easter Monday: Tuesday 09:54.
    thursday = datetime(2026, 4, 2, 14, 0, tzinfo=UTC)  # 16:00 CEST
    due = next_deadline(
        facts(created_at=thursday, observed_at=thursday, age_minutes=None), frozenset()
    )
    assert due is not None
    assert due.at == datetime(2026, 4, 7, 7, 54, tzinfo=UTC)


def test_age_and_sla_deadlines_in_order_and_each_fires_once() -> None:
    f = facts(sla_resolution_minutes=None, sla_first_response_minutes=60, business_hours=None)
    found = deadlines(f)
    assert [d.key.split(":")[0] for d in found] == ["sla", "age"]
    assert found[0].at == MONDAY_4PM + timedelta(minutes=57)
    assert found[1].at == MONDAY_4PM + timedelta(hours=8)
    first = next_deadline(f, frozenset())
    assert first is not None
    assert next_deadline(f, {first.key}) == found[1]
    assert next_deadline(f, {d.key for d in found}) is None


def test_first_response_age_rule_stops_after_a_response() -> None:
    f = facts(
        priority=Priority.P1,
        age_minutes=120,
        age_without=AgeWithout.FIRST_RESPONSE,
        sla_resolution_minutes=None,
        sla_first_response_minutes=60,
    )
    assert len(deadlines(f)) == 2
    answered = f.model_copy(update={"first_response_at": MONDAY_4PM + timedelta(minutes=5)})
    assert deadlines(answered) == []


def test_deadlines_before_the_observation_were_evaluated_by_intake() -> None:
    later = MONDAY_4PM + timedelta(hours=9)
    f = facts(business_hours=None, observed_at=later, sla_resolution_minutes=600)
    due = next_deadline(f, frozenset())
    assert due is not None and due.key.startswith("sla:")  # the 8 h age deadline is past


def test_solved_ticket_has_no_deadlines() -> None:
    assert deadlines(facts(resolved=True)) == []


@pytest.mark.parametrize(
    ("created", "now", "paused"),
    [
        (MONDAY_4PM, MONDAY_4PM + timedelta(minutes=30), 0.0),  # inside business hours
        (MONDAY_4PM, MONDAY_4PM + timedelta(hours=2), 60.0),  # 17:00-18:00 closed
        (MONDAY_4PM, datetime(2026, 3, 3, 8, 30, tzinfo=UTC), 16 * 60.0),  # overnight
    ],
)
def test_sla_paused_minutes(created: datetime, now: datetime, paused: float) -> None:
    assert sla_paused_minutes(BERLIN, created, now) == pytest.approx(paused)
    assert sla_paused_minutes(None, created, now) == 0.0


def test_anchor_scales_ticket_time() -> None:
    anchor = TicketWatchAnchor(
        ticket_time=MONDAY_4PM, workflow_time=datetime(2030, 1, 1, tzinfo=UTC), time_scale=0.01
    )
    assert anchor.ticket_now(datetime(2030, 1, 1, 0, 0, 36, tzinfo=UTC)) == MONDAY_4PM + timedelta(
        hours=1
    )
    assert anchor.wait_for(
        datetime(2030, 1, 1, tzinfo=UTC), MONDAY_4PM + timedelta(hours=2)
    ) == timedelta(seconds=72)


# --------------------------------------------------------------------------- pending pause


def _at(hours: float) -> datetime:
    return MONDAY_4PM + timedelta(hours=hours)


def test_pending_intervals_from_status_marks() -> None:
    marks = [(_at(0), False), (_at(1), True), (_at(2), True), (_at(3), False), (_at(5), True)]
    assert pending_intervals(marks, _at(6)) == [(_at(1), _at(3)), (_at(5), _at(6))]
    assert pending_intervals(marks, _at(2)) == [(_at(1), _at(2))]  # an open pause ends at until
    assert pending_intervals([(_at(0), False)], _at(9)) == []


def test_pending_minutes_on_the_sla_clock() -> None:
    # Pending Monday 16:30 -> Tuesday 09:30 Berlin: 30 business minutes Monday + 30 Tuesday.
    marks = [(_at(0), False), (_at(0.5), True), (_at(17.5), False)]
    assert sla_pending_minutes(BERLIN, marks, _at(20)) == 60
    assert sla_pending_minutes(None, marks, _at(20)) == 17 * 60  # around the clock


def test_pending_ticket_has_no_sla_deadline_and_resumes_later() -> None:
    running = facts(business_hours=None, age_minutes=None)
    assert [d.at for d in deadlines(running)] == [MONDAY_4PM + timedelta(minutes=114)]
    paused = running.model_copy(update={"sla_pending": True, "observed_at": _at(1)})
    assert deadlines(paused) == [] and next_deadline(paused, frozenset()) is None
    resumed = running.model_copy(update={"sla_pending_minutes": 180.0, "observed_at": _at(4)})
    [due] = deadlines(resumed)
    assert due.at == MONDAY_4PM + timedelta(minutes=114 + 180)
    assert due.key == deadlines(running)[0].key  # the same deadline, moved: it fires once


def test_pending_keeps_the_age_deadline() -> None:
    paused = facts(sla_pending=True)
    assert [d.key.split(":")[0] for d in deadlines(paused)] == ["age"]


def test_pending_minutes_move_a_business_hours_deadline_on_business_time() -> None:
    # 114 business minutes + 60 pending ones: 60 Monday, then 114 Tuesday from 09:00 -> 10:54.
    due = next_deadline(facts(age_minutes=None, sla_pending_minutes=60), frozenset())
    assert due is not None and due.at == datetime(2026, 3, 3, 9, 54, tzinfo=UTC)
