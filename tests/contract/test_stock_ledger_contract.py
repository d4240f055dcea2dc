"""The StockLedger conformance suite (INV-01, INV-07) against every built-in backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.postgres import Shops

import eshop_core.testing
from eshop_core import Shop
from eshop_core.testing.stock_ledger_contract import StockLedgerContract


class TestMemoryStockLedger(StockLedgerContract):
    @pytest.fixture
    def open_shop(self) -> Iterator[Callable[..., Shop]]:
        shops: list[Shop] = []

        def _open(**kwargs: Any) -> Shop:
            shops.append(Shop.open("memory://", **kwargs))
            return shops[-1]

        yield _open
        for shop in shops:
            shop.close()


class TestSqliteStockLedger(StockLedgerContract):
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
class TestPostgresStockLedger(StockLedgerContract):
    """The suite on PostgreSQL: one schema per run, emptied before each test (see tests/postgres.py)."""

    @pytest.fixture
    def open_shop(self, pg_shops: Shops) -> Callable[..., Shop]:
        return pg_shops.open


def test_the_suite_is_exported_from_the_test_kit() -> None:
    assert eshop_core.testing.StockLedgerContract is StockLedgerContract
