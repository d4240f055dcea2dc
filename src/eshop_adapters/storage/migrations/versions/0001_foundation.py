"""
Foundation: outbox, timers, audit log and the test kit's tables.

Revision ID: 0001
Revises:
Create Date: 2026-01-05 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types spelled out here, not imported, so that this revision never changes.
UUID = sa.Uuid()
UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SQLITE_AUDIT_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
# PostgreSQL: one trigger function refusing the change, fired before every UPDATE, DELETE and TRUNCATE.
POSTGRESQL_AUDIT_TRIGGERS = (
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'raise_exception'; END $$",
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


def upgrade() -> None:
    """Create every table of the foundation."""
    op.create_table(
        "outbox_events",
        sa.Column("seq", SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("event_id", UUID, nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("aggregate_type", sa.String(200), nullable=False),
        sa.Column("aggregate_id", UUID, nullable=False),
        sa.Column("aggregate_version", sa.Integer(), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_events_event_id")),
    )
    op.create_table(
        "outbox_deliveries",
        sa.Column("id", UUID, nullable=False),
        sa.Column("event_id", UUID, nullable=False),
        sa.Column("seq", SEQUENCE, nullable=False),
        sa.Column("aggregate_id", UUID, nullable=False),
        sa.Column("subscriber", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["outbox_events.event_id"], name=op.f("fk_outbox_deliveries_event_id_outbox_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_deliveries")),
    )
    op.create_index(op.f("ix_outbox_deliveries_event_id"), "outbox_deliveries", ["event_id"])
    op.create_index(
        op.f("ix_outbox_deliveries_order"), "outbox_deliveries", ["status", "subscriber", "aggregate_id", "seq"]
    )
    op.create_index(op.f("ix_outbox_deliveries_due"), "outbox_deliveries", ["status", "seq"])

    op.create_table(
        "timers",
        sa.Column("id", UUID, nullable=False),
        sa.Column("kind", sa.String(200), nullable=False),
        sa.Column("aggregate_id", UUID, nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timers")),
    )
    op.create_index(op.f("ix_timers_aggregate_id"), "timers", ["aggregate_id"])
    op.create_index(op.f("ix_timers_status_due_at"), "timers", ["status", "due_at"])

    op.create_table(
        "audit_log",
        sa.Column("seq", SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("event_id", UUID, nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("aggregate_type", sa.String(200), nullable=False),
        sa.Column("aggregate_id", UUID, nullable=False),
        sa.Column("aggregate_version", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_aggregate_id"), "audit_log", ["aggregate_id", "seq"])
    op.create_index(op.f("ix_audit_log_actor_id"), "audit_log", ["actor_id", "seq"])
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_AUDIT_TRIGGERS:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in POSTGRESQL_AUDIT_TRIGGERS:
            op.execute(statement)

    op.create_table(
        "testkit_widgets",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner_email", sa.Text(), nullable=False),
        sa.Column("owner_email_bidx", sa.String(64), nullable=True),
        sa.Column("owner_phone", sa.Text(), nullable=True),
        sa.Column("owner_phone_bidx", sa.String(64), nullable=True),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("price_currency", sa.String(3), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testkit_widgets")),
    )
    op.create_index(op.f("ix_testkit_widgets_name"), "testkit_widgets", ["name"])
    op.create_index(op.f("ix_testkit_widgets_owner_email_bidx"), "testkit_widgets", ["owner_email_bidx"])
    op.create_index(op.f("ix_testkit_widgets_owner_phone_bidx"), "testkit_widgets", ["owner_phone_bidx"])
    op.create_index(op.f("ix_testkit_widgets_state"), "testkit_widgets", ["state"])

    op.create_table(
        "testkit_widget_stock",
        sa.Column("widget_id", UUID, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.CheckConstraint("level >= 0", name=op.f("ck_testkit_widget_stock_level_not_negative")),
        sa.PrimaryKeyConstraint("widget_id", name=op.f("pk_testkit_widget_stock")),
    )


def downgrade() -> None:
    """Drop every table of the foundation."""
    op.drop_table("testkit_widget_stock")
    op.drop_table("testkit_widgets")
    op.drop_table("audit_log")  # drops its triggers too
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table("timers")
    op.drop_table("outbox_deliveries")
    op.drop_table("outbox_events")
