"""
Shipments: what left a warehouse for an order, checked against it and tracked (ORD-05).

A :class:`Shipment` is created when logistics dispatches part or all of an
order: its lines (SKU and units), the warehouse, the carrier and tracking
number (both required), the expected delivery and a tracking link, the
freight quoted, and the :class:`PackingCheck` made before the parcel was
closed — items and quantities against the order (gift lines included),
the address confirmed, and the order's special packaging honoured. It moves
``dispatched → delivered``.

Example:
    >>> from eshop_core.domain.shipping import check_tracking_number
    >>> check_tracking_number("SF 1234 5678 9012")
    'SF123456789012'
    >>> check_tracking_number("")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidInputError: invalid tracking_number: a shipment needs the carrier's ...
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Final

import attrs

from eshop_core.access import Actor
from eshop_core.clock import ensure_aware
from eshop_core.domain._aggregate import Aggregate
from eshop_core.domain._lifecycle import Lifecycle
from eshop_core.errors import InvalidInputError
from eshop_core.events import DomainEvent
from eshop_core.ids import new_id
from eshop_core.money import Money

__all__ = [
    "SHIPMENT_LIFECYCLE",
    "PackingCheck",
    "Shipment",
    "ShipmentDelivered",
    "ShipmentDispatched",
    "ShipmentState",
    "check_carrier_code",
    "check_tracking_number",
]

_CARRIER: Final = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_TRACKING: Final = re.compile(r"^[A-Za-z0-9-]{4,40}$")


def check_carrier_code(value: object, *, field: str = "carrier") -> str:
    """Return ``value`` if it is a carrier code (1-32 letters, digits, ``-``, ``_``)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(field, "a shipment needs its carrier")
    if not _CARRIER.match(value):
        raise InvalidInputError(field, f"{value!r} is not a carrier code (1-32 letters, digits, -, _)")
    return value


def check_tracking_number(value: object, *, field: str = "tracking_number") -> str:
    """Return ``value`` without spaces if it is a tracking number (4-40 letters, digits, ``-``)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(field, "a shipment needs the carrier's tracking number")
    compact = re.sub(r"\s+", "", value)
    if not _TRACKING.match(compact):
        raise InvalidInputError(field, f"{value!r} is not a tracking number (4-40 letters, digits, -)")
    return compact


class ShipmentState(StrEnum):
    """States of a shipment."""

    DISPATCHED = "dispatched"
    DELIVERED = "delivered"


SHIPMENT_LIFECYCLE: Final = Lifecycle(
    "Shipment",
    {(ShipmentState.DISPATCHED, "deliver"): ShipmentState.DELIVERED},
    initial=ShipmentState.DISPATCHED,
    terminal={ShipmentState.DELIVERED},
)
"""A shipment is dispatched, then delivered."""


@attrs.frozen(kw_only=True)
class PackingCheck:
    """
    The check made before a parcel is closed (ORD-05).

    Attributes:
        items: ``(sku, units)`` packed, matched against the shipment's lines.
        address_confirmed: The label's address was checked against the order.
        packaging: Special packaging applied (``hardcover``, ``fragile``...).
        checked_by: Who checked (actor id).
        at: When.
    """

    items: tuple[tuple[str, int], ...]
    address_confirmed: bool
    packaging: tuple[str, ...]
    checked_by: str
    at: datetime


@attrs.frozen(kw_only=True)
class ShipmentDispatched(DomainEvent):
    """A parcel left the warehouse: the channel is updated and the customer notified (ORD-05)."""

    order_id: uuid.UUID
    channel: str
    external_id: str
    warehouse: str
    carrier: str
    tracking_number: str
    tracking_url: str | None
    expected_delivery: datetime | None
    lines: dict[str, int]
    complete: bool


@attrs.frozen(kw_only=True)
class ShipmentDelivered(DomainEvent):
    """The carrier delivered the parcel."""

    order_id: uuid.UUID
    carrier: str
    tracking_number: str
    on_time: bool | None


@attrs.define(kw_only=True, eq=False)
class Shipment(Aggregate):
    """
    One parcel of an order.

    Attributes:
        order_id: The order (filterable).
        channel: The order's channel.
        external_id: The order's channel id.
        warehouse: Where it left from.
        lines: ``(sku, units)`` in the parcel.
        carrier: The carrier's code (filterable).
        tracking_number: The carrier's tracking number (filterable).
        tracking_url: A link the customer can follow.
        expected_delivery: When the carrier expects to deliver.
        freight: What the carrier quoted for it (reconciled with its bill).
        packing: The packing check.
        shipped_at: When it left.
        delivered_at: When it was delivered.
        state: :class:`ShipmentState` (filterable).
    """

    order_id: uuid.UUID = attrs.field(metadata={"filterable": True})
    channel: str
    external_id: str
    warehouse: str
    lines: tuple[tuple[str, int], ...]
    carrier: str = attrs.field(metadata={"filterable": True})
    tracking_number: str = attrs.field(metadata={"filterable": True})
    tracking_url: str | None = None
    expected_delivery: datetime | None = None
    freight: Money | None = None
    packing: PackingCheck
    shipped_at: datetime
    delivered_at: datetime | None = None
    state: ShipmentState = attrs.field(default=ShipmentState.DISPATCHED, metadata={"filterable": True})

    @classmethod
    def dispatch(
        cls,
        *,
        order_id: uuid.UUID,
        channel: str,
        external_id: str,
        warehouse: str,
        lines: tuple[tuple[str, int], ...],
        carrier: str,
        tracking_number: str,
        tracking_url: str | None,
        expected_delivery: datetime | None,
        freight: Money | None,
        packing: PackingCheck,
        complete: bool,
        by: Actor,
        at: datetime,
        shipment_id: uuid.UUID | None = None,
    ) -> Shipment:
        """
        Record a dispatched parcel (the caller checked it against the order).

        Raises:
            InvalidInputError: No carrier or tracking number, a naive or past expected delivery,
                a negative freight.
        """
        carrier = check_carrier_code(carrier)
        tracking_number = check_tracking_number(tracking_number)
        at = ensure_aware(at, field="at")
        if expected_delivery is not None:
            expected_delivery = ensure_aware(expected_delivery, field="expected_delivery")
            if expected_delivery < at:
                raise InvalidInputError("expected_delivery", "must not be before the shipment leaves")
        if freight is not None and (not isinstance(freight, Money) or freight.amount < 0):
            raise InvalidInputError("freight", "must be a non-negative Money")
        if freight is not None and not freight.is_rounded:
            raise InvalidInputError("freight", f"{freight} is finer than the currency's minor unit")
        shipment = cls(
            id=shipment_id or new_id(),
            order_id=order_id,
            channel=channel,
            external_id=external_id,
            warehouse=warehouse,
            lines=lines,
            carrier=carrier,
            tracking_number=tracking_number,
            tracking_url=tracking_url,
            expected_delivery=expected_delivery,
            freight=freight,
            packing=packing,
            shipped_at=at,
        )
        shipment._record(
            ShipmentDispatched(
                occurred_at=at,
                actor=by,
                order_id=order_id,
                channel=channel,
                external_id=external_id,
                warehouse=warehouse,
                carrier=carrier,
                tracking_number=tracking_number,
                tracking_url=tracking_url,
                expected_delivery=expected_delivery,
                lines=dict(lines),
                complete=complete,
            )
        )
        return shipment

    @property
    def on_time(self) -> bool | None:
        """Whether it was delivered by the expected time (``None`` until delivered or without one)."""
        if self.delivered_at is None or self.expected_delivery is None:
            return None
        return self.delivered_at <= self.expected_delivery

    def deliver(self, *, by: Actor, at: datetime) -> None:
        """
        Record the delivery.

        Raises:
            InvalidTransitionError: It was delivered already.
        """
        self.state = SHIPMENT_LIFECYCLE.fire(
            self.state, "deliver", subject=f"Shipment {self.tracking_number}"
        )
        self.delivered_at = ensure_aware(at, field="at")
        self._record(
            ShipmentDelivered(
                occurred_at=at,
                actor=by,
                order_id=self.order_id,
                carrier=self.carrier,
                tracking_number=self.tracking_number,
                on_time=self.on_time,
            )
        )
