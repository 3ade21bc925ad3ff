"""analytics views for BI tools (Tableau, Power BI): one stable, documented view per subject

Revision ID: 0006_bi_views
Revises: 0004_analytics
Create Date: 2026-11-29 10:00:00

The views are the contract with BI tools; their columns are documented in docs/analytics.md and
catalogued in store/analytics/views.py (a test checks the three agree). The SQL is frozen here,
as migrations should be: a later change to a view is a new migration (CREATE OR REPLACE VIEW on
PostgreSQL may add columns at the end only; rename or drop means DROP and CREATE).

Both dialects get the same columns. Only four expressions differ (seconds between two
timestamps, the current time, the UTC day of a timestamp, an ordered comma-joined list), so the statements are
written once with those as placeholders. Durations are in policy time, like the dashboard:
(real seconds) / escalations.time_scale. Targets are the defaults of
store/analytics/targets.py (ack P0 5 min, P1 15, P2 30; resolution P0 4 h, P1 8 h, P2 24 h;
"close" up to 20 % over; reopen window 7 days; on-call "within 5 minutes").
"""

from __future__ import annotations

from alembic import op

revision = "0006_bi_views"
down_revision = "0004_analytics"  # needs escalation_facts, surveys, reviews, kb_drafts
branch_labels = None
depends_on = None

VIEWS = (
    "analytics_escalations",
    "analytics_escalation_triggers",
    "analytics_notifications",
    "analytics_oncall_pages",
    "analytics_surveys",
    "analytics_daily_volume",  # built on analytics_escalations: dropped first
)

FLOAT = "DOUBLE PRECISION"  # SQLite gives this REAL affinity, PostgreSQL float8


def _dialect_sql(dialect: str) -> dict[str, str]:
    if dialect == "postgresql":
        return {
            "seconds": f"CAST(EXTRACT(EPOCH FROM ({{1}} - {{0}})) AS {FLOAT})",
            "now": "now()",
            "day": "CAST(({0} AT TIME ZONE 'UTC') AS date)",
        }
    return {
        # SQLite stores timestamps as UTC text. A julianday() is a double near 2.46e6 days, so
        # a difference carries ~4e-5 s of noise: rounded to the millisecond, an acknowledgement
        # at exactly 300 s is 300 s (met), not 300.00002 s.
        "seconds": "ROUND((julianday({1}) - julianday({0})) * 86400.0, 3)",
        "now": "CURRENT_TIMESTAMP",
        "day": "date({0})",
    }


def _seconds(dialect: str, start: str, end: str) -> str:
    """`end - start` in seconds; NULL when either is NULL."""
    return "(" + _dialect_sql(dialect)["seconds"].format(start, end) + ")"


def _policy_seconds(dialect: str, start: str, end: str) -> str:
    """`end - start` in seconds of policy time (real seconds / the run's time_scale), the unit
    of every duration the dashboard shows; needs the escalation as `e`."""
    return f"{_seconds(dialect, start, end)} / e.time_scale"


def _trigger_list(dialect: str) -> str:
    if dialect == "postgresql":
        return (
            "(SELECT string_agg(t.trigger_type, ',' ORDER BY t.trigger_type) "
            "FROM escalation_triggers t WHERE t.escalation_key = e.key)"
        )
    # group_concat has no ORDER BY before SQLite 3.44: concatenate an ordered subquery.
    return (
        "(SELECT group_concat(o.trigger_type, ',') FROM (SELECT t.trigger_type "
        "FROM escalation_triggers t WHERE t.escalation_key = e.key "
        "ORDER BY t.trigger_type) o)"
    )


def _target(by_priority: dict[str, int]) -> str:
    whens = " ".join(f"WHEN '{p}' THEN CAST({v} AS {FLOAT})" for p, v in by_priority.items())
    return f"CASE e.priority {whens} END"


def _status(measured: str, target: str, elapsed: str) -> str:
    """met / close / missed for a measured duration. Not measured: missed once the time it
    ran (until now, or until resolved) is past the close threshold; else pending while open,
    `not acknowledged` when resolved without an acknowledgement. `no target` without one."""
    return (
        f"CASE WHEN {target} IS NULL THEN 'no target' "
        f"WHEN {measured} IS NOT NULL THEN CASE WHEN {measured} <= {target} THEN 'met' "
        f"WHEN {measured} <= {target} * 1.2 THEN 'close' ELSE 'missed' END "
        f"WHEN {elapsed} > {target} * 1.2 THEN 'missed' "
        "WHEN b.resolved_at IS NULL THEN 'pending' ELSE 'not acknowledged' END"
    )


def _escalations(dialect: str) -> str:
    now = _dialect_sql(dialect)["now"]
    ack = _policy_seconds(dialect, "e.started_at", "e.acknowledged_at")
    res = _policy_seconds(dialect, "e.started_at", "e.resolved_at")
    # Until now while open; a resolved escalation stopped waiting for its acknowledgement.
    until = f"COALESCE(e.resolved_at, {now})"
    elapsed = _policy_seconds(dialect, "e.started_at", until)
    reopen_gap = _policy_seconds(dialect, "e.resolved_at", "later.started_at")
    inner = f"""
SELECT
  e.key AS escalation_key,
  e.ticket_id,
  e.priority,
  e.route,
  e.team,
  e.status,
  e.customer_name,
  e.customer_tier,
  f.agent_id,
  f.agent_team,
  f.category,
  {_trigger_list(dialect)} AS trigger_types,
  e.started_at,
  e.acknowledged_at,
  e.resolved_at,
  e.time_scale,
  {ack} AS ack_seconds,
  {res} AS resolution_seconds,
  {elapsed} AS elapsed_seconds,
  {_target({"P0": 300, "P1": 900, "P2": 1800})} AS ack_target_seconds,
  {_target({"P0": 14400, "P1": 28800, "P2": 86400})} AS resolution_target_seconds,
  e.bounces,
  (COALESCE(r.reopened, FALSE) OR EXISTS (
    SELECT 1 FROM escalations later
    WHERE later.ticket_id = e.ticket_id AND later.started_at > e.resolved_at
      AND {reopen_gap} <= 604800
  )) AS reopened,
  r.necessary,
  r.preventable,
  r.gap_category,
  (SELECT CAST(avg(s.score) AS {FLOAT}) FROM surveys s
    WHERE s.escalation_key = e.key AND s.score IS NOT NULL) AS csat_score,
  EXISTS (SELECT 1 FROM kb_drafts k WHERE k.escalation_key = e.key) AS kb_draft
FROM escalations e
LEFT JOIN escalation_facts f ON f.escalation_key = e.key
LEFT JOIN escalation_reviews r ON r.escalation_key = e.key"""
    ack_status = _status("b.ack_seconds", "b.ack_target_seconds", "b.elapsed_seconds")
    res_status = _status("b.resolution_seconds", "b.resolution_target_seconds", "b.elapsed_seconds")
    return f"""
CREATE VIEW analytics_escalations AS
SELECT
  b.escalation_key, b.ticket_id, b.priority, b.route, b.team, b.status,
  b.customer_name, b.customer_tier, b.agent_id, b.agent_team, b.category, b.trigger_types,
  b.started_at, b.acknowledged_at, b.resolved_at, b.time_scale,
  b.ack_seconds, b.ack_target_seconds, {ack_status} AS ack_status,
  b.resolution_seconds, b.resolution_target_seconds, {res_status} AS resolution_status,
  b.bounces, b.reopened, b.necessary, b.preventable, b.gap_category, b.csat_score, b.kb_draft
FROM ({inner}
) b"""


def _escalation_triggers() -> str:
    # Escalations without a recorded trigger count as 'unspecified', as on the dashboard.
    return """
CREATE VIEW analytics_escalation_triggers AS
SELECT
  e.key AS escalation_key,
  e.ticket_id,
  COALESCE(t.trigger_type, 'unspecified') AS trigger_type,
  e.priority,
  e.route,
  e.team,
  e.started_at
FROM escalations e
LEFT JOIN escalation_triggers t ON t.escalation_key = e.key"""


def _notifications(dialect: str) -> str:
    step_started = (
        "(SELECT max(te.at) FROM timeline_events te WHERE te.escalation_key = n.escalation_key"
        " AND te.kind = 'step_started' AND te.step_index = n.step_index"
        " AND te.at <= n.created_at)"
    )
    return f"""
CREATE VIEW analytics_notifications AS
SELECT
  n.id AS notification_id,
  n.escalation_key,
  n.ticket_id,
  e.team,
  e.priority,
  e.route,
  n.step_index,
  n.action,
  n.channel,
  n.target,
  n.outcome,
  n.error,
  e.started_at AS escalation_started_at,
  n.created_at AS recorded_at,
  {_policy_seconds(dialect, "e.started_at", "n.created_at")} AS policy_seconds_after_start,
  {_seconds(dialect, step_started, "n.created_at")} AS latency_seconds
FROM notifications n
LEFT JOIN escalations e ON e.key = n.escalation_key"""


def _oncall_pages(dialect: str) -> str:
    ack = _policy_seconds(dialect, "e.started_at", "e.acknowledged_at")
    return f"""
CREATE VIEW analytics_oncall_pages AS
SELECT
  n.id AS notification_id,
  n.escalation_key,
  n.ticket_id,
  e.team,
  e.priority,
  n.step_index,
  n.channel,
  n.target,
  n.outcome,
  n.created_at AS paged_at,
  e.started_at AS escalation_started_at,
  e.acknowledged_at,
  {ack} AS ack_seconds,
  COALESCE({ack} <= 300, FALSE) AS acked_within_5_min,
  COALESCE(r.necessary = FALSE, FALSE) AS false_alert
FROM notifications n
JOIN escalations e ON e.key = n.escalation_key
LEFT JOIN escalation_reviews r ON r.escalation_key = e.key
WHERE n.action = 'page' AND n.outcome IN ('delivered', 'outbox', 'fallback')"""


def _surveys() -> str:
    # Never the token hash: it is a credential's fingerprint, of no use to analysis.
    return """
CREATE VIEW analytics_surveys AS
SELECT
  s.id AS survey_id,
  s.escalation_key,
  s.ticket_id,
  e.team,
  e.priority,
  e.route,
  s.created_at AS sent_at,
  s.expires_at,
  s.used_at AS answered_at,
  s.score,
  s.score >= 4 AS satisfied,
  s.comment
FROM surveys s
LEFT JOIN escalations e ON e.key = s.escalation_key"""


def _daily_volume(dialect: str) -> str:
    day = _dialect_sql(dialect)["day"].format("started_at")

    def count(condition: str) -> str:
        return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"

    # Sums next to averages: a BI tool re-aggregating days must weight by the counts
    # (sum of seconds / acknowledged), never average the averages.
    return f"""
CREATE VIEW analytics_daily_volume AS
SELECT
  {day} AS day,
  team,
  priority,
  COUNT(*) AS escalations,
  COUNT(acknowledged_at) AS acknowledged,
  COUNT(resolved_at) AS resolved,
  {count("ack_status = 'met'")} AS ack_met,
  {count("ack_status = 'close'")} AS ack_close,
  {count("ack_status = 'missed'")} AS ack_missed,
  {count("resolution_status = 'met'")} AS resolution_met,
  {count("resolution_status = 'close'")} AS resolution_close,
  {count("resolution_status = 'missed'")} AS resolution_missed,
  SUM(ack_seconds) AS ack_seconds_sum,
  AVG(ack_seconds) AS ack_seconds_avg,
  SUM(resolution_seconds) AS resolution_seconds_sum,
  AVG(resolution_seconds) AS resolution_seconds_avg,
  {count("reopened")} AS reopened,
  {count("necessary = FALSE")} AS unnecessary
FROM analytics_escalations
GROUP BY {day}, team, priority"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in (
        _escalations(dialect),
        _escalation_triggers(),
        _notifications(dialect),
        _oncall_pages(dialect),
        _surveys(),
        _daily_volume(dialect),
    ):
        op.execute(statement)


def downgrade() -> None:
    for view in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {view}")
