"""
Runs due timers: the engine behind ``shop.run_due(now)``.

Each due timer runs in its own unit of work, acting as the ``scheduler``
system actor: the handler's changes and the timer's firing commit together.
A handler that raises is rolled back and the timer is retried later with
backoff; a timer of an unknown kind waits, logged, until a plug-in handles it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from eshop_core.access import Actor
from eshop_core.clock import ensure_aware
from eshop_core.storage.ports import TimerStore
from eshop_core.timers import TimerContext, TimerHandler, TimerRunReport

if TYPE_CHECKING:
    from eshop_core.shop import Shop

__all__ = ["Scheduler"]

log = logging.getLogger("eshop.timers")

SCHEDULER_ACTOR: Final = Actor.system("scheduler")
TIMER_LEASE: Final = timedelta(minutes=5)
FIRST_RETRY: Final = timedelta(minutes=1)
MAX_RETRY: Final = timedelta(hours=1)


class Scheduler:
    """
    Claims due timers and runs their handlers.

    Args:
        shop: The shop.
        handlers: Handlers by timer kind.
    """

    def __init__(self, shop: Shop, handlers: Mapping[str, TimerHandler]) -> None:
        self._shop = shop
        self.handlers = dict(handlers)

    def run_due(self, now: datetime | None = None, *, limit: int = 1000) -> TimerRunReport:
        """Run the handlers of timers due at ``now`` (default: the shop's clock)."""
        at = ensure_aware(now, field="now") if now is not None else self._shop.clock.now()
        with self._shop.unit_of_work(SCHEDULER_ACTOR) as uow:
            due = uow.port(TimerStore).claim_due(now=at, limit=limit, lease=TIMER_LEASE)
            uow.commit()
        fired: list[object] = []
        failed: list[object] = []
        for timer in due:
            handler = self.handlers.get(timer.kind)
            error: str | None
            if handler is None:
                error = f"no handler registered for timer kind {timer.kind!r}"
                log.error("timer %s: %s", timer.id, error)
            else:
                try:
                    with self._shop.unit_of_work(SCHEDULER_ACTOR) as uow:
                        handler(TimerContext(shop=self._shop, uow=uow, timer=timer, now=at))
                        uow.port(TimerStore).mark_fired(timer.id, now=at)
                        uow.commit()
                    fired.append(timer.id)
                    continue
                except Exception as exc:
                    log.warning("timer %s (%s) failed", timer.id, timer.kind, exc_info=True)
                    error = f"{type(exc).__name__}: {exc}"
            delay = min(FIRST_RETRY * (2**timer.attempts), MAX_RETRY)
            with self._shop.unit_of_work(SCHEDULER_ACTOR) as uow:
                uow.port(TimerStore).retry_later(timer.id, retry_at=at + delay, error=error)
                uow.commit()
            failed.append(timer.id)
        return TimerRunReport(fired=tuple(fired), failed=tuple(failed))
