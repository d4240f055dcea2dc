"""
Catalog: products with variants and images, listings with channel listings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-19 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types spelled out here, not imported, so that this revision never changes.
UUID = sa.Uuid()
UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


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


def upgrade() -> None:
    """Create ``products``, ``product_variants``, ``product_images``, ``listings``, ``channel_listings``."""
    op.create_table(
        "products",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("shipping_method", sa.String(64), nullable=False),
        sa.Column("book", JSON, nullable=True),
        sa.Column("arrived_at", UTC_DATETIME, nullable=True),
        sa.Column("quality_checks", JSON, nullable=False),
        sa.Column("price_history", JSON, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    op.create_index(op.f("ix_products_name"), "products", ["name"])
    _child(
        "product_variants",
        "products",
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("attributes", JSON, nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("price_currency", sa.String(3), nullable=False),
        sa.Column("barcode", sa.String(13), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("unavailable_reason", sa.Text(), nullable=True),
    )
    op.create_index(op.f("ix_product_variants_sku"), "product_variants", ["sku"])
    _child(
        "product_images",
        "products",
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("checksum", sa.String(128), nullable=False),
    )

    op.create_table(
        "listings",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("product_id", UUID, nullable=False),
        sa.Column("channels", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("approval_request_id", UUID, nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("steps", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listings")),
    )
    op.create_index(op.f("ix_listings_product_id"), "listings", ["product_id"])
    op.create_index(op.f("ix_listings_state"), "listings", ["state"])
    _child(
        "channel_listings",
        "listings",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=True),
        sa.Column("last_sync_result", sa.Text(), nullable=True),
        sa.Column("needs_push", sa.Boolean(), nullable=False),
        sa.Column("published_at", UTC_DATETIME, nullable=True),
    )


    op.create_table(
        "catalog_skus",
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("product_id", UUID, nullable=False),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_catalog_skus")),
    )
    op.create_index(op.f("ix_catalog_skus_product_id"), "catalog_skus", ["product_id"])


def downgrade() -> None:
    """Drop the catalog tables."""
    op.drop_index(op.f("ix_catalog_skus_product_id"), table_name="catalog_skus")
    op.drop_table("catalog_skus")
    op.drop_table("channel_listings")
    op.drop_table("listings")
    op.drop_table("product_images")
    op.drop_table("product_variants")
    op.drop_table("products")
