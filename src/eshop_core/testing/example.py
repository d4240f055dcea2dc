"""
A small example aggregate that exercises every storage seam.

``Widget`` has a personal, blind-indexed e-mail and phone, money, a
filterable name and state, a lifecycle, events, and a review timer. Its stock
lives behind the atomic named port :class:`WidgetStock` (one conditional
statement per act in every backend). The conformance suite and plug-in
authors' tests use it; the SQL backend ships its tables (``testkit_*``).

Example:
    >>> from datetime import datetime, timezone
    >>> from eshop_core import Actor
    >>> from eshop_core.testing import Widget
    >>> li = Actor("li.ming")
    >>> w = Widget.create(name="Blue", owner_email="li@example.com", by=li,
    ...                   at=datetime(2026, 1, 5, tzinfo=timezone.utc))
    >>> w.state, w.version
    (<WidgetState.ACTIVE: 'active'>, 1)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Protocol, runtime_checkable

import attrs

from eshop_core.access import Actor
from eshop_core.clock import ensure_aware
from eshop_core.domain import Aggregate, Lifecycle
from eshop_core.errors import InsufficientStockError, InvalidInputError
from eshop_core.events import DomainEvent
from eshop_core.hookspecs import hookimpl
from eshop_core.money import Money

__all__ = [
    "WIDGET_LIFECYCLE",
    "WIDGET_REVIEW_TIMER",
    "MemoryWidgetStock",
    "Widget",
    "WidgetCreated",
    "WidgetRenamed",
    "WidgetRetired",
    "WidgetReviewed",
    "WidgetState",
    "WidgetStock",
]

WIDGET_REVIEW_TIMER: Final = "testkit.widget_review"


class WidgetState(StrEnum):
    """States of a widget."""

    ACTIVE = "active"
    RETIRED = "retired"


WIDGET_LIFECYCLE: Final = Lifecycle(
    "Widget",
    {
        (WidgetState.ACTIVE, "rename"): WidgetState.ACTIVE,
        (WidgetState.ACTIVE, "review"): WidgetState.ACTIVE,
        (WidgetState.ACTIVE, "retire"): WidgetState.RETIRED,
    },
    initial=WidgetState.ACTIVE,
    terminal={WidgetState.RETIRED},
)


@attrs.frozen(kw_only=True)
class WidgetCreated(DomainEvent):
    """A widget was created."""

    name: str
    owner_email: str = attrs.field(metadata={"pii": True})


@attrs.frozen(kw_only=True)
class WidgetRenamed(DomainEvent):
    """A widget was renamed."""

    old_name: str
    new_name: str


@attrs.frozen(kw_only=True)
class WidgetReviewed(DomainEvent):
    """A widget's review fell due and was recorded."""


@attrs.frozen(kw_only=True)
class WidgetRetired(DomainEvent):
    """A widget was retired."""

    reason: str


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError("name", "must be a non-empty string")
    if len(value) > 200:
        raise InvalidInputError("name", "must be at most 200 characters")
    return value.strip()


@attrs.define(kw_only=True, eq=False)
class Widget(Aggregate):
    """
    The example aggregate.

    Attributes:
        name: Display name (filterable).
        owner_email: Personal, blind-indexed.
        owner_phone: Personal, blind-indexed, normalised to E.164.
        price: Unit price.
        state: Lifecycle state (filterable).
        created_at: Creation time (UTC).
        reviews: How many reviews fell due.
        tags: Free labels.
    """

    name: str = attrs.field(metadata={"filterable": True})
    owner_email: str = attrs.field(metadata={"pii": True, "blind_index": True, "pii_kind": "email"})
    owner_phone: str | None = attrs.field(
        default=None, metadata={"pii": True, "blind_index": True, "pii_kind": "phone"}
    )
    price: Money = attrs.field(factory=lambda: Money.zero("CNY"))
    state: WidgetState = attrs.field(default=WidgetState.ACTIVE, metadata={"filterable": True})
    created_at: datetime
    reviews: int = 0
    tags: tuple[str, ...] = ()

    @classmethod
    def create(
        cls,
        *,
        name: str,
        owner_email: str,
        by: Actor,
        at: datetime,
        owner_phone: str | None = None,
        price: Money | None = None,
        tags: tuple[str, ...] = (),
    ) -> Widget:
        """Create a widget and record :class:`WidgetCreated`."""
        at = ensure_aware(at, field="at")
        if not isinstance(owner_email, str) or "@" not in owner_email:
            raise InvalidInputError("owner_email", "must be an e-mail address")
        widget = cls(
            name=_name(name),
            owner_email=owner_email,
            owner_phone=owner_phone,
            price=price if price is not None else Money.zero("CNY"),
            created_at=at,
            tags=tuple(tags),
        )
        widget._record(WidgetCreated(occurred_at=at, actor=by, name=widget.name, owner_email=owner_email))
        return widget

    def _fire(self, action: str) -> None:
        self.state = WIDGET_LIFECYCLE.fire(self.state, action, subject=f"Widget {self.id}")

    def rename(self, name: str, *, by: Actor, at: datetime) -> None:
        """Rename; refused once retired."""
        new = _name(name)
        self._fire("rename")
        old, self.name = self.name, new
        self._record(
            WidgetRenamed(occurred_at=ensure_aware(at, field="at"), actor=by, old_name=old, new_name=new)
        )

    def review(self, *, by: Actor, at: datetime) -> None:
        """Record that a review fell due."""
        self._fire("review")
        self.reviews += 1
        self._record(WidgetReviewed(occurred_at=ensure_aware(at, field="at"), actor=by))

    def retire(self, reason: str, *, by: Actor, at: datetime) -> None:
        """Retire the widget for good."""
        self._fire("retire")
        self._record(WidgetRetired(occurred_at=ensure_aware(at, field="at"), actor=by, reason=reason))


@runtime_checkable
class WidgetStock(Protocol):
    """
    Atomic named port: widget stock levels, never below zero.

    Each method is one atomic statement in every backend; nothing is loaded,
    changed and saved.
    """

    def receive(self, widget_id: uuid.UUID, quantity: int) -> int:
        """Add ``quantity`` (> 0) and return the new level."""
        ...

    def take(self, widget_id: uuid.UUID, quantity: int) -> int:
        """
        Remove ``quantity`` (> 0) if available and return the new level.

        Raises:
            InsufficientStockError: Fewer than ``quantity`` left; nothing changed.
        """
        ...

    def level(self, widget_id: uuid.UUID) -> int:
        """Return the current level (0 if never stocked)."""
        ...


def check_quantity(quantity: object) -> int:
    """Return ``quantity`` if it is a positive int, else raise :class:`InvalidInputError`."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidInputError("quantity", f"must be a positive integer, got {quantity!r}")
    return quantity


class MemoryWidgetStock:
    """The memory backend's :class:`WidgetStock`."""

    def __init__(self, uow: Any) -> None:
        self._uow = uow
        self._levels: dict[uuid.UUID, int] = uow.table("testkit_widget_stock")

    def receive(self, widget_id: uuid.UUID, quantity: int) -> int:
        """Add stock."""
        quantity = check_quantity(quantity)
        new = self._levels.get(widget_id, 0) + quantity
        self._uow.put(self._levels, widget_id, new)
        return new

    def take(self, widget_id: uuid.UUID, quantity: int) -> int:
        """Remove stock if available."""
        quantity = check_quantity(quantity)
        current = self._levels.get(widget_id, 0)
        if current < quantity:
            raise InsufficientStockError(str(widget_id), "default", quantity, current)
        self._uow.put(self._levels, widget_id, current - quantity)
        return current - quantity

    def level(self, widget_id: uuid.UUID) -> int:
        """Return the level."""
        return self._levels.get(widget_id, 0)


def _review_due(context: Any) -> None:
    widgets = context.uow.repository(Widget)
    widget = widgets.get(context.timer.aggregate_id)
    widget.review(by=context.uow.actor, at=context.now)
    widgets.save(widget)


@hookimpl
def eshop_register_storage_ports(
    backend: str, register: Callable[[type[Any], Callable[[Any], Any]], None]
) -> None:
    """Register the memory implementation of :class:`WidgetStock`."""
    if backend == "memory":
        register(WidgetStock, MemoryWidgetStock)


@hookimpl
def eshop_register_timer_handlers(register: Callable[[str, Callable[[Any], None]], None]) -> None:
    """Register the widget review timer."""
    register(WIDGET_REVIEW_TIMER, _review_due)
