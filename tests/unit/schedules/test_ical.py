"""iCalendar export: structure, CRLF, folding at 75 octets, UTC times, stable UIDs."""

from __future__ import annotations

from datetime import timedelta

from escalation.schedules import schedule_to_ics
from escalation.schedules.ical import escape_text, fold_line
from tests.unit.schedules.helpers import layer, schedule, utc

NAMES = {"ana": "Ana Álvarez-Øster, Site Reliability; Platform", "ben": "Ben Chen"}
STAMP = utc(2024, 1, 1, 0, 0)


def export() -> str:
    sched = schedule(
        primary=[layer("p", ["ana", "ben"], type="daily")],
        secondary=[layer("s", ["ben"], restriction={"weekly": {"mon-fri": "09:00-17:00"}})],
        time_off=[
            {"person": "ben", "start": "2024-01-04T09:00:00Z", "end": "2024-01-05T09:00:00Z"}
        ],
    )
    return schedule_to_ics(sched, utc(2024, 1, 1), utc(2024, 1, 8), {"ben": "cy"}, NAMES, STAMP)


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def test_line_endings_are_crlf_and_lines_fit_75_octets() -> None:
    text = export()
    assert text.endswith("\r\n")
    physical = text.split("\r\n")[:-1]
    assert "\n" not in "".join(physical) and "\r" not in "".join(physical)
    assert all(len(line.encode("utf-8")) <= 75 for line in physical)
    assert any(line.startswith(" ") for line in physical)  # the long name was folded
    text.encode("utf-8").decode("utf-8")  # folding never splits a character


def test_begin_end_balance_and_required_properties() -> None:
    lines = unfold(export())
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    stack: list[str] = []
    for line in lines:
        if line.startswith("BEGIN:"):
            stack.append(line[6:])
        elif line.startswith("END:"):
            assert stack.pop() == line[4:]
    assert stack == []
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    events = "\n".join(lines).split("BEGIN:VEVENT")[1:]
    assert events
    uids = []
    for event in events:
        props = dict(line.split(":", 1) for line in event.strip().split("\n")[:-1])
        for name in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
            assert name in props
        assert props["DTSTAMP"] == "20240101T000000Z"
        assert props["DTSTART"].endswith("Z") and len(props["DTSTART"]) == 16
        assert props["DTSTART"] < props["DTEND"]
        uids.append(props["UID"])
    assert len(uids) == len(set(uids))


def test_summaries_name_the_person_and_level() -> None:
    lines = unfold(export())
    summaries = [line for line in lines if line.startswith("SUMMARY:")]
    assert "SUMMARY:Primary on-call: Ben Chen" in summaries
    assert "SUMMARY:Primary on-call: Ana Álvarez-Øster\\, Site Reliability\\; Platform" in summaries
    assert "SUMMARY:Secondary on-call: Ben Chen" in summaries
    assert "SUMMARY:Secondary on-call: cy" in summaries  # backup without a name: the id
    # Gaps (secondary outside office hours) are not events.
    assert not any("None" in s for s in summaries)


def test_first_primary_event_and_stable_uid() -> None:
    lines = unfold(export())
    first = lines.index("BEGIN:VEVENT")
    assert lines[first + 1] == "UID:oncall-engineering-primary-20240101T090000Z@escalation-routing"
    assert lines[first + 3 : first + 5] == ["DTSTART:20240101T090000Z", "DTEND:20240102T090000Z"]
    assert export() == export()  # deterministic


def test_fold_and_escape_helpers() -> None:
    assert fold_line("x" * 75) == "x" * 75
    folded = fold_line("é" * 100)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == "é" * 100
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"


def test_empty_range_is_an_empty_calendar() -> None:
    sched = schedule(primary=[layer("p", ["ana"])])
    text = schedule_to_ics(sched, utc(2024, 1, 1), utc(2024, 1, 1) + timedelta(0), {}, {}, STAMP)
    assert "BEGIN:VEVENT" not in text and text.endswith("END:VCALENDAR\r\n")
