"""
The public test kit.

* :mod:`eshop_core.testing.example` — the small ``Widget`` aggregate, its
  atomic ``WidgetStock`` named port and a timer, used by the conformance suite
  and by plug-in authors' tests;
* :class:`StorageContract` (from :mod:`eshop_core.testing.contract`, loaded on
  first use because it needs pytest) — the storage conformance suite, which
  every backend, built-in or third-party, runs;
* :class:`StockLedgerContract` (from :mod:`eshop_core.testing.stock_ledger_contract`,
  loaded on first use likewise) — the conformance suite of the ``StockLedger``
  port (INV-01, INV-07) for every backend that stores stock;
* :class:`~eshop_core.clock.FixedClock` is re-exported for convenience.
"""

from typing import Any

from eshop_core.clock import FixedClock
from eshop_core.testing.example import (
    WIDGET_REVIEW_TIMER,
    Widget,
    WidgetCreated,
    WidgetRenamed,
    WidgetRetired,
    WidgetReviewed,
    WidgetState,
    WidgetStock,
)

__all__ = [
    "WIDGET_REVIEW_TIMER",
    "FixedClock",
    "Widget",
    "WidgetCreated",
    "WidgetRenamed",
    "WidgetRetired",
    "WidgetReviewed",
    "WidgetState",
    "WidgetStock",
]


def __getattr__(name: str) -> Any:
    # The conformance suites import pytest; load them only when asked for (not in __all__ for that reason).
    if name == "StorageContract":
        from eshop_core.testing.contract import StorageContract

        return StorageContract
    if name == "StockLedgerContract":
        from eshop_core.testing.stock_ledger_contract import StockLedgerContract

        return StockLedgerContract
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
