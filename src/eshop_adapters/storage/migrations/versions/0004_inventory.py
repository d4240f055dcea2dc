"""
Inventory and purchasing: warehouses, stock counts, replenishment suggestions, the stock ledger,
suppliers and purchase orders; the policy documents' new stock rules.

The stock ledger's ``stock_movements`` is append-only: triggers refuse every
``UPDATE`` and ``DELETE`` (and, on PostgreSQL, ``TRUNCATE``).

Every adopted policy version whose ``stock`` table lacks the rules added with
inventory gets them with their default values (``variance_approval_units``
5, ``sales_window_days`` 30, ``replenishment_cover_days`` 14,
``slow_moving_days`` 90), which the policy document now requires; values
already present are kept. The downgrade removes them again (the older policy
document refuses unknown keys).

Revision ID: 0004
Revises: 0003
Create Date: 2026-02-02 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types spelled out here, not imported, so that this revision never changes.
UUID = sa.Uuid()
UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The ledger's keys sort by code point on PostgreSQL whatever the database's collation.
LEDGER_SKU = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")
LEDGER_WAREHOUSE = sa.String(32).with_variant(sa.String(32, collation="C"), "postgresql")

SQLITE_LEDGER_TRIGGERS = (
    "CREATE TRIGGER stock_movements_no_update BEFORE UPDATE ON stock_movements "
    "BEGIN SELECT RAISE(ABORT, 'stock_movements is append-only'); END",
    "CREATE TRIGGER stock_movements_no_delete BEFORE DELETE ON stock_movements "
    "BEGIN SELECT RAISE(ABORT, 'stock_movements is append-only'); END",
)
# PostgreSQL: one trigger function refusing the change, fired before every UPDATE, DELETE and TRUNCATE.
POSTGRESQL_LEDGER_TRIGGERS = (
    "CREATE FUNCTION stock_movements_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'stock_movements is append-only' USING ERRCODE = 'raise_exception'; END $$",
    "CREATE TRIGGER stock_movements_no_update BEFORE UPDATE ON stock_movements "
    "FOR EACH ROW EXECUTE FUNCTION stock_movements_append_only()",
    "CREATE TRIGGER stock_movements_no_delete BEFORE DELETE ON stock_movements "
    "FOR EACH ROW EXECUTE FUNCTION stock_movements_append_only()",
    "CREATE TRIGGER stock_movements_no_truncate BEFORE TRUNCATE ON stock_movements "
    "FOR EACH STATEMENT EXECUTE FUNCTION stock_movements_append_only()",
)

# The stock rules added with inventory and their defaults (as in the shipped default policy).
# (JSON literals keep a space after each colon: SQLAlchemy would read ":5" as a bound parameter.)
NEW_STOCK_RULES = {
    "variance_approval_units": 5,
    "sales_window_days": 30,
    "replenishment_cover_days": 14,
    "slow_moving_days": 90,
}
_DEFAULTS = "{" + ", ".join(f'"{key}": {value}' for key, value in NEW_STOCK_RULES.items()) + "}"
_KEYS = ", ".join(f"'{key}'" for key in NEW_STOCK_RULES)

# PostgreSQL (jsonb): defaults || stock keeps every value present, adds the missing ones.
POSTGRESQL_ADD_STOCK_RULES = (
    "UPDATE policy_versions "
    f"SET rules = jsonb_set(rules, '{{stock}}', '{_DEFAULTS}'::jsonb || (rules -> 'stock')) "
    "WHERE jsonb_typeof(rules -> 'stock') = 'object' "
    f"AND NOT ((rules -> 'stock') ?& ARRAY[{_KEYS}])"
)
POSTGRESQL_REMOVE_STOCK_RULES = (
    "UPDATE policy_versions SET rules = rules "
    + " ".join(f"#- '{{stock,{key}}}'" for key in NEW_STOCK_RULES)
    + " WHERE jsonb_typeof(rules -> 'stock') = 'object'"
)
# SQLite (JSON text): json_patch(defaults, stock) keeps every value present, adds the missing ones.
SQLITE_ADD_STOCK_RULES = (
    f"UPDATE policy_versions SET rules = json_set(rules, '$.stock', json_patch('{_DEFAULTS}', "
    "json_extract(rules, '$.stock'))) "
    "WHERE json_type(rules, '$.stock') = 'object' AND ("
    + " OR ".join(f"json_type(rules, '$.stock.{key}') IS NULL" for key in NEW_STOCK_RULES)
    + ")"
)
SQLITE_REMOVE_STOCK_RULES = (
    "UPDATE policy_versions SET rules = json_remove(rules, "
    + ", ".join(f"'$.stock.{key}'" for key in NEW_STOCK_RULES)
    + ") WHERE json_type(rules, '$.stock') = 'object'"
)


def _child(table: str, parent: str, *columns: sa.Column[object]) -> None:
    op.create_table(
        table,
        sa.Column("parent_id", UUID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(
            ["parent_id"], [f"{parent}.id"], name=op.f(f"fk_{table}_parent_id_{parent}"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("parent_id", "position", name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_parent_id"), table, ["parent_id"])


def _inventory() -> None:
    op.create_table(
        "warehouses",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("counting_id", UUID, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouses")),
    )
    op.create_index(op.f("ix_warehouses_code"), "warehouses", ["code"], unique=True)

    op.create_table(
        "stock_counts",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("warehouse", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("lines", JSON, nullable=False),
        sa.Column("opened_by", sa.String(128), nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("approval_request_id", UUID, nullable=True),
        sa.Column("history", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_counts")),
    )
    op.create_index(op.f("ix_stock_counts_warehouse"), "stock_counts", ["warehouse"])
    op.create_index(op.f("ix_stock_counts_state"), "stock_counts", ["state"])

    op.create_table(
        "replenishment_suggestions",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("warehouse", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("available", sa.BigInteger(), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("daily_sales", sa.Text(), nullable=False),
        sa.Column("suggested_quantity", sa.BigInteger(), nullable=False),
        sa.Column("raised_at", UTC_DATETIME, nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("purchase_order_id", UUID, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replenishment_suggestions")),
    )
    op.create_index(op.f("ix_replenishment_suggestions_sku"), "replenishment_suggestions", ["sku"])
    op.create_index(
        op.f("ix_replenishment_suggestions_warehouse"), "replenishment_suggestions", ["warehouse"]
    )
    op.create_index(op.f("ix_replenishment_suggestions_state"), "replenishment_suggestions", ["state"])
    op.create_index(
        op.f("ix_replenishment_suggestions_purchase_order_id"),
        "replenishment_suggestions",
        ["purchase_order_id"],
    )

    op.create_table(
        "stock_levels",
        sa.Column("sku", LEDGER_SKU, nullable=False),
        sa.Column("warehouse", LEDGER_WAREHOUSE, nullable=False),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("low_stock_threshold", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_stock_levels_reserved_not_negative")),
        sa.CheckConstraint("on_hand >= reserved", name=op.f("ck_stock_levels_reserved_within_on_hand")),
        sa.PrimaryKeyConstraint("sku", "warehouse", name=op.f("pk_stock_levels")),
    )

    op.create_table(
        "stock_movements",
        sa.Column("seq", SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("sku", LEDGER_SKU, nullable=False),
        sa.Column("warehouse", LEDGER_WAREHOUSE, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("on_hand_delta", sa.BigInteger(), nullable=False),
        sa.Column("reserved_delta", sa.BigInteger(), nullable=False),
        sa.Column("on_hand_after", sa.BigInteger(), nullable=False),
        sa.Column("reserved_after", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("reference", sa.String(128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_stock_movements")),
    )
    op.create_index(op.f("ix_stock_movements_level"), "stock_movements", ["sku", "warehouse", "seq"])
    op.create_index(op.f("ix_stock_movements_reference"), "stock_movements", ["reference", "seq"])
    op.create_index(op.f("ix_stock_movements_reason_at"), "stock_movements", ["reason", "at"])
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_LEDGER_TRIGGERS:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in POSTGRESQL_LEDGER_TRIGGERS:
            op.execute(statement)


def _purchasing() -> None:
    op.create_table(
        "suppliers",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_name_bidx", sa.String(64), nullable=True),
        sa.Column("contact_phone", sa.Text(), nullable=True),
        sa.Column("contact_phone_bidx", sa.String(64), nullable=True),
        sa.Column("licence_number", sa.Text(), nullable=True),
        sa.Column("qualified_until", sa.Date(), nullable=True),
        sa.Column("evaluations", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
    )
    op.create_index(op.f("ix_suppliers_code"), "suppliers", ["code"], unique=True)
    op.create_index(op.f("ix_suppliers_name"), "suppliers", ["name"])
    op.create_index(op.f("ix_suppliers_contact_name_bidx"), "suppliers", ["contact_name_bidx"])
    op.create_index(op.f("ix_suppliers_contact_phone_bidx"), "suppliers", ["contact_phone_bidx"])

    op.create_table(
        "purchase_orders",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supplier_id", UUID, nullable=False),
        sa.Column("warehouse", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("expected_arrival", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("placed_at", UTC_DATETIME, nullable=True),
        sa.Column("receipts", JSON, nullable=False),
        sa.Column("supplier_returns", JSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
    )
    op.create_index(op.f("ix_purchase_orders_supplier_id"), "purchase_orders", ["supplier_id"])
    op.create_index(op.f("ix_purchase_orders_warehouse"), "purchase_orders", ["warehouse"])
    op.create_index(op.f("ix_purchase_orders_state"), "purchase_orders", ["state"])
    _child(
        "purchase_order_lines",
        "purchase_orders",
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_cost_minor", sa.BigInteger(), nullable=False),
        sa.Column("unit_cost_currency", sa.String(3), nullable=False),
        sa.Column("accepted", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("returned", sa.BigInteger(), nullable=False),
    )
    op.create_index(op.f("ix_purchase_order_lines_sku"), "purchase_order_lines", ["sku"])


def upgrade() -> None:
    """Create the inventory and purchasing tables; add the new stock rules to adopted policies."""
    _inventory()
    _purchasing()
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        op.execute(SQLITE_ADD_STOCK_RULES)
    elif dialect == "postgresql":
        op.execute(POSTGRESQL_ADD_STOCK_RULES)


def downgrade() -> None:
    """Drop the inventory and purchasing tables; remove the new stock rules from adopted policies."""
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        op.execute(SQLITE_REMOVE_STOCK_RULES)
    elif dialect == "postgresql":
        op.execute(POSTGRESQL_REMOVE_STOCK_RULES)
    op.drop_table("purchase_order_lines")
    op.drop_table("purchase_orders")
    op.drop_table("suppliers")
    op.drop_table("stock_movements")  # drops its triggers too
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS stock_movements_append_only()")
    op.drop_table("stock_levels")
    op.drop_table("replenishment_suggestions")
    op.drop_table("stock_counts")
    op.drop_table("warehouses")
