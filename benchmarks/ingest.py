"""
Order ingestion throughput: channel orders through ``shop.orders.ingest_many`` into SQLite and memory.

Streams N channel orders (3 lines each over 200 SKUs in two warehouses, 5%
of them anomalies the audit holds: bad phones, change requests in the buyer
note, unclear addresses, abnormal amounts, duplicates) in batches of 1,000
through ``shop.orders.ingest_many`` — parsing, audit, automatic confirmation
and stock allocation included — first into a fresh SQLite file, then into the
memory backend. As the baseline, the same number of order and line rows are
written with raw ``sqlite3.executemany`` into tables of the same shape, in the
same run. Orders are generated as they are ingested, never held all at once,
so SQLite's peak memory should not grow with N; the script reports the peak
resident set after the first half and after the whole SQLite run.

Run: ``python benchmarks/ingest.py`` (``--n``, ``--memory-n``). The last line
printed is one JSON object:
``{"sqlite_orders_per_s", "memory_orders_per_s", "raw_rows_per_s", "peak_rss_mb", ...}``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eshop_core import Actor, FixedClock, Role, Shop

BATCH = 1_000
SKUS = [f"SKU-{i:04d}" for i in range(200)]
WAREHOUSES = (("SH-01", 1), ("BJ-01", 2))
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CHANNEL = Actor.system("channel:tmall")
BOSS = Actor("bench.boss", roles={Role.DEPARTMENT_MANAGER})
OPERATOR = Actor("bench.operator", roles={Role.OPERATIONS})


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def channel_orders(n: int, *, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Yield ``n`` channel orders, 5% of them anomalies the audit holds."""
    rng = random.Random(seed)
    recent: dict[int, tuple[list[str], list[int]]] = {}
    for i in range(n):
        placed = START + timedelta(seconds=i)
        skus = rng.sample(SKUS, 3)
        quantities = [rng.randint(1, 3) for _ in skus]
        price = "39.00"
        phone = f"139{i:08d}"
        address = f"世纪大道 {i % 977 + 1} 号 {i % 31 + 1} 栋 {i % 19 + 1}0{i % 7 + 1} 室"
        note = None
        anomaly = i % 20 == 7  # 5%
        kind = (i // 20) % 5
        if anomaly and kind == 0:
            phone = "12345"
        elif anomaly and kind == 1:
            note = "请改地址到公司"
        elif anomaly and kind == 2:
            address = "不详"
        elif anomaly and kind == 3:
            price = "3900.00"
        elif anomaly and kind == 4 and i - 20 in recent:
            phone = f"139{i - 20:08d}"  # same consignee and items as the order 20 before
            skus, quantities = recent[i - 20]
        recent[i] = (skus, quantities)
        recent.pop(i - 20, None)
        lines = [
            {"sku": sku, "quantity": quantity, "unit_price": price}
            for sku, quantity in zip(skus, quantities, strict=True)
        ]
        total = sum(int(q) for q in quantities) * (3900 if price == "3900.00" else 39)
        yield {
            "channel": "tmall",
            "external_id": f"TM{i:09d}",
            "status": "paid",
            "placed_at": placed.isoformat(),
            "modified_at": (placed + timedelta(seconds=30)).isoformat(),
            "currency": "CNY",
            "buyer": f"tb_buyer_{i % 5000}",
            "consignee": {
                "name": f"顾客{i % 9973}",
                "phone": phone,
                "province": "上海市",
                "city": "上海市",
                "district": "浦东新区",
                "address": address,
            },
            "lines": lines,
            "total": f"{total}.00",
            "payment": {"method": "alipay", "reference": f"PAY{i:09d}", "paid_at": placed.isoformat()},
            "buyer_note": note,
        }


def prepare(url: str) -> tuple[Shop, FixedClock]:
    """Open a shop with the warehouses, 200 products and ample stock."""
    clock = FixedClock(START)
    shop = Shop.open(url, clock=clock)
    for code, priority in WAREHOUSES:
        shop.inventory.open_warehouse(BOSS, code=code, name=code, priority=priority)
    for sku in SKUS:
        shop.catalog.create_product(
            OPERATOR,
            {
                "name": f"Product {sku}",
                "shipping_method": "express",
                "variants": [
                    {"sku": sku, "attributes": {"size": "M"}, "price": {"amount": "39.00", "currency": "CNY"}}
                ],
            },
        )
    with shop.unit_of_work(BOSS) as uow:
        for sku in SKUS:
            for code, _priority in WAREHOUSES:
                shop.inventory.receive_in(uow, sku, code, 10_000_000)
        uow.commit()
    shop.policies.current()  # adopt the default policy before timing
    return shop, clock


def ingest(shop: Shop, clock: FixedClock, n: int, *, halfway: list[float] | None = None) -> tuple[float, int]:
    """Ingest ``n`` orders in batches; return the seconds taken and the orders held."""
    held = 0
    batch: list[dict[str, Any]] = []
    done = 0
    gc.collect()
    started = time.perf_counter()
    for order in channel_orders(n):
        batch.append(order)
        if len(batch) == BATCH:
            held += sum(r.state == "held" for r in shop.orders.ingest_many(CHANNEL, batch))
            done += len(batch)
            batch = []
            clock.advance(timedelta(seconds=BATCH))
            if halfway is not None and not halfway and done >= n // 2:
                halfway.append(_peak_rss_mb())
    if batch:
        held += sum(r.state == "held" for r in shop.orders.ingest_many(CHANNEL, batch))
    return time.perf_counter() - started, held


def raw_baseline(path: Path, n: int) -> float:
    """Insert the same number of order and line rows with ``sqlite3.executemany``; return rows per second."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE orders (id BLOB PRIMARY KEY, version INTEGER, channel TEXT, external_id TEXT,"
        " revision TEXT, state TEXT, placed_at TEXT, paid_at TEXT, buyer TEXT, buyer_bidx TEXT,"
        " consignee_name TEXT, consignee_name_bidx TEXT, consignee_phone TEXT, consignee_phone_bidx TEXT,"
        " province TEXT, city TEXT, district TEXT, address TEXT, total_amount INTEGER, total_currency TEXT,"
        " items_key TEXT, steps TEXT, UNIQUE (channel, external_id))"
    )
    db.execute(
        "CREATE TABLE order_lines (parent_id BLOB, position INTEGER, sku TEXT, quantity INTEGER,"
        " unit_price_amount INTEGER, unit_price_currency TEXT, allocations TEXT,"
        " PRIMARY KEY (parent_id, position))"
    )
    cipher = "v1.k1." + "A" * 60
    bidx = "f" * 64
    rows = 0
    started = time.perf_counter()
    for first in range(0, n, BATCH):
        orders, lines = [], []
        for i in range(first, min(first + BATCH, n)):
            key = os.urandom(16)
            orders.append(
                (
                    key,
                    5,
                    "tmall",
                    f"TM{i:09d}",
                    "2026-03-02T01:00:30",
                    "allocated",
                    "2026-03-02T01:00:00",
                    "2026-03-02T01:00:00",
                    cipher,
                    bidx,
                    cipher,
                    bidx,
                    cipher,
                    bidx,
                    "上海市",
                    "上海市",
                    "浦东新区",
                    cipher,
                    23400,
                    "CNY",
                    "SKU-0001*2;SKU-0002*1;SKU-0003*3",
                    "[]",
                )
            )
            lines += [(key, p, SKUS[p], 2, 3900, "CNY", '[["SH-01", 2]]') for p in range(3)]
        db.execute("BEGIN")
        db.executemany("INSERT INTO orders VALUES (" + ",".join("?" * 22) + ")", orders)
        db.executemany("INSERT INTO order_lines VALUES (?,?,?,?,?,?,?)", lines)
        db.execute("COMMIT")
        rows += len(orders) + len(lines)
    elapsed = time.perf_counter() - started
    db.close()
    return rows / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--n", type=int, default=20_000, help="orders into SQLite (default 20,000)")
    parser.add_argument("--memory-n", type=int, default=20_000, help="orders into memory (default 20,000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_baseline(Path(tmp) / "raw.db", args.n)
        print(f"raw sqlite3 executemany: {raw:,.0f} rows/s (orders and lines)")
        shop, clock = prepare(f"sqlite:///{Path(tmp) / 'shop.db'}")
        halfway: list[float] = []
        seconds, held = ingest(shop, clock, args.n, halfway=halfway)
        shop.close()
        sqlite_rate = args.n / seconds
        peak = _peak_rss_mb()
        print(
            f"sqlite: {args.n:,} orders in {seconds:.1f} s = {sqlite_rate:,.0f} orders/s, {held} held; "
            f"peak RSS {halfway[0] if halfway else peak:.0f} MB at half, {peak:.0f} MB at the end"
        )
    shop, clock = prepare("memory://")
    seconds, held = ingest(shop, clock, args.memory_n)
    memory_rate = args.memory_n / seconds
    print(f"memory: {args.memory_n:,} orders in {seconds:.1f} s = {memory_rate:,.0f} orders/s, {held} held")
    print(
        json.dumps(
            {
                "sqlite_orders_per_s": round(sqlite_rate, 1),
                "memory_orders_per_s": round(memory_rate, 1),
                "raw_rows_per_s": round(raw, 1),
                "peak_rss_mb": round(peak, 1),
                "peak_rss_mb_at_half": round(halfway[0], 1) if halfway else None,
                "sqlite_vs_raw_orders": round(sqlite_rate / (raw / 4), 3),
                "orders_sqlite": args.n,
                "orders_memory": args.memory_n,
            }
        )
    )


if __name__ == "__main__":
    main()
