"""
In-memory implementations of the built-in named ports: outbox, timers, audit log.

Every mutation goes through :class:`~eshop_core.storage.memory.MemoryUnitOfWork`
``put``/``delete`` so that a rollback undoes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from eshop_core.errors import NotFoundError, StorageError
from eshop_core.events import EventEnvelope
from eshop_core.ids import new_id
from eshop_core.storage.memory import MemoryUnitOfWork
from eshop_core.storage.ports import (
    AuditEntry,
    ClaimedDelivery,
    DeliveryStatus,
    Page,
    Timer,
    TimerStatus,
)
from eshop_core.storage.unit_of_work import check_limit, decode_seq_cursor, encode_seq_cursor

__all__ = ["MemoryAuditLog", "MemoryOutboxStore", "MemoryTimerStore"]


@attrs.frozen(kw_only=True)
class _Delivery:
    id: uuid.UUID
    event_id: uuid.UUID
    seq: int
    aggregate_id: uuid.UUID
    subscriber: str
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime
    lease_until: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


class MemoryOutboxStore:
    """Outbox and per-subscriber deliveries in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._events: dict[uuid.UUID, tuple[int, EventEnvelope]] = uow.table("outbox_events")
        self._deliveries: dict[uuid.UUID, _Delivery] = uow.table("outbox_deliveries")
        self._open: dict[uuid.UUID, None] = uow.table("outbox_open_deliveries")

    def append(self, envelopes: Sequence[EventEnvelope], subscribers: Sequence[str]) -> None:
        """Store events and one pending delivery per subscriber."""
        for envelope in envelopes:
            seq = self._uow.next_sequence("outbox_events")
            self._uow.put(self._events, envelope.id, (seq, envelope))
            for subscriber in subscribers:
                delivery = _Delivery(
                    id=new_id(),
                    event_id=envelope.id,
                    seq=seq,
                    aggregate_id=envelope.aggregate_id,
                    subscriber=subscriber,
                    next_attempt_at=envelope.occurred_at,
                )
                self._uow.put(self._deliveries, delivery.id, delivery)
                self._uow.put(self._open, delivery.id, None)

    def _claimed(self, d: _Delivery) -> ClaimedDelivery:
        return ClaimedDelivery(
            delivery_id=d.id,
            subscriber=d.subscriber,
            envelope=self._events[d.event_id][1],
            attempts=d.attempts,
            status=d.status,
            last_error=d.last_error,
        )

    def claim(
        self, *, now: datetime, limit: int, lease: timedelta, subscribers: Sequence[str] | None = None
    ) -> list[ClaimedDelivery]:
        """Claim due deliveries: at most one per (subscriber, aggregate), oldest event first."""
        wanted = None if subscribers is None else frozenset(subscribers)
        open_deliveries = sorted(
            (
                self._deliveries[i]
                for i in self._open
                if wanted is None or self._deliveries[i].subscriber in wanted
            ),
            key=lambda d: d.seq,
        )
        blocked: set[tuple[str, uuid.UUID]] = set()
        claimed: list[ClaimedDelivery] = []
        for d in open_deliveries:
            key = (d.subscriber, d.aggregate_id)
            if key in blocked:
                continue
            blocked.add(key)
            leased = d.lease_until is not None and d.lease_until > now
            if d.status is not DeliveryStatus.PENDING or leased or d.next_attempt_at > now:
                continue
            self._uow.put(self._deliveries, d.id, attrs.evolve(d, lease_until=now + lease))
            claimed.append(self._claimed(d))
            if len(claimed) >= limit:
                break
        return claimed

    def _get(self, delivery_id: uuid.UUID) -> _Delivery:
        try:
            return self._deliveries[delivery_id]
        except KeyError:
            raise NotFoundError("Delivery", delivery_id) from None

    def complete(self, delivery_id: uuid.UUID, *, now: datetime) -> bool:
        """Mark a pending delivery done; ``False`` when it was settled meanwhile."""
        d = self._get(delivery_id)
        if d.status is not DeliveryStatus.PENDING:
            return False
        done = attrs.evolve(
            d, status=DeliveryStatus.DELIVERED, attempts=d.attempts + 1, lease_until=None, delivered_at=now
        )
        self._uow.put(self._deliveries, d.id, done)
        self._uow.delete(self._open, d.id)
        return True

    def fail(self, delivery_id: uuid.UUID, *, error: str, retry_at: datetime | None, now: datetime) -> bool:
        """Record a failed attempt (dead-letter it when ``retry_at`` is ``None``); ``False`` if settled."""
        d = self._get(delivery_id)
        if d.status is not DeliveryStatus.PENDING:
            return False
        status = DeliveryStatus.DEAD if retry_at is None else DeliveryStatus.PENDING
        failed = attrs.evolve(
            d,
            status=status,
            attempts=d.attempts + 1,
            lease_until=None,
            last_error=error,
            next_attempt_at=retry_at or d.next_attempt_at,
        )
        self._uow.put(self._deliveries, d.id, failed)
        return True

    def dead_letters(self, *, limit: int = 100) -> list[ClaimedDelivery]:
        """Return dead letters, oldest event first."""
        dead = sorted(
            (self._deliveries[i] for i in self._open if self._deliveries[i].status is DeliveryStatus.DEAD),
            key=lambda d: d.seq,
        )
        return [self._claimed(d) for d in dead[:limit]]

    def requeue(self, delivery_id: uuid.UUID, *, now: datetime) -> None:
        """Put a dead letter back with fresh attempts."""
        d = self._deliveries.get(delivery_id)
        if d is None or d.status is not DeliveryStatus.DEAD:
            raise NotFoundError("Dead letter", delivery_id)
        self._uow.put(
            self._deliveries,
            d.id,
            attrs.evolve(d, status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, lease_until=None),
        )

    def stats(self) -> Mapping[DeliveryStatus, int]:
        """Count deliveries by status."""
        counts = dict.fromkeys(DeliveryStatus, 0)
        for d in self._deliveries.values():
            counts[d.status] += 1
        return counts


@attrs.frozen(kw_only=True)
class _TimerRow:
    timer: Timer
    lease_until: datetime | None = None
    last_error: str | None = None


class MemoryTimerStore:
    """Timers in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._rows: dict[uuid.UUID, _TimerRow] = uow.table("timers")

    def schedule(
        self,
        *,
        kind: str,
        aggregate_id: uuid.UUID,
        due_at: datetime,
        payload: Mapping[str, Any] | None = None,
    ) -> Timer:
        """Write a pending timer."""
        timer = Timer.new(kind=kind, aggregate_id=aggregate_id, due_at=due_at, payload=payload)
        self._uow.put(self._rows, timer.id, _TimerRow(timer=timer))
        return timer

    def cancel(self, *, aggregate_id: uuid.UUID, kind: str | None = None) -> int:
        """Cancel pending timers of an aggregate."""
        count = 0
        for row in list(self._rows.values()):
            t = row.timer
            if t.aggregate_id == aggregate_id and t.status is TimerStatus.PENDING and kind in (None, t.kind):
                self._uow.put(
                    self._rows, t.id, attrs.evolve(row, timer=attrs.evolve(t, status=TimerStatus.CANCELLED))
                )
                count += 1
        return count

    def claim_due(self, *, now: datetime, limit: int, lease: timedelta) -> list[Timer]:
        """Claim due pending timers, soonest first."""
        due = sorted(
            (
                r
                for r in self._rows.values()
                if r.timer.status is TimerStatus.PENDING
                and r.timer.due_at <= now
                and (r.lease_until is None or r.lease_until <= now)
            ),
            key=lambda r: (r.timer.due_at, r.timer.id),
        )[:limit]
        for row in due:
            self._uow.put(self._rows, row.timer.id, attrs.evolve(row, lease_until=now + lease))
        return [r.timer for r in due]

    def _row(self, timer_id: uuid.UUID) -> _TimerRow:
        try:
            return self._rows[timer_id]
        except KeyError:
            raise NotFoundError("Timer", timer_id) from None

    def mark_fired(self, timer_id: uuid.UUID, *, now: datetime) -> None:
        """Mark a pending timer done; refuse one cancelled or fired meanwhile."""
        row = self._row(timer_id)
        if row.timer.status is not TimerStatus.PENDING:
            raise StorageError(f"timer {timer_id} was {row.timer.status.value} meanwhile; not firing it")
        self._uow.put(
            self._rows, timer_id, _TimerRow(timer=attrs.evolve(row.timer, status=TimerStatus.FIRED))
        )

    def retry_later(self, timer_id: uuid.UUID, *, retry_at: datetime, error: str) -> None:
        """Record a failure and make the timer due again at ``retry_at``."""
        row = self._row(timer_id)
        timer = attrs.evolve(row.timer, due_at=retry_at, attempts=row.timer.attempts + 1)
        self._uow.put(self._rows, timer_id, _TimerRow(timer=timer, last_error=error))

    def pending(self, *, aggregate_id: uuid.UUID | None = None) -> list[Timer]:
        """Return pending timers, soonest first."""
        return sorted(
            (
                r.timer
                for r in self._rows.values()
                if r.timer.status is TimerStatus.PENDING and aggregate_id in (None, r.timer.aggregate_id)
            ),
            key=lambda t: (t.due_at, t.id),
        )


class MemoryAuditLog:
    """The append-only audit log in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._entries: dict[int, AuditEntry] = uow.table("audit_log")

    def append(self, envelopes: Sequence[EventEnvelope]) -> None:
        """Append one entry per envelope."""
        for env in envelopes:
            seq = self._uow.next_sequence("audit_log")
            entry = AuditEntry(
                seq=seq,
                event_id=env.id,
                occurred_at=env.occurred_at,
                actor_id=env.actor_id,
                action=env.type,
                aggregate_type=env.aggregate_type,
                aggregate_id=env.aggregate_id,
                aggregate_version=env.aggregate_version,
                policy_version=env.policy_version,
                details=env.payload,
            )
            self._uow.put(self._entries, seq, entry)

    def entries(
        self,
        *,
        aggregate_id: uuid.UUID | None = None,
        actor_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[AuditEntry]:
        """Return entries in log order."""
        check_limit(limit)
        after = decode_seq_cursor(cursor) if cursor is not None else 0
        found: list[AuditEntry] = []
        for seq in sorted(self._entries):
            if seq <= after:
                continue
            e = self._entries[seq]
            if aggregate_id not in (None, e.aggregate_id) or actor_id not in (None, e.actor_id):
                continue
            found.append(e)
            if len(found) > limit:
                break
        more = len(found) > limit
        found = found[:limit]
        return Page(tuple(found), encode_seq_cursor(found[-1].seq) if more else None)
