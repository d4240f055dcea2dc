"""PostgreSQL-specific behaviour of the SQL storage backend: URLs, schemas, migrations, locking, errors."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from psycopg import sql
from tests.postgres import PostgresRun, Shops, connect, drop_stale_schemas, run_schema_name, stale_schemas
from tests.shop_tables import SHOP_TABLES

from eshop_adapters.storage import migrate
from eshop_adapters.storage.metadata import load_metadata
from eshop_adapters.storage.sql import SqlBackend, SqlUnitOfWork
from eshop_core import Actor, Role, Shop, hookimpl
from eshop_core.clock import FixedClock
from eshop_core.errors import InvalidInputError, KeyringError, SchemaVersionError, StorageError
from eshop_core.events import EventEnvelope
from eshop_core.keyring import KEYRING_ENV, Keyring
from eshop_core.money import Money
from eshop_core.storage.ports import OutboxStore, TimerStore
from eshop_core.testing import Widget

pytestmark = pytest.mark.postgres

LI = Actor("li.ming", roles={Role.OPERATIONS})

EXPECTED_TABLES = SHOP_TABLES | {"alembic_version"}


def _widget(shop: Shop, name: str = "Blue widget", **kwargs: Any) -> Widget:
    defaults: dict[str, Any] = {"owner_email": "li@example.com", "price": Money.of("12.30", "CNY")}
    defaults.update(kwargs)
    return Widget.create(name=name, by=LI, at=shop.clock.now(), **defaults)


def _add(shop: Shop, *widgets: Widget) -> None:
    with shop.unit_of_work(LI) as uow:
        for w in widgets:
            uow.repository(Widget).add(w)
        uow.commit()


def _schema_exists(run: PostgresRun, schema: str) -> bool:
    with connect(run.url) as conn:
        return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None


def _tables(run: PostgresRun, schema: str) -> set[str]:
    with connect(run.url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)).fetchall()
    return {row[0] for row in rows}


def _stamp(run: PostgresRun, schema: str, revision: str) -> None:
    with connect(run.url) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL("CREATE TABLE {} (version_num VARCHAR(32) NOT NULL PRIMARY KEY)").format(
                sql.Identifier(schema, "alembic_version")
            )
        )
        conn.execute(
            sql.SQL("INSERT INTO {} VALUES (%s)").format(sql.Identifier(schema, "alembic_version")),
            (revision,),
        )


@pytest.fixture
def fresh(postgres: PostgresRun) -> str:
    """The name of a schema of this run that does not exist yet."""
    return postgres.new_schema_name()


@pytest.fixture
def search_path_engine(postgres: PostgresRun, fresh: str) -> Iterator[sa.Engine]:
    """An integrator's engine whose connections see ``fresh`` as their default schema."""
    engine = sa.create_engine(
        postgres.url.replace("postgresql://", "postgresql+psycopg://", 1),
        connect_args={"options": f"-c search_path={fresh}"},
    )
    yield engine
    engine.dispose()


# -- URLs, keyrings, engines --------------------------------------------------------------


def test_a_postgresql_url_runs_on_psycopg_3_in_the_chosen_schema(postgres: PostgresRun, fresh: str) -> None:
    with postgres.open_shop(fresh) as shop:
        backend = shop.backend
        assert isinstance(backend, SqlBackend)
        assert (backend.dialect_name, backend.engine.dialect.driver) == ("postgresql", "psycopg")
        assert backend.schema == fresh
        w = _widget(shop)
        _add(shop, w)
        with shop.unit_of_work(LI) as uow:
            assert uow.repository(Widget).get(w.id).name == "Blue widget"
    # the tables, the audit log's trigger function and alembic's version table all live in the schema
    assert _tables(postgres, fresh) == EXPECTED_TABLES
    with connect(postgres.url) as conn:
        assert conn.execute(
            "SELECT pronamespace::regnamespace::text FROM pg_proc WHERE proname = 'audit_log_append_only' "
            "AND pronamespace::regnamespace::text = %s",
            (fresh,),
        ).fetchall() == [(fresh,)]
        version = conn.execute(
            sql.SQL("SELECT version_num FROM {}").format(sql.Identifier(fresh, "alembic_version"))
        ).fetchall()
    assert version == [(migrate.code_revision(),)]


def test_a_postgresql_shop_needs_a_keyring_and_writes_nothing_without_one(
    postgres: PostgresRun, fresh: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEYRING_ENV, raising=False)
    with pytest.raises(KeyringError, match="needs a keyring") as info:
        Shop.open(postgres.url, schema=fresh)
    assert KEYRING_ENV in str(info.value)
    assert not _schema_exists(postgres, fresh)


def test_the_keyring_may_come_from_the_environment(
    postgres: PostgresRun, fresh: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ring = Keyring.generate()
    monkeypatch.setenv(KEYRING_ENV, ring.to_json())
    with Shop.open(postgres.url, schema=fresh) as shop:
        assert shop.backend.keyring == ring  # type: ignore[attr-defined]


def test_an_engine_can_be_passed_with_a_schema_and_is_left_to_its_owner(
    postgres: PostgresRun, fresh: str
) -> None:
    engine = sa.create_engine(postgres.url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        shop = Shop.open(engine, schema=fresh, keyring=postgres.keyring)
        w = _widget(shop)
        _add(shop, w)
        shop.close()
        with engine.connect() as conn:  # still usable, and its own statements are not redirected
            assert conn.execute(sa.text("SELECT current_schema()")).scalar() == "public"
            count = conn.execute(sa.text(f"SELECT count(*) FROM {fresh}.testkit_widgets")).scalar()
        assert count == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url", ["postgresql+asyncpg://postgres@127.0.0.1/test", "postgresql+psycopg2://postgres@127.0.0.1/test"]
)
def test_unsupported_postgresql_drivers_are_refused(url: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        Shop.open(url, keyring=Keyring.generate())
    assert info.value.field == "url"


def test_an_unreachable_server_raises_a_plain_storage_error() -> None:
    with pytest.raises(StorageError) as info:
        Shop.open("postgresql://shopuser:s3cret-pass@127.0.0.1:1/shop", keyring=Keyring.generate())
    message = str(info.value)
    assert "cannot reach the database server" in message
    assert "127.0.0.1:1" in message
    assert "s3cret-pass" not in message
    # one clear error, not a chain of driver tracebacks
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


# -- migrations ----------------------------------------------------------------------------


def test_the_migrated_schema_matches_the_models(
    postgres: PostgresRun, fresh: str, search_path_engine: sa.Engine
) -> None:
    postgres.open_shop(fresh).close()
    metadata = load_metadata()
    with search_path_engine.connect() as conn:
        assert conn.dialect.default_schema_name == fresh
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        # the comparison is not vacuous: a model change is noticed
        changed = sa.MetaData()
        for table in metadata.sorted_tables:
            table.to_metadata(changed)
        sa.Table("unmigrated", changed, sa.Column("id", sa.Integer, primary_key=True))
        assert compare_metadata(MigrationContext.configure(conn), changed) != []


def test_migrate_false_refuses_a_missing_schema_and_creates_nothing(
    postgres: PostgresRun, fresh: str
) -> None:
    with pytest.raises(SchemaVersionError) as info:
        postgres.open_shop(fresh, migrate=False)
    assert info.value.database_revision is None
    assert "migrate=True" in str(info.value)
    assert not _schema_exists(postgres, fresh)


def test_opening_a_schema_at_head_does_no_migration_work(
    postgres: PostgresRun, fresh: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres.open_shop(fresh).close()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("upgrade must not run at head")

    monkeypatch.setattr(migrate, "upgrade", refuse)
    postgres.open_shop(fresh).close()
    postgres.open_shop(fresh, migrate=False).close()


@pytest.mark.parametrize("allow", [True, False])
def test_a_schema_newer_than_the_code_is_refused_untouched(
    postgres: PostgresRun, fresh: str, allow: bool
) -> None:
    _stamp(postgres, fresh, "9999_from_the_future")
    with pytest.raises(SchemaVersionError) as info:
        postgres.open_shop(fresh, migrate=allow)
    assert info.value.database_revision == "9999_from_the_future"
    assert "newer version" in str(info.value)
    assert _tables(postgres, fresh) == {"alembic_version"}


def test_upgrades_run_under_the_advisory_lock(
    postgres: PostgresRun, fresh: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    held: list[int] = []
    real_upgrade = command.upgrade
    query = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND ((classid::bigint << 32) | objid::bigint) = %s"
    )
    key = migrate.migration_lock_key(fresh)

    def watching(config: Any, revision: str, **kwargs: Any) -> None:
        with connect(postgres.url) as other:
            held.extend(row[0] for row in other.execute(query, (key,)))
        real_upgrade(config, revision, **kwargs)

    monkeypatch.setattr(command, "upgrade", watching)
    postgres.open_shop(fresh).close()
    assert held == [1]
    with connect(postgres.url) as conn:  # released with the migration's transaction
        assert conn.execute(query, (key,)).fetchone() == (0,)


def test_concurrent_openers_of_a_fresh_schema_all_succeed(postgres: PostgresRun, fresh: str) -> None:
    shops: list[Shop] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def open_it() -> None:
        try:
            shop = postgres.open_shop(fresh)
        except BaseException as exc:
            errors.append(exc)
            return
        with lock:
            shops.append(shop)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for shop in shops:
        shop.close()
    assert errors == []
    assert len(shops) == 3
    assert _tables(postgres, fresh) == EXPECTED_TABLES


# -- data ------------------------------------------------------------------------------------


def test_the_audit_log_refuses_update_delete_and_truncate(pg_shops: Shops) -> None:
    shop = pg_shops.open()
    _add(shop, _widget(shop))
    table = sql.Identifier(pg_shops.run.schema, "audit_log")
    with connect(pg_shops.run.url) as conn:
        for statement in ("UPDATE {} SET actor_id = 'someone else'", "DELETE FROM {}", "TRUNCATE {}"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(sql.SQL(statement).format(table))
        assert conn.execute(sql.SQL("SELECT actor_id FROM {}").format(table)).fetchall() == [("li.ming",)]


def test_datetimes_are_timestamptz_and_read_back_aware_in_utc(pg_shops: Shops) -> None:
    shop = pg_shops.open()
    at = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    w = Widget.create(name="tz", owner_email="li@example.com", by=LI, at=at)
    _add(shop, w)
    with connect(pg_shops.run.url) as conn:
        conn.execute("SET TIME ZONE 'America/New_York'")
        [(stored,)] = conn.execute(
            sql.SQL("SELECT created_at FROM {}").format(
                sql.Identifier(pg_shops.run.schema, "testkit_widgets")
            )
        ).fetchall()
    assert stored == at
    with shop.unit_of_work(LI) as uow:
        got = uow.repository(Widget).get(w.id).created_at
    assert (got, got.tzinfo) == (at, UTC)


def test_claims_skip_rows_another_transaction_is_claiming(pg_shops: Shops) -> None:
    clock = FixedClock()
    shop = pg_shops.open(clock=clock, plugins=[_Named("sub-a")])
    widgets = [_widget(shop, f"w{i}") for i in range(4)]
    with shop.unit_of_work(LI) as uow:
        for w in widgets:
            uow.repository(Widget).add(w)
            uow.port(TimerStore).schedule(kind="testkit.widget_review", aggregate_id=w.id, due_at=clock.now())
        uow.commit()
    lease = timedelta(minutes=5)
    first = shop.unit_of_work(LI)
    with first:
        assert isinstance(first, SqlUnitOfWork)
        held_deliveries = first.port(OutboxStore).claim(now=clock.now(), limit=2, lease=lease)
        held_timers = first.port(TimerStore).claim_due(now=clock.now(), limit=2, lease=lease)
        # a second relay/scheduler, while the first has not committed: it does not wait, and gets the rest
        with shop.unit_of_work(LI) as second:
            second.connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")  # type: ignore[attr-defined]
            other_deliveries = second.port(OutboxStore).claim(now=clock.now(), limit=10, lease=lease)
            other_timers = second.port(TimerStore).claim_due(now=clock.now(), limit=10, lease=lease)
            second.commit()
        first.commit()
    assert len(held_deliveries) == len(other_deliveries) == 2
    assert {d.delivery_id for d in held_deliveries}.isdisjoint(d.delivery_id for d in other_deliveries)
    assert len(held_timers) == len(other_timers) == 2
    assert {t.id for t in held_timers}.isdisjoint(t.id for t in other_timers)
    # all four are leased now: nobody gets them again before the lease ends
    with shop.unit_of_work(LI) as uow:
        assert uow.port(OutboxStore).claim(now=clock.now(), limit=10, lease=lease) == []
        assert uow.port(TimerStore).claim_due(now=clock.now(), limit=10, lease=lease) == []
        later = clock.now() + lease
        assert len(uow.port(OutboxStore).claim(now=later, limit=10, lease=lease)) == 4


class _Named:
    def __init__(self, name: str) -> None:
        self.eshop_plugin_name = name
        self.seen: list[uuid.UUID] = []

    @hookimpl
    def eshop_event(self, envelope: EventEnvelope) -> None:
        self.seen.append(envelope.id)


# -- the test harness's own schemas ------------------------------------------------------------


def test_stale_test_schemas_are_recognised() -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    now = time.time()
    old = run_schema_name(pid=os.getpid(), epoch=now - 2 * 3600)
    orphan = run_schema_name(pid=finished.pid, epoch=now)
    mine = run_schema_name()
    elsewhere = run_schema_name(pid=finished.pid, epoch=now, host="abcdef")
    names = [old, orphan, mine, f"{mine}_x1", elsewhere, "eshop_test_other", "public"]
    assert stale_schemas(names, now=now, keep=mine) == [old, orphan]


def test_stale_test_schemas_are_dropped_and_live_ones_kept(postgres: PostgresRun) -> None:
    stale = run_schema_name(epoch=time.time() - 2 * 3600)
    with connect(postgres.url) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(stale)))
    assert stale in drop_stale_schemas(postgres.url, keep=postgres.schema)
    assert not _schema_exists(postgres, stale)
    assert _schema_exists(postgres, postgres.schema)
