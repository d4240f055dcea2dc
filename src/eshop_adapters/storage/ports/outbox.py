"""
The SQL outbox: ``outbox_events`` and per-subscriber ``outbox_deliveries``.

Events are appended in the unit of work that raised them (one multi-row
insert each for events and deliveries). A relay claims deliveries in a short
transaction: at most one per (subscriber, aggregate) — the oldest undelivered
one, which must be pending, due and not leased — oldest event first, and
leases them. On SQLite the claim runs under ``BEGIN IMMEDIATE`` and is thus
exclusive; on PostgreSQL it adds ``FOR UPDATE OF outbox_deliveries SKIP LOCKED``
(:func:`~eshop_adapters.storage.sql.lock_for_claim`), so concurrent relays
take different rows without waiting for each other. A row another relay is
leasing is either skipped (still locked) or re-checked after its commit
(PostgreSQL re-evaluates the ``WHERE`` clause on the newest row version), so
it is never handed out twice while its lease runs. A held-back delivery stays
held back: the earlier one it waits for is pending until completed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    exists,
    func,
    or_,
    select,
)

from eshop_adapters.storage.metadata import METADATA
from eshop_adapters.storage.sql import AnyRow, SqlUnitOfWork, lock_for_claim
from eshop_adapters.storage.types import JSON_DOCUMENT, SEQUENCE, UUID, UTCDateTime
from eshop_core.errors import NotFoundError
from eshop_core.events import EventEnvelope
from eshop_core.ids import new_id
from eshop_core.storage.ports import ClaimedDelivery, DeliveryStatus

__all__ = ["SqlOutboxStore", "outbox_deliveries", "outbox_events"]

outbox_events: Final = Table(
    "outbox_events",
    METADATA,
    Column("seq", SEQUENCE, primary_key=True, autoincrement=True),
    Column("event_id", UUID, nullable=False),
    Column("type", String(200), nullable=False),
    Column("aggregate_type", String(200), nullable=False),
    Column("aggregate_id", UUID, nullable=False),
    Column("aggregate_version", Integer, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("policy_version", Integer, nullable=True),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("payload", JSON_DOCUMENT, nullable=False),
    UniqueConstraint("event_id"),
)

outbox_deliveries: Final = Table(
    "outbox_deliveries",
    METADATA,
    Column("id", UUID, primary_key=True),
    Column("event_id", UUID, ForeignKey(outbox_events.c.event_id), nullable=False, index=True),
    Column("seq", SEQUENCE, nullable=False),
    Column("aggregate_id", UUID, nullable=False),
    Column("subscriber", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", UTCDateTime(), nullable=True),
    # "is an earlier delivery of this (subscriber, aggregate) still open?" and the claim scan
    Index("ix_outbox_deliveries_order", "status", "subscriber", "aggregate_id", "seq"),
    Index("ix_outbox_deliveries_due", "status", "seq"),
)

_OPEN: Final = (DeliveryStatus.PENDING.value, DeliveryStatus.DEAD.value)

_d = outbox_deliveries.c
_e = outbox_events.c

# One multi-row INSERT ... RETURNING; rows come back in any order, so they are matched by event id.
_EVENT_COLUMNS: Final = (
    "event_id",
    "type",
    "schema_version",
    "aggregate_type",
    "aggregate_id",
    "aggregate_version",
    "actor_id",
    "policy_version",
    "occurred_at",
    "payload",
)
_INSERT_EVENTS_RETURNING: Final = outbox_events.insert().returning(_e.event_id, _e.seq)
_ENVELOPE_COLUMNS: Final = (
    _e.event_id,
    _e.type,
    _e.schema_version,
    _e.aggregate_type,
    _e.aggregate_id,
    _e.aggregate_version,
    _e.actor_id,
    _e.policy_version,
    _e.occurred_at,
    _e.payload,
)
_DELIVERY_COLUMNS: Final = (_d.id, _d.subscriber, _d.attempts, _d.status, _d.last_error, *_ENVELOPE_COLUMNS)
_LEASE: Final = (
    outbox_deliveries.update()
    .where(_d.id.in_(bindparam("ids", expanding=True)))
    .values(lease_until=bindparam("until"))
)
_COMPLETE: Final = (
    outbox_deliveries.update()
    .where(_d.id == bindparam("delivery_id"), _d.status == DeliveryStatus.PENDING.value)
    .values(
        status=DeliveryStatus.DELIVERED.value,
        attempts=_d.attempts + 1,
        lease_until=None,
        delivered_at=bindparam("now"),
    )
)
_FAIL_RETRY: Final = (
    outbox_deliveries.update()
    .where(_d.id == bindparam("delivery_id"), _d.status == DeliveryStatus.PENDING.value)
    .values(
        status=DeliveryStatus.PENDING.value,
        attempts=_d.attempts + 1,
        lease_until=None,
        last_error=bindparam("error"),
        next_attempt_at=bindparam("retry_at"),
    )
)
_FAIL_DEAD: Final = (
    outbox_deliveries.update()
    .where(_d.id == bindparam("delivery_id"), _d.status == DeliveryStatus.PENDING.value)
    .values(
        status=DeliveryStatus.DEAD.value,
        attempts=_d.attempts + 1,
        lease_until=None,
        last_error=bindparam("error"),
    )
)
_STATUS_OF: Final = select(_d.status).where(_d.id == bindparam("delivery_id"))
_REQUEUE: Final = (
    outbox_deliveries.update()
    .where(_d.id == bindparam("delivery_id"), _d.status == DeliveryStatus.DEAD.value)
    .values(
        status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=bindparam("now"), lease_until=None
    )
)
_STATS: Final = select(_d.status, func.count()).group_by(_d.status)


def _claim_query(dialect_name: str, *, filtered: bool) -> Select[Any]:
    earlier = outbox_deliveries.alias("earlier")
    held_back = exists().where(
        earlier.c.status.in_(_OPEN),
        earlier.c.subscriber == _d.subscriber,
        earlier.c.aggregate_id == _d.aggregate_id,
        earlier.c.seq < _d.seq,
    )
    statement = (
        select(*_DELIVERY_COLUMNS)
        .join_from(outbox_deliveries, outbox_events, _d.event_id == _e.event_id)
        .where(
            _d.status == DeliveryStatus.PENDING.value,
            _d.next_attempt_at <= bindparam("now"),
            or_(_d.lease_until.is_(None), _d.lease_until <= bindparam("now")),
            ~held_back,
            *([_d.subscriber.in_(bindparam("subscribers", expanding=True))] if filtered else []),
        )
        .order_by(_d.seq)
        .limit(bindparam("limit", type_=Integer))
    )
    return lock_for_claim(statement, dialect_name, outbox_deliveries)


_CLAIMS: dict[tuple[str, bool], Select[Any]] = {}
_DEAD_LETTERS: Final = (
    select(*_DELIVERY_COLUMNS)
    .join_from(outbox_deliveries, outbox_events, _d.event_id == _e.event_id)
    .where(_d.status == DeliveryStatus.DEAD.value)
    .order_by(_d.seq, _d.id)
    .limit(bindparam("limit", type_=Integer))
)


def _event_row(e: EventEnvelope) -> tuple[Any, ...]:
    """The ``outbox_events`` values of ``e``, in :data:`_EVENT_COLUMNS` order."""
    return (
        e.id,
        e.type,
        e.schema_version,
        e.aggregate_type,
        e.aggregate_id,
        e.aggregate_version,
        e.actor_id,
        e.policy_version,
        e.occurred_at,
        e.payload,
    )


def _claimed(row: AnyRow) -> ClaimedDelivery:
    return ClaimedDelivery(
        delivery_id=row.id,
        subscriber=row.subscriber,
        envelope=EventEnvelope(
            id=row.event_id,
            type=row.type,
            schema_version=row.schema_version,
            aggregate_type=row.aggregate_type,
            aggregate_id=row.aggregate_id,
            aggregate_version=row.aggregate_version,
            actor_id=row.actor_id,
            policy_version=row.policy_version,
            occurred_at=row.occurred_at,
            payload=row.payload,
        ),
        attempts=row.attempts,
        status=DeliveryStatus(row.status),
        last_error=row.last_error,
    )


class SqlOutboxStore:
    """
    The :class:`~eshop_core.storage.ports.OutboxStore` of the SQL backend.

    Args:
        uow: The unit of work it runs in.
    """

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def append(self, envelopes: Sequence[EventEnvelope], subscribers: Sequence[str]) -> None:
        """Store ``envelopes`` and one pending delivery per subscriber for each."""
        if not envelopes:
            return
        if not subscribers:
            self._uow.insert_tuples(
                outbox_events,
                _EVENT_COLUMNS,
                [_event_row(e) for e in envelopes],
            )
            return
        events = [dict(zip(_EVENT_COLUMNS, _event_row(e), strict=True)) for e in envelopes]
        seqs = {row[0]: row[1] for row in self._uow.rows(_INSERT_EVENTS_RETURNING, events)}
        deliveries = [
            {
                "id": new_id(),
                "event_id": envelope.id,
                "seq": seqs[envelope.id],
                "aggregate_id": envelope.aggregate_id,
                "subscriber": subscriber,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": envelope.occurred_at,
                "lease_until": None,
                "last_error": None,
                "delivered_at": None,
            }
            for envelope in envelopes
            for subscriber in subscribers
        ]
        self._uow.insert_many(outbox_deliveries, deliveries)

    def claim(
        self, *, now: datetime, limit: int, lease: timedelta, subscribers: Sequence[str] | None = None
    ) -> list[ClaimedDelivery]:
        """Claim due deliveries: at most one per (subscriber, aggregate), oldest event first."""
        if subscribers is not None and not subscribers:
            return []
        key = (self._uow.dialect_name, subscribers is not None)
        query = _CLAIMS.get(key)
        if query is None:
            query = _CLAIMS[key] = _claim_query(key[0], filtered=key[1])
        params: dict[str, Any] = {"now": now, "limit": limit}
        if subscribers is not None:
            params["subscribers"] = list(subscribers)
        rows = self._uow.rows(query, params)
        if not rows:
            return []
        self._uow.execute(_LEASE, {"ids": [row.id for row in rows], "until": now + lease})
        return [_claimed(row) for row in rows]

    def _changed(self, statement: Any, params: Mapping[str, Any], kind: str, delivery_id: uuid.UUID) -> None:
        if self._uow.execute(statement, params).rowcount != 1:
            raise NotFoundError(kind, delivery_id)

    def _settle(self, statement: Any, params: Mapping[str, Any], delivery_id: uuid.UUID) -> bool:
        if self._uow.execute(statement, params).rowcount == 1:
            return True
        if self._uow.scalar(_STATUS_OF, {"delivery_id": delivery_id}) is None:
            raise NotFoundError("Delivery", delivery_id)
        return False  # settled meanwhile by another relay

    def complete(self, delivery_id: uuid.UUID, *, now: datetime) -> bool:
        """Mark a pending delivery done; ``False`` when it was settled meanwhile."""
        return self._settle(_COMPLETE, {"delivery_id": delivery_id, "now": now}, delivery_id)

    def fail(self, delivery_id: uuid.UUID, *, error: str, retry_at: datetime | None, now: datetime) -> bool:
        """Record a failed attempt (dead-letter it when ``retry_at`` is ``None``); ``False`` if settled."""
        if retry_at is None:
            return self._settle(_FAIL_DEAD, {"delivery_id": delivery_id, "error": error}, delivery_id)
        params = {"delivery_id": delivery_id, "error": error, "retry_at": retry_at}
        return self._settle(_FAIL_RETRY, params, delivery_id)

    def dead_letters(self, *, limit: int = 100) -> list[ClaimedDelivery]:
        """Return dead letters, oldest event first."""
        return [_claimed(row) for row in self._uow.rows(_DEAD_LETTERS, {"limit": limit})]

    def requeue(self, delivery_id: uuid.UUID, *, now: datetime) -> None:
        """Put a dead letter back with fresh attempts."""
        self._changed(_REQUEUE, {"delivery_id": delivery_id, "now": now}, "Dead letter", delivery_id)

    def stats(self) -> Mapping[DeliveryStatus, int]:
        """Count deliveries by status."""
        counts = dict.fromkeys(DeliveryStatus, 0)
        for row in self._uow.rows(_STATS):
            counts[DeliveryStatus(row[0])] = int(row[1])
        return counts
