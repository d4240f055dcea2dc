"""
The aggregate base class: identity, optimistic version, recorded events.

An aggregate changes only through intent methods. Each one checks its
invariants, moves its state and calls :meth:`Aggregate._record` with a
past-tense :class:`~eshop_core.events.DomainEvent`; recording bumps
:attr:`Aggregate.version`. The unit of work turns recorded events into
envelopes when the aggregate is added or saved.

Personal data is a domain fact: mark such fields with
``attrs.field(metadata={"pii": True})``, and add ``"blind_index": True`` to make
them searchable by exact (normalised) value without storing them in clear.
Mark other fields that :meth:`Repository.find <eshop_core.storage.ports.Repository.find>`
may filter on with ``"filterable": True``.

Example:
    >>> import attrs
    >>> from eshop_core.domain import Aggregate, personal_fields
    >>> @attrs.define(kw_only=True, eq=False)
    ... class Customer(Aggregate):
    ...     phone: str = attrs.field(metadata={"pii": True, "blind_index": True, "pii_kind": "phone"})
    >>> [f.name for f in personal_fields(Customer)]
    ['phone']
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs

from eshop_core.events import DomainEvent
from eshop_core.ids import new_id

__all__ = ["Aggregate", "RecordedEvent", "filterable_fields", "personal_fields"]


@attrs.frozen
class RecordedEvent:
    """An event together with the aggregate version it produced."""

    event: DomainEvent
    aggregate_version: int


@attrs.define(kw_only=True, eq=False)
class Aggregate:
    """
    Base of every aggregate root.

    Equality and hashing are by identity (:attr:`id`).

    Attributes:
        id: The aggregate's UUIDv7.
        version: Incremented by every recorded change; storage uses it for
            optimistic concurrency.
    """

    id: uuid.UUID = attrs.field(factory=new_id)
    version: int = 0
    _pending: list[RecordedEvent] = attrs.field(factory=list, init=False, repr=False, alias="_pending")
    _stored_version: int | None = attrs.field(default=None, init=False, repr=False, alias="_stored_version")

    def _record(self, event: DomainEvent) -> None:
        """Bump the version and remember ``event`` until the unit of work takes it."""
        self.version += 1
        self._pending.append(RecordedEvent(event, self.version))

    def take_events(self) -> list[RecordedEvent]:
        """Return and forget the events recorded since the last call (used by storage)."""
        events, self._pending = self._pending, []
        return events

    @property
    def pending_events(self) -> tuple[RecordedEvent, ...]:
        """Events recorded but not yet taken by a unit of work."""
        return tuple(self._pending)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Aggregate) and type(other) is type(self) and other.id == self.id

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))


_PERSONAL: dict[type[Any], tuple[attrs.Attribute[Any], ...]] = {}


def personal_fields(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...]:
    """Return the fields of ``cls`` marked ``metadata={"pii": True}`` (computed once per class)."""
    found = _PERSONAL.get(cls)
    if found is None:
        found = _PERSONAL[cls] = tuple(f for f in attrs.fields(cls) if f.metadata.get("pii", False))
    return found


def filterable_fields(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...]:
    """Return the fields repositories may filter on: ``filterable`` or ``blind_index`` ones, and ``id``."""
    return tuple(
        f
        for f in attrs.fields(cls)
        if f.name == "id" or f.metadata.get("filterable", False) or f.metadata.get("blind_index", False)
    )
