"""
The :class:`~eshop_core.storage.inventory_ports.StockLedger` conformance suite (INV-01, INV-07).

A storage backend that implements the stock ledger proves it by running this
suite: subclass :class:`StockLedgerContract` in a test module and provide the
``open_shop`` fixture, a callable ``open_shop(**kwargs) -> Shop`` that opens a
*fresh, empty* shop on the backend and passes ``kwargs`` (``clock=``) on to
:meth:`Shop.open <eshop_core.Shop.open>`::

    import pytest
    from eshop_core import Shop
    from eshop_core.testing.stock_ledger_contract import StockLedgerContract

    class TestMyStockLedger(StockLedgerContract):
        @pytest.fixture
        def open_shop(self, tmp_path):
            shops = []
            def _open(**kwargs):
                shops.append(Shop.open(f"mydb:///{tmp_path}/{len(shops)}", **kwargs))
                return shops[-1]
            yield _open
            for shop in shops:
                shop.close()

The memory implementation is the reference. Tests named ``test_inv_01_...``
check levels and that nothing is ever oversold; ``test_inv_07_...`` check the
ledger lines, each with its reason, author and time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest

from eshop_core.access import Actor, Role
from eshop_core.clock import FixedClock
from eshop_core.domain.inventory import (
    ADJUSTMENT_REASONS,
    MovementReason,
    StockChange,
    StockLevel,
    StockMovement,
)
from eshop_core.errors import InsufficientStockError, InvalidInputError
from eshop_core.shop import Shop
from eshop_core.storage.inventory_ports import MovementSummary, StockLedger
from eshop_core.storage.unit_of_work import MAX_PAGE_SIZE

__all__ = ["StockLedgerContract"]

WANG = Actor("wang.fang", roles={Role.WAREHOUSE})
LI = Actor("li.ming", roles={Role.OPERATIONS})

MUG = "MUG-BLUE"
CUP = "CUP-1"
NEW = "NEVER-STOCKED"
WH_A = "SH-01"
WH_B = "BJ-02"

OpenShop = Callable[..., Shop]
Act = Callable[[Any], object]
"""One call on a ledger; typed loosely so refusal cases can pass wrong types on purpose."""

R = MovementReason


def _levels(ledger: StockLedger, *, limit: int = MAX_PAGE_SIZE, **filters: Any) -> list[StockLevel]:
    """Every level matching ``filters``, following the cursors."""
    out: list[StockLevel] = []
    cursor = None
    while True:
        page = ledger.levels(limit=limit, cursor=cursor, **filters)
        out += page.items
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


def _movements(ledger: StockLedger, *, limit: int = MAX_PAGE_SIZE, **filters: Any) -> list[StockMovement]:
    """Every ledger line matching ``filters``, following the cursors."""
    out: list[StockMovement] = []
    cursor = None
    while True:
        page = ledger.movements(limit=limit, cursor=cursor, **filters)
        out += page.items
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


def _pages(listing: Callable[..., Any], limit: int) -> list[list[Any]]:
    """The items of each page of ``listing(limit=limit, cursor=...)``, until one has no next cursor."""
    pages: list[list[Any]] = []
    cursor = None
    while True:
        page = listing(limit=limit, cursor=cursor)
        pages.append(list(page.items))
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def _snapshot(shop: Shop) -> tuple[list[StockLevel], list[StockMovement]]:
    """Every level and every ledger line, read in a unit of work of its own."""
    with shop.unit_of_work(LI) as uow:
        ledger = uow.port(StockLedger)
        return _levels(ledger), _movements(ledger)


def _stock(
    shop: Shop, sku: str, warehouse: str, on_hand: int, reserved: int = 0, *, threshold: int | None = None
) -> None:
    """Commit a receipt of ``on_hand`` and a reservation of ``reserved`` (and a warning level)."""
    with shop.unit_of_work(LI) as uow:
        ledger = uow.port(StockLedger)
        if on_hand:
            ledger.receive(sku, warehouse, on_hand)
        if reserved:
            ledger.reserve(sku, warehouse, reserved)
        if threshold is not None:
            ledger.set_threshold(sku, warehouse, threshold)
        uow.commit()


def _level(
    sku: str, warehouse: str, on_hand: int = 0, reserved: int = 0, threshold: int | None = None
) -> StockLevel:
    return StockLevel(
        sku=sku, warehouse=warehouse, on_hand=on_hand, reserved=reserved, low_stock_threshold=threshold
    )


def _call(act: str, *args: object, **kwargs: object) -> Act:
    """A call of ``ledger.<act>(*args, **kwargs)``."""
    return lambda ledger: getattr(ledger, act)(*args, **kwargs)


def _invalid_cases() -> list[Any]:
    """
    ``(act, field)``: each call is refused with InvalidInputError naming ``field``.

    The shop holds 10 on hand, 4 reserved of MUG in WH_A when each runs.
    """
    cases: list[Any] = []
    qty_acts = ("receive", "reserve", "release", "ship")
    adjust: dict[str, object] = {"reason": R.CORRECTION}
    for act in qty_acts:
        for bad in (0, -1, 2.0, "1", True, None):
            cases.append(pytest.param(_call(act, MUG, WH_A, bad), "quantity", id=f"{act}-quantity-{bad!r}"))
    for bad in (0, 1.5, "1", True, None):
        cases.append(
            pytest.param(_call("adjust", MUG, WH_A, bad, **adjust), "delta", id=f"adjust-delta-{bad!r}")
        )
    for act in (*qty_acts, "adjust"):
        extra: dict[str, object] = adjust if act == "adjust" else {}
        amount = -1 if act == "adjust" else 1
        for sku in ("", "MUG BLUE", "M" * 65, None, 7):
            cases.append(
                pytest.param(_call(act, sku, WH_A, amount, **extra), "sku", id=f"{act}-sku-{str(sku)[:8]!r}")
            )
        for warehouse in ("", "SH 01", "W" * 33, None):
            cases.append(
                pytest.param(
                    _call(act, MUG, warehouse, amount, **extra),
                    "warehouse",
                    id=f"{act}-warehouse-{str(warehouse)[:8]!r}",
                )
            )
        for reference in ("", "   ", "r" * 129, 5):
            cases.append(
                pytest.param(
                    _call(act, MUG, WH_A, amount, reference=reference, **extra),
                    "reference",
                    id=f"{act}-reference-{str(reference)[:8]!r}",
                )
            )
    for act, amount in (("receive", 1), ("release", 1), ("adjust", -1)):
        extra = adjust if act == "adjust" else {}
        for note in ("n" * 2001, 5):
            cases.append(
                pytest.param(
                    _call(act, MUG, WH_A, amount, note=note, **extra),
                    "note",
                    id=f"{act}-note-{str(note)[:8]!r}",
                )
            )
    for reason in (R.RESERVATION, R.RELEASE, R.SHIPMENT, R.DAMAGE, R.FOUND, "nonsense"):
        cases.append(
            pytest.param(
                _call("receive", MUG, WH_A, 1, reason=reason), "reason", id=f"receive-reason-{reason}"
            )
        )
    for reason in (R.RECEIPT, R.CUSTOMER_RETURN, R.RESERVATION, R.RELEASE, R.SHIPMENT, "nonsense"):
        cases.append(
            pytest.param(_call("adjust", MUG, WH_A, 1, reason=reason), "reason", id=f"adjust-reason-{reason}")
        )
    for reason, sign in ADJUSTMENT_REASONS.items():
        if sign:  # the reason fixes the sign: the other one is refused
            cases.append(
                pytest.param(
                    _call("adjust", MUG, WH_A, -sign, reason=reason), "delta", id=f"adjust-{reason}-sign"
                )
            )
    for act in ("release", "ship"):  # more than the 4 reserved
        cases.append(pytest.param(_call(act, MUG, WH_A, 5), "quantity", id=f"{act}-more-than-reserved"))
        cases.append(pytest.param(_call(act, NEW, WH_A, 1), "quantity", id=f"{act}-nothing-reserved"))
    for bad in (-1, 1.5, "3", True):
        cases.append(
            pytest.param(_call("set_threshold", MUG, WH_A, bad), "threshold", id=f"threshold-{bad!r}")
        )
    cases.append(pytest.param(_call("set_threshold", "MUG BLUE", WH_A, 1), "sku", id="threshold-sku"))
    cases.append(pytest.param(_call("set_threshold", MUG, "SH 01", 1), "warehouse", id="threshold-warehouse"))
    cases.append(pytest.param(_call("level", "MUG BLUE", WH_A), "sku", id="level-sku"))
    cases.append(pytest.param(_call("level", MUG, "SH 01"), "warehouse", id="level-warehouse"))
    return cases


_INSUFFICIENT: list[Any] = [
    # (act, sku, requested, available) with 10 on hand, 4 reserved of MUG in WH_A
    pytest.param(_call("reserve", MUG, WH_A, 7), MUG, 7, 6, id="reserve-more-than-available"),
    *(
        pytest.param(
            _call("adjust", MUG, WH_A, -7, reason=reason), MUG, 7, 6, id=f"adjust-{reason}-below-reserved"
        )
        for reason, sign in ADJUSTMENT_REASONS.items()
        if sign <= 0
    ),
    pytest.param(_call("reserve", NEW, WH_A, 1), NEW, 1, 0, id="reserve-never-stocked"),
    pytest.param(_call("adjust", NEW, WH_A, -1, reason=R.LOSS), NEW, 1, 0, id="adjust-never-stocked"),
]

_ACTS: list[Any] = [
    # (act, reason, on_hand_delta, reserved_delta, reference, note) with 10 on hand, 4 reserved
    pytest.param(
        _call("receive", MUG, WH_A, 5, reference="purchase_order:7", note="pallet 3"),
        R.RECEIPT,
        5,
        0,
        "purchase_order:7",
        "pallet 3",
        id="receive",
    ),
    pytest.param(
        _call("receive", MUG, WH_A, 2, reason=R.CUSTOMER_RETURN, reference="return:9", note="unopened"),
        R.CUSTOMER_RETURN,
        2,
        0,
        "return:9",
        "unopened",
        id="customer-return",
    ),
    pytest.param(
        _call("reserve", MUG, WH_A, 6, reference="order:1"),
        R.RESERVATION,
        0,
        6,
        "order:1",
        None,
        id="reserve",
    ),
    pytest.param(
        _call("release", MUG, WH_A, 4, reference="order:1", note="order changed"),
        R.RELEASE,
        0,
        -4,
        "order:1",
        "order changed",
        id="release",
    ),
    pytest.param(
        _call("ship", MUG, WH_A, 4, reference="order:1"), R.SHIPMENT, -4, -4, "order:1", None, id="ship"
    ),
    pytest.param(_call("receive", MUG, WH_A, 1), R.RECEIPT, 1, 0, None, None, id="receive-bare"),
    *(
        pytest.param(
            _call(
                "adjust",
                MUG,
                WH_A,
                delta,
                reason=reason,
                reference=f"count:{delta}",
                note=f"{reason} {delta}",
            ),
            reason,
            delta,
            0,
            f"count:{delta}",
            f"{reason} {delta}",
            id=f"adjust-{reason}{delta:+d}",
        )
        for reason, sign in ADJUSTMENT_REASONS.items()
        for delta in ((-6, 3) if sign == 0 else (6 * sign,))  # down to exactly what is reserved
    ),
]


class StockLedgerContract:
    """Behaviour every backend's ``StockLedger`` must show. Subclass and provide ``open_shop``."""

    @pytest.fixture
    def open_shop(self) -> OpenShop:  # pragma: no cover - always overridden
        """Open a fresh, empty shop on the backend under test; subclasses provide it."""
        pytest.fail("a StockLedgerContract subclass must provide the open_shop fixture")

    @pytest.fixture
    def clock(self) -> FixedClock:
        """The shop's clock, moved by hand."""
        return FixedClock()

    @pytest.fixture
    def shop(self, open_shop: OpenShop, clock: FixedClock) -> Shop:
        """A fresh shop on the backend under test, on :meth:`clock`."""
        return open_shop(clock=clock)

    # -- levels (INV-01) ------------------------------------------------------------

    def test_inv_01_the_port_is_provided_and_a_never_stocked_level_is_zero(self, shop: Shop) -> None:
        """The backend serves the port; an unknown SKU has zero stock and is not listed."""
        with shop.unit_of_work(LI) as uow:
            ledger = uow.port(StockLedger)
            assert isinstance(ledger, StockLedger)
            level = ledger.level(NEW, WH_A)
            assert level == _level(NEW, WH_A)
            assert level.available == 0
            assert ledger.levels().items == ()
            assert ledger.movements().items == ()
            assert (
                list(ledger.summary(since=shop.clock.now() - timedelta(days=1), until=shop.clock.now())) == []
            )

    def test_inv_01_reserve_never_promises_more_than_is_available(self, shop: Shop) -> None:
        """Reservations succeed down to exactly zero available; beyond that they are refused."""
        _stock(shop, MUG, WH_A, 5)
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            assert ledger.reserve(MUG, WH_A, 3).after.available == 2
            with pytest.raises(InsufficientStockError) as info:
                ledger.reserve(MUG, WH_A, 3)
            error = info.value
            assert (error.sku, error.warehouse, error.requested, error.available) == (MUG, WH_A, 3, 2)
            assert ledger.reserve(MUG, WH_A, 2).after == _level(MUG, WH_A, 5, 5)
            with pytest.raises(InsufficientStockError) as info:
                ledger.reserve(MUG, WH_A, 1)
            assert info.value.available == 0
            uow.commit()
        with shop.unit_of_work(LI) as uow:
            ledger = uow.port(StockLedger)
            assert ledger.level(MUG, WH_A) == _level(MUG, WH_A, 5, 5)
            assert ledger.level(MUG, WH_B) == _level(MUG, WH_B)  # other warehouses are apart
            assert [m.reason for m in _movements(ledger)] == [R.RECEIPT, R.RESERVATION, R.RESERVATION]

    @pytest.mark.parametrize(("act", "sku", "requested", "available"), _INSUFFICIENT)
    def test_inv_01_insufficient_stock_is_refused_with_what_is_available_and_changes_nothing(
        self, shop: Shop, act: Act, sku: str, requested: int, available: int
    ) -> None:
        """Reserving, or adjusting below what is reserved, raises InsufficientStockError; nothing changes."""
        _stock(shop, MUG, WH_A, 10, 4)
        before = _snapshot(shop)
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            with pytest.raises(InsufficientStockError) as info:
                act(ledger)
            error = info.value
            assert (error.sku, error.warehouse, error.requested, error.available) == (
                sku,
                WH_A,
                requested,
                available,
            )
            assert ledger.level(MUG, WH_A) == _level(MUG, WH_A, 10, 4)
            uow.commit()
        assert _snapshot(shop) == before

    @pytest.mark.parametrize(("act", "field"), _invalid_cases())
    def test_inv_01_invalid_input_is_refused_naming_the_field_and_changes_nothing(
        self, shop: Shop, act: Act, field: str
    ) -> None:
        """A bad argument raises InvalidInputError naming it; the level and the ledger stay as they were."""
        _stock(shop, MUG, WH_A, 10, 4)
        before = _snapshot(shop)
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            with pytest.raises(InvalidInputError) as info:
                act(ledger)
            assert info.value.field == field
            assert ledger.level(MUG, WH_A) == _level(MUG, WH_A, 10, 4)
            uow.commit()
        assert _snapshot(shop) == before

    def test_inv_01_a_refused_act_does_not_spoil_the_rest_of_its_unit_of_work(self, shop: Shop) -> None:
        """After a refusal the unit of work goes on and commits its other acts, and only those."""
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            ledger.receive(MUG, WH_A, 5)
            with pytest.raises(InsufficientStockError):
                ledger.reserve(MUG, WH_A, 6)
            with pytest.raises(InvalidInputError):
                ledger.ship(MUG, WH_A, 1)
            with pytest.raises(InsufficientStockError):
                ledger.adjust(MUG, WH_A, -6, reason=R.DAMAGE)
            ledger.reserve(MUG, WH_A, 2)
            uow.commit()
        levels, movements = _snapshot(shop)
        assert levels == [_level(MUG, WH_A, 5, 2)]
        assert [(m.reason, m.on_hand_after, m.reserved_after) for m in movements] == [
            (R.RECEIPT, 5, 0),
            (R.RESERVATION, 5, 2),
        ]

    def test_inv_01_rollback_undoes_levels_thresholds_and_movements(self, shop: Shop) -> None:
        """Leaving the unit of work without commit, or by an exception, undoes every act in it."""
        _stock(shop, MUG, WH_A, 10, 4, threshold=2)
        before = _snapshot(shop)

        def act(ledger: StockLedger) -> None:
            ledger.receive(MUG, WH_A, 5)
            ledger.reserve(MUG, WH_A, 3)
            ledger.release(MUG, WH_A, 1)
            ledger.ship(MUG, WH_A, 2)
            ledger.adjust(MUG, WH_A, -1, reason=R.DAMAGE)
            ledger.receive(CUP, WH_B, 2)  # a new level
            ledger.set_threshold(MUG, WH_A, 9)

        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            act(ledger)
            # the unit of work reads its own writes
            assert ledger.level(MUG, WH_A) == _level(MUG, WH_A, 12, 4, 9)
            assert ledger.level(CUP, WH_B) == _level(CUP, WH_B, 2)
            assert len(_movements(ledger)) == len(before[1]) + 6
        assert _snapshot(shop) == before

        def fail() -> None:
            with shop.unit_of_work(WANG) as uow:
                act(uow.port(StockLedger))
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            fail()
        assert _snapshot(shop) == before
        with shop.unit_of_work(WANG) as uow:  # the ledger goes on in order after a rollback
            later = uow.port(StockLedger).receive(MUG, WH_A, 1).movement
            uow.commit()
        assert later.seq > max(m.seq for m in before[1])
        assert _snapshot(shop)[1] == [*before[1], later]

    def test_inv_01_levels_page_in_sku_and_warehouse_order_and_filter(self, shop: Shop) -> None:
        """``levels`` lists every stocked level in (SKU, warehouse) code-point order, by pages and filters."""
        keys = [("mug-1", WH_A), ("MUG_RED", WH_B), ("MUG-BLUE", WH_B), ("MUG-BLUE", WH_A), ("A1", WH_A)]
        for i, (sku, warehouse) in enumerate(keys):
            _stock(shop, sku, warehouse, i + 1)
        _stock(shop, "Mug-2", WH_A, 0, threshold=4)  # a warning level alone makes a level
        with shop.unit_of_work(LI) as uow:
            ledger = uow.port(StockLedger)
            ledger.adjust("A1", WH_A, -5, reason=R.LOSS)  # back to zero, still stocked
            uow.commit()
        expected = sorted([*keys, ("Mug-2", WH_A)])
        assert expected[:3] == [("A1", WH_A), ("MUG-BLUE", WH_B), ("MUG-BLUE", WH_A)]
        with shop.unit_of_work(LI) as uow:
            ledger = uow.port(StockLedger)
            everything = ledger.levels().items
            assert [(lv.sku, lv.warehouse) for lv in everything] == expected
            assert everything[0] == _level("A1", WH_A)
            assert ledger.level("Mug-2", WH_A) in everything
            assert ledger.level(NEW, WH_A) not in everything
            for limit, pages in ((1, 6), (3, 2), (4, 2), (6, 1), (MAX_PAGE_SIZE, 1)):
                got = _pages(ledger.levels, limit)
                assert len(got) == pages, limit  # no empty page after an exactly full one
                assert [lv for page in got for lv in page] == list(everything)
            assert [lv.warehouse for lv in _levels(ledger, sku="MUG-BLUE", limit=1)] == [WH_B, WH_A]
            in_a = _levels(ledger, warehouse=WH_A, limit=2)
            assert [lv.sku for lv in in_a] == ["A1", "MUG-BLUE", "Mug-2", "mug-1"]
            assert _levels(ledger, sku="MUG_RED", warehouse=WH_B) == [_level("MUG_RED", WH_B, 2)]
            assert _levels(ledger, sku="MUG_RED", warehouse=WH_A) == []
            assert _levels(ledger, sku=NEW) == []

    def test_inv_01_levels_of_returns_each_skus_levels_in_one_call(self, shop: Shop) -> None:
        """``levels_of`` gives every stocked level of each named SKU; an unstocked SKU maps to []."""
        _stock(shop, "MUG-BLUE", WH_B, 3)
        _stock(shop, "MUG-BLUE", WH_A, 5)
        _stock(shop, "MUG_RED", WH_A, 2)
        with shop.unit_of_work(LI) as uow:
            ledger = uow.port(StockLedger)
            ledger.reserve("MUG-BLUE", WH_A, 4)  # the unit of work's own changes are seen
            found = ledger.levels_of(["MUG-BLUE", NEW, "MUG-BLUE"])
            assert list(found) == sorted({"MUG-BLUE", NEW})
            assert found["MUG-BLUE"] == sorted(
                [ledger.level("MUG-BLUE", WH_A), ledger.level("MUG-BLUE", WH_B)], key=lambda lv: lv.warehouse
            )
            assert found["MUG-BLUE"][[lv.warehouse for lv in found["MUG-BLUE"]].index(WH_A)].available == 1
            assert found[NEW] == []
            assert ledger.levels_of([]) == {}
            with pytest.raises(InvalidInputError) as error:
                ledger.levels_of(["not a sku"])
            assert error.value.field == "skus"

    def test_inv_01_levels_and_movements_refuse_bad_limits_and_cursors(self, shop: Shop) -> None:
        """Page sizes run from 1 to MAX_PAGE_SIZE; a cursor must come from a previous page."""
        with shop.unit_of_work(LI) as uow:
            ledger = uow.port(StockLedger)
            for listing in (ledger.levels, ledger.movements):
                for limit in (0, -1, MAX_PAGE_SIZE + 1, True):
                    with pytest.raises(InvalidInputError) as info:
                        listing(limit=limit)
                    assert info.value.field == "limit"
                with pytest.raises(InvalidInputError) as info:
                    listing(cursor="!!not a cursor!!")
                assert info.value.field == "cursor"

    def test_inv_01_set_threshold_sets_and_clears_the_warning_level_only(self, shop: Shop) -> None:
        """A warning level is kept per SKU and warehouse, survives acts, and writes no ledger line."""
        _stock(shop, MUG, WH_A, 10, 4)
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            assert ledger.set_threshold(MUG, WH_A, 5) == _level(MUG, WH_A, 10, 4, 5)
            assert ledger.set_threshold(CUP, WH_B, 2) == _level(CUP, WH_B, 0, 0, 2)
            uow.commit()
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            assert ledger.level(MUG, WH_A) == _level(MUG, WH_A, 10, 4, 5)
            assert ledger.level(MUG, WH_B) == _level(MUG, WH_B)
            assert _levels(ledger) == [_level(CUP, WH_B, 0, 0, 2), _level(MUG, WH_A, 10, 4, 5)]
            assert len(_movements(ledger)) == 2  # the receipt and reservation only
            change = ledger.receive(MUG, WH_A, 1)
            assert (change.before.low_stock_threshold, change.after.low_stock_threshold) == (5, 5)
            assert ledger.ship(MUG, WH_A, 4).after == _level(MUG, WH_A, 7, 0, 5)
            assert ledger.receive(CUP, WH_B, 3).after == _level(CUP, WH_B, 3, 0, 2)
            assert ledger.set_threshold(MUG, WH_A, 0).low_stock_threshold == 0
            uow.commit()
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            assert ledger.level(MUG, WH_A) == _level(MUG, WH_A, 7, 0, 0)
            assert ledger.set_threshold(MUG, WH_A, None) == _level(MUG, WH_A, 7, 0, None)
            uow.commit()
        with shop.unit_of_work(WANG) as uow:
            assert uow.port(StockLedger).level(MUG, WH_A) == _level(MUG, WH_A, 7)

    def test_inv_01_concurrent_reservations_never_oversell(self, shop: Shop) -> None:
        """Threads reserving one unit each at once get exactly what is on hand, each a distinct level."""
        _stock(shop, MUG, WH_A, 20)
        outcomes: list[int | None] = []
        lock = threading.Lock()

        def reserve_some() -> None:
            actor = Actor(f"picker.{threading.get_ident()}", roles={Role.WAREHOUSE})
            for _ in range(5):
                got: int | None = None
                try:
                    with shop.unit_of_work(actor) as uow:
                        got = uow.port(StockLedger).reserve(MUG, WH_A, 1).after.reserved
                        uow.commit()
                except InsufficientStockError:
                    got = None
                with lock:
                    outcomes.append(got)

        threads = [threading.Thread(target=reserve_some) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(outcomes) == 30
        assert sorted(o for o in outcomes if o is not None) == list(range(1, 21))
        assert outcomes.count(None) == 10
        levels, movements = _snapshot(shop)
        assert levels == [_level(MUG, WH_A, 20, 20)]
        assert sorted(m.reserved_after for m in movements if m.reason is R.RESERVATION) == list(range(1, 21))

    def test_inv_01_reserved_stays_within_on_hand_and_the_ledger_sums_to_the_level(self, shop: Shop) -> None:
        """After mixed acts and refusals, ``0 <= reserved <= on_hand`` and the ledger sums to each level."""
        script: list[tuple[str, str, str, int, dict[str, Any], bool]] = [
            ("receive", MUG, WH_A, 10, {}, True),
            ("receive", MUG, WH_B, 3, {}, True),
            ("reserve", MUG, WH_A, 4, {}, True),
            ("reserve", MUG, WH_A, 7, {}, False),
            ("ship", MUG, WH_A, 3, {}, True),
            ("receive", CUP, WH_A, 5, {"reason": R.CUSTOMER_RETURN}, True),
            ("reserve", MUG, WH_B, 3, {}, True),
            ("adjust", MUG, WH_B, -1, {"reason": R.LOSS}, False),
            ("release", MUG, WH_B, 2, {}, True),
            ("adjust", MUG, WH_B, -2, {"reason": R.LOSS}, True),
            ("adjust", MUG, WH_A, 2, {"reason": R.FOUND}, True),
            ("release", MUG, WH_A, 2, {}, False),
            ("adjust", MUG, WH_A, -8, {"reason": R.COUNT_ADJUSTMENT}, True),
            ("reserve", CUP, WH_A, 5, {}, True),
            ("ship", CUP, WH_A, 5, {}, True),
            ("adjust", CUP, WH_A, 1, {"reason": R.CORRECTION}, True),
            ("ship", MUG, WH_A, 1, {}, True),
            ("reserve", MUG, WH_A, 1, {}, False),
        ]
        seen: list[StockMovement] = []
        for step, (act, sku, warehouse, amount, kwargs, succeeds) in enumerate(script):
            with shop.unit_of_work(WANG) as uow:
                ledger = uow.port(StockLedger)
                try:
                    getattr(ledger, act)(sku, warehouse, amount, **kwargs)
                except (InsufficientStockError, InvalidInputError):
                    assert not succeeds, (act, sku, warehouse, amount)
                else:
                    assert succeeds, (act, sku, warehouse, amount)
                uow.commit()
            if step == 5:
                seen = _snapshot(shop)[1]
        levels, movements = _snapshot(shop)
        assert levels == [_level(CUP, WH_A, 1, 0), _level(MUG, WH_B, 1, 1), _level(MUG, WH_A, 0, 0)]
        assert len(movements) == sum(1 for *_, ok in script if ok)
        assert movements[: len(seen)] == seen  # earlier lines never change
        assert [m.seq for m in movements] == sorted({m.seq for m in movements})
        for level in levels:
            assert 0 <= level.reserved <= level.on_hand
            mine = [m for m in movements if (m.sku, m.warehouse) == (level.sku, level.warehouse)]
            assert sum(m.on_hand_delta for m in mine) == level.on_hand
            assert sum(m.reserved_delta for m in mine) == level.reserved
            on_hand = reserved = 0
            for m in mine:  # each line's "after" follows from the one before
                on_hand, reserved = on_hand + m.on_hand_delta, reserved + m.reserved_delta
                assert (m.on_hand_after, m.reserved_after) == (on_hand, reserved)
                assert 0 <= m.reserved_after <= m.on_hand_after

    # -- the ledger (INV-07) ----------------------------------------------------------

    @pytest.mark.parametrize(("act", "reason", "on_hand_delta", "reserved_delta", "reference", "note"), _ACTS)
    def test_inv_07_every_act_writes_one_ledger_line_with_reason_author_and_time(
        self,
        shop: Shop,
        clock: FixedClock,
        act: Act,
        reason: MovementReason,
        on_hand_delta: int,
        reserved_delta: int,
        reference: str | None,
        note: str | None,
    ) -> None:
        """An act returns the level before and after and its movement: reason, deltas, actor, clock time."""
        _stock(shop, MUG, WH_A, 10, 4, threshold=3)
        _stock(shop, MUG, WH_B, 1)
        setup = clock.now()
        clock.advance(timedelta(hours=2, minutes=5))
        before = _snapshot(shop)
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            change = act(ledger)
            uow.commit()
        assert isinstance(change, StockChange)
        expected_before = _level(MUG, WH_A, 10, 4, 3)
        expected_after = attrs.evolve(
            expected_before, on_hand=10 + on_hand_delta, reserved=4 + reserved_delta
        )
        assert (change.before, change.after) == (expected_before, expected_after)
        m = change.movement
        assert isinstance(m.reason, MovementReason)
        assert (m.sku, m.warehouse, m.reason) == (MUG, WH_A, reason)
        assert (m.on_hand_delta, m.reserved_delta) == (on_hand_delta, reserved_delta)
        assert (m.on_hand_after, m.reserved_after) == (expected_after.on_hand, expected_after.reserved)
        assert (m.actor, m.at, m.reference, m.note) == (WANG.id, clock.now(), reference, note)
        assert m.at.utcoffset() == timedelta(0)
        assert m.seq > max(old.seq for old in before[1])
        levels, movements = _snapshot(shop)
        assert movements == [*before[1], m]  # exactly one line, read back as returned
        assert [lv for lv in levels if lv.warehouse == WH_A] == [expected_after]
        assert [(old.actor, old.at) for old in movements[:-1]] == [(LI.id, setup)] * 3

    def test_inv_07_reference_and_note_are_kept_up_to_their_limits(self, shop: Shop) -> None:
        """A 128-character reference and a 2000-character note are kept whole; an empty note is none."""
        reference, note = "r" * 128, "n" * 2000
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            ledger.receive(MUG, WH_A, 3, reference=reference, note=note)
            ledger.reserve(MUG, WH_A, 2, reference=reference)
            ledger.release(MUG, WH_A, 1, reference="order:2", note="")
            ledger.ship(MUG, WH_A, 1, reference=reference)
            ledger.adjust(MUG, WH_A, -1, reason=R.DAMAGE, reference=reference, note="dropped, 中文备注")
            uow.commit()
        with shop.unit_of_work(LI) as uow:
            got = [(m.reason, m.reference, m.note) for m in _movements(uow.port(StockLedger))]
        assert got == [
            (R.RECEIPT, reference, note),
            (R.RESERVATION, reference, None),
            (R.RELEASE, "order:2", None),
            (R.SHIPMENT, reference, None),
            (R.DAMAGE, reference, "dropped, 中文备注"),
        ]

    def test_inv_07_movements_page_in_ledger_order_and_filter(self, shop: Shop) -> None:
        """``movements`` lists lines in ledger order by pages, filtered by SKU, warehouse and reference."""
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            ledger.receive(MUG, WH_A, 10, reference="purchase_order:1")
            ledger.receive(CUP, WH_A, 5, reference="purchase_order:1")
            ledger.receive(MUG, WH_B, 4, reference="purchase_order:2")
            ledger.reserve(MUG, WH_A, 2, reference="order:1")
            ledger.reserve(CUP, WH_A, 1, reference="order:1")
            ledger.reserve(MUG, WH_B, 1, reference="order:2")
            ledger.ship(MUG, WH_A, 2, reference="order:1")
            uow.commit()
        with shop.unit_of_work(LI) as uow:
            ledger = uow.port(StockLedger)
            everything = list(ledger.movements().items)
            assert len(everything) == 7
            seqs = [m.seq for m in everything]
            assert seqs == sorted(set(seqs))
            assert [(m.sku, m.warehouse, m.reason) for m in everything] == [
                (MUG, WH_A, R.RECEIPT),
                (CUP, WH_A, R.RECEIPT),
                (MUG, WH_B, R.RECEIPT),
                (MUG, WH_A, R.RESERVATION),
                (CUP, WH_A, R.RESERVATION),
                (MUG, WH_B, R.RESERVATION),
                (MUG, WH_A, R.SHIPMENT),
            ]
            for limit, pages in ((1, 7), (3, 3), (7, 1)):
                got = _pages(ledger.movements, limit)
                assert len(got) == pages, limit
                assert [m for page in got for m in page] == everything

            def pick(*indexes: int) -> list[StockMovement]:
                return [everything[i] for i in indexes]

            assert _movements(ledger, sku=MUG, limit=2) == pick(0, 2, 3, 5, 6)
            assert _movements(ledger, warehouse=WH_B, limit=1) == pick(2, 5)
            assert _movements(ledger, sku=MUG, warehouse=WH_A) == pick(0, 3, 6)
            assert _movements(ledger, reference="order:1", limit=2) == pick(3, 4, 6)
            assert _movements(ledger, reference="purchase_order:1", sku=CUP) == pick(1)
            assert _movements(ledger, sku=CUP, warehouse=WH_B) == []
            assert _movements(ledger, reference="order:99") == []

    def test_inv_07_shipped_counts_shipments_in_a_half_open_window(
        self, shop: Shop, clock: FixedClock
    ) -> None:
        """``shipped`` sums shipped units of one SKU in one warehouse in ``[since, until)``."""
        t0 = clock.now()
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            ledger.receive(MUG, WH_A, 20)
            ledger.receive(MUG, WH_B, 20)
            ledger.reserve(MUG, WH_A, 10)
            ledger.reserve(MUG, WH_B, 10)
            uow.commit()
        t1 = clock.advance(timedelta(hours=1))
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            ledger.ship(MUG, WH_A, 2)
            ledger.ship(MUG, WH_B, 7)  # another warehouse
            ledger.release(MUG, WH_A, 1)  # not a shipment
            uow.commit()
        t2 = clock.advance(timedelta(hours=1))
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            ledger.ship(MUG, WH_A, 3)
            ledger.adjust(MUG, WH_A, -4, reason=R.DAMAGE)  # not a shipment
            uow.commit()
        t3 = clock.advance(timedelta(hours=1))
        with shop.unit_of_work(WANG) as uow:
            uow.port(StockLedger).ship(MUG, WH_A, 1)
            uow.commit()
        t4 = clock.advance(timedelta(hours=1))
        with shop.unit_of_work(LI) as uow:
            ledger = uow.port(StockLedger)

            def shipped(since: Any, until: Any, sku: str = MUG, warehouse: str = WH_A) -> int:
                return ledger.shipped(sku, warehouse, since=since, until=until)

            assert shipped(t0, t4) == 6
            assert shipped(t0, t1) == 0
            assert shipped(t1, t2) == 2
            assert shipped(t1, t3) == 5  # until is excluded
            assert shipped(t2, t3 + timedelta(microseconds=1)) == 4
            assert shipped(t3, t4) == 1
            assert shipped(t4, t4 + timedelta(days=1)) == 0
            assert shipped(t0, t4, warehouse=WH_B) == 7
            assert shipped(t0, t4, sku=CUP) == 0

    def test_inv_07_summary_reports_each_stocked_level_for_a_window(
        self, shop: Shop, clock: FixedClock
    ) -> None:
        """``summary`` gives per stocked level the shipments and on-hand change in and after the window."""
        t0 = clock.now()
        _stock(shop, MUG, WH_A, 20)
        t1 = clock.advance(timedelta(hours=1))
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            ledger.reserve(MUG, WH_A, 5)
            ledger.ship(MUG, WH_A, 3)
            ledger.set_threshold(MUG, WH_B, 1)  # a level without movements
            uow.commit()
        t2 = clock.advance(timedelta(hours=1))
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            ledger.adjust(MUG, WH_A, -2, reason=R.DAMAGE)
            ledger.ship(MUG, WH_A, 2)
            uow.commit()
        t3 = clock.advance(timedelta(hours=1))
        with shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            ledger.receive(MUG, WH_A, 4)
            ledger.receive(CUP, WH_A, 3)
            uow.commit()
        t4 = clock.advance(timedelta(hours=1))
        with shop.unit_of_work(LI) as uow:
            ledger = uow.port(StockLedger)
            window = list(ledger.summary(since=t1, until=t3))
            early = list(ledger.summary(since=t0, until=t1))
            in_b = list(ledger.summary(since=t0, until=t4, warehouse=WH_B))
        cup = MovementSummary(
            sku=CUP,
            warehouse=WH_A,
            on_hand=3,
            shipped=0,
            on_hand_change=0,
            on_hand_change_after=3,
            last_shipment_at=None,
            first_movement_at=t3,
        )
        mug_a = MovementSummary(
            sku=MUG,
            warehouse=WH_A,
            on_hand=17,
            shipped=5,
            on_hand_change=-7,
            on_hand_change_after=4,
            last_shipment_at=t2,
            first_movement_at=t0,
        )
        mug_b = MovementSummary(
            sku=MUG,
            warehouse=WH_B,
            on_hand=0,
            shipped=0,
            on_hand_change=0,
            on_hand_change_after=0,
            last_shipment_at=None,
            first_movement_at=None,
        )
        assert window == [cup, mug_b, mug_a]  # in (SKU, warehouse) order
        assert (mug_a.opening, mug_a.closing, cup.opening, cup.closing) == (20, 13, 0, 0)
        assert early == [
            cup,
            mug_b,
            attrs.evolve(mug_a, shipped=0, on_hand_change=20, on_hand_change_after=-3, last_shipment_at=None),
        ]
        assert early[2].opening == 0
        assert in_b == [mug_b]
