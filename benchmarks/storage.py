"""
Storage throughput: the library's units of work against raw driver inserts of the same rows.

Writes N order-like aggregates — an order with 3 lines and one event, two
fields personal (consignee name and phone, encrypted, the phone blind-indexed)
— through units of work of 1,000 into SQLite, and the identical rows
(aggregate, lines, outbox and audit rows, precomputed ciphertexts and blind
indexes) through ``sqlite3.executemany`` with one commit per 1,000, in the same
run, alternating sides over several rounds and keeping each side's best.
Then the same on PostgreSQL against raw psycopg ``executemany`` (skipped
when no server answers). Figures are ratios against the raw baseline measured
in the same run; absolute rates depend on the machine.

Run: ``python benchmarks/storage.py`` (``--n``, ``--pg-url``). The last line
printed is one JSON object:
``{"lib_aggregates_per_s", "raw_aggregates_per_s", "ratio", "pg_ratio", ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
from sqlalchemy import Column, Integer, MetaData, String, Table

from eshop_adapters.storage.mapping import (
    AggregateMapping,
    ChildTable,
    Rows,
    child_parent_column,
    id_column,
    money_columns,
    money_from,
    money_values,
    personal_columns,
    version_column,
)
from eshop_adapters.storage.mappings import register_mapping
from eshop_adapters.storage.types import UTCDateTime
from eshop_core import Actor, DomainEvent, EventEnvelope, FixedClock, Keyring, Money, Role, Shop
from eshop_core.domain import Aggregate

BATCH = 1_000
ACTOR = Actor.system("channel:bench")
CLERK = Actor("bench.clerk", roles={Role.OPERATIONS})


# -- the order-like aggregate ----------------------------------------------------


@attrs.frozen
class BenchLine:
    sku: str
    quantity: int
    price: Money


@attrs.frozen(kw_only=True)
class BenchOrderPlaced(DomainEvent):
    external_id: str
    total: Money
    lines: int


@attrs.define(kw_only=True, eq=False)
class BenchOrder(Aggregate):
    external_id: str = attrs.field(metadata={"filterable": True})
    consignee_name: str = attrs.field(metadata={"pii": True})
    consignee_phone: str = attrs.field(metadata={"pii": True, "blind_index": True, "pii_kind": "phone"})
    total: Money
    placed_at: datetime
    lines: list[BenchLine] = attrs.field(factory=list)

    @classmethod
    def place(cls, i: int, at: datetime) -> BenchOrder:
        lines = [
            BenchLine(f"SKU-{(i + k) % 500:04d}", 1 + k, Money.of(f"{19 + k}.90", "CNY")) for k in range(3)
        ]
        total = Money.sum((ln.price * ln.quantity for ln in lines), "CNY")
        order = cls(
            external_id=f"T{i:09d}",
            consignee_name=f"收货人 {i}",
            consignee_phone=f"+86 138{i % 10**8:08d}",
            total=total,
            placed_at=at,
            lines=lines,
        )
        order._record(
            BenchOrderPlaced(occurred_at=at, actor=ACTOR, external_id=order.external_id, total=total, lines=3)
        )
        return order


BENCH_METADATA = MetaData()
bench_orders = Table(
    "bench_orders",
    BENCH_METADATA,
    id_column(),
    version_column(),
    Column("external_id", String(64), nullable=False, index=True),
    *personal_columns("consignee_name"),
    *personal_columns("consignee_phone", blind_index=True),
    *money_columns("total"),
    Column("placed_at", UTCDateTime(), nullable=False),
)
bench_order_lines = Table(
    "bench_order_lines",
    BENCH_METADATA,
    child_parent_column(bench_orders),
    Column("position", Integer, nullable=False),
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    *money_columns("price"),
)


class BenchOrderMapping(AggregateMapping[BenchOrder]):
    def __init__(self) -> None:
        super().__init__(BenchOrder, bench_orders, children=[ChildTable(bench_order_lines)])

    def dump(self, aggregate: BenchOrder) -> dict[str, Any]:
        return {
            "external_id": aggregate.external_id,
            **money_values("total", aggregate.total),
            "placed_at": aggregate.placed_at,
        }

    def dump_children(self, aggregate: BenchOrder) -> Rows:
        return {
            "bench_order_lines": [
                {"sku": ln.sku, "quantity": ln.quantity, **money_values("price", ln.price)}
                for ln in aggregate.lines
            ]
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> BenchOrder:
        total = money_from(values, "total")
        assert total is not None
        lines = []
        for row in children["bench_order_lines"]:
            price = money_from(row, "price")
            assert price is not None
            lines.append(BenchLine(row["sku"], row["quantity"], price))
        return BenchOrder(
            id=values["id"],
            version=values["version"],
            external_id=values["external_id"],
            consignee_name=values["consignee_name"],
            consignee_phone=values["consignee_phone"],
            total=total,
            placed_at=values["placed_at"],
            lines=lines,
        )


MAPPING = BenchOrderMapping()
register_mapping(MAPPING)
START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def orders(n: int) -> Iterator[BenchOrder]:
    for i in range(n):
        yield BenchOrder.place(i, START + timedelta(seconds=i))


# -- the library path ----------------------------------------------------------------


def run_library(shop: Shop, n: int) -> float:
    """
    Time adding ``n`` aggregates, streamed a batch at a time.

    Each batch of aggregates is built untimed just before its unit of work, as
    the raw side builds each batch of rows untimed just before writing it.
    """
    spent = 0.0
    source = orders(n)
    for start in range(0, n, BATCH):
        batch = [next(source) for _ in range(min(BATCH, n - start))]
        started = time.perf_counter()
        _commit(shop, batch)
        spent += time.perf_counter() - started
    return spent


def _commit(shop: Shop, batch: list[BenchOrder]) -> None:
    with shop.unit_of_work(ACTOR) as uow:
        repo = uow.repository(BenchOrder)
        for order in batch:
            repo.add(order)
        uow.commit()


# -- the raw rows: identical content, precomputed outside the timed loop ---------------


@attrs.frozen
class RawRows:
    orders: list[tuple[Any, ...]]
    lines: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]
    audit: list[tuple[Any, ...]]


def raw_rows(n: int, keyring: Keyring, uuid_text: bool) -> Iterator[RawRows]:
    """Rows in the exact shape the library writes, one batch at a time (ciphertexts precomputed)."""

    def key(u: uuid.UUID) -> Any:
        return u.hex if uuid_text else u

    def when(dt: datetime) -> Any:
        return dt.strftime("%Y-%m-%d %H:%M:%S.%f") if uuid_text else dt

    batch = RawRows([], [], [], [])
    for order in orders(n):
        row = MAPPING.to_row(order, keyring=keyring)
        batch.orders.append(
            (
                key(order.id),
                order.version,
                order.external_id,
                row["consignee_name"],
                row["consignee_phone"],
                row["consignee_phone_bidx"],
                row["total_minor"],
                "CNY",
                when(order.placed_at),
            )
        )
        for position, ln in enumerate(order.lines):
            batch.lines.append(
                (key(order.id), position, ln.sku, ln.quantity, ln.price.to_minor_units(), "CNY")
            )
        [recorded] = order.take_events()
        env = EventEnvelope.wrap(
            recorded.event, aggregate_type="BenchOrder", aggregate_id=order.id, aggregate_version=1
        )
        payload = json.dumps(dict(env.payload))
        batch.events.append(
            (
                key(env.id),
                env.type,
                env.schema_version,
                "BenchOrder",
                key(order.id),
                1,
                env.actor_id,
                None,
                when(env.occurred_at),
                payload,
            )
        )
        batch.audit.append(
            (
                key(env.id),
                when(env.occurred_at),
                env.actor_id,
                env.type,
                "BenchOrder",
                key(order.id),
                1,
                None,
                json.dumps(dict(env.payload)),
            )
        )
        if len(batch.orders) == BATCH:
            yield batch
            batch = RawRows([], [], [], [])
    if batch.orders:
        yield batch


RAW_SQL = {
    "orders": "INSERT INTO bench_orders (id, version, external_id, consignee_name, consignee_phone, "
    "consignee_phone_bidx, total_minor, total_currency, placed_at) VALUES ({p})",
    "lines": "INSERT INTO bench_order_lines "
    "(parent_id, position, sku, quantity, price_minor, price_currency) VALUES ({p})",
    "events": "INSERT INTO outbox_events (event_id, type, schema_version, aggregate_type, aggregate_id, "
    "aggregate_version, actor_id, policy_version, occurred_at, payload) VALUES ({p})",
    "audit": "INSERT INTO audit_log (event_id, occurred_at, actor_id, action, aggregate_type, aggregate_id, "
    "aggregate_version, policy_version, details) VALUES ({p})",
}


def _sql(name: str, placeholder: str) -> str:
    count = RAW_SQL[name].split("(", 1)[1].split(")", 1)[0].count(",") + 1
    return RAW_SQL[name].format(p=", ".join([placeholder] * count))


def run_raw(
    executemany: Callable[[str, list[tuple[Any, ...]]], None],
    commit: Callable[[], None],
    batches: Iterator[RawRows],
    placeholder: str,
) -> float:
    """Time writing the rows, each batch built untimed just before it is written."""
    statements = {name: _sql(name, placeholder) for name in RAW_SQL}
    spent = 0.0
    for batch in batches:
        started = time.perf_counter()
        executemany(statements["orders"], batch.orders)
        executemany(statements["lines"], batch.lines)
        executemany(statements["events"], batch.events)
        executemany(statements["audit"], batch.audit)
        commit()
        spent += time.perf_counter() - started
    return spent


# -- SQLite --------------------------------------------------------------------------


def bench_sqlite(n: int, folder: Path, rounds: int) -> dict[str, float]:
    """Best of ``rounds`` alternating runs of each side (the machine is shared and noisy)."""
    best = {"lib": 0.0, "raw": 0.0}
    for r in range(rounds):
        result = _sqlite_round(n, folder / f"round{r}")
        best = {k: max(best[k], result[k]) for k in best}
    return best


def _sqlite_round(n: int, folder: Path) -> dict[str, float]:
    folder.mkdir()
    keyring = Keyring.generate()
    lib_path = folder / "lib.db"
    shop = Shop.open(f"sqlite:///{lib_path}", keyring=keyring, clock=FixedClock(START))
    BENCH_METADATA.create_all(shop.backend.engine)  # type: ignore[attr-defined]
    lib_seconds = run_library(shop, n)
    shop.close()

    raw_path = folder / "raw.db"
    Shop.open(f"sqlite:///{raw_path}", keyring=keyring).close()  # same schema, migrated
    con = sqlite3.connect(raw_path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=ON")
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{raw_path}")
    BENCH_METADATA.create_all(engine)
    engine.dispose()
    batches = raw_rows(n, keyring, uuid_text=True)

    def executemany(sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not con.in_transaction:
            con.execute("BEGIN IMMEDIATE")
        con.executemany(sql, rows)

    raw_seconds = run_raw(executemany, lambda: con.execute("COMMIT"), batches, "?")
    count = con.execute("SELECT count(*) FROM bench_orders").fetchone()[0]
    con.close()
    assert count == n, count
    return {"lib": n / lib_seconds, "raw": n / raw_seconds}


# -- PostgreSQL ----------------------------------------------------------------------


def bench_postgres(n: int, url: str, rounds: int) -> dict[str, float] | None:
    """Best of ``rounds`` alternating runs of each side, or ``None`` when no server answers."""
    best = {"lib": 0.0, "raw": 0.0}
    for r in range(rounds):
        result = _postgres_round(n, url, r)
        if result is None:
            return None
        best = {k: max(best[k], result[k]) for k in best}
    return best


def _postgres_round(n: int, url: str, round_no: int) -> dict[str, float] | None:
    try:
        import psycopg
    except ImportError:
        return None
    schema = f"eshop_bench_{os.getpid()}_{round_no}"
    try:
        admin = psycopg.connect(
            url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True, connect_timeout=3
        )
    except psycopg.OperationalError:
        return None
    keyring = Keyring.generate()
    try:
        for name in ("lib", "raw"):
            admin.execute(f"DROP SCHEMA IF EXISTS {schema}_{name} CASCADE")
        shop = Shop.open(url, keyring=keyring, schema=f"{schema}_lib", clock=FixedClock(START))
        BENCH_METADATA.create_all(shop.backend.engine)  # type: ignore[attr-defined]
        lib_seconds = run_library(shop, n)
        shop.close()

        Shop.open(url, keyring=keyring, schema=f"{schema}_raw").close()
        from sqlalchemy import create_engine

        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1)).execution_options(
            schema_translate_map={None: f"{schema}_raw"}
        )
        BENCH_METADATA.create_all(engine)
        engine.dispose()
        batches = raw_rows(n, keyring, uuid_text=False)
        con = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        con.execute(f"SET search_path TO {schema}_raw")
        cur = con.cursor()
        raw_seconds = run_raw(lambda sql, rows: cur.executemany(sql, rows), con.commit, batches, "%s")
        count = con.execute("SELECT count(*) FROM bench_orders").fetchone()
        con.close()
        assert count is not None
        assert count[0] == n, count
        return {"lib": n / lib_seconds, "raw": n / raw_seconds}
    finally:
        for name in ("lib", "raw"):
            admin.execute(f"DROP SCHEMA IF EXISTS {schema}_{name} CASCADE")
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="aggregates per run (default 10,000)")
    parser.add_argument("--rounds", type=int, default=5, help="runs per side; the best counts (default 5)")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("ESHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        lite = bench_sqlite(args.n, Path(folder), args.rounds)
    print(
        f"sqlite: library {lite['lib']:,.0f} aggregates/s, raw sqlite3 {lite['raw']:,.0f}/s, "
        f"ratio {lite['lib'] / lite['raw']:.2f}"
    )
    pg = bench_postgres(args.n, args.pg_url, args.rounds)
    if pg is None:
        print("postgresql: no server reachable, skipped")
    else:
        print(
            f"postgresql: library {pg['lib']:,.0f} aggregates/s, raw psycopg {pg['raw']:,.0f}/s, "
            f"ratio {pg['lib'] / pg['raw']:.2f}"
        )
    result = {
        "n": args.n,
        "rounds": args.rounds,
        "lib_aggregates_per_s": round(lite["lib"], 1),
        "raw_aggregates_per_s": round(lite["raw"], 1),
        "ratio": round(lite["lib"] / lite["raw"], 3),
        "pg_lib_aggregates_per_s": round(pg["lib"], 1) if pg else None,
        "pg_raw_aggregates_per_s": round(pg["raw"], 1) if pg else None,
        "pg_ratio": round(pg["lib"] / pg["raw"], 3) if pg else None,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
