"""Orders on the memory backend: ingestion, audit, confirmation on time, allocation and payment reminders.

ORD-01 (channel orders in, one order per channel order, revisions), ORD-02 (the
audit and its findings), ORD-03 (the confirmation deadline, late and overdue
orders), ORD-04 (allocation, shortage, backorder and partial shipment), ORD-07
(payment reminders), plus access (GOV-01, GOV-03) and bad input: every refusal
leaves orders, stock, the ledger and the audit log as they were.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
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
)
from eshop_core.domain.inventory import MovementReason, StockLevel
from eshop_core.domain.orders import OrderState
from eshop_core.schemas.policies import default_policy_text
from eshop_core.services.orders import IngestOutcome, IngestResult, OrderView
from eshop_core.storage.ports import AuditEntry

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLACED = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)  # a Monday morning
AT = PLACED + timedelta(minutes=5)

TMALL = Actor.system("channel:tmall")
JD = Actor.system("channel:jd")
LI = Actor("li.ming", roles={Role.OPERATIONS})
WANG = Actor("wang.fang", roles={Role.CUSTOMER_SERVICE})
CHEN = Actor("chen.jie", roles={Role.LOGISTICS})
WU = Actor("wu.gang", roles={Role.WAREHOUSE})
ZHOU = Actor("zhou.min", roles={Role.PURCHASING})
ZHAO = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
ADMIN = Actor("ma.jun", roles={Role.ADMINISTRATOR})
NOBODY = Actor("guest.1")

CONSIGNEE: dict[str, str] = {
    "name": "Li Lei",
    "phone": "13800138000",
    "province": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "address": "世纪大道 100 号 1201 室",
}

AUTO_CONFIRM_OFF = ("auto_confirm = true", "auto_confirm = false")
BUSINESS_DEADLINE = (
    "order_confirmation = { hours = 1, business_time = false }",
    "order_confirmation = { hours = 1, business_time = true }",
)


# -- set-up ----------------------------------------------------------------------------------------


def _open(clock: FixedClock, *, stock: int) -> Shop:
    shop = Shop.open("memory://", clock=clock)
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
    shop.inventory.open_warehouse(ZHAO, code="SH-01", name="Shanghai", priority=1)
    shop.inventory.open_warehouse(ZHAO, code="BJ-01", name="Beijing", priority=2)
    if stock:
        _receive(shop, "MUG-BLUE", stock)
        _receive(shop, "MUG-RED", stock)
    return shop


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AT)


@pytest.fixture
def shop(clock: FixedClock) -> Iterator[Shop]:
    """A shop with 100 blue and 100 red mugs in Shanghai."""
    with _open(clock, stock=100) as opened:
        yield opened


@pytest.fixture
def bare(clock: FixedClock) -> Iterator[Shop]:
    """A shop with no stock at all."""
    with _open(clock, stock=0) as opened:
        yield opened


# -- helpers ---------------------------------------------------------------------------------------


def _consignee(**changes: str) -> dict[str, str]:
    return {**CONSIGNEE, **changes}


def _channel_order(
    external_id: str = "TM-1",
    *,
    status: str = "paid",
    placed: datetime = PLACED,
    modified: datetime | None = None,
    paid_at: datetime | None = None,
    items: Sequence[tuple[str, int]] = (("MUG-BLUE", 2),),
    price: str = "39.00",
    channel: str = "tmall",
    **extra: Any,
) -> dict[str, Any]:
    """
    A valid channel order of ``items`` (SKU, units); ``extra`` replaces top-level keys (``lines``...).

    A paid order is paid when it was placed unless ``paid_at`` says otherwise.
    """
    modified = modified or placed + timedelta(minutes=1)
    total = sum((Decimal(price) * quantity for _sku, quantity in items), Decimal(0))
    data: dict[str, Any] = {
        "channel": channel,
        "external_id": external_id,
        "status": status,
        "placed_at": placed.isoformat(),
        "modified_at": modified.isoformat(),
        "currency": "CNY",
        "consignee": dict(CONSIGNEE),
        "lines": [{"sku": sku, "quantity": quantity, "unit_price": price} for sku, quantity in items],
        "total": str(total),
    }
    if status == "paid":
        paid = paid_at or placed
        data["payment"] = {"method": "alipay", "reference": "PAY-1", "paid_at": paid.isoformat()}
    data.update(extra)
    return data


def _receive(shop: Shop, sku: str, units: int, warehouse: str = "SH-01") -> None:
    with shop.unit_of_work(WU) as uow:
        shop.inventory.receive_in(uow, sku, warehouse, units, reference="delivery:test")
        uow.commit()


def _level(shop: Shop, sku: str = "MUG-BLUE", warehouse: str = "SH-01") -> StockLevel:
    return shop.inventory.level(ZHAO, sku, warehouse)


def _entries(shop: Shop, aggregate_id: uuid.UUID | None = None) -> tuple[AuditEntry, ...]:
    return shop.audit.entries(ZHAO, aggregate_id=aggregate_id, limit=1000).items


def _actions(shop: Shop, order_id: uuid.UUID) -> list[str]:
    return [entry.action for entry in _entries(shop, order_id)]


def _order(shop: Shop, order_id: uuid.UUID) -> OrderView:
    return shop.orders.get(ZHAO, order_id)


def _snapshot(shop: Shop) -> tuple[Any, ...]:
    """Orders, stock, the ledger, suggestions and the audit log: what a refusal must leave alone."""
    return (
        shop.orders.orders(ZHAO, limit=1000).items,
        shop.inventory.levels(ZHAO, limit=1000).items,
        shop.inventory.movements(ZHAO, limit=1000).items,
        shop.inventory.suggestions(ZHAO, state=None),
        len(_entries(shop)),
    )


def _allocations(view: OrderView, sku: str = "MUG-BLUE") -> dict[str, int]:
    return dict(view.line(sku).allocations)


def _adopt(shop: Shop, *changes: tuple[str, str]) -> None:
    """Propose the default policy with ``changes`` (old, new text), approve it, effective now."""
    text = default_policy_text()
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    request = shop.policies.propose(LI, text, effective_from=shop.clock.now(), reason="order rules")
    shop.approvals.approve(ZHAO, request.id)


def _held(shop: Shop, external_id: str = "TM-1", **extra: Any) -> IngestResult:
    """Ingest an order the audit holds for its invalid phone."""
    result = shop.orders.ingest(
        TMALL, _channel_order(external_id, consignee=_consignee(phone="12345"), **extra)
    )
    assert result.state is OrderState.HELD
    return result


# -- ORD-01: channel orders in --------------------------------------------------------------------


def test_ord_01_a_channel_order_becomes_one_order(shop: Shop) -> None:
    result = shop.orders.ingest(TMALL, _channel_order())
    assert (result.outcome, result.channel, result.external_id) == (IngestOutcome.CREATED, "tmall", "TM-1")
    view = shop.orders.by_channel(WANG, "tmall", "TM-1")
    assert view.id == result.id
    assert view.state is OrderState.ALLOCATED
    assert (view.placed_at, view.revision) == (PLACED, PLACED + timedelta(minutes=1))
    assert view.total == Money.of("78.00", "CNY")
    assert [(line.sku, line.quantity, line.unit_price) for line in view.lines] == [
        ("MUG-BLUE", 2, Money.of("39.00", "CNY"))
    ]
    assert (view.consignee_name, view.consignee_phone, view.address) == (
        "Li Lei",
        "13800138000",
        CONSIGNEE["address"],
    )
    assert (view.payment_method, view.payment_reference) == ("alipay", "PAY-1")
    assert [o.id for o in shop.orders.orders(WANG).items] == [result.id]
    assert _actions(shop, result.id) == [
        "OrderReceived",
        "OrderPaid",
        "OrderAuditPassed",
        "OrderConfirmed",
        "OrderAllocated",
    ]
    assert _entries(shop, result.id)[0].actor_id == "system:channel:tmall"


def test_ord_01_the_same_revision_again_is_unchanged_and_changes_nothing(
    shop: Shop, clock: FixedClock
) -> None:
    first = shop.orders.ingest(TMALL, _channel_order())
    clock.advance(timedelta(minutes=5))
    before = _snapshot(shop)
    version = _order(shop, first.id).version

    again = shop.orders.ingest(TMALL, _channel_order())  # the poll after the webhook
    polled = shop.orders.ingest_many(TMALL, [_channel_order()])

    assert (again.id, again.outcome, again.state) == (first.id, IngestOutcome.UNCHANGED, OrderState.ALLOCATED)
    assert [(r.id, r.outcome) for r in polled] == [(first.id, IngestOutcome.UNCHANGED)]
    assert _order(shop, first.id).version == version
    assert _level(shop).reserved == 2
    assert _snapshot(shop) == before


def test_ord_01_an_older_revision_is_stale_recorded_and_changes_nothing_else(
    shop: Shop, clock: FixedClock
) -> None:
    newer = PLACED + timedelta(minutes=10)
    older = PLACED + timedelta(minutes=1)
    created = shop.orders.ingest(
        TMALL, _channel_order(modified=newer, consignee=_consignee(address="张江路 8 号 2 栋 301"))
    )
    before = _order(shop, created.id)
    stock = (_level(shop), shop.inventory.movements(ZHAO, limit=1000).items)
    clock.advance(timedelta(minutes=20))

    result = shop.orders.ingest(TMALL, _channel_order(modified=older))

    assert (result.id, result.outcome, result.state) == (
        created.id,
        IngestOutcome.STALE,
        OrderState.ALLOCATED,
    )
    after = _order(shop, created.id)
    assert after.address == "张江路 8 号 2 栋 301"
    assert after.revision == newer
    step = after.steps[-1]
    assert (step.action, step.note, step.by, step.at) == (
        "revision_ignored",
        older.isoformat(),
        "system:channel:tmall",
        clock.now(),
    )
    entry = _entries(shop, created.id)[-1]
    assert entry.action == "OrderRevisionIgnored"
    assert datetime.fromisoformat(entry.details["revision"]) == older
    assert datetime.fromisoformat(entry.details["current"]) == newer
    # Nothing else moved: the order apart from its version and timeline, the stock and the ledger.
    assert after.version == before.version + 1
    assert attrs.evolve(after, version=before.version, steps=before.steps) == before
    assert (_level(shop), shop.inventory.movements(ZHAO, limit=1000).items) == stock


def test_ord_01_a_newer_revision_applies_an_address_change(shop: Shop, clock: FixedClock) -> None:
    created = shop.orders.ingest(TMALL, _channel_order())
    stock = (_level(shop), shop.inventory.movements(ZHAO, limit=1000).items)
    clock.advance(timedelta(minutes=10))
    newer = PLACED + timedelta(minutes=12)

    result = shop.orders.ingest(
        TMALL, _channel_order(modified=newer, consignee=_consignee(address="张江路 8 号 2 栋 301"))
    )

    assert (result.id, result.outcome, result.state) == (
        created.id,
        IngestOutcome.UPDATED,
        OrderState.ALLOCATED,
    )
    view = _order(shop, created.id)
    assert (view.address, view.revision) == ("张江路 8 号 2 栋 301", newer)
    assert (view.steps[-1].action, view.steps[-1].note) == ("revised", "address")
    entry = _entries(shop, created.id)[-1]
    assert (entry.action, entry.details["changed"]) == ("OrderRevisionApplied", ["address"])
    assert (_level(shop), shop.inventory.movements(ZHAO, limit=1000).items) == stock


def test_ord_01_a_newer_paid_revision_of_an_unpaid_order_audits_confirms_and_allocates(
    shop: Shop, clock: FixedClock
) -> None:
    pending = shop.orders.ingest(TMALL, _channel_order(status="pending_payment"))
    assert (pending.outcome, pending.state) == (IngestOutcome.CREATED, OrderState.PENDING_PAYMENT)
    assert _level(shop).reserved == 0
    clock.advance(timedelta(minutes=10))
    paid_at = PLACED + timedelta(minutes=14)

    result = shop.orders.ingest(TMALL, _channel_order(modified=paid_at, paid_at=paid_at))

    assert (result.id, result.outcome, result.state) == (
        pending.id,
        IngestOutcome.UPDATED,
        OrderState.ALLOCATED,
    )
    view = _order(shop, pending.id)
    assert view.paid_at == paid_at
    assert view.confirmed_at == clock.now()
    assert _actions(shop, pending.id)[-4:] == [
        "OrderPaid",
        "OrderAuditPassed",
        "OrderConfirmed",
        "OrderAllocated",
    ]
    assert _level(shop).reserved == 2


def test_ord_01_a_newer_cancelled_revision_releases_the_reserved_stock(shop: Shop, clock: FixedClock) -> None:
    created = shop.orders.ingest(TMALL, _channel_order())
    assert _level(shop).reserved == 2
    clock.advance(timedelta(minutes=10))

    result = shop.orders.ingest(
        TMALL, _channel_order(status="cancelled", modified=PLACED + timedelta(minutes=15))
    )

    assert (result.outcome, result.state) == (IngestOutcome.UPDATED, OrderState.CANCELLED)
    view = _order(shop, created.id)
    assert view.cancel_reason == "cancelled on the channel"
    assert view.line("MUG-BLUE").allocations == ()
    level = _level(shop)
    assert (level.reserved, level.available) == (0, 100)
    released = [
        m
        for m in shop.inventory.movements(ZHAO, reference=f"order:{created.id}").items
        if m.reason is MovementReason.RELEASE
    ]
    assert [(m.warehouse, m.reserved_delta) for m in released] == [("SH-01", -2)]


def test_ord_01_a_newer_revision_changing_items_after_allocation_is_flagged_not_refused(
    shop: Shop, clock: FixedClock
) -> None:
    """ORD-01: the channel's newer revision is taken in; items changed after confirmation go to a person."""
    created = shop.orders.ingest(TMALL, _channel_order())
    clock.advance(timedelta(minutes=10))

    result = shop.orders.ingest(
        TMALL, _channel_order(modified=PLACED + timedelta(minutes=12), items=(("MUG-BLUE", 3),))
    )

    assert (result.id, result.outcome) == (created.id, IngestOutcome.UPDATED)
    view = _order(shop, created.id)
    assert view.line("MUG-BLUE").quantity == 2  # the confirmed items stay until a person decides
    assert view.revision == PLACED + timedelta(minutes=12)
    assert "channel_change" in [f.rule for f in view.findings]
    assert _level(shop).reserved == 2


def test_ord_01_the_same_key_twice_in_one_batch_makes_one_order(shop: Shop) -> None:
    results = shop.orders.ingest_many(TMALL, [_channel_order(), _channel_order()])

    assert [r.outcome for r in results] == [IngestOutcome.CREATED, IngestOutcome.UNCHANGED]
    assert results[0].id == results[1].id
    assert len(shop.orders.orders(ZHAO).items) == 1
    assert _level(shop).reserved == 2


def test_ord_01_revisions_in_one_batch_apply_in_the_batchs_order(shop: Shop) -> None:
    first = _channel_order(status="pending_payment", modified=PLACED + timedelta(minutes=1))
    paid = _channel_order(modified=PLACED + timedelta(minutes=5))
    later = _channel_order("TM-2", modified=PLACED + timedelta(minutes=9), items=(("MUG-RED", 1),))
    earlier = _channel_order("TM-2", modified=PLACED + timedelta(minutes=3), items=(("MUG-RED", 1),))

    results = shop.orders.ingest_many(TMALL, [first, paid, later, earlier])

    assert [r.outcome for r in results] == [
        IngestOutcome.CREATED,
        IngestOutcome.UPDATED,
        IngestOutcome.CREATED,
        IngestOutcome.STALE,
    ]
    assert len(shop.orders.orders(ZHAO).items) == 2
    assert _order(shop, results[1].id).state is OrderState.ALLOCATED
    assert _order(shop, results[3].id).revision == PLACED + timedelta(minutes=9)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        pytest.param(
            {"lines": [{"sku": "MUG-RED", "quantity": 0, "unit_price": "1.00"}]}, "lines.0.quantity"
        ),
        pytest.param({"total": "80.00"}, "total"),
        pytest.param({"currency": "ZZZ"}, "lines.0.unit_price"),
    ],
)
def test_ord_01_a_batch_with_one_invalid_order_stores_nothing_and_names_it(
    shop: Shop, bad: dict[str, Any], field: str
) -> None:
    before = _snapshot(shop)
    batch = [_channel_order(), _channel_order("TM-2", **bad), _channel_order("TM-3")]

    with pytest.raises(InvalidInputError) as info:
        shop.orders.ingest_many(TMALL, batch)

    assert info.value.field == f"orders.1.{field}"
    assert _snapshot(shop) == before


def test_ord_01_an_unknown_sku_is_refused_naming_it_and_nothing_is_stored(shop: Shop) -> None:
    before = _snapshot(shop)
    unknown = _channel_order("TM-2", items=(("MUG-BLUE", 1), ("NO-SUCH-MUG", 1)))

    with pytest.raises(NotFoundError) as info:
        shop.orders.ingest(TMALL, unknown)
    assert (info.value.kind, info.value.key) == ("SKU", "NO-SUCH-MUG")
    with pytest.raises(NotFoundError, match="NO-SUCH-MUG"):
        shop.orders.ingest_many(TMALL, [_channel_order(), unknown])

    assert _snapshot(shop) == before


# -- bad input --------------------------------------------------------------------------------------


def _line(quantity: object = 2, unit_price: object = "39.00", **extra: object) -> dict[str, object]:
    return {"sku": "MUG-BLUE", "quantity": quantity, "unit_price": unit_price, **extra}


def _naive(at: datetime) -> str:
    return at.replace(tzinfo=None).isoformat()


BAD_ORDERS = [
    pytest.param({"lines": []}, "lines", id="no-lines"),
    pytest.param({"lines": [_line(0)], "total": "0.00"}, "lines.0.quantity", id="zero-quantity"),
    pytest.param({"lines": [_line(-1)], "total": "-39.00"}, "lines.0.quantity", id="negative-quantity"),
    pytest.param({"lines": [_line(1.5)], "total": "58.50"}, "lines.0.quantity", id="fractional-quantity"),
    pytest.param({"lines": [_line(2.0)]}, "lines.0.quantity", id="float-quantity"),
    pytest.param({"lines": [_line("2")]}, "lines.0.quantity", id="text-quantity"),
    pytest.param({"total": "80.00"}, "total", id="total-too-high"),
    pytest.param({"total": "77.99"}, "total", id="total-too-low"),
    pytest.param({"shipping_fee": "10.00"}, "total", id="total-without-shipping"),
    pytest.param({"discount": "8.00"}, "total", id="total-without-discount"),
    pytest.param({"lines": [_line(discount="5.00")]}, "total", id="total-without-line-discount"),
    pytest.param({"placed_at": _naive(PLACED)}, "placed_at", id="naive-placed-at"),
    pytest.param({"modified_at": _naive(PLACED)}, "modified_at", id="naive-modified-at"),
    pytest.param(
        {"payment": {"method": "alipay", "paid_at": _naive(PLACED)}}, "payment.paid_at", id="naive-paid-at"
    ),
    pytest.param({"total": 78.0}, "total", id="float-total"),
    pytest.param({"lines": [_line(unit_price=39.0)]}, "lines.0.unit_price", id="float-unit-price"),
    pytest.param({"lines": [_line(discount=0.0)]}, "lines.0.discount", id="float-line-discount"),
    pytest.param({"shipping_fee": 0.0}, "shipping_fee", id="float-shipping-fee"),
    pytest.param({"discount": 0.0}, "discount", id="float-discount"),
    pytest.param({"payment": None}, "payment", id="paid-without-payment"),
    pytest.param(
        {"modified_at": (PLACED - timedelta(minutes=1)).isoformat()},
        "modified_at",
        id="modified-before-placed",
    ),
    pytest.param({"coupon": "SPRING"}, "coupon", id="unknown-key"),
    pytest.param(
        {"consignee": _consignee(email="li@example.com")}, "consignee.email", id="unknown-consignee-key"
    ),
    pytest.param({"lines": [_line(colour="blue")]}, "lines.0.colour", id="unknown-line-key"),
    pytest.param({"status": "shipped"}, "status", id="unknown-status"),
    pytest.param({"currency": "ZZZ"}, "lines.0.unit_price", id="unknown-currency"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_ORDERS)
def test_ord_01_bad_channel_orders_are_refused_naming_the_field_and_nothing_is_stored(
    shop: Shop, bad: dict[str, Any], field: str
) -> None:
    before = _snapshot(shop)

    with pytest.raises(InvalidInputError) as info:
        shop.orders.ingest(TMALL, _channel_order(**bad))
    assert info.value.field == field
    with pytest.raises(InvalidInputError) as in_batch:
        shop.orders.ingest_many(TMALL, [_channel_order("TM-0"), _channel_order(**bad)])
    assert in_batch.value.field == f"orders.1.{field}"

    assert _snapshot(shop) == before


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        pytest.param(
            {"lines": [_line(unit_price="39.005")], "total": "78.01"}, "lines.0.unit_price", id="price"
        ),
        pytest.param({"shipping_fee": "0.005", "total": "78.005"}, "shipping_fee", id="shipping-fee"),
        pytest.param(
            {"currency": "JPY", "lines": [_line(1, "39.5")], "total": "39.5"}, "lines.0.unit_price", id="yen"
        ),
    ],
)
def test_ord_01_amounts_finer_than_the_currencys_minor_unit_are_refused(
    shop: Shop, bad: dict[str, Any], field: str
) -> None:
    before = _snapshot(shop)

    with pytest.raises(InvalidInputError) as info:
        shop.orders.ingest(TMALL, _channel_order(**bad))

    assert info.value.field == field
    assert _snapshot(shop) == before


def test_ord_01_ingest_many_refuses_anything_but_a_list_of_orders(shop: Shop) -> None:
    before = _snapshot(shop)
    with pytest.raises(InvalidInputError) as info:
        shop.orders.ingest_many(TMALL, _channel_order())  # type: ignore[arg-type]
    assert info.value.field == "orders"
    with pytest.raises(InvalidInputError) as one:
        shop.orders.ingest(TMALL, ["not", "an", "order"])  # type: ignore[arg-type]
    assert one.value.field == "channel_order"
    assert shop.orders.ingest_many(TMALL, []) == ()
    assert _snapshot(shop) == before


# -- ORD-02: the audit ------------------------------------------------------------------------------


def _findings(result: IngestResult | OrderView) -> list[tuple[str, str]]:
    return [(f.rule, f.detail) for f in result.findings]


def test_ord_02_a_clean_order_passes_the_audit(shop: Shop) -> None:
    result = shop.orders.ingest(TMALL, _channel_order(buyer_note="请尽快发货，谢谢"))

    assert (result.state, result.findings) == (OrderState.ALLOCATED, ())
    view = _order(shop, result.id)
    assert [s.action for s in view.steps] == ["received", "paid", "audited", "confirmed", "allocated"]
    passed = [e for e in _entries(shop, result.id) if e.action == "OrderAuditPassed"]
    assert [e.policy_version for e in passed] == [1]


def test_ord_02_the_same_items_for_the_same_consignee_within_the_window_are_held(
    shop: Shop, clock: FixedClock
) -> None:
    first = shop.orders.ingest(TMALL, _channel_order())
    clock.advance(timedelta(hours=3))

    again = shop.orders.ingest(TMALL, _channel_order("TM-2", placed=PLACED + timedelta(hours=3)))

    assert again.state is OrderState.HELD
    assert _findings(again) == [("duplicate", "same buyer or consignee and items as tmall/TM-1")]
    assert _order(shop, first.id).state is OrderState.ALLOCATED
    assert _order(shop, again.id).line("MUG-BLUE").allocations == ()  # a held order reserves nothing
    assert _level(shop).reserved == 2


def test_ord_02_the_same_buyer_on_another_channel_is_a_duplicate(shop: Shop, clock: FixedClock) -> None:
    shop.orders.ingest(TMALL, _channel_order(buyer="lilei_88"))
    clock.advance(timedelta(hours=1))

    other = shop.orders.ingest(
        JD,
        _channel_order(
            "JD-7",
            channel="jd",
            placed=PLACED + timedelta(hours=1),
            buyer="lilei_88",
            consignee=_consignee(phone="13900139000"),
        ),
    )

    assert other.state is OrderState.HELD
    assert _findings(other) == [("duplicate", "same buyer or consignee and items as tmall/TM-1")]


def test_ord_02_a_duplicate_within_one_batch_is_held(shop: Shop) -> None:
    results = shop.orders.ingest_many(TMALL, [_channel_order(), _channel_order("TM-2")])

    assert [r.state for r in results] == [OrderState.ALLOCATED, OrderState.HELD]
    assert _findings(results[1]) == [("duplicate", "same buyer or consignee and items as tmall/TM-1")]


def test_ord_02_the_same_items_outside_the_window_or_other_items_are_not_duplicates(
    shop: Shop, clock: FixedClock
) -> None:
    shop.orders.ingest(TMALL, _channel_order())
    other_items = shop.orders.ingest(TMALL, _channel_order("TM-2", items=(("MUG-BLUE", 3),)))
    later = PLACED + timedelta(hours=24, minutes=1)
    clock.set(later + timedelta(minutes=5))

    next_day = shop.orders.ingest(TMALL, _channel_order("TM-3", placed=later))

    assert (other_items.state, other_items.findings) == (OrderState.ALLOCATED, ())
    assert (next_day.state, next_day.findings) == (OrderState.ALLOCATED, ())


@pytest.mark.parametrize("how", ["by_customer_service", "on_the_channel"])
def test_ord_02_a_cancelled_order_is_not_a_duplicate(shop: Shop, clock: FixedClock, how: str) -> None:
    first = shop.orders.ingest(TMALL, _channel_order())
    if how == "by_customer_service":
        shop.orders.cancel(WANG, first.id, reason="customer ordered again with a coupon")
    else:
        shop.orders.ingest(TMALL, _channel_order(status="cancelled", modified=PLACED + timedelta(minutes=3)))
    clock.advance(timedelta(minutes=30))

    again = shop.orders.ingest(TMALL, _channel_order("TM-2", placed=PLACED + timedelta(minutes=20)))

    assert (again.state, again.findings) == (OrderState.ALLOCATED, ())


def test_ord_02_an_amount_reaching_the_threshold_is_held(shop: Shop) -> None:
    below = shop.orders.ingest(TMALL, _channel_order("TM-1", items=(("MUG-RED", 1),), price="4999.99"))
    at = shop.orders.ingest(TMALL, _channel_order("TM-2", items=(("MUG-BLUE", 1),), price="5000.00"))

    assert (below.state, below.findings) == (OrderState.ALLOCATED, ())  # no history: only the threshold
    assert at.state is OrderState.HELD
    assert _findings(at) == [
        ("abnormal_amount", "total 5000.00 CNY reaches the threshold 5000.00 CNY"),
    ]


def test_ord_02_an_amount_far_above_the_buyers_average_is_held(shop: Shop) -> None:
    """ORD-02: the buyer's own average counts, even when the shop's average is much higher."""

    def order(
        external_id: str, buyer: str, phone: str, items: tuple[tuple[str, int], ...], price: str
    ) -> Any:
        return _channel_order(
            external_id, buyer=buyer, consignee=_consignee(phone=phone), items=items, price=price
        )

    big = shop.orders.ingest(TMALL, order("TM-1", "big_spender", "13900139000", (("MUG-RED", 1),), "1000.00"))
    small = shop.orders.ingest_many(
        TMALL,
        [
            order("TM-2", "thrifty", "13700137000", (("MUG-BLUE", 1),), "39.00"),
            order("TM-3", "thrifty", "13700137000", (("MUG-BLUE", 2),), "39.00"),
        ],
    )
    assert [r.state for r in (big, *small)] == [OrderState.ALLOCATED] * 3

    unusual = shop.orders.ingest(TMALL, order("TM-4", "thrifty", "13700137000", (("MUG-RED", 3),), "100.00"))

    assert unusual.state is OrderState.HELD  # 300.00 > 5 x 58.50; the shop's average is 372.33
    assert _findings(unusual) == [
        ("abnormal_amount", "total 300.00 CNY exceeds 5 x the average order 58.50 CNY"),
    ]


def test_ord_02_a_new_buyer_is_compared_with_the_shops_average(shop: Shop) -> None:
    shop.orders.ingest_many(
        TMALL,
        [
            _channel_order("TM-1", buyer="regular", items=(("MUG-BLUE", 1),)),
            _channel_order("TM-2", buyer="regular", items=(("MUG-BLUE", 2),)),
        ],
    )

    def newcomer(external_id: str, price: str) -> dict[str, Any]:
        return _channel_order(
            external_id,
            buyer=f"new_{external_id}",
            consignee=_consignee(phone=f"1390013900{external_id[-1]}"),
            items=(("MUG-RED", 1),),
            price=price,
        )

    unusual = shop.orders.ingest(TMALL, newcomer("TM-3", "300.00"))
    modest = shop.orders.ingest(TMALL, newcomer("TM-4", "200.00"))

    assert unusual.state is OrderState.HELD  # 300.00 > 5 x 58.50, the shop's average
    assert _findings(unusual) == [
        ("abnormal_amount", "total 300.00 CNY exceeds 5 x the average order 58.50 CNY"),
    ]
    assert (modest.state, modest.findings) == (OrderState.ALLOCATED, ())


def test_ord_02_an_order_paid_by_a_later_revision_is_checked_for_duplicates(
    shop: Shop, clock: FixedClock
) -> None:
    shop.orders.ingest(TMALL, _channel_order())
    clock.advance(timedelta(minutes=10))
    unpaid = shop.orders.ingest(TMALL, _channel_order("TM-2", status="pending_payment"))
    assert unpaid.state is OrderState.PENDING_PAYMENT
    clock.advance(timedelta(minutes=10))

    paid = shop.orders.ingest(TMALL, _channel_order("TM-2", modified=PLACED + timedelta(minutes=20)))

    assert paid.state is OrderState.HELD
    assert _findings(paid) == [("duplicate", "same buyer or consignee and items as tmall/TM-1")]
    assert _level(shop).reserved == 2  # the first order's units only


def test_ord_02_an_order_paid_by_a_later_revision_is_checked_against_the_average(
    shop: Shop, clock: FixedClock
) -> None:
    shop.orders.ingest_many(
        TMALL,
        [
            _channel_order(f"TM-{i}", consignee=_consignee(phone=f"1380013800{i}"), items=(("MUG-RED", 1),))
            for i in range(10)
        ],
    )
    big: dict[str, Any] = {"items": (("MUG-BLUE", 50),), "consignee": _consignee(phone="13900139000")}
    unpaid = shop.orders.ingest(TMALL, _channel_order("TM-BIG", status="pending_payment", **big))
    assert unpaid.state is OrderState.PENDING_PAYMENT
    clock.advance(timedelta(minutes=10))

    paid = shop.orders.ingest(TMALL, _channel_order("TM-BIG", modified=PLACED + timedelta(minutes=12), **big))

    assert paid.state is OrderState.HELD  # 1950.00 is far above 5 x the shop's average order
    assert [f.rule for f in paid.findings] == ["abnormal_amount"]


@pytest.mark.parametrize(
    ("consignee", "detail"),
    [
        pytest.param({"province": ""}, "the address lacks its province", id="no-province"),
        pytest.param({"city": " "}, "the address lacks its city", id="no-city"),
        pytest.param({"address": ""}, "the address lacks its address", id="no-street"),
        pytest.param({"address": "8 号"}, "the street address is too short to deliver to", id="too-short"),
        pytest.param(
            {"address": "地址不详，到了打电话"}, "the street address is unclear (a placeholder)", id="不详"
        ),
        pytest.param(
            {"address": "Unknown road 12"}, "the street address is unclear (a placeholder)", id="unknown"
        ),
    ],
)
def test_ord_02_an_incomplete_or_unclear_address_is_held(
    shop: Shop, consignee: dict[str, str], detail: str
) -> None:
    result = shop.orders.ingest(TMALL, _channel_order(consignee=_consignee(**consignee)))

    assert result.state is OrderState.HELD
    assert _findings(result) == [("address", detail)]
    assert _level(shop).reserved == 0


@pytest.mark.parametrize(
    ("phone", "detail"),
    [
        ("12345", "the consignee phone is not a valid number"),
        ("1380013800", "the consignee phone is not a valid number"),
        ("call me", "the consignee phone is not a phone number"),
    ],
)
def test_ord_02_an_invalid_phone_is_held(shop: Shop, phone: str, detail: str) -> None:
    result = shop.orders.ingest(TMALL, _channel_order(consignee=_consignee(phone=phone)))

    assert result.state is OrderState.HELD
    assert _findings(result) == [("phone", detail)]


@pytest.mark.parametrize("phone", ["+86 138 0013 8000", "138-0013-8000", "021-12345678"])
def test_ord_02_valid_mobile_and_landline_numbers_pass(shop: Shop, phone: str) -> None:
    result = shop.orders.ingest(TMALL, _channel_order(consignee=_consignee(phone=phone)))
    assert (result.state, result.findings) == (OrderState.ALLOCATED, ())


@pytest.mark.parametrize(
    ("note", "word"),
    [
        ("麻烦改地址到北京市朝阳区", "改地址"),
        ("Please send the red one INSTEAD", "instead"),
        ("不要发顺丰", "不要"),
    ],
)
def test_ord_02_a_buyer_note_asking_for_a_change_is_held(shop: Shop, note: str, word: str) -> None:
    result = shop.orders.ingest(TMALL, _channel_order(buyer_note=note))

    assert result.state is OrderState.HELD
    assert _findings(result) == [("buyer_note", f"the buyer note asks for a change ({word!r})")]


def test_ord_02_findings_and_the_audit_log_carry_no_personal_data(shop: Shop) -> None:
    secrets = {
        "name": "Ouyang Xiaoqian",
        "phone": "0000-8888-7777",
        "address": "Wisteria Lane 不详",
        "buyer": "xiaoqian_1989",
        "note": "please change the colour, ring Ouyang at the gate",
    }
    order = _channel_order(
        items=(("MUG-BLUE", 1),),
        price="6000.00",
        buyer=secrets["buyer"],
        buyer_note=secrets["note"],
        consignee=_consignee(name=secrets["name"], phone=secrets["phone"], address=secrets["address"]),
    )

    results = shop.orders.ingest_many(TMALL, [order, {**order, "external_id": "TM-2"}])

    assert {f.rule for f in results[1].findings} == {
        "duplicate",
        "abnormal_amount",
        "address",
        "phone",
        "buyer_note",
    }
    words = [*secrets.values(), "Ouyang", "Wisteria", "88887777"]
    for result in results:
        view = _order(shop, result.id)
        texts = [f.detail for f in view.findings] + [s.note or "" for s in view.steps]
        assert not [word for word in words if any(word in text for text in texts)]
    logged = " ".join(repr(entry.details) for entry in _entries(shop))
    assert not [word for word in words if word in logged]


def test_ord_02_release_needs_a_note_and_order_hold(shop: Shop) -> None:
    held = _held(shop)
    before = _snapshot(shop)

    with pytest.raises(InvalidInputError) as info:
        shop.orders.release(WANG, held.id, note="  ")
    assert info.value.field == "note"
    for actor in (WU, CHEN, TMALL):
        with pytest.raises(PermissionDeniedError) as denied:
            shop.orders.release(actor, held.id, note="checked")
        assert denied.value.permission == "order.hold"
    assert _snapshot(shop) == before

    released = shop.orders.release(
        WANG, held.id, note="called the customer; the channel has the right number"
    )

    assert (released.state, released.findings) == (OrderState.AUDITED, ())
    step = released.steps[-1]
    assert (step.action, step.by, step.note) == (
        "released",
        "wang.fang",
        "called the customer; the channel has the right number",
    )
    assert _actions(shop, held.id)[-1] == "OrderReleased"
    assert _level(shop).reserved == 0  # it waits for a confirmation
    confirmed = shop.orders.confirm(WANG, held.id)
    assert (confirmed.state, confirmed.confirmed_by) == (OrderState.ALLOCATED, "wang.fang")


def test_ord_02_a_person_holds_an_order_before_confirmation(shop: Shop) -> None:
    _adopt(shop, AUTO_CONFIRM_OFF)
    waiting = shop.orders.ingest(TMALL, _channel_order())
    assert waiting.state is OrderState.AUDITED
    before = _snapshot(shop)

    with pytest.raises(InvalidInputError) as info:
        shop.orders.hold(WANG, waiting.id, reason=" ")
    assert info.value.field == "reason"
    with pytest.raises(PermissionDeniedError) as denied:
        shop.orders.hold(WU, waiting.id, reason="looks odd")
    assert denied.value.permission == "order.hold"
    assert _snapshot(shop) == before

    held = shop.orders.hold(WANG, waiting.id, reason="customer asked to add a gift card")

    assert held.state is OrderState.HELD
    assert _findings(held) == [("manual", "customer asked to add a gift card")]
    assert (held.steps[-1].action, held.steps[-1].by) == ("held", "wang.fang")
    assert _actions(shop, waiting.id)[-1] == "OrderHeld"
    again = shop.orders.hold(WANG, waiting.id, reason="and a second address check")
    assert [f.detail for f in again.findings] == [
        "customer asked to add a gift card",
        "and a second address check",
    ]


def test_ord_02_an_allocated_order_cannot_be_held(shop: Shop) -> None:
    allocated = shop.orders.ingest(TMALL, _channel_order())
    before = _snapshot(shop)

    with pytest.raises(InvalidTransitionError) as info:
        shop.orders.hold(WANG, allocated.id, reason="too late")

    assert (info.value.state, info.value.action) == ("allocated", "hold")
    assert _snapshot(shop) == before


def test_ord_02_confirm_refuses_a_held_order_and_changes_nothing(shop: Shop) -> None:
    held = _held(shop)
    before = _snapshot(shop)

    with pytest.raises(InvalidTransitionError) as info:
        shop.orders.confirm(WANG, held.id)

    assert (info.value.subject, info.value.state, info.value.action) == (
        "Order tmall/TM-1",
        "held",
        "confirm",
    )
    assert _snapshot(shop) == before


# -- ORD-03: confirmation on time --------------------------------------------------------------------


def test_ord_03_the_deadline_is_one_hour_after_placing_and_auto_confirm_meets_it(shop: Shop) -> None:
    result = shop.orders.ingest(TMALL, _channel_order())

    view = _order(shop, result.id)
    assert view.confirmation_due_at == PLACED + timedelta(hours=1)
    assert (view.confirmed_at, view.confirmed_by, view.confirmed_late) == (AT, "system:orders", False)
    assert view.policy_version == 1
    confirmed = [e for e in _entries(shop, result.id) if e.action == "OrderConfirmed"]
    assert [(datetime.fromisoformat(e.details["due_at"]), e.details["late"]) for e in confirmed] == [
        (PLACED + timedelta(hours=1), False)
    ]
    assert shop.orders.late_confirmations(WANG) == ()


def test_ord_03_a_held_order_confirmed_after_the_deadline_is_late_and_listed(
    shop: Shop, clock: FixedClock
) -> None:
    held = _held(shop)
    on_time = shop.orders.ingest(TMALL, _channel_order("TM-2", items=(("MUG-RED", 1),)))
    clock.set(PLACED + timedelta(hours=2))

    shop.orders.release(WANG, held.id, note="customer confirmed the number")
    late = shop.orders.confirm(WANG, held.id)

    assert late.confirmed_late is True
    assert late.confirmed_at == PLACED + timedelta(hours=2)
    assert (late.steps[-2].action, late.steps[-2].note) == ("confirmed", "late")
    assert _order(shop, on_time.id).confirmed_late is False
    assert [o.id for o in shop.orders.late_confirmations(WANG)] == [held.id]
    confirmed = [e for e in _entries(shop, held.id) if e.action == "OrderConfirmed"]
    assert [e.details["late"] for e in confirmed] == [True]


def test_ord_03_run_due_flags_an_unconfirmed_order_overdue_after_the_deadline(
    shop: Shop, clock: FixedClock
) -> None:
    held = _held(shop)
    confirmed = shop.orders.ingest(TMALL, _channel_order("TM-2", items=(("MUG-RED", 1),)))

    clock.set(PLACED + timedelta(minutes=59))
    shop.run_due()
    assert shop.orders.overdue(WANG) == ()
    assert _order(shop, held.id).overdue is False

    clock.set(PLACED + timedelta(hours=1, minutes=1))
    shop.run_due()
    shop.run_due()

    assert [o.id for o in shop.orders.overdue(WANG)] == [held.id]
    view = _order(shop, held.id)
    assert (view.overdue, view.state, view.steps[-1].action) == (
        True,
        OrderState.HELD,
        "confirmation_overdue",
    )
    overdue = [e for e in _entries(shop, held.id) if e.action == "ConfirmationOverdue"]
    assert [datetime.fromisoformat(e.details["due_at"]) for e in overdue] == [PLACED + timedelta(hours=1)]
    assert _order(shop, confirmed.id).overdue is False
    assert "ConfirmationOverdue" not in _actions(shop, confirmed.id)

    shop.orders.release(WANG, held.id, note="resolved with the customer")
    shop.orders.confirm(WANG, held.id)
    assert shop.orders.overdue(WANG) == ()  # confirmed now, late
    assert [o.id for o in shop.orders.late_confirmations(WANG)] == [held.id]


def test_ord_03_an_order_confirmed_before_its_deadline_is_never_flagged(
    shop: Shop, clock: FixedClock
) -> None:
    held = _held(shop)
    clock.set(PLACED + timedelta(minutes=30))
    shop.orders.release(WANG, held.id, note="number corrected")
    shop.orders.confirm(WANG, held.id)
    clock.set(PLACED + timedelta(hours=3))

    shop.run_due()

    view = _order(shop, held.id)
    assert (view.overdue, view.confirmed_late) == (False, False)
    assert "ConfirmationOverdue" not in _actions(shop, held.id)
    assert shop.orders.overdue(WANG) == () == shop.orders.late_confirmations(WANG)


def test_ord_03_a_business_time_deadline_follows_the_business_calendar(shop: Shop, clock: FixedClock) -> None:
    friday = datetime(2026, 3, 6, 9, 0, tzinfo=SHANGHAI)
    clock.set(friday)
    _adopt(shop, BUSINESS_DEADLINE)
    placed = datetime(2026, 3, 6, 17, 40, tzinfo=SHANGHAI)  # 20 minutes before closing on a Friday
    clock.set(placed + timedelta(minutes=5))

    result = shop.orders.ingest(TMALL, _channel_order(placed=placed, consignee=_consignee(phone="12345")))

    due = _order(shop, result.id).confirmation_due_at
    assert due == datetime(2026, 3, 9, 9, 40, tzinfo=SHANGHAI)  # the next working day, Monday
    assert due is not None
    assert due.astimezone(SHANGHAI).date() == date(2026, 3, 9)
    clock.set(datetime(2026, 3, 9, 9, 30, tzinfo=SHANGHAI))
    shop.run_due()
    assert shop.orders.overdue(WANG) == ()  # the weekend does not count
    clock.set(datetime(2026, 3, 9, 9, 41, tzinfo=SHANGHAI))
    shop.run_due()
    assert [o.id for o in shop.orders.overdue(WANG)] == [result.id]


def test_ord_03_the_deadline_comes_from_the_policy_in_force_when_the_order_was_placed(
    shop: Shop, clock: FixedClock
) -> None:
    """ORD-03: an order placed under the wall-clock policy keeps its 1-hour deadline."""
    placed = datetime(2026, 3, 6, 17, 40, tzinfo=SHANGHAI)
    clock.set(placed + timedelta(minutes=5))
    _adopt(shop, BUSINESS_DEADLINE)  # in force from 17:45, after the order was placed
    clock.set(placed + timedelta(minutes=10))

    result = shop.orders.ingest(TMALL, _channel_order(placed=placed))

    assert _order(shop, result.id).confirmation_due_at == placed + timedelta(hours=1)


def test_ord_03_without_auto_confirm_an_audited_order_waits_for_a_person(shop: Shop) -> None:
    _adopt(shop, AUTO_CONFIRM_OFF)
    result = shop.orders.ingest(TMALL, _channel_order())

    assert result.state is OrderState.AUDITED
    view = _order(shop, result.id)
    assert (view.confirmed_at, view.confirmed_by, view.policy_version) == (None, None, 2)
    assert _level(shop).reserved == 0
    before = _snapshot(shop)

    with pytest.raises(PermissionDeniedError) as denied:
        shop.orders.confirm(CHEN, result.id)  # logistics cannot confirm
    assert denied.value.permission == "order.confirm"
    assert _snapshot(shop) == before

    confirmed = shop.orders.confirm(WANG, result.id)

    assert confirmed.state is OrderState.ALLOCATED
    assert (confirmed.confirmed_by, confirmed.confirmed_at, confirmed.confirmed_late) == (
        "wang.fang",
        AT,
        False,
    )
    assert _level(shop).reserved == 2


def test_ord_03_confirming_an_unpaid_order_is_refused_naming_the_order_and_state(shop: Shop) -> None:
    pending = shop.orders.ingest(TMALL, _channel_order(status="pending_payment"))
    before = _snapshot(shop)

    with pytest.raises(InvalidTransitionError) as info:
        shop.orders.confirm(WANG, pending.id)

    assert (info.value.subject, info.value.state, info.value.action) == (
        "Order tmall/TM-1",
        "pending_payment",
        "confirm",
    )
    assert "tmall/TM-1" in str(info.value)
    assert "pending_payment" in str(info.value)
    assert _snapshot(shop) == before


def test_ord_03_confirming_twice_is_refused(shop: Shop) -> None:
    _adopt(shop, AUTO_CONFIRM_OFF)
    result = shop.orders.ingest(TMALL, _channel_order())
    shop.orders.confirm(WANG, result.id)
    before = _snapshot(shop)

    with pytest.raises(InvalidTransitionError) as info:
        shop.orders.confirm(ZHAO, result.id)

    assert (info.value.state, info.value.action) == ("allocated", "confirm")
    assert _snapshot(shop) == before
    assert _level(shop).reserved == 2


# -- ORD-04: stock on confirmation -------------------------------------------------------------------


def test_ord_04_one_warehouse_with_everything_is_chosen_by_priority(bare: Shop) -> None:
    for warehouse in ("SH-01", "BJ-01"):
        _receive(bare, "MUG-BLUE", 5, warehouse)
        _receive(bare, "MUG-RED", 5, warehouse)

    view = _order(bare, bare.orders.ingest(TMALL, _channel_order(items=(("MUG-BLUE", 2), ("MUG-RED", 1)))).id)

    assert view.state is OrderState.ALLOCATED
    assert (_allocations(view, "MUG-BLUE"), _allocations(view, "MUG-RED")) == ({"SH-01": 2}, {"SH-01": 1})
    assert (_level(bare, "MUG-BLUE", "BJ-01").reserved, _level(bare, "MUG-RED", "BJ-01").reserved) == (0, 0)


def test_ord_04_a_warehouse_with_everything_beats_splitting_the_order(bare: Shop) -> None:
    _receive(bare, "MUG-BLUE", 5, "SH-01")  # the first warehouse lacks red mugs
    _receive(bare, "MUG-BLUE", 5, "BJ-01")
    _receive(bare, "MUG-RED", 5, "BJ-01")

    view = _order(bare, bare.orders.ingest(TMALL, _channel_order(items=(("MUG-BLUE", 2), ("MUG-RED", 1)))).id)

    assert view.state is OrderState.ALLOCATED
    assert (_allocations(view, "MUG-BLUE"), _allocations(view, "MUG-RED")) == ({"BJ-01": 2}, {"BJ-01": 1})
    assert _level(bare, "MUG-BLUE", "SH-01").reserved == 0


def test_ord_04_an_order_is_split_across_warehouses_when_none_has_everything(bare: Shop) -> None:
    _receive(bare, "MUG-BLUE", 1, "SH-01")
    _receive(bare, "MUG-BLUE", 2, "BJ-01")

    view = _order(bare, bare.orders.ingest(TMALL, _channel_order(items=(("MUG-BLUE", 3),))).id)

    assert view.state is OrderState.ALLOCATED
    assert _allocations(view) == {"SH-01": 1, "BJ-01": 2}
    levels = bare.inventory.levels(ZHAO, sku="MUG-BLUE").items
    assert sorted((lv.warehouse, lv.reserved, lv.available) for lv in levels) == [
        ("BJ-01", 2, 0),
        ("SH-01", 1, 0),
    ]


def test_ord_04_a_short_order_keeps_what_exists_notifies_and_asks_purchasing(bare: Shop) -> None:
    _receive(bare, "MUG-BLUE", 1)

    result = bare.orders.ingest(TMALL, _channel_order(items=(("MUG-BLUE", 3),)))

    assert result.state is OrderState.SHORT
    view = _order(bare, result.id)
    assert (view.line("MUG-BLUE").allocated, view.line("MUG-BLUE").missing) == (1, 2)
    assert (view.steps[-1].action, view.steps[-1].note) == ("short", "MUG-BLUE x2")
    short = [e for e in _entries(bare, result.id) if e.action == "OrderShort"]
    assert [(e.details["shortage"], e.details["allocations"]) for e in short] == [
        ({"MUG-BLUE": 2}, {"MUG-BLUE": [["SH-01", 1]]})
    ]
    level = _level(bare)
    assert (level.reserved, level.available) == (1, 0)
    asked = [s for s in bare.inventory.suggestions(ZHOU) if s.sku == "MUG-BLUE"]
    assert [s.warehouse for s in asked] == ["SH-01"]
    assert asked[0].suggested_quantity >= 2


def test_ord_04_a_backorder_waits_until_everything_can_be_allocated(bare: Shop) -> None:
    _receive(bare, "MUG-BLUE", 1)
    short = bare.orders.ingest(TMALL, _channel_order(items=(("MUG-BLUE", 3),)))

    waiting = bare.orders.choose_backorder(WANG, short.id)
    assert (waiting.state, waiting.steps[-1].action) == (OrderState.BACKORDERED, "backorder_chosen")
    assert _actions(bare, short.id)[-1] == "BackorderChosen"

    _receive(bare, "MUG-BLUE", 1)
    assert bare.orders.retry_allocation(WANG) == ()
    view = _order(bare, short.id)
    assert (view.state, view.line("MUG-BLUE").allocated) == (OrderState.BACKORDERED, 1)
    assert (_level(bare).reserved, _level(bare).available) == (1, 1)  # no partial allocation

    _receive(bare, "MUG-BLUE", 1)
    changed = bare.orders.retry_allocation(WANG)

    assert [o.id for o in changed] == [short.id]
    view = _order(bare, short.id)
    assert (view.state, _allocations(view)) == (OrderState.ALLOCATED, {"SH-01": 3})
    assert (_level(bare).reserved, _level(bare).available) == (3, 0)


def test_ord_04_a_partial_shipment_takes_what_arrives_and_fills_the_rest_later(bare: Shop) -> None:
    _receive(bare, "MUG-BLUE", 1)
    short = bare.orders.ingest(TMALL, _channel_order(items=(("MUG-BLUE", 4),)))
    partial = bare.orders.choose_partial(WANG, short.id)
    assert (partial.state, partial.steps[-1].action) == (OrderState.PARTIAL, "partial_chosen")
    assert _actions(bare, short.id)[-1] == "PartialShipmentChosen"

    _receive(bare, "MUG-BLUE", 1)
    changed = bare.orders.retry_allocation(WANG)

    assert [o.id for o in changed] == [short.id]
    view = _order(bare, short.id)
    assert (view.state, view.line("MUG-BLUE").allocated) == (OrderState.PARTIAL, 2)
    assert _level(bare).reserved == 2  # the ledger and the order agree

    _receive(bare, "MUG-BLUE", 2)
    bare.orders.retry_allocation(WANG)

    view = _order(bare, short.id)
    assert (view.state, _allocations(view)) == (OrderState.ALLOCATED, {"SH-01": 4})
    assert (_level(bare).reserved, _level(bare).available) == (4, 0)


def test_ord_04_only_a_short_order_lets_the_customer_choose(shop: Shop) -> None:
    allocated = shop.orders.ingest(TMALL, _channel_order())
    before = _snapshot(shop)

    for choose in (shop.orders.choose_backorder, shop.orders.choose_partial):
        with pytest.raises(InvalidTransitionError) as info:
            choose(WANG, allocated.id)
        assert info.value.state == "allocated"

    assert _snapshot(shop) == before


def test_ord_04_cancelling_releases_every_reservation(bare: Shop) -> None:
    _receive(bare, "MUG-BLUE", 1, "SH-01")
    _receive(bare, "MUG-BLUE", 1, "BJ-01")
    result = bare.orders.ingest(TMALL, _channel_order())
    assert _allocations(_order(bare, result.id)) == {"SH-01": 1, "BJ-01": 1}
    before = _snapshot(bare)
    with pytest.raises(InvalidInputError) as info:
        bare.orders.cancel(WANG, result.id, reason="")
    assert info.value.field == "reason"
    assert _snapshot(bare) == before

    cancelled = bare.orders.cancel(WANG, result.id, reason="customer changed their mind")

    assert (cancelled.state, cancelled.cancel_reason) == (OrderState.CANCELLED, "customer changed their mind")
    assert cancelled.line("MUG-BLUE").allocations == ()
    for warehouse in ("SH-01", "BJ-01"):
        level = _level(bare, "MUG-BLUE", warehouse)
        assert (level.on_hand, level.reserved, level.available) == (1, 0, 1)
    released = [
        (m.warehouse, m.reserved_delta, m.actor)
        for m in bare.inventory.movements(ZHAO, reference=f"order:{result.id}").items
        if m.reason is MovementReason.RELEASE
    ]
    assert sorted(released) == [("BJ-01", -1, "wang.fang"), ("SH-01", -1, "wang.fang")]
    cancelled_entry = _entries(bare, result.id)[-1]
    assert cancelled_entry.action == "OrderCancelled"
    assert cancelled_entry.details["released"] == {"MUG-BLUE": [["BJ-01", 1], ["SH-01", 1]]}

    with pytest.raises(InvalidTransitionError):
        bare.orders.cancel(WANG, result.id, reason="again")


def test_ord_04_cancelling_a_short_order_releases_what_it_kept(bare: Shop) -> None:
    _receive(bare, "MUG-BLUE", 1)
    short = bare.orders.ingest(TMALL, _channel_order(items=(("MUG-BLUE", 3),)))
    bare.orders.choose_backorder(WANG, short.id)

    bare.orders.cancel(WANG, short.id, reason="customer will not wait")

    assert (_level(bare).reserved, _level(bare).available) == (0, 1)
    _receive(bare, "MUG-BLUE", 5)
    assert bare.orders.retry_allocation(WANG) == ()  # a cancelled backorder takes nothing


def test_ord_04_stock_never_goes_negative_when_orders_compete(bare: Shop) -> None:
    _receive(bare, "MUG-BLUE", 3)

    first, second = bare.orders.ingest_many(
        TMALL,
        [
            _channel_order("TM-1", consignee=_consignee(phone="13900139000")),
            _channel_order("TM-2", consignee=_consignee(phone="13700137000")),
        ],
    )

    assert (first.state, second.state) == (OrderState.ALLOCATED, OrderState.SHORT)
    assert _order(bare, second.id).line("MUG-BLUE").allocated == 1
    level = _level(bare)
    assert (level.on_hand, level.reserved, level.available) == (3, 3, 0)
    assert all(
        m.reserved_after <= m.on_hand_after and m.reserved_after >= 0
        for m in bare.inventory.movements(ZHAO, limit=1000).items
    )


# -- ORD-07: payment reminders -----------------------------------------------------------------------


def test_ord_07_an_unpaid_order_is_reminded_once_after_30_minutes(shop: Shop, clock: FixedClock) -> None:
    pending = shop.orders.ingest(TMALL, _channel_order(status="pending_payment"))

    clock.set(PLACED + timedelta(minutes=29))
    shop.run_due()
    assert _order(shop, pending.id).reminders_sent == 0

    clock.set(PLACED + timedelta(minutes=30))
    shop.run_due()
    clock.advance(timedelta(hours=3))
    shop.run_due()

    view = _order(shop, pending.id)
    assert (view.reminders_sent, view.state) == (1, OrderState.PENDING_PAYMENT)
    assert (view.steps[-1].action, view.steps[-1].at) == ("payment_reminder", PLACED + timedelta(minutes=30))
    reminders = [e for e in _entries(shop, pending.id) if e.action == "PaymentReminderSent"]
    assert [(e.details["channel"], e.details["external_id"], e.details["reminder"]) for e in reminders] == [
        ("tmall", "TM-1", 1)
    ]


def test_ord_07_no_reminder_when_the_buyer_paid_in_time(shop: Shop, clock: FixedClock) -> None:
    pending = shop.orders.ingest(TMALL, _channel_order(status="pending_payment"))
    clock.set(PLACED + timedelta(minutes=10))
    shop.orders.ingest(TMALL, _channel_order(modified=PLACED + timedelta(minutes=9)))

    clock.set(PLACED + timedelta(hours=2))
    shop.run_due()

    view = _order(shop, pending.id)
    assert (view.reminders_sent, view.state) == (0, OrderState.ALLOCATED)
    assert "PaymentReminderSent" not in _actions(shop, pending.id)


@pytest.mark.parametrize("how", ["by_customer_service", "on_the_channel"])
def test_ord_07_no_reminder_for_a_cancelled_order(shop: Shop, clock: FixedClock, how: str) -> None:
    pending = shop.orders.ingest(TMALL, _channel_order(status="pending_payment"))
    clock.set(PLACED + timedelta(minutes=10))
    if how == "by_customer_service":
        shop.orders.cancel(WANG, pending.id, reason="buyer asked to cancel")
    else:
        shop.orders.ingest(TMALL, _channel_order(status="cancelled", modified=PLACED + timedelta(minutes=9)))

    clock.set(PLACED + timedelta(hours=2))
    shop.run_due()

    view = _order(shop, pending.id)
    assert (view.reminders_sent, view.state) == (0, OrderState.CANCELLED)
    assert "PaymentReminderSent" not in _actions(shop, pending.id)


# -- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("person", [LI, WANG, ZHAO, ADMIN, NOBODY], ids=lambda a: a.id)
def test_gov_01_ord_01_only_channels_ingest_orders(shop: Shop, person: Actor) -> None:
    before = _snapshot(shop)

    with pytest.raises(PermissionDeniedError) as one:
        shop.orders.ingest(person, _channel_order())
    with pytest.raises(PermissionDeniedError) as batch:
        shop.orders.ingest_many(person, [_channel_order()])

    assert one.value.permission == batch.value.permission == "order.ingest"
    assert _snapshot(shop) == before
    assert shop.orders.ingest(JD, _channel_order("JD-1", channel="jd")).outcome is IngestOutcome.CREATED


Call = Callable[[Shop, Actor, uuid.UUID], object]

REFUSALS: list[Any] = [
    pytest.param(NOBODY, "order.read", lambda s, a, i: s.orders.get(a, i), id="get"),
    pytest.param(
        NOBODY, "order.read", lambda s, a, i: s.orders.by_channel(a, "tmall", "TM-1"), id="by_channel"
    ),
    pytest.param(NOBODY, "order.read", lambda s, a, i: s.orders.orders(a), id="orders"),
    pytest.param(NOBODY, "order.read", lambda s, a, i: s.orders.overdue(a), id="overdue"),
    pytest.param(
        NOBODY, "order.read", lambda s, a, i: s.orders.late_confirmations(a), id="late_confirmations"
    ),
    pytest.param(WU, "order.hold", lambda s, a, i: s.orders.hold(a, i, reason="x"), id="hold"),
    pytest.param(CHEN, "order.hold", lambda s, a, i: s.orders.release(a, i, note="x"), id="release"),
    pytest.param(CHEN, "order.confirm", lambda s, a, i: s.orders.confirm(a, i), id="confirm"),
    pytest.param(WU, "order.edit", lambda s, a, i: s.orders.choose_backorder(a, i), id="choose_backorder"),
    pytest.param(CHEN, "order.edit", lambda s, a, i: s.orders.choose_partial(a, i), id="choose_partial"),
    pytest.param(ZHOU, "order.edit", lambda s, a, i: s.orders.retry_allocation(a), id="retry_allocation"),
    pytest.param(WU, "order.cancel", lambda s, a, i: s.orders.cancel(a, i, reason="x"), id="cancel"),
    pytest.param(TMALL, "order.hold", lambda s, a, i: s.orders.release(a, i, note="x"), id="channel-release"),
]


@pytest.mark.parametrize(("actor", "permission", "call"), REFUSALS)
def test_gov_01_every_order_method_refuses_an_actor_without_its_permission(
    shop: Shop, actor: Actor, permission: str, call: Call
) -> None:
    held = _held(shop)
    before = _snapshot(shop)

    with pytest.raises(PermissionDeniedError) as info:
        call(shop, actor, held.id)

    assert (info.value.actor, info.value.permission) == (actor.id, permission)
    assert _snapshot(shop) == before


def test_gov_03_personal_data_is_masked_for_a_warehouse_reader_and_shown_to_customer_service(
    shop: Shop,
) -> None:
    result = shop.orders.ingest(
        TMALL,
        _channel_order(buyer="lilei_88", buyer_note="请用纸箱包装", consignee=_consignee(postcode="200120")),
    )

    masked = [
        shop.orders.get(WU, result.id),
        shop.orders.by_channel(WU, "tmall", "TM-1"),
        *shop.orders.orders(WU).items,
    ]
    for view in masked:
        assert (view.consignee_name, view.consignee_phone, view.address, view.buyer, view.buyer_note) == (
            "***",
            "***",
            "***",
            "***",
            "***",
        )
        assert (view.province, view.city, view.district, view.postcode) == (
            "上海市",
            "上海市",
            "浦东新区",
            "200120",
        )
        assert view.total == Money.of("78.00", "CNY")
    shown = shop.orders.get(WANG, result.id)
    assert (shown.consignee_name, shown.consignee_phone, shown.address, shown.buyer, shown.buyer_note) == (
        "Li Lei",
        "13800138000",
        CONSIGNEE["address"],
        "lilei_88",
        "请用纸箱包装",
    )
    assert shop.orders.get(CHEN, result.id).address == CONSIGNEE["address"]  # logistics ships it


def test_gov_01_reading_an_unknown_order_is_not_found(shop: Shop) -> None:
    with pytest.raises(NotFoundError):
        shop.orders.get(WANG, uuid.UUID("01900000-0000-7000-8000-000000000000"))
    with pytest.raises(NotFoundError) as info:
        shop.orders.by_channel(WANG, "tmall", "TM-404")
    assert info.value.key == "tmall/TM-404"
    with pytest.raises(InvalidInputError) as bad:
        shop.orders.get(WANG, "not-an-id")
    assert bad.value.field == "order_id"


def test_ord_03_a_late_payment_starts_the_confirmation_deadline_when_it_arrives(
    shop: Shop, clock: FixedClock
) -> None:
    pending = shop.orders.ingest(TMALL, _channel_order(status="pending_payment"))
    paid_at = PLACED + timedelta(hours=3)
    clock.set(paid_at + timedelta(minutes=2))
    shop.orders.ingest(TMALL, _channel_order(modified=paid_at, paid_at=paid_at))
    view = _order(shop, pending.id)
    assert view.confirmation_due_at == paid_at + timedelta(hours=1)  # not one hour after placing
    assert (view.state, view.confirmed_late) == (OrderState.ALLOCATED, False)
    assert shop.orders.late_confirmations(WANG) == ()


def test_ord_02_an_erased_consignee_no_longer_matches_duplicates(shop: Shop) -> None:
    """GOV-03 erasure reaches the audit's look-ups: an erased person's old order is no duplicate."""
    shop.orders.ingest(TMALL, _channel_order("TM-1"))
    report = shop.personal_data.erase(ZHAO, phone=CONSIGNEE["phone"], reason="erasure request 17")
    assert report.count == 1
    again = shop.orders.ingest(TMALL, _channel_order("TM-2"))
    assert again.state is OrderState.ALLOCATED  # same items and phone as TM-1, but TM-1's phone is gone
