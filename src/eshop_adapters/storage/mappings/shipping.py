"""
Table of shipments: ``shipments``.

A shipment's order, carrier, tracking number and state are indexed columns
(``find`` filters on them: an order's parcels, a carrier's parcels for its
scorecard and its bills, a parcel by its number). The freight quoted is
whole minor units and a currency (``freight_minor``, ``freight_currency``,
both ``NULL`` when none was quoted), so SQL can sum it per currency. The
parcel's lines (``[sku, units]``) and its packing check are JSON documents on
the row, times as ISO strings. Nothing in a shipment is personal data: the
consignee and address stay on the order.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Column, String, Table, Text

from eshop_adapters.storage.mapping import (
    AggregateMapping,
    Rows,
    id_column,
    money_columns,
    money_from,
    money_values,
    version_column,
)
from eshop_adapters.storage.metadata import METADATA
from eshop_adapters.storage.types import JSON_DOCUMENT, UUID, UTCDateTime
from eshop_core.domain.shipping import PackingCheck, Shipment, ShipmentState

__all__ = ["SHIPMENT_MAPPING", "ShipmentMapping", "shipments"]

shipments: Final = Table(
    "shipments",
    METADATA,
    id_column(),
    version_column(),
    Column("order_id", UUID, nullable=False, index=True),
    Column("channel", String(32), nullable=False),
    Column("external_id", String(64), nullable=False),
    Column("warehouse", String(32), nullable=False),
    Column("lines", JSON_DOCUMENT, nullable=False),
    Column("carrier", String(32), nullable=False, index=True),
    Column("tracking_number", String(64), nullable=False, index=True),
    Column("tracking_url", Text, nullable=True),
    Column("expected_delivery", UTCDateTime(), nullable=True),
    *money_columns("freight", nullable=True),
    Column("packing", JSON_DOCUMENT, nullable=False),
    Column("shipped_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=True),
    Column("state", String(16), nullable=False, index=True),
)
"""Shipments; lines and the packing check are JSON documents, the freight money columns."""


def _time(value: datetime) -> str:
    return value.isoformat()


def _packing(check: PackingCheck) -> dict[str, Any]:
    return {
        "items": [[sku, units] for sku, units in check.items],
        "address_confirmed": check.address_confirmed,
        "packaging": list(check.packaging),
        "checked_by": check.checked_by,
        "at": _time(check.at),
    }


def _load_packing(data: Mapping[str, Any]) -> PackingCheck:
    return PackingCheck(
        items=tuple((sku, int(units)) for sku, units in data["items"]),
        address_confirmed=bool(data["address_confirmed"]),
        packaging=tuple(data["packaging"]),
        checked_by=data["checked_by"],
        at=datetime.fromisoformat(data["at"]),
    )


class ShipmentMapping(AggregateMapping[Shipment]):
    """Maps :class:`~eshop_core.domain.shipping.Shipment` onto ``shipments``."""

    def __init__(self) -> None:
        super().__init__(Shipment, shipments)

    def dump(self, aggregate: Shipment) -> dict[str, Any]:
        """Return the shipment's columns; lines and packing check as JSON documents."""
        return {
            "order_id": aggregate.order_id,
            "channel": aggregate.channel,
            "external_id": aggregate.external_id,
            "warehouse": aggregate.warehouse,
            "lines": [[sku, units] for sku, units in aggregate.lines],
            "carrier": aggregate.carrier,
            "tracking_number": aggregate.tracking_number,
            "tracking_url": aggregate.tracking_url,
            "expected_delivery": aggregate.expected_delivery,
            **money_values("freight", aggregate.freight),
            "packing": _packing(aggregate.packing),
            "shipped_at": aggregate.shipped_at,
            "delivered_at": aggregate.delivered_at,
            "state": aggregate.state.value,
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> Shipment:
        """Build the shipment from its row."""
        return Shipment(
            id=values["id"],
            version=values["version"],
            order_id=uuid.UUID(str(values["order_id"])),
            channel=values["channel"],
            external_id=values["external_id"],
            warehouse=values["warehouse"],
            lines=tuple((sku, int(units)) for sku, units in values["lines"]),
            carrier=values["carrier"],
            tracking_number=values["tracking_number"],
            tracking_url=values["tracking_url"],
            expected_delivery=values["expected_delivery"],
            freight=money_from(values, "freight"),
            packing=_load_packing(values["packing"]),
            shipped_at=values["shipped_at"],
            delivered_at=values["delivered_at"],
            state=ShipmentState(values["state"]),
        )


SHIPMENT_MAPPING: Final = ShipmentMapping()
"""The Shipment mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""
