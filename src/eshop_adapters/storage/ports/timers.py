"""
The SQL timer store: ``timers``, claimed by ``shop.run_due`` with a lease.

A claim takes pending timers that are due and not leased, soonest first, and
leases them; on PostgreSQL it skips rows other schedulers are claiming
(``FOR UPDATE SKIP LOCKED``, :func:`~eshop_adapters.storage.sql.lock_for_claim`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Column, Index, Integer, Select, String, Table, Text, bindparam, or_, select

from eshop_adapters.storage.metadata import METADATA
from eshop_adapters.storage.sql import AnyRow, SqlUnitOfWork, lock_for_claim
from eshop_adapters.storage.types import JSON_DOCUMENT, UUID, UTCDateTime
from eshop_core.errors import NotFoundError, StorageError
from eshop_core.storage.ports import Timer, TimerStatus

__all__ = ["SqlTimerStore", "timers"]

timers: Final = Table(
    "timers",
    METADATA,
    Column("id", UUID, primary_key=True),
    Column("kind", String(200), nullable=False),
    Column("aggregate_id", UUID, nullable=False, index=True),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("payload", JSON_DOCUMENT, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_timers_status_due_at", "status", "due_at"),
)

_t = timers.c
_PENDING: Final = TimerStatus.PENDING.value

_INSERT: Final = timers.insert()
_LEASE: Final = (
    timers.update().where(_t.id.in_(bindparam("ids", expanding=True))).values(lease_until=bindparam("until"))
)
_FIRED: Final = (
    timers.update()
    .where(_t.id == bindparam("timer_id"), _t.status == _PENDING)
    .values(status=TimerStatus.FIRED.value, lease_until=None, last_error=None)
)
_RETRY: Final = (
    timers.update()
    .where(_t.id == bindparam("timer_id"))
    .values(
        due_at=bindparam("retry_at"),
        attempts=_t.attempts + 1,
        lease_until=None,
        last_error=bindparam("error"),
    )
)
_PENDING_ALL: Final = select(timers).where(_t.status == _PENDING).order_by(_t.due_at, _t.id)
_PENDING_OF: Final = _PENDING_ALL.where(_t.aggregate_id == bindparam("aggregate_id"))
_CLAIMS: dict[str, Select[Any]] = {}


def _claim_query(dialect_name: str) -> Select[Any]:
    statement = (
        select(timers)
        .where(
            _t.status == _PENDING,
            _t.due_at <= bindparam("now"),
            or_(_t.lease_until.is_(None), _t.lease_until <= bindparam("now")),
        )
        .order_by(_t.due_at, _t.id)
        .limit(bindparam("limit", type_=Integer))
    )
    return lock_for_claim(statement, dialect_name, timers)


def _timer(row: AnyRow) -> Timer:
    return Timer(
        id=row.id,
        kind=row.kind,
        aggregate_id=row.aggregate_id,
        due_at=row.due_at,
        payload=dict(row.payload or {}),
        attempts=row.attempts,
        status=TimerStatus(row.status),
    )


class SqlTimerStore:
    """
    The :class:`~eshop_core.storage.ports.TimerStore` of the SQL backend.

    Args:
        uow: The unit of work it runs in.
    """

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def schedule(
        self,
        *,
        kind: str,
        aggregate_id: uuid.UUID,
        due_at: datetime,
        payload: Mapping[str, Any] | None = None,
    ) -> Timer:
        """Write a pending timer and return it."""
        timer = Timer.new(kind=kind, aggregate_id=aggregate_id, due_at=due_at, payload=payload)
        self._uow.execute(
            _INSERT,
            {
                "id": timer.id,
                "kind": timer.kind,
                "aggregate_id": timer.aggregate_id,
                "due_at": timer.due_at,
                "payload": dict(timer.payload),
                "status": _PENDING,
                "attempts": 0,
                "lease_until": None,
                "last_error": None,
            },
        )
        return timer

    def cancel(self, *, aggregate_id: uuid.UUID, kind: str | None = None) -> int:
        """Cancel the pending timers of an aggregate (of one kind, or all); return how many."""
        statement = (
            timers.update()
            .where(_t.aggregate_id == aggregate_id, _t.status == _PENDING)
            .values(status=TimerStatus.CANCELLED.value, lease_until=None)
        )
        if kind is not None:
            statement = statement.where(_t.kind == kind)
        return int(self._uow.execute(statement).rowcount)

    def claim_due(self, *, now: datetime, limit: int, lease: timedelta) -> list[Timer]:
        """Claim pending timers due at ``now``, soonest first, leased until ``now + lease``."""
        dialect = self._uow.dialect_name
        query = _CLAIMS.get(dialect)
        if query is None:
            query = _CLAIMS[dialect] = _claim_query(dialect)
        rows = self._uow.rows(query, {"now": now, "limit": limit})
        if rows:
            self._uow.execute(_LEASE, {"ids": [row.id for row in rows], "until": now + lease})
        return [_timer(row) for row in rows]

    def mark_fired(self, timer_id: uuid.UUID, *, now: datetime) -> None:
        """Mark a pending timer done; refuse one cancelled or fired meanwhile."""
        if self._uow.execute(_FIRED, {"timer_id": timer_id}).rowcount != 1:
            status = self._uow.scalar(select(_t.status).where(_t.id == timer_id))
            if status is None:
                raise NotFoundError("Timer", timer_id)
            raise StorageError(f"timer {timer_id} was {status} meanwhile; not firing it")

    def retry_later(self, timer_id: uuid.UUID, *, retry_at: datetime, error: str) -> None:
        """Record a failed run and make the timer due again at ``retry_at``."""
        params = {"timer_id": timer_id, "retry_at": retry_at, "error": error}
        if self._uow.execute(_RETRY, params).rowcount != 1:
            raise NotFoundError("Timer", timer_id)

    def pending(self, *, aggregate_id: uuid.UUID | None = None) -> list[Timer]:
        """Return pending timers (of one aggregate, or all), soonest first."""
        if aggregate_id is None:
            return [_timer(row) for row in self._uow.rows(_PENDING_ALL)]
        return [_timer(row) for row in self._uow.rows(_PENDING_OF, {"aggregate_id": aggregate_id})]
