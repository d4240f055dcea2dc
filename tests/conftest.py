"""Fixtures shared by the test packages: the PostgreSQL run (see ``tests/postgres.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres import PostgresRun, Shops, shops_of


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "multiprocess: starts child processes (and may SIGKILL them); each has a timeout"
    )


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresRun]:
    """This run's PostgreSQL schema, migrated; without a server: skip (fail with ESHOP_REQUIRE_POSTGRES)."""
    run = PostgresRun.start()
    try:
        yield run
    finally:
        run.finish()


@pytest.fixture
def pg_shops(postgres: PostgresRun) -> Iterator[Shops]:
    """Open shops in the run's schema, emptied first; they are closed after the test."""
    with shops_of(postgres) as shops:
        yield shops
