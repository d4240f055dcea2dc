"""The storage conformance suite against every built-in backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.postgres import Shops

from eshop_core import Shop
from eshop_core.testing.contract import StorageContract


class TestMemoryBackend(StorageContract):
    @pytest.fixture
    def open_shop(self) -> Iterator[Callable[..., Shop]]:
        shops: list[Shop] = []

        def _open(**kwargs: Any) -> Shop:
            shops.append(Shop.open("memory://", **kwargs))
            return shops[-1]

        yield _open
        for shop in shops:
            shop.close()


class TestSqliteBackend(StorageContract):
    @pytest.fixture
    def open_shop(self, tmp_path: Path) -> Iterator[Callable[..., Shop]]:
        shops: list[Shop] = []

        def _open(**kwargs: Any) -> Shop:
            shops.append(Shop.open(f"sqlite:///{tmp_path}/shop{len(shops)}.db", **kwargs))
            return shops[-1]

        yield _open
        for shop in shops:
            shop.close()


@pytest.mark.postgres
class TestPostgresBackend(StorageContract):
    """The suite on PostgreSQL: one schema per run, emptied before each test (see tests/postgres.py)."""

    @pytest.fixture
    def open_shop(self, pg_shops: Shops) -> Callable[..., Shop]:
        return pg_shops.open
