"""close the loop: facts, triggers, agent tickets, surveys, reviews, KB drafts (issue 6)

Revision ID: 0004_analytics
Revises: 0001
Create Date: 2026-11-27 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_analytics"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "escalation_facts",
        sa.Column("escalation_key", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("agent_id", sa.String(length=200), nullable=True),
        sa.Column("agent_team", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reopens", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("escalation_key"),
    )
    op.create_index("ix_escalation_facts_ticket_id", "escalation_facts", ["ticket_id"])
    op.create_index("ix_escalation_facts_agent_id", "escalation_facts", ["agent_id"])

    op.create_table(
        "escalation_triggers",
        sa.Column("escalation_key", sa.String(length=200), nullable=False),
        sa.Column("trigger_type", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("escalation_key", "trigger_type"),
    )
    op.create_index("ix_escalation_triggers_type", "escalation_triggers", ["trigger_type"])

    op.create_table(
        "agent_tickets",
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("agent_id", sa.String(length=200), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("handled_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "agent_id"),
    )
    op.create_index("ix_agent_tickets_handled_at", "agent_tickets", ["handled_at"])

    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("escalation_key", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash", name="uq_surveys_token_hash"),
    )
    op.create_index("ix_surveys_escalation_key", "surveys", ["escalation_key"])

    op.create_table(
        "escalation_reviews",
        sa.Column("escalation_key", sa.String(length=200), nullable=False),
        sa.Column("necessary", sa.Boolean(), nullable=True),
        sa.Column("preventable", sa.Boolean(), nullable=True),
        sa.Column("gap_category", sa.String(length=32), nullable=True),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("agent_feedback", sa.Text(), nullable=False),
        sa.Column("specialist_feedback", sa.Text(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("escalation_key"),
    )

    op.create_table(
        "kb_drafts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("escalation_key", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("route", sa.String(length=32), nullable=False),
        sa.Column("tags", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("escalation_key", name="uq_kb_drafts_escalation_key"),
    )
    op.create_index("ix_kb_drafts_created_at", "kb_drafts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_kb_drafts_created_at", table_name="kb_drafts")
    op.drop_table("kb_drafts")
    op.drop_table("escalation_reviews")
    op.drop_index("ix_surveys_escalation_key", table_name="surveys")
    op.drop_table("surveys")
    op.drop_index("ix_agent_tickets_handled_at", table_name="agent_tickets")
    op.drop_table("agent_tickets")
    op.drop_index("ix_escalation_triggers_type", table_name="escalation_triggers")
    op.drop_table("escalation_triggers")
    op.drop_index("ix_escalation_facts_agent_id", table_name="escalation_facts")
    op.drop_index("ix_escalation_facts_ticket_id", table_name="escalation_facts")
    op.drop_table("escalation_facts")
