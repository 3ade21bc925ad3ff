"""analytics indexes: team and ticket lookups bounded by time, and the open escalations

Revision ID: 0007_analytics_indexes
Revises: 0004_analytics
Create Date: 2026-11-29 12:00:00

Measured with bench/analytics.py on 1M escalations (EXPLAIN ANALYZE in README "Analytics
queries"). Each index replaces a scan whose cost grew with the whole store, not the period:
- (team, started_at): a team's dashboard read every row the team ever had (a BitmapAnd of the
  team index, 143k entries, with the period's) to keep the ~12k of the last 30 days.
- (ticket_id, started_at): the reopen check runs once per resolved escalation of the period
  ("was this ticket escalated again within 7 days?"); with both columns in the index each
  check is an index-only probe instead of a heap visit per earlier escalation of the ticket.
- open escalations (status <> 'resolved'), by (priority, started_at) and by (team, priority,
  started_at): the live list and its counts read the unresolved rows in the order shown,
  instead of a sequential scan of every escalation ever stored. Partial, so each stays as
  small as the active set.
The single-column ix_escalations_team and ix_escalations_ticket_id stay: other code paths
look up by team or ticket alone, and dropping them is a separate decision.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_analytics_indexes"
down_revision = "0004_analytics"  # the analytics branch; 0006_bi_views branches off it too
branch_labels = None
depends_on = None

# The same predicate as active_escalations' filter (store/analytics/active.py), written so
# both planners can prove the query implies it.
OPEN = sa.text("status <> 'resolved'")


def upgrade() -> None:
    op.create_index("ix_escalations_team_started_at", "escalations", ["team", "started_at"])
    op.create_index(
        "ix_escalations_ticket_id_started_at", "escalations", ["ticket_id", "started_at"]
    )
    op.create_index(
        "ix_escalations_open",
        "escalations",
        ["priority", "started_at"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )
    op.create_index(
        "ix_escalations_open_team",
        "escalations",
        ["team", "priority", "started_at"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_escalations_open_team", table_name="escalations")
    op.drop_index("ix_escalations_open", table_name="escalations")
    op.drop_index("ix_escalations_ticket_id_started_at", table_name="escalations")
    op.drop_index("ix_escalations_team_started_at", table_name="escalations")
