"""The monthly report as text, Markdown, JSON or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from enum import StrEnum

from store.analytics.report import MonthlyReport

TITLE = "Escalation Monthly Report"


class ReportFormat(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"
    CSV = "csv"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _change(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.0f}%"


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


Table = tuple[list[str], list[list[str]]]


def _sections(report: MonthlyReport) -> Iterator[tuple[str, list[str], list[Table]]]:
    """(heading, paragraphs, tables) for each section, shared by text and Markdown."""
    v, o, c = report.volume, report.outcomes, report.customer_impact
    yield (
        "Volume summary",
        [
            f"Total escalations: {v.total} (previous month {v.previous_total}, "
            f"change {_change(v.change_pct)})"
        ],
        [
            (
                ["Severity", "Escalations", "Share", "Previous", "Change"],
                [
                    [
                        s.key,
                        str(s.count),
                        _pct(s.count / v.total if v.total else None),
                        str(s.previous),
                        _change(s.change_pct),
                    ]
                    for s in v.by_severity
                ],
            ),
            (
                ["Trigger type", "Escalations", "Previous", "Change"],
                [
                    [t.key, str(t.count), str(t.previous), _change(t.change_pct)]
                    for t in v.by_trigger
                ],
            ),
        ],
    )
    yield (
        "Resolution effectiveness",
        [
            f"Resolution rate: {_pct(o.resolution_rate)} ({o.resolved} of {o.escalations})",
            f"Reopened within 7 days: {o.reopened} ({_pct(o.reopen_rate)} of resolved)",
            f"Unnecessary escalations: {o.unnecessary} of {o.reviewed} reviewed "
            f"({_pct(o.unnecessary_share)})",
        ],
        [
            (
                [
                    "Priority",
                    "Ack avg",
                    "Ack target",
                    "Ack",
                    "Resolution avg",
                    "Target",
                    "Resolution",
                ],
                [
                    [
                        t.priority,
                        _dur(t.ack_avg_seconds),
                        _dur(t.ack_target_seconds),
                        t.ack_status,
                        _dur(t.resolution_avg_seconds),
                        _dur(t.resolution_target_seconds),
                        t.resolution_status,
                    ]
                    for t in report.times
                ],
            ),
            (
                ["Route", "Escalations", "Resolution rate", "Avg resolution", "CSAT"],
                [
                    [
                        r.route,
                        str(r.escalations),
                        _pct(r.resolution_rate),
                        _dur(r.resolution_avg_seconds),
                        _num(r.csat_avg),
                    ]
                    for r in report.routes
                ],
            ),
        ],
    )
    yield (
        "Customer impact",
        [
            f"Customers affected: {c.customers_affected}; P0 escalations: {c.p0_escalations}",
            f"CSAT: {_num(c.csat_avg)}/5 from {c.csat_responses} responses "
            f"({_pct(c.csat_satisfied_share)} satisfied); survey response rate "
            f"{_pct(o.survey_response_rate)}",
        ],
        [
            (
                ["Tier", "Escalations", "Customers"],
                [[t.tier, str(t.escalations), str(t.customers)] for t in c.by_tier],
            )
        ],
    )
    yield (
        "Process improvements",
        [
            f"Preventable escalations: {o.preventable}; KB drafts captured: {o.kb_drafts} "
            f"({_pct(o.knowledge_capture_rate)} of resolved)",
        ],
        [
            (
                ["Top reason", "Escalations", "Share", "Preventable", "Opportunity"],
                [
                    [r.reason, str(r.escalations), _pct(r.share), str(r.preventable), r.opportunity]
                    for r in report.reasons
                ],
            ),
            (
                ["Agent", "Team", "Escalations", "Rate", "Team rate", "Flags"],
                [
                    [
                        a.agent_id,
                        a.team or "-",
                        str(a.escalations),
                        _pct(a.rate),
                        _pct(a.team_rate),
                        "; ".join(a.flags),
                    ]
                    for a in report.coaching
                ],
            ),
            (
                ["On-call team", "Pages", "Acked < 5 min", "Avg ack", "False alerts"],
                [
                    [
                        h.team,
                        str(h.pages),
                        f"{h.acked_within_target}/{h.paged_escalations}",
                        _dur(h.ack_avg_seconds),
                        str(h.false_alerts),
                    ]
                    for h in report.oncall
                ],
            ),
        ],
    )
    yield ("Recommendations", [f"- {r}" for r in report.recommendations], [])


def _empty_line(report: MonthlyReport) -> str:
    return (
        f"No escalations in {report.month} "
        f"({report.period.start.date()} to {report.period.end.date()} UTC, exclusive)."
    )


def render_text(report: MonthlyReport) -> str:
    out = [f"{TITLE}: {report.month}", "=" * (len(TITLE) + 2 + len(report.month)), ""]
    if report.empty:
        return "\n".join([*out, _empty_line(report), ""])
    for heading, paragraphs, tables in _sections(report):
        out += [heading, "-" * len(heading), *paragraphs]
        for header, rows in tables:
            if not rows:
                continue
            widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=False)]
            out.append("")
            for line in [header, *rows]:
                out.append(
                    "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)).rstrip()
                )
        out.append("")
    return "\n".join(out)


def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: MonthlyReport) -> str:
    out = [f"# {TITLE}: {report.month}", ""]
    if report.empty:
        return "\n".join([*out, _empty_line(report), ""])
    for heading, paragraphs, tables in _sections(report):
        out += [f"## {heading}", ""]
        out += [p if p.startswith("- ") else f"{p}  " for p in paragraphs]
        for header, rows in tables:
            if not rows:
                continue
            out += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


def render_csv(report: MonthlyReport) -> str:
    """One metric a row: section, metric, key, value (easy to load into a spreadsheet)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["month", "section", "metric", "key", "value"])
    m = report.month

    def row(section: str, metric: str, key: str, value: object) -> None:
        writer.writerow([m, section, metric, key, "" if value is None else value])

    v, o, c = report.volume, report.outcomes, report.customer_impact
    row("volume", "escalations", "total", v.total)
    row("volume", "previous_month", "total", v.previous_total)
    row("volume", "change_pct", "total", v.change_pct)
    for s in v.by_severity:
        row("volume", "escalations", s.key, s.count)
    for t in v.by_trigger:
        row("volume", "escalations_by_trigger", t.key, t.count)
    for p in report.times:
        row("resolution", "ack_avg_seconds", p.priority, p.ack_avg_seconds)
        row("resolution", "ack_status", p.priority, p.ack_status)
        row("resolution", "resolution_avg_seconds", p.priority, p.resolution_avg_seconds)
        row("resolution", "resolution_status", p.priority, p.resolution_status)
    for name in ("resolution_rate", "reopen_rate", "unnecessary_share", "knowledge_capture_rate"):
        row("resolution", name, "all", getattr(o, name))
    for r in report.routes:
        row("routes", "escalations", r.route, r.escalations)
        row("routes", "resolution_rate", r.route, r.resolution_rate)
        row("routes", "csat_avg", r.route, r.csat_avg)
    row("customer_impact", "customers_affected", "all", c.customers_affected)
    row("customer_impact", "csat_avg", "all", c.csat_avg)
    row("customer_impact", "csat_responses", "all", c.csat_responses)
    for tier in c.by_tier:
        row("customer_impact", "escalations_by_tier", tier.tier, tier.escalations)
    for reason in report.reasons:
        row("process", "escalations_by_reason", reason.reason, reason.escalations)
    row("process", "kb_drafts", "all", o.kb_drafts)
    for a in report.coaching:
        row("process", "coaching_flag", a.agent_id, "; ".join(a.flags))
    for i, text in enumerate(report.recommendations, 1):
        row("recommendations", "recommendation", str(i), text)
    if report.empty:
        row("volume", "note", "all", _empty_line(report))
    return buffer.getvalue()


def render(report: MonthlyReport, fmt: ReportFormat | str) -> str:
    fmt = ReportFormat(fmt)
    if fmt is ReportFormat.JSON:
        return report.model_dump_json(indent=2)
    if fmt is ReportFormat.MARKDOWN:
        return render_markdown(report)
    if fmt is ReportFormat.CSV:
        return render_csv(report)
    return render_text(report)
