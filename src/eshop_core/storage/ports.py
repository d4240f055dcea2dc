"""
The storage ports: what every backend provides.

A backend offers units of work. Inside one, an integrator or a service reaches

* aggregates through ``uow.repository(AggregateType)`` — a :class:`Repository`
  with optimistic versions and cursor-paginated :meth:`~Repository.find`;
* atomic or aggregating operations through named ports, ``uow.port(Protocol)``
  — one method per business act, implemented per backend and registered
  through the ``eshop_register_storage_ports`` hook;
* the built-in named ports :class:`OutboxStore`, :class:`TimerStore` and
  :class:`AuditLog`, which every backend must provide.

Example:
    >>> from eshop_core import Shop, Actor, Role
    >>> from eshop_core.testing import Widget
    >>> shop = Shop.open("memory://")
    >>> li = Actor("li.ming", roles={Role.OPERATIONS})
    >>> with shop.unit_of_work(li) as uow:
    ...     widgets = uow.repository(Widget)
    ...     w = Widget.create(name="Blue widget", owner_email="li@example.com", by=li,
    ...                       at=shop.clock.now())
    ...     widgets.add(w)
    ...     uow.commit()
    >>> with shop.unit_of_work(li) as uow:
    ...     uow.repository(Widget).get(w.id).name
    'Blue widget'
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar, runtime_checkable

import attrs

from eshop_core.access import Actor
from eshop_core.clock import ensure_aware
from eshop_core.errors import InvalidInputError
from eshop_core.events import EventEnvelope
from eshop_core.ids import new_id, parse_id

if TYPE_CHECKING:
    from types import TracebackType

    from eshop_core.clock import Clock
    from eshop_core.domain import Aggregate
    from eshop_core.keyring import Keyring

__all__ = [
    "AuditEntry",
    "AuditLog",
    "BackendOptions",
    "BackendSpec",
    "ClaimedDelivery",
    "DeliveryStatus",
    "OutboxStore",
    "Page",
    "PortFactory",
    "Repository",
    "StorageBackend",
    "Timer",
    "TimerStatus",
    "TimerStore",
    "UnitOfWork",
]

A = TypeVar("A", bound="Aggregate")
P = TypeVar("P")
T = TypeVar("T")


@attrs.frozen
class Page(Generic[T]):
    """
    One page of results.

    Attributes:
        items: The results on this page, in id order.
        next_cursor: Opaque cursor for the next page, ``None`` on the last one.
    """

    items: tuple[T, ...]
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@runtime_checkable
class Repository(Protocol[A]):
    """
    The aggregates of one type inside one unit of work.

    Obtained as ``uow.repository(AggregateType)``. Adding or saving an
    aggregate also writes the events it recorded (outbox and audit log) in the
    same transaction.
    """

    def add(self, aggregate: A) -> None:
        """
        Insert a new aggregate.

        Backends may batch new rows until the next statement or the commit
        (the SQL backend does), so a clash with a stored id can surface there.

        Raises:
            ConcurrencyError: An aggregate with this id exists already; the unit of
                work must then be rolled back.
        """
        ...

    def get(self, aggregate_id: uuid.UUID) -> A:
        """
        Load the aggregate with ``aggregate_id``.

        Raises:
            NotFoundError: No such aggregate.
        """
        ...

    def save(self, aggregate: A) -> None:
        """
        Write back a changed aggregate.

        Raises:
            ConcurrencyError: It was changed by another unit of work since it was loaded.
        """
        ...

    def find(
        self,
        *,
        where: Mapping[str, object] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[A]:
        """
        Return aggregates whose fields equal ``where``, one page at a time, in id order.

        Only fields marked ``filterable`` or ``blind_index`` in the domain class
        (and ``id``) may be used; blind-indexed personal fields match on their
        normalised value (``" LI@Example.com "`` finds ``"li@example.com"``).

        Args:
            where: Field name to required value.
            limit: Page size, 1 to 1,000.
            cursor: ``next_cursor`` of the previous page.

        Raises:
            InvalidInputError: Unknown or non-filterable field, bad limit or cursor.
        """
        ...


class DeliveryStatus(StrEnum):
    """State of one (event, subscriber) delivery."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@attrs.frozen(kw_only=True)
class ClaimedDelivery:
    """
    A delivery claimed by a relay: the event for one subscriber.

    Attributes:
        delivery_id: The delivery's id.
        subscriber: The subscriber's name.
        envelope: The event.
        attempts: Attempts made before this one.
    """

    delivery_id: uuid.UUID
    subscriber: str
    envelope: EventEnvelope
    attempts: int
    status: DeliveryStatus = DeliveryStatus.PENDING
    last_error: str | None = None


@runtime_checkable
class OutboxStore(Protocol):
    """
    Built-in named port: the outbox and its per-subscriber delivery tracking.

    Deliveries of one aggregate's events to one subscriber are handed out in
    event order; a pending or dead delivery holds back the later ones for that
    subscriber only.
    """

    def append(self, envelopes: Sequence[EventEnvelope], subscribers: Sequence[str]) -> None:
        """Store ``envelopes`` and one pending delivery per subscriber for each."""
        ...

    def claim(
        self, *, now: datetime, limit: int, lease: timedelta, subscribers: Sequence[str] | None = None
    ) -> list[ClaimedDelivery]:
        """
        Claim up to ``limit`` deliveries that are due and not held back, leasing them until ``now + lease``.

        A claimed delivery is not handed out again until its lease expires; a
        relay that dies mid-delivery thus causes a redelivery (at-least-once).
        ``subscribers`` restricts the claim to the deliveries of those
        subscribers (a relay claims only what it can deliver).
        """
        ...

    def complete(self, delivery_id: uuid.UUID, *, now: datetime) -> bool:
        """
        Mark a pending delivery done.

        Returns:
            ``False`` when it was settled meanwhile (another relay after a lease
            expired); nothing is changed then.
        """
        ...

    def fail(self, delivery_id: uuid.UUID, *, error: str, retry_at: datetime | None, now: datetime) -> bool:
        """
        Record a failed attempt on a pending delivery: retry at ``retry_at``, or dead-letter it (``None``).

        Returns:
            ``False`` when it was settled meanwhile; nothing is changed then.
        """
        ...

    def dead_letters(self, *, limit: int = 100) -> list[ClaimedDelivery]:
        """Return dead-lettered deliveries, oldest first."""
        ...

    def requeue(self, delivery_id: uuid.UUID, *, now: datetime) -> None:
        """
        Put a dead letter back in the queue with fresh attempts.

        Raises:
            NotFoundError: No dead letter with that id.
        """
        ...

    def stats(self) -> Mapping[DeliveryStatus, int]:
        """Count deliveries by status."""
        ...


MAX_TIMER_KIND: Final = 200
"""Longest timer kind name."""


class TimerStatus(StrEnum):
    """State of a timer."""

    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


@attrs.frozen(kw_only=True)
class Timer:
    """
    A piece of time-driven work: run handler ``kind`` for ``aggregate_id`` at ``due_at``.

    Attributes:
        id: The timer's id.
        kind: Which handler runs it (``"orders.unpaid_reminder"``).
        aggregate_id: The aggregate it concerns.
        due_at: When it becomes due (UTC).
        payload: JSON-safe data for the handler.
        attempts: Failed attempts so far.
    """

    id: uuid.UUID
    kind: str
    aggregate_id: uuid.UUID
    due_at: datetime
    payload: Mapping[str, Any] = attrs.field(factory=dict)
    attempts: int = 0
    status: TimerStatus = TimerStatus.PENDING

    @classmethod
    def new(
        cls, *, kind: str, aggregate_id: uuid.UUID, due_at: datetime, payload: Mapping[str, Any] | None = None
    ) -> Timer:
        """
        Return a new pending timer, validating what a caller passed to ``TimerStore.schedule``.

        Raises:
            InvalidInputError: An empty or overlong ``kind``, a bad ``aggregate_id``, a naive
                ``due_at`` or a ``payload`` that is not a JSON object.
        """
        if not isinstance(kind, str) or not kind.strip() or len(kind) > MAX_TIMER_KIND:
            reason = f"must be a non-empty string of {MAX_TIMER_KIND} characters at most"
            raise InvalidInputError("kind", reason)
        data = {} if payload is None else payload
        if not isinstance(data, Mapping):
            raise InvalidInputError("payload", "must be a mapping (a JSON object)")
        try:
            json.dumps(data)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError("payload", f"must hold JSON values only: {exc}") from None
        return cls(
            id=new_id(),
            kind=kind,
            aggregate_id=parse_id(aggregate_id, field="aggregate_id"),
            due_at=ensure_aware(due_at, field="due_at"),
            payload=dict(data),
        )


@runtime_checkable
class TimerStore(Protocol):
    """Built-in named port: timers written by the unit of work that starts a deadline."""

    def schedule(
        self,
        *,
        kind: str,
        aggregate_id: uuid.UUID,
        due_at: datetime,
        payload: Mapping[str, Any] | None = None,
    ) -> Timer:
        """Write a pending timer and return it."""
        ...

    def cancel(self, *, aggregate_id: uuid.UUID, kind: str | None = None) -> int:
        """Cancel the pending timers of an aggregate (of one kind, or all); return how many."""
        ...

    def claim_due(self, *, now: datetime, limit: int, lease: timedelta) -> list[Timer]:
        """Claim up to ``limit`` pending timers due at ``now``, leased until ``now + lease``."""
        ...

    def mark_fired(self, timer_id: uuid.UUID, *, now: datetime) -> None:
        """
        Mark a pending timer done.

        Raises:
            StorageError: It was cancelled or fired meanwhile; the caller's unit
                of work (with the handler's changes) must roll back.
        """
        ...

    def retry_later(self, timer_id: uuid.UUID, *, retry_at: datetime, error: str) -> None:
        """Record a failed run and make the timer due again at ``retry_at``."""
        ...

    def pending(self, *, aggregate_id: uuid.UUID | None = None) -> list[Timer]:
        """Return pending timers (of one aggregate, or all), soonest first."""
        ...


@attrs.frozen(kw_only=True)
class AuditEntry:
    """
    One line of the append-only audit log (GOV-05): who, what, when, under which policy.

    Attributes:
        seq: Position in the log (increasing).
        event_id: The event it records.
        occurred_at: When it happened.
        actor_id: Who did it.
        action: The event type.
        aggregate_type: What kind of object.
        aggregate_id: Which object.
        aggregate_version: Its version after the change.
        policy_version: The policy version of the decision, if any.
        details: The event payload (never personal data).
    """

    seq: int
    event_id: uuid.UUID
    occurred_at: datetime
    actor_id: str
    action: str
    aggregate_type: str
    aggregate_id: uuid.UUID
    aggregate_version: int
    policy_version: int | None
    details: Mapping[str, Any]


@runtime_checkable
class AuditLog(Protocol):
    """Built-in named port: the append-only audit log. Entries are written from event envelopes."""

    def append(self, envelopes: Sequence[EventEnvelope]) -> None:
        """Append one entry per envelope."""
        ...

    def entries(
        self,
        *,
        aggregate_id: uuid.UUID | None = None,
        actor_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[AuditEntry]:
        """Return entries in log order, optionally of one aggregate or one actor."""
        ...


@runtime_checkable
class UnitOfWork(Protocol):
    """
    One transaction: repositories, named ports, events, timers.

    Use it as a context manager. Nothing is kept unless :meth:`commit` is
    called; leaving the block by an exception or without committing rolls
    everything back. A unit of work belongs to one thread.

    Attributes:
        actor: Who acts.
        clock: The shop's clock.
        index_key: The key blind indexes are computed with (see
            :func:`~eshop_core.personal_data.blind_index`), for services that
            match personal data through a named port.
    """

    actor: Actor
    clock: Clock
    index_key: bytes

    def repository(self, aggregate_type: type[A]) -> Repository[A]:
        """
        Return the repository of ``aggregate_type``.

        Raises:
            StorageError: The backend does not know this aggregate type.
        """
        ...

    def port(self, port_type: type[P]) -> P:
        """
        Return this backend's implementation of the named port ``port_type``.

        Raises:
            StorageError: No implementation registered for this backend.
        """
        ...

    def publish(self, envelope: EventEnvelope) -> None:
        """Queue an event not raised by an aggregate (written at commit, with the others)."""
        ...

    def commit(self) -> None:
        """Make every change of this unit of work durable, atomically."""
        ...

    def rollback(self) -> None:
        """Discard every change of this unit of work."""
        ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


PortFactory = Callable[[Any], Any]
"""Builds a named-port implementation from a backend's concrete unit of work."""


@attrs.frozen(kw_only=True)
class BackendOptions:
    """
    What :meth:`Shop.open <eshop_core.Shop.open>` hands a backend when opening it.

    Attributes:
        clock: The shop's clock.
        keyring: Keys for personal data and blind indexes (``None``: the backend decides).
        schema: Database schema (PostgreSQL) or ``None``.
        migrate: Whether to bring the schema up to date.
        ports: Named-port factories registered for this backend, by port type.
        subscribers: Names of the event subscribers (one delivery each per event).
    """

    clock: Clock
    keyring: Keyring | None = None
    schema: str | None = None
    migrate: bool = True
    ports: Mapping[type[Any], PortFactory] = attrs.field(factory=dict)
    subscribers: Sequence[str] = ()


@runtime_checkable
class StorageBackend(Protocol):
    """An opened storage backend: a factory of units of work."""

    name: str

    def unit_of_work(self, actor: Actor) -> UnitOfWork:
        """Return a new unit of work acting as ``actor``."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


@attrs.frozen(kw_only=True)
class BackendSpec:
    """
    A storage backend as registered through ``eshop_register_storage_backends``.

    Attributes:
        name: Backend name; named ports are registered against it (``"memory"``, ``"sql"``).
        schemes: URL schemes it serves (``"sqlite"``, ``"postgresql"``).
        open: ``open(url_or_object, options) -> StorageBackend``.
        accepts: Optional predicate for non-URL targets (e.g. an SQLAlchemy ``Engine``).
    """

    name: str
    schemes: tuple[str, ...]
    open: Callable[[Any, BackendOptions], StorageBackend]
    accepts: Callable[[object], bool] | None = None
