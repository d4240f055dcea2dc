"""
Schema migrations, run from the package with alembic.

The migration scripts live in ``eshop_adapters/storage/migrations`` (one
linear revision per change). :func:`ensure_schema` runs on every open:

* a database already at this code's revision is left alone (one quick read);
* a database whose revision this code does not know (a newer release wrote
  it) is refused with :class:`~eshop_core.errors.SchemaVersionError`, and
  nothing is written;
* otherwise, with ``migrate=True``, the schema is upgraded in one transaction
  (``BEGIN IMMEDIATE`` on SQLite, so concurrent openers wait and then find it
  done; foreign keys are switched off while batch migrations rebuild tables
  and checked afterwards; on PostgreSQL a transaction-level advisory lock
  serialises concurrent upgraders, and the PostgreSQL schema named by
  ``schema=`` is created first when missing); with ``migrate=False`` it is
  refused.

On PostgreSQL with ``schema=``, alembic's version table lives in that schema
too, and the upgrade runs with ``search_path`` set to it, so raw SQL in a
revision (triggers, functions) lands beside the tables.

Alembic's configuration is built in code; logging is never reconfigured
(no ``fileConfig``), so the host application's logging stays as it is.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from eshop_adapters.storage.sql import connect_error, prepare_connection, release_connection, storage_error
from eshop_core.errors import SchemaVersionError, StorageError

__all__ = [
    "SCRIPT_LOCATION",
    "alembic_config",
    "code_revision",
    "database_revisions",
    "ensure_schema",
    "migration_lock_key",
    "upgrade",
]

log = logging.getLogger("eshop.storage.sql")

SCRIPT_LOCATION: Final = "eshop_adapters.storage:migrations"
"""Where alembic finds ``env.py`` and ``versions/``: inside the installed package."""


def alembic_config(connection: Connection | None = None, *, schema: str | None = None) -> Config:
    """
    Return an alembic configuration for eshop's migrations (no ``alembic.ini`` needed).

    Args:
        connection: The connection ``env.py`` runs the migrations on.
        schema: The PostgreSQL schema holding the shop (and alembic's version table).
    """
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    return config


@functools.cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


@functools.cache
def _known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _script().walk_revisions())


def code_revision() -> str:
    """Return the newest revision this code knows (the head)."""
    head = _script().get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise StorageError("no migration scripts found in eshop_adapters.storage")
    return head


def database_revisions(connection: Connection, *, schema: str | None = None) -> tuple[str, ...]:
    """Return the revisions recorded in the database (or PostgreSQL ``schema``); empty when fresh."""
    opts = {"version_table_schema": schema} if schema is not None else {}
    return tuple(MigrationContext.configure(connection, opts=opts).get_current_heads())


def migration_lock_key(schema: str | None) -> int:
    """Return the PostgreSQL advisory-lock key (a signed 64-bit int) serialising upgrades of ``schema``."""
    digest = hashlib.blake2b(f"eshop.migrate:{schema or ''}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _check(current: tuple[str, ...], *, migrate: bool) -> bool:
    """Return whether an upgrade is needed; raise when it is not allowed or not possible."""
    head = code_revision()
    if current == (head,):
        return False
    shown = ",".join(current) if current else None
    unknown = [rev for rev in current if rev not in _known_revisions()]
    if unknown:
        raise SchemaVersionError(
            shown,
            head,
            detail="the database was written by a newer version of eshop; upgrade eshop to open it",
        )
    if not migrate:
        raise SchemaVersionError(
            shown, head, detail="open with migrate=True (the default) to bring the schema up to date"
        )
    return True


def current_revisions(engine: Engine, *, schema: str | None = None) -> tuple[str, ...]:
    """
    Return the eshop schema revisions recorded in the database (empty for a new shop).

    Raises:
        StorageError: The database cannot be reached or read.
    """
    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:
        raise connect_error(exc, engine) from None
    try:
        try:
            current = database_revisions(connection, schema=schema)
            connection.rollback()
        except SQLAlchemyError as exc:
            raise storage_error(exc, "reading the schema revision") from exc
    finally:
        release_connection(connection)
    return current


def schema_is_empty(engine: Engine, *, schema: str | None = None) -> bool:
    """Return whether the database (or schema) has no eshop schema revision yet: a new shop."""
    return not current_revisions(engine, schema=schema)


def ensure_schema(engine: Engine, *, migrate: bool, schema: str | None = None) -> None:
    """
    Bring the database at ``engine`` to this code's schema revision, or refuse it.

    Args:
        engine: The engine (with ``schema_translate_map`` set when ``schema`` is given).
        migrate: Whether an upgrade may run.
        schema: The PostgreSQL schema holding the shop.

    Raises:
        SchemaVersionError: The database is newer than the code, or behind it with ``migrate=False``.
        StorageError: The database cannot be reached, read or upgraded.
    """
    if _check(current_revisions(engine, schema=schema), migrate=migrate):
        upgrade(engine, schema=schema)


def upgrade(engine: Engine, *, schema: str | None = None) -> None:
    """
    Upgrade the database (or PostgreSQL ``schema``) to the head revision in one transaction.

    Raises:
        SchemaVersionError: The database turned out newer than the code.
        StorageError: A migration failed (nothing was changed).
    """
    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:
        raise connect_error(exc, engine) from None
    sqlite = connection.dialect.name == "sqlite"
    postgresql = connection.dialect.name == "postgresql"
    try:
        if sqlite:
            _sqlite_foreign_keys(connection, enabled=False)
        with connection.begin():
            # SQLite: BEGIN IMMEDIATE already excludes other writers. PostgreSQL: a
            # transaction-level advisory lock, released by the commit or rollback (or when
            # the connection dies), makes concurrent openers upgrade one at a time.
            if postgresql:
                _postgresql_prepare(connection, schema)
            current = database_revisions(connection, schema=schema)  # again, now holding the lock
            if _check(current, migrate=True):
                log.info("upgrading database schema from %s to %s", current or "nothing", code_revision())
                command.upgrade(alembic_config(connection, schema=schema), "head")
                if sqlite:
                    _sqlite_check_foreign_keys(connection)
    except SQLAlchemyError as exc:
        raise storage_error(exc, "migrating the database schema") from exc
    except CommandError as exc:
        raise StorageError(f"migrating the database schema failed: {exc}") from exc
    finally:
        try:
            if sqlite:
                _sqlite_foreign_keys(connection, enabled=True)
        finally:
            release_connection(connection)


def _postgresql_prepare(connection: Connection, schema: str | None) -> None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": migration_lock_key(schema)})
    if schema is None:
        return
    exists = connection.execute(
        text("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = :schema"), {"schema": schema}
    ).first()
    quoted = connection.dialect.identifier_preparer.quote_schema(schema)
    if exists is None:
        log.info("creating database schema %s", schema)
        connection.exec_driver_sql(f"CREATE SCHEMA {quoted}")
    connection.exec_driver_sql(f"SET LOCAL search_path TO {quoted}")


def _sqlite_foreign_keys(connection: Connection, *, enabled: bool) -> None:
    # PRAGMA foreign_keys is a no-op inside a transaction: set it on the driver connection, before BEGIN.
    prepare_connection(connection)
    dbapi = connection.connection.driver_connection
    dbapi.execute(f"PRAGMA foreign_keys = {'ON' if enabled else 'OFF'}")  # type: ignore[union-attr]


def _sqlite_check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise StorageError(
            f"migration left rows with broken foreign keys in {', '.join(tables)}; rolled back"
        )
