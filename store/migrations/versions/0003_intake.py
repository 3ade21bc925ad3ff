"""intake: ticket events, ticket index (pg_trgm on PostgreSQL), outage incidents, packages

Revision ID: 0003_intake
Revises: 0001
Create Date: 2026-11-28 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_intake"
down_revision = "0001"
branch_labels = None
depends_on = None

TRGM_INDEX = "ix_intake_tickets_text_trgm"


def _create_trgm_index() -> None:
    """PostgreSQL: the pg_trgm extension and a GIN trigram index on the normalised text.

    Creating an extension needs the right privileges; where the role lacks them (or pg_trgm is
    not installed) the migration goes on without the index and the store narrows candidates by
    area and time only (store/intake.py checks which is there at run time)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).scalar()
    if not available:
        return
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        savepoint.rollback()
        return
    savepoint.commit()
    op.execute(
        f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON intake_tickets "
        "USING gin (normalized_text gin_trgm_ops)"
    )


def upgrade() -> None:
    op.create_table(
        "intake_ticket_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=True),
        sa.Column("priority", sa.String(length=4), nullable=True),
        sa.Column("route", sa.String(length=32), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("escalation_workflow_id", sa.String(length=200), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "event_key", name="uq_intake_ticket_events_key"),
    )
    op.create_index(
        "ix_intake_ticket_events_ticket", "intake_ticket_events", ["ticket_id", "id"], unique=False
    )

    op.create_table(
        "intake_tickets",
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("product_area", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("normalized_text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.String(length=4), nullable=True),
        sa.Column("route", sa.String(length=32), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("escalation_workflow_id", sa.String(length=200), nullable=True),
        sa.Column("outage_incident_key", sa.String(length=200), nullable=True),
        sa.Column("message_sentiments", sa.JSON(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index(
        "ix_intake_tickets_customer_created",
        "intake_tickets",
        ["customer_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_intake_tickets_area_created",
        "intake_tickets",
        ["product_area", "created_at"],
        unique=False,
    )

    op.create_table(
        "outage_incidents",
        sa.Column("incident_key", sa.String(length=200), nullable=False),
        sa.Column("escalation_ticket_id", sa.String(length=128), nullable=False),
        sa.Column("product_area", sa.String(length=200), nullable=True),
        sa.Column("first_ticket_id", sa.String(length=128), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_key"),
        sa.UniqueConstraint("escalation_ticket_id"),
    )
    op.create_index(
        "ix_outage_incidents_area_opened",
        "outage_incidents",
        ["product_area", "opened_at"],
        unique=False,
    )

    op.create_table(
        "outage_incident_tickets",
        sa.Column("incident_key", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_key", "ticket_id"),
    )
    op.create_index(
        "ix_outage_incident_tickets_ticket", "outage_incident_tickets", ["ticket_id"], unique=False
    )

    op.create_table(
        "escalation_packages",
        sa.Column("ticket_id", sa.String(length=128), nullable=False),
        sa.Column("escalation_workflow_id", sa.String(length=200), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("package", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )

    _create_trgm_index()


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")
    op.drop_table("escalation_packages")
    op.drop_index("ix_outage_incident_tickets_ticket", table_name="outage_incident_tickets")
    op.drop_table("outage_incident_tickets")
    op.drop_index("ix_outage_incidents_area_opened", table_name="outage_incidents")
    op.drop_table("outage_incidents")
    op.drop_index("ix_intake_tickets_area_created", table_name="intake_tickets")
    op.drop_index("ix_intake_tickets_customer_created", table_name="intake_tickets")
    op.drop_table("intake_tickets")
    op.drop_index("ix_intake_ticket_events_ticket", table_name="intake_ticket_events")
    op.drop_table("intake_ticket_events")
