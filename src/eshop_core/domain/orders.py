"""
Orders: the :class:`Order` aggregate and its lifecycle (ORD-01..04, ORD-07).

An order arrives from a sales channel, keyed on (channel, external id), with
the channel's modification time as its *revision*. It moves through
:data:`ORDER_LIFECYCLE`::

    pending_payment → paid → audited | held → confirmed → allocated
                                  held → audited (released by a person)
    confirmed → short → backordered | partial → allocated   (customer's choice)
    allocated | partial → partially_shipped → shipped → delivered → completed
    any state before shipment → cancelled
    allocated | short | backordered | partial → confirmed (reallocate: the items changed)

``modify`` is allowed before shipment and keeps the state. The consignee's
name, phone and address, the buyer and the buyer's note are personal data:
encrypted at rest, blind-indexed where the audit needs to match them, never
in events.

Every change records a past-tense event and a step of the order's timeline.

Example:
    >>> from eshop_core.domain.orders import ORDER_LIFECYCLE, OrderState
    >>> ORDER_LIFECYCLE.actions(OrderState.SHORT)
    ('backorder', 'cancel', 'modify', 'partial', 'reallocate')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import attrs

from eshop_core.access import Actor
from eshop_core.domain._aggregate import Aggregate
from eshop_core.domain._lifecycle import Lifecycle
from eshop_core.errors import InvalidInputError
from eshop_core.events import DomainEvent
from eshop_core.money import Money

__all__ = [
    "MODIFIABLE",
    "ORDER_LIFECYCLE",
    "PRE_SHIPMENT",
    "AuditFinding",
    "BackorderChosen",
    "ConfirmationOverdue",
    "Order",
    "OrderAllocated",
    "OrderAuditPassed",
    "OrderCancelled",
    "OrderConfirmed",
    "OrderDelivered",
    "OrderFlagged",
    "OrderHeld",
    "OrderLine",
    "OrderModified",
    "OrderPaid",
    "OrderReceived",
    "OrderReleased",
    "OrderRevisionApplied",
    "OrderRevisionIgnored",
    "OrderShipped",
    "OrderShort",
    "OrderState",
    "OrderStep",
    "PartialShipmentChosen",
    "PaymentReminderSent",
    "items_key",
]


class OrderState(StrEnum):
    """States of an order."""

    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    HELD = "held"
    AUDITED = "audited"
    CONFIRMED = "confirmed"
    SHORT = "short"
    BACKORDERED = "backordered"
    PARTIAL = "partial"
    ALLOCATED = "allocated"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


S = OrderState

PRE_SHIPMENT: Final = frozenset(
    {
        S.PENDING_PAYMENT,
        S.PAID,
        S.HELD,
        S.AUDITED,
        S.CONFIRMED,
        S.SHORT,
        S.BACKORDERED,
        S.PARTIAL,
        S.ALLOCATED,
    }
)
"""States in which nothing has been shipped; the order may still be modified or cancelled."""

_TRANSITIONS: dict[tuple[OrderState, str], OrderState] = {
    (S.PENDING_PAYMENT, "pay"): S.PAID,
    (S.PAID, "pass_audit"): S.AUDITED,
    (S.PAID, "hold"): S.HELD,
    (S.AUDITED, "hold"): S.HELD,
    (S.HELD, "hold"): S.HELD,
    (S.HELD, "release"): S.AUDITED,
    (S.AUDITED, "confirm"): S.CONFIRMED,
    (S.CONFIRMED, "allocate"): S.ALLOCATED,
    (S.CONFIRMED, "short"): S.SHORT,
    (S.SHORT, "backorder"): S.BACKORDERED,
    (S.SHORT, "partial"): S.PARTIAL,
    (S.BACKORDERED, "allocate"): S.ALLOCATED,
    (S.PARTIAL, "allocate"): S.ALLOCATED,
    (S.PARTIAL, "ship_part"): S.PARTIALLY_SHIPPED,
    (S.ALLOCATED, "ship_part"): S.PARTIALLY_SHIPPED,
    (S.ALLOCATED, "ship"): S.SHIPPED,
    (S.PARTIALLY_SHIPPED, "ship_part"): S.PARTIALLY_SHIPPED,
    (S.PARTIALLY_SHIPPED, "allocate"): S.PARTIALLY_SHIPPED,  # the rest of a partial order arrived
    (S.PARTIALLY_SHIPPED, "ship"): S.SHIPPED,
    (S.SHIPPED, "deliver"): S.DELIVERED,
    (S.DELIVERED, "complete"): S.COMPLETED,
}
for _state in PRE_SHIPMENT:
    _TRANSITIONS[(_state, "cancel")] = S.CANCELLED
    _TRANSITIONS[(_state, "modify")] = _state
for _state in (S.ALLOCATED, S.SHORT, S.BACKORDERED, S.PARTIAL):
    _TRANSITIONS[(_state, "reallocate")] = S.CONFIRMED  # items changed: reserve again

ORDER_LIFECYCLE: Final = Lifecycle(
    "Order", _TRANSITIONS, initial=S.PENDING_PAYMENT, terminal={S.COMPLETED, S.CANCELLED}
)
"""The order lifecycle (drawn in the orders concepts page)."""

_MAX_TEXT: Final = 2000
_AMOUNTS: Final = ("shipping_fee", "discount", "total")


MODIFIABLE: Final = (
    "consignee_name",
    "consignee_phone",
    "province",
    "city",
    "district",
    "address",
    "postcode",
    "buyer_note",
    "packaging",
)
"""The fields :meth:`Order.modify` may change before shipment."""


def _packaging(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInputError("packaging", "give a list of packaging needs, e.g. ['hardcover', 'fragile']")
    out = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item) > 64:
            raise InvalidInputError("packaging", f"each need is a short text, got {item!r}")
        out.append(item.strip().casefold())
    return tuple(sorted(set(out)))


def items_key(lines: Iterable[tuple[str, int]]) -> str:
    """
    Return the canonical form of an order's items, ``"sku*qty;..."`` sorted by SKU, to match duplicates.

    Example:
        >>> items_key([("MUG-RED", 1), ("MUG-BLUE", 2), ("MUG-RED", 1)])
        'MUG-BLUE*2;MUG-RED*2'
    """
    totals: dict[str, int] = {}
    for sku, quantity in lines:
        totals[sku] = totals.get(sku, 0) + quantity
    return ";".join(f"{sku}*{totals[sku]}" for sku in sorted(totals))


@attrs.frozen(kw_only=True)
class OrderLine:
    """
    One line of an order.

    Attributes:
        sku: The SKU.
        quantity: Units ordered.
        unit_price: Price per unit.
        discount: Discount on the line.
        allocations: ``(warehouse, units)`` reserved for the line.
        shipped: Units shipped.
    """

    sku: str
    quantity: int
    unit_price: Money
    discount: Money
    allocations: tuple[tuple[str, int], ...] = ()
    shipped: int = 0

    @property
    def total(self) -> Money:
        """Units times price, less the line's discount."""
        return self.unit_price * self.quantity - self.discount

    @property
    def allocated(self) -> int:
        """Units reserved for the line."""
        return sum(units for _w, units in self.allocations)

    @property
    def missing(self) -> int:
        """Units not yet reserved (and not shipped)."""
        return max(self.quantity - self.allocated - self.shipped, 0)


@attrs.frozen(kw_only=True)
class AuditFinding:
    """
    Why the audit held an order (ORD-02); no personal data.

    Attributes:
        rule: The audit rule's name (``duplicate``, ``abnormal_amount``, ``address``, ``phone``,
            ``buyer_note``...).
        detail: What it found.
    """

    rule: str
    detail: str


@attrs.frozen(kw_only=True)
class OrderStep:
    """
    One entry of the order's timeline (ORD-06).

    Attributes:
        action: What happened (``received``, ``paid``, ``held``, ``confirmed``...).
        state: The state after it.
        by: Who (actor id).
        at: When.
        note: Details (never personal data).
    """

    action: str
    state: OrderState
    by: str
    at: datetime
    note: str | None = None


# -- events ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OrderReceived(DomainEvent):
    """A channel order entered the shop."""

    channel: str
    external_id: str
    state: OrderState
    total: Money
    lines: int


@attrs.frozen(kw_only=True)
class OrderRevisionApplied(DomainEvent):
    """A newer revision of the channel order was applied."""

    revision: datetime
    changed: list[str]


@attrs.frozen(kw_only=True)
class OrderRevisionIgnored(DomainEvent):
    """An older revision of the channel order arrived and was ignored."""

    revision: datetime
    current: datetime
    reason: str


@attrs.frozen(kw_only=True)
class OrderPaid(DomainEvent):
    """The buyer paid."""

    amount: Money


@attrs.frozen(kw_only=True)
class OrderAuditPassed(DomainEvent):
    """The audit found nothing."""


@attrs.frozen(kw_only=True)
class OrderHeld(DomainEvent):
    """The order is held for a person: the audit's findings or a person's reason."""

    findings: list[dict[str, str]]


@attrs.frozen(kw_only=True)
class OrderFlagged(DomainEvent):
    """Findings were added to an order past its audit (its state did not change)."""

    findings: list[dict[str, str]]


@attrs.frozen(kw_only=True)
class OrderReleased(DomainEvent):
    """A person resolved the findings and released the order."""

    note: str


@attrs.frozen(kw_only=True)
class OrderConfirmed(DomainEvent):
    """The order was confirmed (ORD-03)."""

    due_at: datetime | None
    late: bool


@attrs.frozen(kw_only=True)
class OrderAllocated(DomainEvent):
    """Stock was reserved for every unit still to ship."""

    allocations: dict[str, list[list[Any]]]


@attrs.frozen(kw_only=True)
class OrderShort(DomainEvent):
    """Stock was short on confirmation; the customer is asked to wait or take a partial shipment (ORD-04)."""

    shortage: dict[str, int]
    allocations: dict[str, list[list[Any]]]


@attrs.frozen(kw_only=True)
class BackorderChosen(DomainEvent):
    """The customer chose to wait for the whole order."""


@attrs.frozen(kw_only=True)
class PartialShipmentChosen(DomainEvent):
    """The customer chose to receive what is in stock now and the rest later."""


@attrs.frozen(kw_only=True)
class PaymentReminderSent(DomainEvent):
    """The buyer was reminded to pay (ORD-07); a notifier delivers it."""

    channel: str
    external_id: str
    reminder: int


@attrs.frozen(kw_only=True)
class ConfirmationOverdue(DomainEvent):
    """The order was not confirmed by its deadline (ORD-03)."""

    due_at: datetime


@attrs.frozen(kw_only=True)
class OrderModified(DomainEvent):
    """The order was changed before shipment (ORD-08); personal fields are named, not shown."""

    changed: list[str]


@attrs.frozen(kw_only=True)
class OrderShipped(DomainEvent):
    """Part or all of the order left a warehouse (ORD-05)."""

    shipment_id: str
    warehouse: str
    lines: dict[str, int]
    complete: bool


@attrs.frozen(kw_only=True)
class OrderDelivered(DomainEvent):
    """Every parcel of the order was delivered."""


@attrs.frozen(kw_only=True)
class OrderCancelled(DomainEvent):
    """The order was cancelled; its reservations were released."""

    reason: str
    released: dict[str, list[list[Any]]]


def _text(field: str, value: object, *, optional: bool = False, limit: int = _MAX_TEXT) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if optional:
            return None
        raise InvalidInputError(field, "must be a non-empty string")
    if not isinstance(value, str):
        raise InvalidInputError(field, f"expected a string, got {type(value).__name__}")
    if len(value) > limit:
        raise InvalidInputError(field, f"must be at most {limit} characters")
    return value.strip()


def _allocations(lines: Sequence[OrderLine]) -> dict[str, list[list[Any]]]:
    return {line.sku: [[w, n] for w, n in line.allocations] for line in lines if line.allocations}


@attrs.define(kw_only=True, eq=False)
class Order(Aggregate):
    """
    A customer order from a sales channel.

    Attributes:
        channel: The sales channel (filterable).
        external_id: The channel's order id (filterable).
        revision: The channel's modification time of the version applied.
        state: :class:`OrderState` (filterable).
        placed_at: When the buyer placed it.
        paid_at: When the buyer paid.
        buyer: The buyer's channel account (personal data, searchable).
        consignee_name: Who receives it (personal data, searchable).
        consignee_phone: Their phone (personal data, searchable).
        province: Province of the address.
        city: City.
        district: District.
        address: Street, building and door (personal data).
        postcode: Postal code.
        lines: The lines.
        shipping_fee: Shipping charged.
        discount: Order-level discount.
        total: What the buyer pays: lines plus shipping less discount.
        payment_method: How they paid (``alipay``, ``wechat``, ``card``...).
        payment_reference: The payment's transaction id.
        buyer_note: The buyer's note (personal data).
        packaging: Special packaging the order needs (``hardcover``, ``fragile``...; ORD-08).
        items_key: Canonical items, for duplicate matching (filterable).
        findings: The audit's findings while held.
        policy_version: The policy version of the latest audit or confirmation decision.
        confirmation_due_at: When it must be confirmed by (ORD-03).
        confirmed_at: When it was confirmed.
        confirmed_by: Who confirmed it.
        confirmed_late: Whether the confirmation missed its deadline (filterable).
        overdue: Flagged when the deadline passed unconfirmed (filterable).
        reminders_sent: Payment reminders sent (ORD-07).
        cancel_reason: Why it was cancelled.
        steps: The timeline.
    """

    channel: str = attrs.field(metadata={"filterable": True})
    external_id: str = attrs.field(metadata={"filterable": True})
    revision: datetime
    state: OrderState = attrs.field(default=S.PENDING_PAYMENT, metadata={"filterable": True})
    placed_at: datetime
    paid_at: datetime | None = None
    buyer: str | None = attrs.field(default=None, metadata={"pii": True, "blind_index": True})
    consignee_name: str = attrs.field(metadata={"pii": True, "blind_index": True})
    consignee_phone: str = attrs.field(metadata={"pii": True, "blind_index": True, "pii_kind": "phone"})
    province: str
    city: str
    district: str = ""
    address: str = attrs.field(metadata={"pii": True})
    postcode: str | None = None
    lines: list[OrderLine]
    shipping_fee: Money
    discount: Money
    total: Money
    payment_method: str | None = None
    payment_reference: str | None = None
    buyer_note: str | None = attrs.field(default=None, metadata={"pii": True})
    packaging: tuple[str, ...] = ()
    items_key: str = attrs.field(default="", metadata={"filterable": True})
    findings: list[AuditFinding] = attrs.field(factory=list)
    policy_version: int | None = None
    confirmation_due_at: datetime | None = None
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    confirmed_late: bool | None = attrs.field(default=None, metadata={"filterable": True})
    overdue: bool = attrs.field(default=False, metadata={"filterable": True})
    reminders_sent: int = 0
    cancel_reason: str | None = None
    steps: list[OrderStep] = attrs.field(factory=list)

    @property
    def subject(self) -> str:
        """How errors name this order."""
        return f"Order {self.channel}/{self.external_id}"

    def _step(self, action: str, by: Actor, at: datetime, note: str | None = None) -> None:
        self.steps.append(OrderStep(action=action, state=self.state, by=by.id, at=at, note=note))

    def _fire(self, action: str) -> None:
        self.state = ORDER_LIFECYCLE.fire(self.state, action, subject=self.subject)

    # -- arrival --------------------------------------------------------------------------

    @classmethod
    def receive(cls, *, fields: Mapping[str, Any], paid: bool, by: Actor, at: datetime) -> Order:
        """
        Create an order from a channel order's validated ``fields`` (see the orders schema).

        ``paid`` moves it to ``paid`` at once (the channel reported payment).
        """
        order = cls(**fields)
        order.items_key = items_key((line.sku, line.quantity) for line in order.lines)
        order._step("received", by, at, f"{order.channel} {order.external_id}")
        order._record(
            OrderReceived(
                occurred_at=at,
                actor=by,
                channel=order.channel,
                external_id=order.external_id,
                state=order.state,
                total=order.total,
                lines=len(order.lines),
            )
        )
        if paid:
            order.pay(paid_at=order.paid_at or at, by=by, at=at)
        return order

    def pay(self, *, paid_at: datetime, by: Actor, at: datetime) -> None:
        """Record the payment."""
        self._fire("pay")
        self.paid_at = paid_at
        self._step("paid", by, at, self.payment_method)
        self._record(OrderPaid(occurred_at=at, actor=by, amount=self.total))

    def apply_revision(
        self, *, revision: datetime, changes: Mapping[str, Any], by: Actor, at: datetime
    ) -> list[str]:
        """
        Apply a newer revision's ``changes`` (field name to new value); return the fields changed.

        Consignee, address and note changes apply before shipment; line changes only
        before confirmation (after it they are ignored and the order is held for a
        person). Payment is applied with :meth:`pay`, cancellation by the service.
        """
        changed: list[str] = []
        lines_changed = "lines" in changes and [
            (x.sku, x.quantity, x.unit_price, x.discount) for x in changes["lines"]
        ] != [(x.sku, x.quantity, x.unit_price, x.discount) for x in self.lines]
        amounts_changed = lines_changed or any(
            name in changes and getattr(self, name) != changes[name] for name in _AMOUNTS
        )
        if self.state in PRE_SHIPMENT:
            for name, value in changes.items():
                if name == "lines" or name in _AMOUNTS or getattr(self, name) == value:
                    continue
                setattr(self, name, value)
                changed.append(name)
            if amounts_changed and self.state in (S.PENDING_PAYMENT, S.PAID, S.HELD, S.AUDITED):
                if lines_changed:
                    self.lines = list(changes["lines"])
                    self.items_key = items_key((line.sku, line.quantity) for line in self.lines)
                    changed.append("lines")
                for name in _AMOUNTS:
                    if name in changes and getattr(self, name) != changes[name]:
                        setattr(self, name, changes[name])
                        changed.append(name)
        self.revision = revision
        self._step("revised", by, at, ", ".join(changed) or "no change")
        self._record(OrderRevisionApplied(occurred_at=at, actor=by, revision=revision, changed=changed))
        if amounts_changed and not ({"lines", *_AMOUNTS} & set(changed)):
            finding = AuditFinding(
                rule="channel_change", detail="the channel changed the items or amounts after confirmation"
            )
            if ORDER_LIFECYCLE.can(self.state, "hold"):
                self.hold([finding], by=by, at=at, policy_version=self.policy_version)
            else:  # confirmed or later: keep what was confirmed, flag it for a person
                self.flag([finding], by=by, at=at)
        return changed

    def flag(self, findings: Sequence[AuditFinding], *, by: Actor, at: datetime) -> None:
        """Add findings for a person without changing the state (an order past its audit)."""
        self.findings = [*self.findings, *findings]
        self._step("flagged", by, at, "; ".join(f"{f.rule}: {f.detail}" for f in findings))
        self._record(
            OrderFlagged(
                occurred_at=at, actor=by, findings=[{"rule": f.rule, "detail": f.detail} for f in findings]
            )
        )

    def ignore_revision(self, *, revision: datetime, by: Actor, at: datetime) -> None:
        """Record that an older revision arrived and was not applied."""
        self._step("revision_ignored", by, at, revision.isoformat())
        self._record(
            OrderRevisionIgnored(
                occurred_at=at, actor=by, revision=revision, current=self.revision, reason="older revision"
            )
        )

    # -- audit --------------------------------------------------------------------------

    def pass_audit(self, *, by: Actor, at: datetime, policy_version: int | None) -> None:
        """Record that the audit found nothing."""
        self._fire("pass_audit")
        self.policy_version = policy_version
        self.findings = []
        self._step("audited", by, at)
        self._record(OrderAuditPassed(occurred_at=at, actor=by, policy_version=policy_version))

    def hold(
        self, findings: Sequence[AuditFinding], *, by: Actor, at: datetime, policy_version: int | None
    ) -> None:
        """
        Hold the order for a person with ``findings``.

        Raises:
            InvalidTransitionError: It cannot be held in its state.
            InvalidInputError: No findings.
        """
        if not findings:
            raise InvalidInputError("findings", "say why the order is held")
        self._fire("hold")
        self.findings = [*self.findings, *findings]
        if policy_version is not None:
            self.policy_version = policy_version
        self._step("held", by, at, "; ".join(f"{f.rule}: {f.detail}" for f in findings))
        self._record(
            OrderHeld(
                occurred_at=at,
                actor=by,
                policy_version=policy_version,
                findings=[{"rule": f.rule, "detail": f.detail} for f in findings],
            )
        )

    def release(self, *, note: str, by: Actor, at: datetime) -> None:
        """
        Release a held order after a person resolved its findings.

        Raises:
            InvalidTransitionError: It is not held.
            InvalidInputError: No note.
        """
        text = _text("note", note)
        assert text is not None
        self._fire("release")
        self.findings = []
        self._step("released", by, at, text)
        self._record(OrderReleased(occurred_at=at, actor=by, note=text))

    # -- confirmation and allocation ----------------------------------------------------

    def confirm(self, *, by: Actor, at: datetime, policy_version: int | None) -> None:
        """
        Confirm the order (ORD-03); lateness is measured against :attr:`confirmation_due_at`.

        Raises:
            InvalidTransitionError: It is not audited (unpaid, held, confirmed already...).
        """
        self._fire("confirm")
        self.confirmed_at = at
        self.confirmed_by = by.id
        self.confirmed_late = self.confirmation_due_at is not None and at > self.confirmation_due_at
        self.policy_version = policy_version
        self._step("confirmed", by, at, "late" if self.confirmed_late else None)
        self._record(
            OrderConfirmed(
                occurred_at=at,
                actor=by,
                policy_version=policy_version,
                due_at=self.confirmation_due_at,
                late=self.confirmed_late,
            )
        )

    def allocate(self, reserved: Mapping[str, Sequence[tuple[str, int]]], *, by: Actor, at: datetime) -> None:
        """
        Record stock reserved per SKU (``{sku: [(warehouse, units), ...]}``) and move on.

        With every unit reserved the order is ``allocated``; a confirmed order
        with units missing becomes ``short`` and the customer chooses.

        Raises:
            InvalidTransitionError: Allocation is not possible in its state.
            InvalidInputError: More reserved than a line misses, or a SKU not on the order.
        """
        remaining = {sku: list(parts) for sku, parts in reserved.items()}
        lines = []
        for line in self.lines:
            parts = remaining.pop(line.sku, [])
            units = sum(n for _w, n in parts)
            if units > line.missing:
                raise InvalidInputError(
                    "reserved", f"{units} units of {line.sku} exceed the {line.missing} missing"
                )
            if parts:
                merged: dict[str, int] = dict(line.allocations)
                for warehouse, n in parts:
                    merged[warehouse] = merged.get(warehouse, 0) + n
                line = attrs.evolve(line, allocations=tuple(sorted(merged.items())))
            lines.append(line)
        if remaining:
            raise InvalidInputError("reserved", f"{sorted(remaining)[0]} is not on {self.subject}")
        complete = all(line.missing == 0 for line in lines)
        if complete:
            self._fire("allocate")
        elif self.state is S.CONFIRMED:
            self._fire("short")
        elif not ORDER_LIFECYCLE.can(self.state, "allocate"):
            self._fire("allocate")  # raises InvalidTransitionError naming the state
        self.lines = lines
        if complete:
            self._step("allocated", by, at)
            self._record(OrderAllocated(occurred_at=at, actor=by, allocations=_allocations(lines)))
        elif reserved or self.state is S.SHORT:
            # short on confirmation, or a waiting order that got part of what it misses
            shortage = {line.sku: line.missing for line in lines if line.missing}
            action = "short" if self.state is S.SHORT else "allocated_part"
            self._step(action, by, at, ", ".join(f"{k} x{v}" for k, v in shortage.items()))
            self._record(
                OrderShort(occurred_at=at, actor=by, shortage=shortage, allocations=_allocations(lines))
            )

    @property
    def shortage(self) -> dict[str, int]:
        """``{sku: units}`` not yet reserved."""
        return {line.sku: line.missing for line in self.lines if line.missing}

    def choose_backorder(self, *, by: Actor, at: datetime) -> None:
        """The customer waits for the whole order (ORD-04)."""
        self._fire("backorder")
        self._step("backorder_chosen", by, at)
        self._record(BackorderChosen(occurred_at=at, actor=by))

    def choose_partial(self, *, by: Actor, at: datetime) -> None:
        """The customer takes what is in stock now, the rest later (ORD-04)."""
        self._fire("partial")
        self._step("partial_chosen", by, at)
        self._record(PartialShipmentChosen(occurred_at=at, actor=by))

    # -- follow-up ------------------------------------------------------------------------

    def remind_payment(self, *, by: Actor, at: datetime) -> bool:
        """Record a payment reminder (ORD-07); ``False`` (nothing recorded) unless still unpaid."""
        if self.state is not S.PENDING_PAYMENT:
            return False
        self.reminders_sent += 1
        self._step("payment_reminder", by, at, f"reminder {self.reminders_sent}")
        self._record(
            PaymentReminderSent(
                occurred_at=at,
                actor=by,
                channel=self.channel,
                external_id=self.external_id,
                reminder=self.reminders_sent,
            )
        )
        return True

    def flag_overdue(self, *, by: Actor, at: datetime) -> bool:
        """Flag the order overdue if it is still unconfirmed at its deadline; ``False`` otherwise."""
        unconfirmed = self.state in (S.PAID, S.HELD, S.AUDITED)
        if (
            self.overdue
            or not unconfirmed
            or self.confirmation_due_at is None
            or at < self.confirmation_due_at
        ):
            return False
        self.overdue = True
        self._step("confirmation_overdue", by, at)
        self._record(ConfirmationOverdue(occurred_at=at, actor=by, due_at=self.confirmation_due_at))
        return True

    def modify(self, changes: Mapping[str, Any], *, by: Actor, at: datetime) -> list[str]:
        """
        Change the consignee, address, note or special packaging before shipment (ORD-08).

        ``changes`` maps field names of :data:`MODIFIABLE` to new values; the
        fields actually changed are returned (and named in the event, never their values).

        Raises:
            InvalidTransitionError: Something was shipped already, or it is cancelled.
            InvalidInputError: An unknown field or a bad value.
        """
        self._fire("modify")
        changed = []
        for name, value in changes.items():
            if name not in MODIFIABLE:
                raise InvalidInputError(name, f"cannot be modified; modifiable: {', '.join(MODIFIABLE)}")
            if name == "packaging":
                value = _packaging(value)
            elif name in ("district", "postcode", "buyer_note"):
                value = _text(name, value, optional=True, limit=500)
                value = "" if value is None and name == "district" else value
            else:
                value = _text(name, value, limit=500)
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed.append(name)
        if changed:
            self._step("modified", by, at, ", ".join(changed))
            self._record(OrderModified(occurred_at=at, actor=by, changed=changed))
        return changed

    def replace_lines(
        self, lines: Sequence[OrderLine], *, by: Actor, at: datetime
    ) -> dict[str, list[tuple[str, int]]]:
        """
        Replace the items before shipment (ORD-08); return the reservations the caller must release.

        A confirmed order goes back to ``confirmed`` to be allocated again.

        Raises:
            InvalidTransitionError: Something was shipped already, or it is cancelled.
            InvalidInputError: No lines, a line in another currency, or a total that does not add up.
        """
        self._fire("modify")
        if not lines:
            raise InvalidInputError("lines", "an order needs at least one line")
        currency = self.total.currency
        seen: set[str] = set()
        for i, line in enumerate(lines):
            if line.unit_price.currency != currency or line.discount.currency != currency:
                raise InvalidInputError(f"lines.{i}", f"must be in {currency} like the order")
            if line.sku in seen:
                raise InvalidInputError(f"lines.{i}.sku", f"{line.sku} is on two lines; give it once")
            seen.add(line.sku)
            if line.total.amount < 0:
                raise InvalidInputError(
                    f"lines.{i}.discount", f"{line.discount} is more than the line's amount"
                )
        released = {line.sku: list(line.allocations) for line in self.lines if line.allocations}
        if ORDER_LIFECYCLE.can(self.state, "reallocate"):
            self._fire("reallocate")
        self.lines = [attrs.evolve(line, allocations=(), shipped=0) for line in lines]
        self.total = sum((line.total for line in self.lines), self.shipping_fee) - self.discount
        self.items_key = items_key((line.sku, line.quantity) for line in self.lines)
        self._step("items_modified", by, at, self.items_key)
        self._record(OrderModified(occurred_at=at, actor=by, changed=["lines", "total"]))
        return released

    def record_shipment(
        self, shipment_id: str, warehouse: str, lines: Mapping[str, int], *, by: Actor, at: datetime
    ) -> bool:
        """
        Record units shipped from ``warehouse`` out of what was reserved there; return whether all is.

        Raises:
            InvalidTransitionError: The order cannot ship in its state (unpaid, held, short...).
            InvalidInputError: A SKU not on the order, or more units than are reserved for it there.
        """
        if not ORDER_LIFECYCLE.can(self.state, "ship_part"):
            self._fire("ship")  # raises InvalidTransitionError naming the state
        by_sku = {line.sku: line for line in self.lines}
        updated = dict(by_sku)
        for sku, units in lines.items():
            line = by_sku.get(sku)
            if line is None:
                raise InvalidInputError("lines", f"{sku} is not on {self.subject}")
            here = dict(line.allocations).get(warehouse, 0)
            if isinstance(units, bool) or not isinstance(units, int) or not 0 < units <= here:
                raise InvalidInputError(
                    f"lines.{sku}",
                    f"{units!r} units: {here} of {sku} are reserved for this order in {warehouse}",
                )
            left = dict(line.allocations)
            left[warehouse] = here - units
            updated[sku] = attrs.evolve(
                line,
                allocations=tuple(sorted((w, n) for w, n in left.items() if n)),
                shipped=line.shipped + units,
            )
        self.lines = [updated[line.sku] for line in self.lines]
        complete = all(line.shipped >= line.quantity for line in self.lines)
        self._fire("ship" if complete else "ship_part")
        self._step("shipped" if complete else "shipped_part", by, at, f"shipment {shipment_id}")
        self._record(
            OrderShipped(
                occurred_at=at,
                actor=by,
                shipment_id=shipment_id,
                warehouse=warehouse,
                lines=dict(lines),
                complete=complete,
            )
        )
        return complete

    def deliver(self, *, by: Actor, at: datetime) -> None:
        """
        Record that every parcel was delivered.

        Raises:
            InvalidTransitionError: It is not fully shipped.
        """
        self._fire("deliver")
        self._step("delivered", by, at)
        self._record(OrderDelivered(occurred_at=at, actor=by))

    def cancel(self, *, reason: str, by: Actor, at: datetime) -> dict[str, list[tuple[str, int]]]:
        """
        Cancel the order before shipment; return the reservations the caller must release.

        Raises:
            InvalidTransitionError: Something was shipped already, or it is cancelled.
            InvalidInputError: No reason.
        """
        text = _text("reason", reason)
        assert text is not None
        self._fire("cancel")
        released = {line.sku: list(line.allocations) for line in self.lines if line.allocations}
        self.lines = [attrs.evolve(line, allocations=()) for line in self.lines]
        self.cancel_reason = text
        self._step("cancelled", by, at, text)
        self._record(
            OrderCancelled(
                occurred_at=at,
                actor=by,
                reason=text,
                released={sku: [[w, n] for w, n in parts] for sku, parts in released.items()},
            )
        )
        return released

    @property
    def unconfirmed(self) -> bool:
        """Whether it is paid but not yet confirmed."""
        return self.state in (S.PAID, S.HELD, S.AUDITED)
