"""
Orders: ``orders`` with its child ``order_lines``; the policy documents' order rules.

An order is unique per (``channel``, ``external_id``): a UNIQUE index makes
the second of two units of work creating the same channel order fail, and the
service retries it. Personal columns are encrypted, with blind indexes on the
buyer and the consignee's name and phone; ``items_hash`` (the SHA-256 of the
order's items key) is indexed with ``placed_at`` for the duplicate audit.

Every adopted policy version without an ``orders`` table gets the shipped
default's, in the form the policy mapping stores it (durations in their
largest whole unit, as ``PolicyDocument.to_data()`` writes them): payment
reminder 30 minutes, duplicate window 1 day, auto-confirm on, and the
change-request words. Versions that have one keep it. The downgrade removes
the ``orders`` table from every policy version again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-02-16 09:00:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types spelled out here, not imported, so that this revision never changes.
UUID = sa.Uuid()
UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# The shipped default's [orders] table, as PolicyDocument.to_data() stores it.
DEFAULT_ORDER_RULES = {
    "payment_reminder": {"minutes": 30},
    "duplicate_window": {"days": 1},
    "auto_confirm": True,
    "change_request_words": [
        "改地址",
        "修改",
        "更改",
        "换成",
        "换个",
        "不要",
        "取消",
        "change",
        "instead",
        "replace",
        "cancel",
    ],
}
# (json.dumps keeps a space after each colon: SQLAlchemy would read ":30" as a bound parameter.)
_DEFAULTS = json.dumps(DEFAULT_ORDER_RULES, ensure_ascii=False)
assert "'" not in _DEFAULTS and "%" not in _DEFAULTS

POSTGRESQL_ADD_ORDER_RULES = (
    f"UPDATE policy_versions SET rules = jsonb_set(rules, '{{orders}}', '{_DEFAULTS}'::jsonb) "
    "WHERE jsonb_typeof(rules) = 'object' AND NOT (rules ? 'orders')"
)
POSTGRESQL_REMOVE_ORDER_RULES = "UPDATE policy_versions SET rules = rules - 'orders' WHERE rules ? 'orders'"
SQLITE_ADD_ORDER_RULES = (
    f"UPDATE policy_versions SET rules = json_set(rules, '$.orders', json('{_DEFAULTS}')) "
    "WHERE json_type(rules) = 'object' AND json_type(rules, '$.orders') IS NULL"
)
SQLITE_REMOVE_ORDER_RULES = (
    "UPDATE policy_versions SET rules = json_remove(rules, '$.orders') "
    "WHERE json_type(rules, '$.orders') IS NOT NULL"
)


def upgrade() -> None:
    """Create ``orders`` and ``order_lines``; add the order rules to adopted policies lacking them."""
    op.create_table(
        "orders",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("revision", UTC_DATETIME, nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("placed_at", UTC_DATETIME, nullable=False),
        sa.Column("paid_at", UTC_DATETIME, nullable=True),
        sa.Column("buyer", sa.Text(), nullable=True),
        sa.Column("buyer_bidx", sa.String(64), nullable=True),
        sa.Column("consignee_name", sa.Text(), nullable=False),
        sa.Column("consignee_name_bidx", sa.String(64), nullable=True),
        sa.Column("consignee_phone", sa.Text(), nullable=False),
        sa.Column("consignee_phone_bidx", sa.String(64), nullable=True),
        sa.Column("province", sa.String(64), nullable=False),
        sa.Column("city", sa.String(64), nullable=False),
        sa.Column("district", sa.String(64), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("postcode", sa.String(16), nullable=True),
        sa.Column("shipping_fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("shipping_fee_currency", sa.String(3), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("discount_currency", sa.String(3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_currency", sa.String(3), nullable=False),
        sa.Column("payment_method", sa.String(32), nullable=True),
        sa.Column("payment_reference", sa.String(128), nullable=True),
        sa.Column("buyer_note", sa.Text(), nullable=True),
        sa.Column("items_key", sa.Text(), nullable=False),
        sa.Column("items_hash", sa.String(64), nullable=False),
        sa.Column("findings", JSON, nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("confirmation_due_at", UTC_DATETIME, nullable=True),
        sa.Column("confirmed_at", UTC_DATETIME, nullable=True),
        sa.Column("confirmed_by", sa.String(128), nullable=True),
        sa.Column("confirmed_late", sa.Boolean(), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("steps", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    op.create_index(op.f("ix_orders_channel_external_id"), "orders", ["channel", "external_id"], unique=True)
    op.create_index(op.f("ix_orders_external_id"), "orders", ["external_id"])
    op.create_index(op.f("ix_orders_state"), "orders", ["state"])
    op.create_index(op.f("ix_orders_buyer_bidx"), "orders", ["buyer_bidx"])
    op.create_index(op.f("ix_orders_consignee_name_bidx"), "orders", ["consignee_name_bidx"])
    op.create_index(op.f("ix_orders_consignee_phone_bidx"), "orders", ["consignee_phone_bidx"])
    op.create_index(op.f("ix_orders_items_hash_placed_at"), "orders", ["items_hash", "placed_at"])
    op.create_index(op.f("ix_orders_confirmed_late"), "orders", ["confirmed_late"])
    op.create_index(op.f("ix_orders_overdue"), "orders", ["overdue"])

    op.create_table(
        "order_lines",
        sa.Column("parent_id", UUID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("unit_price_currency", sa.String(3), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("discount_currency", sa.String(3), nullable=False),
        sa.Column("allocations", JSON, nullable=False),
        sa.Column("shipped", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["orders.id"], name=op.f("fk_order_lines_parent_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("parent_id", "position", name=op.f("pk_order_lines")),
    )
    op.create_index(op.f("ix_order_lines_parent_id"), "order_lines", ["parent_id"])
    op.create_index(op.f("ix_order_lines_sku"), "order_lines", ["sku"])

    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        op.execute(SQLITE_ADD_ORDER_RULES)
    elif dialect == "postgresql":
        op.execute(POSTGRESQL_ADD_ORDER_RULES)


def downgrade() -> None:
    """Remove the order rules from adopted policies; drop ``order_lines`` and ``orders``."""
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        op.execute(SQLITE_REMOVE_ORDER_RULES)
    elif dialect == "postgresql":
        op.execute(POSTGRESQL_REMOVE_ORDER_RULES)
    op.drop_table("order_lines")
    op.drop_table("orders")
