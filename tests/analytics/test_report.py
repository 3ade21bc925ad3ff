"""The monthly report: sections, recommendations, formats, an empty month, and the CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from escalation.cli import app
from store.analytics.render import render
from store.analytics.report import build_monthly_report
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from tests.analytics import dataset

SECTIONS = (
    "Volume summary",
    "Resolution effectiveness",
    "Customer impact",
    "Process improvements",
    "Recommendations",
)


def test_report_sections_and_recommendations(loaded: sessionmaker[Session]) -> None:
    with loaded() as session:
        report = build_monthly_report(session, "2026-01")
    assert not report.empty and report.volume.total == 7
    assert report.customer_impact.customers_affected == 4  # Globex, Initech, Hooli, Umbrella
    assert report.customer_impact.p0_escalations == 2
    tiers = {t.tier: (t.escalations, t.customers) for t in report.customer_impact.by_tier}
    assert tiers == {"enterprise": (4, 2), "standard": (2, 1), "business": (1, 1)}
    assert [a.agent_id for a in report.coaching] == ["a1"]
    advice = " ".join(report.recommendations)
    assert "67% of reviewed escalations were unnecessary" in advice
    assert "reopened within 7 days" in advice  # 25% > 5%
    assert "Coaching: a1" in advice
    assert "rose 250%" in advice


def test_report_formats(loaded: sessionmaker[Session]) -> None:
    with loaded() as session:
        report = build_monthly_report(session, "2026-01")
    text = render(report, "text")
    markdown = render(report, "markdown")
    for heading in SECTIONS:
        assert f"\n{heading}\n" in text
        assert f"## {heading}" in markdown
    assert "| P0 | 5.0 min | 5.0 min | met |" in markdown
    assert json.loads(render(report, "json"))["outcomes"]["reopened"] == 1
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert {"month", "section", "metric", "key", "value"} == set(rows[0])
    by = {(r["metric"], r["key"]): r["value"] for r in rows}
    assert by[("escalations", "P0")] == "2" and by[("ack_status", "P1")] == "met"
    with pytest.raises(ValueError):
        render(report, "pdf")


def test_empty_month_says_so(loaded: sessionmaker[Session]) -> None:
    with loaded() as session:
        report = build_monthly_report(session, "2025-06")
    assert report.empty and report.recommendations == []
    line = "No escalations in 2025-06 (2025-06-01 to 2025-07-01 UTC, exclusive)."
    assert line in render(report, "text")
    assert line in render(report, "markdown")
    assert line in render(report, "csv")
    assert json.loads(render(report, "json"))["empty"] is True


def test_cli_report(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        dataset.load(session)
    engine.dispose()
    runner = CliRunner()
    env = {"DATABASE_URL": url}
    result = runner.invoke(app, ["report", "--month", "2026-01", "--format", "markdown"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Escalation Monthly Report: 2026-01")
    empty = runner.invoke(app, ["report", "--month", "2025-06"], env=env)
    assert empty.exit_code == 0 and "No escalations in 2025-06" in empty.output
    csv_out = runner.invoke(app, ["report", "--month", "2026-01", "--format", "csv"], env=env)
    assert csv_out.output.splitlines()[0] == "month,section,metric,key,value"
    bad = runner.invoke(app, ["report", "--month", "2026-1"], env=env)
    assert bad.exit_code == 2
    bad_format = runner.invoke(app, ["report", "--format", "pdf"], env=env)
    assert bad_format.exit_code == 2
