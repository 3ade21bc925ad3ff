"""Analytics on hand-built data with known answers (tests/analytics/dataset.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from store.analytics import DEFAULT_TARGETS, build_dashboard, month_period, parse_period
from store.analytics.agents import agent_rates
from store.analytics.oncall import oncall_health
from store.analytics.outcomes import outcomes
from store.analytics.period import PeriodError
from store.analytics.reasons import top_reasons
from store.analytics.routes import route_performance
from store.analytics.times import response_times
from store.analytics.volume import choose_bucket, over_time, volume

JAN = month_period("2026-01")


def test_volume_by_severity_and_trigger_with_change(loaded: sessionmaker[Session]) -> None:
    with loaded() as session:
        v = volume(session, JAN)
    assert (v.total, v.previous_total, v.change_pct) == (7, 2, 250.0)
    sev = {c.key: (c.count, c.previous, c.change_pct) for c in v.by_severity}
    assert sev == {"P0": (2, 1, 100.0), "P1": (2, 0, None), "P2": (2, 1, 100.0), "P3": (1, 0, None)}
    trig = {c.key: (c.count, c.previous) for c in v.by_trigger}
    assert trig == {
        "system_outage": (2, 1),
        "unspecified": (2, 1),
        "mass_pattern": (1, 0),
        "security_keyword": (1, 0),
        "billing_above_limit": (1, 0),
        "complaint": (1, 0),
    }
    assert v.by_trigger[0].key in {"system_outage", "unspecified"}


def test_volume_team_filter(loaded: sessionmaker[Session]) -> None:
    with loaded() as session:
        v = volume(session, JAN, "engineering")
    assert (v.total, v.previous_total) == (2, 1)


def test_over_time_daily_buckets(loaded: sessionmaker[Session]) -> None:
    with loaded() as session:
        series = over_time(session, JAN)
    assert series.bucket_seconds == 86400
    assert series.points[0].start == datetime(2026, 1, 5, tzinfo=UTC)
    assert series.points[-1].start == datetime(2026, 1, 20, tzinfo=UTC)
    assert len(series.points) == 16  # gaps filled
    assert sum(sum(p.counts.values()) for p in series.points) == 7
    assert series.points[0].counts == {"P0": 1, "P1": 0, "P2": 0, "P3": 0}


def test_bucket_zooms_in_on_a_compressed_demo() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert choose_bucket(JAN, start, start.replace(minute=10)) == 60
    assert choose_bucket(parse_period("24h"), None, None) == 3600
    assert choose_bucket(parse_period("7d"), None, None) == 6 * 3600


def test_ack_and_resolution_times_against_targets(loaded: sessionmaker[Session]) -> None:
    with loaded() as session:
        rows = {r.priority: r for r in response_times(session, JAN, None, DEFAULT_TARGETS)}
    p0, p1, p2, p3 = rows["P0"], rows["P1"], rows["P2"], rows["P3"]
    assert (p0.ack_avg_seconds, p0.ack_within_target, p0.ack_status) == (300.0, 1, "met")
    assert (p0.resolution_avg_seconds, p0.resolution_within_target) == (14400.0, 1)
    assert p0.resolution_status == "met"
    # P1 mixes a real-time run (20 min) and a 0.01-scaled run (6 s real = 10 min policy).
    assert (p1.ack_avg_seconds, p1.ack_within_target, p1.ack_status) == (900.0, 1, "met")
    assert (p1.resolution_avg_seconds, p1.resolution_status) == (19800.0, "met")
    assert (p2.acknowledged, p2.ack_avg_seconds, p2.ack_status) == (1, 1800.0, "met")
    assert (p2.resolved, p2.resolution_status) == (0, "no data")
    assert (p3.escalations, p3.ack_status) == (1, "no target")


def test_engineering_alone_is_close_or_missed(loaded: sessionmaker[Session]) -> None:
    with loaded() as session:
        rows = {r.priority: r for r in response_times(session, JAN, "security", DEFAULT_TARGETS)}
    assert (rows["P1"].ack_avg_seconds, rows["P1"].ack_status) == (1200.0, "missed")
    assert rows["P1"].resolution_status == "missed"  # 10 h vs 8 h
    assert DEFAULT_TARGETS.status(330, 300) == "close"
    assert DEFAULT_TARGETS.status(361, 300) == "missed"


def test_outcomes(loaded: sessionmaker[Session]) -> None:
    with loaded() as session:
        o = outcomes(session, JAN, None, DEFAULT_TARGETS)
    assert (o.escalations, o.resolved, o.resolution_rate) == (7, 4, 0.5714)
    assert (o.surveys_sent, o.csat_responses, o.csat_avg) == (4, 3, 4.0)
    assert (o.csat_satisfied_share, o.survey_response_rate) == (0.6667, 0.75)
    assert (o.reopened, o.reopen_rate) == (1, 0.25)
    assert (o.reviewed, o.unnecessary, o.unnecessary_share, o.preventable) == (3, 2, 0.6667, 2)
    assert (o.kb_drafts, o.knowledge_capture_rate) == (2, 0.5)


def test_route_performance(loaded: sessionmaker[Session]) -> None:
    with loaded() as session:
        routes = {r.route: r for r in route_performance(session, JAN)}
    assert set(routes) == {"outage", "security", "technical", "billing", "product"}
    outage = routes["outage"]
    assert (outage.escalations, outage.resolution_rate, outage.resolution_avg_seconds) == (
        2,
        1.0,
        14400.0,
    )
    assert outage.csat_avg == 4.0
    technical = routes["technical"]
    assert (technical.escalations, technical.resolved, technical.resolution_rate) == (2, 1, 0.5)
    assert (technical.resolution_avg_seconds, technical.csat_avg) == (3600.0, 4.0)
    assert routes["security"].csat_avg is None


def test_agent_rates_and_coaching_flags(loaded: sessionmaker[Session]) -> None:
    with loaded() as session:
        agents = {a.agent_id: a for a in agent_rates(session, JAN, None, DEFAULT_TARGETS)}
    a1, a2, a3 = agents["a1"], agents["a2"], agents["a3"]
    assert (a1.escalations, a1.handled, a1.rate, a1.team_rate) == (3, 10, 0.3, 0.1765)
    assert a1.flags == ["escalation rate 30% vs team 18%"]
    assert (a1.reviewed, a1.unnecessary) == (2, 1)
    assert (a2.escalations, a2.rate, a2.flags) == (2, 0.5, [])  # too few to flag
    assert (a3.escalations, a3.rate) == (1, 0.05)
    assert a1.team == "tier1" and a1.team_avg_escalations == 2.0


def test_top_reasons(loaded: sessionmaker[Session]) -> None:
    with loaded() as session:
        reasons = top_reasons(session, JAN)
    assert (reasons[0].reason, reasons[0].escalations, reasons[0].share) == (
        "api-outage",
        2,
        0.2857,
    )
    by = {r.reason: r for r in reasons}
    assert (by["security"].preventable, by["security"].top_gap) == (1, "training")
    assert by["login-issue"].top_gap == "process"
    assert "train" in by["security"].opportunity
    assert sum(r.escalations for r in reasons) == 7


def test_oncall_health(loaded: sessionmaker[Session]) -> None:
    with loaded() as session:
        rows = {r.team: r for r in oncall_health(session, JAN, None, DEFAULT_TARGETS)}
    assert set(rows) == {"engineering", "security"}
    eng, sec = rows["engineering"], rows["security"]
    assert (eng.pages, eng.paged_escalations, eng.acked_within_target) == (3, 2, 1)
    assert (eng.ack_avg_seconds, eng.false_alerts) == (300.0, 0)
    assert (sec.pages, sec.acked_within_target, sec.ack_avg_seconds, sec.false_alerts) == (
        1,
        0,
        1200.0,
        1,
    )


def test_dashboard_assembles_every_section(loaded: sessionmaker[Session]) -> None:
    now = datetime(2026, 1, 21, tzinfo=UTC)
    with loaded() as session:
        board = build_dashboard(session, JAN, ui_base="http://ui/namespaces/default", now=now)
    assert board.active.total == 3
    assert board.active.by_priority == {"P0": 0, "P1": 0, "P2": 2, "P3": 1}
    assert [a.ticket_id for a in board.active.items] == ["T1", "T4", "T5"]
    assert (
        board.active.items[0].temporal_ui_url
        == "http://ui/namespaces/default/workflows/escalation-T1"
    )
    assert board.active.items[0].age_seconds == 14 * 86400 - 10 * 3600
    assert board.teams == ["billing", "engineering", "l2", "product", "security"]
    assert board.volume.total == 7 and board.outcomes.resolved == 4


def test_periods() -> None:
    assert month_period("2026-12").end == datetime(2027, 1, 1, tzinfo=UTC)
    assert month_period("2026-01").previous().label == "2025-12"
    week = parse_period("7d", now=datetime(2026, 1, 8, tzinfo=UTC))
    assert week.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert week.previous().start == datetime(2025, 12, 25, tzinfo=UTC)
    for bad in ("2026-13", "0d", "week", "7w"):
        with pytest.raises(PeriodError):
            parse_period(bad)
