"""The catalogue of the BI views (migration 0006_bi_views): names, columns, types, units.

One source for the CSV export (column types decide how a value is written), the listing at
`GET /v1/analytics`, and the tests that hold docs/analytics.md and the database to it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Kind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"  # UTC
    DATE = "date"  # UTC day


class ViewColumn(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    kind: Kind
    description: str


class View(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # the short name used in URLs and on the command line
    view: str  # the SQL view
    description: str
    time_column: str  # what `from` / `to` filter on
    team_column: str  # what `team` filters on
    order_by: tuple[str, ...]  # a stable order, so two exports of the same data are identical
    columns: tuple[ViewColumn, ...]


def _c(name: str, kind: Kind, description: str) -> ViewColumn:
    return ViewColumn(name=name, kind=kind, description=description)


T, INT, N, B, TS, D = Kind.TEXT, Kind.INTEGER, Kind.NUMBER, Kind.BOOLEAN, Kind.TIMESTAMP, Kind.DATE

_ESCALATION = (
    _c("escalation_key", T, "escalation run id, `escalation-<ticket>.<run>`"),
    _c("ticket_id", T, "help-desk ticket id"),
)
_TEAM_PRIORITY = (
    _c("team", T, "owning team (policy team id)"),
    _c("priority", T, "P0 (most urgent) to P3"),
)

VIEWS: tuple[View, ...] = (
    View(
        name="escalations",
        view="analytics_escalations",
        description="one row per escalation run, with its times, targets and outcome",
        time_column="started_at",
        team_column="team",
        order_by=("started_at", "escalation_key"),
        columns=(
            *_ESCALATION,
            _c("priority", T, "P0 (most urgent) to P3"),
            _c("route", T, "escalation route (technical, outage, security, billing, ...)"),
            _c("team", T, "owning team (policy team id)"),
            _c("status", T, "current state: paging, acknowledged, resolved, ..."),
            _c("customer_name", T, "customer organization, as the ticket system sent it"),
            _c("customer_tier", T, "customer tier (standard, business, enterprise, ...)"),
            _c("agent_id", T, "L1 agent who escalated; empty when unknown"),
            _c("agent_team", T, "the agent's team; empty when unknown"),
            _c("category", T, "escalation category recorded at start; empty when none"),
            _c("trigger_types", T, "triggers that fired, comma-separated, alphabetical"),
            _c("started_at", TS, "when the escalation started"),
            _c("acknowledged_at", TS, "first acknowledgement; empty while unacknowledged"),
            _c("resolved_at", TS, "resolution; empty while open"),
            _c("time_scale", N, "ESCALATION_TIME_SCALE the run used (1 = real time)"),
            _c("ack_seconds", N, "time to acknowledge, seconds of policy time"),
            _c("ack_target_seconds", N, "acknowledgement target, seconds; empty: none (P3)"),
            _c(
                "ack_status",
                T,
                "met, close (<= 20 % over), missed, pending, not acknowledged, no target",
            ),
            _c("resolution_seconds", N, "time to resolve, seconds of policy time"),
            _c("resolution_target_seconds", N, "resolution target, seconds; empty: none (P3)"),
            _c("resolution_status", T, "met, close (<= 20 % over), missed, pending, no target"),
            _c("bounces", INT, "hand-overs between teams"),
            _c("reopened", B, "ticket escalated again within 7 days of resolution, or so reviewed"),
            _c("necessary", B, "review verdict; empty: not reviewed"),
            _c("preventable", B, "review verdict; empty: not reviewed or not said"),
            _c("gap_category", T, "training, documentation, tool, process or product"),
            _c("csat_score", N, "average CSAT answer (1-5) for this escalation; empty: none"),
            _c("kb_draft", B, "a knowledge-base draft was written from the resolution"),
        ),
    ),
    View(
        name="escalation_triggers",
        view="analytics_escalation_triggers",
        description="one row per escalation and trigger type ('unspecified' when none)",
        time_column="started_at",
        team_column="team",
        order_by=("started_at", "escalation_key", "trigger_type"),
        columns=(
            *_ESCALATION,
            _c("trigger_type", T, "trigger that fired, or 'unspecified'"),
            _c("priority", T, "P0 (most urgent) to P3"),
            _c("route", T, "escalation route"),
            _c("team", T, "owning team (policy team id)"),
            _c("started_at", TS, "when the escalation started"),
        ),
    ),
    View(
        name="notifications",
        view="analytics_notifications",
        description="one row per notification (idempotency key) and its final outcome",
        time_column="recorded_at",
        team_column="team",
        order_by=("recorded_at", "notification_id"),
        columns=(
            _c("notification_id", INT, "row id"),
            *_ESCALATION,
            *_TEAM_PRIORITY,
            _c("route", T, "escalation route"),
            _c("step_index", INT, "cadence step (0 = T+0)"),
            _c("action", T, "what the step asked for: page, slack, email, sms, phone, ..."),
            _c("channel", T, "channel that carried it (the fallback's when it fell back)"),
            _c("target", T, "who or where it went: person id, channel, address"),
            _c("outcome", T, "delivered, outbox (no credentials), fallback, failed, skipped"),
            _c("error", T, "vendor error of a failed notification"),
            _c("escalation_started_at", TS, "when the escalation started"),
            _c("recorded_at", TS, "when the outcome was recorded (after the vendor answered)"),
            _c("policy_seconds_after_start", N, "recorded_at - escalation start, policy seconds"),
            _c("latency_seconds", N, "real seconds from its cadence step's start to recorded_at"),
        ),
    ),
    View(
        name="oncall_pages",
        view="analytics_oncall_pages",
        description="one row per page that went out (delivered, outbox or fallback)",
        time_column="paged_at",
        team_column="team",
        order_by=("paged_at", "notification_id"),
        columns=(
            _c("notification_id", INT, "row id in notifications"),
            *_ESCALATION,
            *_TEAM_PRIORITY,
            _c("step_index", INT, "cadence step (0 = T+0)"),
            _c("channel", T, "pagerduty, opsgenie, ... (the fallback's when it fell back)"),
            _c("target", T, "who was paged (person id or service)"),
            _c("outcome", T, "delivered, outbox or fallback"),
            _c("paged_at", TS, "when the page was recorded"),
            _c("escalation_started_at", TS, "when the escalation started"),
            _c("acknowledged_at", TS, "the escalation's acknowledgement; empty: none"),
            _c("ack_seconds", N, "escalation start to acknowledgement, policy seconds"),
            _c("acked_within_5_min", B, "acknowledged within 5 minutes (policy time)"),
            _c("false_alert", B, "the escalation was reviewed as unnecessary"),
        ),
    ),
    View(
        name="surveys",
        view="analytics_surveys",
        description="one row per CSAT survey sent, with its answer",
        time_column="sent_at",
        team_column="team",
        order_by=("sent_at", "survey_id"),
        columns=(
            _c("survey_id", INT, "row id"),
            *_ESCALATION,
            *_TEAM_PRIORITY,
            _c("route", T, "escalation route"),
            _c("sent_at", TS, "when the survey link was issued"),
            _c("expires_at", TS, "when the link stops working"),
            _c("answered_at", TS, "when the customer answered; empty: not answered"),
            _c("score", INT, "CSAT 1-5; empty: not answered"),
            _c("satisfied", B, "score is 4 or 5; empty: not answered"),
            _c("comment", T, "the customer's comment, verbatim"),
        ),
    ),
    View(
        name="daily_volume",
        view="analytics_daily_volume",
        description="escalations per UTC day, team and priority (from analytics_escalations)",
        time_column="day",
        team_column="team",
        order_by=("day", "team", "priority"),
        columns=(
            _c("day", D, "UTC day the escalations started"),
            *_TEAM_PRIORITY,
            _c("escalations", INT, "escalations started"),
            _c("acknowledged", INT, "of those, acknowledged"),
            _c("resolved", INT, "of those, resolved"),
            _c("ack_met", INT, "acknowledged within target"),
            _c("ack_close", INT, "acknowledged at most 20 % over target"),
            _c("ack_missed", INT, "acknowledged later, or still unacknowledged past that"),
            _c("resolution_met", INT, "resolved within target"),
            _c("resolution_close", INT, "resolved at most 20 % over target"),
            _c("resolution_missed", INT, "resolved later, or still open past that"),
            _c("ack_seconds_sum", N, "sum of ack_seconds (divide by acknowledged)"),
            _c("ack_seconds_avg", N, "average ack_seconds of the day (do not average again)"),
            _c("resolution_seconds_sum", N, "sum of resolution_seconds (divide by resolved)"),
            _c("resolution_seconds_avg", N, "average resolution_seconds of the day"),
            _c("reopened", INT, "escalations counted as reopened"),
            _c("unnecessary", INT, "escalations reviewed as unnecessary"),
        ),
    ),
)

BY_NAME: dict[str, View] = {view.name: view for view in VIEWS}


class UnknownView(LookupError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown view {name!r}; valid views: {', '.join(BY_NAME)}")


def find_view(name: str) -> View:
    """A view by its short name (`escalations`) or its SQL name (`analytics_escalations`)."""
    short = name.removeprefix("analytics_")
    try:
        return BY_NAME[short]
    except KeyError:
        raise UnknownView(name) from None
