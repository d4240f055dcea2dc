"""
Tables of inventory: warehouses, stock counts, replenishment suggestions, and the stock ledger.

``warehouses``, ``stock_counts`` and ``replenishment_suggestions`` hold the
aggregates; a count sheet's lines and history are JSON documents on its row.
``stock_levels`` (one row per SKU and warehouse) and ``stock_movements`` (the
append-only ledger) sit behind the
:class:`~eshop_core.storage.inventory_ports.StockLedger` port
(:mod:`eshop_adapters.storage.ports.inventory`): check constraints keep
``0 <= reserved <= on_hand`` whatever the statement, and triggers refuse every
``UPDATE`` and ``DELETE`` of ``stock_movements`` (and, on PostgreSQL,
``TRUNCATE``). The triggers are created by the migration, and by
``METADATA.create_all`` through :data:`SQLITE_STOCK_MOVEMENT_TRIGGERS` and
:data:`POSTGRESQL_STOCK_MOVEMENT_TRIGGERS`.

On PostgreSQL the SKU and warehouse columns of ``stock_levels`` and
``stock_movements`` use the ``"C"`` collation, so levels are listed in
code-point order (the order of SQLite and of the memory backend) whatever the
database's default collation, and the two tables join without a collation
conflict.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import (
    DDL,
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    event,
)

from eshop_adapters.storage.mapping import AggregateMapping, Rows, id_column, version_column
from eshop_adapters.storage.metadata import METADATA
from eshop_adapters.storage.types import JSON_DOCUMENT, SEQUENCE, UUID, UTCDateTime
from eshop_core.domain.inventory import (
    CountLine,
    ReplenishmentSuggestion,
    StockCount,
    StockCountState,
    SuggestionState,
    Warehouse,
)

__all__ = [
    "POSTGRESQL_STOCK_MOVEMENT_TRIGGERS",
    "SQLITE_STOCK_MOVEMENT_TRIGGERS",
    "STOCK_COUNT_MAPPING",
    "SUGGESTION_MAPPING",
    "WAREHOUSE_MAPPING",
    "StockCountMapping",
    "SuggestionMapping",
    "WarehouseMapping",
    "replenishment_suggestions",
    "stock_counts",
    "stock_levels",
    "stock_movements",
    "warehouses",
]

SKU: Final = String(64)
"""A SKU (see :func:`~eshop_core.domain.catalog.check_sku`)."""

WAREHOUSE_CODE: Final = String(32)
"""A warehouse code (see :func:`~eshop_core.domain.inventory.check_warehouse_code`)."""

ACTOR_ID: Final = String(128)
"""An actor id."""

UNITS: Final = BigInteger()
"""A number of stock units."""

_ORDERED_SKU: Final = String(64).with_variant(String(64, collation="C"), "postgresql")
_ORDERED_WAREHOUSE_CODE: Final = String(32).with_variant(String(32, collation="C"), "postgresql")

warehouses: Final = Table(
    "warehouses",
    METADATA,
    id_column(),
    version_column(),
    Column("code", WAREHOUSE_CODE, nullable=False, index=True, unique=True),
    Column("name", Text, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("counting_id", UUID, nullable=True),
)
"""Warehouses; the code is unique."""

stock_counts: Final = Table(
    "stock_counts",
    METADATA,
    id_column(),
    version_column(),
    Column("warehouse", WAREHOUSE_CODE, nullable=False, index=True),
    Column("state", String(16), nullable=False, index=True),
    Column("lines", JSON_DOCUMENT, nullable=False),
    Column("opened_by", ACTOR_ID, nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("approval_request_id", UUID, nullable=True),
    Column("history", JSON_DOCUMENT, nullable=False),
)
"""Stock count sheets; lines and history are JSON documents."""

replenishment_suggestions: Final = Table(
    "replenishment_suggestions",
    METADATA,
    id_column(),
    version_column(),
    Column("sku", SKU, nullable=False, index=True),
    Column("warehouse", WAREHOUSE_CODE, nullable=False, index=True),
    Column("state", String(16), nullable=False, index=True),
    Column("available", UNITS, nullable=False),
    Column("threshold", UNITS, nullable=False),
    Column("daily_sales", Text, nullable=False),
    Column("suggested_quantity", UNITS, nullable=False),
    Column("raised_at", UTCDateTime(), nullable=False),
    Column("policy_version", Integer, nullable=True),
    Column("purchase_order_id", UUID, nullable=True, index=True),
    Column("note", Text, nullable=True),
)
"""Replenishment suggestions; ``daily_sales`` is the decimal's exact text."""

stock_levels: Final = Table(
    "stock_levels",
    METADATA,
    Column("sku", _ORDERED_SKU, nullable=False),
    Column("warehouse", _ORDERED_WAREHOUSE_CODE, nullable=False),
    Column("on_hand", UNITS, nullable=False),
    Column("reserved", UNITS, nullable=False),
    Column("low_stock_threshold", UNITS, nullable=True),
    PrimaryKeyConstraint("sku", "warehouse"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    CheckConstraint("on_hand >= reserved", name="reserved_within_on_hand"),
)
"""Stock per SKU per warehouse (INV-01): ``0 <= reserved <= on_hand``."""

stock_movements: Final = Table(
    "stock_movements",
    METADATA,
    Column("seq", SEQUENCE, primary_key=True, autoincrement=True),
    Column("sku", _ORDERED_SKU, nullable=False),
    Column("warehouse", _ORDERED_WAREHOUSE_CODE, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("on_hand_delta", UNITS, nullable=False),
    Column("reserved_delta", UNITS, nullable=False),
    Column("on_hand_after", UNITS, nullable=False),
    Column("reserved_after", UNITS, nullable=False),
    Column("actor", ACTOR_ID, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("reference", String(128), nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_stock_movements_level", "sku", "warehouse", "seq"),
    Index("ix_stock_movements_reference", "reference", "seq"),
    Index("ix_stock_movements_reason_at", "reason", "at"),
)
"""The append-only stock ledger (INV-07), in ``seq`` order."""

SQLITE_STOCK_MOVEMENT_TRIGGERS: Final[tuple[str, ...]] = (
    "CREATE TRIGGER stock_movements_no_update BEFORE UPDATE ON stock_movements "
    "BEGIN SELECT RAISE(ABORT, 'stock_movements is append-only'); END",
    "CREATE TRIGGER stock_movements_no_delete BEFORE DELETE ON stock_movements "
    "BEGIN SELECT RAISE(ABORT, 'stock_movements is append-only'); END",
)
"""SQLite triggers that make ``stock_movements`` append-only."""

POSTGRESQL_STOCK_MOVEMENT_TRIGGERS: Final[tuple[str, ...]] = (
    "CREATE OR REPLACE FUNCTION stock_movements_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'stock_movements is append-only' USING ERRCODE = 'raise_exception'; END $$",
    "CREATE TRIGGER stock_movements_no_update BEFORE UPDATE ON stock_movements "
    "FOR EACH ROW EXECUTE FUNCTION stock_movements_append_only()",
    "CREATE TRIGGER stock_movements_no_delete BEFORE DELETE ON stock_movements "
    "FOR EACH ROW EXECUTE FUNCTION stock_movements_append_only()",
    "CREATE TRIGGER stock_movements_no_truncate BEFORE TRUNCATE ON stock_movements "
    "FOR EACH STATEMENT EXECUTE FUNCTION stock_movements_append_only()",
)
"""PostgreSQL trigger function and triggers that make ``stock_movements`` append-only (unqualified
names: they land in the first schema of ``search_path``)."""

for _statement in SQLITE_STOCK_MOVEMENT_TRIGGERS:
    event.listen(stock_movements, "after_create", DDL(_statement).execute_if(dialect="sqlite"))  # type: ignore[no-untyped-call]
for _statement in POSTGRESQL_STOCK_MOVEMENT_TRIGGERS:
    event.listen(stock_movements, "after_create", DDL(_statement).execute_if(dialect="postgresql"))  # type: ignore[no-untyped-call]


def _time(value: datetime) -> str:
    return value.isoformat()


def _optional_id(value: Any) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


class WarehouseMapping(AggregateMapping[Warehouse]):
    """Maps :class:`~eshop_core.domain.inventory.Warehouse` onto ``warehouses``."""

    def __init__(self) -> None:
        super().__init__(Warehouse, warehouses)

    def dump(self, aggregate: Warehouse) -> dict[str, Any]:
        """Return the warehouse's plain columns."""
        return {
            "code": aggregate.code,
            "name": aggregate.name,
            "priority": aggregate.priority,
            "counting_id": aggregate.counting_id,
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> Warehouse:
        """Build the warehouse from its row."""
        return Warehouse(
            id=values["id"],
            version=values["version"],
            code=values["code"],
            name=values["name"],
            priority=values["priority"],
            counting_id=_optional_id(values["counting_id"]),
        )


class StockCountMapping(AggregateMapping[StockCount]):
    """Maps :class:`~eshop_core.domain.inventory.StockCount` onto ``stock_counts``."""

    def __init__(self) -> None:
        super().__init__(StockCount, stock_counts)

    def dump(self, aggregate: StockCount) -> dict[str, Any]:
        """Return the sheet's plain columns; lines and history as JSON documents."""
        return {
            "warehouse": aggregate.warehouse,
            "state": aggregate.state.value,
            "lines": [
                {"sku": line.sku, "book": line.book, "counted": line.counted, "explanation": line.explanation}
                for line in aggregate.lines
            ],
            "opened_by": aggregate.opened_by,
            "opened_at": aggregate.opened_at,
            "approval_request_id": aggregate.approval_request_id,
            "history": [[action, actor, _time(at), note] for action, actor, at, note in aggregate.history],
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> StockCount:
        """Build the sheet from its row."""
        return StockCount(
            id=values["id"],
            version=values["version"],
            warehouse=values["warehouse"],
            state=StockCountState(values["state"]),
            lines=[
                CountLine(
                    sku=line["sku"],
                    book=line["book"],
                    counted=line["counted"],
                    explanation=line["explanation"],
                )
                for line in values["lines"]
            ],
            opened_by=values["opened_by"],
            opened_at=values["opened_at"],
            approval_request_id=_optional_id(values["approval_request_id"]),
            history=[
                (action, actor, datetime.fromisoformat(at), note)
                for action, actor, at, note in values["history"]
            ],
        )


class SuggestionMapping(AggregateMapping[ReplenishmentSuggestion]):
    """Maps :class:`~eshop_core.domain.inventory.ReplenishmentSuggestion` onto its table."""

    def __init__(self) -> None:
        super().__init__(ReplenishmentSuggestion, replenishment_suggestions)

    def dump(self, aggregate: ReplenishmentSuggestion) -> dict[str, Any]:
        """Return the suggestion's plain columns; ``daily_sales`` as the decimal's text."""
        return {
            "sku": aggregate.sku,
            "warehouse": aggregate.warehouse,
            "state": aggregate.state.value,
            "available": aggregate.available,
            "threshold": aggregate.threshold,
            "daily_sales": str(aggregate.daily_sales),
            "suggested_quantity": aggregate.suggested_quantity,
            "raised_at": aggregate.raised_at,
            "policy_version": aggregate.policy_version,
            "purchase_order_id": aggregate.purchase_order_id,
            "note": aggregate.note,
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> ReplenishmentSuggestion:
        """Build the suggestion from its row."""
        return ReplenishmentSuggestion(
            id=values["id"],
            version=values["version"],
            sku=values["sku"],
            warehouse=values["warehouse"],
            state=SuggestionState(values["state"]),
            available=values["available"],
            threshold=values["threshold"],
            daily_sales=Decimal(values["daily_sales"]),
            suggested_quantity=values["suggested_quantity"],
            raised_at=values["raised_at"],
            policy_version=values["policy_version"],
            purchase_order_id=_optional_id(values["purchase_order_id"]),
            note=values["note"],
        )


WAREHOUSE_MAPPING: Final = WarehouseMapping()
"""The Warehouse mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""

STOCK_COUNT_MAPPING: Final = StockCountMapping()
"""The StockCount mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""

SUGGESTION_MAPPING: Final = SuggestionMapping()
"""The ReplenishmentSuggestion mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""
