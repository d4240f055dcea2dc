"""
The in-memory storage backend (``memory://``).

Used by tests, the conformance kit and demos. It keeps private copies of
aggregates, honours optimistic versions and blind indexes exactly as the SQL
backend does, and serialises units of work with one lock: a unit of work holds
the lock from ``with`` to commit or rollback, and rolls back through an undo
log. Nothing survives the process; each ``Shop.open("memory://")`` starts empty.

Example:
    >>> from eshop_core import Shop
    >>> shop = Shop.open("memory://")
    >>> shop.backend.name
    'memory'
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import attrs

from eshop_core.access import Actor
from eshop_core.domain._aggregate import Aggregate
from eshop_core.errors import ConcurrencyError, StorageError
from eshop_core.hookspecs import hookimpl
from eshop_core.keyring import Keyring
from eshop_core.personal_data import blind_index_values
from eshop_core.storage.ports import AuditLog, BackendOptions, BackendSpec, OutboxStore, TimerStore
from eshop_core.storage.snapshots import snapshot
from eshop_core.storage.unit_of_work import BaseRepository, BaseUnitOfWork

__all__ = ["MemoryBackend", "MemoryDatabase", "MemoryRepository", "MemoryUnitOfWork"]

A = TypeVar("A", bound=Aggregate)
_MISSING: Final[Any] = object()
LOCK_TIMEOUT_SECONDS: Final = 30.0


@attrs.define
class _Stored:
    version: int
    snapshot: Aggregate
    blind: Mapping[str, str | None]


class MemoryDatabase:
    """
    The data of one in-memory shop: aggregates by type and named tables for ports.

    Port implementations keep their rows in :meth:`table` dictionaries and
    change them only through :meth:`MemoryUnitOfWork.put` / ``delete`` so that
    rollback can undo them.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.aggregates: dict[type[Any], dict[uuid.UUID, _Stored]] = {}
        self.tables: dict[str, dict[Any, Any]] = {}
        self.sequences: dict[str, int] = {}

    def table(self, name: str) -> dict[Any, Any]:
        """Return the named table, creating it empty."""
        return self.tables.setdefault(name, {})


class MemoryUnitOfWork(BaseUnitOfWork):
    """A unit of work over a :class:`MemoryDatabase`, holding its lock while active."""

    def __init__(self, database: MemoryDatabase, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.database = database
        # (table, key, previous value or _MISSING), replayed backwards on rollback
        self._undo: list[tuple[dict[Any, Any], Any, Any]] = []

    def _begin(self) -> None:
        if not self.database.lock.acquire(timeout=LOCK_TIMEOUT_SECONDS):
            raise StorageError("the in-memory shop is busy: another unit of work held it for 30 s")

    def _commit(self) -> None:
        self._undo.clear()
        self.database.lock.release()

    def _rollback(self) -> None:
        try:
            for table, key, old in reversed(self._undo):
                if old is _MISSING:
                    table.pop(key, None)
                else:
                    table[key] = old
        finally:
            self._undo.clear()
            self.database.lock.release()

    def _make_repository(self, aggregate_type: type[A]) -> MemoryRepository[A]:
        return MemoryRepository(self, aggregate_type)

    # -- undoable mutations, for repositories and ports ------------------------

    def put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        """Set ``table[key] = value``, undone on rollback."""
        self._undo.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def delete(self, table: dict[Any, Any], key: Any) -> None:
        """Remove ``table[key]`` if present, undone on rollback."""
        if key in table:
            self._undo.append((table, key, table.pop(key)))

    def next_sequence(self, name: str) -> int:
        """Return the next value of sequence ``name`` (1, 2, ...), undone on rollback."""
        seqs = self.database.sequences
        self.put(seqs, name, seqs.get(name, 0) + 1)
        return seqs[name]

    def table(self, name: str) -> dict[Any, Any]:
        """Return the database's named table."""
        return self.database.table(name)


def _copy(aggregate: A) -> A:
    clone = snapshot(aggregate)
    clone._pending = []
    return clone


class MemoryRepository(BaseRepository[A]):
    """Repository over the in-memory database; stores private copies."""

    _uow: MemoryUnitOfWork

    def _rows(self) -> dict[uuid.UUID, _Stored]:
        return self._uow.database.aggregates.setdefault(self.aggregate_type, {})

    def _stored(self, aggregate: A) -> _Stored:
        return _Stored(
            aggregate.version, _copy(aggregate), blind_index_values(self._uow.index_key, aggregate)
        )

    def _insert(self, aggregate: A) -> None:
        rows = self._rows()
        if aggregate.id in rows:
            raise ConcurrencyError(self.aggregate_type.__name__, aggregate.id, 0)
        self._uow.put(rows, aggregate.id, self._stored(aggregate))

    def _update(self, aggregate: A, expected_version: int) -> bool:
        rows = self._rows()
        current = rows.get(aggregate.id)
        if current is None or current.version != expected_version:
            return False
        self._uow.put(rows, aggregate.id, self._stored(aggregate))
        return True

    def _load(self, aggregate_id: uuid.UUID) -> A | None:
        stored = self._rows().get(aggregate_id)
        return None if stored is None else _copy(stored.snapshot)  # type: ignore[return-value]

    def _query(
        self, filters: Mapping[str, object], blind: Mapping[str, str], limit: int, after: uuid.UUID | None
    ) -> list[A]:
        found: list[A] = []
        for key in sorted(self._rows()):
            if after is not None and key <= after:
                continue
            stored = self._rows()[key]
            snap = stored.snapshot
            if all(getattr(snap, k) == v for k, v in filters.items()) and all(
                stored.blind.get(k) == v for k, v in blind.items()
            ):
                found.append(_copy(snap))  # type: ignore[arg-type]
                if len(found) >= limit:
                    break
        return found


class MemoryBackend:
    """
    The opened in-memory backend.

    Args:
        options: What :meth:`Shop.open <eshop_core.Shop.open>` passed.
    """

    name = "memory"

    def __init__(self, options: BackendOptions) -> None:
        self.options = options
        self.database = MemoryDatabase()
        self.keyring = options.keyring or Keyring.generate()

    def unit_of_work(self, actor: Actor) -> MemoryUnitOfWork:
        """Return a new unit of work acting as ``actor``."""
        return MemoryUnitOfWork(
            self.database,
            actor=actor,
            clock=self.options.clock,
            ports=self.options.ports,
            subscribers=self.options.subscribers,
            index_key=self.keyring.index_key,
            backend_name=self.name,
        )

    def close(self) -> None:
        """Nothing to release."""


def _open(target: object, options: BackendOptions) -> MemoryBackend:
    return MemoryBackend(options)


@hookimpl
def eshop_register_storage_backends(register: Callable[[BackendSpec], None]) -> None:
    """Register the ``memory://`` backend."""
    register(BackendSpec(name="memory", schemes=("memory",), open=_open))


@hookimpl
def eshop_register_storage_ports(
    backend: str, register: Callable[[type[Any], Callable[[Any], Any]], None]
) -> None:
    """Register the memory implementations of the built-in ports."""
    if backend != "memory":
        return
    from eshop_core.storage.catalog_ports import MemorySkuRegistry, SkuRegistry
    from eshop_core.storage.inventory_ports import MemoryStockLedger, StockLedger
    from eshop_core.storage.memory_personal import MemoryPersonalDataStore
    from eshop_core.storage.memory_ports import MemoryAuditLog, MemoryOutboxStore, MemoryTimerStore
    from eshop_core.storage.order_ports import MemoryOrderBook, OrderBook
    from eshop_core.storage.personal_ports import PersonalDataStore

    register(OutboxStore, MemoryOutboxStore)
    register(TimerStore, MemoryTimerStore)
    register(AuditLog, MemoryAuditLog)
    register(PersonalDataStore, MemoryPersonalDataStore)
    register(SkuRegistry, MemorySkuRegistry)
    register(StockLedger, MemoryStockLedger)
    register(OrderBook, MemoryOrderBook)
