"""
The SQL backend: engine set-up, units of work and repositories (SQLAlchemy Core).

One :class:`SqlBackend` owns one :class:`~sqlalchemy.engine.Engine` (or wraps
an integrator's). A :class:`SqlUnitOfWork` is one connection and one
transaction, opened on ``with`` and committed or rolled back at the end; the
connection always goes back to the pool. Repositories are generic: each
aggregate's :class:`~eshop_adapters.storage.mapping.AggregateMapping` says
which tables and columns hold it.

Dialect-specific behaviour is kept in the section "Dialects" below:

* SQLite: WAL journal, ``foreign_keys=ON``, a busy timeout, and every
  transaction started with ``BEGIN IMMEDIATE`` — the pysqlite driver's own
  transaction handling is switched off (``isolation_level = None`` in the
  ``connect`` event) and the ``begin`` event emits ``BEGIN IMMEDIATE``, so a
  unit of work holds the write lock from its start and never fails upgrading a
  read lock to a write lock. Units of work of one backend are also serialised
  in-process by a lock, so threads queue instead of polling the busy handler.
* PostgreSQL (psycopg 3): ``postgresql://`` URLs run on the ``postgresql+psycopg``
  driver with a connect timeout; ``schema=`` is applied to every statement
  through ``schema_translate_map`` (the migration creates the schema);
  relay and scheduler claims use ``SELECT ... FOR UPDATE SKIP LOCKED``
  (:func:`lock_for_claim`); upserts go through :func:`dialect_insert`. A
  PostgreSQL shop needs an explicit keyring (``keyring=`` or ``ESHOP_KEYRING``):
  there is no file beside the database to keep one in.

A statement or commit that breaks a UNIQUE index or a primary key (SQLite's
``UNIQUE constraint failed``, PostgreSQL's SQLSTATE 23505) raises
:class:`~eshop_core.errors.DuplicateKeyError`, naming the table, and the unit of
work is rolled back: a service that lost a race on a unique key (two processes
creating the same channel order) retries and finds the winner's row.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar

import attrs
from sqlalchemy import Select, Table, bindparam, create_engine, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, CursorResult, Engine, Row, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError, StatementError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.dml import Delete, Insert, Update

from eshop_adapters.storage.mapping import AggregateMapping, Rows
from eshop_adapters.storage.mappings import mapping_for
from eshop_core.domain import Aggregate
from eshop_core.errors import (
    ConcurrencyError,
    DuplicateKeyError,
    EshopError,
    InvalidInputError,
    KeyringError,
    StorageError,
)
from eshop_core.keyring import Keyring
from eshop_core.storage.ports import BackendOptions
from eshop_core.storage.unit_of_work import BaseRepository, BaseUnitOfWork

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry
    from sqlalchemy.sql.base import Executable

    from eshop_core.access import Actor

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "CONNECT_TIMEOUT_SECONDS",
    "SUPPORTED_DIALECTS",
    "AnyRow",
    "BulkInsert",
    "SqlBackend",
    "SqlRepository",
    "SqlUnitOfWork",
    "connect_error",
    "dialect_insert",
    "lock_for_claim",
    "open_backend",
    "prepare_connection",
    "storage_error",
    "unique_violation",
]

log = logging.getLogger("eshop.storage.sql")

A = TypeVar("A", bound=Aggregate)

SUPPORTED_DIALECTS: Final[tuple[str, ...]] = ("sqlite", "postgresql")
"""SQLAlchemy dialects this backend runs on."""

BUSY_TIMEOUT_SECONDS: Final = 30.0
"""How long a unit of work waits for the database's write lock before failing."""

CONNECT_TIMEOUT_SECONDS: Final = 10
"""How long connecting to a PostgreSQL server may take (unless the URL sets ``connect_timeout``)."""

_POSTGRESQL_DRIVERS: Final = ("postgresql", "postgresql+psycopg")

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None
AnyRow: TypeAlias = Row[*tuple[Any, ...]]
"""A result row of any shape."""
AnyResult: TypeAlias = CursorResult[*tuple[Any, ...]]
"""A cursor result of any shape."""


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def storage_error(exc: BaseException, doing: str) -> EshopError:
    """
    Translate an SQLAlchemy/driver exception into the eshop error to raise.

    Errors of eshop raised inside SQLAlchemy (a naive datetime refused by a
    column type) come back as themselves; a UNIQUE or primary key violation
    becomes :class:`~eshop_core.errors.DuplicateKeyError` naming the table
    (see :func:`unique_violation`); anything else a
    :class:`~eshop_core.errors.StorageError`. The message names what failed and
    the driver's reason, never the statement's parameters (they may hold
    personal data).

    Args:
        exc: The exception caught.
        doing: What was being done (``"opening the database"``).
    """
    if isinstance(exc, StatementError) and isinstance(exc.orig, EshopError):
        return exc.orig
    orig = getattr(exc, "orig", None) or exc
    reason = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    duplicate = unique_violation(orig)
    if duplicate is not None:
        table = duplicate or None
        where = f"table {table}" if table else "its table"
        return DuplicateKeyError(
            f"{doing} failed: a row with the same unique key is in {where} already (stored first by "
            f"another unit of work, or twice by this one) [{type(orig).__name__}: {reason}]",
            table=table,
        )
    lowered = reason.lower()
    if "authentication failed" in lowered or "no pg_hba.conf entry" in lowered:
        hint = "the database server refused the credentials: check the user and password of the URL"
    elif "fatal:" in lowered and "does not exist" in lowered:
        hint = "the server has no such database or role: check the URL (eshop creates schemas, not databases)"
    elif _is_connection_failure(lowered):
        hint = (
            "cannot reach the database server: check the host and port of the URL "
            "and that the server is running and accepting connections"
        )
    elif "database is locked" in lowered or "database is busy" in lowered:
        hint = (
            f"the database stayed locked by another connection for more than {BUSY_TIMEOUT_SECONDS:.0f} s "
            "(a long transaction elsewhere, or a unit of work opened inside another one in the same thread?)"
        )
    elif "unable to open database file" in lowered:
        hint = "cannot open the database file: check that its directory exists and is writable"
    elif "readonly database" in lowered or "read-only" in lowered:
        hint = "the database is read-only: check the file's and its directory's permissions"
    else:
        hint = reason
    return StorageError(f"{doing} failed: {hint} [{type(orig).__name__}: {reason}]")


_UNIQUE_VIOLATION_SQLSTATE: Final = "23505"
_SQLITE_UNIQUE_ERRORS: Final = ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")
_SQLITE_UNIQUE_MESSAGE: Final = "UNIQUE constraint failed: "


def unique_violation(orig: BaseException) -> str | None:
    """
    Return the table of a driver error that is a UNIQUE (or primary key) violation, else ``None``.

    The table is ``""`` when the driver does not say. PostgreSQL (psycopg) reports
    SQLSTATE ``23505`` with the table in its diagnostics; SQLite reports
    ``UNIQUE constraint failed: <table>.<column>, ...``.

    Args:
        orig: The driver's exception (``exc.orig`` of an SQLAlchemy ``IntegrityError``).
    """
    if getattr(orig, "sqlstate", None) == _UNIQUE_VIOLATION_SQLSTATE:
        diag = getattr(orig, "diag", None)
        return str(getattr(diag, "table_name", None) or "")
    if isinstance(orig, sqlite3.IntegrityError):
        message = str(orig)
        name = getattr(orig, "sqlite_errorname", None)
        if name in _SQLITE_UNIQUE_ERRORS or message.startswith(_SQLITE_UNIQUE_MESSAGE):
            columns = message.removeprefix(_SQLITE_UNIQUE_MESSAGE)
            first = columns.split(",", 1)[0].strip()
            return first.rsplit(".", 1)[0] if "." in first and not first.startswith("index ") else ""
    return None


_CONNECTION_FAILURES: Final = (
    "connection refused",
    "could not connect",
    "connection failed",
    "could not translate host name",
    "name or service not known",
    "failed to resolve host",
    "timeout expired",
    "no route to host",
    "network is unreachable",
)


def _is_connection_failure(lowered_reason: str) -> bool:
    return any(marker in lowered_reason for marker in _CONNECTION_FAILURES)


def connect_error(exc: SQLAlchemyError, engine: Engine) -> EshopError:
    """
    Translate a failure to connect to ``engine``'s database into the error to raise.

    The message names the database (password hidden) and the driver's reason;
    the caller raises it ``from None``, as the driver's traceback adds nothing.
    """
    return storage_error(exc, f"opening the database {engine.url.render_as_string(hide_password=True)}")


# ---------------------------------------------------------------------------
# Dialects
# ---------------------------------------------------------------------------

_PREPARED: Final = "eshop_sqlite_prepared"
_RESTORE_ISOLATION: Final = "eshop_sqlite_isolation_level"


def _sqlite_pragmas(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """
    Put the database in WAL mode (persistent: done once per file).

    Switching needs an exclusive lock, and SQLite answers "database is locked"
    at once — without waiting in the busy handler — while another connection
    holds any lock, which happens when several processes open a new database
    together; so the switch is retried until the busy timeout.
    """
    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_on_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    # The documented pysqlite recipe: the driver never emits BEGIN itself ...
    dbapi_connection.isolation_level = None
    _sqlite_pragmas(dbapi_connection)
    record.info[_PREPARED] = True


def prepare_connection(connection: Connection) -> None:
    """
    Make an SQLite connection ready for eshop, outside any transaction.

    Connections of an engine eshop created are prepared when they connect. A
    connection of an integrator's engine is prepared on first use (pragmas),
    and its driver-level transaction handling is switched off while eshop uses
    it and restored afterwards (see :func:`release_connection`).
    """
    if connection.dialect.name != "sqlite":
        return
    info = connection.info
    dbapi = connection.connection.driver_connection
    if not info.get(_PREPARED):
        _sqlite_pragmas(dbapi)
        info[_PREPARED] = True
    if dbapi.isolation_level is not None:  # type: ignore[union-attr]
        info[_RESTORE_ISOLATION] = dbapi.isolation_level  # type: ignore[union-attr]
        dbapi.isolation_level = None  # type: ignore[union-attr]


def _sqlite_on_begin(connection: Connection) -> None:
    # ... and every transaction, read or write, takes the write lock up front.
    prepare_connection(connection)
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def release_connection(connection: Connection) -> None:
    """Restore what :func:`prepare_connection` changed on an integrator's connection, then close it."""
    try:
        info = connection.info
        previous = info.pop(_RESTORE_ISOLATION, None)
        if previous is not None:
            connection.connection.driver_connection.isolation_level = previous  # type: ignore[union-attr]
    except (SQLAlchemyError, AttributeError):  # pragma: no cover - an invalidated connection
        log.debug("could not restore the isolation level of a connection", exc_info=True)
    finally:
        connection.close()


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sqlite_database_path(url: URL) -> str | None:
    """Return the file path of an SQLite URL, or ``None`` for an in-memory database."""
    database = url.database
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        path, _, query = database[len("file:") :].partition("?")
        return None if "mode=memory" in query or not path or path == ":memory:" else path
    return database


def _sqlite_engine(url: URL) -> Engine:
    if url.drivername not in ("sqlite", "sqlite+pysqlite"):
        raise InvalidInputError(
            "url", f"driver {url.drivername!r} is not supported; use 'sqlite:///path/to/shop.db'"
        )
    if url.host or url.username or url.password or url.port:
        raise InvalidInputError(
            "url",
            "an SQLite URL names a file, not a host: 'sqlite:///relative.db' or 'sqlite:////abs/path.db'",
        )
    memory = sqlite_database_path(url) is None
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        "json_serializer": _json_dumps,
    }
    if memory:
        kwargs["poolclass"] = StaticPool  # one connection, shared: the in-memory database lives in it
    engine = create_engine(url.set(drivername="sqlite+pysqlite"), **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def _postgresql_engine(url: URL) -> Engine:
    if url.drivername not in _POSTGRESQL_DRIVERS:
        raise InvalidInputError(
            "url",
            f"driver {url.drivername!r} is not supported; use 'postgresql://user@host/database' (psycopg 3)",
        )
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    if "application_name" not in url.query:
        connect_args["application_name"] = "eshop"
    try:
        return create_engine(
            url.set(drivername="postgresql+psycopg"),
            connect_args=connect_args,
            json_serializer=_json_dumps,
            pool_pre_ping=True,
        )
    except ImportError:
        raise StorageError(
            "PostgreSQL needs the psycopg 3 driver: install 'eshop[postgres]' (or 'psycopg[binary]')"
        ) from None


def _engine_from_url(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise InvalidInputError("url", f"{url!r} is not a valid database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        return _postgresql_engine(parsed)
    raise InvalidInputError(
        "url", f"the sql backend does not serve {backend!r} URLs (supported: {', '.join(SUPPORTED_DIALECTS)})"
    )


def _configure(engine: Engine, *, owned: bool) -> Engine:
    """Return the engine eshop runs on: ``engine`` itself, or a private view of an integrator's."""
    runner = engine if owned else engine.execution_options()
    if engine.dialect.name == "sqlite":
        event.listen(runner, "begin", _sqlite_on_begin)
    return runner


def dialect_insert(dialect_name: str, table: Table) -> sqlite.Insert | postgresql.Insert:
    """
    Return the dialect's ``INSERT`` construct (with ``ON CONFLICT`` support) for ``table``.

    Raises:
        StorageError: An unsupported dialect.
    """
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    raise StorageError(f"no upsert support for dialect {dialect_name!r}")


def lock_for_claim(statement: Select[Any], dialect_name: str, *of: Table) -> Select[Any]:
    """
    Make a relay's claim query exclusive per row.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` so concurrent relays take different
    rows. SQLite: unchanged, the claim already runs under ``BEGIN IMMEDIATE``.
    """
    if dialect_name == "postgresql":
        return statement.with_for_update(skip_locked=True, of=list(of) or None)
    return statement


# ---------------------------------------------------------------------------
# Keyring
# ---------------------------------------------------------------------------


def _keyring_beside(database: str | None, *, new_database: bool) -> Keyring:
    """
    Load ``<db>.keys``, or create it (mode 0600) for a new database; a throwaway keyring without a file.

    Raises:
        KeyringError: The database holds a shop but its keyring file is missing.
    """
    if database is None:
        return Keyring.generate()
    path = Path(f"{database}.keys")
    if not new_database:  # another process may be creating this shop right now: give it a moment
        for _ in range(20):
            if path.exists():
                break
            time.sleep(0.05)
    if path.exists():
        return _load_keyring(path)
    if not new_database:
        raise KeyringError(
            f"the shop at {database} has no keyring file {path.name} beside it: restore it from "
            "your backup, or pass Shop.open(..., keyring=...) / set ESHOP_KEYRING; "
            "a new keyring could not read the personal data already stored"
        )
    keyring = Keyring.generate()
    try:
        keyring.save(path)
    except KeyringError:
        if path.exists():  # another process created it first
            return _load_keyring(path)
        raise
    log.info("created keyring %s for %s", path, database)
    return keyring


def _load_keyring(path: Path) -> Keyring:
    for _ in range(20):
        try:
            return Keyring.load(path)
        except KeyringError:  # possibly still being written by another process
            time.sleep(0.05)
    return Keyring.load(path)


# ---------------------------------------------------------------------------
# Backend
# ---------------------------------------------------------------------------


@attrs.frozen
class _ChildStatements:
    table: Table
    delete: Delete
    insert: Insert
    select: Select[Any]


@attrs.frozen
class _RepositoryStatements:
    insert: Insert
    update: Update
    load: Select[Any]
    existing: Select[Any]
    children: tuple[_ChildStatements, ...]


def _repository_statements(mapping: AggregateMapping[Any], dialect_name: str) -> _RepositoryStatements:
    table = mapping.table
    insert = table.insert()
    update = table.update().where(
        table.c.id == bindparam("pk_id"), table.c.version == bindparam("pk_expected_version")
    )
    children = tuple(
        _ChildStatements(
            table=child.table,
            delete=child.table.delete().where(child.table.c[child.parent_column] == bindparam("pk_parent")),
            insert=child.table.insert(),
            select=select(child.table)
            .where(child.table.c[child.parent_column].in_(bindparam("pk_parents", expanding=True)))
            .order_by(child.table.c[child.parent_column], child.table.c[child.position_column]),
        )
        for child in mapping.children
    )
    return _RepositoryStatements(
        insert=insert,
        update=update,
        load=select(table).where(table.c.id == bindparam("pk_id")),
        existing=select(table.c.id).where(table.c.id.in_(bindparam("pk_ids", expanding=True))),
        children=children,
    )


class SqlBackend:
    """
    The opened SQL backend.

    Args:
        engine: The engine to run on.
        options: What :meth:`Shop.open <eshop_core.Shop.open>` passed.
        owns_engine: Whether eshop created the engine (and disposes of it on :meth:`close`).

    Raises:
        StorageError: The database cannot be opened or its schema is unusable.
        SchemaVersionError: The schema is not at this code's revision and cannot be brought there.
    """

    name = "sql"

    def __init__(self, engine: Engine, options: BackendOptions, *, owns_engine: bool) -> None:
        self.options = options
        self.dialect_name = engine.dialect.name
        self._owned_engine = engine if owns_engine else None
        if self.dialect_name not in SUPPORTED_DIALECTS:
            raise StorageError(
                f"the sql backend does not support {self.dialect_name!r} databases yet "
                f"(supported: {', '.join(SUPPORTED_DIALECTS)})"
            )
        if options.schema is not None and self.dialect_name == "sqlite":
            raise InvalidInputError("schema", "SQLite databases have no schemas; leave schema unset")
        if options.keyring is None and self.dialect_name != "sqlite":
            # Checked before anything is read or written: without the keyring, personal
            # data written now could never be read back by another process.
            raise KeyringError(
                f"a {self.dialect_name} shop needs a keyring for its personal data: pass "
                "Shop.open(..., keyring=Keyring.load(path)) or set ESHOP_KEYRING to a keyring file "
                "(create one once with Keyring.generate().save(path) and keep it with your secrets)"
            )
        self.schema = options.schema
        self.engine = _configure(engine, owned=owns_engine)
        if options.schema is not None:
            self.engine = self.engine.execution_options(schema_translate_map={None: options.schema})
        self.lock: threading.Lock | None = threading.Lock() if self.dialect_name == "sqlite" else None
        from eshop_adapters.storage.migrate import ensure_schema, schema_is_empty

        path = sqlite_database_path(engine.url) if self.dialect_name == "sqlite" else None
        # Only a new database gets a new keyring file: one whose keyring went missing must not.
        new = options.keyring is None and (path is None or schema_is_empty(self.engine))
        ensure_schema(self.engine, migrate=options.migrate, schema=options.schema)
        self.keyring = options.keyring or _keyring_beside(path, new_database=new)
        self._statements: dict[type[Any], _RepositoryStatements] = {}
        self._bulk_inserts: dict[str, BulkInsert] = {}
        self._prepared: dict[int, tuple[Executable, PreparedStatement]] = {}
        self._closed = False
        log.debug("opened %s database %s", self.dialect_name, engine.url.render_as_string(hide_password=True))

    def repository_statements(self, mapping: AggregateMapping[Any]) -> _RepositoryStatements:
        """Return the prepared statements of ``mapping`` (built once per backend)."""
        statements = self._statements.get(mapping.aggregate_type)
        if statements is None:
            statements = _repository_statements(mapping, self.dialect_name)
            self._statements[mapping.aggregate_type] = statements
        return statements

    def describe(self) -> dict[str, str]:
        """
        Return what an operator wants to know about this storage (no secrets, no personal data).

        Keys: database (password hidden), dialect, schema, revision, keyring (active key and key count).
        """
        from eshop_adapters.storage.migrate import current_revisions

        revisions = current_revisions(self.engine, schema=self.schema)
        return {
            "database": self.engine.url.render_as_string(hide_password=True),
            "dialect": self.dialect_name,
            "schema": self.schema or "(default)",
            "revision": ", ".join(revisions) or "(none)",
            "keyring": f"active key {self.keyring.active_key_id}, {len(self.keyring.data_keys)} key(s)",
        }

    def prepared(self, statement: Executable) -> PreparedStatement:
        """Return ``statement`` compiled for the driver (once per backend and statement)."""
        found = self._prepared.get(id(statement))
        if found is None or found[0] is not statement:
            found = self._prepared[id(statement)] = (
                statement,
                PreparedStatement.compile(statement, self.engine),
            )
        return found[1]

    def bulk_insert(self, table: Table) -> BulkInsert:
        """Return the compiled bulk INSERT of ``table`` (built once per backend)."""
        bulk = self._bulk_inserts.get(table.name)
        if bulk is None:
            bulk = self._bulk_inserts[table.name] = BulkInsert.compile(table, self.engine)
        return bulk

    def unit_of_work(self, actor: Actor) -> SqlUnitOfWork:
        """Return a new unit of work acting as ``actor``."""
        if self._closed:
            raise StorageError("the sql backend is closed")
        return SqlUnitOfWork(
            self,
            actor=actor,
            clock=self.options.clock,
            ports=self.options.ports,
            subscribers=self.options.subscribers,
            index_key=self.keyring.index_key,
            backend_name=self.name,
        )

    def close(self) -> None:
        """Release the engine's connections (an integrator's engine is left to its owner). Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owned_engine is not None:
            self._owned_engine.dispose()

    def __repr__(self) -> str:
        where = f" schema={self.schema}" if self.schema is not None else ""
        return f"<SqlBackend {self.dialect_name}{where}>"


def open_backend(target: object, options: BackendOptions) -> SqlBackend:
    """
    Open the SQL backend on a URL (``sqlite:///shop.db``, ``postgresql://...``) or an SQLAlchemy ``Engine``.

    Raises:
        InvalidInputError: A malformed or unsupported URL.
        KeyringError: A PostgreSQL shop opened without a keyring.
        StorageError: The database cannot be opened.
        SchemaVersionError: The schema is not at this code's revision.
    """
    if isinstance(target, Engine):
        return SqlBackend(target, options, owns_engine=False)
    if not isinstance(target, str):
        raise InvalidInputError(
            "url_or_engine", f"expected a URL or an SQLAlchemy Engine, got {type(target).__name__}"
        )
    engine = _engine_from_url(target)
    try:
        return SqlBackend(engine, options, owns_engine=True)
    except BaseException:
        engine.dispose()
        raise


# ---------------------------------------------------------------------------
# Unit of work
# ---------------------------------------------------------------------------


@attrs.frozen
class BulkInsert:
    """
    A multi-row INSERT run straight through the driver's ``executemany``.

    The statement is compiled once per backend (schema translation applied);
    each row is turned into driver values by the columns' own bind processors,
    so what is stored is exactly what SQLAlchemy would store — without its
    per-row statement machinery, which dominates bulk writes.
    """

    sql: str
    names: tuple[str, ...]
    processors: tuple[Any, ...]
    positional: bool

    @classmethod
    def compile(cls, table: Table, engine: Engine) -> BulkInsert:
        """Compile ``table``'s INSERT of every column but an autoincrement key for ``engine``."""
        dialect = engine.dialect
        schema_map = engine.get_execution_options().get("schema_translate_map")
        keys = [c.key for c in table.columns if c is not table.autoincrement_column]
        translate: dict[str, Any] = (
            {"schema_translate_map": schema_map, "render_schema_translate": True} if schema_map else {}
        )
        compiled = table.insert().compile(dialect=dialect, column_keys=keys, **translate)
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if positional else tuple(keys)
        processors = tuple(table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
        return cls(compiled.string, names, processors, positional)

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Return the driver parameters of ``rows`` (missing keys are NULL)."""
        names = self.names
        converted = [(i, p) for i, p in enumerate(self.processors) if p is not None]
        out: list[Any] = []
        for row in rows:
            values = [row.get(name) for name in names]
            for i, process in converted:
                values[i] = process(values[i])
            out.append(tuple(values) if self.positional else dict(zip(names, values, strict=True)))
        return out

    def parameters_of_tuples(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[Any]:
        """
        Return the driver parameters of ``rows`` given as tuples of ``columns`` (others are NULL).

        Cheaper than :meth:`parameters` for hot paths that can build tuples directly.
        """
        position = {name: i for i, name in enumerate(columns)}
        picks = [position.get(name) for name in self.names]
        steps = [(i, p, process) for i, (p, process) in enumerate(zip(picks, self.processors, strict=True))]
        out: list[Any] = []
        for row in rows:
            values = [
                None if pick is None else (row[pick] if process is None else process(row[pick]))
                for _i, pick, process in steps
            ]
            out.append(tuple(values) if self.positional else dict(zip(self.names, values, strict=True)))
        return out


@attrs.frozen
class PreparedStatement:
    """
    A single-row statement compiled once per backend and run straight on the driver's cursor.

    For the hottest statements (a stock reservation and its ledger line):
    the SQL is compiled once (schema translation applied) and each call
    converts its values with the bound columns' own processors, skipping
    SQLAlchemy's per-call machinery. Only plain bound parameters are
    supported (no expanding ``IN`` lists).
    """

    sql: str
    names: tuple[str, ...]
    processors: tuple[Any, ...]
    positional: bool

    @classmethod
    def compile(cls, statement: Executable, engine: Engine) -> PreparedStatement:
        """Compile ``statement`` for ``engine``'s dialect."""
        dialect = engine.dialect
        schema_map = engine.get_execution_options().get("schema_translate_map")
        translate: dict[str, Any] = (
            {"schema_translate_map": schema_map, "render_schema_translate": True} if schema_map else {}
        )
        compiled = statement.compile(dialect=dialect, **translate)  # type: ignore[attr-defined]
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
        processors = tuple(
            compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
        )
        return cls(compiled.string, names, processors, positional)

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """Return the driver parameters of ``values`` (by bind name)."""
        converted = [
            values[name] if process is None else process(values[name])
            for name, process in zip(self.names, self.processors, strict=True)
        ]
        return tuple(converted) if self.positional else dict(zip(self.names, converted, strict=True))


_ID_CHECK_CHUNK: Final = 500
"""Ids per existence check before a batched insert (keeps bound parameters well under driver limits)."""


@attrs.define
class _PendingInserts:
    statements: _RepositoryStatements
    ids: set[uuid.UUID] = attrs.field(factory=set)
    rows: list[dict[str, Any]] = attrs.field(factory=list)
    children: dict[str, list[dict[str, Any]]] = attrs.field(factory=dict)


class SqlUnitOfWork(BaseUnitOfWork):
    """
    One connection and one transaction of a :class:`SqlBackend`.

    Named ports receive it and run their statements through :meth:`execute`
    (and :meth:`rows`, :meth:`first`, :meth:`scalar`), which translate
    database errors into :class:`~eshop_core.errors.StorageError`
    (:class:`~eshop_core.errors.DuplicateKeyError` for a unique key clash).
    New aggregates are queued and written in batches (:meth:`flush`) before the
    next statement runs, so every read of the unit of work sees them.
    """

    def __init__(self, backend: SqlBackend, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.backend = backend
        self.keyring = backend.keyring
        self.dialect_name = backend.dialect_name
        self._connection: Connection | None = None
        self._pending: dict[type[Any], _PendingInserts] = {}
        self._failed: BaseException | None = None

    # -- primitives ---------------------------------------------------------------

    def _begin(self) -> None:
        lock = self.backend.lock
        if lock is not None and not lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            raise StorageError(
                "the database is busy: another unit of work in this process held it for "
                f"{BUSY_TIMEOUT_SECONDS:.0f} s "
                "(is a unit of work opened inside another one in the same thread?)"
            )
        try:
            connection = self.backend.engine.connect()
            try:
                connection.begin()
            except BaseException:
                release_connection(connection)
                raise
        except SQLAlchemyError as exc:
            if lock is not None:
                lock.release()
            raise storage_error(exc, "starting a unit of work") from exc
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        self._connection = connection

    def _commit(self) -> None:
        self._ready()  # refuses when an earlier statement failed; writes queued inserts
        try:
            self.connection.commit()
        except SQLAlchemyError as exc:
            raise storage_error(exc, "committing") from exc
        self._release()

    def _rollback(self) -> None:
        self._pending = {}
        connection = self._connection
        if connection is None:
            return
        try:
            connection.rollback()
        except SQLAlchemyError:
            log.warning("rollback failed; the connection is discarded", exc_info=True)
            connection.invalidate()
        finally:
            self._release()

    def _release(self) -> None:
        connection, self._connection = self._connection, None
        try:
            if connection is not None:
                release_connection(connection)
        except SQLAlchemyError:  # pragma: no cover - closing never fails in practice
            log.warning("closing a connection failed", exc_info=True)
        finally:
            if self.backend.lock is not None:
                self.backend.lock.release()

    def _make_repository(self, aggregate_type: type[A]) -> SqlRepository[A]:
        mapping = mapping_for(aggregate_type)
        return SqlRepository(self, aggregate_type, mapping, self.backend.repository_statements(mapping))

    # -- for repositories and ports -------------------------------------------------

    @property
    def connection(self) -> Connection:
        """The unit of work's connection (inside its transaction)."""
        if self._connection is None:
            raise StorageError("the unit of work has no open transaction")
        return self._connection

    def _fail(self, error: EshopError) -> EshopError:
        """Remember that a statement failed (the transaction may hold part of it); return ``error``."""
        if self._failed is None:
            self._failed = error
        return error

    def _ready(self) -> Connection:
        if self._failed is not None:
            raise StorageError(
                "an earlier statement of this unit of work failed; roll it back and start a new one"
            ) from self._failed
        if self._pending:
            self.flush()
        return self.connection

    def queue_insert(
        self,
        statements: _RepositoryStatements,
        key: type[Any],
        row: dict[str, Any],
        children: Mapping[str, list[dict[str, Any]]],
    ) -> bool:
        """
        Queue a new aggregate's rows; they are written in one batch before the next statement or commit.

        Returns:
            ``False`` when an aggregate with the same id is queued already.
        """
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _PendingInserts(statements)
        if row["id"] in pending.ids:
            return False
        pending.ids.add(row["id"])
        pending.rows.append(row)
        for name, rows in children.items():
            pending.children.setdefault(name, []).extend(rows)
        return True

    def flush(self) -> None:
        """
        Write queued inserts: one existence check and one multi-row insert per table.

        Raises:
            ConcurrencyError: One of the new aggregates' ids exists already; nothing of the batch is written.
            DuplicateKeyError: A row breaks a unique index (another unit of work inserted the same
                key meanwhile); the unit of work must be rolled back.
        """
        if self._failed is not None:
            raise StorageError(
                "an earlier statement of this unit of work failed; roll it back and start a new one"
            ) from self._failed
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        connection = self.connection
        try:
            for key, batch in pending.items():
                ids = list(batch.ids)
                for start in range(0, len(ids), _ID_CHECK_CHUNK):
                    clash = connection.execute(
                        batch.statements.existing, {"pk_ids": ids[start : start + _ID_CHECK_CHUNK]}
                    ).first()
                    if clash is not None:
                        raise ConcurrencyError(getattr(key, "__name__", str(key)), clash[0], 0)
                self._insert_rows(connection, batch.statements.insert.table, batch.rows)
            for batch in pending.values():
                for child in batch.statements.children:
                    rows = batch.children.get(child.table.name)
                    if rows:
                        self._insert_rows(connection, child.table, rows)
        except EshopError as exc:  # an id clash, or a value a column type refused
            self._fail(exc)
            raise
        except SQLAlchemyError as exc:
            raise self._fail(storage_error(exc, "writing new aggregates")) from exc

    def _insert_rows(self, connection: Connection, table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        bulk = self.backend.bulk_insert(table)
        connection.exec_driver_sql(bulk.sql, bulk.parameters(rows))

    def insert_tuples(self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` (tuples of ``columns``) into ``table`` in one driver ``executemany``."""
        if not rows:
            return
        connection = self._ready()
        bulk = self.backend.bulk_insert(table)
        try:
            connection.exec_driver_sql(bulk.sql, bulk.parameters_of_tuples(columns, rows))
        except SQLAlchemyError as exc:
            raise self._fail(storage_error(exc, "a bulk insert")) from exc

    def insert_many(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` into ``table`` in one driver ``executemany`` (see :class:`BulkInsert`)."""
        if not rows:
            return
        connection = self._ready()
        try:
            self._insert_rows(connection, table, rows)
        except SQLAlchemyError as exc:
            raise self._fail(storage_error(exc, "a bulk insert")) from exc

    def execute(self, statement: Executable, parameters: Params = None) -> AnyResult:
        """Execute ``statement`` (``parameters``: one mapping, or a list for executemany)."""
        connection = self._ready()
        try:
            return connection.execute(statement, parameters)
        except SQLAlchemyError as exc:
            raise self._fail(storage_error(exc, "a database statement")) from exc

    def rows(self, statement: Executable, parameters: Params = None) -> Sequence[AnyRow]:
        """Execute a query and return all its rows."""
        connection = self._ready()
        try:
            return connection.execute(statement, parameters).all()
        except SQLAlchemyError as exc:
            raise self._fail(storage_error(exc, "a database query")) from exc

    def first(self, statement: Executable, parameters: Params = None) -> AnyRow | None:
        """Execute a query and return its first row or ``None``."""
        connection = self._ready()
        try:
            return connection.execute(statement, parameters).first()
        except SQLAlchemyError as exc:
            raise self._fail(storage_error(exc, "a database query")) from exc

    def driver_first(self, statement: Executable, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """
        Run a single-row statement on the driver's cursor and return its first row as a tuple.

        The fast path for hot statements (see :class:`PreparedStatement`); the
        values are converted as SQLAlchemy would, and errors are translated and
        poison the unit of work like every other statement's.
        """
        connection = self._ready()
        prepared = self.backend.prepared(statement)
        parameters = prepared.parameters(values)
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(prepared.sql, parameters)
            row = cursor.fetchone()
        except Exception as exc:  # the driver's own error classes differ per driver
            raise self._fail(storage_error(exc, "a database statement")) from exc
        finally:
            cursor.close()
        return None if row is None else tuple(row)

    def scalar(self, statement: Executable, parameters: Params = None) -> Any:
        """Execute a query and return the first column of its first row (``None`` when empty)."""
        connection = self._ready()
        try:
            return connection.execute(statement, parameters).scalar()
        except SQLAlchemyError as exc:
            raise self._fail(storage_error(exc, "a database query")) from exc


# ---------------------------------------------------------------------------
# Repository
# ---------------------------------------------------------------------------


class SqlRepository(BaseRepository[A]):
    """
    The generic repository of the SQL backend; the aggregate's mapping says where it lives.

    Args:
        uow: The unit of work.
        aggregate_type: The aggregate class.
        mapping: Its mapping.
        statements: Its prepared statements.
    """

    _uow: SqlUnitOfWork

    def __init__(
        self,
        uow: SqlUnitOfWork,
        aggregate_type: type[A],
        mapping: AggregateMapping[A],
        statements: _RepositoryStatements,
    ) -> None:
        super().__init__(uow, aggregate_type)
        self._mapping = mapping
        self._statements = statements

    def _insert(self, aggregate: A) -> None:
        row = self._mapping.to_row(aggregate, keyring=self._uow.keyring)
        children = (
            self._mapping.to_child_rows(aggregate, keyring=self._uow.keyring)
            if self._statements.children
            else {}
        )
        if not self._uow.queue_insert(self._statements, self.aggregate_type, row, children):
            raise ConcurrencyError(self._mapping.name, aggregate.id, 0)

    def _update(self, aggregate: A, expected_version: int) -> bool:
        row = self._mapping.to_row(aggregate, keyring=self._uow.keyring)
        del row["id"]
        row["pk_id"] = aggregate.id
        row["pk_expected_version"] = expected_version
        if self._uow.execute(self._statements.update, row).rowcount != 1:
            return False
        self._write_children(aggregate, replace=True)
        return True

    def _write_children(self, aggregate: A, *, replace: bool) -> None:
        if not self._statements.children:
            return
        rows = self._mapping.to_child_rows(aggregate, keyring=self._uow.keyring)
        for child in self._statements.children:
            if replace:
                self._uow.execute(child.delete, {"pk_parent": aggregate.id})
            child_rows = rows.get(child.table.name, [])
            if child_rows:
                self._uow.execute(child.insert, child_rows)

    def _children(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, list[Mapping[Any, Any]]]]:
        out: dict[uuid.UUID, dict[str, list[Mapping[Any, Any]]]] = {
            i: {c.table.name: [] for c in self._statements.children} for i in ids
        }
        if not self._statements.children or not ids:
            return out
        for spec, child in zip(self._mapping.children, self._statements.children, strict=True):
            for row in self._uow.rows(child.select, {"pk_parents": list(ids)}):
                values = row._mapping
                out[values[spec.parent_column]][child.table.name].append(values)
        return out

    def _build(self, row: AnyRow, children: Rows) -> A:
        return self._mapping.from_row(row._mapping, children, keyring=self._uow.keyring)

    def _load(self, aggregate_id: uuid.UUID) -> A | None:
        row = self._uow.first(self._statements.load, {"pk_id": aggregate_id})
        if row is None:
            return None
        return self._build(row, self._children([aggregate_id])[aggregate_id])

    def _query(
        self, filters: Mapping[str, object], blind: Mapping[str, str], limit: int, after: uuid.UUID | None
    ) -> list[A]:
        mapping = self._mapping
        table = mapping.table
        statement = select(table)
        for name, value in filters.items():
            statement = statement.where(mapping.filter_column(name) == mapping.filter_value(name, value))
        for name, index in blind.items():
            statement = statement.where(mapping.blind_column(name) == index)
        if after is not None:
            statement = statement.where(table.c.id > after)
        rows = self._uow.rows(statement.order_by(table.c.id).limit(limit))
        children = self._children([row._mapping["id"] for row in rows])
        return [self._build(row, children[row._mapping["id"]]) for row in rows]
