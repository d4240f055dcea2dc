"""
The public test kit.

* :mod:`eshop_core.testing.example` — the small ``Widget`` aggregate, its
  atomic ``WidgetStock`` named port and a timer, used by the conformance suite
  and by plug-in authors' tests;
* :mod:`eshop_core.testing.contract` — the storage conformance suite (pytest),
  which every backend, built-in or third-party, runs;
* :class:`~eshop_core.clock.FixedClock` is re-exported for convenience.
"""

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
