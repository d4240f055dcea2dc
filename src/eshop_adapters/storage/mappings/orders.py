"""
Tables of orders: ``orders`` and its child ``order_lines``.

An order's row holds its key, ``channel`` and ``external_id``, under a UNIQUE
index, so two units of work creating the same channel order cannot both
commit: the second gets :class:`~eshop_core.errors.DuplicateKeyError` and the
service retries it (ORD-01).

The buyer, the consignee's name and phone, the address and the buyer's note
are personal data: encrypted, the buyer, name and phone each with its blind
index (``buyer_bidx``, ``consignee_name_bidx``, ``consignee_phone_bidx``).
Amounts are whole minor units and a currency (``total_minor``,
``total_currency``...), so SQL can sum them per currency. ``items_key`` is
stored as it is and as ``items_hash``, its SHA-256 in hex, which is indexed
with ``placed_at``: a key grows with the order's lines, and PostgreSQL's
B-tree entries are bounded in size. A filter on ``items_key`` compares the
hash. These columns serve the
:class:`~eshop_core.storage.order_ports.OrderBook` look-ups
(:mod:`eshop_adapters.storage.ports.orders`).

The lines are rows of ``order_lines`` (prices and discounts as money columns,
allocations as a JSON list of ``[warehouse, units]``); the audit's findings
and the timeline's steps are JSON documents on the order's row, times as ISO
strings. The special packaging the order needs (``packaging``, not personal
data) is a JSON list of texts, ``[]`` when none: also the column's server
default, which gave the orders stored before it existed an empty list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

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
from eshop_adapters.storage.types import JSON_DOCUMENT, UTCDateTime
from eshop_core.domain.orders import AuditFinding, Order, OrderLine, OrderState, OrderStep
from eshop_core.money import Money

__all__ = [
    "ORDER_MAPPING",
    "OrderMapping",
    "items_hash",
    "order_lines",
    "orders",
]

orders: Final = Table(
    "orders",
    METADATA,
    id_column(),
    version_column(),
    Column("channel", String(32), nullable=False),
    Column("external_id", String(64), nullable=False, index=True),
    Column("revision", UTCDateTime(), nullable=False),
    Column("state", String(32), nullable=False, index=True),
    Column("placed_at", UTCDateTime(), nullable=False),
    Column("paid_at", UTCDateTime(), nullable=True),
    *personal_columns("buyer", blind_index=True),
    *personal_columns("consignee_name", blind_index=True, nullable=False),
    *personal_columns("consignee_phone", blind_index=True, nullable=False),
    Column("province", String(64), nullable=False),
    Column("city", String(64), nullable=False),
    Column("district", String(64), nullable=False),
    *personal_columns("address", nullable=False),
    Column("postcode", String(16), nullable=True),
    *money_columns("shipping_fee"),
    *money_columns("discount"),
    *money_columns("total"),
    Column("payment_method", String(32), nullable=True),
    Column("payment_reference", String(128), nullable=True),
    *personal_columns("buyer_note"),
    Column("packaging", JSON_DOCUMENT, nullable=False, server_default="[]"),
    Column("items_key", Text, nullable=False),
    Column("items_hash", String(64), nullable=False),
    Column("findings", JSON_DOCUMENT, nullable=False),
    Column("policy_version", Integer, nullable=True),
    Column("confirmation_due_at", UTCDateTime(), nullable=True),
    Column("confirmed_at", UTCDateTime(), nullable=True),
    Column("confirmed_by", String(128), nullable=True),
    Column("confirmed_late", Boolean, nullable=True, index=True),
    Column("overdue", Boolean, nullable=False, index=True),
    Column("reminders_sent", Integer, nullable=False),
    Column("cancel_reason", Text, nullable=True),
    Column("steps", JSON_DOCUMENT, nullable=False),
    Index("ix_orders_channel_external_id", "channel", "external_id", unique=True),
    Index("ix_orders_items_hash_placed_at", "items_hash", "placed_at"),
)
"""Orders; (channel, external id) is unique, personal columns are encrypted."""

order_lines: Final = Table(
    "order_lines",
    METADATA,
    child_parent_column(orders),
    Column("position", Integer, nullable=False),
    Column("sku", String(64), nullable=False, index=True),
    Column("quantity", BigInteger, nullable=False),
    *money_columns("unit_price"),
    *money_columns("discount"),
    Column("allocations", JSON_DOCUMENT, nullable=False),
    Column("shipped", BigInteger, nullable=False),
    PrimaryKeyConstraint("parent_id", "position"),
)
"""One row per order line, in the order's line order."""


def items_hash(items_key: str) -> str:
    """
    Return the indexed form of an :func:`~eshop_core.domain.orders.items_key`: its SHA-256 in hex.

    Example:
        >>> items_hash("MUG-BLUE*2")[:12]
        '82901939622b'
    """
    return hashlib.sha256(items_key.encode("utf-8")).hexdigest()


def _time(value: datetime) -> str:
    return value.isoformat()


def _money(values: Mapping[str, Any], field: str) -> Money:
    money = money_from(values, field)
    assert money is not None  # the columns are not nullable
    return money


def _step(step: OrderStep) -> dict[str, Any]:
    return {
        "action": step.action,
        "state": step.state.value,
        "by": step.by,
        "at": _time(step.at),
        "note": step.note,
    }


def _load_step(data: Mapping[str, Any]) -> OrderStep:
    return OrderStep(
        action=data["action"],
        state=OrderState(data["state"]),
        by=data["by"],
        at=datetime.fromisoformat(data["at"]),
        note=data["note"],
    )


class OrderMapping(AggregateMapping[Order]):
    """Maps :class:`~eshop_core.domain.orders.Order` onto ``orders`` and ``order_lines``."""

    def __init__(self) -> None:
        super().__init__(Order, orders, children=[ChildTable(order_lines)])

    def dump(self, aggregate: Order) -> dict[str, Any]:
        """Return the order's plain columns (the base class adds the personal ones)."""
        return {
            "channel": aggregate.channel,
            "external_id": aggregate.external_id,
            "revision": aggregate.revision,
            "state": aggregate.state.value,
            "placed_at": aggregate.placed_at,
            "paid_at": aggregate.paid_at,
            "province": aggregate.province,
            "city": aggregate.city,
            "district": aggregate.district,
            "postcode": aggregate.postcode,
            **money_values("shipping_fee", aggregate.shipping_fee),
            **money_values("discount", aggregate.discount),
            **money_values("total", aggregate.total),
            "payment_method": aggregate.payment_method,
            "payment_reference": aggregate.payment_reference,
            "packaging": list(aggregate.packaging),
            "items_key": aggregate.items_key,
            "items_hash": items_hash(aggregate.items_key),
            "findings": [{"rule": f.rule, "detail": f.detail} for f in aggregate.findings],
            "policy_version": aggregate.policy_version,
            "confirmation_due_at": aggregate.confirmation_due_at,
            "confirmed_at": aggregate.confirmed_at,
            "confirmed_by": aggregate.confirmed_by,
            "confirmed_late": aggregate.confirmed_late,
            "overdue": aggregate.overdue,
            "reminders_sent": aggregate.reminders_sent,
            "cancel_reason": aggregate.cancel_reason,
            "steps": [_step(s) for s in aggregate.steps],
        }

    def dump_children(self, aggregate: Order) -> Rows:
        """Return one row per line."""
        return {
            order_lines.name: [
                {
                    "sku": line.sku,
                    "quantity": line.quantity,
                    **money_values("unit_price", line.unit_price),
                    **money_values("discount", line.discount),
                    "allocations": [[warehouse, units] for warehouse, units in line.allocations],
                    "shipped": line.shipped,
                }
                for line in aggregate.lines
            ]
        }

    def filter_column(self, field: str) -> Column[Any]:
        """Return the column a filter on ``field`` compares: ``items_key`` is matched by its hash."""
        if field == "items_key":
            return self.table.c.items_hash
        return super().filter_column(field)

    def filter_value(self, field: str, value: object) -> object:
        """Return the value a filter on ``field`` compares: the hash of an ``items_key``."""
        if field == "items_key" and isinstance(value, str):
            return items_hash(value)
        return super().filter_value(field, value)

    def load(self, values: Mapping[str, Any], children: Rows) -> Order:
        """Build the order from its rows (personal fields already decoded)."""
        lines = [
            OrderLine(
                sku=row["sku"],
                quantity=int(row["quantity"]),
                unit_price=_money(row, "unit_price"),
                discount=_money(row, "discount"),
                allocations=tuple((warehouse, int(units)) for warehouse, units in row["allocations"]),
                shipped=int(row["shipped"]),
            )
            for row in children.get(order_lines.name, ())
        ]
        return Order(
            id=values["id"],
            version=values["version"],
            channel=values["channel"],
            external_id=values["external_id"],
            revision=values["revision"],
            state=OrderState(values["state"]),
            placed_at=values["placed_at"],
            paid_at=values["paid_at"],
            buyer=values["buyer"],
            consignee_name=values["consignee_name"],
            consignee_phone=values["consignee_phone"],
            province=values["province"],
            city=values["city"],
            district=values["district"],
            address=values["address"],
            postcode=values["postcode"],
            lines=lines,
            shipping_fee=_money(values, "shipping_fee"),
            discount=_money(values, "discount"),
            total=_money(values, "total"),
            payment_method=values["payment_method"],
            payment_reference=values["payment_reference"],
            buyer_note=values["buyer_note"],
            packaging=tuple(values["packaging"]),
            items_key=values["items_key"],
            findings=[AuditFinding(rule=f["rule"], detail=f["detail"]) for f in values["findings"]],
            policy_version=values["policy_version"],
            confirmation_due_at=values["confirmation_due_at"],
            confirmed_at=values["confirmed_at"],
            confirmed_by=values["confirmed_by"],
            confirmed_late=values["confirmed_late"],
            overdue=values["overdue"],
            reminders_sent=values["reminders_sent"],
            cancel_reason=values["cancel_reason"],
            steps=[_load_step(s) for s in values["steps"]],
        )


ORDER_MAPPING: Final = OrderMapping()
"""The Order mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""
