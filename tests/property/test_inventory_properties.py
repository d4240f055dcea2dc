"""
Properties of receiving (INV-06), replenishment quantities (INV-03) and turnover (INV-04).

Each example opens its own memory shop: a catalog product, a warehouse and,
for receiving, a supplier with a placed purchase order.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eshop_core import (
    Actor,
    FixedClock,
    InsufficientStockError,
    InvalidInputError,
    InvalidTransitionError,
    Role,
    Shop,
)
from eshop_core.domain.inventory import MovementReason, ReplenishmentSuggestion
from eshop_core.domain.purchasing import PurchaseOrderState

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LI = Actor("li.ming", roles={Role.OPERATIONS})
ZHAO = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
WU = Actor("wu.gang", roles={Role.WAREHOUSE})
ZHOU = Actor("zhou.min", roles={Role.PURCHASING})
ORDERS = Actor.system("orders")
SKUS = ("MUG-BLUE", "MUG-RED")

FAST = settings(max_examples=50, deadline=None)


def _shop(clock: FixedClock) -> Shop:
    shop = Shop.open("memory://", clock=clock)
    shop.catalog.create_product(
        LI,
        {
            "name": "Mug",
            "variants": [{"sku": sku, "price": {"amount": "39.00", "currency": "CNY"}} for sku in SKUS],
        },
    )
    shop.inventory.open_warehouse(ZHAO, code="SH-01", name="Shanghai")
    return shop


def _snapshot(shop: Shop, order_id: Any) -> tuple[Any, ...]:
    return (
        shop.purchasing.order(ZHOU, order_id),
        shop.inventory.levels(ZHOU).items,
        shop.inventory.movements(ZHOU, limit=1000).items,
    )


# -- (a) receiving never accepts more than ordered without an explicit over-receipt ----------------

receipts = st.lists(
    st.tuples(
        st.sampled_from(SKUS),
        st.integers(1, 15).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
        st.sampled_from([False, False, False, True]),
    ),
    min_size=1,
    max_size=8,
)


@FAST
@given(ordered=st.tuples(st.integers(1, 20), st.integers(1, 20)), steps=receipts)
def test_inv_06_receiving_accepts_at_most_what_was_ordered_and_stock_is_the_sum_accepted(
    ordered: tuple[int, int], steps: list[tuple[str, tuple[int, int], bool]]
) -> None:
    with _shop(FixedClock(AT)) as shop:
        supplier = shop.purchasing.register_supplier(ZHOU, {"code": "ACME", "name": "Acme"})
        draft = shop.purchasing.draft_order(
            ZHOU,
            {
                "supplier_id": supplier.id,
                "warehouse": "SH-01",
                "expected_arrival": "2026-03-09",
                "lines": [
                    {"sku": sku, "quantity": units, "unit_cost": {"amount": "1.00", "currency": "CNY"}}
                    for sku, units in zip(SKUS, ordered, strict=True)
                ],
            },
        )
        order = shop.purchasing.place_order(ZHOU, draft.id)
        wanted = dict(zip(SKUS, ordered, strict=True))
        accepted = dict.fromkeys(SKUS, 0)
        over_used = False
        for sku, (received, take), over in steps:
            before = _snapshot(shop, order.id)
            line = {"sku": sku, "received": received, "accepted": take, "reason": "inspection"}
            outstanding = max(wanted[sku] - accepted[sku], 0)
            complete = all(accepted[s] >= wanted[s] for s in SKUS)
            if complete:  # fully received: no more receipts
                with pytest.raises(InvalidTransitionError):
                    shop.purchasing.receive(WU, order.id, [line], allow_over_receipt=over)
                assert _snapshot(shop, order.id) == before
                continue
            if take > outstanding and not over:
                with pytest.raises(InvalidInputError) as refused:
                    shop.purchasing.receive(WU, order.id, [line], allow_over_receipt=over)
                assert refused.value.field == "lines.0.accepted"
                assert _snapshot(shop, order.id) == before
                continue
            after = shop.purchasing.receive(WU, order.id, [line], allow_over_receipt=over)
            over_used = over_used or take > outstanding
            accepted[sku] += take
            assert after.line(sku).accepted == accepted[sku]
            done = all(accepted[s] >= wanted[s] for s in SKUS)
            assert after.state is (
                PurchaseOrderState.RECEIVED if done else PurchaseOrderState.PARTIALLY_RECEIVED
            )

        final = shop.purchasing.order(ZHOU, order.id)
        for sku in SKUS:
            on_hand = shop.inventory.level(ZHOU, sku, "SH-01").on_hand
            assert on_hand == accepted[sku] == final.line(sku).accepted
            if not over_used:
                assert accepted[sku] <= wanted[sku]
        receipts_in_ledger = shop.inventory.movements(ZHOU, reference=f"purchase_order:{order.id}").items
        assert all(m.reason is MovementReason.RECEIPT for m in receipts_in_ledger)
        assert sum(m.on_hand_delta for m in receipts_in_ledger) == sum(accepted.values())
        assert sum(sum(x.received for x in r.lines) for r in final.receipts) == sum(
            x.accepted + x.rejected for x in final.lines
        )


# -- (b) the replenishment quantity ----------------------------------------------------------------


@FAST
@given(
    available=st.integers(0, 500),
    threshold=st.integers(0, 200),
    daily_sales=st.decimals(min_value=0, max_value=100, places=2),
    cover_days=st.integers(1, 60),
    on_order=st.integers(0, 500),
)
def test_inv_03_the_suggested_quantity_follows_its_formula_and_is_never_negative(
    available: int, threshold: int, daily_sales: Decimal, cover_days: int, on_order: int
) -> None:
    quantity = ReplenishmentSuggestion.quantity_for(
        available=available,
        threshold=threshold,
        daily_sales=daily_sales,
        cover_days=cover_days,
        on_order=on_order,
    )
    target = math.ceil(daily_sales * cover_days) + threshold
    assert isinstance(quantity, int)
    assert quantity == max(target - available - on_order, 0)
    assert quantity >= 0
    if quantity:  # ordering it brings stock plus what is on order exactly to the target
        assert available + on_order + quantity == target
    more_on_order = ReplenishmentSuggestion.quantity_for(
        available=available,
        threshold=threshold,
        daily_sales=daily_sales,
        cover_days=cover_days,
        on_order=on_order + 1,
    )
    assert more_on_order <= quantity


# -- (c) turnover is a replay of the ledger --------------------------------------------------------

acts = st.lists(
    st.tuples(
        st.sampled_from(["receive", "sell", "loss", "found", "return"]),
        st.sampled_from(SKUS),
        st.integers(1, 12),
        st.integers(0, 72),
    ),
    min_size=1,
    max_size=15,
)


@FAST
@given(history=acts, period=st.tuples(st.integers(0, 15 * 72 + 24), st.integers(0, 15 * 72 + 24)))
def test_inv_04_turnover_opening_closing_and_sales_equal_a_replay_of_the_ledger(
    history: list[tuple[str, str, int, int]], period: tuple[int, int]
) -> None:
    clock = FixedClock(AT)
    with _shop(clock) as shop:
        for kind, sku, units, hours in history:
            clock.advance(timedelta(hours=hours))
            try:
                if kind == "receive":
                    with shop.unit_of_work(WU) as uow:
                        shop.inventory.receive_in(uow, sku, "SH-01", units, reference="delivery:x")
                        uow.commit()
                elif kind == "sell":
                    with shop.unit_of_work(ORDERS) as uow:
                        shop.inventory.reserve_in(uow, sku, "SH-01", units, reference="order:x")
                        shop.inventory.ship_in(uow, sku, "SH-01", units, reference="order:x")
                        uow.commit()
                elif kind == "return":
                    shop.inventory.restock_return(WU, sku, "SH-01", units)
                else:
                    delta = -units if kind == "loss" else units
                    shop.inventory.adjust(ZHAO, sku, "SH-01", delta, reason=kind, note="shelf check")
            except InsufficientStockError:
                pass  # not enough stock for that sale or loss: refused, nothing written

        first, second = sorted(period)
        if first == second:
            second += 1
        since, until = AT + timedelta(hours=first), AT + timedelta(hours=second)
        ledger = shop.inventory.movements(ZHAO, limit=1000).items
        lines = shop.inventory.turnover(ZHAO, since=since, until=until)
        stocked = sorted({(m.sku, m.warehouse) for m in ledger})
        assert [(x.sku, x.warehouse) for x in lines] == stocked
        days = Decimal(second - first) / 24
        for line in lines:
            mine = [m for m in ledger if (m.sku, m.warehouse) == (line.sku, line.warehouse)]
            opening = sum(m.on_hand_delta for m in mine if m.at < since)
            closing = sum(m.on_hand_delta for m in mine if m.at < until)
            shipped = -sum(
                m.on_hand_delta for m in mine if m.reason is MovementReason.SHIPMENT and since <= m.at < until
            )
            assert (line.opening, line.closing, line.shipped) == (opening, closing, shipped)
            average = Decimal(opening + closing) / 2
            if average > 0:
                assert line.turnover == (Decimal(shipped) / average).quantize(Decimal("0.01"))
            else:
                assert line.turnover is None
            if shipped:
                assert line.days_of_cover == (Decimal(closing) / (Decimal(shipped) / days)).quantize(
                    Decimal("0.1")
                )
            else:
                assert line.days_of_cover is None
            level = shop.inventory.level(ZHAO, line.sku, line.warehouse)
            assert sum(m.on_hand_delta for m in mine) == level.on_hand
