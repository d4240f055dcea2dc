"""Order changes on the memory backend: the timeline, changes before shipment, cancellation and the export.

ORD-06 (every state change of an order as a timeline, with who and when and
no personal data), ORD-08 (consignee, address, note, special packaging and
items changed before shipment; cancellation releases the stock), ORD-09 (the
sales export, personal data masked for readers without
``personal_data.read``), plus access and bad input: every refusal leaves the
order, the stock, the ledger and the audit log as they were.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from eshop_core import (
    Actor,
    FixedClock,
    InvalidInputError,
    InvalidTransitionError,
    Money,
    NotFoundError,
    PermissionDeniedError,
    Role,
    Shop,
    hookimpl,
)
from eshop_core.domain.inventory import MovementReason, StockLevel
from eshop_core.domain.orders import OrderState
from eshop_core.services.notifications import CustomerNotice
from eshop_core.services.orders import EXPORT_COLUMNS, OrderView
from eshop_core.storage.ports import AuditEntry

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLACED = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)  # a Monday morning
AT = PLACED + timedelta(minutes=5)

TMALL = Actor.system("channel:tmall")
LI = Actor("li.ming", roles={Role.OPERATIONS})
WANG = Actor("wang.fang", roles={Role.CUSTOMER_SERVICE})
CHEN = Actor("chen.jie", roles={Role.LOGISTICS})
WU = Actor("wu.gang", roles={Role.WAREHOUSE})
ZHAO = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
SUN = Actor("sun.li", roles={Role.DATA_ANALYST})
QIAN = Actor("qian.yu", roles={Role.FINANCE})
NOBODY = Actor("guest.1")

CONSIGNEE: dict[str, str] = {
    "name": "Li Lei",
    "phone": "13800138000",
    "province": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "address": "世纪大道 100 号 1201 室",
}
NEW_ADDRESS = "张江路 8 号 2 栋 301"
NEW_NOTE = "请下午送到前台"
PERSONAL = (CONSIGNEE["name"], CONSIGNEE["phone"], CONSIGNEE["address"], "Han Meimei", "13900139000")

BLUE_AND_GIFT: Sequence[tuple[str, int, str]] = (("MUG-BLUE", 2, "39.00"), ("GIFT-BAG", 1, "0.00"))
"""Two blue mugs and the free gift bag that comes with them."""


# -- set-up ----------------------------------------------------------------------------------------


def _open(clock: FixedClock, *plugins: object, stock: int = 10) -> Shop:
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
    if stock:
        for sku in ("MUG-BLUE", "MUG-RED", "GIFT-BAG"):
            with shop.unit_of_work(WU) as uow:
                shop.inventory.receive_in(uow, sku, "SH-01", stock, reference="delivery:test")
                uow.commit()
    return shop


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AT)


@pytest.fixture
def shop(clock: FixedClock) -> Iterator[Shop]:
    """A shop with ten blue mugs, ten red mugs and ten gift bags in Shanghai."""
    with _open(clock) as opened:
        yield opened


# -- helpers ---------------------------------------------------------------------------------------


def _channel_order(
    external_id: str = "TM-1",
    *,
    status: str = "paid",
    placed: datetime = PLACED,
    modified: datetime | None = None,
    items: Sequence[tuple[str, int, str]] = BLUE_AND_GIFT,
    shipping_fee: str = "10.00",
    discount: str = "0",
    method: str = "alipay",
    **extra: Any,
) -> dict[str, Any]:
    """A valid channel order of ``items`` (SKU, units, unit price) with shipping; ``extra`` replaces keys."""
    lines = sum((Decimal(price) * units for _sku, units, price in items), Decimal(0))
    data: dict[str, Any] = {
        "channel": "tmall",
        "external_id": external_id,
        "status": status,
        "placed_at": placed.isoformat(),
        "modified_at": (modified or placed + timedelta(minutes=1)).isoformat(),
        "currency": "CNY",
        "consignee": dict(CONSIGNEE),
        "lines": [{"sku": sku, "quantity": units, "unit_price": price} for sku, units, price in items],
        "shipping_fee": shipping_fee,
        "discount": discount,
        "total": str(lines + Decimal(shipping_fee) - Decimal(discount)),
    }
    if status == "paid":
        data["payment"] = {"method": method, "reference": "PAY-1", "paid_at": placed.isoformat()}
    data.update(extra)
    return data


def _allocated(shop: Shop, external_id: str = "TM-1", **kwargs: Any) -> uuid.UUID:
    result = shop.orders.ingest(TMALL, _channel_order(external_id, **kwargs))
    assert result.state is OrderState.ALLOCATED
    return result.id


def _ship(shop: Shop, order_id: uuid.UUID, *items: tuple[str, int], tracking: str = "SF1001") -> uuid.UUID:
    lines = [{"sku": sku, "quantity": units} for sku, units in items]
    command = {
        "warehouse": "SH-01",
        "lines": lines,
        "packed": lines,
        "address_confirmed": True,
        "carrier": "SF",
        "tracking_number": tracking,
    }
    return shop.shipping.ship(CHEN, order_id, command).id


def _level(shop: Shop, sku: str = "MUG-BLUE") -> StockLevel:
    return shop.inventory.level(ZHAO, sku, "SH-01")


def _order(shop: Shop, order_id: uuid.UUID) -> OrderView:
    return shop.orders.get(ZHAO, order_id)


def _entries(shop: Shop, aggregate_id: uuid.UUID | None = None) -> tuple[AuditEntry, ...]:
    return shop.audit.entries(ZHAO, aggregate_id=aggregate_id, limit=1000).items


def _ledger(shop: Shop, order_id: uuid.UUID) -> list[tuple[MovementReason, str, int, int]]:
    """The order's ledger lines: reason, SKU, on-hand and reserved change."""
    return [
        (m.reason, m.sku, m.on_hand_delta, m.reserved_delta)
        for m in shop.inventory.movements(ZHAO, reference=f"order:{order_id}", limit=1000).items
    ]


def _snapshot(shop: Shop) -> tuple[Any, ...]:
    """Orders, stock, the ledger and the audit log: what a refusal must leave alone."""
    return (
        shop.orders.orders(ZHAO, limit=1000).items,
        shop.inventory.levels(ZHAO, limit=1000).items,
        shop.inventory.movements(ZHAO, limit=1000).items,
        len(_entries(shop)),
    )


def _lines(*items: tuple[str, int, str]) -> list[dict[str, Any]]:
    return [{"sku": sku, "quantity": units, "unit_price": price} for sku, units, price in items]


# -- ORD-06: the timeline --------------------------------------------------------------------------


def test_ord_06_the_timeline_lists_every_state_change_with_who_and_when(
    shop: Shop, clock: FixedClock
) -> None:
    t_received = clock.now()
    order_id = shop.orders.ingest(TMALL, _channel_order(status="pending_payment")).id
    t_paid = clock.advance(timedelta(minutes=10))
    paid = _channel_order(modified=PLACED + timedelta(minutes=14))
    shop.orders.ingest(TMALL, paid)
    t_modified = clock.advance(timedelta(minutes=20))
    shop.orders.modify(
        WANG, order_id, address=NEW_ADDRESS, consignee_phone="13900139000", buyer_note=NEW_NOTE
    )
    t_part = clock.advance(timedelta(hours=1))
    first = _ship(shop, order_id, ("MUG-BLUE", 1), ("GIFT-BAG", 1))
    t_rest = clock.advance(timedelta(hours=1))
    second = _ship(shop, order_id, ("MUG-BLUE", 1), tracking="SF1002")
    clock.advance(timedelta(days=1))
    shop.shipping.deliver(CHEN, first)
    t_delivered = clock.advance(timedelta(hours=5))
    shop.shipping.deliver(CHEN, second)

    steps = shop.orders.timeline(WU, order_id)

    S = OrderState
    assert [(s.action, s.state, s.by, s.at) for s in steps] == [
        ("received", S.PENDING_PAYMENT, "system:channel:tmall", t_received),
        ("revised", S.PENDING_PAYMENT, "system:channel:tmall", t_paid),
        ("paid", S.PAID, "system:channel:tmall", t_paid),
        ("audited", S.AUDITED, "system:orders", t_paid),
        ("confirmed", S.CONFIRMED, "system:orders", t_paid),
        ("allocated", S.ALLOCATED, "system:orders", t_paid),
        ("modified", S.ALLOCATED, "wang.fang", t_modified),
        ("shipped_part", S.PARTIALLY_SHIPPED, "chen.jie", t_part),
        ("shipped", S.SHIPPED, "chen.jie", t_rest),
        ("delivered", S.DELIVERED, "chen.jie", t_delivered),
    ]
    assert steps[6].note == "address, consignee_phone, buyer_note"
    assert steps == shop.orders.timeline(CHEN, order_id) == shop.orders.timeline(WANG, order_id)
    notes = " ".join(s.note or "" for s in steps)
    assert not [value for value in (*PERSONAL, NEW_ADDRESS, NEW_NOTE) if value in notes]


def test_ord_06_held_released_and_cancelled_orders_show_why_without_personal_data(
    shop: Shop, clock: FixedClock
) -> None:
    held = shop.orders.ingest(TMALL, _channel_order(consignee={**CONSIGNEE, "phone": "12345"}))
    assert held.state is OrderState.HELD
    clock.advance(timedelta(minutes=5))
    shop.orders.release(WANG, held.id, note="called the customer, number corrected")
    clock.advance(timedelta(minutes=5))
    shop.orders.cancel(WANG, held.id, reason="the customer cancelled on the phone")

    steps = shop.orders.timeline(LI, held.id)

    assert [(s.action, s.state) for s in steps][-3:] == [
        ("held", OrderState.HELD),
        ("released", OrderState.AUDITED),
        ("cancelled", OrderState.CANCELLED),
    ]
    assert steps[-3].note is not None
    assert steps[-3].note.startswith("phone:")
    assert (steps[-2].by, steps[-2].note) == ("wang.fang", "called the customer, number corrected")
    assert (steps[-1].by, steps[-1].at, steps[-1].note) == (
        "wang.fang",
        clock.now(),
        "the customer cancelled on the phone",
    )
    notes = " ".join(s.note or "" for s in steps)
    assert not [value for value in (*PERSONAL, "12345") if value in notes]


def test_ord_06_the_timeline_needs_order_read_and_a_known_order(shop: Shop) -> None:
    order_id = _allocated(shop)
    with pytest.raises(PermissionDeniedError, match=r"order\.read"):
        shop.orders.timeline(NOBODY, order_id)
    with pytest.raises(NotFoundError):
        shop.orders.timeline(WANG, uuid.uuid4())
    with pytest.raises(InvalidInputError) as bad:
        shop.orders.timeline(WANG, "TM-1")
    assert bad.value.field == "order_id"


# -- ORD-08: consignee, address, note and packaging ------------------------------------------------


class _Notices:
    """A notifier plug-in that records the notices it is handed."""

    def __init__(self) -> None:
        self.sent: list[CustomerNotice] = []

    @hookimpl
    def eshop_register_notifiers(self, register: Callable[..., None]) -> None:
        register(self.sent.append)


def test_ord_08_customer_service_changes_consignee_address_note_and_packaging_before_shipment(
    clock: FixedClock,
) -> None:
    notices = _Notices()
    with _open(clock, notices) as shop:
        order_id = _allocated(shop)
        ledger = shop.inventory.movements(ZHAO, limit=1000).items
        clock.advance(timedelta(minutes=10))

        view = shop.orders.modify(
            WANG,
            order_id,
            consignee_name="Han Meimei",
            consignee_phone="13900139000",
            district="",
            address=f"  {NEW_ADDRESS} ",
            buyer_note=NEW_NOTE,
            packaging=["Fragile", "hardcover", "fragile"],
        )

        assert view.state is OrderState.ALLOCATED
        assert (view.consignee_name, view.consignee_phone) == ("Han Meimei", "13900139000")
        assert (view.province, view.city, view.district, view.address) == (
            "上海市",
            "上海市",
            "",
            NEW_ADDRESS,
        )
        assert view.buyer_note == NEW_NOTE
        assert _order(shop, order_id) == view
        # Nothing about the stock changed.
        assert (_level(shop).reserved, shop.inventory.movements(ZHAO, limit=1000).items) == (2, ledger)
        entry = _entries(shop, order_id)[-1]
        changed = ["consignee_name", "consignee_phone", "district", "address", "buyer_note", "packaging"]
        assert (entry.action, entry.actor_id, entry.details) == (
            "OrderModified",
            "wang.fang",
            {"changed": changed},
        )
        step = view.steps[-1]
        assert (step.action, step.by, step.at, step.note) == (
            "modified",
            "wang.fang",
            clock.now(),
            ", ".join(changed),
        )
        assert not [
            v for v in ("Han Meimei", "13900139000", NEW_ADDRESS, NEW_NOTE) if v in repr(entry.details)
        ]

        # A reader without personal_data.read sees the change masked.
        masked = shop.orders.get(LI, order_id)
        assert (masked.consignee_name, masked.consignee_phone, masked.address, masked.buyer_note) == (
            "***",
        ) * 4

        # The parcel goes out in the packaging asked for, and the new consignee is told.
        lines = [{"sku": "MUG-BLUE", "quantity": 2}, {"sku": "GIFT-BAG", "quantity": 1}]
        command = {
            "warehouse": "SH-01",
            "lines": lines,
            "packed": lines,
            "address_confirmed": True,
            "carrier": "SF",
            "tracking_number": "SF1001",
            "packaging": ["fragile", "hardcover"],
        }
        shop.shipping.ship(CHEN, order_id, command)
        shop.outbox.deliver(limit=1000)

    assert [(n.kind, n.recipient_name, n.recipient_phone) for n in notices.sent] == [
        ("shipment_dispatched", "Han Meimei", "13900139000")
    ]


def test_ord_08_modifying_to_the_same_values_records_no_change(shop: Shop) -> None:
    order_id = _allocated(shop)
    entries = len(_entries(shop, order_id))
    view = shop.orders.modify(WANG, order_id, address=CONSIGNEE["address"], consignee_name=CONSIGNEE["name"])
    assert view.steps[-1].action == "allocated"
    assert len(_entries(shop, order_id)) == entries


def test_ord_08_the_special_packaging_an_order_needs_can_be_read_by_the_packer(shop: Shop) -> None:
    order_id = _allocated(shop)
    shop.orders.modify(WANG, order_id, packaging=["hardcover", "Fragile"])
    view = shop.orders.get(CHEN, order_id)
    assert getattr(view, "packaging", None) == ("fragile", "hardcover"), (
        "the order view does not show the special packaging the packing check demands"
    )


def _partly_shipped(shop: Shop) -> uuid.UUID:
    order_id = _allocated(shop)
    _ship(shop, order_id, ("MUG-BLUE", 1))
    return order_id


def _fully_shipped(shop: Shop) -> uuid.UUID:
    order_id = _allocated(shop)
    _ship(shop, order_id, ("MUG-BLUE", 2), ("GIFT-BAG", 1))
    return order_id


def _cancelled(shop: Shop) -> uuid.UUID:
    order_id = _allocated(shop)
    shop.orders.cancel(WANG, order_id, reason="the customer changed their mind")
    return order_id


@pytest.mark.parametrize("setup", [_partly_shipped, _fully_shipped, _cancelled])
def test_ord_08_nothing_is_modified_once_something_shipped_or_the_order_is_cancelled(
    shop: Shop, setup: Callable[[Shop], uuid.UUID]
) -> None:
    order_id = setup(shop)
    before = _snapshot(shop)

    with pytest.raises(InvalidTransitionError):
        shop.orders.modify(WANG, order_id, address=NEW_ADDRESS)
    with pytest.raises(InvalidTransitionError):
        shop.orders.modify(WANG, order_id, packaging=["fragile"])
    with pytest.raises(InvalidTransitionError):
        shop.orders.change_items(WANG, order_id, _lines(("MUG-RED", 1, "39.00")))
    with pytest.raises(InvalidTransitionError):
        shop.orders.cancel(WANG, order_id, reason="too late")

    assert _snapshot(shop) == before
    assert _order(shop, order_id).address == CONSIGNEE["address"]


@pytest.mark.parametrize("field", ["total", "state", "lines", "payment_method", "external_id", "province "])
def test_ord_08_a_field_that_cannot_be_modified_is_refused_and_changes_nothing(
    shop: Shop, field: str
) -> None:
    order_id = _allocated(shop)
    before = _snapshot(shop)

    with pytest.raises(InvalidInputError) as refused:
        shop.orders.modify(WANG, order_id, address=NEW_ADDRESS, **{field: "1.00"})

    assert refused.value.field == field
    assert "consignee_name" in str(refused.value)  # it lists what may be modified
    assert _snapshot(shop) == before
    assert _order(shop, order_id).address == CONSIGNEE["address"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"packaging": "fragile"}, "packaging"),
        ({"packaging": ["fragile", ""]}, "packaging"),
        ({"packaging": ["x" * 65]}, "packaging"),
        ({"consignee_name": ""}, "consignee_name"),
        ({"consignee_phone": None}, "consignee_phone"),
        ({"address": 100}, "address"),
        ({"address": "路" * 501}, "address"),
        ({"buyer_note": ["no"]}, "buyer_note"),
        ({"address": NEW_ADDRESS, "city": "   "}, "city"),
        ({}, "changes"),
    ],
)
def test_ord_08_a_bad_value_is_refused_and_changes_nothing(
    shop: Shop, changes: dict[str, Any], field: str
) -> None:
    order_id = _allocated(shop)
    before = _snapshot(shop)
    with pytest.raises(InvalidInputError) as refused:
        shop.orders.modify(WANG, order_id, **changes)
    assert refused.value.field == field
    assert _snapshot(shop) == before


# -- ORD-08: items ---------------------------------------------------------------------------------


def test_ord_08_changing_the_items_releases_the_old_reservations_and_reserves_the_new(
    shop: Shop, clock: FixedClock
) -> None:
    order_id = _allocated(shop)
    assert _order(shop, order_id).total == Money.of("88.00", "CNY")  # 2 x 39 + the free bag + 10 shipping
    clock.advance(timedelta(minutes=30))

    view = shop.orders.change_items(
        WANG,
        order_id,
        [
            {"sku": "MUG-RED", "quantity": 3, "unit_price": "39.00"},
            {"sku": "MUG-BLUE", "quantity": 1, "unit_price": "39.00", "discount": "5.00"},
            {"sku": "GIFT-BAG", "quantity": 1, "unit_price": "0"},
        ],
    )

    assert view.state is OrderState.ALLOCATED
    assert view.total == Money.of("161.00", "CNY")  # 117 + 34 + 0 + 10 shipping
    assert [(line.sku, line.quantity, line.allocations, line.shipped) for line in view.lines] == [
        ("MUG-RED", 3, (("SH-01", 3),), 0),
        ("MUG-BLUE", 1, (("SH-01", 1),), 0),
        ("GIFT-BAG", 1, (("SH-01", 1),), 0),
    ]
    # Stock totals are exact: nothing left the warehouse, only the reservations moved.
    assert [
        (_level(shop, sku).on_hand, _level(shop, sku).reserved) for sku in ("MUG-BLUE", "MUG-RED", "GIFT-BAG")
    ] == [
        (10, 1),
        (10, 3),
        (10, 1),
    ]
    R = MovementReason
    assert sorted(_ledger(shop, order_id)[2:]) == sorted(
        [
            (R.RELEASE, "MUG-BLUE", 0, -2),
            (R.RELEASE, "GIFT-BAG", 0, -1),
            (R.RESERVATION, "MUG-RED", 0, 3),
            (R.RESERVATION, "MUG-BLUE", 0, 1),
            (R.RESERVATION, "GIFT-BAG", 0, 1),
        ]
    )
    actions = [e.action for e in _entries(shop, order_id)]
    assert actions[-2:] == ["OrderModified", "OrderAllocated"]
    assert _entries(shop, order_id)[-2].details == {"changed": ["lines", "total"]}
    assert [(s.action, s.by) for s in view.steps][-2:] == [
        ("items_modified", "wang.fang"),
        ("allocated", "wang.fang"),
    ]

    # The parcel is checked against the new items.
    with pytest.raises(InvalidInputError) as refused:
        _ship(shop, order_id, ("MUG-BLUE", 2), ("GIFT-BAG", 1))
    assert refused.value.field == "lines.MUG-BLUE"
    _ship(shop, order_id, ("MUG-RED", 3), ("MUG-BLUE", 1), ("GIFT-BAG", 1))
    assert _order(shop, order_id).state is OrderState.SHIPPED


def test_ord_08_changing_the_items_of_an_unpaid_order_reserves_nothing(shop: Shop) -> None:
    order_id = shop.orders.ingest(TMALL, _channel_order(status="pending_payment")).id
    view = shop.orders.change_items(WANG, order_id, _lines(("MUG-RED", 1, "45.00")))
    assert view.state is OrderState.PENDING_PAYMENT
    assert view.total == Money.of("55.00", "CNY")
    assert [(line.sku, line.quantity, line.allocations) for line in view.lines] == [("MUG-RED", 1, ())]
    assert (_level(shop, "MUG-RED").reserved, _ledger(shop, order_id)) == (0, [])


def test_ord_08_new_items_beyond_the_stock_make_the_order_short(shop: Shop) -> None:
    order_id = _allocated(shop)
    view = shop.orders.change_items(WANG, order_id, _lines(("MUG-RED", 12, "39.00")))
    assert view.state is OrderState.SHORT
    assert dict(view.line("MUG-RED").allocations) == {"SH-01": 10}
    assert [(_level(shop, sku).reserved) for sku in ("MUG-BLUE", "GIFT-BAG", "MUG-RED")] == [0, 0, 10]


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ({"sku": "MUG-RED", "quantity": 1, "unit_price": "39.00"}, "lines"),
        ("MUG-RED", "lines"),
        (_lines(("MUG-RED", 0, "39.00")), "lines.0"),
        (_lines(("MUG-BLUE", 1, "39.00"), ("MUG-RED", -1, "39.00")), "lines.1"),
        (_lines(("MUG-RED", 1, "-1.00")), "lines.0"),
        (_lines(("MUG-RED", 1, "39.001")), "lines.0"),
        ([{"sku": "MUG-RED", "quantity": 1, "unit_price": 39.0}], "lines.0"),
        ([{"sku": "MUG-RED", "quantity": 1}], "lines.0"),
        ([{"sku": "MUG RED", "quantity": 1, "unit_price": "39.00"}], "lines.0"),
    ],
)
def test_ord_08_bad_items_are_refused_and_change_nothing(shop: Shop, lines: Any, field: str) -> None:
    order_id = _allocated(shop)
    before = _snapshot(shop)
    with pytest.raises(InvalidInputError) as refused:
        shop.orders.change_items(WANG, order_id, lines)
    assert refused.value.field == field
    assert _snapshot(shop) == before


def test_ord_08_an_unknown_sku_is_not_found_and_changes_nothing(shop: Shop) -> None:
    order_id = _allocated(shop)
    before = _snapshot(shop)
    with pytest.raises(NotFoundError, match="MUG-GREEN"):
        shop.orders.change_items(WANG, order_id, _lines(("MUG-RED", 1, "39.00"), ("MUG-GREEN", 1, "39.00")))
    assert _snapshot(shop) == before


def test_ord_08_a_line_discount_above_the_line_amount_is_refused(shop: Shop) -> None:
    order_id = _allocated(shop)
    before = _snapshot(shop)
    with pytest.raises(InvalidInputError) as refused:
        shop.orders.change_items(
            WANG, order_id, [{"sku": "MUG-RED", "quantity": 1, "unit_price": "10.00", "discount": "50.00"}]
        )
    assert refused.value.field.startswith("lines.0")
    assert _snapshot(shop) == before
    assert _order(shop, order_id).total == Money.of("88.00", "CNY")


def test_ord_08_the_same_sku_on_two_new_lines_is_refused_naming_the_lines(shop: Shop) -> None:
    order_id = _allocated(shop)
    before = _snapshot(shop)
    twice = _lines(("MUG-RED", 1, "39.00"), ("MUG-RED", 2, "35.00"))
    with pytest.raises(InvalidInputError) as refused:
        shop.orders.change_items(WANG, order_id, twice)
    assert _snapshot(shop) == before
    assert refused.value.field.startswith("lines"), (
        f"the refusal names {refused.value.field!r}, not the lines"
    )


# -- ORD-08: cancellation --------------------------------------------------------------------------


def test_ord_08_cancelling_releases_every_reservation(shop: Shop, clock: FixedClock) -> None:
    order_id = _allocated(shop)
    clock.advance(timedelta(minutes=15))

    view = shop.orders.cancel(WANG, order_id, reason="the customer changed their mind")

    assert (view.state, view.cancel_reason) == (OrderState.CANCELLED, "the customer changed their mind")
    assert [line.allocations for line in view.lines] == [(), ()]
    assert [(_level(shop, sku).on_hand, _level(shop, sku).reserved) for sku in ("MUG-BLUE", "GIFT-BAG")] == [
        (10, 0),
        (10, 0),
    ]
    assert sorted(m for m in _ledger(shop, order_id) if m[0] is MovementReason.RELEASE) == [
        (MovementReason.RELEASE, "GIFT-BAG", 0, -1),
        (MovementReason.RELEASE, "MUG-BLUE", 0, -2),
    ]
    entry = _entries(shop, order_id)[-1]
    assert (entry.action, entry.actor_id, entry.details["reason"]) == (
        "OrderCancelled",
        "wang.fang",
        "the customer changed their mind",
    )
    assert entry.details["released"] == {"MUG-BLUE": [["SH-01", 2]], "GIFT-BAG": [["SH-01", 1]]}
    assert (view.steps[-1].action, view.steps[-1].at) == ("cancelled", clock.now())


def test_ord_08_cancelling_a_short_order_releases_what_it_had(shop: Shop) -> None:
    order_id = shop.orders.ingest(TMALL, _channel_order(items=(("MUG-RED", 12, "39.00"),))).id
    assert _level(shop, "MUG-RED").reserved == 10
    shop.orders.cancel(WANG, order_id, reason="the customer will not wait")
    assert (_level(shop, "MUG-RED").on_hand, _level(shop, "MUG-RED").reserved) == (10, 0)


def test_ord_08_a_cancelled_unpaid_order_gets_no_payment_reminder(shop: Shop, clock: FixedClock) -> None:
    order_id = shop.orders.ingest(TMALL, _channel_order(status="pending_payment")).id
    shop.orders.cancel(WANG, order_id, reason="the customer cancelled")
    clock.advance(timedelta(hours=1))
    assert shop.run_due().fired == ()
    assert _order(shop, order_id).reminders_sent == 0


def test_ord_08_a_cancellation_needs_a_reason(shop: Shop) -> None:
    order_id = _allocated(shop)
    before = _snapshot(shop)
    for reason in ("", "   "):
        with pytest.raises(InvalidInputError) as refused:
            shop.orders.cancel(WANG, order_id, reason=reason)
        assert refused.value.field == "reason"
    assert _snapshot(shop) == before


def test_ord_08_logistics_and_the_warehouse_neither_cancel_nor_change_orders(shop: Shop) -> None:
    order_id = _allocated(shop)
    before = _snapshot(shop)
    for actor in (CHEN, WU, SUN):
        with pytest.raises(PermissionDeniedError, match=r"order\.cancel"):
            shop.orders.cancel(actor, order_id, reason="out of stock")
        with pytest.raises(PermissionDeniedError, match=r"order\.edit"):
            shop.orders.modify(actor, order_id, address=NEW_ADDRESS)
        with pytest.raises(PermissionDeniedError, match=r"order\.edit"):
            shop.orders.change_items(actor, order_id, _lines(("MUG-RED", 1, "39.00")))
    assert _snapshot(shop) == before
    # Operations and department managers may.
    shop.orders.modify(LI, order_id, buyer_note=NEW_NOTE)
    assert shop.orders.cancel(ZHAO, order_id, reason="duplicate order").state is OrderState.CANCELLED


# -- ORD-09: the sales export ----------------------------------------------------------------------


@pytest.fixture
def sales(shop: Shop, clock: FixedClock) -> Shop:
    """Three orders: paid (alipay), unpaid an hour later, and paid the next day (wechat, with a discount)."""
    clock.set(PLACED + timedelta(days=2))
    shop.orders.ingest(TMALL, _channel_order("TM-1"))
    shop.orders.ingest(
        TMALL,
        _channel_order(
            "TM-2",
            status="pending_payment",
            placed=PLACED + timedelta(hours=1),
            items=(("MUG-RED", 1, "39.00"),),
            shipping_fee="0",
        ),
    )
    shop.orders.ingest(
        TMALL,
        _channel_order(
            "TM-3",
            placed=PLACED + timedelta(days=1),
            items=(("MUG-RED", 1, "39.00"), ("MUG-BLUE", 1, "39.00")),
            discount="8.00",
            method="wechat",
            consignee={**CONSIGNEE, "name": "Han Meimei", "phone": "13900139000"},
        ),
    )
    return shop


def _csv(shop: Shop, actor: Actor, **kwargs: Any) -> tuple[int, list[list[str]]]:
    out = io.StringIO()
    count = shop.orders.export(actor, out, **kwargs)
    return count, list(csv.reader(io.StringIO(out.getvalue())))


def test_ord_09_the_csv_export_has_one_row_per_order_with_its_sales_data(sales: Shop) -> None:
    count, rows = _csv(sales, ZHAO)

    assert count == 3
    assert rows[0] == list(EXPORT_COLUMNS)
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [r["order_number"] for r in records] == ["TM-1", "TM-2", "TM-3"]
    first, unpaid, third = records
    assert (first["channel"], first["state"]) == ("tmall", "allocated")
    assert datetime.fromisoformat(first["placed_at"]) == PLACED
    assert datetime.fromisoformat(first["paid_at"]) == PLACED
    assert (first["items"], first["units"]) == ("MUG-BLUE*2;GIFT-BAG*1", "3")
    amounts = [Decimal(first[c]) for c in ("lines_total", "shipping_fee", "discount", "total")]
    assert amounts == [Decimal("78.00"), Decimal("10.00"), 0, Decimal("88.00")]
    assert (first["currency"], first["payment_method"]) == ("CNY", "alipay")
    assert (first["consignee"], first["phone"]) == ("Li Lei", "13800138000")
    assert (first["province"], first["city"], first["district"], first["address"]) == (
        "上海市",
        "上海市",
        "浦东新区",
        CONSIGNEE["address"],
    )
    assert (unpaid["state"], unpaid["paid_at"], unpaid["payment_method"]) == ("pending_payment", "", "")
    assert datetime.fromisoformat(unpaid["placed_at"]) == PLACED + timedelta(hours=1)
    assert (third["items"], third["units"], third["payment_method"]) == (
        "MUG-RED*1;MUG-BLUE*1",
        "2",
        "wechat",
    )
    assert (Decimal(third["discount"]), Decimal(third["total"])) == (Decimal("8.00"), Decimal("80.00"))
    assert (third["consignee"], third["phone"]) == ("Han Meimei", "13900139000")


@pytest.mark.parametrize("reader", [SUN, QIAN, LI], ids=["analyst", "finance", "operations"])
def test_ord_09_readers_without_personal_data_read_get_the_consignee_masked(
    sales: Shop, reader: Actor
) -> None:
    count, rows = _csv(sales, reader)
    assert count == 3
    header = rows[0]
    for row in rows[1:]:
        record = dict(zip(header, row, strict=True))
        assert (record["consignee"], record["phone"], record["address"]) == ("***", "***", "***")
        assert (record["province"], record["city"]) == ("上海市", "上海市")  # enough for sales by region
    text = "\n".join(",".join(row) for row in rows)
    assert not [value for value in PERSONAL if value in text]


def test_ord_09_since_and_until_choose_orders_by_when_they_were_placed(sales: Shop) -> None:
    count, rows = _csv(sales, SUN, since=PLACED + timedelta(minutes=30), until=PLACED + timedelta(days=1))
    assert (count, [row[0] for row in rows[1:]]) == (1, ["TM-2"])
    count, rows = _csv(sales, SUN, since=PLACED + timedelta(hours=1))
    assert (count, [row[0] for row in rows[1:]]) == (2, ["TM-2", "TM-3"])
    count, rows = _csv(sales, SUN, until=PLACED + timedelta(hours=1))  # until is exclusive
    assert (count, [row[0] for row in rows[1:]]) == (1, ["TM-1"])
    count, rows = _csv(sales, SUN, since=PLACED + timedelta(days=5))
    assert (count, rows) == (0, [list(EXPORT_COLUMNS)])


def test_ord_09_the_json_export_writes_one_object_per_line(sales: Shop) -> None:
    out = io.StringIO()
    count = sales.orders.export(ZHAO, out, format="json", since=PLACED + timedelta(minutes=30))

    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(records) == 2
    assert [list(r) for r in records] == [list(EXPORT_COLUMNS)] * 2
    unpaid, third = records
    assert (unpaid["order_number"], unpaid["paid_at"], unpaid["payment_method"], unpaid["units"]) == (
        "TM-2",
        None,
        None,
        1,
    )
    assert (third["order_number"], third["consignee"], Decimal(third["total"])) == (
        "TM-3",
        "Han Meimei",
        Decimal("80.00"),
    )
    masked = io.StringIO()
    sales.orders.export(SUN, masked, format="json")
    assert {json.loads(line)["phone"] for line in masked.getvalue().splitlines()} == {"***"}


def test_ord_09_the_export_follows_changes_to_the_order(sales: Shop) -> None:
    first = sales.orders.by_channel(ZHAO, "tmall", "TM-1").id
    sales.orders.change_items(WANG, first, _lines(("MUG-RED", 2, "30.00")))
    _count, rows = _csv(sales, SUN, until=PLACED + timedelta(minutes=30))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert (record["items"], record["units"], Decimal(record["total"])) == (
        "MUG-RED*2",
        "2",
        Decimal("70.00"),
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"format": "xlsx"}, "format"),
        ({"format": "CSV"}, "format"),
        ({"since": datetime(2026, 3, 1)}, "since"),
        ({"until": datetime(2026, 3, 9)}, "until"),
    ],
)
def test_ord_09_a_bad_format_or_a_naive_time_is_refused_before_anything_is_written(
    sales: Shop, kwargs: dict[str, Any], field: str
) -> None:
    out = io.StringIO()
    with pytest.raises(InvalidInputError) as refused:
        sales.orders.export(ZHAO, out, **kwargs)
    assert refused.value.field == field
    assert out.getvalue() == ""


@pytest.mark.parametrize("actor", [WU, CHEN, WANG, NOBODY], ids=["warehouse", "logistics", "cs", "nobody"])
def test_ord_09_staff_without_order_export_cannot_export(sales: Shop, actor: Actor) -> None:
    out = io.StringIO()
    with pytest.raises(PermissionDeniedError, match=r"order\.export"):
        sales.orders.export(actor, out)
    assert out.getvalue() == ""
