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
from eshop_core.errors import StorageError
from eshop_core.services.failure_text import describe_failure
from eshop_core.storage.ports import Timer, TimerStore
from eshop_core.storage.unit_of_work import check_limit
from eshop_core.timers import TimerContext, TimerHandler, TimerRunReport

if TYPE_CHECKING:
    from eshop_core.shop import Shop

__all__ = ["Scheduler"]

log = logging.getLogger("eshop.timers")

SCHEDULER_ACTOR: Final = Actor.system("scheduler")
TIMER_LEASE: Final = timedelta(minutes=5)
CLAIM_BATCH: Final = 50
"""Timers claimed per short transaction."""
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
        """Run the handlers of up to ``limit`` timers due at ``now`` (default: the shop's clock)."""
        check_limit(limit)
        at = ensure_aware(now, field="now") if now is not None else self._shop.clock.now()
        fired: list[object] = []
        failed: list[object] = []
        while len(fired) + len(failed) < limit:
            # Small claims, each leased from the real clock: handlers may take a while.
            lease = TIMER_LEASE + max(self._shop.clock.now() - at, timedelta(0))
            with self._shop.unit_of_work(SCHEDULER_ACTOR) as uow:
                due = uow.port(TimerStore).claim_due(
                    now=at, limit=min(CLAIM_BATCH, limit - len(fired) - len(failed)), lease=lease
                )
                uow.commit()
            if not due:
                break
            for timer in due:
                outcome = self._run(timer, at)
                if outcome is True:
                    fired.append(timer.id)
                elif outcome is False:
                    failed.append(timer.id)
        return TimerRunReport(fired=tuple(fired), failed=tuple(failed))

    def _run(self, timer: Timer, at: datetime) -> bool | None:
        """Run one timer: ``True`` fired, ``False`` failed (retried later), ``None`` settled meanwhile."""
        handler = self.handlers.get(timer.kind)
        if handler is None:
            error = f"no handler registered for timer kind {timer.kind!r}"
            log.error("timer %s: %s", timer.id, error)
        else:
            try:
                with self._shop.unit_of_work(SCHEDULER_ACTOR) as uow:
                    handler(TimerContext(shop=self._shop, uow=uow, timer=timer, now=at))
                    try:
                        uow.port(TimerStore).mark_fired(timer.id, now=at)
                    except StorageError:
                        log.info("timer %s was cancelled or fired meanwhile; its run is discarded", timer.id)
                        return None  # leaving the block rolls the handler's changes back
                    uow.commit()
                return True
            except Exception as exc:
                error = describe_failure(exc)
                log.warning("timer %s (%s) failed: %s", timer.id, timer.kind, error)
                log.debug("timer %s traceback", timer.id, exc_info=True)
        delay = min(FIRST_RETRY * (2**timer.attempts), MAX_RETRY)
        with self._shop.unit_of_work(SCHEDULER_ACTOR) as uow:
            uow.port(TimerStore).retry_later(timer.id, retry_at=at + delay, error=error)
            uow.commit()
        return False
