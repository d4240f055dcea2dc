"""Alembic migrations of the SQL backend, on SQLite."""

from __future__ import annotations

import io
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from tests.shop_tables import SHOP_TABLES

from eshop_adapters.storage import migrate
from eshop_adapters.storage.metadata import METADATA, load_metadata
from eshop_core import Shop
from eshop_core.errors import SchemaVersionError


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "shop.db"


@pytest.fixture
def engine(db: Path) -> Iterator[sa.Engine]:
    eng = sa.create_engine(f"sqlite:///{db}")
    yield eng
    eng.dispose()


def _schema(db: Path) -> list[tuple[str, str | None]]:
    raw = sqlite3.connect(db)
    try:
        return raw.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    finally:
        raw.close()


def _version(db: Path) -> list[tuple[str]]:
    raw = sqlite3.connect(db)
    try:
        return raw.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        raw.close()


def _stamp(db: Path, revision: str) -> None:
    raw = sqlite3.connect(db)
    try:
        raw.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        raw.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
        raw.commit()
    finally:
        raw.close()


def test_the_migrated_database_matches_the_models(db: Path, engine: sa.Engine) -> None:
    Shop.open(f"sqlite:///{db}").close()
    metadata = load_metadata()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        # the comparison is not vacuous: a model change is noticed
        changed = sa.MetaData()
        for table in metadata.sorted_tables:
            table.to_metadata(changed)
        sa.Table("unmigrated", changed, sa.Column("id", sa.Integer, primary_key=True))
        assert compare_metadata(MigrationContext.configure(conn), changed) != []
    expected = SHOP_TABLES
    assert set(metadata.tables) == expected
    assert {name for name, _ in _schema(db)} >= expected | {"alembic_version", "audit_log_no_update"}


def test_the_migration_is_one_linear_revision_at_head(db: Path) -> None:
    Shop.open(f"sqlite:///{db}").close()
    assert _version(db) == [(migrate.code_revision(),)]
    assert migrate.code_revision() == "0006"


def test_opening_a_database_at_head_does_no_migration_work(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Shop.open(f"sqlite:///{db}").close()
    before = (_schema(db), _version(db))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("upgrade must not run at head")

    monkeypatch.setattr(migrate, "upgrade", refuse)
    monkeypatch.setattr(command, "upgrade", refuse)
    Shop.open(f"sqlite:///{db}").close()
    Shop.open(f"sqlite:///{db}", migrate=False).close()
    assert (_schema(db), _version(db)) == before


def test_migrate_false_refuses_an_empty_database_and_creates_nothing(db: Path) -> None:
    with pytest.raises(SchemaVersionError) as info:
        Shop.open(f"sqlite:///{db}", migrate=False)
    assert info.value.database_revision is None
    assert info.value.code_revision == migrate.code_revision()
    assert "migrate=True" in str(info.value)
    assert _schema(db) == []
    assert not Path(f"{db}.keys").exists()


@pytest.mark.parametrize("allow", [True, False])
def test_a_database_newer_than_the_code_is_refused_untouched(db: Path, allow: bool) -> None:
    _stamp(db, "9999_from_the_future")
    before = _schema(db)
    with pytest.raises(SchemaVersionError) as info:
        Shop.open(f"sqlite:///{db}", migrate=allow)
    assert info.value.database_revision == "9999_from_the_future"
    assert info.value.code_revision == migrate.code_revision()
    assert "newer version" in str(info.value)
    assert _schema(db) == before
    assert _version(db) == [("9999_from_the_future",)]
    assert not Path(f"{db}.keys").exists()


def test_migrating_leaves_logging_alone(db: Path) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    alembic_logger = logging.getLogger("alembic")
    alembic_state = (list(alembic_logger.handlers), alembic_logger.level, alembic_logger.disabled)
    Shop.open(f"sqlite:///{db}").close()
    assert (list(root.handlers), root.level) == (handlers, level)
    assert (list(alembic_logger.handlers), alembic_logger.level, alembic_logger.disabled) == alembic_state


def test_foreign_keys_are_back_on_after_migrating(db: Path, engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys = ON")
        conn.commit()
    migrate.ensure_schema(engine, migrate=True)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert migrate.database_revisions(conn) == (migrate.code_revision(),)


def test_concurrent_openers_of_a_fresh_database_both_succeed(db: Path) -> None:
    shops: list[Shop] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def open_it() -> None:
        try:
            shop = Shop.open(f"sqlite:///{db}")
        except BaseException as exc:
            errors.append(exc)
            return
        with lock:
            shops.append(shop)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for shop in shops:
        shop.close()
    assert errors == []
    assert _version(db) == [(migrate.code_revision(),)]


def test_the_environment_also_renders_offline_sql() -> None:
    buffer = io.StringIO()
    config = Config(output_buffer=buffer)
    config.set_main_option("script_location", migrate.SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", "sqlite://")
    command.upgrade(config, "head", sql=True)
    sql = buffer.getvalue()
    assert "CREATE TABLE outbox_events" in sql
    assert "audit_log_no_delete" in sql
    assert METADATA.tables  # the models were loaded by env.py
