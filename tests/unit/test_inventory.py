"""Warehouses, stock levels, the ledger, low-stock suggestions and stock reports on the memory backend.

INV-01 (levels), INV-03 (low-stock alerts and replenishment suggestions), INV-04
(turnover and slow movers), INV-07 (every change a ledger line with reason and
author), plus access (GOV-01) and bad input: every refusal leaves the level and
the ledger as they were.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from eshop_core import (
    Actor,
    FixedClock,
    InsufficientStockError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    Role,
    Shop,
)
from eshop_core.domain.inventory import MovementReason, StockLevel, StockMovement, SuggestionState
from eshop_core.schemas.policies import default_policy_text
from eshop_core.services.inventory import SuggestionView

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LI = Actor("li.ming", roles={Role.OPERATIONS})
ZHAO = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
WU = Actor("wu.gang", roles={Role.WAREHOUSE})
ZHOU = Actor("zhou.min", roles={Role.PURCHASING})
SUN = Actor("sun.li", roles={Role.FINANCE})
ADMIN = Actor("ma.jun", roles={Role.ADMINISTRATOR})
ANALYST = Actor("he.ping", roles={Role.DATA_ANALYST})
ORDERS = Actor.system("orders")
NOBODY = Actor("guest.1")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AT)


@pytest.fixture
def shop(clock: FixedClock) -> Iterator[Shop]:
    with Shop.open("memory://", clock=clock) as opened:
        opened.catalog.create_product(
            LI,
            {
                "name": "Mug",
                "variants": [
                    {"sku": "MUG-BLUE", "price": {"amount": "39.00", "currency": "CNY"}},
                    {"sku": "MUG-RED", "price": {"amount": "39.00", "currency": "CNY"}},
                    {"sku": "MUG-GREEN", "price": {"amount": "39.00", "currency": "CNY"}},
                ],
            },
        )
        opened.inventory.open_warehouse(ZHAO, code="SH-01", name="Shanghai", priority=10)
        opened.inventory.open_warehouse(ZHAO, code="BJ-02", name="Beijing", priority=20)
        yield opened


# -- helpers ---------------------------------------------------------------------------------------


def _receive(shop: Shop, sku: str, units: int, warehouse: str = "SH-01") -> None:
    with shop.unit_of_work(WU) as uow:
        shop.inventory.receive_in(uow, sku, warehouse, units, reference="delivery:test")
        uow.commit()


def _reserve(shop: Shop, sku: str, units: int, warehouse: str = "SH-01", order: str = "order:1") -> None:
    with shop.unit_of_work(ORDERS) as uow:
        shop.inventory.reserve_in(uow, sku, warehouse, units, reference=order)
        uow.commit()


def _release(shop: Shop, sku: str, units: int, warehouse: str = "SH-01", order: str = "order:1") -> None:
    with shop.unit_of_work(ORDERS) as uow:
        shop.inventory.release_in(uow, sku, warehouse, units, reference=order)
        uow.commit()


def _sell(shop: Shop, sku: str, units: int, warehouse: str = "SH-01", order: str = "order:1") -> None:
    with shop.unit_of_work(ORDERS) as uow:
        shop.inventory.reserve_in(uow, sku, warehouse, units, reference=order)
        shop.inventory.ship_in(uow, sku, warehouse, units, reference=order)
        uow.commit()


def _ledger(shop: Shop) -> tuple[StockMovement, ...]:
    return shop.inventory.movements(ZHAO, limit=1000).items


def _state(shop: Shop, sku: str = "MUG-BLUE", warehouse: str = "SH-01") -> tuple[Any, ...]:
    """The level, the whole ledger and the suggestions: what a refusal must leave alone."""
    return (
        shop.inventory.level(ZHAO, sku, warehouse),
        _ledger(shop),
        shop.inventory.suggestions(ZHAO, state=None),
    )


def _supplier(shop: Shop, code: str = "ACME") -> Any:
    return shop.purchasing.register_supplier(ZHOU, {"code": code, "name": f"{code} Ceramics"})


def _placed_order(shop: Shop, sku: str, units: int, warehouse: str = "SH-01", code: str = "ACME") -> Any:
    supplier = _supplier(shop, code)
    order = shop.purchasing.draft_order(
        ZHOU,
        {
            "supplier_id": supplier.id,
            "warehouse": warehouse,
            "expected_arrival": date(2026, 12, 31),
            "lines": [{"sku": sku, "quantity": units, "unit_cost": {"amount": "12.50", "currency": "CNY"}}],
        },
    )
    return shop.purchasing.place_order(ZHOU, order.id)


def _policy_with(shop: Shop, clock: FixedClock, old: str, new: str) -> None:
    """Adopt a policy with ``old`` replaced by ``new``, in force from now."""
    text = default_policy_text()
    assert old in text
    request = shop.policies.propose(LI, text.replace(old, new), effective_from=clock.now(), reason="tune")
    shop.approvals.approve(ZHAO, request.id)


# -- INV-01: levels --------------------------------------------------------------------------------


def test_inv_01_a_never_stocked_sku_has_zero_stock(shop: Shop) -> None:
    level = shop.inventory.level(WU, "MUG-BLUE", "SH-01")
    assert level == StockLevel(sku="MUG-BLUE", warehouse="SH-01")
    assert (level.on_hand, level.reserved, level.available) == (0, 0, 0)
    assert shop.inventory.available(WU, "MUG-BLUE") == 0


def test_inv_01_on_hand_reserved_and_available_per_sku_per_warehouse(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 30)
    _receive(shop, "MUG-BLUE", 7, warehouse="BJ-02")
    _receive(shop, "MUG-RED", 5)
    _reserve(shop, "MUG-BLUE", 12)
    _sell(shop, "MUG-BLUE", 3, order="order:2")

    sh = shop.inventory.level(ANALYST, "MUG-BLUE", "SH-01")
    assert (sh.on_hand, sh.reserved, sh.available) == (27, 12, 15)
    bj = shop.inventory.level(ANALYST, "MUG-BLUE", "BJ-02")
    assert (bj.on_hand, bj.reserved, bj.available) == (7, 0, 7)
    assert shop.inventory.available(ANALYST, "MUG-BLUE") == 22
    assert shop.inventory.available(ANALYST, "MUG-RED") == 5
    listed = shop.inventory.levels(ANALYST, sku="MUG-BLUE").items
    assert [(x.warehouse, x.on_hand, x.reserved) for x in listed] == [("BJ-02", 7, 0), ("SH-01", 27, 12)]
    assert [x.sku for x in shop.inventory.levels(ANALYST, warehouse="SH-01").items] == ["MUG-BLUE", "MUG-RED"]


@pytest.mark.parametrize(
    ("sku", "warehouse", "missing"),
    [("NO-SUCH-SKU", "SH-01", "SKU NO-SUCH-SKU"), ("MUG-BLUE", "XX-99", "Warehouse XX-99")],
)
def test_inv_01_unknown_sku_or_warehouse_is_not_found_naming_it_and_changes_nothing(
    shop: Shop, sku: str, warehouse: str, missing: str
) -> None:
    _receive(shop, "MUG-BLUE", 20)
    before = _state(shop)
    calls = [
        lambda: shop.inventory.level(WU, sku, warehouse),
        lambda: shop.inventory.restock_return(WU, sku, warehouse, 2),
        lambda: shop.inventory.adjust(ZHAO, sku, warehouse, -1, reason="damage", note="dropped"),
        lambda: shop.inventory.set_low_stock_threshold(ZHOU, sku, warehouse, 3),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as info:
            call()
        assert missing in str(info.value)
    with pytest.raises(NotFoundError) as info, shop.unit_of_work(ORDERS) as uow:
        shop.inventory.reserve_in(uow, sku, warehouse, 1)
    assert missing in str(info.value)
    assert _state(shop) == before


@pytest.mark.parametrize("quantity", [0, -3, 2.5, "3", True, None, Decimal(2)])
def test_inv_01_a_quantity_that_is_not_a_positive_whole_number_is_refused_naming_quantity(
    shop: Shop, quantity: Any
) -> None:
    _receive(shop, "MUG-BLUE", 20)
    _reserve(shop, "MUG-BLUE", 5)
    before = _state(shop)
    with pytest.raises(InvalidInputError) as info:
        shop.inventory.restock_return(WU, "MUG-BLUE", "SH-01", quantity)
    assert info.value.field == "quantity"
    for act in (shop.inventory.reserve_in, shop.inventory.release_in, shop.inventory.ship_in):
        with pytest.raises(InvalidInputError) as info, shop.unit_of_work(ORDERS) as uow:
            act(uow, "MUG-BLUE", "SH-01", quantity)
        assert info.value.field == "quantity"
    assert _state(shop) == before


def test_inv_01_nothing_is_oversold_and_over_release_is_refused(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 20)
    _reserve(shop, "MUG-BLUE", 15)
    before = _state(shop)
    with pytest.raises(InsufficientStockError) as short:
        _reserve(shop, "MUG-BLUE", 6, order="order:2")
    assert (short.value.sku, short.value.warehouse, short.value.requested, short.value.available) == (
        "MUG-BLUE",
        "SH-01",
        6,
        5,
    )
    with pytest.raises(InvalidInputError) as over:
        _release(shop, "MUG-BLUE", 16)
    assert over.value.field == "quantity"
    with pytest.raises(InvalidInputError) as over, shop.unit_of_work(ORDERS) as uow:
        shop.inventory.ship_in(uow, "MUG-BLUE", "SH-01", 16, reference="order:1")
    assert over.value.field == "quantity"
    assert _state(shop) == before
    _reserve(shop, "MUG-BLUE", 5, order="order:2")  # exactly what is available
    assert shop.inventory.level(WU, "MUG-BLUE", "SH-01").available == 0


def test_gov_01_reading_stock_needs_stock_read(shop: Shop) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        shop.inventory.level(NOBODY, "MUG-BLUE", "SH-01")
    assert info.value.permission == "stock.read"
    for call in (
        lambda: shop.inventory.levels(NOBODY),
        lambda: shop.inventory.movements(NOBODY),
        lambda: shop.inventory.available(NOBODY, "MUG-BLUE"),
        lambda: shop.inventory.warehouses(NOBODY),
        lambda: shop.inventory.suggestions(NOBODY),
        lambda: shop.inventory.turnover(NOBODY, since=AT, until=AT + timedelta(days=1)),
        lambda: shop.inventory.slow_movers(NOBODY),
    ):
        with pytest.raises(PermissionDeniedError):
            call()


# -- direct adjustments (INV-07) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "delta"),
    [
        (MovementReason.DAMAGE, -2),
        (MovementReason.LOSS, -1),
        (MovementReason.SUPPLIER_RETURN, -4),
        (MovementReason.FOUND, 3),
        (MovementReason.CORRECTION, 2),
        (MovementReason.CORRECTION, -2),
        ("damage", -1),
    ],
)
def test_inv_07_an_adjustment_changes_on_hand_with_its_reason_author_time_and_note(
    shop: Shop, clock: FixedClock, reason: MovementReason | str, delta: int
) -> None:
    _receive(shop, "MUG-BLUE", 20)
    clock.advance(timedelta(hours=3))
    change = shop.inventory.adjust(ZHAO, "MUG-BLUE", "SH-01", delta, reason=reason, note="  shelf check  ")
    assert (change.before.on_hand, change.after.on_hand) == (20, 20 + delta)
    assert shop.inventory.level(ZHAO, "MUG-BLUE", "SH-01").on_hand == 20 + delta
    movement = _ledger(shop)[-1]
    assert movement == change.movement
    assert (movement.reason, movement.on_hand_delta, movement.reserved_delta) == (
        MovementReason(reason),
        delta,
        0,
    )
    assert (movement.actor, movement.at, movement.note) == (
        "zhao.lei",
        AT + timedelta(hours=3),
        "shelf check",
    )
    assert movement.on_hand_after == 20 + delta


@pytest.mark.parametrize(
    ("reason", "delta", "field"),
    [
        ("damage", 2, "delta"),
        ("loss", 1, "delta"),
        ("supplier_return", 1, "delta"),
        ("found", -1, "delta"),
        ("correction", 0, "delta"),
        ("found", 1.0, "delta"),
        ("found", True, "delta"),
        ("receipt", 1, "reason"),
        ("shipment", -1, "reason"),
        ("customer_return", 1, "reason"),
        ("theft", -1, "reason"),
        (None, -1, "reason"),
        ("count_adjustment", -1, "reason"),
        (MovementReason.COUNT_ADJUSTMENT, 1, "reason"),
    ],
)
def test_inv_07_an_adjustment_whose_reason_or_sign_does_not_fit_is_refused_and_changes_nothing(
    shop: Shop, reason: Any, delta: Any, field: str
) -> None:
    _receive(shop, "MUG-BLUE", 20)
    before = _state(shop)
    with pytest.raises(InvalidInputError) as info:
        shop.inventory.adjust(ZHAO, "MUG-BLUE", "SH-01", delta, reason=reason, note="shelf check")
    assert info.value.field == field
    assert _state(shop) == before


@pytest.mark.parametrize("note", ["", "   ", None, 42])
def test_inv_07_an_adjustment_needs_a_note(shop: Shop, note: Any) -> None:
    _receive(shop, "MUG-BLUE", 20)
    before = _state(shop)
    with pytest.raises(InvalidInputError) as info:
        shop.inventory.adjust(ZHAO, "MUG-BLUE", "SH-01", -1, reason="damage", note=note)
    assert info.value.field == "note"
    assert _state(shop) == before


def test_inv_01_an_adjustment_never_takes_on_hand_below_what_is_reserved(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 20)
    _reserve(shop, "MUG-BLUE", 15)
    before = _state(shop)
    with pytest.raises(InsufficientStockError) as info:
        shop.inventory.adjust(ZHAO, "MUG-BLUE", "SH-01", -6, reason="loss", note="missing box")
    assert (info.value.requested, info.value.available) == (6, 5)
    assert _state(shop) == before
    shop.inventory.adjust(ZHAO, "MUG-BLUE", "SH-01", -5, reason="loss", note="missing box")
    level = shop.inventory.level(ZHAO, "MUG-BLUE", "SH-01")
    assert (level.on_hand, level.reserved, level.available) == (15, 15, 0)


@pytest.mark.parametrize("actor", [WU, ZHOU, SUN, LI, ANALYST, ORDERS])
def test_gov_01_only_stock_adjust_may_adjust_directly(shop: Shop, actor: Actor) -> None:
    _receive(shop, "MUG-BLUE", 20)
    before = _state(shop)
    with pytest.raises(PermissionDeniedError) as info:
        shop.inventory.adjust(actor, "MUG-BLUE", "SH-01", -1, reason="damage", note="dropped")
    assert info.value.permission == "stock.adjust"
    assert _state(shop) == before


# -- customer returns ------------------------------------------------------------------------------


def test_inv_07_a_customer_return_is_restocked_with_its_reason_and_reference(
    shop: Shop, clock: FixedClock
) -> None:
    _receive(shop, "MUG-BLUE", 10)
    _sell(shop, "MUG-BLUE", 4)
    clock.advance(timedelta(days=2))
    change = shop.inventory.restock_return(WU, "MUG-BLUE", "SH-01", 2, reference="return:R-1")
    assert (change.before.on_hand, change.after.on_hand) == (6, 8)
    movement = _ledger(shop)[-1]
    assert (movement.reason, movement.on_hand_delta, movement.actor) == (
        MovementReason.CUSTOMER_RETURN,
        2,
        "wu.gang",
    )
    assert (movement.at, movement.reference) == (AT + timedelta(days=2), "return:R-1")
    assert shop.inventory.movements(WU, reference="return:R-1").items == (movement,)


@pytest.mark.parametrize("actor", [ZHOU, ZHAO, SUN, ORDERS])
def test_gov_01_restocking_a_return_needs_stock_receive(shop: Shop, actor: Actor) -> None:
    before = _state(shop)
    with pytest.raises(PermissionDeniedError) as info:
        shop.inventory.restock_return(actor, "MUG-BLUE", "SH-01", 1)
    assert info.value.permission == "stock.receive"
    assert _state(shop) == before


def test_inv_01_a_bad_return_reference_is_refused_and_changes_nothing(shop: Shop) -> None:
    before = _state(shop)
    for reference in ("", "r" * 129):
        with pytest.raises(InvalidInputError) as info:
            shop.inventory.restock_return(WU, "MUG-BLUE", "SH-01", 1, reference=reference)
        assert info.value.field == "reference"
    assert _state(shop) == before


# -- warehouses ------------------------------------------------------------------------------------


def test_inv_01_warehouses_are_listed_by_priority_then_code(shop: Shop) -> None:
    shop.inventory.open_warehouse(ADMIN, code="GZ-03", name="Guangzhou", priority=10)
    listed = shop.inventory.warehouses(ANALYST)
    assert [(w.code, w.name, w.priority, w.counting_id) for w in listed] == [
        ("GZ-03", "Guangzhou", 10, None),
        ("SH-01", "Shanghai", 10, None),
        ("BJ-02", "Beijing", 20, None),
    ]


def test_inv_01_a_taken_warehouse_code_is_refused(shop: Shop) -> None:
    with pytest.raises(InvalidInputError) as info:
        shop.inventory.open_warehouse(ZHAO, code="SH-01", name="Shanghai two")
    assert info.value.field == "code"
    assert "SH-01" in str(info.value)
    assert [w.name for w in shop.inventory.warehouses(ZHAO) if w.code == "SH-01"] == ["Shanghai"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "SH 01"}, "code"),
        ({"code": ""}, "code"),
        ({"code": "X" * 33}, "code"),
        ({"name": "  "}, "name"),
        ({"priority": -1}, "priority"),
        ({"priority": 1.5}, "priority"),
        ({"priority": True}, "priority"),
    ],
)
def test_inv_01_bad_warehouse_fields_are_refused_by_name(
    shop: Shop, changes: dict[str, Any], field: str
) -> None:
    arguments: dict[str, Any] = {"code": "GZ-03", "name": "Guangzhou", "priority": 5, **changes}
    with pytest.raises(InvalidInputError) as info:
        shop.inventory.open_warehouse(ZHAO, **arguments)
    assert info.value.field == field
    assert [w.code for w in shop.inventory.warehouses(ZHAO)] == ["SH-01", "BJ-02"]


@pytest.mark.parametrize("actor", [WU, ZHOU, SUN, LI, ORDERS])
def test_gov_01_only_warehouse_manage_registers_warehouses(shop: Shop, actor: Actor) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        shop.inventory.open_warehouse(actor, code="GZ-03", name="Guangzhou")
    assert info.value.permission == "warehouse.manage"
    assert [w.code for w in shop.inventory.warehouses(ZHAO)] == ["SH-01", "BJ-02"]


def test_gov_05_opening_a_warehouse_is_audited(shop: Shop) -> None:
    opened = shop.inventory.open_warehouse(ADMIN, code="GZ-03", name="Guangzhou")
    entries = shop.audit.entries(ZHAO, aggregate_id=opened.id).items
    assert [(e.action, e.actor_id, e.details["code"]) for e in entries] == [
        ("WarehouseOpened", "ma.jun", "GZ-03")
    ]


# -- INV-03: low stock -----------------------------------------------------------------------------


def _history_of_sales(shop: Shop, clock: FixedClock) -> None:
    """100 received at day 0; 15, 20, 25 and 15 sold on days 5, 15, 25 and 35; the clock ends at day 40."""
    _receive(shop, "MUG-BLUE", 100)
    for day, units in ((5, 15), (15, 20), (25, 25), (35, 15)):
        clock.set(AT + timedelta(days=day))
        _sell(shop, "MUG-BLUE", units, order=f"order:d{day}")
    clock.set(AT + timedelta(days=40))


def test_inv_03_falling_below_the_policy_default_raises_one_suggestion_with_the_right_numbers(
    shop: Shop, clock: FixedClock
) -> None:
    _history_of_sales(shop, clock)  # on hand 25; the 30 days up to day 40 saw 20 + 25 + 15 = 60 sold
    _placed_order(shop, "MUG-BLUE", 8)  # on order: 8
    assert shop.inventory.suggestions(ZHOU) == ()

    _reserve(shop, "MUG-BLUE", 16, order="order:big")  # available 25 -> 9, below the default of 10

    (suggestion,) = shop.inventory.suggestions(ZHOU)
    assert (suggestion.sku, suggestion.warehouse, suggestion.state) == ("MUG-BLUE", "SH-01", "open")
    assert (suggestion.available, suggestion.threshold) == (9, 10)
    assert suggestion.daily_sales == Decimal("2.00")  # 60 units / 30 days
    # ceil(2.00 x 14 days of cover) + 10 - 9 available - 8 on order
    assert suggestion.suggested_quantity == 28 + 10 - 9 - 8
    assert (suggestion.raised_at, suggestion.policy_version) == (AT + timedelta(days=40), 1)
    assert (suggestion.purchase_order_id, suggestion.note) == (None, None)


def test_inv_03_sales_outside_the_window_and_drafts_and_other_warehouses_do_not_count(
    shop: Shop, clock: FixedClock
) -> None:
    _history_of_sales(shop, clock)
    _receive(shop, "MUG-BLUE", 50, warehouse="BJ-02")
    _sell(shop, "MUG-BLUE", 20, warehouse="BJ-02", order="order:bj")  # other warehouse's sales
    _placed_order(shop, "MUG-BLUE", 30, warehouse="BJ-02")  # on order for the other warehouse
    supplier = _supplier(shop, "DRAFTY")
    shop.purchasing.draft_order(  # a draft is not on order yet
        ZHOU,
        {
            "supplier_id": supplier.id,
            "warehouse": "SH-01",
            "expected_arrival": date(2026, 12, 31),
            "lines": [{"sku": "MUG-BLUE", "quantity": 40, "unit_cost": {"amount": "1", "currency": "CNY"}}],
        },
    )
    _reserve(shop, "MUG-BLUE", 16, order="order:big")
    (suggestion,) = shop.inventory.suggestions(ZHOU, warehouse="SH-01")
    assert suggestion.daily_sales == Decimal("2.00")
    assert suggestion.suggested_quantity == 28 + 10 - 9


def test_inv_03_an_open_purchase_order_that_covers_the_need_raises_no_suggestion(
    shop: Shop, clock: FixedClock
) -> None:
    _history_of_sales(shop, clock)
    _placed_order(shop, "MUG-BLUE", 29)  # 28 + 10 - 9 = 29 needed, 29 on order
    _reserve(shop, "MUG-BLUE", 16, order="order:big")
    assert shop.inventory.suggestions(ZHOU, state=None) == ()


def test_inv_03_a_partly_received_order_counts_what_is_still_outstanding(
    shop: Shop, clock: FixedClock
) -> None:
    _history_of_sales(shop, clock)
    order = _placed_order(shop, "MUG-BLUE", 20)
    shop.purchasing.receive(WU, order.id, [{"sku": "MUG-BLUE", "received": 6, "accepted": 6}])
    # on hand 31, 14 still on order
    _reserve(shop, "MUG-BLUE", 22, order="order:big")  # available 31 -> 9
    (suggestion,) = shop.inventory.suggestions(ZHOU)
    assert suggestion.available == 9
    assert suggestion.suggested_quantity == 28 + 10 - 9 - 14


def test_inv_03_the_skus_own_threshold_overrides_the_policy_default(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 40)
    level = shop.inventory.set_low_stock_threshold(ZHOU, "MUG-BLUE", "SH-01", 30)
    assert level.low_stock_threshold == 30
    _reserve(shop, "MUG-BLUE", 10)  # 40 -> 30: not below
    assert shop.inventory.suggestions(ZHOU) == ()
    _reserve(shop, "MUG-BLUE", 1, order="order:2")  # 30 -> 29
    (suggestion,) = shop.inventory.suggestions(ZHOU)
    assert (suggestion.available, suggestion.threshold, suggestion.daily_sales) == (29, 30, Decimal("0.00"))
    assert suggestion.suggested_quantity == 0 + 30 - 29


def test_inv_03_an_own_threshold_below_the_default_silences_the_default(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 12)
    shop.inventory.set_low_stock_threshold(ZHAO, "MUG-BLUE", "SH-01", 3)
    _reserve(shop, "MUG-BLUE", 9)  # 12 -> 3: below the default 10, not below its own 3
    assert shop.inventory.suggestions(ZHOU) == ()
    _reserve(shop, "MUG-BLUE", 1, order="order:2")  # 3 -> 2
    assert [(s.available, s.threshold) for s in shop.inventory.suggestions(ZHOU)] == [(2, 3)]
    shop.inventory.set_low_stock_threshold(ZHOU, "MUG-BLUE", "SH-01", None)
    assert shop.inventory.level(ZHOU, "MUG-BLUE", "SH-01").low_stock_threshold is None


def test_inv_03_a_fall_that_stays_at_the_threshold_or_starts_below_it_raises_nothing(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 15)
    _reserve(shop, "MUG-BLUE", 5)  # 15 -> 10: at the level, not below
    assert shop.inventory.suggestions(ZHOU, state=None) == ()
    _receive(shop, "MUG-RED", 8)  # starts below the level
    _reserve(shop, "MUG-RED", 2)
    assert shop.inventory.suggestions(ZHOU, state=None) == ()


def test_inv_03_no_second_suggestion_while_one_is_open(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 20)
    _reserve(shop, "MUG-BLUE", 11)  # 20 -> 9
    _release(shop, "MUG-BLUE", 11)  # back to 20
    _reserve(shop, "MUG-BLUE", 15, order="order:2")  # 20 -> 5, crosses again
    (suggestion,) = shop.inventory.suggestions(ZHOU, state=None)
    assert (suggestion.available, suggestion.state) == (9, SuggestionState.OPEN)


def test_inv_03_a_new_suggestion_after_the_open_one_was_dismissed_and_stock_falls_again(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 20)
    _reserve(shop, "MUG-BLUE", 11)
    (first,) = shop.inventory.suggestions(ZHOU)
    dismissed = shop.inventory.dismiss_suggestion(ZHOU, first.id, note="  discontinued next month ")
    assert (dismissed.state, dismissed.note) == (SuggestionState.DISMISSED, "discontinued next month")
    _reserve(shop, "MUG-BLUE", 2, order="order:2")  # still below: no crossing, nothing new
    assert shop.inventory.suggestions(ZHOU) == ()
    _release(shop, "MUG-BLUE", 13)
    _reserve(shop, "MUG-BLUE", 12, order="order:3")  # 20 -> 8
    (second,) = shop.inventory.suggestions(ZHOU)
    assert second.id != first.id
    assert second.available == 8
    assert [s.state for s in shop.inventory.suggestions(ZHOU, state=None)] == ["dismissed", "open"]
    assert shop.inventory.suggestions(ZHOU, state=SuggestionState.DISMISSED) == (dismissed,)


def test_inv_03_a_suggestion_named_by_a_purchase_order_becomes_ordered(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 20)
    _reserve(shop, "MUG-BLUE", 11)
    (suggestion,) = shop.inventory.suggestions(ZHOU)
    supplier = _supplier(shop)
    order = shop.purchasing.draft_order(
        ZHOU,
        {
            "supplier_id": supplier.id,
            "warehouse": "SH-01",
            "expected_arrival": date(2026, 3, 20),
            "lines": [
                {"sku": "MUG-BLUE", "quantity": 30, "unit_cost": {"amount": "12.50", "currency": "CNY"}}
            ],
            "suggestion_ids": [str(suggestion.id)],
        },
    )
    (ordered,) = shop.inventory.suggestions(ZHOU, state=SuggestionState.ORDERED)
    assert (ordered.id, ordered.purchase_order_id) == (suggestion.id, order.id)
    assert shop.inventory.suggestions(ZHOU) == ()
    with pytest.raises(InvalidTransitionError):
        shop.inventory.dismiss_suggestion(ZHOU, suggestion.id, note="too late")
    _release(shop, "MUG-BLUE", 11)
    _reserve(shop, "MUG-BLUE", 12, order="order:2")  # crosses again: a new open one
    assert [s.available for s in shop.inventory.suggestions(ZHOU)] == [8]


def test_inv_03_a_purchase_order_cannot_cover_a_suggestion_it_does_not_order(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 20)
    _reserve(shop, "MUG-BLUE", 11)
    (suggestion,) = shop.inventory.suggestions(ZHOU)
    supplier = _supplier(shop)
    before = _state(shop)
    for warehouse, sku in (("SH-01", "MUG-RED"), ("BJ-02", "MUG-BLUE")):
        with pytest.raises(InvalidInputError) as info:
            shop.purchasing.draft_order(
                ZHOU,
                {
                    "supplier_id": supplier.id,
                    "warehouse": warehouse,
                    "expected_arrival": date(2026, 3, 20),
                    "lines": [{"sku": sku, "quantity": 30, "unit_cost": {"amount": "1", "currency": "CNY"}}],
                    "suggestion_ids": [suggestion.id],
                },
            )
        assert info.value.field == "suggestion_ids.0"
    assert _state(shop) == before
    assert shop.purchasing.orders(ZHOU) == ()


def test_inv_03_dismissing_needs_purchase_order_and_a_note(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 20)
    _reserve(shop, "MUG-BLUE", 11)
    (suggestion,) = shop.inventory.suggestions(ZHOU)
    for actor in (WU, ZHAO, SUN):
        with pytest.raises(PermissionDeniedError) as denied:
            shop.inventory.dismiss_suggestion(actor, suggestion.id, note="no")
        assert denied.value.permission == "purchase.order"
    for note in ("", "  "):
        with pytest.raises(InvalidInputError) as info:
            shop.inventory.dismiss_suggestion(ZHOU, suggestion.id, note=note)
        assert info.value.field == "note"
    with pytest.raises(NotFoundError):
        shop.inventory.dismiss_suggestion(ZHOU, "0193a8e0-0000-7000-8000-000000000001", note="x")
    with pytest.raises(InvalidInputError) as bad_id:
        shop.inventory.dismiss_suggestion(ZHOU, "not-an-id", note="x")
    assert bad_id.value.field == "suggestion_id"
    assert shop.inventory.suggestions(ZHOU) == (suggestion,)
    shop.inventory.dismiss_suggestion(ZHOU, suggestion.id, note="seasonal")
    with pytest.raises(InvalidTransitionError):
        shop.inventory.dismiss_suggestion(ZHOU, suggestion.id, note="again")


def test_inv_03_a_damage_write_off_below_the_level_raises_a_suggestion_too(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 12)
    shop.inventory.adjust(ZHAO, "MUG-BLUE", "SH-01", -4, reason="damage", note="crushed carton")
    (suggestion,) = shop.inventory.suggestions(ZHOU)
    assert (suggestion.available, suggestion.threshold, suggestion.suggested_quantity) == (8, 10, 2)


def test_inv_03_the_low_stock_alert_reaches_the_audit_log(shop: Shop, clock: FixedClock) -> None:
    _receive(shop, "MUG-BLUE", 20)
    clock.advance(timedelta(hours=1))
    _reserve(shop, "MUG-BLUE", 11)
    (suggestion,) = shop.inventory.suggestions(ZHOU)
    (entry,) = shop.audit.entries(SUN, aggregate_id=suggestion.id).items
    assert (entry.action, entry.aggregate_type, entry.actor_id) == (
        "LowStockAlerted",
        "ReplenishmentSuggestion",
        "system:orders",
    )
    assert (entry.occurred_at, entry.policy_version) == (AT + timedelta(hours=1), 1)
    assert dict(entry.details) == {
        "sku": "MUG-BLUE",
        "warehouse": "SH-01",
        "available": 9,
        "threshold": 10,
        "suggested_quantity": 1,
    }
    shop.inventory.dismiss_suggestion(ZHOU, suggestion.id, note="seasonal")
    actions = [e.action for e in shop.audit.entries(SUN, aggregate_id=suggestion.id).items]
    assert actions == ["LowStockAlerted", "SuggestionClosed"]


def test_inv_03_the_policy_default_in_force_applies(shop: Shop, clock: FixedClock) -> None:
    _policy_with(shop, clock, "low_stock_default = 10", "low_stock_default = 25")
    _receive(shop, "MUG-BLUE", 30)
    _reserve(shop, "MUG-BLUE", 6)  # 30 -> 24
    (suggestion,) = shop.inventory.suggestions(ZHOU)
    assert (suggestion.threshold, suggestion.policy_version, suggestion.suggested_quantity) == (25, 2, 1)


def test_inv_03_bad_thresholds_are_refused_and_setting_one_needs_stock_threshold(shop: Shop) -> None:
    for value in (-1, 1.5, "3", True):
        with pytest.raises(InvalidInputError) as info:
            shop.inventory.set_low_stock_threshold(ZHOU, "MUG-BLUE", "SH-01", value)
        assert info.value.field == "threshold"
    for actor in (WU, SUN, LI):
        with pytest.raises(PermissionDeniedError) as denied:
            shop.inventory.set_low_stock_threshold(actor, "MUG-BLUE", "SH-01", 3)
        assert denied.value.permission == "stock.threshold"
    assert shop.inventory.level(ZHOU, "MUG-BLUE", "SH-01").low_stock_threshold is None


# -- INV-04: turnover and slow movers --------------------------------------------------------------


def _turnover_history(shop: Shop, clock: FixedClock) -> None:
    """
    MUG-BLUE in SH-01: 100 in on day 0, 20 sold on day 10, 30 in on day 15, 30 sold on day 20,
    10 sold on day 40. MUG-RED in SH-01: 40 in on day 0, never sold. MUG-BLUE in BJ-02: 10 in on
    day 1, 4 sold on day 2.
    """
    _receive(shop, "MUG-BLUE", 100)
    _receive(shop, "MUG-RED", 40)
    clock.set(AT + timedelta(days=1))
    _receive(shop, "MUG-BLUE", 10, warehouse="BJ-02")
    clock.set(AT + timedelta(days=2))
    _sell(shop, "MUG-BLUE", 4, warehouse="BJ-02", order="order:bj")
    clock.set(AT + timedelta(days=10))
    _sell(shop, "MUG-BLUE", 20, order="order:d10")
    clock.set(AT + timedelta(days=15))
    _receive(shop, "MUG-BLUE", 30)
    clock.set(AT + timedelta(days=20))
    _sell(shop, "MUG-BLUE", 30, order="order:d20")
    clock.set(AT + timedelta(days=40))
    _sell(shop, "MUG-BLUE", 10, order="order:d40")


def test_inv_04_turnover_over_a_period_from_the_ledger(shop: Shop, clock: FixedClock) -> None:
    _turnover_history(shop, clock)
    since, until = AT + timedelta(days=5), AT + timedelta(days=30)
    lines = shop.inventory.turnover(ANALYST, since=since, until=until, warehouse="SH-01")
    assert [(x.sku, x.warehouse) for x in lines] == [("MUG-BLUE", "SH-01"), ("MUG-RED", "SH-01")]
    blue, red = lines
    # opening 100, closing 100 - 20 + 30 - 30 = 80 (the 10 sold on day 40 are after the period)
    assert (blue.opening, blue.closing, blue.shipped) == (100, 80, 50)
    assert blue.turnover == Decimal("0.56")  # 50 / ((100 + 80) / 2)
    assert blue.days_of_cover == Decimal("40.0")  # 80 / (50 / 25 days)
    assert (red.opening, red.closing, red.shipped, red.turnover, red.days_of_cover) == (
        40,
        40,
        0,
        Decimal("0.00"),
        None,
    )
    everywhere = shop.inventory.turnover(ANALYST, since=since, until=until)
    assert [(x.sku, x.warehouse) for x in everywhere] == [
        ("MUG-BLUE", "BJ-02"),
        ("MUG-BLUE", "SH-01"),
        ("MUG-RED", "SH-01"),
    ]
    assert (everywhere[0].opening, everywhere[0].closing, everywhere[0].shipped) == (6, 6, 0)


def test_inv_04_turnover_of_a_period_with_stock_only_at_one_end_and_none_on_average(
    shop: Shop, clock: FixedClock
) -> None:
    _turnover_history(shop, clock)
    shop.inventory.set_low_stock_threshold(ZHOU, "MUG-GREEN", "SH-01", 2)  # known, never stocked
    lines = shop.inventory.turnover(
        ANALYST, since=AT - timedelta(days=1), until=AT + timedelta(days=12), warehouse="SH-01"
    )
    blue = next(x for x in lines if x.sku == "MUG-BLUE")
    assert (blue.opening, blue.closing, blue.shipped, blue.turnover) == (0, 80, 20, Decimal("0.50"))
    assert blue.days_of_cover == Decimal("52.0")  # 80 / (20 / 13 days)
    green = next(x for x in lines if x.sku == "MUG-GREEN")
    assert (green.opening, green.closing, green.turnover, green.days_of_cover) == (0, 0, None, None)


def test_inv_04_turnover_refuses_a_bad_period_or_warehouse(shop: Shop) -> None:
    naive = datetime(2026, 3, 1, 9, 0)
    with pytest.raises(InvalidInputError) as info:
        shop.inventory.turnover(ANALYST, since=naive, until=AT)
    assert info.value.field == "since"
    with pytest.raises(InvalidInputError) as info:
        shop.inventory.turnover(ANALYST, since=AT, until=naive)
    assert info.value.field == "until"
    for since, until in ((AT, AT), (AT + timedelta(days=1), AT)):
        with pytest.raises(InvalidInputError) as info:
            shop.inventory.turnover(ANALYST, since=since, until=until)
        assert info.value.field == "since"
    with pytest.raises(NotFoundError) as missing:
        shop.inventory.turnover(ANALYST, since=AT, until=AT + timedelta(days=1), warehouse="XX-99")
    assert "XX-99" in str(missing.value)


def test_inv_04_slow_movers_have_stock_and_no_sale_for_the_policy_days(shop: Shop, clock: FixedClock) -> None:
    _turnover_history(shop, clock)
    clock.set(AT + timedelta(days=100))
    # MUG-RED: never sold, first movement on day 0; MUG-BLUE SH-01 last sold on day 40 (60 days);
    # MUG-BLUE BJ-02: last sold on day 2 (98 days)
    movers = shop.inventory.slow_movers(ANALYST)
    assert [
        (m.sku, m.warehouse, m.on_hand, m.last_sale_at, m.idle_days, m.policy_version) for m in movers
    ] == [
        ("MUG-RED", "SH-01", 40, None, 100, 1),
        ("MUG-BLUE", "BJ-02", 6, AT + timedelta(days=2), 98, 1),
    ]
    assert [m.sku for m in shop.inventory.slow_movers(ANALYST, warehouse="SH-01")] == ["MUG-RED"]
    at_boundary = shop.inventory.slow_movers(ANALYST, at=AT + timedelta(days=130), warehouse="SH-01")
    assert [(m.sku, m.idle_days) for m in at_boundary] == [("MUG-RED", 130), ("MUG-BLUE", 90)]
    just_before = shop.inventory.slow_movers(
        ANALYST, at=AT + timedelta(days=130) - timedelta(seconds=1), warehouse="SH-01"
    )
    assert [m.sku for m in just_before] == ["MUG-RED"]


def test_inv_04_slow_movers_without_stock_are_not_listed(shop: Shop, clock: FixedClock) -> None:
    _receive(shop, "MUG-GREEN", 5)
    shop.inventory.adjust(ZHAO, "MUG-GREEN", "SH-01", -5, reason="loss", note="gone")
    clock.set(AT + timedelta(days=200))
    assert shop.inventory.slow_movers(ANALYST) == ()


def test_inv_04_slow_movers_as_of_a_past_instant_use_the_stock_on_hand_then(
    shop: Shop, clock: FixedClock
) -> None:
    # MUG-GREEN: 5 in on day 0, all lost on day 10, 7 in on day 200 -> nothing on hand on day 100.
    # MUG-RED: 5 in on day 0, never sold, lost on day 150 -> 5 idle for 100 days on day 100.
    _receive(shop, "MUG-GREEN", 5)
    _receive(shop, "MUG-RED", 5)
    clock.set(AT + timedelta(days=10))
    shop.inventory.adjust(ZHAO, "MUG-GREEN", "SH-01", -5, reason="loss", note="gone")
    clock.set(AT + timedelta(days=150))
    shop.inventory.adjust(ZHAO, "MUG-RED", "SH-01", -5, reason="loss", note="gone")
    clock.set(AT + timedelta(days=200))
    _receive(shop, "MUG-GREEN", 7)
    movers = shop.inventory.slow_movers(ANALYST, at=AT + timedelta(days=100))
    assert [(m.sku, m.on_hand, m.idle_days) for m in movers] == [("MUG-RED", 5, 100)]


def test_inv_03_a_bad_state_filter_is_refused_as_invalid_input(shop: Shop) -> None:
    with pytest.raises(InvalidInputError) as info:
        shop.inventory.suggestions(ZHOU, state="bogus")  # type: ignore[arg-type]
    assert info.value.field == "state"


def test_inv_04_slow_movers_record_the_policy_version_that_set_the_days(
    shop: Shop, clock: FixedClock
) -> None:
    _turnover_history(shop, clock)
    clock.set(AT + timedelta(days=100))
    _policy_with(shop, clock, "slow_moving_days = 90", "slow_moving_days = 50")
    movers = shop.inventory.slow_movers(ANALYST, warehouse="SH-01")
    assert [(m.sku, m.idle_days, m.policy_version) for m in movers] == [
        ("MUG-RED", 100, 2),
        ("MUG-BLUE", 60, 2),
    ]
    earlier = shop.inventory.slow_movers(ANALYST, at=AT + timedelta(days=99), warehouse="SH-01")
    assert [(m.sku, m.policy_version) for m in earlier] == [("MUG-RED", 1)]
    with pytest.raises(InvalidInputError) as info:
        shop.inventory.slow_movers(ANALYST, at=datetime(2026, 6, 1))
    assert info.value.field == "at"


# -- INV-07: the ledger ----------------------------------------------------------------------------


def test_inv_07_every_act_leaves_a_movement_with_reason_author_time_and_reference(
    shop: Shop, clock: FixedClock
) -> None:
    order = _placed_order(shop, "MUG-BLUE", 30)
    clock.advance(timedelta(hours=1))
    shop.purchasing.receive(WU, order.id, [{"sku": "MUG-BLUE", "received": 30, "accepted": 30}])
    clock.advance(timedelta(hours=1))
    _reserve(shop, "MUG-BLUE", 5, order="order:A")
    clock.advance(timedelta(hours=1))
    _release(shop, "MUG-BLUE", 2, order="order:A")
    clock.advance(timedelta(hours=1))
    with shop.unit_of_work(ORDERS) as uow:
        shop.inventory.ship_in(uow, "MUG-BLUE", "SH-01", 3, reference="order:A")
        uow.commit()
    clock.advance(timedelta(hours=1))
    shop.inventory.restock_return(WU, "MUG-BLUE", "SH-01", 1, reference="return:A")
    clock.advance(timedelta(hours=1))
    shop.inventory.adjust(ZHAO, "MUG-BLUE", "SH-01", -1, reason="damage", note="chipped")
    clock.advance(timedelta(hours=1))
    sheet = shop.stock_counts.open(WU, "SH-01")
    shop.stock_counts.record(WU, sheet.id, {"MUG-BLUE": 28})
    shop.stock_counts.explain(WU, sheet.id, {"MUG-BLUE": "one box behind the shelf"})
    submitted = shop.stock_counts.submit(WU, sheet.id)
    assert submitted.approval is not None
    shop.approvals.approve(SUN, submitted.approval.id)

    rows = [
        (m.reason, m.on_hand_delta, m.reserved_delta, m.actor, m.at - AT, m.reference, m.note)
        for m in _ledger(shop)
    ]
    hour = timedelta(hours=1)
    assert rows == [
        (MovementReason.RECEIPT, 30, 0, "wu.gang", hour, f"purchase_order:{order.id}", None),
        (MovementReason.RESERVATION, 0, 5, "system:orders", 2 * hour, "order:A", None),
        (MovementReason.RELEASE, 0, -2, "system:orders", 3 * hour, "order:A", None),
        (MovementReason.SHIPMENT, -3, -3, "system:orders", 4 * hour, "order:A", None),
        (MovementReason.CUSTOMER_RETURN, 1, 0, "wu.gang", 5 * hour, "return:A", None),
        (MovementReason.DAMAGE, -1, 0, "zhao.lei", 6 * hour, None, "chipped"),
        (
            MovementReason.COUNT_ADJUSTMENT,
            1,
            0,
            "sun.li",
            7 * hour,
            f"count:{sheet.id}",
            "one box behind the shelf",
        ),
    ]
    level = shop.inventory.level(ZHAO, "MUG-BLUE", "SH-01")
    assert (level.on_hand, level.reserved) == (28, 0)
    assert sum(m.on_hand_delta for m in _ledger(shop)) == level.on_hand
    assert sum(m.reserved_delta for m in _ledger(shop)) == level.reserved
    assert [m.seq for m in _ledger(shop)] == sorted({m.seq for m in _ledger(shop)})


def test_inv_07_the_ledger_is_append_only_and_pages_in_order(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 10)
    _reserve(shop, "MUG-BLUE", 4)
    first = _ledger(shop)
    _sell(shop, "MUG-BLUE", 2, order="order:2")
    _receive(shop, "MUG-RED", 3)
    after = _ledger(shop)
    assert after[: len(first)] == first
    page1 = shop.inventory.movements(WU, limit=2)
    assert page1.next_cursor is not None
    page2 = shop.inventory.movements(WU, limit=2, cursor=page1.next_cursor)
    page3 = shop.inventory.movements(WU, limit=2, cursor=page2.next_cursor)
    assert page1.items + page2.items + page3.items == after
    assert page3.next_cursor is None
    assert [m.sku for m in shop.inventory.movements(WU, sku="MUG-RED").items] == ["MUG-RED"]
    assert shop.inventory.movements(WU, warehouse="BJ-02").items == ()
    with pytest.raises(InvalidInputError) as info:
        shop.inventory.movements(WU, cursor="garbage!")
    assert info.value.field == "cursor"


def test_inv_03_suggestion_view_lists_only_open_by_default(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 20)
    _receive(shop, "MUG-RED", 20, warehouse="BJ-02")
    _reserve(shop, "MUG-BLUE", 11)
    _reserve(shop, "MUG-RED", 11, warehouse="BJ-02")
    listed = shop.inventory.suggestions(ANALYST)
    assert all(isinstance(s, SuggestionView) for s in listed)
    assert [(s.sku, s.warehouse) for s in listed] == [("MUG-BLUE", "SH-01"), ("MUG-RED", "BJ-02")]
    assert [s.sku for s in shop.inventory.suggestions(ANALYST, warehouse="BJ-02")] == ["MUG-RED"]


def test_inv_03_a_threshold_raised_above_the_stock_raises_a_suggestion_at_once(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 8)
    assert shop.inventory.suggestions(ZHOU) == ()  # 8 is below the default 10, but nothing fell
    shop.inventory.set_low_stock_threshold(ZHOU, "MUG-BLUE", "SH-01", 20)
    assert [
        (s.sku, s.available, s.threshold, s.suggested_quantity) for s in shop.inventory.suggestions(ZHOU)
    ] == [("MUG-BLUE", 8, 20, 12)]


def test_inv_03_cancelling_the_purchase_order_that_covered_a_suggestion_opens_it_again(shop: Shop) -> None:
    _receive(shop, "MUG-BLUE", 20)
    _reserve(shop, "MUG-BLUE", 11)  # 20 -> 9
    (suggestion,) = shop.inventory.suggestions(ZHOU)
    supplier = shop.purchasing.register_supplier(ZHOU, {"code": "ACME", "name": "Acme"})
    order = shop.purchasing.draft_order(
        ZHOU,
        {
            "supplier_id": supplier.id,
            "warehouse": "SH-01",
            "expected_arrival": "2026-03-20",
            "lines": [
                {"sku": "MUG-BLUE", "quantity": 30, "unit_cost": {"amount": "9.00", "currency": "CNY"}}
            ],
            "suggestion_ids": [suggestion.id],
        },
    )
    assert shop.inventory.suggestions(ZHOU) == ()
    shop.purchasing.cancel_order(ZHOU, order.id, reason="supplier cannot deliver")
    (again,) = shop.inventory.suggestions(ZHOU)
    assert (again.id, again.state, again.purchase_order_id) == (suggestion.id, SuggestionState.OPEN, None)
