"""
Purchasing: suppliers with evaluations, purchase orders, receiving with inspection (INV-05, INV-06).

A :class:`Supplier` carries its qualification and the evaluations purchasing
records on five criteria (qualification, reputation, quality, price, capacity;
1 to 5 each). A :class:`PurchaseOrder` asks one supplier for SKUs into one
warehouse by an expected arrival, and moves through
:data:`PURCHASE_ORDER_LIFECYCLE`::

    draft → placed → partially_received → received
    draft | placed → cancelled;  partially_received → closed (short-closed)

Goods are inspected on arrival: each :class:`ReceiptLine` splits what arrived
into accepted units (which enter stock) and rejected units (which go back to
the supplier, recorded by :meth:`PurchaseOrder.return_rejected`). Accepting
more than was ordered needs an explicit over-receipt.

Example:
    >>> import uuid
    >>> from datetime import date, datetime, timezone
    >>> from eshop_core import Actor, Money, Role
    >>> from eshop_core.domain.purchasing import PurchaseLine, PurchaseOrder, ReceiptLine
    >>> zhou = Actor("zhou.min", roles={Role.PURCHASING})
    >>> at = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    >>> po = PurchaseOrder.draft(
    ...     supplier_id=uuid.UUID(int=1), warehouse="SH-01", expected_arrival=date(2026, 3, 9),
    ...     lines=[PurchaseLine(sku="MUG-BLUE", quantity=100, unit_cost=Money.of("12.50", "CNY"))],
    ...     by=zhou, at=at)
    >>> po.place(by=zhou, at=at)
    >>> po.receive([ReceiptLine(sku="MUG-BLUE", received=110, accepted=110)], by=zhou, at=at)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidInputError: invalid lines.0.accepted: accepting 110 of MUG-BLUE exceeds ...
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

import attrs

from eshop_core.access import Actor
from eshop_core.clock import ensure_aware
from eshop_core.domain._aggregate import Aggregate
from eshop_core.domain._lifecycle import Lifecycle
from eshop_core.domain._text import optional_text, required_text
from eshop_core.domain.catalog import check_sku
from eshop_core.domain.evaluations import Evaluation
from eshop_core.domain.inventory import check_quantity, check_warehouse_code
from eshop_core.errors import InvalidInputError, InvalidTransitionError
from eshop_core.events import DomainEvent
from eshop_core.money import Money

__all__ = [
    "EVALUATION_CRITERIA",
    "PURCHASE_ORDER_LIFECYCLE",
    "PurchaseLine",
    "PurchaseOrder",
    "PurchaseOrderCancelled",
    "PurchaseOrderClosed",
    "PurchaseOrderDrafted",
    "PurchaseOrderPlaced",
    "PurchaseOrderState",
    "Receipt",
    "ReceiptLine",
    "RejectedGoodsReturned",
    "Supplier",
    "SupplierEvaluated",
    "SupplierEvaluation",
    "SupplierRegistered",
    "SupplierReturn",
]

_CODE: Final = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

EVALUATION_CRITERIA: Final = ("qualification", "reputation", "quality", "price", "capacity")
"""What a supplier is evaluated on (INV-05), each scored 1 to 5."""


# -- suppliers --------------------------------------------------------------------


SupplierEvaluation = Evaluation
"""A supplier's evaluation on the criteria (an :class:`~eshop_core.domain.evaluations.Evaluation`)."""


@attrs.frozen(kw_only=True)
class SupplierRegistered(DomainEvent):
    """A supplier was registered."""

    code: str
    name: str


@attrs.frozen(kw_only=True)
class SupplierEvaluated(DomainEvent):
    """A supplier was evaluated."""

    code: str
    overall: Decimal


@attrs.define(kw_only=True, eq=False)
class Supplier(Aggregate):
    """
    A supplier of goods.

    Attributes:
        code: Short unique code (filterable).
        name: Company name (filterable).
        contact_name: The contact person (personal data).
        contact_phone: Their phone (personal data, searchable for erasure).
        licence_number: Business licence or qualification certificate.
        qualified_until: When the qualification expires, if it does.
        evaluations: Every evaluation, oldest first.
    """

    code: str = attrs.field(metadata={"filterable": True})
    name: str = attrs.field(metadata={"filterable": True})
    contact_name: str | None = attrs.field(
        default=None, metadata={"pii": True, "blind_index": True, "pii_kind": "text"}
    )
    contact_phone: str | None = attrs.field(
        default=None, metadata={"pii": True, "blind_index": True, "pii_kind": "phone"}
    )
    licence_number: str | None = None
    qualified_until: date | None = None
    evaluations: list[SupplierEvaluation] = attrs.field(factory=list)

    @classmethod
    def register(
        cls,
        *,
        code: str,
        name: str,
        contact_name: str | None = None,
        contact_phone: str | None = None,
        licence_number: str | None = None,
        qualified_until: date | None = None,
        by: Actor,
        at: datetime,
    ) -> Supplier:
        """
        Register a supplier.

        Raises:
            InvalidInputError: A bad code or name.
        """
        if not isinstance(code, str) or not _CODE.match(code):
            raise InvalidInputError("code", f"{code!r} is not a supplier code (1-32 letters, digits, -, _)")
        if qualified_until is not None and (
            not isinstance(qualified_until, date) or isinstance(qualified_until, datetime)
        ):
            raise InvalidInputError("qualified_until", "expected a date")
        supplier = cls(
            code=code,
            name=required_text("name", name),
            contact_name=optional_text("contact_name", contact_name),
            contact_phone=optional_text("contact_phone", contact_phone),
            licence_number=optional_text("licence_number", licence_number),
            qualified_until=qualified_until,
        )
        supplier._record(SupplierRegistered(occurred_at=at, actor=by, code=code, name=supplier.name))
        return supplier

    def qualified_on(self, day: date) -> bool:
        """Whether the qualification is valid on ``day`` (no expiry: always)."""
        return self.qualified_until is None or day <= self.qualified_until

    @property
    def latest_evaluation(self) -> SupplierEvaluation | None:
        """The most recent evaluation, if any."""
        return self.evaluations[-1] if self.evaluations else None

    def evaluate(
        self, scores: dict[str, int], *, note: str | None, by: Actor, at: datetime
    ) -> SupplierEvaluation:
        """
        Record an evaluation.

        Raises:
            InvalidInputError: ``scores.<criterion>`` missing, unknown or not 1 to 5.
        """
        evaluation = Evaluation.record(scores, criteria=EVALUATION_CRITERIA, note=note, by=by, at=at)
        self.evaluations.append(evaluation)
        self._record(SupplierEvaluated(occurred_at=at, actor=by, code=self.code, overall=evaluation.overall))
        return evaluation


# -- purchase orders --------------------------------------------------------------


class PurchaseOrderState(StrEnum):
    """States of a purchase order."""

    DRAFT = "draft"
    PLACED = "placed"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CLOSED = "closed"
    CANCELLED = "cancelled"


PURCHASE_ORDER_LIFECYCLE: Final = Lifecycle(
    "PurchaseOrder",
    {
        (PurchaseOrderState.DRAFT, "place"): PurchaseOrderState.PLACED,
        (PurchaseOrderState.DRAFT, "cancel"): PurchaseOrderState.CANCELLED,
        (PurchaseOrderState.PLACED, "cancel"): PurchaseOrderState.CANCELLED,
        (PurchaseOrderState.PLACED, "receive_part"): PurchaseOrderState.PARTIALLY_RECEIVED,
        (PurchaseOrderState.PLACED, "receive_all"): PurchaseOrderState.RECEIVED,
        (PurchaseOrderState.PARTIALLY_RECEIVED, "receive_part"): PurchaseOrderState.PARTIALLY_RECEIVED,
        (PurchaseOrderState.PARTIALLY_RECEIVED, "receive_all"): PurchaseOrderState.RECEIVED,
        (PurchaseOrderState.PARTIALLY_RECEIVED, "close"): PurchaseOrderState.CLOSED,
    },
    initial=PurchaseOrderState.DRAFT,
    terminal={PurchaseOrderState.RECEIVED, PurchaseOrderState.CLOSED, PurchaseOrderState.CANCELLED},
)
"""The purchase order lifecycle."""

OPEN_STATES: Final = frozenset({PurchaseOrderState.PLACED, PurchaseOrderState.PARTIALLY_RECEIVED})
"""States in which goods are still expected."""


@attrs.frozen(kw_only=True)
class PurchaseLine:
    """
    One SKU on a purchase order.

    Attributes:
        sku: The SKU.
        quantity: Units ordered.
        unit_cost: Cost per unit.
        accepted: Units accepted into stock so far.
        rejected: Units rejected at inspection so far.
        returned: Rejected units sent back to the supplier so far.
    """

    sku: str = attrs.field(converter=check_sku)
    quantity: int = attrs.field(converter=check_quantity)
    unit_cost: Money
    accepted: int = 0
    rejected: int = 0
    returned: int = 0

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.unit_cost, Money) or self.unit_cost.amount < 0:
            raise InvalidInputError("unit_cost", "must be a non-negative Money")
        if not self.unit_cost.is_rounded:
            raise InvalidInputError("unit_cost", f"{self.unit_cost} is finer than the currency's minor unit")

    @property
    def outstanding(self) -> int:
        """Units still expected (0 once the order is fully accepted)."""
        return max(self.quantity - self.accepted, 0)

    @property
    def awaiting_return(self) -> int:
        """Rejected units not yet sent back."""
        return self.rejected - self.returned


@attrs.frozen(kw_only=True)
class ReceiptLine:
    """
    What arrived of one SKU and what inspection made of it (INV-06).

    Attributes:
        sku: The SKU.
        received: Units that arrived.
        accepted: Units that passed inspection (enter stock).
        rejected: Units that failed (quantity, quality or specification); ``received - accepted``
            when not given.
        reason: Why units were rejected (required when any were).
    """

    sku: str
    received: int
    accepted: int
    rejected: int | None = None
    reason: str | None = None

    def checked(self, index: int) -> ReceiptLine:
        """Return the line validated and completed, naming ``lines.<index>`` in errors."""
        path = f"lines.{index}"
        sku = check_sku(self.sku, field=f"{path}.sku")
        received = check_quantity(self.received, field=f"{path}.received")
        accepted = self.accepted
        if isinstance(accepted, bool) or not isinstance(accepted, int) or not 0 <= accepted <= received:
            raise InvalidInputError(
                f"{path}.accepted", f"must be a whole number from 0 to {received}, got {accepted!r}"
            )
        rejected = received - accepted if self.rejected is None else self.rejected
        if isinstance(rejected, bool) or not isinstance(rejected, int) or accepted + rejected != received:
            raise InvalidInputError(
                f"{path}.rejected",
                f"accepted {accepted} + rejected {rejected!r} must equal received {received}",
            )
        reason = optional_text(f"{path}.reason", self.reason)
        if rejected and reason is None:
            raise InvalidInputError(f"{path}.reason", f"say why {rejected} units were rejected")
        return ReceiptLine(sku=sku, received=received, accepted=accepted, rejected=rejected, reason=reason)


@attrs.frozen(kw_only=True)
class Receipt:
    """
    One delivery received against a purchase order.

    Attributes:
        lines: The inspected lines.
        over_receipt: Whether accepting more than ordered was explicitly allowed.
        by: Who received (actor id).
        at: When.
    """

    lines: tuple[ReceiptLine, ...]
    over_receipt: bool
    by: str
    at: datetime


@attrs.frozen(kw_only=True)
class SupplierReturn:
    """
    Rejected goods sent back to the supplier.

    Attributes:
        lines: ``(sku, units)`` sent back.
        note: Carrier, reference, etc.
        by: Who sent them (actor id).
        at: When.
    """

    lines: tuple[tuple[str, int], ...]
    note: str | None
    by: str
    at: datetime


@attrs.frozen(kw_only=True)
class PurchaseOrderDrafted(DomainEvent):
    """A purchase order was drafted."""

    supplier_id: uuid.UUID
    warehouse: str
    total: Money


@attrs.frozen(kw_only=True)
class PurchaseOrderPlaced(DomainEvent):
    """A purchase order was sent to the supplier."""

    supplier_id: uuid.UUID
    expected_arrival: date


@attrs.frozen(kw_only=True)
class GoodsReceived(DomainEvent):
    """Goods were received and inspected against a purchase order (INV-06)."""

    warehouse: str
    accepted: dict[str, int]
    rejected: dict[str, int]
    over_receipt: bool


@attrs.frozen(kw_only=True)
class RejectedGoodsReturned(DomainEvent):
    """Rejected goods went back to the supplier."""

    supplier_id: uuid.UUID
    returned: dict[str, int]


@attrs.frozen(kw_only=True)
class PurchaseOrderCancelled(DomainEvent):
    """A purchase order was cancelled before any goods arrived."""

    reason: str


@attrs.frozen(kw_only=True)
class PurchaseOrderClosed(DomainEvent):
    """A partially received purchase order was closed; the rest will not come."""

    reason: str
    short: dict[str, int]


@attrs.define(kw_only=True, eq=False)
class PurchaseOrder(Aggregate):
    """
    An order to a supplier (INV-05) and what was received against it (INV-06).

    Attributes:
        supplier_id: The supplier (filterable).
        warehouse: Where the goods go (filterable).
        state: :class:`PurchaseOrderState` (filterable).
        lines: One :class:`PurchaseLine` per SKU.
        expected_arrival: When the supplier promised the goods.
        created_by: Who drafted it.
        created_at: When.
        placed_at: When it was sent to the supplier.
        receipts: Deliveries received.
        supplier_returns: Rejected goods sent back.
        note: Cancellation or closing reason.
    """

    supplier_id: uuid.UUID = attrs.field(metadata={"filterable": True})
    warehouse: str = attrs.field(metadata={"filterable": True})
    state: PurchaseOrderState = attrs.field(default=PurchaseOrderState.DRAFT, metadata={"filterable": True})
    lines: list[PurchaseLine]
    expected_arrival: date
    created_by: str
    created_at: datetime
    placed_at: datetime | None = None
    receipts: list[Receipt] = attrs.field(factory=list)
    supplier_returns: list[SupplierReturn] = attrs.field(factory=list)
    note: str | None = None

    @classmethod
    def draft(
        cls,
        *,
        supplier_id: uuid.UUID,
        warehouse: str,
        expected_arrival: date,
        lines: Iterable[PurchaseLine],
        by: Actor,
        at: datetime,
        today: date | None = None,
    ) -> PurchaseOrder:
        """
        Draft a purchase order.

        ``today`` is the shop's local date (default: the UTC date of ``at``); the
        expected arrival may not be before it.

        Raises:
            InvalidInputError: No lines, a SKU twice, mixed currencies, a bad date or warehouse.
        """
        warehouse = check_warehouse_code(warehouse)
        if not isinstance(expected_arrival, date) or isinstance(expected_arrival, datetime):
            raise InvalidInputError("expected_arrival", "expected a date")
        at = ensure_aware(at, field="at")
        if expected_arrival < (today or at.date()):
            raise InvalidInputError("expected_arrival", f"{expected_arrival} is in the past")
        checked = list(lines)
        if not checked:
            raise InvalidInputError("lines", "a purchase order needs at least one line")
        seen: set[str] = set()
        for index, line in enumerate(checked):
            if not isinstance(line, PurchaseLine):
                raise InvalidInputError(
                    f"lines.{index}", f"expected a PurchaseLine, got {type(line).__name__}"
                )
            if line.sku in seen:
                raise InvalidInputError(f"lines.{index}.sku", f"{line.sku} is on the order twice")
            seen.add(line.sku)
            if line.unit_cost.currency != checked[0].unit_cost.currency:
                raise InvalidInputError(
                    f"lines.{index}.unit_cost", f"must be in {checked[0].unit_cost.currency} like line 0"
                )
        order = cls(
            supplier_id=supplier_id,
            warehouse=warehouse,
            lines=checked,
            expected_arrival=expected_arrival,
            created_by=by.id,
            created_at=at,
        )
        order._record(
            PurchaseOrderDrafted(
                occurred_at=at, actor=by, supplier_id=supplier_id, warehouse=warehouse, total=order.total
            )
        )
        return order

    @property
    def subject(self) -> str:
        """How errors name this order."""
        return f"PurchaseOrder {self.id}"

    @property
    def total(self) -> Money:
        """The ordered value."""
        currency = self.lines[0].unit_cost.currency
        return sum((line.unit_cost * line.quantity for line in self.lines), Money.zero(currency))

    def line(self, sku: str) -> PurchaseLine:
        """Return the line of ``sku`` (``KeyError`` if absent)."""
        for line in self.lines:
            if line.sku == sku:
                return line
        raise KeyError(sku)

    @property
    def outstanding(self) -> dict[str, int]:
        """``{sku: units still expected}`` while the order is open."""
        if self.state not in OPEN_STATES:
            return {}
        return {line.sku: line.outstanding for line in self.lines if line.outstanding}

    def place(self, *, by: Actor, at: datetime) -> None:
        """Send the order to the supplier."""
        self.state = PURCHASE_ORDER_LIFECYCLE.fire(self.state, "place", subject=self.subject)
        self.placed_at = at
        self._record(
            PurchaseOrderPlaced(
                occurred_at=at, actor=by, supplier_id=self.supplier_id, expected_arrival=self.expected_arrival
            )
        )

    def check_receipt(self, lines: Sequence[ReceiptLine], *, allow_over_receipt: bool) -> list[ReceiptLine]:
        """
        Validate a delivery against the order without changing it; return the completed lines.

        Raises:
            InvalidTransitionError: The order is not placed or partially received.
            InvalidInputError: Naming ``lines.<i>...``: no lines, a SKU not on the order or
                twice, inconsistent quantities, or more accepted than outstanding without
                ``allow_over_receipt``.
        """
        if self.state not in OPEN_STATES:
            raise InvalidTransitionError(self.subject, str(self.state), "receive")
        if not isinstance(allow_over_receipt, bool):
            raise InvalidInputError("allow_over_receipt", "must be True or False")
        if not lines:
            raise InvalidInputError("lines", "a receipt needs at least one line")
        checked: list[ReceiptLine] = []
        seen: set[str] = set()
        for index, raw in enumerate(lines):
            if not isinstance(raw, ReceiptLine):
                raise InvalidInputError(f"lines.{index}", f"expected a ReceiptLine, got {type(raw).__name__}")
            line = raw.checked(index)
            try:
                ordered = self.line(line.sku)
            except KeyError:
                raise InvalidInputError(
                    f"lines.{index}.sku", f"{line.sku} is not on {self.subject}"
                ) from None
            if line.sku in seen:
                raise InvalidInputError(f"lines.{index}.sku", f"{line.sku} appears twice in the receipt")
            seen.add(line.sku)
            if line.accepted > ordered.outstanding and not allow_over_receipt:
                raise InvalidInputError(
                    f"lines.{index}.accepted",
                    f"accepting {line.accepted} of {line.sku} exceeds the {ordered.outstanding} outstanding; "
                    "receive with allow_over_receipt=True to accept more than ordered",
                )
            checked.append(line)
        return checked

    def receive(
        self, lines: Sequence[ReceiptLine], *, allow_over_receipt: bool = False, by: Actor, at: datetime
    ) -> list[ReceiptLine]:
        """
        Record an inspected delivery (INV-06); return the completed lines.

        The caller books the accepted units into stock in the same unit of work.

        Raises:
            InvalidTransitionError: The order is not placed or partially received.
            InvalidInputError: See :meth:`check_receipt`.
        """
        checked = self.check_receipt(lines, allow_over_receipt=allow_over_receipt)
        over = False
        by_sku = {line.sku: line for line in checked}
        updated = []
        for line in self.lines:
            got = by_sku.get(line.sku)
            if got is None:
                updated.append(line)
                continue
            over = over or got.accepted > line.outstanding
            updated.append(
                attrs.evolve(
                    line, accepted=line.accepted + got.accepted, rejected=line.rejected + (got.rejected or 0)
                )
            )
        complete = all(line.outstanding == 0 for line in updated)
        self.state = PURCHASE_ORDER_LIFECYCLE.fire(
            self.state, "receive_all" if complete else "receive_part", subject=self.subject
        )
        self.lines = updated
        self.receipts.append(Receipt(lines=tuple(checked), over_receipt=over, by=by.id, at=at))
        self._record(
            GoodsReceived(
                occurred_at=at,
                actor=by,
                warehouse=self.warehouse,
                accepted={x.sku: x.accepted for x in checked if x.accepted},
                rejected={x.sku: x.rejected or 0 for x in checked if x.rejected},
                over_receipt=over,
            )
        )
        return checked

    @property
    def awaiting_return(self) -> dict[str, int]:
        """``{sku: rejected units not yet sent back}``."""
        return {line.sku: line.awaiting_return for line in self.lines if line.awaiting_return}

    def return_rejected(self, *, note: str | None, by: Actor, at: datetime) -> dict[str, int]:
        """
        Record that every rejected unit awaiting return went back to the supplier; return them.

        Raises:
            InvalidTransitionError: Nothing awaits return.
        """
        pending = self.awaiting_return
        if not pending:
            raise InvalidTransitionError(
                self.subject, "no rejected goods awaiting return", "return rejected goods"
            )
        self.lines = [attrs.evolve(line, returned=line.rejected) for line in self.lines]
        self.supplier_returns.append(
            SupplierReturn(
                lines=tuple(sorted(pending.items())), note=optional_text("note", note), by=by.id, at=at
            )
        )
        self._record(
            RejectedGoodsReturned(occurred_at=at, actor=by, supplier_id=self.supplier_id, returned=pending)
        )
        return pending

    def cancel(self, *, reason: str, by: Actor, at: datetime) -> None:
        """Cancel a draft or placed order (nothing received yet)."""
        self.state = PURCHASE_ORDER_LIFECYCLE.fire(self.state, "cancel", subject=self.subject)
        self.note = required_text("reason", reason)
        self._record(PurchaseOrderCancelled(occurred_at=at, actor=by, reason=self.note))

    def close(self, *, reason: str, by: Actor, at: datetime) -> None:
        """Close a partially received order; the outstanding units will not come."""
        short = self.outstanding
        self.state = PURCHASE_ORDER_LIFECYCLE.fire(self.state, "close", subject=self.subject)
        self.note = required_text("reason", reason)
        self._record(PurchaseOrderClosed(occurred_at=at, actor=by, reason=self.note, short=short))
