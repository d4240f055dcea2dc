"""Stocktaking on the memory backend (INV-02): count, explain, approve by variance size, book equals physical.

Also access (GOV-01: who counts, who approves, maker-checker) and bad input:
every refusal leaves the sheet, the stock and the ledger as they were.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from eshop_core import (
    Actor,
    FixedClock,
    InsufficientStockError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    Permission,
    PermissionDeniedError,
    PolicyViolationError,
    Role,
    Shop,
)
from eshop_core.domain.approvals import ApprovalState
from eshop_core.domain.inventory import CountLine, MovementReason, StockCountState
from eshop_core.schemas.policies import default_policy_text
from eshop_core.services.stock_counts import STOCK_COUNT_SUBJECT, StockCountView

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LI = Actor("li.ming", roles={Role.OPERATIONS})
ZHAO = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
QIAN = Actor("qian.yu", roles={Role.DEPARTMENT_MANAGER})
WU = Actor("wu.gang", roles={Role.WAREHOUSE})
WEI = Actor("wei.na", roles={Role.WAREHOUSE})
ZHOU = Actor("zhou.min", roles={Role.PURCHASING})
SUN = Actor("sun.li", roles={Role.FINANCE})
LIN = Actor("lin.tao", roles={Role.WAREHOUSE, Role.DEPARTMENT_MANAGER})
ORDERS = Actor.system("orders")


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
        _receive(opened, "MUG-BLUE", 40)
        _receive(opened, "MUG-RED", 12)
        _receive(opened, "MUG-BLUE", 5, warehouse="BJ-02")
        yield opened


def _receive(shop: Shop, sku: str, units: int, warehouse: str = "SH-01") -> None:
    with shop.unit_of_work(WU) as uow:
        shop.inventory.receive_in(uow, sku, warehouse, units, reference="delivery:test")
        uow.commit()


def _reserve(shop: Shop, sku: str, units: int, warehouse: str = "SH-01") -> None:
    with shop.unit_of_work(ORDERS) as uow:
        shop.inventory.reserve_in(uow, sku, warehouse, units, reference="order:1")
        uow.commit()


def _on_hand(shop: Shop, sku: str, warehouse: str = "SH-01") -> int:
    return shop.inventory.level(ZHAO, sku, warehouse).on_hand


def _ledger(shop: Shop) -> tuple[Any, ...]:
    return shop.inventory.movements(ZHAO, limit=1000).items


def _counting_id(shop: Shop, warehouse: str = "SH-01") -> Any:
    (found,) = [w for w in shop.inventory.warehouses(ZHAO) if w.code == warehouse]
    return found.counting_id


def _state(shop: Shop, count_id: Any) -> tuple[Any, ...]:
    """The sheet, its approval, the stock, the ledger and the warehouse: what a refusal must leave alone."""
    return (
        shop.stock_counts.get(ZHAO, count_id),
        shop.inventory.levels(ZHAO, limit=1000).items,
        _ledger(shop),
        _counting_id(shop),
        tuple(shop.approvals.pending(ZHAO).items),
    )


def _submitted(shop: Shop, counts: dict[str, int], *, by: Actor = WU, skus: list[str] | None = None) -> Any:
    """Open a count of SH-01 (of ``skus``), record ``counts``, explain every variance and submit it."""
    sheet = shop.stock_counts.open(by, "SH-01", skus=skus)
    sheet = shop.stock_counts.record(by, sheet.id, counts)
    if sheet.variances:
        shop.stock_counts.explain(by, sheet.id, {sku: f"recount of {sku}" for sku in sheet.variances})
    return shop.stock_counts.submit(by, sheet.id)


def _policy_with(shop: Shop, clock: FixedClock, old: str, new: str) -> None:
    text = default_policy_text()
    assert old in text
    request = shop.policies.propose(LI, text.replace(old, new), effective_from=clock.now(), reason="tune")
    shop.approvals.approve(ZHAO, request.id)


# -- the whole flow --------------------------------------------------------------------------------


def test_inv_02_count_explain_submit_approve_then_book_equals_physical(shop: Shop, clock: FixedClock) -> None:
    sheet = shop.stock_counts.open(WU, "SH-01")
    assert isinstance(sheet, StockCountView)
    assert (sheet.warehouse, sheet.state, sheet.opened_by, sheet.opened_at) == (
        "SH-01",
        StockCountState.COUNTING,
        "wu.gang",
        AT,
    )
    assert sheet.lines == (CountLine(sku="MUG-BLUE", book=40), CountLine(sku="MUG-RED", book=12))
    assert _counting_id(shop) == sheet.id
    assert _counting_id(shop, "BJ-02") is None

    clock.advance(timedelta(hours=1))
    recorded = shop.stock_counts.record(WEI, sheet.id, {"MUG-BLUE": 38, "MUG-RED": 13})
    assert recorded.variances == {"MUG-BLUE": -2, "MUG-RED": 1}
    assert recorded.line("MUG-BLUE") == CountLine(sku="MUG-BLUE", book=40, counted=38)
    explained = shop.stock_counts.explain(
        WEI,
        sheet.id,
        {"MUG-BLUE": "two broken, binned without a write-off", "MUG-RED": "found in returns bay"},
    )
    assert explained.line("MUG-RED").explanation == "found in returns bay"
    assert _on_hand(shop, "MUG-BLUE") == 40  # nothing booked before approval

    submitted = shop.stock_counts.submit(WEI, sheet.id)
    assert submitted.state is StockCountState.SUBMITTED
    approval = submitted.approval
    assert approval is not None
    assert (approval.subject_type, approval.subject_id, approval.requester, approval.state) == (
        STOCK_COUNT_SUBJECT,
        sheet.id,
        "wei.na",
        ApprovalState.PENDING,
    )
    assert approval.required_permission is Permission.VARIANCE_APPROVE
    assert dict(approval.change["variances"]) == {"MUG-BLUE": -2, "MUG-RED": 1}
    assert [r.id for r in shop.approvals.pending(SUN, subject_type=STOCK_COUNT_SUBJECT).items] == [
        approval.id
    ]
    assert _ledger(shop)[-1].reason is MovementReason.RECEIPT

    clock.advance(timedelta(hours=1))
    decided = shop.approvals.approve(SUN, approval.id, reason="matches the damage log")
    assert (decided.state, decided.decided_by, decided.decision_policy_version) == ("approved", "sun.li", 1)

    adjusted = shop.stock_counts.get(WU, sheet.id)
    assert adjusted.state is StockCountState.ADJUSTED
    assert adjusted.approval is not None
    assert adjusted.approval.state is ApprovalState.APPROVED
    for line in adjusted.lines:  # book equals physical
        assert _on_hand(shop, line.sku) == line.counted
    assert _on_hand(shop, "MUG-BLUE", "BJ-02") == 5  # another warehouse untouched
    booked = shop.inventory.movements(ZHAO, reference=f"count:{sheet.id}").items
    assert [(m.sku, m.reason, m.on_hand_delta, m.actor, m.at, m.note) for m in booked] == [
        (
            "MUG-BLUE",
            MovementReason.COUNT_ADJUSTMENT,
            -2,
            "sun.li",
            AT + timedelta(hours=2),
            "two broken, binned without a write-off",
        ),
        (
            "MUG-RED",
            MovementReason.COUNT_ADJUSTMENT,
            1,
            "sun.li",
            AT + timedelta(hours=2),
            "found in returns bay",
        ),
    ]
    assert _counting_id(shop) is None
    again = shop.stock_counts.open(WU, "SH-01")
    assert again.lines == (CountLine(sku="MUG-BLUE", book=38), CountLine(sku="MUG-RED", book=13))


def test_inv_02_the_adjustment_is_audited_with_the_deciding_policy_version(shop: Shop) -> None:
    submitted = _submitted(shop, {"MUG-BLUE": 39, "MUG-RED": 12})
    shop.approvals.approve(SUN, submitted.approval.id)
    entries = shop.audit.entries(ZHAO, aggregate_id=submitted.id).items
    assert [e.action for e in entries] == [
        "StockCountOpened",
        "StockCounted",
        "VariancesExplained",
        "StockCountSubmitted",
        "StockCountAdjusted",
    ]
    assert (entries[-1].actor_id, entries[-1].policy_version) == ("sun.li", 1)
    assert dict(entries[-1].details["variances"]) == {"MUG-BLUE": -1}


def test_inv_02_only_one_count_at_a_time_per_warehouse(shop: Shop) -> None:
    sheet = shop.stock_counts.open(WU, "SH-01")
    for skus in (None, ["MUG-RED"]):
        with pytest.raises(InvalidTransitionError) as info:
            shop.stock_counts.open(WEI, "SH-01", skus=skus)
        assert str(sheet.id) in str(info.value)
    assert [s.id for s in shop.stock_counts.sheets(ZHAO)] == [sheet.id]
    other = shop.stock_counts.open(WEI, "BJ-02")  # another warehouse may be counted meanwhile
    shop.stock_counts.record(WU, sheet.id, {"MUG-BLUE": 41, "MUG-RED": 12})
    shop.stock_counts.explain(WU, sheet.id, {"MUG-BLUE": "a return not booked"})
    shop.stock_counts.submit(WU, sheet.id)
    with pytest.raises(InvalidTransitionError):  # still running while awaiting approval
        shop.stock_counts.open(WEI, "SH-01")
    assert [s.warehouse for s in shop.stock_counts.sheets(ZHAO, state=StockCountState.COUNTING)] == ["BJ-02"]
    assert [s.id for s in shop.stock_counts.sheets(ZHAO, warehouse="BJ-02")] == [other.id]


def test_inv_02_a_cycle_count_covers_only_the_named_skus(shop: Shop) -> None:
    sheet = shop.stock_counts.open(WU, "SH-01", skus=["MUG-RED", "MUG-GREEN"])
    assert sheet.lines == (CountLine(sku="MUG-GREEN", book=0), CountLine(sku="MUG-RED", book=12))
    shop.stock_counts.record(WU, sheet.id, {"MUG-RED": 12, "MUG-GREEN": 0})
    confirmed = shop.stock_counts.submit(WU, sheet.id)
    assert confirmed.state is StockCountState.ADJUSTED
    assert _on_hand(shop, "MUG-BLUE") == 40


@pytest.mark.parametrize(
    ("skus", "error", "field"),
    [
        ([], InvalidInputError, "skus"),
        ("MUG-RED", InvalidInputError, "skus"),
        (["MUG RED"], InvalidInputError, "skus"),
        (["NO-SUCH-SKU"], NotFoundError, None),
    ],
)
def test_inv_02_a_bad_cycle_count_is_refused_and_opens_nothing(
    shop: Shop, skus: Any, error: type[Exception], field: str | None
) -> None:
    with pytest.raises(error) as info:
        shop.stock_counts.open(WU, "SH-01", skus=skus)
    if field is not None:
        assert getattr(info.value, "field", None) == field
    else:
        assert "NO-SUCH-SKU" in str(info.value)
    assert shop.stock_counts.sheets(ZHAO) == ()
    assert _counting_id(shop) is None


def test_inv_02_an_unknown_warehouse_is_not_found(shop: Shop) -> None:
    with pytest.raises(NotFoundError) as info:
        shop.stock_counts.open(WU, "XX-99")
    assert "XX-99" in str(info.value)
    assert shop.stock_counts.sheets(ZHAO) == ()


def test_inv_02_a_sku_found_during_the_count_is_added_with_its_book_quantity(shop: Shop) -> None:
    sheet = shop.stock_counts.open(WU, "SH-01", skus=["MUG-RED"])
    recorded = shop.stock_counts.record(WU, sheet.id, {"MUG-BLUE": 40, "MUG-GREEN": 2})
    assert recorded.lines == (
        CountLine(sku="MUG-BLUE", book=40, counted=40),
        CountLine(sku="MUG-GREEN", book=0, counted=2),
        CountLine(sku="MUG-RED", book=12),
    )
    assert recorded.variances == {"MUG-GREEN": 2}
    before = _state(shop, sheet.id)
    with pytest.raises(NotFoundError) as info:
        shop.stock_counts.record(WU, sheet.id, {"MUG-RED": 12, "NO-SUCH-SKU": 1})
    assert "NO-SUCH-SKU" in str(info.value)
    assert _state(shop, sheet.id) == before


def test_inv_02_an_unexplained_variance_refuses_submission_naming_the_line(shop: Shop) -> None:
    sheet = shop.stock_counts.open(WU, "SH-01")
    shop.stock_counts.record(WU, sheet.id, {"MUG-BLUE": 40, "MUG-RED": 10})
    before = _state(shop, sheet.id)
    with pytest.raises(InvalidInputError) as info:
        shop.stock_counts.submit(WU, sheet.id)
    assert info.value.field == "lines.MUG-RED.explanation"
    assert "-2" in str(info.value)
    assert _state(shop, sheet.id) == before
    assert shop.stock_counts.get(WU, sheet.id).state is StockCountState.COUNTING


def test_inv_02_an_uncounted_line_refuses_submission_naming_the_line(shop: Shop) -> None:
    sheet = shop.stock_counts.open(WU, "SH-01")
    shop.stock_counts.record(WU, sheet.id, {"MUG-BLUE": 40})
    before = _state(shop, sheet.id)
    with pytest.raises(InvalidInputError) as info:
        shop.stock_counts.submit(WU, sheet.id)
    assert info.value.field == "lines.MUG-RED.counted"
    assert _state(shop, sheet.id) == before


@pytest.mark.parametrize(
    ("counts", "field"),
    [
        ({"MUG-BLUE": -1}, "lines.MUG-BLUE.counted"),
        ({"MUG-BLUE": 3.0}, "lines.MUG-BLUE.counted"),
        ({"MUG-BLUE": True}, "lines.MUG-BLUE.counted"),
        ({"MUG-BLUE": "40"}, "lines.MUG-BLUE.counted"),
        ({"MUG-BLUE": 40, "MUG-RED": -2}, "lines.MUG-RED.counted"),
        ({"MUG-GREEN": -1}, "lines.MUG-GREEN.counted"),
        ({"MUG GREEN": 1}, "counts"),
        ({}, "counts"),
        ([("MUG-BLUE", 40)], "counts"),
    ],
)
def test_inv_02_bad_counts_are_refused_all_or_none(shop: Shop, counts: Any, field: str) -> None:
    sheet = shop.stock_counts.open(WU, "SH-01")
    before = _state(shop, sheet.id)
    with pytest.raises(InvalidInputError) as info:
        shop.stock_counts.record(WU, sheet.id, counts)
    assert info.value.field == field
    assert _state(shop, sheet.id) == before


@pytest.mark.parametrize(
    ("explanations", "field"),
    [
        ({"MUG-BLUE": "  "}, "lines.MUG-BLUE.explanation"),
        ({"MUG-BLUE": None}, "lines.MUG-BLUE.explanation"),
        ({"MUG-BLUE": "three broken", "MUG-RED": "not counted yet"}, "lines.MUG-RED.explanation"),
        ({"MUG-BLUE": "three broken", "MUG-GREEN": "not on the sheet"}, "sku"),
        ({}, "explanations"),
        ([("MUG-BLUE", "three broken")], "explanations"),
    ],
)
def test_inv_02_bad_explanations_are_refused_all_or_none(shop: Shop, explanations: Any, field: str) -> None:
    sheet = shop.stock_counts.open(WU, "SH-01")
    shop.stock_counts.record(WU, sheet.id, {"MUG-BLUE": 37})
    before = _state(shop, sheet.id)
    with pytest.raises(InvalidInputError) as info:
        shop.stock_counts.explain(WU, sheet.id, explanations)
    assert info.value.field == field
    assert _state(shop, sheet.id) == before


def test_inv_02_a_sheet_without_variances_is_confirmed_at_once(shop: Shop) -> None:
    confirmed = _submitted(shop, {"MUG-BLUE": 40, "MUG-RED": 12})
    assert (confirmed.state, confirmed.approval, confirmed.variances) == (StockCountState.ADJUSTED, None, {})
    assert shop.approvals.pending(ZHAO).items == ()
    assert shop.inventory.movements(ZHAO, reference=f"count:{confirmed.id}").items == ()
    assert (_on_hand(shop, "MUG-BLUE"), _on_hand(shop, "MUG-RED")) == (40, 12)
    assert _counting_id(shop) is None
    entries = shop.audit.entries(ZHAO, aggregate_id=confirmed.id).items
    assert (entries[-1].action, entries[-1].policy_version) == ("StockCountAdjusted", 1)


def test_inv_02_a_variance_at_the_policy_limit_is_approved_by_finance(shop: Shop) -> None:
    submitted = _submitted(shop, {"MUG-BLUE": 35, "MUG-RED": 17})  # -5 and +5: at the limit of 5
    assert submitted.approval.required_permission is Permission.VARIANCE_APPROVE
    shop.approvals.approve(SUN, submitted.approval.id)
    assert (_on_hand(shop, "MUG-BLUE"), _on_hand(shop, "MUG-RED")) == (35, 17)
    assert shop.stock_counts.get(SUN, submitted.id).state is StockCountState.ADJUSTED


def test_inv_02_a_variance_above_the_policy_limit_needs_a_department_manager(shop: Shop) -> None:
    submitted = _submitted(shop, {"MUG-BLUE": 41, "MUG-RED": 6})  # +1 and -6: one above the limit
    assert submitted.approval.required_permission is Permission.VARIANCE_APPROVE_LARGE
    before = _state(shop, submitted.id)
    with pytest.raises(PermissionDeniedError) as info:
        shop.approvals.approve(SUN, submitted.approval.id)
    assert info.value.permission == "stock.variance_approve_large"
    with pytest.raises(PermissionDeniedError):
        shop.approvals.reject(SUN, submitted.approval.id, reason="not mine to decide")
    assert _state(shop, submitted.id) == before
    shop.approvals.approve(ZHAO, submitted.approval.id)
    assert (_on_hand(shop, "MUG-BLUE"), _on_hand(shop, "MUG-RED")) == (41, 6)


def test_gov_01_nobody_approves_their_own_count(shop: Shop) -> None:
    submitted = _submitted(shop, {"MUG-BLUE": 30, "MUG-RED": 12}, by=LIN)
    before = _state(shop, submitted.id)
    with pytest.raises(PolicyViolationError) as info:
        shop.approvals.approve(LIN, submitted.approval.id)
    assert info.value.rule == "maker_checker"
    assert _state(shop, submitted.id) == before
    shop.approvals.approve(QIAN, submitted.approval.id)
    assert _on_hand(shop, "MUG-BLUE") == 30


@pytest.mark.parametrize("actor", [WU, WEI, ZHOU, LI, ORDERS])
def test_gov_01_warehouse_staff_and_others_cannot_approve_a_count(shop: Shop, actor: Actor) -> None:
    submitted = _submitted(shop, {"MUG-BLUE": 39, "MUG-RED": 12})
    before = _state(shop, submitted.id)
    with pytest.raises(PermissionDeniedError):
        shop.approvals.approve(actor, submitted.approval.id)
    assert _state(shop, submitted.id) == before


@pytest.mark.parametrize("actor", [ZHOU, ZHAO, SUN, LI, ORDERS])
def test_gov_01_only_warehouse_staff_count(shop: Shop, actor: Actor) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        shop.stock_counts.open(actor, "SH-01")
    assert info.value.permission == "stock.count"
    sheet = shop.stock_counts.open(WU, "SH-01")
    before = _state(shop, sheet.id)
    for call in (
        lambda: shop.stock_counts.record(actor, sheet.id, {"MUG-BLUE": 40}),
        lambda: shop.stock_counts.explain(actor, sheet.id, {"MUG-BLUE": "x"}),
        lambda: shop.stock_counts.submit(actor, sheet.id),
        lambda: shop.stock_counts.cancel(actor, sheet.id, reason="x"),
    ):
        with pytest.raises(PermissionDeniedError):
            call()
    assert _state(shop, sheet.id) == before


def test_inv_02_a_rejected_sheet_goes_back_to_counting_and_a_recount_can_be_resubmitted(
    shop: Shop, clock: FixedClock
) -> None:
    submitted = _submitted(shop, {"MUG-BLUE": 31, "MUG-RED": 12})
    first = submitted.approval
    clock.advance(timedelta(hours=1))
    shop.approvals.reject(ZHAO, first.id, reason="nine missing? count again")
    returned = shop.stock_counts.get(WU, submitted.id)
    assert returned.state is StockCountState.COUNTING
    assert returned.approval is not None
    assert (returned.approval.id, returned.approval.state) == (first.id, ApprovalState.REJECTED)
    assert _on_hand(shop, "MUG-BLUE") == 40
    assert _counting_id(shop) == submitted.id

    recounted = shop.stock_counts.record(WU, submitted.id, {"MUG-BLUE": 39})
    assert recounted.line("MUG-BLUE") == CountLine(sku="MUG-BLUE", book=40, counted=39)  # explanation cleared
    with pytest.raises(InvalidInputError) as info:
        shop.stock_counts.submit(WU, submitted.id)
    assert info.value.field == "lines.MUG-BLUE.explanation"
    shop.stock_counts.explain(WU, submitted.id, {"MUG-BLUE": "one broken"})
    resubmitted = shop.stock_counts.submit(WU, submitted.id)
    second = resubmitted.approval
    assert second is not None
    assert second.id != first.id
    assert (second.state, second.required_permission) == (ApprovalState.PENDING, Permission.VARIANCE_APPROVE)
    shop.approvals.approve(SUN, second.id)
    assert _on_hand(shop, "MUG-BLUE") == 39
    assert [
        m.on_hand_delta for m in shop.inventory.movements(ZHAO, reference=f"count:{submitted.id}").items
    ] == [-1]
    entries = shop.audit.entries(ZHAO, aggregate_id=submitted.id).items
    assert "StockCountReturned" in [e.action for e in entries]


def test_inv_02_a_recount_to_the_same_number_keeps_its_explanation(shop: Shop) -> None:
    sheet = shop.stock_counts.open(WU, "SH-01")
    shop.stock_counts.record(WU, sheet.id, {"MUG-BLUE": 38, "MUG-RED": 12})
    shop.stock_counts.explain(WU, sheet.id, {"MUG-BLUE": "two broken"})
    again = shop.stock_counts.record(WEI, sheet.id, {"MUG-BLUE": 38})
    assert again.line("MUG-BLUE").explanation == "two broken"
    assert shop.stock_counts.submit(WEI, sheet.id).state is StockCountState.SUBMITTED


def test_inv_02_a_withdrawn_submission_goes_back_to_counting(shop: Shop) -> None:
    submitted = _submitted(shop, {"MUG-BLUE": 39, "MUG-RED": 12})
    with pytest.raises(PolicyViolationError):  # only the requester withdraws
        shop.approvals.withdraw(WEI, submitted.approval.id)
    shop.approvals.withdraw(WU, submitted.approval.id)
    assert shop.stock_counts.get(WU, submitted.id).state is StockCountState.COUNTING
    assert _on_hand(shop, "MUG-BLUE") == 40


def test_inv_02_cancelling_frees_the_warehouse_and_adjusts_nothing(shop: Shop) -> None:
    sheet = shop.stock_counts.open(WU, "SH-01")
    shop.stock_counts.record(WU, sheet.id, {"MUG-BLUE": 10})
    before = _state(shop, sheet.id)
    for reason in ("", "   "):
        with pytest.raises(InvalidInputError) as info:
            shop.stock_counts.cancel(WU, sheet.id, reason=reason)
        assert info.value.field == "reason"
    assert _state(shop, sheet.id) == before
    cancelled = shop.stock_counts.cancel(WU, sheet.id, reason="fire drill")
    assert cancelled.state is StockCountState.CANCELLED
    assert _counting_id(shop) is None
    assert _on_hand(shop, "MUG-BLUE") == 40
    assert shop.inventory.movements(ZHAO, reference=f"count:{sheet.id}").items == ()
    for call in (
        lambda: shop.stock_counts.record(WU, sheet.id, {"MUG-BLUE": 40}),
        lambda: shop.stock_counts.submit(WU, sheet.id),
        lambda: shop.stock_counts.cancel(WU, sheet.id, reason="again"),
    ):
        with pytest.raises(InvalidTransitionError):
            call()
    assert shop.stock_counts.open(WEI, "SH-01").state is StockCountState.COUNTING


def test_inv_02_a_submitted_sheet_cannot_be_recounted_or_cancelled(shop: Shop) -> None:
    submitted = _submitted(shop, {"MUG-BLUE": 39, "MUG-RED": 12})
    before = _state(shop, submitted.id)
    for call in (
        lambda: shop.stock_counts.record(WU, submitted.id, {"MUG-BLUE": 40}),
        lambda: shop.stock_counts.explain(WU, submitted.id, {"MUG-BLUE": "x"}),
        lambda: shop.stock_counts.submit(WU, submitted.id),
        lambda: shop.stock_counts.cancel(WU, submitted.id, reason="x"),
    ):
        with pytest.raises(InvalidTransitionError):
            call()
    assert _state(shop, submitted.id) == before


def test_inv_02_an_approval_that_would_take_on_hand_below_reserved_fails_and_changes_nothing(
    shop: Shop,
) -> None:
    submitted = _submitted(shop, {"MUG-BLUE": 30, "MUG-RED": 12})  # -10
    _reserve(shop, "MUG-BLUE", 35)  # picked for orders after the count: on hand 40, reserved 35
    before = _state(shop, submitted.id)
    with pytest.raises(InsufficientStockError) as info:
        shop.approvals.approve(ZHAO, submitted.approval.id)
    assert (info.value.sku, info.value.warehouse) == ("MUG-BLUE", "SH-01")
    assert _state(shop, submitted.id) == before
    after = shop.stock_counts.get(ZHAO, submitted.id)
    assert after.state is StockCountState.SUBMITTED
    assert after.approval.state is ApprovalState.PENDING
    level = shop.inventory.level(ZHAO, "MUG-BLUE", "SH-01")
    assert (level.on_hand, level.reserved) == (40, 35)


def test_inv_02_a_count_adjustment_below_the_warning_level_raises_a_suggestion(shop: Shop) -> None:
    submitted = _submitted(shop, {"MUG-BLUE": 40, "MUG-RED": 8})  # 12 -> 8, below the default 10
    shop.approvals.approve(SUN, submitted.approval.id)
    (suggestion,) = shop.inventory.suggestions(ZHOU)
    assert (suggestion.sku, suggestion.available, suggestion.threshold, suggestion.suggested_quantity) == (
        "MUG-RED",
        8,
        10,
        2,
    )


def test_inv_02_raising_the_policy_limit_lets_finance_approve_what_needed_a_manager(
    shop: Shop, clock: FixedClock
) -> None:
    large = _submitted(shop, {"MUG-BLUE": 34, "MUG-RED": 12})  # -6 under version 1 (limit 5)
    assert large.approval.required_permission is Permission.VARIANCE_APPROVE_LARGE
    shop.approvals.reject(ZHAO, large.approval.id, reason="recount under the new policy")
    shop.stock_counts.cancel(WU, large.id, reason="policy changes")

    _policy_with(shop, clock, "variance_approval_units = 5", "variance_approval_units = 10")
    small = _submitted(shop, {"MUG-BLUE": 34, "MUG-RED": 12})
    assert small.approval.required_permission is Permission.VARIANCE_APPROVE
    assert small.approval.policy_version == 2
    shop.approvals.approve(SUN, small.approval.id)
    assert _on_hand(shop, "MUG-BLUE") == 34


def test_inv_02_lowering_the_policy_limit_to_zero_sends_every_variance_to_a_manager(
    shop: Shop, clock: FixedClock
) -> None:
    _policy_with(shop, clock, "variance_approval_units = 5", "variance_approval_units = 0")
    submitted = _submitted(shop, {"MUG-BLUE": 39, "MUG-RED": 12})
    assert submitted.approval.required_permission is Permission.VARIANCE_APPROVE_LARGE
    with pytest.raises(PermissionDeniedError):
        shop.approvals.approve(SUN, submitted.approval.id)
    assert _on_hand(shop, "MUG-BLUE") == 40


def test_inv_02_reading_sheets_needs_stock_read_and_a_real_id(shop: Shop) -> None:
    sheet = shop.stock_counts.open(WU, "SH-01")
    with pytest.raises(PermissionDeniedError):
        shop.stock_counts.get(Actor("guest.1"), sheet.id)
    with pytest.raises(NotFoundError):
        shop.stock_counts.get(ZHAO, "0193a8e0-0000-7000-8000-000000000001")
    with pytest.raises(InvalidInputError) as info:
        shop.stock_counts.get(ZHAO, "not-an-id")
    assert info.value.field == "count_id"
    assert shop.stock_counts.get(SUN, str(sheet.id)).id == sheet.id


def test_inv_02_a_bad_state_filter_is_refused_as_invalid_input(shop: Shop) -> None:
    with pytest.raises(InvalidInputError) as info:
        shop.stock_counts.sheets(ZHAO, state="bogus")  # type: ignore[arg-type]
    assert info.value.field == "state"
