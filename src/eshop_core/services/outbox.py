"""
The outbox relay: delivers committed events to every subscriber.

A subscriber is one ``eshop_event`` hook implementation (named after its
plug-in); notifiers and channel pushes join the same way. ``deliver()`` claims
due deliveries in a short transaction, calls each subscriber outside it, and
records the outcome in another, so delivery is at-least-once. Deliveries of
one aggregate's events to one subscriber keep their order; a failing one is
retried with exponential backoff and, after :attr:`RetryPolicy.max_attempts`,
dead-lettered, which holds back that aggregate's later events for that
subscriber only. ``requeue()`` puts a dead letter back once the cause is fixed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

import attrs

from eshop_core.access import Actor, Permission, authorize
from eshop_core.clock import ensure_aware
from eshop_core.errors import InvalidInputError
from eshop_core.events import EventEnvelope
from eshop_core.services.failure_text import describe_failure
from eshop_core.storage.ports import ClaimedDelivery, DeliveryStatus, OutboxStore
from eshop_core.storage.unit_of_work import check_limit

if TYPE_CHECKING:
    from eshop_core.shop import Shop

__all__ = ["DeliveryReport", "OutboxService", "RetryPolicy", "Subscriber"]

log = logging.getLogger("eshop.outbox")

Subscriber = Callable[[EventEnvelope], object]
RELAY_ACTOR: Final = Actor.system("outbox-relay")
CLAIM_BATCH: Final = 100
"""Deliveries claimed per short transaction."""


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """
    How failed deliveries are retried.

    Attributes:
        max_attempts: Attempts before a delivery is dead-lettered.
        first_delay: Delay after the first failure; doubles after each further one.
        max_delay: Upper bound of the delay.
        lease: How long a claimed delivery is reserved for its relay.
    """

    max_attempts: int = 5
    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)

    def delay(self, attempts: int) -> timedelta:
        """Return the delay after ``attempts`` failed attempts."""
        delay: timedelta = self.first_delay * (2 ** max(attempts - 1, 0))
        return min(delay, self.max_delay)


@attrs.frozen(kw_only=True)
class DeliveryReport:
    """
    What one ``deliver()`` call did.

    Attributes:
        delivered: Deliveries that succeeded.
        retried: Deliveries that failed and will be retried.
        dead_lettered: Deliveries that failed for the last time.
    """

    delivered: int = 0
    retried: int = 0
    dead_lettered: int = 0

    @property
    def attempted(self) -> int:
        """All deliveries attempted."""
        return self.delivered + self.retried + self.dead_lettered


class OutboxService:
    """
    ``shop.outbox``: deliver events, inspect and requeue dead letters.

    Args:
        shop: The shop.
        subscribers: Subscriber callables by name.
        retry: The retry policy.
    """

    def __init__(
        self, shop: Shop, subscribers: Mapping[str, Subscriber], retry: RetryPolicy | None = None
    ) -> None:
        self._shop = shop
        self._subscribers = dict(subscribers)
        self.retry = retry or RetryPolicy()

    @property
    def subscribers(self) -> tuple[str, ...]:
        """Names of the subscribers every event is delivered to."""
        return tuple(self._subscribers)

    def deliver(self, *, limit: int = 100, now: datetime | None = None) -> DeliveryReport:
        """
        Deliver up to ``limit`` due events to their subscribers and return what happened.

        Args:
            limit: Maximum deliveries attempted in this call.
            now: The instant to act at (default: the shop's clock).
        """
        check_limit(limit)
        at = ensure_aware(now, field="now") if now is not None else self._shop.clock.now()
        delivered = retried = dead = 0
        while delivered + retried + dead < limit:
            # Leases run from the real clock, so a long call cannot hand out leases already expired.
            lease = self.retry.lease + max(self._shop.clock.now() - at, timedelta(0))
            with self._shop.unit_of_work(RELAY_ACTOR) as uow:
                claimed = uow.port(OutboxStore).claim(
                    now=at,
                    limit=min(limit - (delivered + retried + dead), CLAIM_BATCH),
                    lease=lease,
                    subscribers=self.subscribers,
                )
                uow.commit()
            if not claimed:
                break
            outcomes = [(c, self._attempt(c)) for c in claimed]
            with self._shop.unit_of_work(RELAY_ACTOR) as uow:
                store = uow.port(OutboxStore)
                for delivery, error in outcomes:
                    if error is None:
                        if not store.complete(delivery.delivery_id, now=at):
                            log.debug(
                                "delivery %s was settled meanwhile by another relay", delivery.delivery_id
                            )
                        delivered += 1
                        continue
                    attempts = delivery.attempts + 1
                    if attempts >= self.retry.max_attempts:
                        store.fail(delivery.delivery_id, error=error, retry_at=None, now=at)
                        dead += 1
                        log.error(
                            "event %s dead-lettered for %s after %d attempts: %s",
                            delivery.envelope.id,
                            delivery.subscriber,
                            attempts,
                            error,
                        )
                    else:
                        store.fail(
                            delivery.delivery_id,
                            error=error,
                            retry_at=at + self.retry.delay(attempts),
                            now=at,
                        )
                        retried += 1
                uow.commit()
        return DeliveryReport(delivered=delivered, retried=retried, dead_lettered=dead)

    def _attempt(self, delivery: ClaimedDelivery) -> str | None:
        subscriber = self._subscribers.get(delivery.subscriber)
        if subscriber is None:
            return f"subscriber {delivery.subscriber!r} is not registered in this shop"
        try:
            subscriber(delivery.envelope)
        except Exception as exc:
            error = describe_failure(exc)
            log.warning(
                "subscriber %s failed on event %s (%s): %s",
                delivery.subscriber,
                delivery.envelope.id,
                delivery.envelope.type,
                error,
            )
            log.debug("subscriber %s traceback", delivery.subscriber, exc_info=True)
            return error
        return None

    def dead_letters(self, actor: Actor, *, limit: int = 100) -> list[ClaimedDelivery]:
        """Return dead-lettered deliveries, oldest first (needs ``outbox.manage``)."""
        authorize(actor, Permission.OUTBOX_MANAGE)
        check_limit(limit)
        with self._shop.unit_of_work(actor) as uow:
            return uow.port(OutboxStore).dead_letters(limit=limit)

    def requeue(self, actor: Actor, delivery_id: uuid.UUID) -> None:
        """Put a dead letter back in the queue with fresh attempts (needs ``outbox.manage``)."""
        authorize(actor, Permission.OUTBOX_MANAGE)
        if not isinstance(delivery_id, uuid.UUID):
            raise InvalidInputError("delivery_id", "expected the UUID of a dead letter")
        with self._shop.unit_of_work(actor) as uow:
            uow.port(OutboxStore).requeue(delivery_id, now=self._shop.clock.now())
            uow.commit()

    def stats(self) -> Mapping[DeliveryStatus, int]:
        """Count deliveries by status."""
        with self._shop.unit_of_work(RELAY_ACTOR) as uow:
            return dict(uow.port(OutboxStore).stats())
