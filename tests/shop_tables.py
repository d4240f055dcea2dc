"""The tables a fully migrated shop holds, shared by the SQLite and PostgreSQL migration tests."""

from __future__ import annotations

from typing import Final

SHOP_TABLES: Final = frozenset(
    {
        "outbox_events",
        "outbox_deliveries",
        "timers",
        "audit_log",
        "testkit_widgets",
        "testkit_widget_stock",
        "policy_sets",
        "policy_versions",
        "approval_requests",
        "products",
        "catalog_skus",
        "product_variants",
        "product_images",
        "listings",
        "channel_listings",
        "warehouses",
        "stock_counts",
        "replenishment_suggestions",
        "stock_levels",
        "stock_movements",
        "suppliers",
        "purchase_orders",
        "purchase_order_lines",
        "orders",
        "order_lines",
        "shipments",
        "carriers",
        "freight_bills",
        "logistics_exceptions",
    }
)
