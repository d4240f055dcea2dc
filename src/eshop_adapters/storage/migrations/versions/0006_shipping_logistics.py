"""
Shipping and logistics: shipments, carriers, freight bills, logistics exceptions; orders' packaging.

Four new tables: ``shipments``, ``carriers`` (the code unique),
``freight_bills`` and ``logistics_exceptions``.

``orders`` gets ``packaging``, the special packaging an order needs (a JSON
list of texts, not personal data). It is ``NOT NULL`` with a server default
of an empty JSON list, so the orders stored before it get ``[]``; the model
declares the same default, so the migrated schema matches it. The downgrade
drops the column again (natively where the database can, SQLite before 3.35
by rebuilding ``orders``) and the new tables.

Revision ID: 0006
Revises: 0005
Create Date: 2026-03-02 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types spelled out here, not imported, so that this revision never changes.
UUID = sa.Uuid()
UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
EMPTY_JSON_LIST = "[]"
"""The server default of ``orders.packaging`` (rendered ``DEFAULT '[]'``)."""

# SQLite drops a column natively from 3.35 on; before, the table is rebuilt.
SQLITE_DROP_COLUMN = (3, 35, 0)


def _shipping() -> None:
    op.create_table(
        "shipments",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("order_id", UUID, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("warehouse", sa.String(32), nullable=False),
        sa.Column("lines", JSON, nullable=False),
        sa.Column("carrier", sa.String(32), nullable=False),
        sa.Column("tracking_number", sa.String(64), nullable=False),
        sa.Column("tracking_url", sa.Text(), nullable=True),
        sa.Column("expected_delivery", UTC_DATETIME, nullable=True),
        sa.Column("freight_minor", sa.BigInteger(), nullable=True),
        sa.Column("freight_currency", sa.String(3), nullable=True),
        sa.Column("packing", JSON, nullable=False),
        sa.Column("shipped_at", UTC_DATETIME, nullable=False),
        sa.Column("delivered_at", UTC_DATETIME, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
    )
    op.create_index(op.f("ix_shipments_order_id"), "shipments", ["order_id"])
    op.create_index(op.f("ix_shipments_carrier"), "shipments", ["carrier"])
    op.create_index(op.f("ix_shipments_tracking_number"), "shipments", ["tracking_number"])
    op.create_index(op.f("ix_shipments_state"), "shipments", ["state"])


def _logistics() -> None:
    op.create_table(
        "carriers",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("coverage", JSON, nullable=False),
        sa.Column("tracking_url_template", sa.Text(), nullable=True),
        sa.Column("evaluations", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carriers")),
    )
    op.create_index(op.f("ix_carriers_code"), "carriers", ["code"], unique=True)

    op.create_table(
        "freight_bills",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("lines", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("differences", JSON, nullable=False),
        sa.Column("received_by", sa.String(128), nullable=False),
        sa.Column("reconciled_by", sa.String(128), nullable=True),
        sa.Column("reconciled_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_freight_bills")),
    )
    op.create_index(op.f("ix_freight_bills_carrier"), "freight_bills", ["carrier"])
    op.create_index(op.f("ix_freight_bills_state"), "freight_bills", ["state"])

    op.create_table(
        "logistics_exceptions",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("shipment_id", UUID, nullable=False),
        sa.Column("order_id", UUID, nullable=False),
        sa.Column("carrier", sa.String(32), nullable=False),
        sa.Column("tracking_number", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opened_by", sa.String(128), nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(128), nullable=True),
        sa.Column("resolved_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logistics_exceptions")),
    )
    op.create_index(op.f("ix_logistics_exceptions_shipment_id"), "logistics_exceptions", ["shipment_id"])
    op.create_index(op.f("ix_logistics_exceptions_order_id"), "logistics_exceptions", ["order_id"])
    op.create_index(op.f("ix_logistics_exceptions_carrier"), "logistics_exceptions", ["carrier"])
    op.create_index(op.f("ix_logistics_exceptions_state"), "logistics_exceptions", ["state"])


def upgrade() -> None:
    """Create the shipping and logistics tables; add ``orders.packaging`` (``[]`` for existing orders)."""
    op.add_column(
        "orders", sa.Column("packaging", JSON, nullable=False, server_default=EMPTY_JSON_LIST)
    )
    _shipping()
    _logistics()


def downgrade() -> None:
    """Drop the shipping and logistics tables and ``orders.packaging``."""
    op.drop_table("logistics_exceptions")
    op.drop_table("freight_bills")
    op.drop_table("carriers")
    op.drop_table("shipments")
    dialect = op.get_context().dialect
    if dialect.name == "sqlite" and (dialect.server_version_info or SQLITE_DROP_COLUMN) < SQLITE_DROP_COLUMN:
        with op.batch_alter_table("orders") as batch:
            batch.drop_column("packaging")
    else:
        op.drop_column("orders", "packaging")
