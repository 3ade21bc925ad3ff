"""Dry run of an escalation: who is notified when, through which channel, staffed at step time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from escalation.planning import PlanError
from escalation.policy import Policy
from escalation.schedules import Level, Override, TimeOff
from escalation.simulate import Simulation, simulate, simulation_window
from escalation.vocabulary import Priority, RouteKey

CHRISTMAS_EVE = datetime(2026, 12, 24, 22, 0, tzinfo=UTC)
# Security rotation: weekly, Mondays 09:00 America/Chicago (15:00 UTC in winter) from
# 2026-01-05, primary [max, dan]. Week 47 (from Mon 2026-11-30) is dan's.
DAN_WEEK = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def rows(sim: Simulation) -> list[tuple[str, str, list[str]]]:
    return [
        (f"{step.at:%H:%M}", n.channel, [r.person_id or r.name for r in n.recipients])
        for step in sim.steps
        for n in step.notifications
    ]


def test_p0_outage_on_christmas_eve(policy: Policy) -> None:
    sim = simulate(policy, priority=Priority.P0, route=RouteKey.OUTAGE, start=CHRISTMAS_EVE)
    assert (sim.team, sim.chain, sim.paging_provider) == (
        "engineering",
        ["engineering", "incident-command"],
        "pagerduty",
    )
    assert [s.at for s in sim.steps] == [
        CHRISTMAS_EVE + timedelta(minutes=m) for m in (0, 5, 15, 30)
    ]
    assert [s.unless for s in sim.steps] == [
        None,
        "skipped once acknowledged",
        "skipped once resolved",
        "skipped once resolved",
    ]
    assert rows(sim) == [
        ("22:00", "pagerduty", ["dan"]),
        ("22:00", "slack #incidents", []),
        ("22:00", "email", ["ivy"]),
        ("22:00", "statuspage", []),
        ("22:05", "pagerduty", ["erin"]),
        ("22:05", "email", ["frank"]),  # the support manager, told of the missed ack
        ("22:05", "pagerduty", ["ivy"]),
        ("22:05", "slack war room", ["dan", "erin", "ivy"]),
        ("22:15", "email", ["gina", "ivy"]),
        ("22:15", "email", []),
        ("22:30", "email", ["ivy"]),
        ("22:30", "email", ["gina"]),
    ]
    first = sim.steps[0]
    assert first.primary_oncall is not None and first.primary_oncall.person_id == "dan"
    assert first.primary_source == "static" and first.business_hours_open is None
    page = first.notifications[0]
    assert page.recipients[0].address == "dan@example.com"
    war_room = sim.steps[1].notifications[3]
    assert war_room.recipients[0].address == "<@U0DAN>"
    assert all(not s.warnings for s in sim.steps)
    assert sim.assumptions


def test_on_call_is_resolved_at_each_step_time(policy: Policy) -> None:
    start = datetime(2026, 12, 7, 14, 50, tzinfo=UTC)  # 10 minutes before the handoff
    sim = simulate(policy, priority=Priority.P1, route=RouteKey.SECURITY, start=start)
    people = [(s.primary_oncall.person_id, s.primary_source) for s in sim.steps]  # type: ignore[union-attr]
    assert people == [("dan", "layer"), ("max", "layer"), ("max", "layer")]
    assert rows(sim)[0] == ("14:50", "slack #escalations", ["dan"])
    assert rows(sim)[2] == ("15:05", "phone", ["max"])


def test_overrides_and_time_off_change_who_is_notified(policy: Policy) -> None:
    override = Override(
        person="erin",
        level=Level.PRIMARY,
        start=DAN_WEEK + timedelta(minutes=10),
        end=DAN_WEEK + timedelta(hours=1),
    )
    sim = simulate(
        policy,
        priority=Priority.P1,
        route=RouteKey.SECURITY,
        start=DAN_WEEK,
        overrides=[override],
    )
    assert [s.primary_oncall.person_id for s in sim.steps] == ["dan", "erin", "erin"]  # type: ignore[union-attr]
    assert sim.steps[1].primary_source == "override"

    away = TimeOff(person="dan", start=DAN_WEEK - timedelta(days=1), end=DAN_WEEK + timedelta(1))
    sim = simulate(
        policy, priority=Priority.P1, route=RouteKey.SECURITY, start=DAN_WEEK, time_off=[away]
    )
    first = sim.steps[0]
    assert first.primary_oncall is not None and first.primary_oncall.person_id == "erin"
    assert first.primary_source == "time_off"
    assert "backup for dan" in first.oncall_reason


def test_critical_issue_outside_business_hours_phones_the_on_call(policy: Policy) -> None:
    saturday = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
    sim = simulate(policy, priority=Priority.P1, route=RouteKey.TECHNICAL, start=saturday)
    first = sim.steps[0]
    assert first.business_hours_open is False
    assert first.next_business_start == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    assert (first.notifications[-1].channel, first.notifications[-1].note) == (
        "phone",
        "outside business hours",
    )
    assert first.notifications[-1].recipients[0].address == "+15555550101"
    weekday = simulate(
        policy,
        priority=Priority.P1,
        route=RouteKey.TECHNICAL,
        start=datetime(2026, 12, 7, 15, 0, tzinfo=UTC),
    )
    assert weekday.steps[0].business_hours_open is True
    assert all(n.channel != "phone" for n in weekday.steps[0].notifications)


def test_p3_outside_business_hours_is_flagged(policy: Policy) -> None:
    saturday = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
    sim = simulate(policy, priority=Priority.P3, route=RouteKey.TECHNICAL, start=saturday)
    assert "outside L2 Technical Specialists business hours" in sim.steps[0].warnings[0]
    assert all(n.channel != "phone" for n in sim.steps[0].notifications)


def test_no_one_on_call_is_a_warning_naming_the_manager(policy: Policy) -> None:
    sim = simulate(
        policy,
        priority=Priority.P1,
        route=RouteKey.TECHNICAL,
        team="finance",
        start=CHRISTMAS_EVE,
    )
    first = sim.steps[0]
    assert first.primary_oncall is None and first.primary_source == "none"
    assert first.warnings == [
        "no one on call for primary_oncall: the team manager (Gina Patel) is told at once; "
        "policy no_one_on_call=skip"
    ]


def test_window_and_errors(policy: Policy) -> None:
    team, first, last = simulation_window(
        policy, priority=Priority.P2, route=RouteKey.TECHNICAL, start=CHRISTMAS_EVE
    )
    assert (team, first, last) == ("l2", CHRISTMAS_EVE, CHRISTMAS_EVE + timedelta(hours=4))
    with pytest.raises(PlanError):
        simulate(
            policy, priority=Priority.P0, route=RouteKey.OUTAGE, start=CHRISTMAS_EVE, team="mars"
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        simulate(
            policy,
            priority=Priority.P0,
            route=RouteKey.OUTAGE,
            start=CHRISTMAS_EVE.replace(tzinfo=None),
        )


def test_cli_prints_a_table_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from escalation.cli import app

    monkeypatch.delenv("ESCALATION_POLICY", raising=False)
    runner = CliRunner()
    args = ["simulate", "--priority", "P0", "--route", "outage", "--policy-only"]
    at = ["--at", "2026-12-24T22:00:00Z"]
    table = runner.invoke(app, [*args, *at], env={"COLUMNS": "160"})
    assert table.exit_code == 0, table.output
    assert "P0 outage escalation for team engineering" in table.output
    assert "T+5m  Thu 12-24 22:05" in table.output
    assert "pagerduty" in table.output and "Erin Walsh <erin@example.com>" in table.output
    as_json = runner.invoke(app, [*args, *at, "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["steps"][1]["at"] == "2026-12-24T22:05:00Z"
    naive = runner.invoke(app, [*args, "--at", "2026-12-24T22:00:00"])
    assert naive.exit_code == 2 and "time zone" in naive.output
    unknown = runner.invoke(app, [*args[:-1], "--team", "mars"])
    assert unknown.exit_code == 2 and "unknown team" in unknown.output
