"""Shipping on the memory backend: parcels, the packing check, the channel update and customer notices.

ORD-05 (ship part or all of an allocated order from one or more warehouses,
the packing check, carrier and tracking number, delivery), the
``ShipmentDispatched`` event the channel adapters receive, and the customer
notices notifier plug-ins deliver through the outbox (shipments, payment
reminders, shortages), plus access and bad input: every refusal leaves the
order, the stock, the ledger and the shipments as they were.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from eshop_core import (
    Actor,
    EventEnvelope,
    FixedClock,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    Role,
    Shop,
    hookimpl,
)
from eshop_core.domain.inventory import MovementReason, StockLevel
from eshop_core.domain.orders import OrderState
from eshop_core.domain.shipping import ShipmentState
from eshop_core.services.notifications import NOTIFICATIONS_SUBSCRIBER, CustomerNotice
from eshop_core.services.orders import OrderView
from eshop_core.services.shipping import ShipmentView
from eshop_core.storage.ports import AuditEntry

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLACED = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)  # a Monday morning
AT = PLACED + timedelta(minutes=5)
EXPECTED = AT + timedelta(days=2)

TMALL = Actor.system("channel:tmall")
LI = Actor("li.ming", roles={Role.OPERATIONS})
WANG = Actor("wang.fang", roles={Role.CUSTOMER_SERVICE})
CHEN = Actor("chen.jie", roles={Role.LOGISTICS})
WU = Actor("wu.gang", roles={Role.WAREHOUSE})
ZHAO = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
NOBODY = Actor("guest.1")

CONSIGNEE: dict[str, str] = {
    "name": "Li Lei",
    "phone": "13800138000",
    "province": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "address": "世纪大道 100 号 1201 室",
}
PERSONAL = (CONSIGNEE["name"], CONSIGNEE["phone"], CONSIGNEE["address"])

STOCK: Mapping[tuple[str, str], int] = {
    ("MUG-BLUE", "SH-01"): 10,
    ("MUG-RED", "SH-01"): 10,
    ("GIFT-BAG", "SH-01"): 10,
}
"""Ten of each SKU in Shanghai, nothing in Beijing."""

BLUE_AND_GIFT: Sequence[tuple[str, int, str]] = (("MUG-BLUE", 2, "39.00"), ("GIFT-BAG", 1, "0.00"))
"""Two blue mugs and the free gift bag that comes with them."""


# -- set-up ----------------------------------------------------------------------------------------


def _open(clock: FixedClock, *plugins: object, stock: Mapping[tuple[str, str], int] = STOCK) -> Shop:
    shop = Shop.open("memory://", clock=clock, plugins=list(plugins))
    shop.catalog.create_product(
        LI,
        {
            "name": "Mug",
            "variants": [
                {"sku": "MUG-BLUE", "price": {"amount": "39.00", "currency": "CNY"}},
                {"sku": "MUG-RED", "price": {"amount": "39.00", "currency": "CNY"}},
            ],
        },
    )
    shop.catalog.create_product(
        LI,
        {"name": "Gift bag", "variants": [{"sku": "GIFT-BAG", "price": {"amount": "0", "currency": "CNY"}}]},
    )
    shop.inventory.open_warehouse(ZHAO, code="SH-01", name="Shanghai", priority=1)
    shop.inventory.open_warehouse(ZHAO, code="BJ-01", name="Beijing", priority=2)
    for (sku, warehouse), units in stock.items():
        _receive(shop, sku, units, warehouse)
    return shop


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AT)


@pytest.fixture
def shop(clock: FixedClock) -> Iterator[Shop]:
    """A shop with ten blue mugs, ten red mugs and ten gift bags in Shanghai; no notifier."""
    with _open(clock) as opened:
        yield opened


class _Notices:
    """A notifier plug-in that records the notices it is handed; it can be told to fail first."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts: list[CustomerNotice] = []
        self.sent: list[CustomerNotice] = []

    @hookimpl
    def eshop_register_notifiers(self, register: Callable[..., None]) -> None:
        register(self.send)

    def send(self, notice: CustomerNotice) -> None:
        self.attempts.append(notice)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the SMS gateway timed out")
        self.sent.append(notice)


# -- helpers ---------------------------------------------------------------------------------------


def _receive(shop: Shop, sku: str, units: int, warehouse: str = "SH-01") -> None:
    with shop.unit_of_work(WU) as uow:
        shop.inventory.receive_in(uow, sku, warehouse, units, reference="delivery:test")
        uow.commit()


def _channel_order(
    external_id: str = "TM-1",
    *,
    status: str = "paid",
    items: Sequence[tuple[str, int, str]] = BLUE_AND_GIFT,
    **extra: Any,
) -> dict[str, Any]:
    """A valid channel order of ``items`` (SKU, units, unit price); ``extra`` replaces top-level keys."""
    total = sum((Decimal(price) * units for _sku, units, price in items), Decimal(0))
    data: dict[str, Any] = {
        "channel": "tmall",
        "external_id": external_id,
        "status": status,
        "placed_at": PLACED.isoformat(),
        "modified_at": (PLACED + timedelta(minutes=1)).isoformat(),
        "currency": "CNY",
        "consignee": dict(CONSIGNEE),
        "lines": [{"sku": sku, "quantity": units, "unit_price": price} for sku, units, price in items],
        "total": str(total),
    }
    if status == "paid":
        data["payment"] = {"method": "alipay", "reference": "PAY-1", "paid_at": PLACED.isoformat()}
    data.update(extra)
    return data


def _allocated(shop: Shop, external_id: str = "TM-1", **kwargs: Any) -> uuid.UUID:
    result = shop.orders.ingest(TMALL, _channel_order(external_id, **kwargs))
    assert result.state is OrderState.ALLOCATED
    return result.id


def _lines(*items: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"sku": sku, "quantity": units} for sku, units in items]


def _command(
    *items: tuple[str, int], warehouse: str = "SH-01", tracking: str = "SF1001", **changes: Any
) -> dict[str, Any]:
    """A parcel of ``items`` (default: two blue mugs and the gift bag), packed exactly, address checked."""
    items = items or (("MUG-BLUE", 2), ("GIFT-BAG", 1))
    command: dict[str, Any] = {
        "warehouse": warehouse,
        "lines": _lines(*items),
        "packed": _lines(*items),
        "address_confirmed": True,
        "carrier": "SF",
        "tracking_number": tracking,
        "tracking_url": f"https://www.sf-express.com/track/{tracking}",
        "expected_delivery": EXPECTED.isoformat(),
    }
    command.update(changes)
    return command


def _level(shop: Shop, sku: str = "MUG-BLUE", warehouse: str = "SH-01") -> StockLevel:
    return shop.inventory.level(ZHAO, sku, warehouse)


def _order(shop: Shop, order_id: uuid.UUID) -> OrderView:
    return shop.orders.get(ZHAO, order_id)


def _entries(shop: Shop, aggregate_id: uuid.UUID | None = None) -> tuple[AuditEntry, ...]:
    return shop.audit.entries(ZHAO, aggregate_id=aggregate_id, limit=1000).items


def _shipped_movements(shop: Shop, order_id: uuid.UUID) -> list[tuple[str, str, int, int]]:
    return [
        (m.sku, m.warehouse, m.on_hand_delta, m.reserved_delta)
        for m in shop.inventory.movements(ZHAO, reference=f"order:{order_id}", limit=1000).items
        if m.reason is MovementReason.SHIPMENT
    ]


def _snapshot(shop: Shop, order_id: uuid.UUID) -> tuple[Any, ...]:
    """The order, the stock, the ledger, its shipments and the audit log: what a refusal must leave alone."""
    return (
        _order(shop, order_id),
        shop.inventory.levels(ZHAO, limit=1000).items,
        shop.inventory.movements(ZHAO, limit=1000).items,
        shop.shipping.shipments(ZHAO, order_id),
        len(_entries(shop)),
    )


# -- ORD-05: shipping whole and in parts ---------------------------------------------------------


def test_ord_05_an_allocated_order_ships_whole_from_one_warehouse(shop: Shop, clock: FixedClock) -> None:
    order_id = _allocated(shop)
    assert (_level(shop).on_hand, _level(shop).reserved) == (10, 2)
    clock.advance(timedelta(hours=2))

    parcel = shop.shipping.ship(CHEN, order_id, _command())

    assert isinstance(parcel, ShipmentView)
    assert (parcel.order_id, parcel.channel, parcel.external_id) == (order_id, "tmall", "TM-1")
    assert (parcel.warehouse, parcel.lines) == ("SH-01", (("GIFT-BAG", 1), ("MUG-BLUE", 2)))
    assert (parcel.carrier, parcel.tracking_number) == ("SF", "SF1001")
    assert parcel.tracking_url == "https://www.sf-express.com/track/SF1001"
    assert parcel.expected_delivery == EXPECTED
    assert (parcel.shipped_at, parcel.state, parcel.delivered_at) == (
        clock.now(),
        ShipmentState.DISPATCHED,
        None,
    )
    assert parcel.packing.items == (("GIFT-BAG", 1), ("MUG-BLUE", 2))
    assert parcel.packing.address_confirmed
    assert (parcel.packing.checked_by, parcel.packing.at) == ("chen.jie", clock.now())
    view = _order(shop, order_id)
    assert view.state is OrderState.SHIPPED
    assert [(line.sku, line.shipped, line.allocations) for line in view.lines] == [
        ("MUG-BLUE", 2, ()),
        ("GIFT-BAG", 1, ()),
    ]
    # Reserved stock left the warehouse: on hand drops, nothing stays reserved.
    assert (_level(shop).on_hand, _level(shop).reserved) == (8, 0)
    assert (_level(shop, "GIFT-BAG").on_hand, _level(shop, "GIFT-BAG").reserved) == (9, 0)
    assert (_level(shop, "MUG-RED").on_hand, _level(shop, "MUG-RED").reserved) == (10, 0)
    assert sorted(_shipped_movements(shop, order_id)) == [
        ("GIFT-BAG", "SH-01", -1, -1),
        ("MUG-BLUE", "SH-01", -2, -2),
    ]
    assert shop.shipping.shipments(CHEN, order_id) == (parcel,)
    step = view.steps[-1]
    assert (step.action, step.state, step.by, step.at) == (
        "shipped",
        OrderState.SHIPPED,
        "chen.jie",
        clock.now(),
    )


def test_ord_05_an_order_ships_in_parts_from_two_warehouses_and_is_delivered_with_its_last_parcel(
    clock: FixedClock,
) -> None:
    stock = {("MUG-BLUE", "SH-01"): 1, ("MUG-BLUE", "BJ-01"): 2, ("GIFT-BAG", "SH-01"): 5}
    with _open(clock, stock=stock) as shop:
        order_id = _allocated(shop, items=(("MUG-BLUE", 3, "39.00"), ("GIFT-BAG", 1, "0.00")))
        assert dict(_order(shop, order_id).line("MUG-BLUE").allocations) == {"SH-01": 1, "BJ-01": 2}

        clock.advance(timedelta(hours=1))
        shanghai = shop.shipping.ship(CHEN, order_id, _command(("MUG-BLUE", 1), ("GIFT-BAG", 1)))
        view = _order(shop, order_id)
        assert view.state is OrderState.PARTIALLY_SHIPPED
        assert (view.line("MUG-BLUE").shipped, dict(view.line("MUG-BLUE").allocations)) == (1, {"BJ-01": 2})
        assert (_level(shop, "MUG-BLUE", "SH-01").on_hand, _level(shop, "MUG-BLUE", "SH-01").reserved) == (
            0,
            0,
        )
        assert (_level(shop, "MUG-BLUE", "BJ-01").on_hand, _level(shop, "MUG-BLUE", "BJ-01").reserved) == (
            2,
            2,
        )

        clock.advance(timedelta(hours=1))
        beijing = shop.shipping.ship(
            CHEN, order_id, _command(("MUG-BLUE", 2), warehouse="BJ-01", tracking="YT2002", carrier="YTO")
        )
        assert _order(shop, order_id).state is OrderState.SHIPPED
        assert (_level(shop, "MUG-BLUE", "BJ-01").on_hand, _level(shop, "MUG-BLUE", "BJ-01").reserved) == (
            0,
            0,
        )
        assert sorted(_shipped_movements(shop, order_id)) == [
            ("GIFT-BAG", "SH-01", -1, -1),
            ("MUG-BLUE", "BJ-01", -2, -2),
            ("MUG-BLUE", "SH-01", -1, -1),
        ]
        assert [p.id for p in shop.shipping.shipments(ZHAO, order_id)] == [shanghai.id, beijing.id]
        assert [s.action for s in _order(shop, order_id).steps][-2:] == ["shipped_part", "shipped"]

        # The Beijing parcel arrives first: the order waits for the other one.
        clock.advance(timedelta(days=1))
        delivered = shop.shipping.deliver(CHEN, beijing.id)
        assert (delivered.state, delivered.delivered_at, delivered.on_time) == (
            ShipmentState.DELIVERED,
            clock.now(),
            True,
        )
        assert _order(shop, order_id).state is OrderState.SHIPPED

        clock.advance(timedelta(days=2))  # a day later than the carrier said
        late = shop.shipping.deliver(CHEN, shanghai.id)
        assert (late.state, late.on_time) == (ShipmentState.DELIVERED, False)
        view = _order(shop, order_id)
        assert view.state is OrderState.DELIVERED
        assert (view.steps[-1].action, view.steps[-1].at) == ("delivered", clock.now())
        assert [p.state for p in shop.shipping.shipments(ZHAO, order_id)] == [ShipmentState.DELIVERED] * 2

        with pytest.raises(InvalidTransitionError):
            shop.shipping.deliver(CHEN, shanghai.id)
        assert _order(shop, order_id).state is OrderState.DELIVERED


def test_ord_05_two_parcels_from_one_warehouse(shop: Shop, clock: FixedClock) -> None:
    order_id = _allocated(shop)
    shop.shipping.ship(CHEN, order_id, _command(("MUG-BLUE", 1), ("GIFT-BAG", 1)))
    assert _order(shop, order_id).state is OrderState.PARTIALLY_SHIPPED
    assert (_level(shop).on_hand, _level(shop).reserved) == (9, 1)
    clock.advance(timedelta(hours=3))

    shop.shipping.ship(CHEN, order_id, _command(("MUG-BLUE", 1), tracking="SF1002"))

    assert _order(shop, order_id).state is OrderState.SHIPPED
    assert (_level(shop).on_hand, _level(shop).reserved) == (8, 0)
    assert [p.tracking_number for p in shop.shipping.shipments(ZHAO, order_id)] == ["SF1001", "SF1002"]


def test_ord_05_a_tracking_number_with_spaces_is_recorded_without_them(shop: Shop) -> None:
    order_id = _allocated(shop)
    parcel = shop.shipping.ship(CHEN, order_id, _command(tracking_number=" SF 1234 5678 9012 "))
    assert parcel.tracking_number == "SF123456789012"
    entry = next(e for e in _entries(shop, parcel.id) if e.action == "ShipmentDispatched")
    assert entry.details["tracking_number"] == "SF123456789012"


def test_ord_05_a_freight_quote_is_kept_for_the_carrier_bill(shop: Shop) -> None:
    order_id = _allocated(shop)
    parcel = shop.shipping.ship(CHEN, order_id, _command(freight={"amount": "12.00", "currency": "CNY"}))
    assert parcel.freight is not None
    assert (parcel.freight.amount, parcel.freight.currency) == (Decimal("12.00"), "CNY")


# -- ORD-05: the packing check -------------------------------------------------------------------

PACKING_REFUSALS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "red mugs packed instead of the blue ones",
        {"packed": _lines(("MUG-RED", 2), ("GIFT-BAG", 1))},
        "packed",
        "MUG-RED is not on Order tmall/TM-1: a wrong item was packed",
    ),
    (
        "a red mug packed as well",
        {"packed": _lines(("MUG-BLUE", 2), ("MUG-RED", 1), ("GIFT-BAG", 1))},
        "packed",
        "MUG-RED is not on Order tmall/TM-1",
    ),
    (
        "one blue mug short in the box",
        {"packed": _lines(("MUG-BLUE", 1), ("GIFT-BAG", 1))},
        "packed",
        "MUG-BLUE",
    ),
    ("one blue mug too many", {"packed": _lines(("MUG-BLUE", 3), ("GIFT-BAG", 1))}, "packed", "MUG-BLUE"),
    ("the free gift bag left out", {"packed": _lines(("MUG-BLUE", 2))}, "packed", "GIFT-BAG"),
    (
        "the gift bag packed but not taken from the order",
        {"lines": _lines(("MUG-BLUE", 2)), "packed": _lines(("MUG-BLUE", 2), ("GIFT-BAG", 1))},
        "packed",
        "GIFT-BAG",
    ),
    ("the label's address not checked", {"address_confirmed": False}, "address_confirmed", "address"),
    ("no carrier", {"carrier": None}, "carrier", ""),
    ("an empty carrier", {"carrier": ""}, "carrier", ""),
    ("a blank carrier", {"carrier": "   "}, "carrier", "carrier"),
    ("a carrier that is no code", {"carrier": "S.F. Express!"}, "carrier", "carrier code"),
    ("no tracking number", {"tracking_number": None}, "tracking_number", ""),
    ("an empty tracking number", {"tracking_number": ""}, "tracking_number", ""),
    ("a blank tracking number", {"tracking_number": "   "}, "tracking_number", "tracking number"),
    ("a tracking number that is too short", {"tracking_number": "SF1"}, "tracking_number", "tracking number"),
    ("a naive expected delivery", {"expected_delivery": "2026-03-04T18:00:00"}, "expected_delivery", ""),
    (
        "an expected delivery in the past",
        {"expected_delivery": (AT - timedelta(hours=1)).isoformat()},
        "expected_delivery",
        "before",
    ),
    ("a negative freight", {"freight": {"amount": "-1.00", "currency": "CNY"}}, "freight", ""),
    ("zero units", {"lines": _lines(("MUG-BLUE", 0))}, "lines.0.quantity", ""),
    ("no lines", {"lines": [], "packed": []}, "lines", ""),
    ("an unknown field", {"signature": "chen"}, "signature", ""),
]


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [pytest.param(changes, field, says, id=name) for name, changes, field, says in PACKING_REFUSALS],
)
def test_ord_05_a_parcel_that_fails_the_packing_check_is_refused_and_changes_nothing(
    shop: Shop, changes: dict[str, Any], field: str, says: str
) -> None:
    order_id = _allocated(shop)
    command = _command(**changes)
    for key in [k for k, v in changes.items() if v is None]:
        del command[key]
    before = _snapshot(shop, order_id)

    with pytest.raises(InvalidInputError) as refused:
        shop.shipping.ship(CHEN, order_id, command)

    assert refused.value.field == field
    assert says in str(refused.value)
    assert _snapshot(shop, order_id) == before
    assert _order(shop, order_id).state is OrderState.ALLOCATED
    assert (_level(shop).on_hand, _level(shop).reserved) == (10, 2)


def test_ord_05_a_command_that_is_not_a_mapping_is_refused(shop: Shop) -> None:
    order_id = _allocated(shop)
    with pytest.raises(InvalidInputError) as refused:
        shop.shipping.ship(CHEN, order_id, ["SF1001"])  # type: ignore[arg-type]
    assert refused.value.field == "command"
    assert shop.shipping.shipments(ZHAO, order_id) == ()


def test_ord_05_ord_08_the_special_packaging_the_order_needs_must_be_applied(shop: Shop) -> None:
    order_id = _allocated(shop)
    shop.orders.modify(WANG, order_id, packaging=["hardcover", "fragile"])
    before = _snapshot(shop, order_id)

    with pytest.raises(InvalidInputError) as refused:
        shop.shipping.ship(CHEN, order_id, _command(packaging=["hardcover"]))
    assert refused.value.field == "packaging"
    assert "fragile" in str(refused.value)
    with pytest.raises(InvalidInputError, match="fragile, hardcover"):
        shop.shipping.ship(CHEN, order_id, _command())
    assert _snapshot(shop, order_id) == before

    parcel = shop.shipping.ship(CHEN, order_id, _command(packaging=[" Fragile", "HARDCOVER", "gift wrap"]))
    assert parcel.packing.packaging == ("fragile", "gift wrap", "hardcover")
    assert _order(shop, order_id).state is OrderState.SHIPPED


# -- ORD-05: orders that cannot ship ---------------------------------------------------------------


def _unpaid(shop: Shop) -> uuid.UUID:
    return shop.orders.ingest(TMALL, _channel_order(status="pending_payment")).id


def _held(shop: Shop) -> uuid.UUID:
    result = shop.orders.ingest(TMALL, _channel_order(consignee={**CONSIGNEE, "phone": "12345"}))
    assert result.state is OrderState.HELD
    return result.id


def _short(shop: Shop) -> uuid.UUID:
    result = shop.orders.ingest(
        TMALL, _channel_order(items=(("MUG-BLUE", 12, "39.00"), ("GIFT-BAG", 1, "0")))
    )
    assert result.state is OrderState.SHORT  # ten reserved in Shanghai: the customer has not chosen yet
    return result.id


def _cancelled(shop: Shop) -> uuid.UUID:
    order_id = _allocated(shop)
    shop.orders.cancel(WANG, order_id, reason="the customer changed their mind")
    return order_id


def _shipped(shop: Shop) -> uuid.UUID:
    order_id = _allocated(shop)
    shop.shipping.ship(CHEN, order_id, _command())
    return order_id


@pytest.mark.parametrize("setup", [_unpaid, _held, _short, _cancelled, _shipped])
def test_ord_05_an_order_that_cannot_ship_is_refused_and_changes_nothing(
    shop: Shop, setup: Callable[[Shop], uuid.UUID]
) -> None:
    order_id = setup(shop)
    before = _snapshot(shop, order_id)
    command = _command(("MUG-BLUE", 2), ("GIFT-BAG", 1))

    with pytest.raises(InvalidTransitionError) as refused:
        shop.shipping.ship(CHEN, order_id, command)

    assert "Order tmall/TM-1" in str(refused.value)
    assert _snapshot(shop, order_id) == before


def test_ord_05_more_units_than_reserved_in_that_warehouse_are_refused(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 5, "BJ-01")
    order_id = _allocated(shop)  # everything reserved in Shanghai
    before = _snapshot(shop, order_id)

    with pytest.raises(InvalidInputError) as refused:
        shop.shipping.ship(CHEN, order_id, _command(("MUG-BLUE", 3), ("GIFT-BAG", 1)))
    assert refused.value.field == "lines.MUG-BLUE"
    assert "2 of MUG-BLUE are reserved" in str(refused.value)

    with pytest.raises(InvalidInputError) as elsewhere:
        shop.shipping.ship(CHEN, order_id, _command(("MUG-BLUE", 2), warehouse="BJ-01"))
    assert elsewhere.value.field == "lines.MUG-BLUE"
    assert "0 of MUG-BLUE are reserved for this order in BJ-01" in str(elsewhere.value)

    assert _snapshot(shop, order_id) == before
    assert (_level(shop, "MUG-BLUE", "BJ-01").on_hand, _level(shop, "MUG-BLUE", "BJ-01").reserved) == (5, 0)


def test_ord_05_an_unknown_order_or_warehouse_is_not_found(shop: Shop) -> None:
    order_id = _allocated(shop)
    before = _snapshot(shop, order_id)
    with pytest.raises(NotFoundError):
        shop.shipping.ship(CHEN, uuid.uuid4(), _command())
    with pytest.raises(NotFoundError):
        shop.shipping.ship(CHEN, order_id, _command(warehouse="GZ-01"))
    with pytest.raises(InvalidInputError) as bad_id:
        shop.shipping.ship(CHEN, "order-1", _command())
    assert bad_id.value.field == "order_id"
    with pytest.raises(NotFoundError):
        shop.shipping.deliver(CHEN, uuid.uuid4())
    assert _snapshot(shop, order_id) == before


def test_ord_05_only_logistics_ships_and_records_deliveries(shop: Shop) -> None:
    order_id = _allocated(shop)
    before = _snapshot(shop, order_id)
    for actor in (WANG, WU, LI, ZHAO, NOBODY):
        with pytest.raises(PermissionDeniedError, match=r"order\.ship"):
            shop.shipping.ship(actor, order_id, _command())
    assert _snapshot(shop, order_id) == before

    parcel = shop.shipping.ship(CHEN, order_id, _command())
    for actor in (WANG, WU, NOBODY):
        with pytest.raises(PermissionDeniedError, match=r"order\.ship"):
            shop.shipping.deliver(actor, parcel.id)
    assert shop.shipping.shipments(WU, order_id)[0].state is ShipmentState.DISPATCHED
    with pytest.raises(PermissionDeniedError, match=r"order\.read"):
        shop.shipping.shipments(NOBODY, order_id)


def test_ord_05_ord_04_the_rest_of_a_partial_order_ships_once_stock_arrives(clock: FixedClock) -> None:
    """A customer who took a partial shipment gets the rest when stock arrives (ORD-04 with ORD-05)."""
    with _open(clock, stock={("MUG-BLUE", "SH-01"): 1}) as shop:
        order_id = shop.orders.ingest(TMALL, _channel_order(items=(("MUG-BLUE", 2, "39.00"),))).id
        assert _order(shop, order_id).state is OrderState.SHORT
        shop.orders.choose_partial(WANG, order_id)
        shop.shipping.ship(CHEN, order_id, _command(("MUG-BLUE", 1)))
        assert _order(shop, order_id).state is OrderState.PARTIALLY_SHIPPED

        _receive(shop, "MUG-BLUE", 5)
        shop.orders.retry_allocation(WANG)

        line = _order(shop, order_id).line("MUG-BLUE")
        assert (line.shipped, dict(line.allocations)) == (1, {"SH-01": 1}), (
            "the unit still owed is never reserved once part of the order has shipped"
        )
        shop.shipping.ship(CHEN, order_id, _command(("MUG-BLUE", 1), tracking="SF1002"))
        assert _order(shop, order_id).state is OrderState.SHIPPED


# -- ORD-05: the channel update and the customer notice --------------------------------------------


def test_ord_05_the_shipment_dispatched_event_carries_the_tracking_details_and_no_personal_data(
    shop: Shop, clock: FixedClock
) -> None:
    order_id = _allocated(shop)
    parcel = shop.shipping.ship(CHEN, order_id, _command())

    entries = [e for e in _entries(shop, parcel.id) if e.action == "ShipmentDispatched"]
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor_id, entry.occurred_at, entry.aggregate_type) == ("chen.jie", clock.now(), "Shipment")
    details = entry.details
    assert (details["order_id"], details["channel"], details["external_id"]) == (
        str(order_id),
        "tmall",
        "TM-1",
    )
    assert (details["warehouse"], details["carrier"], details["tracking_number"]) == ("SH-01", "SF", "SF1001")
    assert details["tracking_url"] == "https://www.sf-express.com/track/SF1001"
    assert datetime.fromisoformat(details["expected_delivery"]) == EXPECTED
    assert details["lines"] == {"MUG-BLUE": 2, "GIFT-BAG": 1}
    assert details["complete"] is True
    text = repr(details)
    assert not [value for value in PERSONAL if value in text]
    # The order's own entry records what left, without the parcel's or the consignee's details.
    shipped = [e for e in _entries(shop, order_id) if e.action == "OrderShipped"]
    assert [(e.details["warehouse"], e.details["complete"]) for e in shipped] == [("SH-01", True)]
    assert not [value for value in PERSONAL if value in repr(shipped[0].details)]


def test_ord_05_the_channel_adapters_receive_the_shipment_after_it_commits(clock: FixedClock) -> None:
    pushed: list[EventEnvelope] = []

    class TmallPush:
        eshop_plugin_name = "tmall-push"

        @hookimpl
        def eshop_event(self, envelope: EventEnvelope) -> None:
            if envelope.type == "ShipmentDispatched":
                pushed.append(envelope)

    with _open(clock, TmallPush()) as shop:
        order_id = _allocated(shop)
        parcel = shop.shipping.ship(CHEN, order_id, _command(tracking_number="SF 2002 3003"))
        assert pushed == []  # nothing leaves before the outbox delivers
        shop.outbox.deliver(limit=1000)

    assert [e.aggregate_id for e in pushed] == [parcel.id]
    payload = pushed[0].payload
    assert (payload["channel"], payload["external_id"]) == ("tmall", "TM-1")
    assert (payload["carrier"], payload["tracking_number"]) == ("SF", "SF20023003")
    assert payload["tracking_url"] == "https://www.sf-express.com/track/SF1001"
    assert datetime.fromisoformat(payload["expected_delivery"]) == EXPECTED


def test_ord_05_a_notifier_tells_the_consignee_the_tracking_details(clock: FixedClock) -> None:
    notices = _Notices()
    with _open(clock, notices) as shop:
        assert NOTIFICATIONS_SUBSCRIBER in shop.outbox.subscribers
        order_id = _allocated(shop)
        parcel = shop.shipping.ship(CHEN, order_id, _command(tracking_number="SF 1234 5678 9012"))
        assert notices.attempts == []  # notices go out after the commit, through the outbox
        report = shop.outbox.deliver(limit=1000)
        assert (report.retried, report.dead_lettered) == (0, 0)
        event = next(e for e in _entries(shop, parcel.id) if e.action == "ShipmentDispatched")

    assert len(notices.sent) == 1
    notice = notices.sent[0]
    assert (notice.kind, notice.key, notice.order_id) == ("shipment_dispatched", event.event_id, order_id)
    assert (notice.channel, notice.external_id) == ("tmall", "TM-1")
    assert (notice.recipient_name, notice.recipient_phone) == ("Li Lei", "13800138000")
    assert (notice.details["carrier"], notice.details["tracking_number"]) == ("SF", "SF123456789012")
    assert notice.details["tracking_url"] == "https://www.sf-express.com/track/SF1001"
    assert datetime.fromisoformat(notice.details["expected_delivery"]) == EXPECTED
    assert notice.details["lines"] == {"MUG-BLUE": 2, "GIFT-BAG": 1}


def test_ord_05_a_notice_is_retried_when_the_notifier_fails_once(clock: FixedClock) -> None:
    notices = _Notices(failures=1)
    with _open(clock, notices) as shop:
        order_id = _allocated(shop)
        shop.shipping.ship(CHEN, order_id, _command())

        first = shop.outbox.deliver(limit=1000)
        assert (first.retried, first.dead_lettered) == (1, 0)
        assert (len(notices.attempts), notices.sent) == (1, [])
        assert shop.outbox.deliver(limit=1000).attempted == 0  # the retry waits for its backoff

        clock.advance(timedelta(minutes=1))
        second = shop.outbox.deliver(limit=1000)
        assert (second.delivered, second.retried, second.dead_lettered) == (1, 0, 0)

    assert [n.kind for n in notices.sent] == ["shipment_dispatched"]
    assert [n.key for n in notices.attempts] == [notices.sent[0].key] * 2  # the same notice, sent once


def test_ord_07_ord_04_payment_reminders_and_shortages_become_notices(clock: FixedClock) -> None:
    notices = _Notices()
    with _open(clock, notices, stock={("MUG-RED", "SH-01"): 1}) as shop:
        unpaid = shop.orders.ingest(TMALL, _channel_order("TM-1", status="pending_payment")).id
        short = shop.orders.ingest(
            TMALL,
            _channel_order(
                "TM-2", items=(("MUG-RED", 3, "39.00"),), consignee={**CONSIGNEE, "phone": "13900139000"}
            ),
        )
        assert short.state is OrderState.SHORT
        clock.advance(timedelta(minutes=30))
        assert len(shop.run_due().fired) == 1
        shop.outbox.deliver(limit=1000)

    by_kind = {n.kind: n for n in notices.sent}
    assert sorted(by_kind) == ["payment_reminder", "stock_short"]
    reminder = by_kind["payment_reminder"]
    assert (reminder.order_id, reminder.external_id, reminder.details) == (unpaid, "TM-1", {"reminder": 1})
    assert (reminder.recipient_name, reminder.recipient_phone) == ("Li Lei", "13800138000")
    shortage = by_kind["stock_short"]
    assert (shortage.order_id, shortage.details) == (short.id, {"shortage": {"MUG-RED": 2}})
    assert shortage.recipient_phone == "13900139000"


def test_ord_05_without_a_notifier_there_is_no_notification_subscriber(shop: Shop) -> None:
    assert NOTIFICATIONS_SUBSCRIBER not in shop.outbox.subscribers
    order_id = _allocated(shop)
    shop.shipping.ship(CHEN, order_id, _command())
    report = shop.outbox.deliver(limit=1000)
    assert (report.retried, report.dead_lettered) == (0, 0)
    assert _order(shop, order_id).state is OrderState.SHIPPED


def test_ord_05_log_02_a_tracking_number_the_carrier_used_already_is_refused(shop: Shop) -> None:
    first = _allocated(shop, "TM-1")
    shop.shipping.ship(CHEN, first, _command(("MUG-BLUE", 1), tracking="SF1001"))
    before = _snapshot(shop, first)
    with pytest.raises(InvalidInputError) as refused:
        shop.shipping.ship(CHEN, first, _command(("MUG-BLUE", 1), tracking="SF 1001"))
    assert refused.value.field == "tracking_number"
    assert "SF1001 is on another parcel of SF already" in str(refused.value)
    assert _snapshot(shop, first) == before


def test_ord_05_freight_must_be_in_whole_minor_units_and_in_the_carriers_currency(shop: Shop) -> None:
    order_id = _allocated(shop)
    shop.logistics.register_carrier(CHEN, code="SF", name="SF Express", currency="CNY")
    before = _snapshot(shop, order_id)
    with pytest.raises(InvalidInputError) as fine:
        shop.shipping.ship(CHEN, order_id, _command(freight={"amount": "12.345", "currency": "CNY"}))
    assert fine.value.field == "freight"
    with pytest.raises(InvalidInputError) as foreign:
        shop.shipping.ship(CHEN, order_id, _command(freight={"amount": "3.00", "currency": "USD"}))
    assert (foreign.value.field, "must be in CNY" in str(foreign.value)) == ("freight", True)
    assert _snapshot(shop, order_id) == before
