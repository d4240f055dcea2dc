"""
Several processes on one PostgreSQL database acting on the same hot SKU through the StockLedger (INV-01).

Each test starts real child processes (``python -c`` with a small script), lets
them start together (ready files, then a "go" file) and checks from the
outside what they did and what the ledger holds. Every child has a timeout
and is killed and reaped at the end.
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
from eshop_core.storage.inventory_ports import StockLedger

pytestmark = [pytest.mark.postgres, pytest.mark.multiprocess, pytest.mark.timeout(120)]

LI = Actor("li.ming", roles={Role.OPERATIONS})
HOT = "MUG-HOT"
WAREHOUSE = "SH-01"

# Shared by the children: open the shop, say "ready", wait for "go".
_PREAMBLE = r"""
import json, os, sys, time
from pathlib import Path
from eshop_core import Actor, Role, Shop
from eshop_core.errors import InsufficientStockError
from eshop_core.storage.inventory_ports import StockLedger

args = json.loads(sys.argv[1])
actor = Actor(f"picker.{os.getpid()}", roles={Role.WAREHOUSE})


def start():
    shop = Shop.open(args["url"], schema=args["schema"])
    Path(args["ready"]).touch()
    deadline = time.monotonic() + 60
    while not Path(args["go"]).exists():
        if time.monotonic() > deadline:
            sys.exit("no go signal within 60 s")
        time.sleep(0.005)
    return shop
"""

_RESERVER = (
    _PREAMBLE
    + r"""
shop = start()
reserved_after, refused_available = [], []
for i in range(args["attempts"]):
    try:
        with shop.unit_of_work(actor) as uow:
            change = uow.port(StockLedger).reserve(args["sku"], args["warehouse"], 1, reference=f"order:{i}")
            uow.commit()
        reserved_after.append(change.movement.reserved_after)
    except InsufficientStockError as exc:
        refused_available.append(exc.available)
shop.close()
result = {"actor": actor.id, "reserved_after": reserved_after, "refused_available": refused_available}
print(json.dumps(result))
"""
)

_PICKER = (
    _PREAMBLE
    + r"""
shop = start()
counts = {"reserved": 0, "shipped": 0, "released": 0, "refused": 0}
for i in range(args["attempts"]):
    try:
        with shop.unit_of_work(actor) as uow:
            uow.port(StockLedger).reserve(args["sku"], args["warehouse"], 1, reference=f"order:{i}")
            uow.commit()
    except InsufficientStockError:
        counts["refused"] += 1
        continue
    counts["reserved"] += 1
    with shop.unit_of_work(actor) as uow:  # another unit of work: others act in between
        ledger = uow.port(StockLedger)
        if i % 3 == 2:
            ledger.release(args["sku"], args["warehouse"], 1, reference=f"order:{i}", note="cancelled")
            counts["released"] += 1
        else:
            ledger.ship(args["sku"], args["warehouse"], 1, reference=f"order:{i}")
            counts["shipped"] += 1
        uow.commit()
shop.close()
print(json.dumps({"actor": actor.id, **counts}))
"""
)


def _args(shops: Shops, tmp_path: Path, n: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "url": shops.run.url,
            "schema": shops.run.schema,
            "ready": str(tmp_path / f"ready-{i}"),
            "go": str(tmp_path / "go"),
            "sku": HOT,
            "warehouse": WAREHOUSE,
            **extra,
        }
        for i in range(n)
    ]


def _start_together(started: Sequence[Child], tmp_path: Path) -> None:
    for i, child in enumerate(started):
        child.wait_for(tmp_path / f"ready-{i}")
    (tmp_path / "go").touch()


def _receive(shop: Shop, quantity: int) -> None:
    with shop.unit_of_work(LI) as uow:
        uow.port(StockLedger).receive(HOT, WAREHOUSE, quantity, reference="purchase_order:1")
        uow.commit()


def _ledger(shop: Shop) -> tuple[StockLevel, list[StockMovement]]:
    movements: list[StockMovement] = []
    with shop.unit_of_work(LI) as uow:
        ledger = uow.port(StockLedger)
        cursor = None
        while True:
            page = ledger.movements(sku=HOT, warehouse=WAREHOUSE, limit=100, cursor=cursor)
            movements += page.items
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return ledger.level(HOT, WAREHOUSE), movements


def _assert_adds_up(level: StockLevel, movements: list[StockMovement]) -> None:
    """The ledger sums to the level, and no line ever showed more reserved than on hand."""
    assert sum(m.on_hand_delta for m in movements) == level.on_hand
    assert sum(m.reserved_delta for m in movements) == level.reserved
    for m in movements:
        assert 0 <= m.reserved_after <= m.on_hand_after, m
    seqs = [m.seq for m in movements]
    assert seqs == sorted(set(seqs))


def test_inv_01_processes_reserving_one_hot_sku_never_oversell(pg_shops: Shops, tmp_path: Path) -> None:
    shop = pg_shops.open()
    _receive(shop, 150)
    args = _args(pg_shops, tmp_path, 4, attempts=60)

    with children(_RESERVER, args, env=pg_shops.run.child_env()) as reservers:
        _start_together(reservers, tmp_path)
        results = [reserver.finish(timeout=90) for reserver in reservers]

    successes = [after for r in results for after in r["reserved_after"]]
    refusals = [available for r in results for available in r["refused_available"]]
    assert (len(successes), len(refusals)) == (150, 90)
    assert refusals == [0] * 90  # refused only when nothing was left
    # every successful reservation saw a distinct new total, 1 to 150: no lost update, no oversell
    assert sorted(successes) == list(range(1, 151))
    level, movements = _ledger(shop)
    assert (level.on_hand, level.reserved, level.available) == (150, 150, 0)
    reservations = [m for m in movements if m.reason is MovementReason.RESERVATION]
    assert len(reservations) == 150
    assert len(movements) == 151  # and the receipt
    assert sorted(m.reserved_after for m in reservations) == list(range(1, 151))
    assert all((m.on_hand_delta, m.reserved_delta, m.on_hand_after) == (0, 1, 150) for m in reservations)
    # each line names the process that made it
    assert Counter(m.actor for m in reservations) == {r["actor"]: len(r["reserved_after"]) for r in results}
    _assert_adds_up(level, movements)


def test_inv_01_processes_reserving_then_shipping_or_releasing_keep_the_ledger_exact(
    pg_shops: Shops, tmp_path: Path
) -> None:
    shop = pg_shops.open()
    _receive(shop, 100)
    args = _args(pg_shops, tmp_path, 4, attempts=50)

    with children(_PICKER, args, env=pg_shops.run.child_env()) as pickers:
        _start_together(pickers, tmp_path)
        results = [picker.finish(timeout=90) for picker in pickers]

    total = Counter[str]()
    for r in results:
        total.update({k: r[k] for k in ("reserved", "shipped", "released", "refused")})
        assert r["reserved"] == r["shipped"] + r["released"]
    assert total["reserved"] + total["refused"] == 200
    assert total["shipped"] <= 100
    level, movements = _ledger(shop)
    assert (level.on_hand, level.reserved) == (100 - total["shipped"], 0)
    by_reason = Counter(m.reason for m in movements)
    assert by_reason == {
        MovementReason.RECEIPT: 1,
        MovementReason.RESERVATION: total["reserved"],
        MovementReason.SHIPMENT: total["shipped"],
        MovementReason.RELEASE: total["released"],
    }
    # on hand only fell by shipments of one: each saw a distinct new on-hand figure
    shipped_after = sorted(m.on_hand_after for m in movements if m.reason is MovementReason.SHIPMENT)
    assert shipped_after == list(range(100 - total["shipped"], 100))
    for r in results:
        mine = Counter(m.reason for m in movements if m.actor == r["actor"])
        assert (
            mine[MovementReason.RESERVATION],
            mine[MovementReason.SHIPMENT],
            mine[MovementReason.RELEASE],
        ) == (
            r["reserved"],
            r["shipped"],
            r["released"],
        )
    _assert_adds_up(level, movements)
