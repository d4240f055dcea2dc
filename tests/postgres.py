"""
PostgreSQL test helpers, and the child-process helper the multi-process tests share.

The server is named by ``ESHOP_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). A test run works in ONE
schema of its own, ``eshop_test_<host>_<pid>_<epoch>_<random>``, migrated once
and emptied (``TRUNCATE``) before each test that opens a shop in it; tests of
migrations get further empty schemas named after it (``<run schema>_x<n>``).
All of them are dropped when the run ends. Schemas of earlier runs that were
left behind (a killed run) are dropped at start: those older than
:data:`STALE_AFTER`, and those whose creating process on this host is gone.

Without a reachable server the PostgreSQL tests are skipped, unless
``ESHOP_REQUIRE_POSTGRES`` is set (CI sets it): then they fail, saying why.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import psycopg
import pytest
from psycopg import sql

from eshop_core import Shop
from eshop_core.keyring import KEYRING_ENV, Keyring

__all__ = [
    "APPEND_ONLY_TABLES",
    "DEFAULT_URL",
    "REQUIRE_ENV",
    "SCHEMA_PREFIX",
    "URL_ENV",
    "Child",
    "PostgresRun",
    "Shops",
    "children",
    "connect",
    "drop_stale_schemas",
    "postgres_required",
    "postgres_url",
    "run_schema_name",
    "shops_of",
    "stale_schemas",
    "unreachable_reason",
]

URL_ENV: Final = "ESHOP_TEST_POSTGRES_URL"
REQUIRE_ENV: Final = "ESHOP_REQUIRE_POSTGRES"
DEFAULT_URL: Final = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA_PREFIX: Final = "eshop_test_"
STALE_AFTER: Final = timedelta(hours=1)
CONNECT_TIMEOUT: Final = 3
APPEND_ONLY_TABLES: Final = ("audit_log", "stock_movements")
"""Tables whose triggers refuse ``TRUNCATE``: paused while a test's schema is emptied."""

_HOST: Final = hashlib.blake2b(socket.gethostname().encode(), digest_size=3).hexdigest()
_NAME: Final = re.compile(rf"^{SCHEMA_PREFIX}(?P<host>[0-9a-f]{{6}})_(?P<pid>\d+)_(?P<epoch>\d+)_[0-9a-f]+")


def postgres_url() -> str:
    """The server the tests use (``ESHOP_TEST_POSTGRES_URL`` or the default)."""
    return os.environ.get(URL_ENV, "").strip() or DEFAULT_URL


def postgres_required() -> bool:
    """Whether ``ESHOP_REQUIRE_POSTGRES`` asks for failure instead of skipping."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _libpq(url: str) -> str:
    """The URL as libpq (psycopg) takes it: without SQLAlchemy's ``+driver`` suffix."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


def connect(url: str) -> psycopg.Connection[Any]:
    """An autocommit admin connection to ``url``."""
    return psycopg.connect(_libpq(url), autocommit=True, connect_timeout=CONNECT_TIMEOUT)


def unreachable_reason(url: str) -> str | None:
    """``None`` when the server at ``url`` answers, otherwise why not."""
    try:
        with connect(url) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def run_schema_name(*, pid: int | None = None, epoch: float | None = None, host: str = _HOST) -> str:
    """The schema name of a run: ``eshop_test_<host>_<pid>_<epoch>_<random>`` (this process, now)."""
    pid = os.getpid() if pid is None else pid
    epoch = time.time() if epoch is None else epoch
    return f"{SCHEMA_PREFIX}{host}_{pid}_{int(epoch)}_{secrets.token_hex(2)}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_schemas(names: Sequence[str], *, now: float, keep: str = "") -> list[str]:
    """
    Return the test schemas among ``names`` that earlier runs left behind.

    Stale: older than :data:`STALE_AFTER`, or created on this host by a process
    that no longer exists. ``keep`` (the current run's schema prefix) never is.
    """
    stale = []
    for name in names:
        match = _NAME.match(name)
        if match is None or (keep and name.startswith(keep)):
            continue
        too_old = now - int(match["epoch"]) > STALE_AFTER.total_seconds()
        pid = int(match["pid"])
        orphan = match["host"] == _HOST and pid != os.getpid() and not _pid_alive(pid)
        if too_old or orphan:
            stale.append(name)
    return stale


def _drop(conn: psycopg.Connection[Any], name: str) -> None:
    try:
        conn.execute("SET lock_timeout = '5s'")
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
    except psycopg.Error as exc:  # another run dropping it too, or still using it: leave it
        sys.stderr.write(f"could not drop test schema {name}: {exc}\n")


def drop_stale_schemas(url: str, *, keep: str = "") -> list[str]:
    """Drop the test schemas earlier runs left behind (see :func:`stale_schemas`); return their names."""
    with connect(url) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname LIKE %s",
                (SCHEMA_PREFIX.replace("_", r"\_") + "%",),
            )
        ]
        stale = stale_schemas(names, now=time.time(), keep=keep)
        for name in stale:
            _drop(conn, name)
    return stale


class PostgresRun:
    """
    The PostgreSQL server and schema of one test run.

    Attributes:
        url: The server's URL.
        schema: This run's schema (migrated).
        keyring: The keyring every shop of the run is opened with.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.schema = run_schema_name()
        self.keyring = Keyring.generate()
        self._extra = 0

    @classmethod
    def start(cls) -> PostgresRun:
        """Check the server (skip or fail), drop stale schemas, create and migrate this run's schema."""
        url = postgres_url()
        reason = unreachable_reason(url)
        if reason is not None:
            message = f"no PostgreSQL server at {url} ({reason}); set {URL_ENV} to point at one"
            if postgres_required():
                pytest.fail(f"{REQUIRE_ENV} is set but {message}", pytrace=False)
            pytest.skip(f"{message}, or set {REQUIRE_ENV} to make this a failure")
        drop_stale_schemas(url)
        run = cls(url)
        run.open_shop().close()  # creates and migrates the schema
        return run

    def finish(self) -> None:
        """Drop this run's schemas."""
        with connect(self.url) as conn:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = %s OR nspname LIKE %s",
                    (self.schema, self.schema.replace("_", r"\_") + r"\_x%"),
                )
            ]
            for name in names:
                _drop(conn, name)

    def new_schema_name(self) -> str:
        """A fresh schema name of this run (not created: opening a shop in it migrates it)."""
        self._extra += 1
        return f"{self.schema}_x{self._extra}"

    def open_shop(self, schema: str | None = None, **kwargs: Any) -> Shop:
        """Open a shop in this run's schema (or ``schema``) with the run's keyring."""
        kwargs.setdefault("keyring", self.keyring)
        return Shop.open(self.url, schema=schema or self.schema, **kwargs)

    def reset(self) -> None:
        """Empty every table of this run's schema but alembic's (the append-only tables' triggers paused)."""
        with connect(self.url) as conn, conn.transaction():
            conn.execute("SET LOCAL lock_timeout = '10s'")
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = %s "
                    "AND tablename <> 'alembic_version'",
                    (self.schema,),
                )
            ]
            if not tables:
                return
            append_only = [sql.Identifier(self.schema, t) for t in APPEND_ONLY_TABLES if t in tables]
            for table in append_only:
                conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(table))
            conn.execute(
                sql.SQL("TRUNCATE {} CASCADE").format(
                    sql.SQL(", ").join(sql.Identifier(self.schema, t) for t in tables)
                )
            )
            for table in append_only:
                conn.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(table))

    def child_env(self) -> dict[str, str]:
        """The environment of a child process opening shops of this run (keyring in ``ESHOP_KEYRING``)."""
        return {**os.environ, KEYRING_ENV: self.keyring.to_json()}


class Shops:
    """Opens shops in a run's schema and closes them at the end of the test."""

    def __init__(self, run: PostgresRun) -> None:
        self.run = run
        self.opened: list[Shop] = []

    def open(self, **kwargs: Any) -> Shop:
        """Open a shop in the run's schema; ``kwargs`` go to :meth:`Shop.open`."""
        shop = self.run.open_shop(**kwargs)
        self.opened.append(shop)
        return shop

    def close(self) -> None:
        """Close every shop opened."""
        for shop in self.opened:
            shop.close()


@contextmanager
def shops_of(run: PostgresRun) -> Iterator[Shops]:
    """Empty the run's schema, then hand out shops in it, closed afterwards."""
    run.reset()
    shops = Shops(run)
    try:
        yield shops
    finally:
        shops.close()


# -- child processes --------------------------------------------------------------------


class Child:
    """
    A Python child process running ``script`` with one JSON argument.

    It reports readiness or anything else by creating files (see :meth:`wait_for`);
    it is always reaped, and its pipes closed, by :meth:`finish` or :meth:`kill`.
    """

    def __init__(self, script: str, args: dict[str, Any], *, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, json.dumps(args)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout = ""
        self.stderr = ""

    def wait_for(self, path: Path, *, timeout: float = 60) -> None:
        """Wait until ``path`` exists; fail with the child's output if it exits or takes too long."""
        deadline = time.monotonic() + timeout
        while not path.exists():
            if self.proc.poll() is not None:
                self.finish()
                pytest.fail(f"child exited ({self.proc.returncode}) before {path.name}:\n{self.stderr}")
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"child did not reach {path.name} within {timeout} s:\n{self.stderr}")
            time.sleep(0.02)

    def finish(self, *, timeout: float = 60) -> dict[str, Any]:
        """Wait for the child to exit successfully and return the JSON it printed last."""
        try:
            self.stdout, self.stderr = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"child did not finish within {timeout} s:\n{self.stderr}")
        if self.proc.returncode != 0:
            pytest.fail(f"child failed ({self.proc.returncode}):\n{self.stderr}")
        lines = self.stdout.strip().splitlines()
        result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
        return result

    def kill(self) -> int:
        """SIGKILL the child (if still running), reap it and return its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.stdout, self.stderr = self.proc.communicate(timeout=30)
        return self.proc.returncode


@contextmanager
def children(
    script: str, args: Sequence[dict[str, Any]], *, env: dict[str, str] | None = None
) -> Iterator[list[Child]]:
    """Start one child per ``args``; any still running at the end is killed and reaped."""
    started: list[Child] = []
    try:
        for one in args:
            started.append(Child(script, one, env=env))
        yield started
    finally:
        for child in started:
            if child.proc.returncode is None:
                child.kill()
