"""
Several processes ingesting channel orders into one PostgreSQL database at once (ORD-01, ORD-04).

Each test starts real child processes (``python -c`` with a small script); they
open their shops, say "ready" and wait for "go", so that they start together,
and each ingests its batches through ``shop.orders.ingest_many``. Afterwards the
test checks from the outside what they did and what the orders and the stock
ledger hold:

* processes ingesting the same orders in batches of different sizes make each
  order once, and reserve its stock once (a batch that lost the race on the
  order key is retried and then finds the winner's orders);
* batches whose orders reserve the same SKUs in opposite orders never deadlock
  (the service locks the batch's stock levels up front, in SKU order).

Every child has a timeout and is killed and reaped at the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.postgres import Child, Shops, children

from eshop_core import Actor, Role, Shop
from eshop_core.domain.inventory import MovementReason, StockLevel, StockMovement
from eshop_core.domain.orders import Order, OrderState
from eshop_core.storage.inventory_ports import StockLedger

pytestmark = [pytest.mark.postgres, pytest.mark.multiprocess, pytest.mark.timeout(180)]

BOSS = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
LI = Actor("li.ming", roles={Role.OPERATIONS})
READER = Actor("zhou.min", roles={Role.LOGISTICS})  # order.read and personal_data.read
WAREHOUSE = "SH-01"
PRICES = {"MUG-BLUE": 39, "TEA-1": 10, "S-1": 39, "S-2": 10}

Batch = list[dict[str, Any]]
"""Channel orders ingested in one ``ingest_many`` call."""
Rounds = list[list[Batch]]
"""What one child ingests: its rounds, each a list of batches."""

# A child: open the shop, say "ready", wait for "go"; then ingest its rounds of batches. Before each
# round it waits at a file barrier until every child has reached that round, so that the rounds
# overlap; a child that fails leaves a file there, and the others stop waiting for it. It counts the
# attempts of ``_ingest_once`` (more attempts than batches: key-clash retries).
_INGESTER = r"""
import json, sys, time
from collections import Counter
from pathlib import Path
from eshop_core import Actor, Shop
from eshop_core.services.orders import OrdersService

args = json.loads(sys.argv[1])
meeting = Path(args["meeting"])
attempts = Counter()
real = OrdersService._ingest_once


def counted(self, actor, batch, **kwargs):
    attempts["batches"] += 1
    return real(self, actor, batch, **kwargs)


def wait_for(path, what):
    deadline = time.monotonic() + 60
    while not path.exists():
        failed = sorted(p.name for p in meeting.glob("failed-*"))
        if failed:
            sys.exit(f"stopped waiting for {what}: {', '.join(failed)}")
        if time.monotonic() > deadline:
            sys.exit(f"no {what} within 60 s")
        time.sleep(0.002)


OrdersService._ingest_once = counted
shop = Shop.open(args["url"], schema=args["schema"])
Path(args["ready"]).touch()
actor = Actor.system("channel:tmall")
outcomes = Counter()
batches = 0
slowest = 0.0
try:
    wait_for(Path(args["go"]), "go signal")
    for r, batches_of_round in enumerate(args["rounds"]):
        (meeting / f"{r}-{args['me']}").touch()
        for other in range(args["parties"]):
            wait_for(meeting / f"{r}-{other}", f"round {r} of child {other}")
        for batch in batches_of_round:
            started = time.monotonic()
            for result in shop.orders.ingest_many(actor, batch):
                outcomes[result.outcome.value] += 1
            slowest = max(slowest, time.monotonic() - started)
            batches += 1
except BaseException:
    (meeting / f"failed-{args['me']}").touch()
    raise
finally:
    shop.close()
result = {"outcomes": outcomes, "attempts": attempts["batches"], "batches": batches, "slowest": slowest}
print(json.dumps(result))
"""


def _channel_order(external_id: str, n: int, lines: Sequence[tuple[str, int]]) -> dict[str, Any]:
    """A paid channel order of buyer ``n`` (its own buyer and phone: no duplicate finding) with ``lines``."""
    return {
        "channel": "tmall",
        "external_id": external_id,
        "status": "paid",
        "placed_at": "2026-03-02T10:00:00+08:00",
        "modified_at": "2026-03-02T10:01:00+08:00",
        "currency": "CNY",
        "buyer": f"buyer-{n}",
        "consignee": {
            "name": "Li Lei",
            "phone": f"138{n:08d}",
            "province": "上海市",
            "city": "上海市",
            "district": "浦东新区",
            "address": "世纪大道 100 号 1201 室",
        },
        "lines": [
            {"sku": sku, "quantity": quantity, "unit_price": f"{PRICES[sku]}.00"} for sku, quantity in lines
        ],
        "total": f"{sum(PRICES[sku] * quantity for sku, quantity in lines)}.00",
        "payment": {"method": "alipay", "paid_at": "2026-03-02T10:01:00+08:00"},
    }


def _stock(shop: Shop, skus: Sequence[str], units: int) -> None:
    """One warehouse, a product with ``skus``, ``units`` of each, and the default policy stored (no race)."""
    shop.inventory.open_warehouse(BOSS, code=WAREHOUSE, name="Shanghai", priority=1)
    variants = [
        {"sku": sku, "attributes": {"kind": sku.lower()}, "price": {"amount": "39.00", "currency": "CNY"}}
        for sku in skus
    ]
    shop.catalog.create_product(
        LI, {"name": "Mugs and tea", "shipping_method": "express", "variants": variants}
    )
    with shop.unit_of_work(BOSS) as uow:
        for sku in skus:
            shop.inventory.receive_in(uow, sku, WAREHOUSE, units)
        uow.commit()
    shop.policies.history()  # stores the bootstrap policy now, not in the children's race


def _args(shops: Shops, tmp_path: Path, rounds: Sequence[Rounds]) -> list[dict[str, Any]]:
    """The children's arguments: ``rounds[i]`` is child i's list of rounds, each a list of batches."""
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    return [
        {
            "url": shops.run.url,
            "schema": shops.run.schema,
            "ready": str(tmp_path / f"ready-{i}"),
            "go": str(tmp_path / "go"),
            "meeting": str(meeting),
            "me": i,
            "parties": len(rounds),
            "rounds": mine,
        }
        for i, mine in enumerate(rounds)
    ]


def _start_together(started: Sequence[Child], tmp_path: Path) -> None:
    for i, child in enumerate(started):
        child.wait_for(tmp_path / f"ready-{i}")
    (tmp_path / "go").touch()


def _finish_all(started: Sequence[Child], *, timeout: float = 150) -> list[dict[str, Any]]:
    """Wait for every child; fail naming each one that failed, with its output, if any did."""
    results, failures = [], []
    for i, child in enumerate(started):
        try:
            results.append(child.finish(timeout=timeout))
        except pytest.fail.Exception as failure:
            failures.append(f"child {i}: {failure}")
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
    return results


def _stored(shop: Shop) -> tuple[list[Order], list[StockMovement], dict[str, StockLevel]]:
    """Every order, every ledger line, and the level of each stocked SKU."""
    with shop.unit_of_work(READER) as uow:
        orders: list[Order] = []
        for state in OrderState:
            cursor = None
            while True:
                page = uow.repository(Order).find(where={"state": state}, limit=200, cursor=cursor)
                orders += page.items
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
        ledger = uow.port(StockLedger)
        movements: list[StockMovement] = []
        cursor = None
        while True:
            moved = ledger.movements(limit=500, cursor=cursor)
            movements += moved.items
            if moved.next_cursor is None:
                break
            cursor = moved.next_cursor
        levels = {level.sku: level for level in ledger.levels(warehouse=WAREHOUSE, limit=100).items}
    return orders, movements, levels


def _assert_ledger_adds_up(movements: Sequence[StockMovement], levels: dict[str, StockLevel]) -> None:
    """Each SKU's lines sum to its level, and no line ever showed more reserved than on hand."""
    for sku, level in levels.items():
        mine = [m for m in movements if m.sku == sku]
        assert sum(m.on_hand_delta for m in mine) == level.on_hand
        assert sum(m.reserved_delta for m in mine) == level.reserved
        assert level.available >= 0, level
    for m in movements:
        assert 0 <= m.reserved_after <= m.on_hand_after, m


def _assert_reserved_once(
    orders: Sequence[Order], movements: Sequence[StockMovement], channel_orders: Sequence[dict[str, Any]]
) -> None:
    """Each order reserved each of its lines exactly once, for the units ordered."""
    reservations = [m for m in movements if m.reason is MovementReason.RESERVATION]
    lines = sum(len(o["lines"]) for o in channel_orders)
    assert len(reservations) == lines
    assert Counter(m.reference for m in reservations) == {f"order:{o.id}": len(o.lines) for o in orders}
    reserved = Counter[tuple[str | None, str]]()
    for m in reservations:
        reserved[(m.reference, m.sku)] += m.reserved_delta
    assert reserved == {(f"order:{o.id}", line.sku): line.quantity for o in orders for line in o.lines}


# -- ORD-01: overlapping batches of different sizes ------------------------------------------------


def _fifty() -> list[dict[str, Any]]:
    return [
        _channel_order(f"TM-{i:03d}", i, [("MUG-BLUE", 1 + i % 3), ("TEA-1", 1 + i % 2)]) for i in range(50)
    ]


def test_ord_01_overlapping_batches_of_different_sizes_make_each_order_once(
    pg_shops: Shops, tmp_path: Path
) -> None:
    shop = pg_shops.open()
    _stock(shop, ["MUG-BLUE", "TEA-1"], 1000)
    fifty = _fifty()
    sizes = (10, 10, 5, 25)
    rounds: list[Rounds] = [[[fifty[start : start + size] for start in range(0, 50, size)]] for size in sizes]

    with children(_INGESTER, _args(pg_shops, tmp_path, rounds), env=pg_shops.run.child_env()) as ingesters:
        _start_together(ingesters, tmp_path)
        results = _finish_all(ingesters)

    outcomes = Counter[str]()
    for size, r in zip(sizes, results, strict=True):
        assert r["batches"] == 50 // size
        assert sum(r["outcomes"].values()) == 50
        outcomes.update(r["outcomes"])
        # a batch loses the key race at most once per block of 5 orders others created meanwhile
        assert r["batches"] <= r["attempts"] <= r["batches"] + 10
    assert outcomes == {"created": 50, "unchanged": 150}
    # Batches lock the stock of their SKUs before looking their keys up, so a batch waiting behind
    # another that creates the same orders usually finds them created: retries are the exception.

    orders, movements, levels = _stored(shop)
    assert len(orders) == 50
    assert Counter(o.external_id for o in orders) == {o["external_id"]: 1 for o in fifty}
    assert {o.state for o in orders} == {OrderState.ALLOCATED}
    _assert_reserved_once(orders, movements, fifty)
    assert len([m for m in movements if m.reason is MovementReason.RESERVATION]) == 50 * 2
    assert levels["MUG-BLUE"].reserved == sum(1 + i % 3 for i in range(50))
    assert levels["TEA-1"].reserved == sum(1 + i % 2 for i in range(50))
    _assert_ledger_adds_up(movements, levels)


# -- ORD-04: the same SKUs reserved in opposite orders ----------------------------------------------

ROUNDS = 20
PER_BATCH = 6


def _crossing_batches() -> tuple[list[Rounds], Batch]:
    """
    Child A's and child B's rounds (one batch each), and every channel order of both.

    Even rounds: A's orders all reserve S-1 then S-2, B's all S-2 then S-1. Odd rounds: A's batch
    starts with S-1-first orders and ends with S-2-first ones, B's the reverse.
    """
    rounds: list[Rounds] = [[], []]
    every: Batch = []
    n = 0
    for r in range(ROUNDS):
        for child, name in enumerate(("A", "B")):
            batch = []
            for i in range(PER_BATCH):
                s1_first = (child == 0) if r % 2 == 0 else ((child == 0) == (i < PER_BATCH // 2))
                units = (1 + i % 2, 1 + (i + r) % 3)
                lines = [("S-1", units[0]), ("S-2", units[1])]
                batch.append(_channel_order(f"X-{name}-{r:02d}-{i}", n, lines if s1_first else lines[::-1]))
                n += 1
            rounds[child].append([batch])
            every += batch
    return rounds, every


def test_ord_04_batches_reserving_the_same_skus_in_opposite_orders_do_not_deadlock(
    pg_shops: Shops, tmp_path: Path
) -> None:
    shop = pg_shops.open()
    _stock(shop, ["S-1", "S-2"], 10_000)
    rounds, every = _crossing_batches()
    assert {tuple(line["sku"] for line in o["lines"]) for o in every} == {("S-1", "S-2"), ("S-2", "S-1")}

    with children(_INGESTER, _args(pg_shops, tmp_path, rounds), env=pg_shops.run.child_env()) as ingesters:
        _start_together(ingesters, tmp_path)
        results = _finish_all(ingesters)  # fails on a "deadlock detected" StorageError

    for r in results:
        assert r["outcomes"] == {"created": ROUNDS * PER_BATCH}
        assert r["attempts"] == r["batches"] == ROUNDS  # different keys: nothing to retry

    orders, movements, levels = _stored(shop)
    assert len(orders) == len(every) == 2 * ROUNDS * PER_BATCH
    assert Counter(o.external_id for o in orders) == {o["external_id"]: 1 for o in every}
    assert {o.state for o in orders} == {OrderState.ALLOCATED}
    _assert_reserved_once(orders, movements, every)
    for sku in ("S-1", "S-2"):
        ordered = sum(line["quantity"] for o in every for line in o["lines"] if line["sku"] == sku)
        assert (levels[sku].on_hand, levels[sku].reserved) == (10_000, ordered)
        assert levels[sku].available == 10_000 - ordered >= 0
    _assert_ledger_adds_up(movements, levels)
