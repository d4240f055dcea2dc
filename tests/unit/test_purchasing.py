"""Suppliers, purchase plans and orders (INV-05) and receiving with inspection (INV-06) on the memory backend.

Also access (GOV-01: purchasing drafts, the warehouse receives) and bad input:
after every refusal the order, the stock and the ledger are as they were.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from eshop_core import (
    Actor,
    FixedClock,
    InvalidInputError,
    InvalidTransitionError,
    Money,
    NotFoundError,
    PermissionDeniedError,
    PolicyViolationError,
    Role,
    Shop,
)
from eshop_core.domain.inventory import MovementReason
from eshop_core.domain.purchasing import PurchaseLine, PurchaseOrderState, ReceiptLine, SupplierReturn
from eshop_core.services.purchasing import PlanLine, PurchaseOrderView, SupplierView

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ARRIVAL = date(2026, 3, 9)
LI = Actor("li.ming", roles={Role.OPERATIONS})
ZHAO = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
WU = Actor("wu.gang", roles={Role.WAREHOUSE})
ZHOU = Actor("zhou.min", roles={Role.PURCHASING})
SUN = Actor("sun.li", roles={Role.FINANCE})
ANALYST = Actor("he.ping", roles={Role.DATA_ANALYST})
ORDERS = Actor.system("orders")
UNKNOWN_ID = uuid.UUID("0193a8e0-0000-7000-8000-000000000001")


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
        opened.inventory.open_warehouse(ZHAO, code="SH-01", name="Shanghai")
        opened.inventory.open_warehouse(ZHAO, code="BJ-02", name="Beijing")
        yield opened


@pytest.fixture
def acme(shop: Shop) -> SupplierView:
    return shop.purchasing.register_supplier(
        ZHOU,
        {
            "code": "ACME",
            "name": "Acme Ceramics",
            "contact_name": "Wang Lei",
            "contact_phone": "+86 138 0013 8000",
            "licence_number": "91310000MA1FL0000X",
            "qualified_until": "2026-12-31",
        },
    )


# -- helpers ---------------------------------------------------------------------------------------


def _line(sku: str = "MUG-BLUE", quantity: Any = 100, amount: str = "12.50", currency: str = "CNY") -> Any:
    return {"sku": sku, "quantity": quantity, "unit_cost": {"amount": amount, "currency": currency}}


def _command(supplier: Any, **changes: Any) -> dict[str, Any]:
    command: dict[str, Any] = {
        "supplier_id": supplier,
        "warehouse": "SH-01",
        "expected_arrival": ARRIVAL.isoformat(),
        "lines": [_line("MUG-BLUE", 100), _line("MUG-RED", 40, "8.00")],
    }
    command.update(changes)
    return command


def _placed(shop: Shop, supplier_id: Any, **changes: Any) -> PurchaseOrderView:
    order = shop.purchasing.draft_order(ZHOU, _command(supplier_id, **changes))
    return shop.purchasing.place_order(ZHOU, order.id)


def _ledger(shop: Shop) -> tuple[Any, ...]:
    return shop.inventory.movements(ZHAO, limit=1000).items


def _state(shop: Shop, order_id: Any) -> tuple[Any, ...]:
    """The order, the stock and the ledger: what a refusal must leave alone."""
    return (
        shop.purchasing.order(ZHAO, order_id),
        shop.inventory.levels(ZHAO, limit=1000).items,
        _ledger(shop),
    )


def _sell(shop: Shop, sku: str, units: int, warehouse: str = "SH-01") -> None:
    with shop.unit_of_work(ORDERS) as uow:
        shop.inventory.reserve_in(uow, sku, warehouse, units, reference="order:1")
        shop.inventory.ship_in(uow, sku, warehouse, units, reference="order:1")
        uow.commit()


def _stock(shop: Shop, sku: str, units: int, warehouse: str = "SH-01") -> None:
    with shop.unit_of_work(WU) as uow:
        shop.inventory.receive_in(uow, sku, warehouse, units, reference="delivery:test")
        uow.commit()


# -- INV-05: suppliers -----------------------------------------------------------------------------


def test_inv_05_a_supplier_is_registered_with_its_qualification(shop: Shop, acme: SupplierView) -> None:
    assert (acme.code, acme.name, acme.licence_number, acme.qualified_until) == (
        "ACME",
        "Acme Ceramics",
        "91310000MA1FL0000X",
        date(2026, 12, 31),
    )
    assert (acme.contact_name, acme.contact_phone) == ("Wang Lei", "+86 138 0013 8000")
    assert (acme.evaluations, acme.overall) == ((), None)
    assert shop.purchasing.supplier(ZHOU, acme.id) == acme
    entries = shop.audit.entries(ZHAO, aggregate_id=acme.id).items
    assert [(e.action, e.actor_id) for e in entries] == [("SupplierRegistered", "zhou.min")]
    assert "Wang Lei" not in repr(entries[0].details)


def test_inv_05_a_taken_supplier_code_is_refused(shop: Shop, acme: SupplierView) -> None:
    with pytest.raises(InvalidInputError) as info:
        shop.purchasing.register_supplier(ZHOU, {"code": "ACME", "name": "Another Acme"})
    assert info.value.field == "code"
    assert "ACME" in str(info.value)
    assert shop.purchasing.supplier(ZHOU, acme.id).name == "Acme Ceramics"


@pytest.mark.parametrize(
    ("command", "field"),
    [
        ({"code": "AC ME", "name": "Acme"}, "code"),
        ({"code": "", "name": "Acme"}, "code"),
        ({"code": "ACME", "name": "  "}, "name"),
        ({"code": "ACME"}, "name"),
        ({"code": "ACME", "name": "Acme", "qualified_until": "soon"}, "qualified_until"),
        ({"code": "ACME", "name": "Acme", "rating": 5}, "rating"),
    ],
)
def test_inv_05_bad_supplier_fields_are_refused_by_name(
    shop: Shop, command: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        shop.purchasing.register_supplier(ZHOU, command)
    assert info.value.field == field
    shop.purchasing.register_supplier(ZHOU, {"code": "ACME", "name": "Acme"})  # the code is still free


@pytest.mark.parametrize("actor", [WU, ZHAO, SUN, LI])
def test_gov_01_only_supplier_manage_registers_and_evaluates_suppliers(
    shop: Shop, acme: SupplierView, actor: Actor
) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        shop.purchasing.register_supplier(actor, {"code": "OTHER", "name": "Other"})
    assert info.value.permission == "supplier.manage"
    scores = {"qualification": 5, "reputation": 5, "quality": 5, "price": 5, "capacity": 5}
    with pytest.raises(PermissionDeniedError):
        shop.purchasing.evaluate_supplier(actor, acme.id, scores)
    assert shop.purchasing.supplier(ZHOU, acme.id).evaluations == ()


@pytest.mark.parametrize(
    ("scores", "overall"),
    [
        ({"qualification": 5, "reputation": 4, "quality": 4, "price": 3, "capacity": 4}, Decimal("4.00")),
        ({"qualification": 5, "reputation": 5, "quality": 5, "price": 4, "capacity": 4}, Decimal("4.60")),
        ({"qualification": 1, "reputation": 1, "quality": 1, "price": 1, "capacity": 2}, Decimal("1.20")),
    ],
)
def test_inv_05_an_evaluation_scores_five_criteria_and_its_overall_is_their_mean(
    shop: Shop, acme: SupplierView, clock: FixedClock, scores: dict[str, int], overall: Decimal
) -> None:
    clock.advance(timedelta(days=1))
    evaluation = shop.purchasing.evaluate_supplier(ZHOU, acme.id, scores, note=" audit visit ")
    assert evaluation.overall == overall
    assert dict(evaluation.scores) == scores
    assert (evaluation.by, evaluation.at, evaluation.note) == (
        "zhou.min",
        AT + timedelta(days=1),
        "audit visit",
    )
    after = shop.purchasing.supplier(ANALYST, acme.id)
    assert (after.evaluations, after.overall) == ((evaluation,), overall)


def test_inv_05_the_latest_evaluation_is_the_suppliers_overall_score(shop: Shop, acme: SupplierView) -> None:
    shop.purchasing.evaluate_supplier(
        ZHOU, acme.id, {"qualification": 5, "reputation": 5, "quality": 5, "price": 5, "capacity": 5}
    )
    shop.purchasing.evaluate_supplier(
        ZHOU, acme.id, {"qualification": 3, "reputation": 3, "quality": 2, "price": 3, "capacity": 3}
    )
    after = shop.purchasing.supplier(ZHOU, acme.id)
    assert [e.overall for e in after.evaluations] == [Decimal("5.00"), Decimal("2.80")]
    assert after.overall == Decimal("2.80")
    assert shop.purchasing.scorecard(ZHOU, acme.id).overall == Decimal("2.80")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"capacity": None}, "scores.capacity"),
        ({"quality": 0}, "scores.quality"),
        ({"quality": 6}, "scores.quality"),
        ({"price": 3.5}, "scores.price"),
        ({"price": "3"}, "scores.price"),
        ({"reputation": True}, "scores.reputation"),
        ({"delivery": 4}, "scores.delivery"),
    ],
)
def test_inv_05_bad_evaluation_scores_are_refused_naming_the_criterion(
    shop: Shop, acme: SupplierView, changes: dict[str, Any], field: str
) -> None:
    scores: dict[str, Any] = {"qualification": 5, "reputation": 4, "quality": 4, "price": 3, "capacity": 4}
    scores.update(changes)
    scores = {k: v for k, v in scores.items() if v is not None}
    with pytest.raises(InvalidInputError) as info:
        shop.purchasing.evaluate_supplier(ZHOU, acme.id, scores)
    assert info.value.field == field
    assert shop.purchasing.supplier(ZHOU, acme.id).evaluations == ()


@pytest.mark.parametrize("scores", [5, "qualification", None])
def test_inv_05_scores_that_are_not_a_mapping_are_refused_naming_scores(
    shop: Shop, acme: SupplierView, scores: Any
) -> None:
    with pytest.raises(InvalidInputError) as info:
        shop.purchasing.evaluate_supplier(ZHOU, acme.id, scores)
    assert info.value.field == "scores"
    assert shop.purchasing.supplier(ZHOU, acme.id).evaluations == ()


def test_inv_05_evaluating_an_unknown_supplier_is_not_found(shop: Shop) -> None:
    scores = {"qualification": 5, "reputation": 4, "quality": 4, "price": 3, "capacity": 4}
    with pytest.raises(NotFoundError):
        shop.purchasing.evaluate_supplier(ZHOU, UNKNOWN_ID, scores)
    with pytest.raises(NotFoundError):
        shop.purchasing.scorecard(ZHOU, UNKNOWN_ID)
    with pytest.raises(InvalidInputError) as info:
        shop.purchasing.supplier(ZHOU, "not-an-id")
    assert info.value.field == "supplier_id"


@pytest.mark.parametrize(
    ("actor", "sees"), [(ZHOU, True), (ZHAO, True), (WU, False), (SUN, False), (ANALYST, False)]
)
def test_gov_03_supplier_contacts_are_masked_for_readers_without_personal_data_rights(
    shop: Shop, acme: SupplierView, actor: Actor, sees: bool
) -> None:
    for view in (
        shop.purchasing.supplier(actor, acme.id),
        shop.purchasing.scorecard(actor, acme.id).supplier,
    ):
        if sees:
            assert (view.contact_name, view.contact_phone) == ("Wang Lei", "+86 138 0013 8000")
        else:
            assert (view.contact_name, view.contact_phone) == (None, None)
        assert (view.code, view.licence_number) == ("ACME", "91310000MA1FL0000X")


def test_gov_01_reading_suppliers_needs_stock_read(shop: Shop, acme: SupplierView) -> None:
    with pytest.raises(PermissionDeniedError):
        shop.purchasing.supplier(Actor("guest.1"), acme.id)
    with pytest.raises(PermissionDeniedError):
        shop.purchasing.scorecard(Actor("guest.1"), acme.id)


def test_inv_05_the_scorecard_shows_acceptance_and_on_time_rates(
    shop: Shop, acme: SupplierView, clock: FixedClock
) -> None:
    empty = shop.purchasing.scorecard(SUN, acme.id)
    assert (empty.units_received, empty.acceptance_rate, empty.deliveries, empty.on_time_rate) == (
        0,
        None,
        0,
        None,
    )

    order = _placed(shop, acme.id, lines=[_line("MUG-BLUE", 20)])
    clock.set(datetime(2026, 3, 9, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai on the expected day: on time
    shop.purchasing.receive(
        WU, order.id, [{"sku": "MUG-BLUE", "received": 10, "accepted": 8, "reason": "chipped glaze"}]
    )
    clock.set(datetime(2026, 3, 10, 8, 0, tzinfo=UTC))  # 16:00 in Shanghai the next day: late
    shop.purchasing.receive(WU, order.id, [{"sku": "MUG-BLUE", "received": 12, "accepted": 12}])
    other = shop.purchasing.register_supplier(ZHOU, {"code": "OTHER", "name": "Other"})
    other_order = _placed(shop, other.id, lines=[_line("MUG-RED", 5)], expected_arrival="2026-03-20")
    shop.purchasing.receive(
        WU, other_order.id, [{"sku": "MUG-RED", "received": 5, "accepted": 0, "reason": "wrong"}]
    )

    card = shop.purchasing.scorecard(SUN, acme.id)
    assert (card.units_received, card.deliveries) == (22, 2)
    assert card.acceptance_rate == Decimal("0.91")  # 20 of 22
    assert card.on_time_rate == Decimal("0.50")  # 1 of 2
    other_card = shop.purchasing.scorecard(SUN, other.id)
    assert (other_card.units_received, other_card.acceptance_rate, other_card.on_time_rate) == (
        5,
        Decimal("0.00"),
        Decimal("1.00"),
    )


# -- INV-05: drafting purchase orders --------------------------------------------------------------


def test_inv_05_a_drafted_order_carries_supplier_lines_total_and_expected_arrival(
    shop: Shop, acme: SupplierView
) -> None:
    order = shop.purchasing.draft_order(ZHOU, _command(acme.id))
    assert (order.supplier_id, order.warehouse, order.state, order.expected_arrival) == (
        acme.id,
        "SH-01",
        PurchaseOrderState.DRAFT,
        ARRIVAL,
    )
    assert order.lines == (
        PurchaseLine(sku="MUG-BLUE", quantity=100, unit_cost=Money.of("12.50", "CNY")),
        PurchaseLine(sku="MUG-RED", quantity=40, unit_cost=Money.of("8.00", "CNY")),
    )
    assert order.total == Money.of("1570.00", "CNY")  # 100 x 12.50 + 40 x 8.00
    assert (order.created_by, order.created_at, order.placed_at) == ("zhou.min", AT, None)
    assert (order.receipts, order.supplier_returns, order.note) == ((), (), None)
    assert shop.purchasing.order(WU, order.id) == order
    assert shop.purchasing.orders(WU, state=PurchaseOrderState.DRAFT) == (order,)
    assert shop.purchasing.orders(WU, supplier_id=acme.id, warehouse="SH-01") == (order,)
    assert shop.purchasing.orders(WU, warehouse="BJ-02") == ()


def test_inv_05_an_arrival_today_is_accepted(shop: Shop, acme: SupplierView) -> None:
    order = shop.purchasing.draft_order(ZHOU, _command(acme.id, expected_arrival=AT.date()))
    assert order.expected_arrival == AT.date()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [_line(quantity=0)]}, "lines.0.quantity"),
        ({"lines": [_line(quantity=-5)]}, "lines.0.quantity"),
        ({"lines": [_line(quantity=2.5)]}, "lines.0.quantity"),
        ({"lines": [_line(quantity=True)]}, "lines.0.quantity"),
        ({"lines": [_line("MUG BLUE")]}, "lines.0.sku"),
        ({"lines": [_line(amount="-1.00")]}, "lines.0.unit_cost"),
        ({"lines": [_line("MUG-BLUE"), _line("MUG-RED", currency="USD")]}, "lines.1.unit_cost"),
        ({"lines": [_line("MUG-BLUE"), _line("MUG-BLUE", 5)]}, "lines.1.sku"),
        ({"expected_arrival": "2026-03-01"}, "expected_arrival"),
        ({"expected_arrival": "next week"}, "expected_arrival"),
        ({"warehouse": "SH 01"}, "warehouse"),
        ({"supplier_id": "acme"}, "supplier_id"),
        ({"priority": "high"}, "priority"),
        ({"suggestion_ids": ["nope"]}, "suggestion_ids.0"),
    ],
)
def test_inv_05_a_bad_draft_is_refused_by_field_and_creates_nothing(
    shop: Shop, acme: SupplierView, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        shop.purchasing.draft_order(ZHOU, _command(acme.id, **changes))
    assert info.value.field == field
    assert shop.purchasing.orders(ZHOU) == ()


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({"supplier_id": str(UNKNOWN_ID)}, str(UNKNOWN_ID)),
        ({"warehouse": "XX-99"}, "XX-99"),
        ({"lines": [_line("MUG-BLUE"), _line("NO-SUCH-SKU")]}, "NO-SUCH-SKU"),
        ({"suggestion_ids": [str(UNKNOWN_ID)]}, str(UNKNOWN_ID)),
    ],
)
def test_inv_05_a_draft_naming_an_unknown_supplier_warehouse_sku_or_suggestion_is_not_found(
    shop: Shop, acme: SupplierView, changes: dict[str, Any], missing: str
) -> None:
    with pytest.raises(NotFoundError) as info:
        shop.purchasing.draft_order(ZHOU, _command(acme.id, **changes))
    assert missing in str(info.value)
    assert shop.purchasing.orders(ZHOU) == ()


def test_inv_05_a_supplier_whose_qualification_expired_gets_no_order(shop: Shop, clock: FixedClock) -> None:
    lapsed = shop.purchasing.register_supplier(
        ZHOU, {"code": "LAPSED", "name": "Lapsed Ltd", "qualified_until": "2026-03-02"}
    )
    order = shop.purchasing.draft_order(ZHOU, _command(lapsed.id))  # valid through today
    clock.set(datetime(2026, 3, 3, 0, 0, tzinfo=UTC))
    with pytest.raises(PolicyViolationError) as info:
        shop.purchasing.draft_order(ZHOU, _command(lapsed.id))
    assert info.value.rule == "supplier_qualification"
    assert "LAPSED" in str(info.value)
    assert shop.purchasing.orders(ZHOU) == (order,)


@pytest.mark.parametrize("actor", [WU, ZHAO, SUN, LI])
def test_gov_01_only_purchasing_drafts_places_cancels_and_closes_orders(
    shop: Shop, acme: SupplierView, actor: Actor
) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        shop.purchasing.draft_order(actor, _command(acme.id))
    assert info.value.permission == "purchase.order"
    draft = shop.purchasing.draft_order(ZHOU, _command(acme.id))
    before = _state(shop, draft.id)
    for call in (
        lambda: shop.purchasing.place_order(actor, draft.id),
        lambda: shop.purchasing.cancel_order(actor, draft.id, reason="x"),
        lambda: shop.purchasing.close_order(actor, draft.id, reason="x"),
        lambda: shop.purchasing.plan(actor, "SH-01"),
    ):
        with pytest.raises(PermissionDeniedError):
            call()
    assert _state(shop, draft.id) == before


# -- INV-05: order transitions ---------------------------------------------------------------------


def test_inv_05_placing_sends_a_draft_once(shop: Shop, acme: SupplierView, clock: FixedClock) -> None:
    draft = shop.purchasing.draft_order(ZHOU, _command(acme.id))
    clock.advance(timedelta(hours=2))
    placed = shop.purchasing.place_order(ZHOU, draft.id)
    assert (placed.state, placed.placed_at, placed.version) == (
        PurchaseOrderState.PLACED,
        AT + timedelta(hours=2),
        draft.version + 1,
    )
    assert placed.outstanding == {"MUG-BLUE": 100, "MUG-RED": 40}
    before = _state(shop, draft.id)
    with pytest.raises(InvalidTransitionError):
        shop.purchasing.place_order(ZHOU, draft.id)
    assert _state(shop, draft.id) == before
    actions = [e.action for e in shop.audit.entries(ZHAO, aggregate_id=draft.id).items]
    assert actions == ["PurchaseOrderDrafted", "PurchaseOrderPlaced"]


@pytest.mark.parametrize("place_first", [False, True])
def test_inv_05_a_draft_or_placed_order_can_be_cancelled_with_a_reason(
    shop: Shop, acme: SupplierView, place_first: bool
) -> None:
    order = shop.purchasing.draft_order(ZHOU, _command(acme.id))
    if place_first:
        order = shop.purchasing.place_order(ZHOU, order.id)
    before = _state(shop, order.id)
    for reason in ("", "  "):
        with pytest.raises(InvalidInputError) as info:
            shop.purchasing.cancel_order(ZHOU, order.id, reason=reason)
        assert info.value.field == "reason"
    assert _state(shop, order.id) == before
    cancelled = shop.purchasing.cancel_order(ZHOU, order.id, reason=" supplier out of clay ")
    assert (cancelled.state, cancelled.note, cancelled.outstanding) == (
        PurchaseOrderState.CANCELLED,
        "supplier out of clay",
        {},
    )
    after = _state(shop, order.id)
    for call in (
        lambda: shop.purchasing.place_order(ZHOU, order.id),
        lambda: shop.purchasing.cancel_order(ZHOU, order.id, reason="again"),
        lambda: shop.purchasing.close_order(ZHOU, order.id, reason="x"),
        lambda: shop.purchasing.receive(WU, order.id, [{"sku": "MUG-BLUE", "received": 1, "accepted": 1}]),
    ):
        with pytest.raises(InvalidTransitionError):
            call()
    assert _state(shop, order.id) == after


def test_inv_05_only_a_partly_received_order_is_closed_short(shop: Shop, acme: SupplierView) -> None:
    draft = shop.purchasing.draft_order(ZHOU, _command(acme.id))
    with pytest.raises(InvalidTransitionError):
        shop.purchasing.close_order(ZHOU, draft.id, reason="x")
    placed = shop.purchasing.place_order(ZHOU, draft.id)
    with pytest.raises(InvalidTransitionError):
        shop.purchasing.close_order(ZHOU, placed.id, reason="x")
    partial = shop.purchasing.receive(WU, placed.id, [{"sku": "MUG-BLUE", "received": 60, "accepted": 60}])
    before = _state(shop, placed.id)
    with pytest.raises(InvalidTransitionError):  # goods arrived: no cancelling any more
        shop.purchasing.cancel_order(ZHOU, placed.id, reason="x")
    with pytest.raises(InvalidInputError) as info:
        shop.purchasing.close_order(ZHOU, placed.id, reason="")
    assert info.value.field == "reason"
    assert _state(shop, placed.id) == before
    closed = shop.purchasing.close_order(ZHOU, placed.id, reason="rest discontinued")
    assert (closed.state, closed.note, closed.outstanding) == (
        PurchaseOrderState.CLOSED,
        "rest discontinued",
        {},
    )
    assert closed.version == partial.version + 1
    (entry,) = [
        e for e in shop.audit.entries(ZHAO, aggregate_id=placed.id).items if e.action == "PurchaseOrderClosed"
    ]
    assert dict(entry.details["short"]) == {"MUG-BLUE": 40, "MUG-RED": 40}
    with pytest.raises(InvalidTransitionError):
        shop.purchasing.close_order(ZHOU, placed.id, reason="again")


# -- INV-05: the purchase plan ---------------------------------------------------------------------


def test_inv_05_the_purchase_plan_nets_sales_stock_and_what_is_on_order(
    shop: Shop, acme: SupplierView, clock: FixedClock
) -> None:
    _stock(shop, "MUG-BLUE", 100)
    _stock(shop, "MUG-RED", 100)
    _stock(shop, "MUG-GREEN", 5)
    _stock(shop, "MUG-BLUE", 3, warehouse="BJ-02")
    shop.inventory.set_low_stock_threshold(ZHOU, "MUG-GREEN", "SH-01", 30)
    for day, units in ((5, 15), (15, 20), (25, 25), (35, 15)):
        clock.set(AT + timedelta(days=day))
        _sell(shop, "MUG-BLUE", units)
    clock.set(AT + timedelta(days=40))  # 60 MUG-BLUE sold in the 30 days up to now; 25 on hand
    _placed(shop, acme.id, lines=[_line("MUG-BLUE", 8)], expected_arrival="2026-05-01")
    shop.purchasing.draft_order(  # drafts are not on order
        ZHOU, _command(acme.id, lines=[_line("MUG-GREEN", 50)], expected_arrival="2026-05-01")
    )

    plan = shop.purchasing.plan(ZHOU, "SH-01")
    assert plan == (
        PlanLine(
            sku="MUG-GREEN",
            warehouse="SH-01",
            daily_sales=Decimal("0.00"),
            available=5,
            on_order=0,
            threshold=30,
            suggested_quantity=25,  # 0 + 30 - 5
        ),
        PlanLine(
            sku="MUG-BLUE",
            warehouse="SH-01",
            daily_sales=Decimal("2.00"),
            available=25,
            on_order=8,
            threshold=10,
            suggested_quantity=5,  # ceil(2.00 x 14) + 10 - 25 - 8
        ),
    )  # MUG-RED has plenty: not listed
    assert [(x.sku, x.suggested_quantity) for x in shop.purchasing.plan(ZHOU, "BJ-02")] == [("MUG-BLUE", 7)]
    with pytest.raises(NotFoundError) as info:
        shop.purchasing.plan(ZHOU, "XX-99")
    assert "XX-99" in str(info.value)


# -- INV-06: receiving -----------------------------------------------------------------------------


def test_inv_06_accepted_goods_enter_stock_as_a_receipt_and_rejected_ones_await_return(
    shop: Shop, acme: SupplierView, clock: FixedClock
) -> None:
    order = _placed(shop, acme.id)
    clock.advance(timedelta(days=3))
    received = shop.purchasing.receive(
        WU,
        order.id,
        [
            {
                "sku": "MUG-BLUE",
                "received": 100,
                "accepted": 97,
                "rejected": 3,
                "reason": " cracked handles ",
            },
            {"sku": "MUG-RED", "received": 40, "accepted": 40},
        ],
    )
    assert received.state is PurchaseOrderState.PARTIALLY_RECEIVED  # 3 blue still expected
    assert (received.line("MUG-BLUE").accepted, received.line("MUG-BLUE").rejected) == (97, 3)
    assert received.outstanding == {"MUG-BLUE": 3}
    assert received.awaiting_return == {"MUG-BLUE": 3}
    (receipt,) = received.receipts
    assert (receipt.by, receipt.at, receipt.over_receipt) == ("wu.gang", AT + timedelta(days=3), False)
    assert receipt.lines == (
        ReceiptLine(sku="MUG-BLUE", received=100, accepted=97, rejected=3, reason="cracked handles"),
        ReceiptLine(sku="MUG-RED", received=40, accepted=40, rejected=0, reason=None),
    )
    assert shop.inventory.level(WU, "MUG-BLUE", "SH-01").on_hand == 97
    assert shop.inventory.level(WU, "MUG-RED", "SH-01").on_hand == 40
    movements = shop.inventory.movements(WU, reference=f"purchase_order:{order.id}").items
    assert [(m.sku, m.reason, m.on_hand_delta, m.actor, m.at) for m in movements] == [
        ("MUG-BLUE", MovementReason.RECEIPT, 97, "wu.gang", AT + timedelta(days=3)),
        ("MUG-RED", MovementReason.RECEIPT, 40, "wu.gang", AT + timedelta(days=3)),
    ]
    (entry,) = [
        e for e in shop.audit.entries(ZHAO, aggregate_id=order.id).items if e.action == "GoodsReceived"
    ]
    assert (dict(entry.details["accepted"]), dict(entry.details["rejected"])) == (
        {"MUG-BLUE": 97, "MUG-RED": 40},
        {"MUG-BLUE": 3},
    )


def test_inv_06_a_rejection_without_a_given_count_is_received_minus_accepted(
    shop: Shop, acme: SupplierView
) -> None:
    order = _placed(shop, acme.id)
    received = shop.purchasing.receive(
        WU, order.id, [{"sku": "MUG-BLUE", "received": 10, "accepted": 7, "reason": "wrong colour"}]
    )
    assert received.receipts[0].lines[0].rejected == 3
    assert received.awaiting_return == {"MUG-BLUE": 3}
    assert shop.inventory.level(WU, "MUG-BLUE", "SH-01").on_hand == 7


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([{"sku": "MUG-BLUE", "received": 10, "accepted": 8}], "lines.0.reason"),
        ([{"sku": "MUG-BLUE", "received": 10, "accepted": 8, "reason": "  "}], "lines.0.reason"),
        (
            [{"sku": "MUG-BLUE", "received": 10, "accepted": 8, "rejected": 1, "reason": "x"}],
            "lines.0.rejected",
        ),
        (
            [{"sku": "MUG-BLUE", "received": 10, "accepted": 8, "rejected": 3, "reason": "x"}],
            "lines.0.rejected",
        ),
        ([{"sku": "MUG-BLUE", "received": 10, "accepted": 11}], "lines.0.accepted"),
        ([{"sku": "MUG-BLUE", "received": 10, "accepted": -1}], "lines.0.accepted"),
        ([{"sku": "MUG-BLUE", "received": 0, "accepted": 0}], "lines.0.received"),
        ([{"sku": "MUG-BLUE", "received": 2.0, "accepted": 2}], "lines.0.received"),
        ([{"sku": "MUG-BLUE", "received": 2, "accepted": True}], "lines.0.accepted"),
        ([{"sku": "MUG-BLUE", "received": 2}], "lines.0.accepted"),
        ([{"sku": "MUG-BLUE", "received": 2, "accepted": 2, "colour": "blue"}], "lines.0.colour"),
        (
            [
                {"sku": "MUG-BLUE", "received": 2, "accepted": 2},
                {"sku": "MUG-GREEN", "received": 1, "accepted": 1},
            ],
            "lines.1.sku",
        ),
        (
            [
                {"sku": "MUG-BLUE", "received": 2, "accepted": 2},
                {"sku": "MUG-BLUE", "received": 1, "accepted": 1},
            ],
            "lines.1.sku",
        ),
        ([{"sku": "MUG BLUE", "received": 2, "accepted": 2}], "lines.0.sku"),
        ([], "lines"),
        ({"sku": "MUG-BLUE", "received": 2, "accepted": 2}, "lines"),
        ("MUG-BLUE", "lines"),
    ],
)
def test_inv_06_a_bad_receipt_is_refused_by_field_and_changes_nothing(
    shop: Shop, acme: SupplierView, lines: Any, field: str
) -> None:
    order = _placed(shop, acme.id)
    before = _state(shop, order.id)
    with pytest.raises(InvalidInputError) as info:
        shop.purchasing.receive(WU, order.id, lines)
    assert info.value.field == field
    assert _state(shop, order.id) == before


def test_inv_06_accepting_more_than_outstanding_needs_an_explicit_over_receipt(
    shop: Shop, acme: SupplierView
) -> None:
    order = _placed(shop, acme.id)
    shop.purchasing.receive(WU, order.id, [{"sku": "MUG-BLUE", "received": 90, "accepted": 90}])
    before = _state(shop, order.id)
    too_many = [
        {"sku": "MUG-BLUE", "received": 12, "accepted": 12},
        {"sku": "MUG-RED", "received": 40, "accepted": 40},
    ]
    with pytest.raises(InvalidInputError) as info:
        shop.purchasing.receive(WU, order.id, too_many)
    assert info.value.field == "lines.0.accepted"
    assert "10 outstanding" in str(info.value)
    with pytest.raises(InvalidInputError) as info:
        shop.purchasing.receive(WU, order.id, too_many, allow_over_receipt="yes")  # type: ignore[arg-type]
    assert info.value.field == "allow_over_receipt"
    assert _state(shop, order.id) == before
    # more arrived than outstanding, but the extra is rejected: fine without over-receipt
    rejected_extra = shop.purchasing.receive(
        WU, order.id, [{"sku": "MUG-RED", "received": 42, "accepted": 40, "reason": "surplus sent back"}]
    )
    assert rejected_extra.receipts[-1].over_receipt is False

    over = shop.purchasing.receive(WU, order.id, too_many[:1], allow_over_receipt=True)
    assert over.state is PurchaseOrderState.RECEIVED
    assert over.receipts[-1].over_receipt is True
    assert (over.line("MUG-BLUE").accepted, over.line("MUG-BLUE").outstanding) == (102, 0)
    assert shop.inventory.level(WU, "MUG-BLUE", "SH-01").on_hand == 102
    with pytest.raises(InvalidTransitionError):
        shop.purchasing.receive(WU, order.id, [{"sku": "MUG-BLUE", "received": 1, "accepted": 1}])


def test_inv_06_a_draft_order_cannot_be_received(shop: Shop, acme: SupplierView) -> None:
    draft = shop.purchasing.draft_order(ZHOU, _command(acme.id))
    before = _state(shop, draft.id)
    with pytest.raises(InvalidTransitionError):
        shop.purchasing.receive(WU, draft.id, [{"sku": "MUG-BLUE", "received": 1, "accepted": 1}])
    assert _state(shop, draft.id) == before
    with pytest.raises(NotFoundError):
        shop.purchasing.receive(WU, UNKNOWN_ID, [{"sku": "MUG-BLUE", "received": 1, "accepted": 1}])


def test_inv_06_partial_deliveries_then_the_rest_complete_the_order(
    shop: Shop, acme: SupplierView, clock: FixedClock
) -> None:
    order = _placed(shop, acme.id)
    first = shop.purchasing.receive(WU, order.id, [{"sku": "MUG-BLUE", "received": 60, "accepted": 60}])
    assert (first.state, first.outstanding) == (
        PurchaseOrderState.PARTIALLY_RECEIVED,
        {"MUG-BLUE": 40, "MUG-RED": 40},
    )
    clock.advance(timedelta(days=1))
    second = shop.purchasing.receive(
        WU,
        order.id,
        [
            {"sku": "MUG-BLUE", "received": 40, "accepted": 40},
            {"sku": "MUG-RED", "received": 30, "accepted": 30},
        ],
    )
    assert (second.state, second.outstanding) == (PurchaseOrderState.PARTIALLY_RECEIVED, {"MUG-RED": 10})
    third = shop.purchasing.receive(WU, order.id, [{"sku": "MUG-RED", "received": 10, "accepted": 10}])
    assert (third.state, third.outstanding, len(third.receipts)) == (PurchaseOrderState.RECEIVED, {}, 3)
    assert shop.inventory.level(WU, "MUG-BLUE", "SH-01").on_hand == 100
    assert shop.inventory.level(WU, "MUG-RED", "SH-01").on_hand == 40
    assert (
        sum(
            m.on_hand_delta
            for m in shop.inventory.movements(WU, reference=f"purchase_order:{order.id}").items
        )
        == 140
    )


def test_inv_06_rejected_goods_are_returned_to_the_supplier_once(
    shop: Shop, acme: SupplierView, clock: FixedClock
) -> None:
    order = _placed(shop, acme.id)
    before = _state(shop, order.id)
    with pytest.raises(InvalidTransitionError):  # nothing rejected yet
        shop.purchasing.return_rejected(WU, order.id)
    assert _state(shop, order.id) == before
    shop.purchasing.receive(
        WU,
        order.id,
        [
            {"sku": "MUG-BLUE", "received": 100, "accepted": 95, "reason": "cracked"},
            {"sku": "MUG-RED", "received": 40, "accepted": 38, "reason": "wrong shade"},
        ],
    )
    on_hand = shop.inventory.level(WU, "MUG-BLUE", "SH-01").on_hand
    ledger = _ledger(shop)
    clock.advance(timedelta(days=1))
    returned = shop.purchasing.return_rejected(WU, order.id, note="carrier SF, waybill 123")
    assert returned.awaiting_return == {}
    assert returned.supplier_returns == (
        SupplierReturn(
            lines=(("MUG-BLUE", 5), ("MUG-RED", 2)),
            note="carrier SF, waybill 123",
            by="wu.gang",
            at=AT + timedelta(days=1),
        ),
    )
    assert (returned.line("MUG-BLUE").returned, returned.line("MUG-RED").returned) == (5, 2)
    # rejected goods never entered stock: returning them leaves stock alone
    assert shop.inventory.level(WU, "MUG-BLUE", "SH-01").on_hand == on_hand
    assert _ledger(shop) == ledger
    actions = [e.action for e in shop.audit.entries(ZHAO, aggregate_id=order.id).items]
    assert actions[-1] == "RejectedGoodsReturned"
    after = _state(shop, order.id)
    with pytest.raises(InvalidTransitionError):
        shop.purchasing.return_rejected(WU, order.id)
    assert _state(shop, order.id) == after


def test_inv_06_a_fully_rejected_delivery_counts_as_received_but_adds_no_stock(
    shop: Shop, acme: SupplierView
) -> None:
    order = _placed(shop, acme.id)
    after = shop.purchasing.receive(
        WU, order.id, [{"sku": "MUG-BLUE", "received": 100, "accepted": 0, "reason": "wrong glaze"}]
    )
    assert after.state is PurchaseOrderState.PARTIALLY_RECEIVED
    assert after.outstanding == {"MUG-BLUE": 100, "MUG-RED": 40}
    assert shop.inventory.level(WU, "MUG-BLUE", "SH-01").on_hand == 0
    assert shop.inventory.movements(WU, reference=f"purchase_order:{order.id}").items == ()


@pytest.mark.parametrize("actor", [ZHOU, ZHAO, SUN, ORDERS])
def test_gov_01_only_the_warehouse_receives_and_returns_goods(
    shop: Shop, acme: SupplierView, actor: Actor
) -> None:
    order = _placed(shop, acme.id)
    shop.purchasing.receive(
        WU, order.id, [{"sku": "MUG-BLUE", "received": 10, "accepted": 9, "reason": "dent"}]
    )
    before = _state(shop, order.id)
    with pytest.raises(PermissionDeniedError) as info:
        shop.purchasing.receive(actor, order.id, [{"sku": "MUG-BLUE", "received": 1, "accepted": 1}])
    assert info.value.permission == "stock.receive"
    with pytest.raises(PermissionDeniedError):
        shop.purchasing.return_rejected(actor, order.id)
    assert _state(shop, order.id) == before


def test_gov_01_reading_orders_needs_stock_read(shop: Shop, acme: SupplierView) -> None:
    order = shop.purchasing.draft_order(ZHOU, _command(acme.id))
    guest = Actor("guest.1")
    with pytest.raises(PermissionDeniedError):
        shop.purchasing.order(guest, order.id)
    with pytest.raises(PermissionDeniedError):
        shop.purchasing.orders(guest)
    assert shop.purchasing.order(ANALYST, order.id).id == order.id


def test_inv_05_a_bad_state_filter_is_refused_as_invalid_input(shop: Shop) -> None:
    with pytest.raises(InvalidInputError) as info:
        shop.purchasing.orders(ZHOU, state="bogus")  # type: ignore[arg-type]
    assert info.value.field == "state"
