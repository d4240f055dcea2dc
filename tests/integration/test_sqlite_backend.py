"""SQLite-specific behaviour of the SQL storage backend."""

from __future__ import annotations

import sqlite3
import stat
import threading
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

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
from eshop_adapters.storage.mappings import MAPPINGS
from eshop_adapters.storage.sql import SqlUnitOfWork
from eshop_core import Actor, Role, Shop, hookimpl
from eshop_core.clock import FixedClock
from eshop_core.domain import Aggregate
from eshop_core.errors import ConcurrencyError, InvalidInputError, KeyringError, StorageError
from eshop_core.events import EventEnvelope
from eshop_core.keyring import Keyring
from eshop_core.money import Money
from eshop_core.storage.ports import DeliveryStatus
from eshop_core.testing import Widget, WidgetStock

LI = Actor("li.ming", roles={Role.OPERATIONS})
BOSS = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "shop.db"


@pytest.fixture
def open_shop(db: Path) -> Iterator[Any]:
    shops: list[Shop] = []

    def _open(target: object | None = None, **kwargs: Any) -> Shop:
        shops.append(Shop.open(target if target is not None else f"sqlite:///{db}", **kwargs))
        return shops[-1]

    yield _open
    for shop in shops:
        shop.close()


def _widget(shop: Shop, name: str = "Blue widget", **kwargs: Any) -> Widget:
    defaults: dict[str, Any] = {"owner_email": "li@example.com", "price": Money.of("12.30", "CNY")}
    defaults.update(kwargs)
    return Widget.create(name=name, by=LI, at=shop.clock.now(), **defaults)


def _add(shop: Shop, *widgets: Widget) -> None:
    with shop.unit_of_work(LI) as uow:
        for w in widgets:
            uow.repository(Widget).add(w)
        uow.commit()


def _raw(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(db, timeout=5)


# -- connection set-up ------------------------------------------------------------


def test_database_runs_in_wal_mode_with_foreign_keys(open_shop: Any, db: Path) -> None:
    shop = open_shop()
    with shop.unit_of_work(LI) as uow:
        assert isinstance(uow, SqlUnitOfWork)
        assert uow.connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert uow.connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert uow.connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    raw = _raw(db)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        raw.close()


def test_a_unit_of_work_holds_the_write_lock_from_its_start(open_shop: Any, db: Path) -> None:
    shop = open_shop()
    other = sqlite3.connect(db, timeout=0.05, isolation_level=None)
    try:
        with shop.unit_of_work(LI), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_an_in_memory_database_is_shared_by_threads() -> None:
    with Shop.open("sqlite://") as shop:
        w = _widget(shop)
        _add(shop, w)
        names: list[str] = []

        def read() -> None:
            with shop.unit_of_work(LI) as uow:
                names.append(uow.repository(Widget).get(w.id).name)

        threads = [threading.Thread(target=read) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert names == ["Blue widget"] * 3


# -- keyring and reopening ----------------------------------------------------------


def test_keyring_file_is_created_private_and_reused(open_shop: Any, db: Path) -> None:
    shop = open_shop()
    keys = Path(f"{db}.keys")
    assert keys.exists()
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    w = _widget(shop, owner_email="Li.Ming@Example.com", owner_phone="138 0013 8000")
    _add(shop, w)
    shop.close()
    before = keys.read_text()

    again = open_shop()
    assert keys.read_text() == before
    with again.unit_of_work(LI) as uow:
        repo = uow.repository(Widget)
        assert [x.id for x in repo.find(where={"owner_email": " li.ming@EXAMPLE.com"})] == [w.id]
        assert [x.id for x in repo.find(where={"owner_phone": "+86 138-0013-8000"})] == [w.id]


def test_a_given_keyring_is_used_and_no_file_is_written(open_shop: Any, db: Path) -> None:
    ring = Keyring.generate()
    shop = open_shop(keyring=ring)
    assert not Path(f"{db}.keys").exists()
    assert shop.backend.keyring is ring


def test_data_survives_reopening(open_shop: Any) -> None:
    shop = open_shop()
    w = _widget(shop, tags=("x", "y"))
    _add(shop, w)
    with shop.unit_of_work(LI) as uow:
        uow.port(WidgetStock).receive(w.id, 7)
        uow.commit()
    shop.close()
    again = open_shop()
    with again.unit_of_work(LI) as uow:
        got = uow.repository(Widget).get(w.id)
        assert (got.name, got.tags, got.price, got.version) == ("Blue widget", ("x", "y"), w.price, 1)
        assert uow.port(WidgetStock).level(w.id) == 7
    assert [e.action for e in again.audit.entries(BOSS).items] == ["WidgetCreated"]


# -- column types -------------------------------------------------------------------


def test_money_is_stored_as_minor_units_and_currency(open_shop: Any, db: Path) -> None:
    shop = open_shop()
    w = _widget(shop, price=Money.of("1234.5", "CNY"))
    jpy = _widget(shop, "yen", price=Money.of(500, "JPY"))
    _add(shop, w, jpy)
    raw = _raw(db)
    try:
        rows = raw.execute(
            "SELECT name, price_minor, price_currency FROM testkit_widgets ORDER BY name"
        ).fetchall()
    finally:
        raw.close()
    assert rows == [("Blue widget", 123450, "CNY"), ("yen", 500, "JPY")]


def test_money_finer_than_the_minor_unit_is_refused(open_shop: Any) -> None:
    shop = open_shop()
    w = _widget(shop, price=Money.of("1.005", "CNY"))
    with shop.unit_of_work(LI) as uow, pytest.raises(InvalidInputError) as info:
        uow.repository(Widget).add(w)
    assert info.value.field == "amount"


def test_datetimes_are_stored_in_utc_and_read_back_aware(open_shop: Any, db: Path) -> None:
    shop = open_shop()
    beijing = timezone(timedelta(hours=8))
    at = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=beijing)
    w = Widget.create(name="tz", owner_email="li@example.com", by=LI, at=at)
    _add(shop, w)
    raw = _raw(db)
    try:
        [(stored,)] = raw.execute("SELECT created_at FROM testkit_widgets").fetchall()
    finally:
        raw.close()
    assert stored == "2026-03-01 01:30:15.123456"
    with shop.unit_of_work(LI) as uow:
        got = uow.repository(Widget).get(w.id).created_at
    assert got == at
    assert got.tzinfo is UTC


def test_naive_datetimes_are_refused(open_shop: Any) -> None:
    shop = open_shop()
    w = Widget(name="naive", owner_email="li@example.com", created_at=datetime(2026, 1, 1))

    def add_naive() -> None:
        with shop.unit_of_work(LI) as uow:
            uow.repository(Widget).add(w)
            uow.commit()  # new rows are written in one batch, at the latest here

    with pytest.raises(InvalidInputError, match="naive"):
        add_naive()
    with shop.unit_of_work(LI) as uow:
        assert len(uow.repository(Widget).find()) == 0


def test_uuid_text_order_is_uuid_order(open_shop: Any) -> None:
    shop = open_shop()
    ids = [uuid.UUID(int=n) for n in (1, 2**64, 2**127, 2**128 - 1, 0xABCDEF << 64)]
    widgets = []
    for i in ids:
        w = _widget(shop, str(i))
        w.id = i
        widgets.append(w)
    _add(shop, *widgets)
    with shop.unit_of_work(LI) as uow:
        assert [w.id for w in uow.repository(Widget).find(limit=10)] == sorted(ids)


# -- audit log ------------------------------------------------------------------------


def test_the_audit_log_refuses_update_and_delete(open_shop: Any, db: Path) -> None:
    shop = open_shop()
    _add(shop, _widget(shop))
    raw = _raw(db)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute("UPDATE audit_log SET actor_id = 'someone else'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute("DELETE FROM audit_log")
        raw.rollback()
        assert raw.execute("SELECT actor_id FROM audit_log").fetchall() == [("li.ming",)]
    finally:
        raw.close()


# -- engines, URLs and errors ------------------------------------------------------------


def test_an_engine_can_be_passed_and_is_left_to_its_owner(open_shop: Any, db: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        shop = open_shop(engine)
        assert shop.backend.name == "sql"
        w = _widget(shop)
        _add(shop, w)
        with shop.unit_of_work(LI) as uow:
            assert uow.repository(Widget).get(w.id).name == "Blue widget"
        shop.close()
        with engine.connect() as conn:
            # the owner's connections keep the driver's own transaction handling
            assert conn.connection.driver_connection.isolation_level == ""  # type: ignore[union-attr]
            assert conn.execute(sa.text("SELECT count(*) FROM testkit_widgets")).scalar() == 1
        assert Path(f"{db}.keys").exists()
    finally:
        engine.dispose()


def test_an_unwritable_path_raises_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot open the database file"):
        Shop.open(f"sqlite:///{tmp_path}/no/such/dir/shop.db")


@pytest.mark.parametrize("url", ["sqlite://somehost/shop.db", "sqlite+aiosqlite:///shop.db"])
def test_malformed_sqlite_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        Shop.open(url)
    assert info.value.field == "url"


def test_a_schema_is_refused_on_sqlite(db: Path) -> None:
    with pytest.raises(InvalidInputError) as info:
        Shop.open(f"sqlite:///{db}", schema="shop")
    assert info.value.field == "schema"


def test_an_aggregate_without_mapping_raises_storage_error_naming_it(open_shop: Any) -> None:
    @attrs.define(kw_only=True, eq=False)
    class Gadget(Aggregate):
        pass

    shop = open_shop()
    with shop.unit_of_work(LI) as uow, pytest.raises(StorageError, match="Gadget"):
        uow.repository(Gadget)


def test_publishing_the_same_event_twice_raises_storage_error(open_shop: Any) -> None:
    shop = open_shop()
    env = EventEnvelope(
        type="Counted",
        aggregate_type="Shelf",
        aggregate_id=uuid.uuid4(),
        aggregate_version=1,
        actor_id=LI.id,
        occurred_at=shop.clock.now(),
    )
    with shop.unit_of_work(LI) as uow:
        uow.publish(env)
        uow.commit()
    with shop.unit_of_work(LI) as uow:
        uow.publish(env)
        with pytest.raises(StorageError, match="UNIQUE"):
            uow.commit()


# -- concurrency ----------------------------------------------------------------------


def test_concurrent_writers_on_two_engines_never_hit_locked_errors(open_shop: Any) -> None:
    first, second = open_shop(), open_shop()
    w = _widget(first)
    _add(first, w)
    with first.unit_of_work(LI) as uow:
        uow.port(WidgetStock).receive(w.id, 100)
        uow.commit()
    errors: list[BaseException] = []

    def take(shop: Shop) -> None:
        try:
            for _ in range(20):
                with shop.unit_of_work(LI) as uow:
                    uow.port(WidgetStock).take(w.id, 1)
                    uow.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=take, args=(shop,)) for shop in (first, second, first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with second.unit_of_work(LI) as uow:
        assert uow.port(WidgetStock).level(w.id) == 20


class _Counter:
    def __init__(self, name: str) -> None:
        self.eshop_plugin_name = name
        self.seen: list[uuid.UUID] = []
        self.lock = threading.Lock()

    @hookimpl
    def eshop_event(self, envelope: EventEnvelope) -> None:
        with self.lock:
            self.seen.append(envelope.id)


def test_concurrent_relays_deliver_every_event_exactly_once(open_shop: Any) -> None:
    a, b = _Counter("sub-a"), _Counter("sub-b")
    clock = FixedClock()
    first = open_shop(clock=clock, plugins=[a, b])
    second = open_shop(clock=clock, plugins=[a, b])
    widgets = [_widget(first, f"w{i}") for i in range(30)]
    _add(first, *widgets)
    with first.unit_of_work(LI) as uow:
        repo = uow.repository(Widget)
        for w in widgets[:10]:
            got = repo.get(w.id)
            got.rename(f"renamed {w.name}", by=LI, at=clock.now())
            repo.save(got)
        uow.commit()

    def relay(shop: Shop) -> None:
        while shop.outbox.deliver(limit=7).attempted:
            pass

    threads = [threading.Thread(target=relay, args=(shop,)) for shop in (first, second, first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(a.seen) == len(b.seen) == 40
    assert len(set(a.seen)) == len(set(b.seen)) == 40
    assert first.outbox.stats()[DeliveryStatus.DELIVERED] == 80


# -- child tables (generic mapping support) --------------------------------------------

_PRIVATE = sa.MetaData()


@attrs.define(kw_only=True, eq=False)
class Basket(Aggregate):
    """An aggregate with a child table, a personal field and money."""

    owner: str = attrs.field(metadata={"pii": True, "blind_index": True})
    lines: tuple[tuple[str, Money], ...] = ()


_baskets = sa.Table(
    "test_baskets",
    _PRIVATE,
    id_column(),
    version_column(),
    *personal_columns("owner", blind_index=True, nullable=False),
)
_basket_lines = sa.Table(
    "test_basket_lines",
    _PRIVATE,
    child_parent_column(_baskets),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("sku", sa.String(40), nullable=False),
    *money_columns("price"),
)


class _BasketMapping(AggregateMapping[Basket]):
    def __init__(self) -> None:
        super().__init__(Basket, _baskets, children=[ChildTable(_basket_lines)])

    def dump(self, aggregate: Basket) -> dict[str, Any]:
        return {}

    def dump_children(self, aggregate: Basket) -> Rows:
        return {"test_basket_lines": [{"sku": sku, **money_values("price", p)} for sku, p in aggregate.lines]}

    def load(self, values: Mapping[str, Any], children: Rows) -> Basket:
        lines = tuple((r["sku"], money_from(r, "price")) for r in children["test_basket_lines"])
        return Basket(id=values["id"], version=values["version"], owner=values["owner"], lines=lines)  # type: ignore[arg-type]


def test_child_tables_are_written_replaced_and_read_in_order(
    open_shop: Any, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = open_shop()
    engine = sa.create_engine(f"sqlite:///{db}")
    _PRIVATE.create_all(engine)
    engine.dispose()
    monkeypatch.setitem(MAPPINGS, Basket, _BasketMapping())
    one = Basket(owner="Li Ming", lines=(("B", Money.of("2.50", "CNY")), ("A", Money.of(1, "CNY"))))
    two = Basket(owner="Wang Fang")
    with shop.unit_of_work(LI) as uow:
        uow.repository(Basket).add(one)
        uow.repository(Basket).add(two)
        uow.commit()
    with shop.unit_of_work(LI) as uow:
        repo = uow.repository(Basket)
        got = repo.get(one.id)
        assert got.lines == one.lines
        got.lines = (("C", Money.of(3, "CNY")),)
        got.version += 1
        repo.save(got)
        uow.commit()
    with shop.unit_of_work(LI) as uow:
        found = uow.repository(Basket).find(where={"owner": "  li ming "})
        assert [(b.id, b.lines, b.version) for b in found] == [(one.id, (("C", Money.of(3, "CNY")),), 1)]
        assert [b.lines for b in uow.repository(Basket).find()] == [(("C", Money.of(3, "CNY")),), ()]


def test_a_failed_batch_poisons_the_unit_of_work(open_shop: Any) -> None:
    shop = open_shop()
    w = _widget(shop)
    _add(shop, w)
    twin = _widget(shop)
    twin.id = w.id
    with shop.unit_of_work(LI) as uow:
        repo = uow.repository(Widget)
        repo.add(twin)
        with pytest.raises(ConcurrencyError):
            repo.find()  # the queued insert is written before the query and clashes
        with pytest.raises(StorageError, match="roll it back"):
            uow.commit()
    with shop.unit_of_work(LI) as uow:
        assert [x.name for x in uow.repository(Widget).find()] == [w.name]


def test_a_failed_statement_poisons_the_unit_of_work_and_commit_refuses(open_shop: Any) -> None:
    from sqlalchemy import text

    shop = open_shop()
    w = _widget(shop)
    with shop.unit_of_work(LI) as uow:
        uow.repository(Widget).add(w)
        with pytest.raises(StorageError):
            uow.execute(text("SELECT * FROM no_such_table"))
        with pytest.raises(StorageError, match="roll it back"):
            uow.commit()
    with shop.unit_of_work(LI) as uow:
        assert uow.repository(Widget).find().items == ()


def test_gov_03_a_shop_whose_keyring_file_went_missing_refuses_to_open(open_shop: Any, db: Path) -> None:
    shop = open_shop()
    _add(shop, _widget(shop))
    shop.close()
    keys = db.with_name(db.name + ".keys")
    keys.rename(db.with_name("elsewhere.keys"))
    with pytest.raises(KeyringError, match="no keyring file"):
        Shop.open(f"sqlite:///{db}")
    assert not keys.exists()  # no fresh keyring was made that could not read the stored data


def test_describe_reports_storage_without_secrets(open_shop: Any, db: Path) -> None:
    shop = open_shop()
    info = shop.backend.describe()
    assert info["dialect"] == "sqlite"
    assert info["database"].endswith(str(db))
    assert info["revision"] not in ("", "(none)")
    assert info["keyring"].startswith("active key ")
    ring = Keyring.load(db.with_name(db.name + ".keys"))
    assert ring.index_key.hex() not in repr(info)
    assert ring.active_key.hex() not in repr(info)
