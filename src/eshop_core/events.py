"""
Domain events and the event envelope.

Aggregates record :class:`DomainEvent` objects (frozen attrs classes, named in
the past tense). When the unit of work commits, each becomes an
:class:`EventEnvelope` — id, type, schema version, aggregate id and version,
actor, policy version, time and a JSON-safe payload *without personal data* —
written to the outbox and to the audit log in the same transaction.

Example:
    >>> import attrs
    >>> from datetime import datetime, timezone
    >>> from uuid import UUID
    >>> from eshop_core.access import Actor
    >>> from eshop_core.events import DomainEvent, EventEnvelope
    >>> @attrs.frozen(kw_only=True)
    ... class WidgetRenamed(DomainEvent):
    ...     name: str
    ...     owner_email: str = attrs.field(metadata={"pii": True})
    >>> ev = WidgetRenamed(
    ...     occurred_at=datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc),
    ...     actor=Actor("li.ming"), name="Blue", owner_email="li@example.com")
    >>> env = EventEnvelope.wrap(ev, aggregate_type="Widget",
    ...     aggregate_id=UUID(int=1), aggregate_version=2)
    >>> env.type, env.payload
    ('WidgetRenamed', {'name': 'Blue'})
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

import attrs

from eshop_core.access import Actor
from eshop_core.clock import ensure_aware
from eshop_core.errors import InvalidInputError
from eshop_core.ids import new_id
from eshop_core.money import Money

__all__ = ["DomainEvent", "EventEnvelope", "json_safe"]


def _aware_occurred_at(value: datetime) -> datetime:
    return ensure_aware(value, field="occurred_at")


@attrs.frozen(kw_only=True)
class DomainEvent:
    """
    Base of every domain event.

    Subclasses are ``@attrs.frozen(kw_only=True)`` and add their own fields;
    fields marked ``metadata={"pii": True}`` never leave the process in an
    envelope.

    Attributes:
        occurred_at: When it happened (aware).
        actor: Who caused it.
        policy_version: Version of the policy the decision was made under, if any.
    """

    schema_version: ClassVar[int] = 1

    occurred_at: datetime = attrs.field(converter=_aware_occurred_at)
    actor: Actor
    policy_version: int | None = None

    @classmethod
    def event_type(cls) -> str:
        """The event's type name (the class name)."""
        return cls.__name__

    def payload(self) -> dict[str, Any]:
        """Return the event's own fields, personal data left out (the envelope makes them JSON-safe)."""
        return {name: getattr(self, name) for name in _payload_fields(type(self))}


_PAYLOAD_FIELDS: dict[type[DomainEvent], tuple[str, ...]] = {}


def _payload_fields(cls: type[DomainEvent]) -> tuple[str, ...]:
    names = _PAYLOAD_FIELDS.get(cls)
    if names is None:
        base = {f.name for f in attrs.fields(DomainEvent)}
        names = tuple(
            f.name for f in attrs.fields(cls) if f.name not in base and not f.metadata.get("pii", False)
        )
        _PAYLOAD_FIELDS[cls] = names
    return names


_PLAIN: Final = frozenset({str, int, bool, type(None)})


def json_safe(value: object) -> Any:
    """
    Convert ``value`` into JSON-safe data (str, int, bool, None, lists, dicts).

    Decimals and UUIDs become strings, datetimes ISO-8601 strings, :class:`Money`
    ``{"amount": "12.30", "currency": "CNY"}``, enums their values, attrs
    objects dicts.
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {str(k): json_safe(v) for k, v in value.items()}  # type: ignore[attr-defined]
    if kind is Money:
        return {"amount": str(value.amount), "currency": value.currency}  # type: ignore[attr-defined]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        raise InvalidInputError("payload", f"floats are not allowed in events (got {value!r}); use Decimal")
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    if isinstance(value, Actor):
        return value.id
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [json_safe(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    cls = type(value)
    if attrs.has(cls):
        return {
            f.name: json_safe(getattr(value, f.name))
            for f in attrs.fields(cls)
            if not f.metadata.get("pii", False)
        }
    return str(value)


@attrs.frozen(kw_only=True)
class EventEnvelope:
    """
    What leaves the process for every event: outbox, audit log, subscribers.

    Attributes:
        id: The event's own id (UUIDv7).
        type: The event type name.
        schema_version: Version of the payload's shape.
        aggregate_type: The aggregate's type name.
        aggregate_id: The aggregate's id.
        aggregate_version: The aggregate's version after the change.
        actor_id: Who caused it.
        policy_version: Policy version of the decision, if any.
        occurred_at: When it happened (UTC).
        payload: Data without personal data, converted to JSON-safe values on construction.
    """

    id: uuid.UUID = attrs.field(factory=new_id)
    type: str
    schema_version: int = 1
    aggregate_type: str
    aggregate_id: uuid.UUID
    aggregate_version: int
    actor_id: str
    policy_version: int | None = None
    occurred_at: datetime = attrs.field(converter=_aware_occurred_at)
    payload: Mapping[str, Any] = attrs.field(factory=dict, converter=json_safe)

    @classmethod
    def wrap(
        cls,
        event: DomainEvent,
        *,
        aggregate_type: str,
        aggregate_id: uuid.UUID,
        aggregate_version: int,
    ) -> EventEnvelope:
        """Build the envelope of ``event`` raised by the given aggregate."""
        return cls(
            type=event.event_type(),
            schema_version=event.schema_version,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            actor_id=event.actor.id,
            policy_version=event.policy_version,
            occurred_at=event.occurred_at,
            payload=event.payload(),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the envelope as JSON-safe data."""
        return {
            "id": str(self.id),
            "type": self.type,
            "schema_version": self.schema_version,
            "aggregate_type": self.aggregate_type,
            "aggregate_id": str(self.aggregate_id),
            "aggregate_version": self.aggregate_version,
            "actor_id": self.actor_id,
            "policy_version": self.policy_version,
            "occurred_at": self.occurred_at.isoformat(),
            "payload": self.payload,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EventEnvelope:
        """Rebuild an envelope from :meth:`to_dict` output."""
        return cls(
            id=uuid.UUID(data["id"]),
            type=data["type"],
            schema_version=int(data["schema_version"]),
            aggregate_type=data["aggregate_type"],
            aggregate_id=uuid.UUID(data["aggregate_id"]),
            aggregate_version=int(data["aggregate_version"]),
            actor_id=data["actor_id"],
            policy_version=data.get("policy_version"),
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            payload=dict(data.get("payload") or {}),
        )
