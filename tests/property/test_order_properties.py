"""
Properties of order ingestion (ORD-01), allocation (ORD-04) and the channel-order schema.

Each example opens its own memory shop: a catalog product with two SKUs and
two warehouses, Shanghai (first by priority) and Beijing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eshop_core import Actor, FixedClock, InvalidInputError, Role, Shop
from eshop_core.domain.orders import OrderState
from eshop_core.schemas.orders import ChannelOrder
from eshop_core.services.orders import IngestOutcome, OrderView

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLACED = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
TMALL = Actor.system("channel:tmall")
LI = Actor("li.ming", roles={Role.OPERATIONS})
WANG = Actor("wang.fang", roles={Role.CUSTOMER_SERVICE})
WU = Actor("wu.gang", roles={Role.WAREHOUSE})
ZHAO = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
SKUS = ("MUG-BLUE", "MUG-RED")
WAREHOUSES = ("SH-01", "BJ-01")

FAST = settings(max_examples=40, deadline=None)


def _shop() -> Shop:
    shop = Shop.open("memory://", clock=FixedClock(PLACED + timedelta(hours=1)))
    shop.catalog.create_product(
        LI,
        {
            "name": "Mug",
            "variants": [{"sku": sku, "price": {"amount": "39.00", "currency": "CNY"}} for sku in SKUS],
        },
    )
    for priority, code in enumerate(WAREHOUSES, start=1):
        shop.inventory.open_warehouse(ZHAO, code=code, name=code, priority=priority)
    return shop


def _receive(shop: Shop, sku: str, warehouse: str, units: int) -> None:
    with shop.unit_of_work(WU) as uow:
        shop.inventory.receive_in(uow, sku, warehouse, units, reference="delivery:test")
        uow.commit()


def _channel_order(
    external_id: str,
    *,
    status: str = "paid",
    modified: datetime | None = None,
    items: Sequence[tuple[str, int]] = (("MUG-BLUE", 2),),
    phone: str = "13800138000",
    address: str = "世纪大道 100 号 1201 室",
    name: str = "Li Lei",
    note: str | None = None,
) -> dict[str, Any]:
    modified = modified or PLACED + timedelta(minutes=1)
    order: dict[str, Any] = {
        "channel": "tmall",
        "external_id": external_id,
        "status": status,
        "placed_at": PLACED.isoformat(),
        "modified_at": modified.isoformat(),
        "currency": "CNY",
        "consignee": {
            "name": name,
            "phone": phone,
            "province": "上海市",
            "city": "上海市",
            "address": address,
        },
        "lines": [{"sku": sku, "quantity": units, "unit_price": "39.00"} for sku, units in items],
        "total": str(sum(Decimal("39.00") * units for _sku, units in items)),
        "buyer_note": note,
    }
    if status == "paid":
        order["payment"] = {"method": "alipay", "paid_at": modified.isoformat()}
    return order


def _all_orders(shop: Shop) -> tuple[OrderView, ...]:
    return shop.orders.orders(ZHAO, limit=1000).items


# -- (a) revisions delivered in any order, with repeats ---------------------------------------------------


@st.composite
def _deliveries(draw: st.DrawFn) -> tuple[int, int, bool, list[list[int]]]:
    """``(revisions, first paid revision, newest is a cancellation, batches of revision indexes)``."""
    count = draw(st.integers(2, 5))
    first_paid = draw(st.integers(0, count))  # revisions from this one on are paid (count: never)
    cancel_last = draw(st.booleans())
    sequence = list(draw(st.permutations(range(count))))
    for _ in range(draw(st.integers(0, 4))):  # repeats: webhook and poll, retries
        sequence.insert(draw(st.integers(0, len(sequence))), draw(st.integers(0, count - 1)))
    batches: list[list[int]] = []
    while sequence:
        size = draw(st.integers(1, len(sequence)))
        batches.append(sequence[:size])
        sequence = sequence[size:]
    return count, first_paid, cancel_last, batches


@FAST
@given(_deliveries())
def test_ord_01_any_delivery_order_of_revisions_ends_at_the_newest_revision(
    deliveries: tuple[int, int, bool, list[list[int]]],
) -> None:
    count, first_paid, cancel_last, batches = deliveries

    def revision(k: int) -> dict[str, Any]:
        status = "paid" if k >= first_paid else "pending_payment"
        if cancel_last and k == count - 1:
            status = "cancelled"
        return _channel_order(
            "TM-1",
            status=status,
            modified=PLACED + timedelta(minutes=k + 1),
            address=f"世纪大道 {100 + k} 号 1201 室",
            name=f"Li Lei {k}",
            note=f"revision {k}",
        )

    with _shop() as shop:
        _receive(shop, "MUG-BLUE", "SH-01", 50)
        outcomes: list[IngestOutcome] = []
        for batch in batches:
            outcomes.extend(r.outcome for r in shop.orders.ingest_many(TMALL, [revision(k) for k in batch]))

        delivered = [k for batch in batches for k in batch]
        expected: list[IngestOutcome] = []
        newest: int | None = None
        for k in delivered:
            if newest is None:
                expected.append(IngestOutcome.CREATED)
            elif k == newest:
                expected.append(IngestOutcome.UNCHANGED)
            elif k < newest:
                expected.append(IngestOutcome.STALE)
            else:
                expected.append(IngestOutcome.UPDATED)
            newest = k if newest is None else max(newest, k)
        assert outcomes == expected
        assert outcomes.count(IngestOutcome.CREATED) == 1

        (order,) = _all_orders(shop)
        last = count - 1
        assert order.revision == PLACED + timedelta(minutes=count)
        assert (order.address, order.consignee_name, order.buyer_note) == (
            f"世纪大道 {100 + last} 号 1201 室",
            f"Li Lei {last}",
            f"revision {last}",
        )
        if cancel_last:
            state, reserved = OrderState.CANCELLED, 0
        elif first_paid <= last:
            state, reserved = OrderState.ALLOCATED, 2
        else:
            state, reserved = OrderState.PENDING_PAYMENT, 0
        assert order.state is state
        assert shop.inventory.level(ZHAO, "MUG-BLUE", "SH-01").reserved == reserved


# -- (b) random batches against limited stock -------------------------------------------------------------

_ITEMS = st.lists(
    st.tuples(st.sampled_from(SKUS), st.integers(1, 3)), min_size=1, max_size=2, unique_by=lambda x: x[0]
)
_STEP = st.one_of(
    st.tuples(st.just("batch"), st.lists(_ITEMS, min_size=1, max_size=4)),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(
        st.just("receive"), st.tuples(st.sampled_from(SKUS), st.sampled_from(WAREHOUSES), st.integers(1, 4))
    ),
    st.tuples(st.just("backorder_and_retry"), st.none()),
)


def _check_stock(shop: Shop) -> None:
    orders = _all_orders(shop)
    for sku in SKUS:
        for warehouse in WAREHOUSES:
            level = shop.inventory.level(ZHAO, sku, warehouse)
            allocated = sum(
                dict(line.allocations).get(warehouse, 0)
                for order in orders
                if order.state is not OrderState.CANCELLED
                for line in order.lines
                if line.sku == sku
            )
            assert level.available >= 0, level
            assert level.reserved == allocated, (level, allocated)


@FAST
@given(
    stock=st.lists(st.integers(0, 4), min_size=4, max_size=4),
    steps=st.lists(_STEP, min_size=1, max_size=6),
)
def test_ord_04_random_batches_never_oversell_and_reservations_match_allocations(
    stock: list[int], steps: list[tuple[str, Any]]
) -> None:
    with _shop() as shop:
        for (sku, warehouse), units in zip([(s, w) for s in SKUS for w in WAREHOUSES], stock, strict=True):
            if units:
                _receive(shop, sku, warehouse, units)
        placed = 0
        for kind, arg in steps:
            if kind == "batch":
                batch = []
                for items in arg:
                    placed += 1  # distinct phones: no order is held as a duplicate
                    batch.append(_channel_order(f"TM-{placed}", items=items, phone=f"138{placed:08d}"))
                shop.orders.ingest_many(TMALL, batch)
            elif kind == "cancel":
                open_orders = [o for o in _all_orders(shop) if o.state is not OrderState.CANCELLED]
                if open_orders:
                    shop.orders.cancel(WANG, open_orders[arg % len(open_orders)].id, reason="buyer cancelled")
            elif kind == "receive":
                _receive(shop, *arg)
            else:
                for order in _all_orders(shop):
                    if order.state is OrderState.SHORT:
                        shop.orders.choose_backorder(WANG, order.id)
                shop.orders.retry_allocation(WANG)
            _check_stock(shop)
        for order in _all_orders(shop):
            if order.state is OrderState.ALLOCATED:
                assert all(line.missing == 0 for line in order.lines)


# -- (c) the schema accepts exactly the totals that add up ------------------------------------------------


def _cents(value: int) -> str:
    return str(Decimal(value).scaleb(-2))


@st.composite
def _amounts(draw: st.DrawFn) -> tuple[list[dict[str, Any]], int, int, int]:
    """Lines, shipping and order discount in cents, and the total they add up to."""
    lines = []
    subtotal = 0
    for i in range(draw(st.integers(1, 3))):
        units = draw(st.integers(1, 5))
        price = draw(st.integers(0, 100_000))
        discount = draw(st.integers(0, units * price))
        subtotal += units * price - discount
        lines.append(
            {"sku": f"SKU-{i}", "quantity": units, "unit_price": _cents(price), "discount": _cents(discount)}
        )
    shipping = draw(st.integers(0, 2_000))
    discount = draw(st.integers(0, subtotal + shipping))
    return lines, shipping, discount, subtotal + shipping - discount


@FAST
@given(amounts=_amounts(), off_by=st.one_of(st.just(0), st.integers(-5_000, 5_000)), digits=st.integers(2, 4))
def test_ord_01_a_channel_order_is_accepted_exactly_when_its_total_adds_up(
    amounts: tuple[list[dict[str, Any]], int, int, int], off_by: int, digits: int
) -> None:
    lines, shipping, discount, expected = amounts
    total = Decimal(expected + off_by).scaleb(-2).quantize(Decimal(1).scaleb(-digits))  # "78.00", "78.0000"
    order = {
        **_channel_order("TM-1"),
        "lines": lines,
        "shipping_fee": _cents(shipping),
        "discount": _cents(discount),
        "total": str(total),
    }
    if off_by == 0:
        parsed = ChannelOrder.parse(order)
        assert parsed.total == Decimal(expected).scaleb(-2)
    else:
        with pytest.raises(InvalidInputError) as info:
            ChannelOrder.parse(order)
        assert info.value.field == "total"
