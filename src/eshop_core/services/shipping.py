"""
``shop.shipping``: parcels checked against the order, handed to a carrier, tracked (ORD-05).

Logistics (``order.ship``) ships part or all of an allocated order from one
warehouse with :meth:`ShippingService.ship`. The packing check comes first:
what was packed must equal what the shipment takes out of the order's
reservations there (gift lines, at price zero, included), the address on
the label must have been confirmed, and the order's special packaging
(``hardcover``, ``fragile``...) must have been applied. A carrier and a
tracking number are required. The reserved stock is then committed in the
ledger (``shipment`` movements), the order moves to ``partially_shipped`` or
``shipped``, and the ``ShipmentDispatched`` event goes through the outbox to
the channel adapters and, with the tracking number, expected delivery and
tracking link, to the customer through the registered notifiers.

Example:
    >>> from eshop_core import Actor, Shop
    >>> shop = Shop.open("memory://")
    >>> shop.shipping.ship(Actor("wu.hua", roles={"customer_service"}), "0" * 32, {})
    Traceback (most recent call last):
    ...
    eshop_core.errors.PermissionDeniedError: wu.hua lacks permission order.ship
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import attrs

from eshop_core.access import Actor, Permission, authorize
from eshop_core.domain.logistics import Carrier
from eshop_core.domain.orders import Order, OrderState
from eshop_core.domain.shipping import PackingCheck, Shipment, ShipmentState, check_tracking_number
from eshop_core.errors import InvalidInputError, InvalidTransitionError
from eshop_core.ids import new_id, parse_id
from eshop_core.money import Money
from eshop_core.schemas.shipping import ShipOrder
from eshop_core.services.inventory import all_pages
from eshop_core.storage.order_ports import OrderBook
from eshop_core.storage.ports import TimerStore

if TYPE_CHECKING:
    from eshop_core.shop import Shop

DELIVERY_DUE_TIMER: Final = "shipping.delivery_due"
"""The timer kind that opens a delay exception for a parcel not delivered by its expected time."""

__all__ = ["DELIVERY_DUE_TIMER", "ShipmentView", "ShippingService"]


@attrs.frozen(kw_only=True)
class ShipmentView:
    """An immutable snapshot of a :class:`~eshop_core.domain.shipping.Shipment` (same attributes)."""

    id: uuid.UUID
    order_id: uuid.UUID
    channel: str
    external_id: str
    warehouse: str
    lines: tuple[tuple[str, int], ...]
    carrier: str
    tracking_number: str
    tracking_url: str | None
    expected_delivery: datetime | None
    freight: Money | None
    packing: PackingCheck
    shipped_at: datetime
    delivered_at: datetime | None
    state: ShipmentState
    on_time: bool | None

    @classmethod
    def of(cls, shipment: Shipment) -> ShipmentView:
        """Return the snapshot of ``shipment``."""
        return cls(
            id=shipment.id,
            order_id=shipment.order_id,
            channel=shipment.channel,
            external_id=shipment.external_id,
            warehouse=shipment.warehouse,
            lines=shipment.lines,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            tracking_url=shipment.tracking_url,
            expected_delivery=shipment.expected_delivery,
            freight=shipment.freight,
            packing=shipment.packing,
            shipped_at=shipment.shipped_at,
            delivered_at=shipment.delivered_at,
            state=shipment.state,
            on_time=shipment.on_time,
        )


def _check_packing(order: Order, command: ShipOrder) -> tuple[dict[str, int], tuple[str, ...]]:
    """The packing check of ORD-05; return the units to ship and the packaging applied."""
    wanted, packed = command.units("lines"), command.units("packed")
    on_order = {line.sku for line in order.lines}
    for sku in sorted(set(packed) - set(wanted)):  # wrong items first: the most useful message
        if sku not in on_order:
            raise InvalidInputError("packed", f"{sku} is not on {order.subject}: a wrong item was packed")
        raise InvalidInputError("packed", f"{sku} was packed, but this shipment does not take it")
    for sku in sorted(set(wanted) | set(packed)):
        if sku not in on_order:
            raise InvalidInputError("packed", f"{sku} is not on {order.subject}: a wrong item was packed")
        if packed.get(sku, 0) != wanted.get(sku, 0):
            raise InvalidInputError(
                "packed",
                f"{packed.get(sku, 0)} of {sku} packed, but the shipment takes {wanted.get(sku, 0)}",
            )
    if not command.address_confirmed:
        raise InvalidInputError("address_confirmed", "check the label's address against the order first")
    applied = tuple(sorted({p.strip().casefold() for p in command.packaging if p.strip()}))
    missing = [need for need in order.packaging if need not in applied]
    if missing:
        raise InvalidInputError("packaging", f"the order needs {', '.join(missing)} packaging")
    return wanted, applied


class ShippingService:
    """Shipping orders and recording deliveries; see the module documentation."""

    def __init__(self, shop: Shop) -> None:
        self._shop = shop

    def ship(
        self, actor: Actor, order_id: uuid.UUID | str, command: ShipOrder | Mapping[str, Any]
    ) -> ShipmentView:
        """
        Ship part or all of an order from one warehouse after the packing check (ORD-05).

        Raises:
            PermissionDeniedError: Missing ``order.ship``.
            NotFoundError: No such order or warehouse.
            InvalidTransitionError: The order cannot ship (unpaid, held, not allocated, shipped,
                cancelled).
            InvalidInputError: No carrier or tracking number, a packing check that does not match
                (naming ``packed``, ``address_confirmed`` or ``packaging``), or more units than
                are reserved for the order in that warehouse (``lines.<sku>``).
        """
        authorize(actor, Permission.ORDER_SHIP)
        key = parse_id(order_id, field="order_id")
        data = ShipOrder.parse(command)
        now = self._shop.clock.now()
        freight = None if data.freight is None else data.freight.to_domain()
        with self._shop.unit_of_work(actor) as uow:
            warehouse = self._shop.inventory.check_warehouse(uow, data.warehouse)
            order = uow.repository(Order).get(key)
            if order.state not in (OrderState.ALLOCATED, OrderState.PARTIAL, OrderState.PARTIALLY_SHIPPED):
                raise InvalidTransitionError(order.subject, str(order.state), "ship")
            units, packaging = _check_packing(order, data)
            packing = PackingCheck(
                items=tuple(sorted(data.units("packed").items())),
                address_confirmed=True,
                packaging=packaging,
                checked_by=actor.id,
                at=now,
            )
            carrier = uow.repository(Carrier).find(where={"code": data.carrier}, limit=1).items
            if carrier and freight is not None and freight.currency != carrier[0].currency:
                raise InvalidInputError(
                    "freight", f"must be in {carrier[0].currency}, the currency {data.carrier} bills in"
                )
            number = check_tracking_number(data.tracking_number)
            used = uow.repository(Shipment).find(
                where={"carrier": data.carrier, "tracking_number": number}, limit=1
            )
            if used.items:
                raise InvalidInputError(
                    "tracking_number", f"{number} is on another parcel of {data.carrier} already"
                )
            tracking_url = data.tracking_url
            if tracking_url is None and carrier:
                tracking_url = carrier[0].tracking_url(re.sub(r"\s+", "", data.tracking_number))
            shipment_id = new_id()
            complete = order.record_shipment(str(shipment_id), warehouse, units, by=actor, at=now)
            reference = f"order:{order.id}"
            for sku, quantity in sorted(units.items()):
                self._shop.inventory.ship_in(uow, sku, warehouse, quantity, reference=reference)
            shipment = Shipment.dispatch(
                order_id=order.id,
                channel=order.channel,
                external_id=order.external_id,
                warehouse=warehouse,
                lines=tuple(sorted(units.items())),
                carrier=data.carrier,
                tracking_number=data.tracking_number,
                tracking_url=tracking_url,
                expected_delivery=data.expected_delivery,
                freight=freight,
                packing=packing,
                complete=complete,
                by=actor,
                at=now,
                shipment_id=shipment_id,
            )
            uow.repository(Order).save(order)
            uow.repository(Shipment).add(shipment)
            uow.port(OrderBook).note([order])
            if shipment.expected_delivery is not None:  # a delay opens a logistics exception (LOG-03)
                uow.port(TimerStore).schedule(
                    kind=DELIVERY_DUE_TIMER, aggregate_id=shipment.id, due_at=shipment.expected_delivery
                )
            uow.commit()
        return ShipmentView.of(shipment)

    def deliver(self, actor: Actor, shipment_id: uuid.UUID | str) -> ShipmentView:
        """
        Record a parcel's delivery; the order is delivered when all its parcels are (``order.ship``).

        Raises:
            InvalidTransitionError: Delivered already.
        """
        authorize(actor, Permission.ORDER_SHIP)
        key = parse_id(shipment_id, field="shipment_id")
        now = self._shop.clock.now()
        with self._shop.unit_of_work(actor) as uow:
            shipments = uow.repository(Shipment)
            shipment = shipments.get(key)
            shipment.deliver(by=actor, at=now)
            shipments.save(shipment)
            uow.port(TimerStore).cancel(aggregate_id=shipment.id, kind=DELIVERY_DUE_TIMER)
            order = uow.repository(Order).get(shipment.order_id)
            others = [s for s in all_pages(uow, Shipment, {"order_id": order.id}) if s.id != shipment.id]
            if order.state is OrderState.SHIPPED and all(s.state is ShipmentState.DELIVERED for s in others):
                order.deliver(by=actor, at=now)
                uow.repository(Order).save(order)
                uow.port(OrderBook).note([order])
            uow.commit()
        return ShipmentView.of(shipment)

    def shipments(self, actor: Actor, order_id: uuid.UUID | str) -> tuple[ShipmentView, ...]:
        """Return an order's shipments, oldest first (needs ``order.read``)."""
        authorize(actor, Permission.ORDER_READ)
        key = parse_id(order_id, field="order_id")
        with self._shop.unit_of_work(actor) as uow:
            found = [ShipmentView.of(s) for s in all_pages(uow, Shipment, {"order_id": key})]
        return tuple(sorted(found, key=lambda s: s.shipped_at))
