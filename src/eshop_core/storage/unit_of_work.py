"""
What every backend's unit of work and repositories share.

Backends subclass :class:`BaseUnitOfWork` and :class:`BaseRepository` and fill
in the storage primitives (begin, commit, rollback; insert, update, load,
query). The bases hold the rules that must not differ between backends:
optimistic versions, events to envelopes, outbox and audit writes in the same
transaction, filter validation, blind-index look-ups and cursors.
"""

from __future__ import annotations

import base64
import binascii
import enum
import logging
import types
import typing
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from eshop_core.domain._aggregate import Aggregate, filterable_fields
from eshop_core.errors import ConcurrencyError, InvalidInputError, NotFoundError, StorageError
from eshop_core.events import EventEnvelope
from eshop_core.ids import parse_id
from eshop_core.personal_data import blind_index, kind_of
from eshop_core.storage.ports import AuditLog, OutboxStore, Page, PortFactory

if TYPE_CHECKING:
    from types import TracebackType

    from eshop_core.access import Actor
    from eshop_core.clock import Clock

__all__ = [
    "MAX_PAGE_SIZE",
    "BaseRepository",
    "BaseUnitOfWork",
    "check_limit",
    "decode_cursor",
    "decode_seq_cursor",
    "encode_cursor",
    "encode_seq_cursor",
]

log = logging.getLogger("eshop.storage")

A = TypeVar("A", bound=Aggregate)
P = TypeVar("P")

MAX_PAGE_SIZE = 1000


def encode_cursor(last_id: uuid.UUID) -> str:
    """Return the opaque cursor that continues after ``last_id``."""
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str, *, field: str = "cursor") -> uuid.UUID:
    """Decode :func:`encode_cursor` output or raise :class:`InvalidInputError`."""
    if not isinstance(cursor, str):
        raise InvalidInputError(field, "expected the next_cursor of a previous page")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (ValueError, binascii.Error):
        raise InvalidInputError(field, "not a cursor returned by a previous page") from None


def encode_seq_cursor(seq: int) -> str:
    """Return the opaque cursor that continues after log position ``seq``."""
    return encode_cursor(uuid.UUID(int=seq))


def decode_seq_cursor(cursor: str, *, field: str = "cursor") -> int:
    """Decode :func:`encode_seq_cursor` output or raise :class:`InvalidInputError`."""
    return decode_cursor(cursor, field=field).int


def check_limit(limit: object) -> int:
    """Return ``limit`` if it is a valid page size (1 to :data:`MAX_PAGE_SIZE`), else raise."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInputError("limit", f"must be an integer from 1 to {MAX_PAGE_SIZE}, got {limit!r}")
    return limit


def _filter_types(cls: type[Any], fields: Mapping[str, Any]) -> dict[str, tuple[type[Any], ...]]:
    """The plain classes each filterable field may hold (fields with other annotations are not checked)."""
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):  # unresolvable annotations: leave the values unchecked
        return {}
    out: dict[str, tuple[type[Any], ...]] = {}
    for name in fields:
        hint = hints.get(name)
        members = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        if members and all(isinstance(m, type) for m in members):
            out[name] = tuple(m for m in members if m is not type(None))
            if len(out[name]) < len(members):
                out[name] += (type(None),)
    return out


def _checked_filter_value(name: str, value: object, allowed: tuple[type[Any], ...] | None) -> object:
    if allowed is None or isinstance(value, allowed):
        return value
    for kind in allowed:  # an enum field may be matched by its value
        if issubclass(kind, enum.Enum) and value in {m.value for m in kind}:
            return kind(value)
    expected = " or ".join(k.__name__ for k in allowed)
    raise InvalidInputError(f"where.{name}", f"expected {expected}, got {type(value).__name__}")


class _State(enum.Enum):
    NEW = "new"
    ACTIVE = "active"
    COMMITTED = "committed"
    ROLLED_BACK = "rolled back"


class BaseUnitOfWork(ABC):
    """
    Shared behaviour of units of work; backends implement the primitives.

    Args:
        actor: Who acts.
        clock: The shop's clock.
        ports: Named-port factories registered for this backend.
        subscribers: Event subscribers (one delivery each per event).
        index_key: Key for blind indexes.
        backend_name: For error messages.
    """

    def __init__(
        self,
        *,
        actor: Actor,
        clock: Clock,
        ports: Mapping[type[Any], PortFactory],
        subscribers: Sequence[str],
        index_key: bytes,
        backend_name: str,
    ) -> None:
        self.actor = actor
        self.clock = clock
        self.index_key = index_key
        self.backend_name = backend_name
        self._port_factories = ports
        self._subscribers = tuple(subscribers)
        self._repositories: dict[type[Any], BaseRepository[Any]] = {}
        self._ports: dict[type[Any], Any] = {}
        self._queued: list[EventEnvelope] = []
        self._touched: dict[int, tuple[Aggregate, int | None]] = {}
        self._state = _State.NEW

    # -- primitives ---------------------------------------------------------

    @abstractmethod
    def _begin(self) -> None:
        """Start the transaction."""

    @abstractmethod
    def _commit(self) -> None:
        """Commit the transaction."""

    @abstractmethod
    def _rollback(self) -> None:
        """Roll the transaction back."""

    @abstractmethod
    def _make_repository(self, aggregate_type: type[A]) -> BaseRepository[A]:
        """Return a repository for ``aggregate_type`` or raise :class:`StorageError`."""

    # -- public API ---------------------------------------------------------

    def __enter__(self) -> BaseUnitOfWork:
        if self._state is not _State.NEW:
            raise StorageError("a unit of work can be entered only once")
        self._begin()
        self._state = _State.ACTIVE
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state is _State.ACTIVE:
            self.rollback()

    @property
    def active(self) -> bool:
        """Whether the unit of work is open (entered, neither committed nor rolled back)."""
        return self._state is _State.ACTIVE

    def _require_active(self) -> None:
        if self._state is not _State.ACTIVE:
            raise StorageError(f"the unit of work is {self._state.value}; open a new one with `with`")

    def repository(self, aggregate_type: type[A]) -> BaseRepository[A]:
        """Return the repository of ``aggregate_type`` (see :class:`~eshop_core.storage.ports.Repository`)."""
        self._require_active()
        repo = self._repositories.get(aggregate_type)
        if repo is None:
            if not (isinstance(aggregate_type, type) and issubclass(aggregate_type, Aggregate)):
                raise InvalidInputError("aggregate_type", f"{aggregate_type!r} is not an Aggregate subclass")
            repo = self._make_repository(aggregate_type)
            self._repositories[aggregate_type] = repo
        return repo

    def port(self, port_type: type[P]) -> P:
        """Return this backend's implementation of the named port ``port_type``."""
        self._require_active()
        impl = self._ports.get(port_type)
        if impl is None:
            factory = self._port_factories.get(port_type)
            if factory is None:
                name = getattr(port_type, "__name__", repr(port_type))
                raise StorageError(f"the {self.backend_name} backend has no implementation of port {name}")
            impl = factory(self)
            self._ports[port_type] = impl
        return impl  # type: ignore[no-any-return]

    def publish(self, envelope: EventEnvelope) -> None:
        """Queue an event not raised by an aggregate; it is written at commit."""
        self._require_active()
        if not isinstance(envelope, EventEnvelope):
            raise InvalidInputError("envelope", f"expected an EventEnvelope, got {type(envelope).__name__}")
        self._queued.append(envelope)

    def commit(self) -> None:
        """Write queued events to the outbox and audit log, then commit everything atomically."""
        self._require_active()
        try:
            if self._queued:
                self.port(OutboxStore).append(self._queued, self._subscribers)
                self.port(AuditLog).append(self._queued)
            self._commit()
        except BaseException:
            self.rollback()
            raise
        self._state = _State.COMMITTED
        self._queued = []
        self._touched.clear()

    def rollback(self) -> None:
        """Discard every change; aggregates touched in this unit of work should be reloaded."""
        if self._state is not _State.ACTIVE:
            return
        self._state = _State.ROLLED_BACK
        self._queued = []
        for aggregate, before in self._touched.values():
            aggregate._stored_version = before
        self._touched.clear()
        self._rollback()

    # -- helpers for repositories ---------------------------------------------

    def _written(self, aggregate: Aggregate) -> None:
        """Queue the aggregate's recorded events and remember its new stored version."""
        aggregate_type = type(aggregate).__name__
        for recorded in aggregate.take_events():
            self._queued.append(
                EventEnvelope.wrap(
                    recorded.event,
                    aggregate_type=aggregate_type,
                    aggregate_id=aggregate.id,
                    aggregate_version=recorded.aggregate_version,
                )
            )
        self._touched.setdefault(id(aggregate), (aggregate, aggregate._stored_version))
        aggregate._stored_version = aggregate.version

    def _loaded(self, aggregate: Aggregate) -> None:
        aggregate._stored_version = aggregate.version


class BaseRepository(ABC, Generic[A]):
    """
    Shared behaviour of repositories; backends implement the storage primitives.

    Args:
        uow: The unit of work it belongs to.
        aggregate_type: The aggregate class.
    """

    def __init__(self, uow: BaseUnitOfWork, aggregate_type: type[A]) -> None:
        self._uow = uow
        self.aggregate_type = aggregate_type
        self._filterable = {f.name: f for f in filterable_fields(aggregate_type)}
        self._filter_types = _filter_types(aggregate_type, self._filterable)

    # -- primitives ---------------------------------------------------------

    @abstractmethod
    def _insert(self, aggregate: A) -> None:
        """Insert; raise :class:`ConcurrencyError` if the id exists."""

    @abstractmethod
    def _update(self, aggregate: A, expected_version: int) -> bool:
        """Update where the stored version is ``expected_version``; return whether a row changed."""

    @abstractmethod
    def _load(self, aggregate_id: uuid.UUID) -> A | None:
        """Return the stored aggregate or ``None``."""

    @abstractmethod
    def _query(
        self, filters: Mapping[str, object], blind: Mapping[str, str], limit: int, after: uuid.UUID | None
    ) -> list[A]:
        """
        Return up to ``limit`` aggregates in id order with id greater than ``after``.

        ``filters`` are exact matches on plain fields; ``blind`` on blind indexes.
        """

    # -- public API ---------------------------------------------------------

    def _check_type(self, aggregate: object) -> A:
        if not isinstance(aggregate, self.aggregate_type):
            raise InvalidInputError(
                "aggregate", f"expected a {self.aggregate_type.__name__}, got {type(aggregate).__name__}"
            )
        return aggregate

    def add(self, aggregate: A) -> None:
        """Insert a new aggregate and queue its events."""
        self._uow._require_active()
        aggregate = self._check_type(aggregate)
        if aggregate._stored_version is not None:
            raise ConcurrencyError(self.aggregate_type.__name__, aggregate.id, aggregate._stored_version)
        self._insert(aggregate)
        self._uow._written(aggregate)

    def get(self, aggregate_id: uuid.UUID) -> A:
        """Load an aggregate or raise :class:`NotFoundError`."""
        self._uow._require_active()
        key = parse_id(aggregate_id, field="aggregate_id")
        aggregate = self._load(key)
        if aggregate is None:
            raise NotFoundError(self.aggregate_type.__name__, key)
        self._uow._loaded(aggregate)
        return aggregate

    def save(self, aggregate: A) -> None:
        """Write back a loaded aggregate; raise :class:`ConcurrencyError` if it changed meanwhile."""
        self._uow._require_active()
        aggregate = self._check_type(aggregate)
        expected = aggregate._stored_version
        if expected is None:
            raise InvalidInputError(
                "aggregate", f"{self.aggregate_type.__name__} {aggregate.id} was never stored; add it first"
            )
        if aggregate.version == expected and not aggregate.pending_events:
            return
        if not self._update(aggregate, expected):
            raise ConcurrencyError(self.aggregate_type.__name__, aggregate.id, expected)
        self._uow._written(aggregate)

    def find(
        self,
        *,
        where: Mapping[str, object] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[A]:
        """Return one page of aggregates matching ``where``; see :meth:`.Repository.find`."""
        self._uow._require_active()
        check_limit(limit)
        after = decode_cursor(cursor) if cursor is not None else None
        filters: dict[str, object] = {}
        blind: dict[str, str] = {}
        for name, value in (where or {}).items():
            field = self._filterable.get(name)
            if field is None:
                allowed = ", ".join(sorted(self._filterable))
                raise InvalidInputError(
                    f"where.{name}",
                    f"{self.aggregate_type.__name__} cannot be filtered on {name!r}; filterable: {allowed}",
                )
            if field.metadata.get("blind_index", False):
                if not isinstance(value, str):
                    raise InvalidInputError(f"where.{name}", "personal fields are matched by text")
                blind[name] = blind_index(self._uow.index_key, value, kind_of(field))
            elif name == "id":
                filters[name] = parse_id(value, field="where.id")
            else:
                filters[name] = _checked_filter_value(name, value, self._filter_types.get(name))
        items = self._query(filters, blind, limit + 1, after)
        has_more = len(items) > limit
        items = items[:limit]
        for item in items:
            self._uow._loaded(item)
        next_cursor = encode_cursor(items[-1].id) if has_more and items else None
        return Page(tuple(items), next_cursor)
