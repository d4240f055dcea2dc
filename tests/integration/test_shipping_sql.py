"""
Shipping and logistics on SQLite and PostgreSQL: rows, the services end to end, migration 0006.

Every field of a shipment, a carrier, a freight bill (with the differences
reconciling found) and a logistics exception is saved and loaded back, and
found by its filterable fields; an order's special packaging round-trips.
Shipping an order, delivering it, registering and evaluating carriers,
reconciling a freight bill and handling logistics exceptions through the
services — including ``shop.run_due`` opening a delay exception after the
expected delivery — gives the same results on SQL as on memory. Migration
0006 gives the orders stored before it an empty packaging list, matches the
models, and is undone by its downgrade.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from psycopg import sql
from tests.postgres import PostgresRun, Shops, connect

from eshop_adapters.storage import migrate
from eshop_adapters.storage.mappings import MAPPINGS
from eshop_adapters.storage.mappings.logistics import carriers, freight_bills, logistics_exceptions
from eshop_adapters.storage.mappings.orders import order_lines, orders
from eshop_adapters.storage.mappings.shipping import shipments
from eshop_adapters.storage.metadata import load_metadata
from eshop_adapters.storage.sql import SqlUnitOfWork
from eshop_core import Actor, FixedClock, Money, Role, Shop
from eshop_core.domain import Aggregate
from eshop_core.domain.logistics import (
    BillLine,
    BillState,
    Carrier,
    DifferenceKind,
    ExceptionKind,
    ExceptionState,
    FreightBill,
    FreightDifference,
    LogisticsException,
)
from eshop_core.domain.orders import Order, OrderLine, OrderState
from eshop_core.domain.shipping import PackingCheck, Shipment, ShipmentState
from eshop_core.errors import DuplicateKeyError, EshopError
from eshop_core.ids import new_id
from eshop_core.keyring import Keyring
from eshop_core.storage.inventory_ports import StockLedger

START = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
BOSS = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
LI = Actor("li.ming", roles={Role.OPERATIONS})
CHEN = Actor("chen.gang", roles={Role.LOGISTICS})
QIAN = Actor("qian.yu", roles={Role.FINANCE})
TMALL = Actor.system("channel:tmall")


@attrs.frozen
class Case:
    """An empty SQL shop on a fixed clock, and the keyring it was opened with."""

    shop: Shop
    keyring: Keyring
    dialect: str


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    """An empty SQL shop on a fixed clock, on SQLite and on PostgreSQL."""
    clock = FixedClock(START)
    if request.param == "postgresql":
        shops: Shops = request.getfixturevalue("pg_shops")
        yield Case(shops.open(clock=clock), shops.run.keyring, "postgresql")
        return
    keyring = Keyring.generate()
    with Shop.open(f"sqlite:///{tmp_path / 'shop.db'}", clock=clock, keyring=keyring) as opened:
        yield Case(opened, keyring, "sqlite")


def _fields(aggregate: Aggregate) -> dict[str, Any]:
    """Every field of ``aggregate`` (not the events it has pending)."""
    return attrs.asdict(aggregate, recurse=False, filter=lambda attribute, _value: attribute.init)


def _add(shop: Shop, *aggregates: Aggregate) -> None:
    with shop.unit_of_work(LI) as uow:
        for aggregate in aggregates:
            uow.repository(type(aggregate)).add(aggregate)
        uow.commit()


def _reloaded(shop: Shop, aggregate: Aggregate) -> Aggregate:
    with shop.unit_of_work(LI) as uow:
        loaded: Aggregate = uow.repository(type(aggregate)).get(aggregate.id)
    return loaded


def _ids(shop: Shop, kind: type[Aggregate], **where: object) -> list[uuid.UUID]:
    with shop.unit_of_work(LI) as uow:
        return sorted(a.id for a in uow.repository(kind).find(where=where, limit=100))


def _row(shop: Shop, table: sa.Table, key: uuid.UUID) -> dict[str, Any]:
    with shop.unit_of_work(LI) as uow:
        assert isinstance(uow, SqlUnitOfWork)
        row = uow.first(sa.select(table).where(table.c.id == key))
    assert row is not None
    return dict(row._mapping)


def _cny(amount: str) -> Money:
    return Money.of(amount, "CNY")


def test_ord_05_shipments_and_the_logistics_aggregates_have_registered_mappings() -> None:
    assert {
        kind: MAPPINGS[kind].table.name for kind in (Shipment, Carrier, FreightBill, LogisticsException)
    } == {
        Shipment: "shipments",
        Carrier: "carriers",
        FreightBill: "freight_bills",
        LogisticsException: "logistics_exceptions",
    }


# -- shipments ---------------------------------------------------------------------------------


def _every_field_shipment() -> Shipment:
    """A delivered shipment with every field set, times not in UTC, the freight's amount written short."""
    shipped = datetime(2026, 3, 2, 18, 5, 0, 123456, tzinfo=SHANGHAI)
    return Shipment(
        order_id=new_id(),
        channel="tmall",
        external_id="TM-2026030200001",
        warehouse="SH-01",
        lines=(("MUG-BLUE", 2), ("TEA-1", 1)),
        carrier="SF",
        tracking_number="SF1234567890123",
        tracking_url="https://www.sf-express.com/track?no=SF1234567890123",
        expected_delivery=shipped + timedelta(days=2),
        freight=_cny("12.5"),
        packing=PackingCheck(
            items=(("MUG-BLUE", 2), ("TEA-1", 1)),
            address_confirmed=True,
            packaging=("fragile", "hardcover"),
            checked_by="chen.gang",
            at=shipped - timedelta(minutes=20, microseconds=7),
        ),
        shipped_at=shipped,
        delivered_at=shipped + timedelta(days=1, hours=3),
        state=ShipmentState.DELIVERED,
    )


def test_ord_05_a_shipment_with_every_field_round_trips(case: Case) -> None:
    shop = case.shop
    full = _every_field_shipment()
    bare = Shipment.dispatch(
        order_id=full.order_id,
        channel="tmall",
        external_id="TM-2026030200001",
        warehouse="BJ-01",
        lines=(("MUG-RED", 1),),
        carrier="YTO",
        tracking_number="YT 0000 0001",
        tracking_url=None,
        expected_delivery=None,
        freight=None,
        packing=PackingCheck(
            items=(("MUG-RED", 1),), address_confirmed=True, packaging=(), checked_by="chen.gang", at=START
        ),
        complete=True,
        by=CHEN,
        at=START,
    )
    yen = Shipment.dispatch(
        order_id=new_id(),
        channel="shopify",
        external_id="1001",
        warehouse="SH-01",
        lines=(("TEA-1", 2),),
        carrier="SF",
        tracking_number="SF0000000002",
        tracking_url=None,
        expected_delivery=START + timedelta(days=3),
        freight=Money.of(900, "JPY"),
        packing=PackingCheck(
            items=(("TEA-1", 2),), address_confirmed=True, packaging=(), checked_by="chen.gang", at=START
        ),
        complete=True,
        by=CHEN,
        at=START,
    )
    _add(shop, full, bare, yen)
    for shipment in (full, bare, yen):
        loaded = _reloaded(shop, shipment)
        assert _fields(loaded) == _fields(shipment), shipment.tracking_number
    loaded_full = _reloaded(shop, full)
    assert isinstance(loaded_full, Shipment)
    assert loaded_full.shipped_at.utcoffset() == timedelta(0)  # the same instant, read back in UTC
    assert loaded_full.on_time is True
    assert loaded_full.packing.at == full.packing.at

    # filterable fields
    assert _ids(shop, Shipment, order_id=full.order_id) == sorted([full.id, bare.id])
    assert _ids(shop, Shipment, carrier="SF") == sorted([full.id, yen.id])
    assert _ids(shop, Shipment, tracking_number="YT00000001") == [bare.id]
    assert _ids(shop, Shipment, state=ShipmentState.DISPATCHED) == sorted([bare.id, yen.id])
    assert _ids(shop, Shipment, carrier="SF", state=ShipmentState.DELIVERED) == [full.id]

    # a delivery is written back
    with shop.unit_of_work(CHEN) as uow:
        stored = uow.repository(Shipment).get(bare.id)
        stored.deliver(by=CHEN, at=START + timedelta(hours=30))
        uow.repository(Shipment).save(stored)
        uow.commit()
    again = _reloaded(shop, bare)
    assert _fields(again) == _fields(stored)
    assert isinstance(again, Shipment)
    assert again.state is ShipmentState.DELIVERED
    assert again.on_time is None  # no expected delivery

    row = _row(shop, shipments, full.id)
    assert (row["freight_minor"], row["freight_currency"]) == (1250, "CNY")
    assert row["lines"] == [["MUG-BLUE", 2], ["TEA-1", 1]]
    assert row["packing"]["packaging"] == ["fragile", "hardcover"]
    assert row["packing"]["items"] == [["MUG-BLUE", 2], ["TEA-1", 1]]
    assert row["state"] == "delivered"
    freights = {
        key: (stored_row["freight_minor"], stored_row["freight_currency"])
        for key, stored_row in ((k, _row(shop, shipments, k)) for k in (bare.id, yen.id))
    }
    assert freights == {bare.id: (None, None), yen.id: (900, "JPY")}


# -- the order's special packaging ------------------------------------------------------------


def _order(external_id: str, *, packaging: tuple[str, ...] = ()) -> Order:
    lines = [OrderLine(sku="MUG-BLUE", quantity=2, unit_price=_cny("39.00"), discount=Money.zero("CNY"))]
    return Order.receive(
        fields={
            "channel": "tmall",
            "external_id": external_id,
            "revision": START,
            "placed_at": START,
            "buyer": "wxm_88",
            "consignee_name": "Li Lei",
            "consignee_phone": "13800138000",
            "province": "上海市",
            "city": "上海市",
            "address": "世纪大道 100 号 1201 室",
            "lines": lines,
            "shipping_fee": _cny("0"),
            "discount": _cny("0"),
            "total": _cny("78.00"),
            "packaging": packaging,
        },
        paid=True,
        by=TMALL,
        at=START,
    )


def test_ord_05_an_order_with_special_packaging_round_trips(case: Case) -> None:
    shop = case.shop
    wrapped = _order("TM-1", packaging=("fragile", "hardcover"))
    plain = _order("TM-2")
    assert wrapped.packaging == ("fragile", "hardcover")
    _add(shop, wrapped, plain)
    for order in (wrapped, plain):
        assert _fields(_reloaded(shop, order)) == _fields(order), order.external_id
    assert _row(shop, orders, wrapped.id)["packaging"] == ["fragile", "hardcover"]
    assert _row(shop, orders, plain.id)["packaging"] == []

    # a change of packaging before shipment is written back (ORD-08)
    with shop.unit_of_work(LI) as uow:
        stored = uow.repository(Order).get(plain.id)
        assert stored.modify({"packaging": ["Gift box", " fragile "]}, by=LI, at=START) == ["packaging"]
        uow.repository(Order).save(stored)
        uow.commit()
    again = _reloaded(shop, plain)
    assert isinstance(again, Order)
    assert again.packaging == ("fragile", "gift box")
    assert _fields(again) == _fields(stored)
    assert _row(shop, orders, plain.id)["packaging"] == ["fragile", "gift box"]


# -- carriers ----------------------------------------------------------------------------------


def _carrier(code: str = "SF") -> Carrier:
    carrier = Carrier.register(
        code=code,
        name="SF Express 顺丰",
        currency="CNY",
        coverage=["上海市", "北京市", "浙江省"],
        tracking_url_template="https://www.sf-express.com/track?no={tracking_number}",
        by=CHEN,
        at=START,
    )
    scores = {"service_quality": 5, "price": 3, "coverage": 4, "delivery_time": 4}
    carrier.evaluate(
        scores, note="fast, pricey", by=CHEN, at=datetime(2026, 3, 3, 9, 0, 0, 5, tzinfo=SHANGHAI)
    )
    carrier.evaluate({**scores, "price": 2}, note=None, by=BOSS, at=START + timedelta(days=30))
    return carrier


def test_log_01_a_carrier_with_its_evaluations_round_trips(case: Case) -> None:
    shop = case.shop
    sf = _carrier()
    yto = Carrier.register(code="YTO", name="YTO Express", currency="CNY", by=CHEN, at=START)
    _add(shop, sf, yto)
    for carrier in (sf, yto):
        assert _fields(_reloaded(shop, carrier)) == _fields(carrier), carrier.code
    loaded = _reloaded(shop, sf)
    assert isinstance(loaded, Carrier)
    assert [e.overall for e in loaded.evaluations] == [e.overall for e in sf.evaluations]
    assert loaded.covers("浙江省")
    assert not loaded.covers("海南省")
    assert _ids(shop, Carrier, code="YTO") == [yto.id]
    row = _row(shop, carriers, sf.id)
    assert row["coverage"] == list(sf.coverage) == sorted(["上海市", "北京市", "浙江省"])
    assert row["evaluations"][0]["scores"] == [
        ["service_quality", 5],
        ["price", 3],
        ["coverage", 4],
        ["delivery_time", 4],
    ]

    # the code is unique
    with shop.unit_of_work(CHEN) as uow:
        uow.repository(Carrier).add(
            Carrier.register(code="SF", name="Another", currency="CNY", by=CHEN, at=START)
        )
        with pytest.raises(DuplicateKeyError) as info:
            uow.commit()
    assert info.value.table == "carriers"


# -- freight bills -----------------------------------------------------------------------------


def _bill() -> FreightBill:
    return FreightBill.receive(
        carrier="SF",
        currency="CNY",
        period_start=date(2026, 3, 1),
        period_end=date(2026, 3, 31),
        lines=[
            BillLine(tracking_number="SF1001", amount=_cny("12.00")),
            BillLine(tracking_number="SF 1002", amount=_cny("9.5")),
            BillLine(tracking_number="SF9999", amount=_cny("5.00")),
            BillLine(tracking_number="SF1004", amount=_cny("0")),
        ],
        by=QIAN,
        at=datetime(2026, 4, 1, 9, 0, tzinfo=SHANGHAI),
    )


def test_log_02_a_freight_bill_round_trips_before_and_after_reconciling(case: Case) -> None:
    shop = case.shop
    received = _bill()
    reconciled = _bill()
    differences = reconciled.reconcile(
        {
            "SF1001": _cny("12"),  # as billed
            "SF1002": _cny("8.00"),  # billed at another amount
            "SF1004": None,  # quoted nothing
            "SF1003": _cny("7.20"),  # shipped, not billed
            "SF1005": None,  # shipped without a quote, not billed
        },
        by=QIAN,
        at=datetime(2026, 4, 2, 10, 0, tzinfo=SHANGHAI),
    )
    assert [(d.kind, d.tracking_number) for d in differences] == [
        (DifferenceKind.AMOUNT, "SF1002"),
        (DifferenceKind.NOT_SHIPPED, "SF9999"),
        (DifferenceKind.NOT_BILLED, "SF1003"),
        (DifferenceKind.NOT_BILLED, "SF1005"),
    ]
    _add(shop, received, reconciled)
    for bill in (received, reconciled):
        assert _fields(_reloaded(shop, bill)) == _fields(bill), bill.state
    loaded = _reloaded(shop, reconciled)
    assert isinstance(loaded, FreightBill)
    assert loaded.differences == differences
    assert loaded.total == _cny("26.50")
    assert loaded.period_start == date(2026, 3, 1)
    assert type(loaded.period_end) is date
    assert _ids(shop, FreightBill, carrier="SF") == sorted([received.id, reconciled.id])
    assert _ids(shop, FreightBill, state=BillState.RECONCILED) == [reconciled.id]

    row = _row(shop, freight_bills, reconciled.id)
    assert row["lines"][1] == {"tracking_number": "SF1002", "amount": {"amount": "9.5", "currency": "CNY"}}
    assert row["differences"] == [
        {
            "kind": "amount",
            "tracking_number": "SF1002",
            "billed": {"amount": "9.5", "currency": "CNY"},
            "expected": {"amount": "8.00", "currency": "CNY"},
        },
        {
            "kind": "not_shipped",
            "tracking_number": "SF9999",
            "billed": {"amount": "5.00", "currency": "CNY"},
            "expected": None,
        },
        {
            "kind": "not_billed",
            "tracking_number": "SF1003",
            "billed": None,
            "expected": {"amount": "7.20", "currency": "CNY"},
        },
        {"kind": "not_billed", "tracking_number": "SF1005", "billed": None, "expected": None},
    ]
    assert _row(shop, freight_bills, received.id)["differences"] == []

    # reconciling again replaces the differences
    with shop.unit_of_work(QIAN) as uow:
        stored = uow.repository(FreightBill).get(received.id)
        stored.reconcile(
            {"SF1001": _cny("12.00"), "SF1002": _cny("9.50"), "SF9999": _cny("5"), "SF1004": _cny("0.00")},
            by=QIAN,
            at=START,
        )
        uow.repository(FreightBill).save(stored)
        uow.commit()
    again = _reloaded(shop, received)
    assert _fields(again) == _fields(stored)
    assert isinstance(again, FreightBill)
    assert again.differences == ()
    assert again.reconciled_at == START


# -- logistics exceptions ----------------------------------------------------------------------


def test_log_03_a_logistics_exception_round_trips_open_and_resolved(case: Case) -> None:
    shop = case.shop
    shipment = _every_field_shipment()
    opened = LogisticsException.open(
        shipment_id=shipment.id,
        order_id=shipment.order_id,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        kind="damage",
        description="the box arrived crushed; 1 mug broken",
        by=CHEN,
        at=datetime(2026, 3, 4, 9, 0, tzinfo=SHANGHAI),
    )
    resolved = LogisticsException.open(
        shipment_id=shipment.id,
        order_id=shipment.order_id,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        kind=ExceptionKind.DELAY,
        description="not delivered by the expected time",
        by=Actor.system("logistics"),
        at=START,
    )
    resolved.resolve(resolution="carrier refunds the freight", by=CHEN, at=START + timedelta(days=2))
    other = LogisticsException.open(
        shipment_id=new_id(),
        order_id=new_id(),
        carrier="YTO",
        tracking_number="YT0001",
        kind=ExceptionKind.WRONG_DELIVERY,
        description="left at the neighbour's",
        by=CHEN,
        at=START,
    )
    _add(shop, opened, resolved, other)
    for exception in (opened, resolved, other):
        assert _fields(_reloaded(shop, exception)) == _fields(exception), exception.kind
    assert _ids(shop, LogisticsException, shipment_id=shipment.id) == sorted([opened.id, resolved.id])
    assert _ids(shop, LogisticsException, order_id=shipment.order_id, state=ExceptionState.OPEN) == [
        opened.id
    ]
    assert _ids(shop, LogisticsException, carrier="YTO") == [other.id]
    assert _ids(shop, LogisticsException, state=ExceptionState.RESOLVED) == [resolved.id]

    with shop.unit_of_work(CHEN) as uow:
        stored = uow.repository(LogisticsException).get(opened.id)
        stored.resolve(resolution="claim filed with the carrier", by=CHEN, at=START + timedelta(days=3))
        uow.repository(LogisticsException).save(stored)
        uow.commit()
    assert _fields(_reloaded(shop, opened)) == _fields(stored)
    row = _row(shop, logistics_exceptions, opened.id)
    assert (row["kind"], row["state"], row["resolved_by"]) == ("damage", "resolved", "chen.gang")


# -- end to end through the services ------------------------------------------------------------


def _prepare(shop: Shop) -> Shop:
    """Two warehouses, three SKUs with stock in Shanghai, two carriers."""
    shop.inventory.open_warehouse(BOSS, code="SH-01", name="Shanghai", priority=1)
    shop.inventory.open_warehouse(BOSS, code="BJ-01", name="Beijing", priority=2)
    variants = [
        {"sku": sku, "attributes": {"kind": sku.lower()}, "price": {"amount": "39.00", "currency": "CNY"}}
        for sku in ("MUG-BLUE", "MUG-RED", "TEA-1")
    ]
    shop.catalog.create_product(
        LI, {"name": "Mugs and tea", "shipping_method": "express", "variants": variants}
    )
    with shop.unit_of_work(BOSS) as uow:
        for sku, units in (("MUG-BLUE", 10), ("MUG-RED", 3), ("TEA-1", 5)):
            shop.inventory.receive_in(uow, sku, "SH-01", units)
        uow.commit()
    return shop


def _channel_order(external_id: str, phone: str, lines: list[dict[str, Any]], total: str) -> dict[str, Any]:
    return {
        "channel": "tmall",
        "external_id": external_id,
        "status": "paid",
        "placed_at": "2026-03-02T10:00:00+08:00",
        "modified_at": "2026-03-02T10:01:00+08:00",
        "currency": "CNY",
        "consignee": {
            "name": "Li Lei",
            "phone": phone,
            "province": "上海市",
            "city": "上海市",
            "district": "浦东新区",
            "address": "世纪大道 100 号 1201 室",
        },
        "lines": lines,
        "total": total,
        "payment": {"method": "alipay", "paid_at": "2026-03-02T10:01:00+08:00"},
    }


def _parcel(
    sku: str,
    units: int,
    carrier: str,
    tracking_number: str,
    *,
    packaging: list[str] | None = None,
    freight: str | None = None,
    expected: datetime | None = None,
) -> dict[str, Any]:
    command: dict[str, Any] = {
        "warehouse": "SH-01",
        "lines": [{"sku": sku, "quantity": units}],
        "packed": [{"sku": sku, "quantity": units}],
        "address_confirmed": True,
        "packaging": packaging or [],
        "carrier": carrier,
        "tracking_number": tracking_number,
    }
    if freight is not None:
        command["freight"] = {"amount": freight, "currency": "CNY"}
    if expected is not None:
        command["expected_delivery"] = expected.isoformat()
    return command


def _clock(shop: Shop) -> FixedClock:
    clock = shop.clock
    assert isinstance(clock, FixedClock)
    return clock


def _refused(call: Callable[[], object]) -> tuple[str, str]:
    """Run ``call``; return the error it raised, by class and field (it must raise one)."""
    try:
        call()
    except EshopError as error:
        return type(error).__name__, str(getattr(error, "field", ""))
    raise AssertionError("expected an error")


_UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class _Labels:
    """Replaces ids by labels in order of first appearance, so two runs' results compare."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def label(self, key: str) -> str:
        return self.seen.setdefault(key, f"<id{len(self.seen)}>")

    def plain(self, value: object) -> object:
        if isinstance(value, uuid.UUID):
            return self.label(str(value))
        if isinstance(value, str):
            return _UUID_TEXT.sub(lambda match: self.label(match.group(0)), value)
        if isinstance(value, enum.Enum) or value is None or isinstance(value, bool | int):
            return value
        if attrs.has(type(value)) and not isinstance(value, Money):
            names = [a.name for a in attrs.fields(type(value))]  # type: ignore[arg-type]
            return {name: self.plain(getattr(value, name)) for name in names}
        if isinstance(value, Mapping):
            return {self.plain(k): self.plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.plain(v) for v in value]
        return value


def _run_the_flow(shop: Shop) -> dict[str, Any]:
    """Ship, deliver, reconcile and handle exceptions through the services; return what they said."""
    out: dict[str, Any] = {}
    clock = _clock(shop)
    sf = shop.logistics.register_carrier(
        CHEN,
        code="SF",
        name="SF Express",
        currency="CNY",
        coverage=["上海市", "北京市"],
        tracking_url_template="https://www.sf-express.com/track?no={tracking_number}",
    )
    shop.logistics.register_carrier(CHEN, code="YTO", name="YTO Express", currency="CNY")
    out["duplicate carrier"] = _refused(
        lambda: shop.logistics.register_carrier(CHEN, code="SF", name="again", currency="CNY")
    )
    out["evaluated"] = shop.logistics.evaluate_carrier(
        CHEN, "SF", {"service_quality": 5, "price": 3, "coverage": 4, "delivery_time": 4}, note="good"
    )
    out["carrier"] = sf

    first = shop.orders.ingest(
        TMALL,
        _channel_order(
            "TM-1",
            "13800138000",
            [
                {"sku": "MUG-BLUE", "quantity": 2, "unit_price": "39.00"},
                {"sku": "TEA-1", "quantity": 1, "unit_price": "10.00"},
            ],
            "88.00",
        ),
    )
    second = shop.orders.ingest(
        TMALL,
        _channel_order(
            "TM-2", "13900139000", [{"sku": "MUG-RED", "quantity": 1, "unit_price": "19.90"}], "19.90"
        ),
    )
    third = shop.orders.ingest(
        TMALL,
        _channel_order(
            "TM-3", "13700137000", [{"sku": "MUG-RED", "quantity": 1, "unit_price": "19.90"}], "19.90"
        ),
    )
    out["ingested"] = [(r.external_id, r.outcome, r.state) for r in (first, second, third)]
    shop.orders.modify(LI, first.id, packaging=["Fragile", "hardcover"])

    # ORD-05: the packing check refuses a parcel without the order's packaging
    out["unpacked"] = _refused(
        lambda: shop.shipping.ship(
            CHEN, first.id, _parcel("MUG-BLUE", 2, "SF", "SF10010001", packaging=["fragile"])
        )
    )
    out["parcel 1"] = shop.shipping.ship(
        CHEN,
        first.id,
        _parcel(
            "MUG-BLUE",
            2,
            "SF",
            "SF 1001 0001",
            packaging=["hardcover", "FRAGILE"],
            freight="12.00",
            expected=START + timedelta(days=2),
        ),
    )
    clock.advance(timedelta(hours=1))
    out["parcel 2"] = shop.shipping.ship(
        CHEN,
        first.id,
        _parcel(
            "TEA-1",
            1,
            "SF",
            "SF10010002",
            packaging=["fragile", "hardcover"],
            freight="8.00",
            expected=START + timedelta(days=1),
        ),
    )
    out["parcel 3"] = shop.shipping.ship(CHEN, second.id, _parcel("MUG-RED", 1, "SF", "SF10010003"))
    out["parcel 4"] = shop.shipping.ship(
        CHEN, third.id, _parcel("MUG-RED", 1, "YTO", "YT10010004", freight="6.00")
    )
    parcels = [out[f"parcel {n}"] for n in (1, 2, 3, 4)]
    out["order shipped"] = shop.orders.get(CHEN, first.id)

    # LOG-03: the parcel due after a day is not delivered: run_due opens a delay exception
    clock.advance(timedelta(days=1, hours=1))
    report = shop.run_due()
    out["due 1"] = (len(report.fired), len(report.failed))
    out["open after a day"] = shop.logistics.exceptions(CHEN)
    out["parcel 1 delivered"] = shop.shipping.deliver(CHEN, parcels[0].id)
    out["delivered twice"] = _refused(lambda: shop.shipping.deliver(CHEN, parcels[0].id))
    clock.advance(timedelta(days=2))
    report = shop.run_due()  # parcel 1's timer was cancelled, parcel 2's fired: nothing new opens
    out["due 2"] = (len(report.fired), len(report.failed))
    delay = shop.logistics.exceptions(CHEN)
    out["open after three days"] = delay
    out["resolved"] = shop.logistics.resolve_exception(
        CHEN, delay[0].id, resolution="carrier refunds the freight of the late parcel"
    )
    out["resolved twice"] = _refused(
        lambda: shop.logistics.resolve_exception(CHEN, delay[0].id, resolution="again")
    )
    out["parcel 2 delivered"] = shop.shipping.deliver(CHEN, parcels[1].id)
    out["order delivered"] = shop.orders.get(CHEN, first.id)
    out["damage"] = shop.logistics.report_exception(
        CHEN, parcels[0].id, kind="damage", description="one mug arrived broken"
    )
    out["unknown kind"] = _refused(
        lambda: shop.logistics.report_exception(CHEN, parcels[0].id, kind="stolen", description="gone")
    )

    # LOG-02: the carrier's bill, reconciled against its shipments of the period
    out["other currency"] = _refused(
        lambda: shop.logistics.record_bill(
            QIAN,
            carrier="SF",
            period_start=date(2026, 3, 1),
            period_end=date(2026, 3, 31),
            lines=[{"tracking_number": "SF10010001", "amount": {"amount": "12.00", "currency": "USD"}}],
        )
    )
    bill = shop.logistics.record_bill(
        QIAN,
        carrier="SF",
        period_start=date(2026, 3, 1),
        period_end=date(2026, 3, 31),
        lines=[
            {"tracking_number": "SF10010001", "amount": {"amount": "12.00", "currency": "CNY"}},
            {"tracking_number": "SF10010002", "amount": {"amount": "9.50", "currency": "CNY"}},
            {"tracking_number": "SF99999999", "amount": {"amount": "5.00", "currency": "CNY"}},
        ],
    )
    out["bill"] = bill
    out["reconciled"] = shop.logistics.reconcile(QIAN, bill.id)
    out["february bill"] = shop.logistics.reconcile(
        QIAN,
        shop.logistics.record_bill(
            QIAN,
            carrier="SF",
            period_start=date(2026, 2, 1),
            period_end=date(2026, 2, 28),
            lines=[{"tracking_number": "SF10010001", "amount": {"amount": "12.00", "currency": "CNY"}}],
        ).id,
    )

    out["shipments"] = shop.shipping.shipments(CHEN, first.id)
    out["scorecard SF"] = shop.logistics.scorecard(CHEN, "SF")
    out["scorecard YTO"] = shop.logistics.scorecard(CHEN, "YTO")
    out["carriers for 上海市"] = [c.code for c in shop.logistics.carriers_for(CHEN, "上海市")]
    out["carriers for 海南省"] = [c.code for c in shop.logistics.carriers_for(CHEN, "海南省")]
    out["all exceptions"] = shop.logistics.exceptions(CHEN, state=None)
    with shop.unit_of_work(BOSS) as uow:
        ledger = uow.port(StockLedger)
        out["levels"] = [
            (lv.sku, lv.warehouse, lv.on_hand, lv.reserved) for lv in ledger.levels(limit=100).items
        ]
        out["movements"] = [
            (m.reason, m.sku, m.warehouse, m.on_hand_delta, m.reserved_delta, m.reference)
            for m in ledger.movements(limit=500).items
        ]
    out["audit"] = [
        (e.action, e.aggregate_type, e.aggregate_id, e.actor_id, e.occurred_at, e.details)
        for e in shop.audit.entries(BOSS, limit=500).items
    ]
    return out


def test_ord_05_shipping_and_logistics_through_the_services_on_sql_give_the_results_of_memory(
    case: Case,
) -> None:
    """ORD-05 and LOG-01..03 end to end: the same script, the same answers, events and stock."""
    expected = _run_the_flow(_prepare(Shop.open("memory://", clock=FixedClock(START))))
    got = _run_the_flow(_prepare(case.shop))
    mine, theirs = _Labels().plain(got), _Labels().plain(expected)
    assert isinstance(mine, dict)
    assert isinstance(theirs, dict)
    assert list(mine) == list(theirs)
    for key in theirs:
        assert mine[key] == theirs[key], key

    # the script covers what it means to (checked on memory's results)
    assert expected["unpacked"] == ("InvalidInputError", "packaging")
    assert expected["duplicate carrier"] == ("InvalidInputError", "code")
    assert expected["delivered twice"][0] == "InvalidTransitionError"
    assert expected["resolved twice"][0] == "InvalidTransitionError"
    assert expected["unknown kind"] == ("InvalidInputError", "kind")
    assert expected["other currency"] == ("InvalidInputError", "lines.0.amount")
    assert [state for _id, _outcome, state in expected["ingested"]] == [OrderState.ALLOCATED] * 3
    parcel = expected["parcel 1"]
    assert parcel.tracking_number == "SF10010001"
    assert parcel.tracking_url == "https://www.sf-express.com/track?no=SF10010001"
    assert parcel.packing.packaging == ("fragile", "hardcover")
    assert parcel.freight == _cny("12.00")
    assert expected["order shipped"].state is OrderState.SHIPPED
    assert expected["order shipped"].packaging == ("fragile", "hardcover")
    assert (expected["due 1"], expected["due 2"]) == ((1, 0), (0, 0))
    opened = expected["open after a day"]
    assert [(e.kind, e.tracking_number, e.opened_by) for e in opened] == [
        (ExceptionKind.DELAY, "SF10010002", "system:logistics")
    ]
    assert expected["open after three days"] == opened  # no second exception
    assert expected["parcel 1 delivered"].on_time is True
    assert expected["parcel 2 delivered"].on_time is False
    assert expected["order delivered"].state is OrderState.DELIVERED
    assert expected["resolved"].state is ExceptionState.RESOLVED
    assert expected["reconciled"].state is BillState.RECONCILED
    assert expected["reconciled"].differences == (
        FreightDifference(
            kind=DifferenceKind.AMOUNT,
            tracking_number="SF10010002",
            billed=_cny("9.50"),
            expected=_cny("8.00"),
        ),
        FreightDifference(
            kind=DifferenceKind.NOT_SHIPPED, tracking_number="SF99999999", billed=_cny("5.00"), expected=None
        ),
        FreightDifference(
            kind=DifferenceKind.NOT_BILLED, tracking_number="SF10010003", billed=None, expected=None
        ),
    )
    assert [d.kind for d in expected["february bill"].differences] == [DifferenceKind.NOT_SHIPPED]
    card = expected["scorecard SF"]
    assert (card.shipments, card.delivered, card.on_time_rate, card.exception_rate) == (
        3,
        2,
        Decimal("0.50"),
        Decimal("0.67"),
    )
    assert dict(card.exceptions) == {"delay": 1, "damage": 1}
    assert dict(card.freight) == {"CNY": _cny("20.00")}
    assert expected["scorecard YTO"].shipments == 1
    assert expected["carriers for 上海市"] == ["SF", "YTO"]
    assert expected["carriers for 海南省"] == ["YTO"]
    assert ("MUG-BLUE", "SH-01", 8, 0) in expected["levels"]
    actions = {action for action, *_rest in expected["audit"]}
    assert {
        "ShipmentDispatched",
        "ShipmentDelivered",
        "OrderShipped",
        "OrderDelivered",
        "CarrierRegistered",
        "CarrierEvaluated",
        "FreightBillReceived",
        "FreightBillReconciled",
        "LogisticsExceptionOpened",
        "LogisticsExceptionResolved",
    } <= actions


# -- migration 0006 ---------------------------------------------------------------------------


def _order_before_0006(connection: sa.Connection, keyring: Keyring) -> Order:
    """Store an order as revision 0005 did: without ``packaging``."""
    order = _order("TM-OLD")
    mapping = MAPPINGS[Order]
    row = mapping.to_row(order, keyring=keyring)
    assert row.pop("packaging") == []
    connection.execute(orders.insert(), row)
    connection.execute(order_lines.insert(), mapping.to_child_rows(order, keyring=keyring)[order_lines.name])
    return order


def _packaging_column(connection: sa.Connection) -> Mapping[str, Any] | None:
    for column in sa.inspect(connection).get_columns("orders"):
        if column["name"] == "packaging":
            return dict(column)
    return None


NEW_TABLES = {"shipments", "carriers", "freight_bills", "logistics_exceptions"}


def _check_0006(
    engine: sa.Engine,
    config: Callable[[sa.Connection], Config],
    open_shop: Callable[[], Shop],
    keyring: Keyring,
) -> None:
    with engine.begin() as connection:
        command.upgrade(config(connection), "0005")
        old = _order_before_0006(connection, keyring)
        assert _packaging_column(connection) is None
    with open_shop() as shop:  # migrates to head
        loaded = _reloaded(shop, old)
        assert isinstance(loaded, Order)
        assert loaded.packaging == ()
        assert _fields(loaded) == _fields(old)
    metadata = load_metadata()
    with engine.connect() as connection:
        assert connection.execute(sa.select(orders.c.packaging)).scalars().all() == [[]]
        column = _packaging_column(connection)
        assert column is not None
        assert column["nullable"] is False
        assert "[]" in str(column["default"])
        # the migrated schema is the models', server defaults included
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, metadata) == []
        # ... and the comparison notices a packaging column without its default
        changed = sa.MetaData()
        for table in metadata.sorted_tables:
            table.to_metadata(changed)
        changed.tables["orders"].c.packaging.server_default = None
        assert compare_metadata(context, changed) != []
    with engine.begin() as connection:
        command.downgrade(config(connection), "0005")
        names = set(sa.inspect(connection).get_table_names())
        assert not names & NEW_TABLES
        assert {"orders", "order_lines"} <= names
        assert _packaging_column(connection) is None
        assert connection.execute(sa.select(orders.c.external_id)).scalars().all() == ["TM-OLD"]
        assert connection.execute(sa.select(sa.func.count()).select_from(order_lines)).scalar() == 1
        command.upgrade(config(connection), "head")
        assert set(sa.inspect(connection).get_table_names()) >= NEW_TABLES
        assert connection.execute(sa.select(orders.c.packaging)).scalars().all() == [[]]


def test_migration_0006_adds_the_tables_and_an_empty_packaging_to_orders_on_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    keyring = Keyring.generate()
    try:
        _check_0006(
            engine,
            migrate.alembic_config,
            lambda: Shop.open(f"sqlite:///{db}", keyring=keyring),
            keyring,
        )
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_migration_0006_adds_the_tables_and_an_empty_packaging_to_orders_on_postgresql(
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
        _check_0006(
            engine,
            lambda connection: migrate.alembic_config(connection, schema=fresh),
            lambda: postgres.open_shop(fresh),
            postgres.keyring,
        )
    finally:
        engine.dispose()
