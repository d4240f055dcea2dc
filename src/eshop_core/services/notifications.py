"""
Customer notices: shipments, payment reminders and shortages delivered by notifier plug-ins.

Events carry no personal data, so they cannot say whom to tell. When at
least one plug-in registers a notifier (``eshop_register_notifiers``), the
shop adds an outbox subscriber, ``eshop.notifications``, that turns each
customer-facing event into a :class:`CustomerNotice` — reading the order's
consignee at delivery time — and hands it to every notifier:

- ``ShipmentDispatched`` → ``shipment_dispatched`` with the carrier, tracking
  number, tracking link and expected delivery (ORD-05);
- ``PaymentReminderSent`` → ``payment_reminder`` (ORD-07);
- ``OrderShort`` → ``stock_short`` with the units still missing (ORD-04): on
  confirmation, and again when a waiting order gets part of what it misses.

Delivery is the outbox's: at least once, retried with backoff when a
notifier raises; use :attr:`CustomerNotice.key` to send each notice once.

Example:
    >>> from eshop_core.services.notifications import NOTICE_KINDS
    >>> sorted(NOTICE_KINDS.values())
    ['payment_reminder', 'shipment_dispatched', 'stock_short']
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

import attrs

from eshop_core.access import Actor
from eshop_core.domain.orders import Order
from eshop_core.events import EventEnvelope

if TYPE_CHECKING:
    from eshop_core.shop import Shop

__all__ = [
    "NOTICE_KINDS",
    "NOTIFICATIONS_SUBSCRIBER",
    "CustomerNotice",
    "Notifier",
    "notifications_subscriber",
]

NOTIFICATIONS_SUBSCRIBER: Final = "eshop.notifications"
"""The name of the outbox subscriber that delivers customer notices."""

NOTICE_KINDS: Final[Mapping[str, str]] = {
    "ShipmentDispatched": "shipment_dispatched",
    "PaymentReminderSent": "payment_reminder",
    "OrderShort": "stock_short",
}
"""Which events make which notice."""

_READER: Final = Actor.system("notifications")


@attrs.frozen(kw_only=True)
class CustomerNotice:
    """
    A message for the customer of an order.

    Attributes:
        key: A stable id (the event's): send each notice once.
        kind: ``shipment_dispatched``, ``payment_reminder`` or ``stock_short``.
        order_id: The order.
        channel: Its channel (a notifier may answer through the channel's own messaging).
        external_id: The channel's order id.
        recipient_name: The consignee (personal data).
        recipient_phone: Their phone (personal data).
        details: What the message says: tracking number, carrier, link, expected delivery,
            the reminder's number, or the units missing.
    """

    key: uuid.UUID
    kind: str
    order_id: uuid.UUID
    channel: str
    external_id: str
    recipient_name: str
    recipient_phone: str
    details: Mapping[str, Any]


@runtime_checkable
class Notifier(Protocol):
    """Delivers customer notices (SMS, the channel's messaging, e-mail...); raise to have one retried."""

    def __call__(self, notice: CustomerNotice) -> None:
        """Deliver ``notice``."""
        ...


def notifications_subscriber(
    shop_of: Callable[[], Shop], notifiers: Sequence[Notifier]
) -> Callable[[EventEnvelope], None]:
    """Return the outbox subscriber turning events into notices for ``notifiers``."""

    def deliver(envelope: EventEnvelope) -> None:
        kind = NOTICE_KINDS.get(envelope.type)
        if kind is None:
            return
        payload = envelope.payload
        order_id = uuid.UUID(str(payload["order_id"])) if "order_id" in payload else envelope.aggregate_id
        shop = shop_of()
        with shop.unit_of_work(_READER) as uow:
            order = uow.repository(Order).get(order_id)
        keys: tuple[str, ...]
        if envelope.type == "ShipmentDispatched":
            keys = ("carrier", "tracking_number", "tracking_url", "expected_delivery", "lines")
        elif envelope.type == "PaymentReminderSent":
            keys = ("reminder",)
        else:
            keys = ("shortage",)
        notice = CustomerNotice(
            key=envelope.id,
            kind=kind,
            order_id=order.id,
            channel=order.channel,
            external_id=order.external_id,
            recipient_name=order.consignee_name,
            recipient_phone=order.consignee_phone,
            details={k: payload[k] for k in keys if k in payload},
        )
        for notifier in notifiers:
            notifier(notice)

    return deliver
