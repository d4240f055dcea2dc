"""
Time-driven work: timer handlers and what they receive.

The unit of work that starts a deadline writes a timer through the
:class:`~eshop_core.storage.ports.TimerStore` port; ``shop.run_due(now)``
claims due timers and runs each kind's handler, registered through the
``eshop_register_timer_handlers`` hook, inside a unit of work in which the timer
is marked fired — so the handler's changes and the firing commit together.

Example:
    >>> from eshop_core import hookimpl
    >>> class Reminders:
    ...     @hookimpl
    ...     def eshop_register_timer_handlers(self, register):
    ...         register("demo.remind", lambda ctx: None)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from eshop_core.storage.ports import Timer, UnitOfWork

if TYPE_CHECKING:
    from eshop_core.shop import Shop

__all__ = ["TimerContext", "TimerHandler", "TimerRunReport"]


@attrs.frozen(kw_only=True)
class TimerContext:
    """
    What a timer handler gets.

    Attributes:
        shop: The shop running the timer.
        uow: The open unit of work (acting as the ``scheduler`` system actor);
            the handler must not commit it.
        timer: The due timer.
        now: The instant ``run_due`` was called for.
    """

    shop: Shop
    uow: UnitOfWork
    timer: Timer
    now: datetime


TimerHandler = Callable[[TimerContext], None]
"""Signature of a timer handler; it changes what the timer is due for, inside ``context.uow``."""


@attrs.frozen(kw_only=True)
class TimerRunReport:
    """
    What one ``run_due`` call did.

    Attributes:
        fired: Ids of timers whose handler succeeded.
        failed: Ids of timers whose handler raised (retried later).
    """

    fired: tuple[object, ...] = ()
    failed: tuple[object, ...] = ()
