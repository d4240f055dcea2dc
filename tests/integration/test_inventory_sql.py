"""
Inventory and purchasing on SQLite and PostgreSQL: the aggregates' rows, the stock ledger, migration 0004.

Every new aggregate is saved and loaded back field for field; the supplier's
contact is stored encrypted and found through its blind indexes; the SQL
:class:`StockLedger` is run through the same acts as the memory one and must
answer alike (levels, movements, errors, pages, sums); ``stock_movements``
refuses to be changed (INV-07); and the policy documents adopted before 0004
get the new stock rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from psycopg import sql
from tests.postgres import PostgresRun, Shops, connect

from eshop_adapters.storage import migrate
from eshop_adapters.storage.mappings.inventory import stock_levels, stock_movements
from eshop_adapters.storage.mappings.policies import policy_sets, policy_versions
from eshop_adapters.storage.mappings.purchasing import suppliers
from eshop_adapters.storage.sql import SqlUnitOfWork
from eshop_core import Actor, FixedClock, Money, Role, Shop
from eshop_core.domain import Aggregate
from eshop_core.domain.inventory import (
    MovementReason,
    ReplenishmentSuggestion,
    StockChange,
    StockCount,
    StockCountState,
    StockLevel,
    StockMovement,
    SuggestionState,
    Warehouse,
)
from eshop_core.domain.policies import EPOCH, SHOP_POLICY_SET_ID, StockRules
from eshop_core.domain.purchasing import (
    PurchaseLine,
    PurchaseOrder,
    PurchaseOrderState,
    ReceiptLine,
    Supplier,
)
from eshop_core.errors import EshopError, InsufficientStockError, InvalidInputError, StorageError
from eshop_core.keyring import Keyring
from eshop_core.schemas.policies import PolicyDocument, default_policy
from eshop_core.storage.inventory_ports import StockLedger
from eshop_core.storage.personal_ports import ERASED_MARKER
from eshop_core.storage.ports import Page

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WANG = Actor("wang.fang", roles={Role.WAREHOUSE})
ZHOU = Actor("zhou.min", roles={Role.PURCHASING})
BOSS = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shop]:
    """An empty SQL shop on a fixed clock, on SQLite and on PostgreSQL."""
    clock = FixedClock(START)
    if request.param == "postgresql":
        shops: Shops = request.getfixturevalue("pg_shops")
        yield shops.open(clock=clock)
        return
    with Shop.open(f"sqlite:///{tmp_path / 'shop.db'}", clock=clock) as opened:
        yield opened


def _fields(aggregate: Aggregate) -> dict[str, Any]:
    """Every field of ``aggregate`` (not the events it has pending)."""
    return attrs.asdict(aggregate, recurse=False, filter=lambda attribute, _value: attribute.init)


def _add(shop: Shop, *aggregates: Aggregate) -> None:
    with shop.unit_of_work(WANG) as uow:
        for aggregate in aggregates:
            uow.repository(type(aggregate)).add(aggregate)
        uow.commit()


def _assert_round_trip(shop: Shop, *aggregates: Aggregate) -> None:
    with shop.unit_of_work(WANG) as uow:
        for aggregate in aggregates:
            loaded = uow.repository(type(aggregate)).get(aggregate.id)
            assert _fields(loaded) == _fields(aggregate), type(aggregate).__name__


def _clock(shop: Shop) -> FixedClock:
    clock = shop.clock
    assert isinstance(clock, FixedClock)
    return clock


# -- aggregates -------------------------------------------------------------------------


def test_warehouses_stock_counts_and_suggestions_round_trip(shop: Shop) -> None:
    at = shop.clock.now()
    counting = uuid.uuid4()
    shanghai = Warehouse.open(code="SH-01", name="上海一号仓 Shanghai", priority=5, by=WANG, at=at)
    shanghai.begin_count(counting, by=WANG, at=at)
    beijing = Warehouse.open(code="BJ_02", name="Beijing", by=WANG, at=at)

    sheet = StockCount.open(warehouse="SH-01", book={"MUG-RED": 3, "MUG-BLUE": 40}, by=WANG, at=at)
    later = at + timedelta(minutes=5, microseconds=123457)
    sheet.record_counts({"MUG-BLUE": 38}, by=WANG, at=later)
    sheet.explain({"MUG-BLUE": "two broken in the bin"}, by=WANG, at=later)
    sheet.record_counts({"MUG-RED": 3, "TEA-1": 1}, new_books={"TEA-1": 0}, by=WANG, at=later)
    sheet.explain({"TEA-1": "found behind the shelf"}, by=WANG, at=later)
    sheet.submitted(uuid.uuid4(), by=WANG, at=later)
    confirmed = StockCount.open(warehouse="BJ_02", book={"MUG-RED": 2}, by=WANG, at=at)
    confirmed.record_counts({"MUG-RED": 2}, by=WANG, at=at)
    confirmed.confirm(by=WANG, at=at, policy_version=4)
    cancelled = StockCount.open(warehouse="BJ_02", book={}, by=WANG, at=at)
    cancelled.cancel(reason="wrong warehouse", by=WANG, at=at)

    level = StockLevel(sku="MUG-BLUE", warehouse="SH-01", on_hand=5, reserved=2)
    raised = _suggestion(level, threshold=10, daily_sales=Decimal("2.350"), policy_version=3)
    ordered = _suggestion(level, threshold=4, daily_sales=Decimal(1) / 3, policy_version=None)
    ordered.ordered(uuid.uuid4(), by=ZHOU, at=at)
    dismissed = _suggestion(level, threshold=1, daily_sales=Decimal("1E+1"), policy_version=1)
    dismissed.dismiss(note="discontinued", by=ZHOU, at=at)

    aggregates = (shanghai, beijing, sheet, cancelled, confirmed, raised, ordered, dismissed)
    _add(shop, *aggregates)
    _assert_round_trip(shop, *aggregates)

    with shop.unit_of_work(WANG) as uow:
        suggestions = uow.repository(ReplenishmentSuggestion)
        assert [str(suggestions.get(s.id).daily_sales) for s in (raised, ordered, dismissed)] == [
            "2.350",
            "0.3333333333333333333333333333",
            "1E+1",
        ]
        assert [w.id for w in uow.repository(Warehouse).find(where={"code": "SH-01"})] == [shanghai.id]
        found = uow.repository(StockCount).find(
            where={"warehouse": "SH-01", "state": StockCountState.SUBMITTED}
        )
        assert [c.id for c in found] == [sheet.id]
        assert [line.sku for line in found.items[0].lines] == ["MUG-BLUE", "MUG-RED", "TEA-1"]
        open_ones = uow.repository(ReplenishmentSuggestion).find(
            where={"sku": "MUG-BLUE", "warehouse": "SH-01", "state": SuggestionState.OPEN}
        )
        assert [s.id for s in open_ones] == [raised.id]

    # a change is saved and read back too
    with shop.unit_of_work(WANG) as uow:
        stored = uow.repository(Warehouse).get(shanghai.id)
        stored.end_count(counting, by=WANG, at=at)
        uow.repository(Warehouse).save(stored)
        uow.commit()
    with shop.unit_of_work(WANG) as uow:
        again = uow.repository(Warehouse).get(shanghai.id)
        assert (again.counting_id, again.version) == (None, stored.version)


def _suggestion(
    level: StockLevel, *, threshold: int, daily_sales: Decimal, policy_version: int | None
) -> ReplenishmentSuggestion:
    suggestion = ReplenishmentSuggestion.raise_for(
        level=level,
        threshold=threshold,
        daily_sales=daily_sales,
        cover_days=14,
        on_order=1,
        by=WANG,
        at=START,
        policy_version=policy_version,
    )
    assert suggestion is not None
    return suggestion


def test_a_warehouse_code_is_unique(shop: Shop) -> None:
    at = shop.clock.now()
    _add(shop, Warehouse.open(code="SH-01", name="Shanghai", by=WANG, at=at))
    with pytest.raises(StorageError):
        _add(shop, Warehouse.open(code="SH-01", name="Shanghai again", by=WANG, at=at))


def _supplier(at: datetime) -> Supplier:
    supplier = Supplier.register(
        code="SUP-7",
        name="杭州陶瓷有限公司",
        contact_name="周 敏",
        contact_phone="138 0013 8000",
        licence_number="91330100MA27XXXX",
        qualified_until=date(2027, 6, 30),
        by=ZHOU,
        at=at,
    )
    supplier.evaluate(
        {"qualification": 5, "reputation": 4, "quality": 4, "price": 3, "capacity": 5},
        note="first year",
        by=ZHOU,
        at=at,
    )
    supplier.evaluate(
        {"qualification": 5, "reputation": 5, "quality": 3, "price": 4, "capacity": 4},
        note=None,
        by=BOSS,
        at=at + timedelta(days=90),
    )
    return supplier


def test_suppliers_round_trip_with_their_contact_encrypted_and_findable(shop: Shop) -> None:
    at = shop.clock.now()
    supplier = _supplier(at)
    bare = Supplier.register(code="SUP-8", name="No contact", by=ZHOU, at=at)
    _add(shop, supplier, bare)
    _assert_round_trip(shop, supplier, bare)

    with shop.unit_of_work(ZHOU) as uow:
        assert isinstance(uow, SqlUnitOfWork)
        rows = uow.rows(
            sa.select(
                suppliers.c.code,
                suppliers.c.contact_name,
                suppliers.c.contact_phone,
                suppliers.c.contact_name_bidx,
                suppliers.c.contact_phone_bidx,
            ).order_by(suppliers.c.code)
        )
        repository = uow.repository(Supplier)
        by_phone = repository.find(where={"contact_phone": "+86 138-0013-8000"})
        by_name = repository.find(where={"contact_name": "  周   敏 "})
        by_code = repository.find(where={"code": "SUP-7"})
        by_company = repository.find(where={"name": "杭州陶瓷有限公司"})
    stored = rows[0]._mapping
    raw = repr(dict(stored))
    for plain in ("周 敏", "周", "138 0013 8000", "13800138000", "+8613800138000"):
        assert plain not in raw
    assert str(stored["contact_name"]).startswith("v1.")
    assert str(stored["contact_phone"]).startswith("v1.")
    assert stored["contact_name_bidx"]
    assert stored["contact_phone_bidx"]
    assert tuple(rows[1])[1:] == (None, None, None, None)  # no contact, nothing stored
    assert [s.id for s in by_phone] == [supplier.id]
    assert [s.id for s in by_name] == [supplier.id]
    assert [s.id for s in by_code] == [supplier.id]
    assert [s.id for s in by_company] == [supplier.id]


def test_a_suppliers_contact_is_erased_with_the_data_subject(shop: Shop) -> None:
    supplier = _supplier(shop.clock.now())
    _add(shop, supplier)
    report = shop.personal_data.erase(BOSS, phone="13800138000", reason="request 42")
    assert [(e.aggregate_type, e.aggregate_id) for e in report.erased] == [("Supplier", supplier.id)]
    with shop.unit_of_work(ZHOU) as uow:
        erased = uow.repository(Supplier).get(supplier.id)
        assert (erased.contact_name, erased.contact_phone) == (ERASED_MARKER, ERASED_MARKER)
        assert (erased.code, erased.evaluations) == (supplier.code, supplier.evaluations)
        assert len(uow.repository(Supplier).find(where={"contact_phone": "13800138000"})) == 0


def test_purchase_orders_round_trip_with_lines_receipts_and_returns(shop: Shop) -> None:
    at = shop.clock.now()
    supplier_id = uuid.uuid4()
    lines = [
        PurchaseLine(sku="MUG-BLUE", quantity=100, unit_cost=Money.of("12.5", "CNY")),
        PurchaseLine(sku="MUG-RED", quantity=20, unit_cost=Money.of("0.05", "CNY")),
    ]
    order = PurchaseOrder.draft(
        supplier_id=supplier_id,
        warehouse="SH-01",
        expected_arrival=date(2026, 3, 9),
        lines=lines,
        by=ZHOU,
        at=at,
    )
    order.place(by=ZHOU, at=at + timedelta(hours=1))
    order.receive(
        [
            ReceiptLine(sku="MUG-BLUE", received=60, accepted=55, reason="five chipped"),
            ReceiptLine(sku="MUG-RED", received=25, accepted=25),
        ],
        allow_over_receipt=True,
        by=WANG,
        at=at + timedelta(days=6),
    )
    order.return_rejected(note="carrier SF, waybill 123", by=WANG, at=at + timedelta(days=7))
    assert order.state is PurchaseOrderState.PARTIALLY_RECEIVED
    cancelled = PurchaseOrder.draft(
        supplier_id=supplier_id,
        warehouse="BJ_02",
        expected_arrival=date(2026, 3, 2),
        lines=[PurchaseLine(sku="TEA-1", quantity=1, unit_cost=Money.of(0, "JPY"))],
        by=ZHOU,
        at=at,
    )
    cancelled.cancel(reason="ordered twice", by=ZHOU, at=at)
    _add(shop, order, cancelled)
    _assert_round_trip(shop, order, cancelled)

    with shop.unit_of_work(ZHOU) as uow:
        loaded = uow.repository(PurchaseOrder).get(order.id)
        assert [(x.sku, x.accepted, x.rejected, x.returned) for x in loaded.lines] == [
            ("MUG-BLUE", 55, 5, 5),
            ("MUG-RED", 25, 0, 0),
        ]
        assert loaded.total == Money.of("1251.00", "CNY")
        assert loaded.receipts[0].over_receipt is True
        found = uow.repository(PurchaseOrder).find(
            where={"supplier_id": supplier_id, "state": PurchaseOrderState.CANCELLED}
        )
        assert [o.id for o in found] == [cancelled.id]
        assert [o.id for o in uow.repository(PurchaseOrder).find(where={"warehouse": "SH-01"})] == [order.id]

    # rewriting the order rewrites its lines
    with shop.unit_of_work(ZHOU) as uow:
        stored = uow.repository(PurchaseOrder).get(order.id)
        stored.close(reason="the rest will not come", by=ZHOU, at=at + timedelta(days=8))
        uow.repository(PurchaseOrder).save(stored)
        uow.commit()
    _assert_round_trip(shop, stored)


# -- the stock ledger ---------------------------------------------------------------------


Transcript = list[tuple[Any, ...]]


def _plain(value: object) -> object:
    """``value`` comparable across backends: ledger positions (``seq``) differ, so they are left out."""
    if isinstance(value, StockMovement):
        return attrs.evolve(value, seq=0)
    if isinstance(value, StockChange):
        return (value.before, value.after, _plain(value.movement))
    if isinstance(value, list | tuple):
        return tuple(_plain(item) for item in value)
    return value


def _act(shop: Shop, transcript: Transcript, name: str, act: Callable[[StockLedger], object]) -> None:
    """Run ``act`` in its own unit of work, committed even when it fails; record what it gave."""
    with shop.unit_of_work(WANG) as uow:
        ledger = uow.port(StockLedger)
        try:
            result = act(ledger)
        except EshopError as exc:
            transcript.append((name, type(exc).__name__, str(exc), getattr(exc, "field", None)))
        else:
            transcript.append((name, _plain(result)))
        uow.commit()
    _clock(shop).advance(timedelta(minutes=7, microseconds=1))


def _pages(read: Callable[[str | None], Page[Any]]) -> list[Any]:
    """Every item of a paged read, following its cursors."""
    items: list[Any] = []
    cursor = None
    while True:
        page = read(cursor)
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def _period(shop: Shop, t: Transcript, since: datetime, until: datetime) -> None:
    """What was shipped and what moved in ``[since, until)``."""
    hour = f"{since:%H}"
    _act(shop, t, f"shipped {hour}", lambda s: s.shipped("MUG-BLUE", "SH-01", since=since, until=until))
    _act(shop, t, f"summary {hour}", lambda s: s.summary(since=since, until=until))
    _act(shop, t, f"summary {hour} BJ_02", lambda s: s.summary(since=since, until=until, warehouse="BJ_02"))


def _acts(shop: Shop) -> Transcript:
    """The same acts on any shop: receipts, reservations, releases, shipments, adjustments, refusals."""
    t: Transcript = []
    sh, bj = "SH-01", "BJ_02"
    _act(
        shop,
        t,
        "receive",
        lambda s: s.receive("MUG-BLUE", sh, 10, reference="purchase_order:1", note="first"),
    )
    _act(shop, t, "return", lambda s: s.receive("MUG-BLUE", bj, 4, reason=MovementReason.CUSTOMER_RETURN))
    _act(shop, t, "reserve", lambda s: s.reserve("MUG-BLUE", sh, 6, reference="order:1"))
    _act(shop, t, "reserve too many", lambda s: s.reserve("MUG-BLUE", sh, 5, reference="order:2"))
    _act(shop, t, "reserve never stocked", lambda s: s.reserve("NEVER", sh, 1))
    _act(shop, t, "release too many", lambda s: s.release("MUG-BLUE", sh, 7))
    _act(
        shop, t, "release", lambda s: s.release("MUG-BLUE", sh, 2, reference="order:1", note="one line fewer")
    )
    _act(shop, t, "release never stocked", lambda s: s.release("NEVER", bj, 1))
    _act(shop, t, "ship too many", lambda s: s.ship("MUG-BLUE", sh, 5))
    _act(shop, t, "ship", lambda s: s.ship("MUG-BLUE", sh, 3, reference="order:1"))
    _act(shop, t, "damage too many", lambda s: s.adjust("MUG-BLUE", sh, -7, reason=MovementReason.DAMAGE))
    _act(
        shop,
        t,
        "damage",
        lambda s: s.adjust("MUG-BLUE", sh, -2, reason=MovementReason.DAMAGE, note="dropped"),
    )
    _act(shop, t, "damage positive", lambda s: s.adjust("MUG-BLUE", sh, 3, reason=MovementReason.DAMAGE))
    _act(shop, t, "adjust zero", lambda s: s.adjust("MUG-BLUE", sh, 0, reason=MovementReason.CORRECTION))
    _act(shop, t, "adjust as receipt", lambda s: s.adjust("MUG-BLUE", sh, 2, reason=MovementReason.RECEIPT))
    _act(
        shop,
        t,
        "found new",
        lambda s: s.adjust("TEA-1", sh, 5, reason=MovementReason.FOUND, reference="count:1"),
    )
    _act(shop, t, "lose never stocked", lambda s: s.adjust("NEVER", sh, -1, reason=MovementReason.LOSS))
    _act(shop, t, "correct", lambda s: s.adjust("MUG-BLUE", sh, -1, reason=MovementReason.CORRECTION))
    _act(shop, t, "count up", lambda s: s.adjust("MUG-BLUE", bj, 2, reason=MovementReason.COUNT_ADJUSTMENT))
    _act(shop, t, "bad sku", lambda s: s.receive("bad sku!", sh, 1))
    _act(shop, t, "bad warehouse", lambda s: s.reserve("MUG-BLUE", "SH 01", 1))
    _act(shop, t, "bad quantity", lambda s: s.receive("MUG-BLUE", sh, 0))
    _act(shop, t, "bool quantity", lambda s: s.ship("MUG-BLUE", sh, True))
    _act(
        shop, t, "bad receipt reason", lambda s: s.receive("MUG-BLUE", sh, 1, reason=MovementReason.SHIPMENT)
    )
    _act(shop, t, "long reference", lambda s: s.reserve("MUG-BLUE", sh, 1, reference="x" * 129))
    _act(shop, t, "long note", lambda s: s.release("MUG-BLUE", sh, 1, note="x" * 2001))
    _act(shop, t, "empty note", lambda s: s.receive("MUG-RED", bj, 3, note=""))
    _act(shop, t, "threshold", lambda s: s.set_threshold("MUG-BLUE", sh, 8))
    _act(shop, t, "threshold only", lambda s: s.set_threshold("a-lower", bj, 0))
    _act(shop, t, "bad threshold", lambda s: s.set_threshold("MUG-BLUE", sh, -1))
    _act(shop, t, "reserve with threshold", lambda s: s.reserve("MUG-BLUE", sh, 1, reference="order:3"))
    _act(shop, t, "ship again", lambda s: s.ship("MUG-BLUE", sh, 1, reference="order:3"))
    _act(shop, t, "threshold cleared", lambda s: s.set_threshold("MUG-BLUE", bj, None))
    _act(shop, t, "sell in beijing", lambda s: (s.reserve("MUG-BLUE", bj, 5), s.ship("MUG-BLUE", bj, 5)))
    _act(shop, t, "restock", lambda s: s.receive("MUG-BLUE", sh, 1))

    # reads
    _act(shop, t, "level", lambda s: s.level("MUG-BLUE", sh))
    _act(shop, t, "level never stocked", lambda s: s.level("NEVER", bj))
    _act(shop, t, "level bad sku", lambda s: s.level("", bj))
    _act(shop, t, "levels", lambda s: _pages(lambda c: s.levels(limit=2, cursor=c)))
    _act(shop, t, "levels of a sku", lambda s: _pages(lambda c: s.levels(sku="MUG-BLUE", limit=1, cursor=c)))
    _act(shop, t, "levels of a warehouse", lambda s: s.levels(warehouse=bj).items)
    _act(shop, t, "levels page", lambda s: s.levels(limit=3))
    _act(shop, t, "levels bad limit", lambda s: s.levels(limit=0))
    _act(shop, t, "levels bad cursor", lambda s: s.levels(cursor="not a cursor!"))
    _act(shop, t, "movements", lambda s: _pages(lambda c: s.movements(limit=3, cursor=c)))
    _act(shop, t, "movements of a level", lambda s: s.movements(sku="MUG-BLUE", warehouse=bj).items)
    _act(shop, t, "movements of an order", lambda s: s.movements(reference="order:1").items)
    _act(shop, t, "movements page", lambda s: len(s.movements(limit=4).items))
    _act(shop, t, "movements bad cursor", lambda s: s.movements(cursor="???"))
    for hours in (0, 1, 2, 3, 4, 5):
        _period(shop, t, START + timedelta(hours=hours), START + timedelta(hours=hours + 1))
    _act(
        shop,
        t,
        "shipped ever",
        lambda s: s.shipped("MUG-BLUE", sh, since=EPOCH, until=START + timedelta(days=1)),
    )
    _act(
        shop,
        t,
        "shipped elsewhere",
        lambda s: s.shipped("TEA-1", sh, since=EPOCH, until=START + timedelta(days=1)),
    )
    return t


def test_inv_01_the_sql_ledger_answers_like_the_memory_ledger(shop: Shop) -> None:
    expected = _acts(Shop.open("memory://", clock=FixedClock(START)))
    got = _acts(shop)
    assert [entry[0] for entry in got] == [entry[0] for entry in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs, mine[0]
    # the transcript is not vacuous: acts were refused, levels and movements listed, sums taken
    refused = {entry[0] for entry in expected if len(entry) == 4}
    assert {"reserve too many", "release too many", "ship too many", "damage too many", "bad sku"} <= refused
    summaries = next(entry[1] for entry in expected if entry[0] == "summary 12")
    assert any(s.shipped for s in summaries)
    assert any(s.last_shipment_at for s in summaries)


def test_inv_01_levels_are_listed_in_code_point_order_on_every_backend(shop: Shop) -> None:
    skus = ["b-2", "B-2", "_x", "A_1", "a-1", "Z", "9", "A-1"]
    with shop.unit_of_work(WANG) as uow:
        for sku in skus:
            uow.port(StockLedger).receive(sku, "w", 1)
            uow.port(StockLedger).receive(sku, "W", 1)
        uow.commit()
    with shop.unit_of_work(WANG) as uow:
        listed = _pages(lambda c: uow.port(StockLedger).levels(limit=3, cursor=c))
    assert [(x.sku, x.warehouse) for x in listed] == sorted((s, w) for s in skus for w in ("w", "W"))


def test_inv_01_a_refused_act_changes_nothing_even_when_the_unit_of_work_commits(shop: Shop) -> None:
    with shop.unit_of_work(WANG) as uow:
        ledger = uow.port(StockLedger)
        ledger.receive("MUG-BLUE", "SH-01", 3)
        ledger.reserve("MUG-BLUE", "SH-01", 2)
        uow.commit()
    with shop.unit_of_work(WANG) as uow:
        ledger = uow.port(StockLedger)
        with pytest.raises(InsufficientStockError) as refused:
            ledger.reserve("MUG-BLUE", "SH-01", 2)
        assert (refused.value.requested, refused.value.available) == (2, 1)
        with pytest.raises(InvalidInputError, match="only 2 reserved"):
            ledger.ship("MUG-BLUE", "SH-01", 3)
        with pytest.raises(InsufficientStockError):
            ledger.adjust("MUG-BLUE", "SH-01", -2, reason=MovementReason.LOSS)
        uow.commit()
    with shop.unit_of_work(WANG) as uow:
        ledger = uow.port(StockLedger)
        assert ledger.level("MUG-BLUE", "SH-01") == StockLevel(
            sku="MUG-BLUE", warehouse="SH-01", on_hand=3, reserved=2
        )
        moved = ledger.movements().items
    assert [m.reason for m in moved] == [MovementReason.RECEIPT, MovementReason.RESERVATION]
    assert moved[0].seq < moved[1].seq
    assert [(m.actor, m.at) for m in moved] == [("wang.fang", START)] * 2


def test_inv_01_an_update_that_lost_a_race_is_tried_again_and_refused_only_on_the_numbers(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conditional update matched nothing, yet the level read next allows the act: try again."""
    with shop.unit_of_work(WANG) as uow:
        uow.port(StockLedger).receive("MUG-BLUE", "SH-01", 3)
        uow.commit()
    real_first = SqlUnitOfWork.driver_first
    misses = {"left": 1}

    def first(self: SqlUnitOfWork, statement: Any, parameters: Any) -> Any:
        if isinstance(statement, sa.Update) and misses["left"] > 0:
            misses["left"] -= 1
            return None  # as if another transaction had changed the level just before
        return real_first(self, statement, parameters)

    monkeypatch.setattr(SqlUnitOfWork, "driver_first", first)
    with shop.unit_of_work(WANG) as uow:
        change = uow.port(StockLedger).reserve("MUG-BLUE", "SH-01", 2)
        uow.commit()
    assert (change.before.reserved, change.after.reserved, misses["left"]) == (0, 2, 0)

    misses["left"] = 100  # the level keeps changing under the act: give up, changing nothing
    with shop.unit_of_work(WANG) as uow:
        with pytest.raises(StorageError, match="kept changing"):
            uow.port(StockLedger).release("MUG-BLUE", "SH-01", 1)
        uow.commit()
    monkeypatch.undo()
    with shop.unit_of_work(WANG) as uow:
        ledger = uow.port(StockLedger)
        assert ledger.level("MUG-BLUE", "SH-01").reserved == 2
        assert len(ledger.movements().items) == 2


def _execute(shop: Shop, statement: sa.Executable) -> None:
    """Run ``statement`` in its own unit of work."""
    with shop.unit_of_work(WANG) as uow:
        assert isinstance(uow, SqlUnitOfWork)
        uow.execute(statement)
        uow.commit()


def test_inv_01_the_levels_table_refuses_reserved_above_on_hand_or_below_zero(shop: Shop) -> None:
    with shop.unit_of_work(WANG) as uow:
        uow.port(StockLedger).receive("MUG-BLUE", "SH-01", 3)
        uow.commit()
    levels = stock_levels.c
    for statement in (
        stock_levels.update().values(reserved=levels.on_hand + 1),
        stock_levels.update().values(reserved=-1),
        stock_levels.update().values(on_hand=0, reserved=1),
    ):
        with pytest.raises(StorageError, match=r"(?i)check constraint"):
            _execute(shop, statement)
    with shop.unit_of_work(WANG) as uow:
        assert uow.port(StockLedger).level("MUG-BLUE", "SH-01").reserved == 0


def test_inv_07_the_stock_ledger_refuses_update_and_delete(shop: Shop) -> None:
    with shop.unit_of_work(WANG) as uow:
        uow.port(StockLedger).receive("MUG-BLUE", "SH-01", 3, reference="purchase_order:9")
        uow.commit()
    for statement in (
        stock_movements.update().values(on_hand_delta=300),
        stock_movements.update().values(actor="someone else"),
        stock_movements.delete(),
    ):
        with pytest.raises(StorageError, match="append-only"):
            _execute(shop, statement)
    with shop.unit_of_work(WANG) as uow:
        moved = uow.port(StockLedger).movements().items
    assert [(m.on_hand_delta, m.actor, m.reference) for m in moved] == [(3, "wang.fang", "purchase_order:9")]


@pytest.mark.postgres
def test_inv_07_the_stock_ledger_refuses_truncate_on_postgresql(pg_shops: Shops) -> None:
    shop = pg_shops.open()
    with shop.unit_of_work(WANG) as uow:
        uow.port(StockLedger).receive("MUG-BLUE", "SH-01", 3)
        uow.commit()
    table = sql.Identifier(pg_shops.run.schema, "stock_movements")
    with connect(pg_shops.run.url) as conn:
        for statement in ("UPDATE {} SET note = 'x'", "DELETE FROM {}", "TRUNCATE {}", "TRUNCATE {} CASCADE"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(sql.SQL(statement).format(table))
        assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone() == (1,)


# -- migration 0004: the policy documents' new stock rules ---------------------------------


def _old_rules(stock: dict[str, int]) -> dict[str, Any]:
    """A policy document as adopted before 0004, with ``stock`` as given."""
    rules = PolicyDocument.from_domain(default_policy()).to_data()
    rules["stock"] = stock
    return rules


def _adopt_before_0004(connection: sa.Connection, schema: str | None = None) -> None:
    """Migrate to 0003 and adopt two policy versions written before the new stock rules."""
    command.upgrade(migrate.alembic_config(connection, schema=schema), "0003")
    connection.execute(policy_sets.insert(), {"id": SHOP_POLICY_SET_ID, "version": 2, "name": "shop"})
    common = {"parent_id": SHOP_POLICY_SET_ID, "proposed_by": "li.ming", "approved_by": "zhao.lei"}
    connection.execute(
        policy_versions.insert(),
        [
            {
                **common,
                "position": 0,
                "number": 1,
                "rules": _old_rules({"low_stock_default": 7}),
                "effective_from": EPOCH,
                "reason": "the old default",
                "approved_at": START,
            },
            {
                **common,
                "position": 1,
                "number": 2,
                "rules": _old_rules({"low_stock_default": 7, "sales_window_days": 45}),
                "effective_from": START,
                "reason": "a longer window",
                "approved_at": START,
            },
        ],
    )


def _assert_new_stock_rules(shop: Shop) -> None:
    first, second = shop.policies.history()
    assert first.rules.stock == StockRules(
        low_stock_default=7,
        variance_approval_units=5,
        sales_window_days=30,
        replenishment_cover_days=14,
        slow_moving_days=90,
    )
    assert second.rules.stock == attrs.evolve(first.rules.stock, sales_window_days=45)  # kept
    assert first.rules.listing == default_policy().listing  # the rest untouched
    assert shop.policies.in_force(START).number == 2


def _stock_documents(connection: sa.Connection) -> list[dict[str, Any]]:
    rows = connection.execute(sa.select(policy_versions.c.rules).order_by(policy_versions.c.position))
    return [row.rules["stock"] for row in rows]


def test_migration_0004_adds_the_new_stock_rules_to_adopted_policies_on_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as connection:
            _adopt_before_0004(connection)
        with Shop.open(f"sqlite:///{db}", keyring=Keyring.generate()) as shop:
            _assert_new_stock_rules(shop)
        with engine.begin() as connection:
            command.downgrade(migrate.alembic_config(connection), "0003")
            assert _stock_documents(connection) == [{"low_stock_default": 7}] * 2
            assert "stock_movements" not in sa.inspect(connection).get_table_names()
            command.upgrade(migrate.alembic_config(connection), "head")
            assert [doc["sales_window_days"] for doc in _stock_documents(connection)] == [30, 30]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_migration_0004_adds_the_new_stock_rules_to_adopted_policies_on_postgresql(
    postgres: PostgresRun,
) -> None:
    fresh = postgres.new_schema_name()
    with connect(postgres.url) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(fresh)))
    engine = sa.create_engine(
        postgres.url.replace("postgresql://", "postgresql+psycopg://", 1),
        connect_args={"options": f"-c search_path={fresh}"},
    )
    try:
        with engine.begin() as connection:
            _adopt_before_0004(connection, fresh)
        with postgres.open_shop(fresh) as shop:
            _assert_new_stock_rules(shop)
        with engine.begin() as connection:
            command.downgrade(migrate.alembic_config(connection, schema=fresh), "0003")
            assert _stock_documents(connection) == [{"low_stock_default": 7}, {"low_stock_default": 7}]
            assert "stock_movements" not in sa.inspect(connection).get_table_names()
            functions = connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_proc WHERE proname = 'stock_movements_append_only' "
                    "AND pronamespace::regnamespace::text = :schema"
                ),
                {"schema": fresh},
            )
            assert functions.scalar() == 0
    finally:
        engine.dispose()
