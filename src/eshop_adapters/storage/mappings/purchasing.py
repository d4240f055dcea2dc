"""
Tables of purchasing: ``suppliers``, and ``purchase_orders`` with its child ``purchase_order_lines``.

A supplier's contact name and phone are personal data: encrypted, each with
its blind index (``contact_name_bidx``, ``contact_phone_bidx``) so erasure and
search find them without decrypting. Its evaluations are a JSON document.

A purchase order's lines are rows of ``purchase_order_lines`` (unit cost as
whole minor units and currency); its receipts and supplier returns are JSON
documents on the order's row.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import BigInteger, Column, Date, Integer, PrimaryKeyConstraint, String, Table, Text

from eshop_adapters.storage.mapping import (
    AggregateMapping,
    ChildTable,
    Rows,
    child_parent_column,
    id_column,
    money_columns,
    money_from,
    money_values,
    personal_columns,
    version_column,
)
from eshop_adapters.storage.metadata import METADATA
from eshop_adapters.storage.types import JSON_DOCUMENT, UUID, UTCDateTime
from eshop_core.domain.purchasing import (
    PurchaseLine,
    PurchaseOrder,
    PurchaseOrderState,
    Receipt,
    ReceiptLine,
    Supplier,
    SupplierEvaluation,
    SupplierReturn,
)

__all__ = [
    "PURCHASE_ORDER_MAPPING",
    "SUPPLIER_MAPPING",
    "PurchaseOrderMapping",
    "SupplierMapping",
    "purchase_order_lines",
    "purchase_orders",
    "suppliers",
]

suppliers: Final = Table(
    "suppliers",
    METADATA,
    id_column(),
    version_column(),
    Column("code", String(32), nullable=False, index=True, unique=True),
    Column("name", Text, nullable=False, index=True),
    *personal_columns("contact_name", blind_index=True),
    *personal_columns("contact_phone", blind_index=True),
    Column("licence_number", Text, nullable=True),
    Column("qualified_until", Date, nullable=True),
    Column("evaluations", JSON_DOCUMENT, nullable=False),
)
"""Suppliers; the code is unique, the contact is personal data."""

purchase_orders: Final = Table(
    "purchase_orders",
    METADATA,
    id_column(),
    version_column(),
    Column("supplier_id", UUID, nullable=False, index=True),
    Column("warehouse", String(32), nullable=False, index=True),
    Column("state", String(32), nullable=False, index=True),
    Column("expected_arrival", Date, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("placed_at", UTCDateTime(), nullable=True),
    Column("receipts", JSON_DOCUMENT, nullable=False),
    Column("supplier_returns", JSON_DOCUMENT, nullable=False),
    Column("note", Text, nullable=True),
)
"""Purchase orders; receipts and supplier returns are JSON documents."""

purchase_order_lines: Final = Table(
    "purchase_order_lines",
    METADATA,
    child_parent_column(purchase_orders),
    Column("position", Integer, nullable=False),
    Column("sku", String(64), nullable=False, index=True),
    Column("quantity", BigInteger, nullable=False),
    *money_columns("unit_cost"),
    Column("accepted", BigInteger, nullable=False),
    Column("rejected", BigInteger, nullable=False),
    Column("returned", BigInteger, nullable=False),
    PrimaryKeyConstraint("parent_id", "position"),
)
"""One row per purchase order line, in the order's line order."""


def _time(value: datetime) -> str:
    return value.isoformat()


def _evaluation(evaluation: SupplierEvaluation) -> dict[str, Any]:
    return {
        "scores": [[name, score] for name, score in evaluation.scores],
        "note": evaluation.note,
        "by": evaluation.by,
        "at": _time(evaluation.at),
    }


def _load_evaluation(data: Mapping[str, Any]) -> SupplierEvaluation:
    return SupplierEvaluation(
        scores=tuple((name, score) for name, score in data["scores"]),
        note=data["note"],
        by=data["by"],
        at=datetime.fromisoformat(data["at"]),
    )


def _receipt(receipt: Receipt) -> dict[str, Any]:
    return {
        "lines": [
            {
                "sku": line.sku,
                "received": line.received,
                "accepted": line.accepted,
                "rejected": line.rejected,
                "reason": line.reason,
            }
            for line in receipt.lines
        ],
        "over_receipt": receipt.over_receipt,
        "by": receipt.by,
        "at": _time(receipt.at),
    }


def _load_receipt(data: Mapping[str, Any]) -> Receipt:
    return Receipt(
        lines=tuple(
            ReceiptLine(
                sku=line["sku"],
                received=line["received"],
                accepted=line["accepted"],
                rejected=line["rejected"],
                reason=line["reason"],
            )
            for line in data["lines"]
        ),
        over_receipt=data["over_receipt"],
        by=data["by"],
        at=datetime.fromisoformat(data["at"]),
    )


def _supplier_return(sent: SupplierReturn) -> dict[str, Any]:
    return {
        "lines": [[sku, units] for sku, units in sent.lines],
        "note": sent.note,
        "by": sent.by,
        "at": _time(sent.at),
    }


def _load_supplier_return(data: Mapping[str, Any]) -> SupplierReturn:
    return SupplierReturn(
        lines=tuple((sku, units) for sku, units in data["lines"]),
        note=data["note"],
        by=data["by"],
        at=datetime.fromisoformat(data["at"]),
    )


class SupplierMapping(AggregateMapping[Supplier]):
    """Maps :class:`~eshop_core.domain.purchasing.Supplier` onto ``suppliers``."""

    def __init__(self) -> None:
        super().__init__(Supplier, suppliers)

    def dump(self, aggregate: Supplier) -> dict[str, Any]:
        """Return the supplier's plain columns (the base class adds the personal ones)."""
        return {
            "code": aggregate.code,
            "name": aggregate.name,
            "licence_number": aggregate.licence_number,
            "qualified_until": aggregate.qualified_until,
            "evaluations": [_evaluation(e) for e in aggregate.evaluations],
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> Supplier:
        """Build the supplier from its row (personal fields already decoded)."""
        return Supplier(
            id=values["id"],
            version=values["version"],
            code=values["code"],
            name=values["name"],
            contact_name=values["contact_name"],
            contact_phone=values["contact_phone"],
            licence_number=values["licence_number"],
            qualified_until=values["qualified_until"],
            evaluations=[_load_evaluation(e) for e in values["evaluations"]],
        )


class PurchaseOrderMapping(AggregateMapping[PurchaseOrder]):
    """Maps :class:`~eshop_core.domain.purchasing.PurchaseOrder` onto ``purchase_orders`` and its lines."""

    def __init__(self) -> None:
        super().__init__(PurchaseOrder, purchase_orders, children=[ChildTable(purchase_order_lines)])

    def dump(self, aggregate: PurchaseOrder) -> dict[str, Any]:
        """Return the order's plain columns; receipts and returns as JSON documents."""
        return {
            "supplier_id": aggregate.supplier_id,
            "warehouse": aggregate.warehouse,
            "state": aggregate.state.value,
            "expected_arrival": aggregate.expected_arrival,
            "created_by": aggregate.created_by,
            "created_at": aggregate.created_at,
            "placed_at": aggregate.placed_at,
            "receipts": [_receipt(r) for r in aggregate.receipts],
            "supplier_returns": [_supplier_return(r) for r in aggregate.supplier_returns],
            "note": aggregate.note,
        }

    def dump_children(self, aggregate: PurchaseOrder) -> Rows:
        """Return one row per line."""
        return {
            purchase_order_lines.name: [
                {
                    "sku": line.sku,
                    "quantity": line.quantity,
                    **money_values("unit_cost", line.unit_cost),
                    "accepted": line.accepted,
                    "rejected": line.rejected,
                    "returned": line.returned,
                }
                for line in aggregate.lines
            ]
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> PurchaseOrder:
        """Build the order from its rows."""
        lines = []
        for row in children.get(purchase_order_lines.name, ()):
            unit_cost = money_from(row, "unit_cost")
            assert unit_cost is not None  # the columns are not nullable
            lines.append(
                PurchaseLine(
                    sku=row["sku"],
                    quantity=row["quantity"],
                    unit_cost=unit_cost,
                    accepted=row["accepted"],
                    rejected=row["rejected"],
                    returned=row["returned"],
                )
            )
        return PurchaseOrder(
            id=values["id"],
            version=values["version"],
            supplier_id=uuid.UUID(str(values["supplier_id"])),
            warehouse=values["warehouse"],
            state=PurchaseOrderState(values["state"]),
            lines=lines,
            expected_arrival=values["expected_arrival"],
            created_by=values["created_by"],
            created_at=values["created_at"],
            placed_at=values["placed_at"],
            receipts=[_load_receipt(r) for r in values["receipts"]],
            supplier_returns=[_load_supplier_return(r) for r in values["supplier_returns"]],
            note=values["note"],
        )


SUPPLIER_MAPPING: Final = SupplierMapping()
"""The Supplier mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""

PURCHASE_ORDER_MAPPING: Final = PurchaseOrderMapping()
"""The PurchaseOrder mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""
