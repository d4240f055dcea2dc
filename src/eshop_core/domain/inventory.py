"""
Inventory: warehouses, stock levels and movements, stock counts, replenishment (INV-01..03, INV-07).

Stock itself is not an aggregate: on-hand and reserved quantities per SKU per
warehouse live behind the :class:`~eshop_core.storage.inventory_ports.StockLedger`
port, whose every act is one atomic statement and one append-only
:class:`StockMovement` with its :class:`MovementReason` and author. This module
holds the values the ledger returns and the aggregates around it:

- :class:`Warehouse`: a code, a name, and the stock count running in it (one at
  a time).
- :class:`StockCount`: a count sheet (INV-02) moving through
  :data:`STOCK_COUNT_LIFECYCLE`::

      counting → submitted → adjusted
      counting ← submitted (rejected or withdrawn);  counting → cancelled
      counting → adjusted (confirmed: no variance, nothing to approve)

  Book quantities are taken when the sheet opens; every variance needs an
  explanation before the sheet is submitted for approval.
- :class:`ReplenishmentSuggestion`: raised when available stock falls below
  the SKU's warning level (INV-03), for purchasing to order or dismiss.

Example:
    >>> from datetime import datetime, timezone
    >>> from eshop_core import Actor, Role
    >>> from eshop_core.domain.inventory import StockCount
    >>> wang = Actor("wang.fang", roles={Role.WAREHOUSE})
    >>> at = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    >>> sheet = StockCount.open(warehouse="SH-01", book={"MUG-BLUE": 40}, by=wang, at=at)
    >>> sheet.record_counts({"MUG-BLUE": 38}, by=wang, at=at)
    >>> sheet.variances()
    {'MUG-BLUE': -2}
    >>> sheet.submit(by=wang, at=at)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidInputError: invalid lines.MUG-BLUE.explanation: a variance of -2 needs an ...
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

import attrs

from eshop_core.access import Actor
from eshop_core.clock import ensure_aware
from eshop_core.domain._aggregate import Aggregate
from eshop_core.domain._lifecycle import Lifecycle
from eshop_core.domain._text import required_text
from eshop_core.domain.catalog import check_sku
from eshop_core.errors import InvalidInputError, InvalidTransitionError
from eshop_core.events import DomainEvent

__all__ = [
    "ADJUSTMENT_REASONS",
    "MAX_UNITS",
    "STOCK_COUNT_LIFECYCLE",
    "SUGGESTION_LIFECYCLE",
    "CountLine",
    "LowStockAlerted",
    "MovementReason",
    "ReplenishmentSuggestion",
    "ShortageAdded",
    "StockChange",
    "StockCount",
    "StockCountAdjusted",
    "StockCountCancelled",
    "StockCountOpened",
    "StockCountReturned",
    "StockCountState",
    "StockCountSubmitted",
    "StockCounted",
    "StockLevel",
    "StockMovement",
    "SuggestionClosed",
    "SuggestionReopened",
    "SuggestionState",
    "VariancesExplained",
    "Warehouse",
    "WarehouseCountBegan",
    "WarehouseCountEnded",
    "WarehouseOpened",
    "check_quantity",
    "check_warehouse_code",
]

_WAREHOUSE_CODE: Final = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def check_warehouse_code(value: object, *, field: str = "warehouse") -> str:
    """
    Return ``value`` if it is a warehouse code: letters, digits, ``-`` and ``_``, 1 to 32 characters.

    Raises:
        InvalidInputError: Naming ``field``.
    """
    if not isinstance(value, str) or not _WAREHOUSE_CODE.match(value):
        raise InvalidInputError(field, f"{value!r} is not a warehouse code (1-32 letters, digits, -, _)")
    return value


MAX_UNITS: Final = 1_000_000_000
"""The largest quantity one act may move (stock columns are 64-bit; this leaves ample room)."""


def check_quantity(value: object, *, field: str = "quantity") -> int:
    """
    Return ``value`` if it is a positive whole number of units, at most :data:`MAX_UNITS`.

    Raises:
        InvalidInputError: Zero, negative, too large, or not an ``int``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_UNITS:
        raise InvalidInputError(
            field, f"must be a whole number of units from 1 to {MAX_UNITS}, got {value!r}"
        )
    return value


class MovementReason(StrEnum):
    """Why stock changed (INV-07)."""

    RECEIPT = "receipt"
    """Goods accepted into stock from a supplier."""
    RESERVATION = "reservation"
    """Stock set aside for an order."""
    RELEASE = "release"
    """A reservation given back (order changed or cancelled)."""
    SHIPMENT = "shipment"
    """Reserved goods left the warehouse (a sale)."""
    CUSTOMER_RETURN = "customer_return"
    """Goods a customer sent back, restocked."""
    COUNT_ADJUSTMENT = "count_adjustment"
    """Books brought in line with an approved stock count."""
    DAMAGE = "damage"
    """Goods written off as damaged."""
    LOSS = "loss"
    """Goods written off as lost."""
    FOUND = "found"
    """Goods found that were not on the books."""
    SUPPLIER_RETURN = "supplier_return"
    """Goods from stock sent back to their supplier."""
    CORRECTION = "correction"
    """A correction of a booking error."""


ADJUSTMENT_REASONS: Final[Mapping[MovementReason, int]] = {
    MovementReason.DAMAGE: -1,
    MovementReason.LOSS: -1,
    MovementReason.SUPPLIER_RETURN: -1,
    MovementReason.FOUND: 1,
    MovementReason.CORRECTION: 0,
    MovementReason.COUNT_ADJUSTMENT: 0,
}
"""Reasons a direct adjustment may give, with the sign they require (0 for either)."""


@attrs.frozen(kw_only=True)
class StockLevel:
    """
    Stock of one SKU in one warehouse (INV-01).

    Attributes:
        sku: The SKU.
        warehouse: The warehouse code.
        on_hand: Units physically in the warehouse.
        reserved: Units set aside for orders, not yet shipped.
        low_stock_threshold: The SKU's own warning level here, or ``None`` for the policy's default.
    """

    sku: str
    warehouse: str
    on_hand: int = 0
    reserved: int = 0
    low_stock_threshold: int | None = None

    @property
    def available(self) -> int:
        """Units that can still be promised, on hand minus reserved (never negative)."""
        return self.on_hand - self.reserved


@attrs.frozen(kw_only=True)
class StockMovement:
    """
    One line of the append-only stock ledger (INV-07).

    Attributes:
        seq: Position in the ledger (increasing).
        sku: The SKU.
        warehouse: The warehouse code.
        reason: Why.
        on_hand_delta: Change of on-hand units.
        reserved_delta: Change of reserved units.
        on_hand_after: On hand after the movement.
        reserved_after: Reserved after the movement.
        actor: Who caused it (actor id).
        at: When.
        reference: What it belongs to (``"order:<id>"``, ``"purchase_order:<id>"``, ``"count:<id>"``).
        note: Free text.
    """

    seq: int
    sku: str
    warehouse: str
    reason: MovementReason
    on_hand_delta: int
    reserved_delta: int
    on_hand_after: int
    reserved_after: int
    actor: str
    at: datetime
    reference: str | None = None
    note: str | None = None


@attrs.frozen(kw_only=True)
class StockChange:
    """
    What one ledger act did: the level before and after, and the movement written.

    Attributes:
        before: The level before.
        after: The level after.
        movement: The ledger line.
    """

    before: StockLevel
    after: StockLevel
    movement: StockMovement


# -- warehouses -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class WarehouseOpened(DomainEvent):
    """A warehouse was registered."""

    code: str
    name: str


@attrs.frozen(kw_only=True)
class WarehouseCountBegan(DomainEvent):
    """A stock count started in the warehouse; no other may start until it ends."""

    code: str
    count_id: uuid.UUID


@attrs.frozen(kw_only=True)
class WarehouseCountEnded(DomainEvent):
    """The running stock count of the warehouse ended (adjusted or cancelled)."""

    code: str
    count_id: uuid.UUID


@attrs.define(kw_only=True, eq=False)
class Warehouse(Aggregate):
    """
    A place that holds stock.

    Attributes:
        code: Short unique code (filterable), e.g. ``"SH-01"``.
        name: Display name.
        priority: Lower is preferred when allocating orders.
        counting_id: The stock count running here, if any.
    """

    code: str = attrs.field(metadata={"filterable": True})
    name: str
    priority: int = 100
    counting_id: uuid.UUID | None = None

    @classmethod
    def open(cls, *, code: str, name: str, priority: int = 100, by: Actor, at: datetime) -> Warehouse:
        """
        Register a warehouse.

        Raises:
            InvalidInputError: A bad code, name or priority.
        """
        code = check_warehouse_code(code, field="code")
        name = required_text("name", name)
        if isinstance(priority, bool) or not isinstance(priority, int) or priority < 0:
            raise InvalidInputError("priority", f"must be a whole number of at least 0, got {priority!r}")
        warehouse = cls(code=code, name=name, priority=priority)
        warehouse._record(WarehouseOpened(occurred_at=at, actor=by, code=code, name=name))
        return warehouse

    def begin_count(self, count_id: uuid.UUID, *, by: Actor, at: datetime) -> None:
        """
        Mark a count as running here.

        Raises:
            InvalidTransitionError: Another count is running.
        """
        if self.counting_id is not None:
            raise InvalidTransitionError(
                f"Warehouse {self.code} (count {self.counting_id} running)", "counting", "open a count"
            )
        self.counting_id = count_id
        self._record(WarehouseCountBegan(occurred_at=at, actor=by, code=self.code, count_id=count_id))

    def end_count(self, count_id: uuid.UUID, *, by: Actor, at: datetime) -> None:
        """Mark the count ``count_id`` as over (no-op if it is not the running one)."""
        if self.counting_id != count_id:
            return
        self.counting_id = None
        self._record(WarehouseCountEnded(occurred_at=at, actor=by, code=self.code, count_id=count_id))


# -- stock counts ---------------------------------------------------------------


class StockCountState(StrEnum):
    """States of a stock count sheet."""

    COUNTING = "counting"
    SUBMITTED = "submitted"
    ADJUSTED = "adjusted"
    CANCELLED = "cancelled"


STOCK_COUNT_LIFECYCLE: Final = Lifecycle(
    "StockCount",
    {
        (StockCountState.COUNTING, "record"): StockCountState.COUNTING,
        (StockCountState.COUNTING, "submit"): StockCountState.SUBMITTED,
        (StockCountState.COUNTING, "cancel"): StockCountState.CANCELLED,
        (StockCountState.COUNTING, "confirm"): StockCountState.ADJUSTED,
        (StockCountState.SUBMITTED, "return"): StockCountState.COUNTING,
        (StockCountState.SUBMITTED, "adjust"): StockCountState.ADJUSTED,
    },
    initial=StockCountState.COUNTING,
    terminal={StockCountState.ADJUSTED, StockCountState.CANCELLED},
)
"""The count sheet lifecycle (counted, submitted, then adjusted, or sent back to recount)."""


@attrs.frozen(kw_only=True)
class CountLine:
    """
    One SKU on a count sheet.

    Attributes:
        sku: The SKU.
        book: On-hand units in the books when the sheet opened (or the SKU was added).
        counted: Units counted, ``None`` until recorded.
        explanation: Why counted and book differ.
    """

    sku: str
    book: int
    counted: int | None = None
    explanation: str | None = None

    @property
    def variance(self) -> int | None:
        """Counted minus book, ``None`` until counted."""
        return None if self.counted is None else self.counted - self.book


@attrs.frozen(kw_only=True)
class StockCountOpened(DomainEvent):
    """A count sheet was opened."""

    warehouse: str
    skus: int


@attrs.frozen(kw_only=True)
class StockCounted(DomainEvent):
    """Counted quantities were recorded on a sheet."""

    warehouse: str
    counts: Mapping[str, int]


@attrs.frozen(kw_only=True)
class VariancesExplained(DomainEvent):
    """Variances on a sheet were explained (the explanations stay on the sheet)."""

    warehouse: str
    skus: list[str]


@attrs.frozen(kw_only=True)
class StockCountSubmitted(DomainEvent):
    """A count sheet with its explained variances was submitted for approval."""

    warehouse: str
    variances: Mapping[str, int]
    approval_request_id: uuid.UUID


@attrs.frozen(kw_only=True)
class StockCountReturned(DomainEvent):
    """A submitted count was rejected or withdrawn and is counted again."""

    warehouse: str
    reason: str


@attrs.frozen(kw_only=True)
class StockCountAdjusted(DomainEvent):
    """An approved count's variances were booked; book equals physical."""

    warehouse: str
    variances: Mapping[str, int]


@attrs.frozen(kw_only=True)
class StockCountCancelled(DomainEvent):
    """A count sheet was abandoned without adjusting anything."""

    warehouse: str
    reason: str


@attrs.define(kw_only=True, eq=False)
class StockCount(Aggregate):
    """
    A stock count sheet for one warehouse (INV-02).

    Attributes:
        warehouse: The warehouse code (filterable).
        state: :class:`StockCountState` (filterable).
        lines: One :class:`CountLine` per SKU, in SKU order.
        opened_by: Who opened it.
        opened_at: When (the book quantities are as of then).
        approval_request_id: The approval request of the latest submission.
        history: ``(action, actor id, time, note)`` for each step.
    """

    warehouse: str = attrs.field(metadata={"filterable": True})
    state: StockCountState = attrs.field(default=StockCountState.COUNTING, metadata={"filterable": True})
    lines: list[CountLine] = attrs.field(factory=list)
    opened_by: str
    opened_at: datetime
    approval_request_id: uuid.UUID | None = None
    history: list[tuple[str, str, datetime, str | None]] = attrs.field(factory=list)

    @classmethod
    def open(cls, *, warehouse: str, book: Mapping[str, int], by: Actor, at: datetime) -> StockCount:
        """
        Open a sheet for ``warehouse`` with the book quantities ``{sku: on hand}``.

        Raises:
            InvalidInputError: A bad code, SKU or book quantity.
        """
        warehouse = check_warehouse_code(warehouse)
        at = ensure_aware(at, field="at")
        lines = []
        for sku, quantity in sorted(book.items()):
            check_sku(sku, field="book")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
                raise InvalidInputError(
                    f"book.{sku}", f"must be a whole number of at least 0, got {quantity!r}"
                )
            lines.append(CountLine(sku=sku, book=quantity))
        count = cls(warehouse=warehouse, lines=lines, opened_by=by.id, opened_at=at)
        count.history.append(("open", by.id, at, None))
        count._record(StockCountOpened(occurred_at=at, actor=by, warehouse=warehouse, skus=len(lines)))
        return count

    @property
    def subject(self) -> str:
        """How errors name this sheet."""
        return f"StockCount {self.id}"

    def line(self, sku: str) -> CountLine:
        """
        Return the line of ``sku``.

        Raises:
            InvalidInputError: ``sku`` is not on the sheet.
        """
        for line in self.lines:
            if line.sku == sku:
                return line
        raise InvalidInputError("sku", f"{sku} is not on count sheet {self.id}")

    def has_line(self, sku: str) -> bool:
        """Whether ``sku`` is on the sheet."""
        return any(line.sku == sku for line in self.lines)

    def record_counts(
        self,
        counts: Mapping[str, int],
        *,
        new_books: Mapping[str, int] | None = None,
        by: Actor,
        at: datetime,
    ) -> None:
        """
        Record counted quantities ``{sku: units}``, all or none; a recount overwrites a line.

        A SKU found that is not on the sheet is added with its book quantity from
        ``new_books``. A changed count clears the line's explanation.

        Raises:
            InvalidTransitionError: The sheet is not being counted.
            InvalidInputError: ``counts`` empty, a SKU neither on the sheet nor in ``new_books``,
                or ``lines.<sku>.counted`` negative or not a whole number.
        """
        STOCK_COUNT_LIFECYCLE.fire(self.state, "record", subject=self.subject)
        if not isinstance(counts, Mapping) or not counts:
            raise InvalidInputError("counts", "give at least one {sku: counted units}")
        books = dict(new_books or {})
        lines = {line.sku: line for line in self.lines}
        for sku, counted in counts.items():
            if sku not in lines:
                book = books.get(sku)
                check_sku(sku, field="counts")
                if isinstance(book, bool) or not isinstance(book, int) or book < 0:
                    raise InvalidInputError("counts", f"{sku} is not on count sheet {self.id}")
                lines[sku] = CountLine(sku=sku, book=book)
            if isinstance(counted, bool) or not isinstance(counted, int) or not 0 <= counted <= MAX_UNITS:
                raise InvalidInputError(
                    f"lines.{sku}.counted", f"must be a whole number of at least 0, got {counted!r}"
                )
            line = lines[sku]
            explanation = line.explanation if counted == line.counted else None
            lines[sku] = attrs.evolve(line, counted=counted, explanation=explanation)
        self.lines = [lines[sku] for sku in sorted(lines)]
        at = ensure_aware(at, field="at")
        self.history.append(("record", by.id, at, ", ".join(sorted(counts))))
        self._record(StockCounted(occurred_at=at, actor=by, warehouse=self.warehouse, counts=dict(counts)))

    def explain(self, explanations: Mapping[str, str], *, by: Actor, at: datetime) -> None:
        """
        Explain variances ``{sku: why}``, all or none.

        Raises:
            InvalidTransitionError: The sheet is not being counted.
            InvalidInputError: ``explanations`` empty, a SKU not on the sheet or not counted yet,
                or an empty explanation.
        """
        STOCK_COUNT_LIFECYCLE.fire(self.state, "record", subject=self.subject)
        if not isinstance(explanations, Mapping) or not explanations:
            raise InvalidInputError("explanations", "give at least one {sku: explanation}")
        lines = {line.sku: line for line in self.lines}
        for sku, text in explanations.items():
            line = self.line(sku)
            if line.counted is None:
                raise InvalidInputError(f"lines.{sku}.explanation", "record the counted quantity first")
            lines[sku] = attrs.evolve(line, explanation=required_text(f"lines.{sku}.explanation", text))
        self.lines = [lines[sku] for sku in sorted(lines)]
        at = ensure_aware(at, field="at")
        self.history.append(("explain", by.id, at, ", ".join(sorted(explanations))))
        self._record(
            VariancesExplained(occurred_at=at, actor=by, warehouse=self.warehouse, skus=sorted(explanations))
        )

    def variances(self) -> dict[str, int]:
        """Return ``{sku: counted - book}`` for every counted line that differs."""
        return {line.sku: line.variance for line in self.lines if line.variance}

    def submit(self, *, by: Actor, at: datetime) -> dict[str, int]:
        """
        Check the sheet is complete and every variance explained; return the variances.

        The caller opens the approval request and then calls :meth:`submitted`.

        Raises:
            InvalidTransitionError: The sheet is not being counted.
            InvalidInputError: ``lines.<sku>.counted`` not recorded, or
                ``lines.<sku>.explanation`` missing for a variance.
        """
        if not STOCK_COUNT_LIFECYCLE.can(self.state, "submit"):
            raise InvalidTransitionError(self.subject, str(self.state), "submit")
        for line in self.lines:
            if line.counted is None:
                raise InvalidInputError(f"lines.{line.sku}.counted", "not counted yet")
            if line.variance and line.explanation is None:
                raise InvalidInputError(
                    f"lines.{line.sku}.explanation", f"a variance of {line.variance} needs an explanation"
                )
        return self.variances()

    def submitted(self, approval_request_id: uuid.UUID, *, by: Actor, at: datetime) -> None:
        """Record the submission under ``approval_request_id``."""
        variances = self.submit(by=by, at=at)
        self.state = STOCK_COUNT_LIFECYCLE.fire(self.state, "submit", subject=self.subject)
        self.approval_request_id = approval_request_id
        self.history.append(("submit", by.id, at, None))
        self._record(
            StockCountSubmitted(
                occurred_at=at,
                actor=by,
                warehouse=self.warehouse,
                variances=variances,
                approval_request_id=approval_request_id,
            )
        )

    def send_back(self, *, reason: str, by: Actor, at: datetime) -> None:
        """Return a submitted sheet for recounting (its approval was rejected or withdrawn)."""
        self.state = STOCK_COUNT_LIFECYCLE.fire(self.state, "return", subject=self.subject)
        self.history.append(("return", by.id, at, reason))
        self._record(StockCountReturned(occurred_at=at, actor=by, warehouse=self.warehouse, reason=reason))

    def adjusted(self, *, by: Actor, at: datetime, policy_version: int | None) -> dict[str, int]:
        """Mark the variances booked (the caller wrote the movements); return them."""
        self.state = STOCK_COUNT_LIFECYCLE.fire(self.state, "adjust", subject=self.subject)
        variances = self.variances()
        self.history.append(("adjust", by.id, at, None))
        self._record(
            StockCountAdjusted(
                occurred_at=at,
                actor=by,
                policy_version=policy_version,
                warehouse=self.warehouse,
                variances=variances,
            )
        )
        return variances

    def confirm(self, *, by: Actor, at: datetime, policy_version: int | None) -> None:
        """
        Close a complete sheet without variances: book equals physical, nothing to approve.

        Raises:
            InvalidTransitionError: It is not being counted.
            InvalidInputError: A line is not counted, or there are variances.
        """
        if self.submit(by=by, at=at):
            raise InvalidInputError("lines", "the sheet has variances; submit it for approval")
        self.state = STOCK_COUNT_LIFECYCLE.fire(self.state, "confirm", subject=self.subject)
        self.history.append(("confirm", by.id, at, None))
        self._record(
            StockCountAdjusted(
                occurred_at=at,
                actor=by,
                policy_version=policy_version,
                warehouse=self.warehouse,
                variances={},
            )
        )

    def cancel(self, *, reason: str, by: Actor, at: datetime) -> None:
        """
        Abandon the sheet; nothing is adjusted.

        Raises:
            InvalidTransitionError: It is not being counted.
            InvalidInputError: No reason.
        """
        self.state = STOCK_COUNT_LIFECYCLE.fire(self.state, "cancel", subject=self.subject)
        text = required_text("reason", reason)
        self.history.append(("cancel", by.id, at, text))
        self._record(StockCountCancelled(occurred_at=at, actor=by, warehouse=self.warehouse, reason=text))


# -- replenishment ----------------------------------------------------------------


class SuggestionState(StrEnum):
    """States of a replenishment suggestion."""

    OPEN = "open"
    ORDERED = "ordered"
    DISMISSED = "dismissed"


SUGGESTION_LIFECYCLE: Final = Lifecycle(
    "ReplenishmentSuggestion",
    {
        (SuggestionState.OPEN, "order"): SuggestionState.ORDERED,
        (SuggestionState.OPEN, "dismiss"): SuggestionState.DISMISSED,
        (SuggestionState.ORDERED, "reopen"): SuggestionState.OPEN,
    },
    initial=SuggestionState.OPEN,
    terminal={SuggestionState.DISMISSED},
)
"""A suggestion is ordered (a purchase order covers it) or dismissed; cancelling the order reopens it."""


@attrs.frozen(kw_only=True)
class LowStockAlerted(DomainEvent):
    """Available stock fell below the SKU's warning level; purchasing got a suggestion (INV-03)."""

    sku: str
    warehouse: str
    available: int
    threshold: int
    suggested_quantity: int


@attrs.frozen(kw_only=True)
class SuggestionClosed(DomainEvent):
    """A replenishment suggestion was ordered or dismissed."""

    sku: str
    warehouse: str
    outcome: SuggestionState
    purchase_order_id: uuid.UUID | None
    note: str | None


@attrs.frozen(kw_only=True)
class ShortageAdded(DomainEvent):
    """Waiting orders' shortage was added to an open replenishment suggestion."""

    sku: str
    warehouse: str
    units: int
    suggested_quantity: int


@attrs.frozen(kw_only=True)
class SuggestionReopened(DomainEvent):
    """The purchase order covering a suggestion was cancelled; the suggestion is open again."""

    sku: str
    warehouse: str
    note: str


@attrs.define(kw_only=True, eq=False)
class ReplenishmentSuggestion(Aggregate):
    """
    A low-stock alert turned into a suggestion for purchasing (INV-03).

    Attributes:
        sku: The SKU (filterable).
        warehouse: The warehouse code (filterable).
        state: :class:`SuggestionState` (filterable).
        available: Available units when raised.
        threshold: The warning level it fell below.
        daily_sales: Average units sold per day over the policy's window.
        suggested_quantity: Units to order: the policy's days of cover plus the warning
            level, less what is available and what open purchase orders will bring.
        raised_at: When.
        policy_version: The policy the numbers came from.
        purchase_order_id: The purchase order that covers it (filterable).
        note: Why it was dismissed.
    """

    sku: str = attrs.field(metadata={"filterable": True})
    warehouse: str = attrs.field(metadata={"filterable": True})
    state: SuggestionState = attrs.field(default=SuggestionState.OPEN, metadata={"filterable": True})
    available: int
    threshold: int
    daily_sales: Decimal
    suggested_quantity: int
    raised_at: datetime
    policy_version: int | None
    purchase_order_id: uuid.UUID | None = attrs.field(default=None, metadata={"filterable": True})
    note: str | None = None

    @staticmethod
    def quantity_for(
        *,
        available: int,
        threshold: int,
        daily_sales: Decimal,
        cover_days: int,
        on_order: int,
        demand: int = 0,
    ) -> int:
        """
        Units to order: ``ceil(daily_sales x cover_days) + threshold + demand - available - on_order``, >= 0.

        ``demand`` is what waiting orders need beyond the available stock.
        """
        wanted = math.ceil(daily_sales * cover_days)
        return max(wanted + threshold + demand - available - on_order, 0)

    @classmethod
    def raise_for(
        cls,
        *,
        level: StockLevel,
        threshold: int,
        daily_sales: Decimal,
        cover_days: int,
        on_order: int = 0,
        demand: int = 0,
        by: Actor,
        at: datetime,
        policy_version: int | None,
    ) -> ReplenishmentSuggestion | None:
        """
        Raise a suggestion for ``level``, which fell below ``threshold``.

        Returns ``None`` when open purchase orders (``on_order``) already cover the need.
        """
        quantity = cls.quantity_for(
            available=level.available,
            threshold=threshold,
            daily_sales=daily_sales,
            cover_days=cover_days,
            on_order=on_order,
            demand=demand,
        )
        if quantity == 0:
            return None
        suggestion = cls(
            sku=level.sku,
            warehouse=level.warehouse,
            available=level.available,
            threshold=threshold,
            daily_sales=daily_sales,
            suggested_quantity=quantity,
            raised_at=at,
            policy_version=policy_version,
        )
        suggestion._record(
            LowStockAlerted(
                occurred_at=at,
                actor=by,
                policy_version=policy_version,
                sku=level.sku,
                warehouse=level.warehouse,
                available=level.available,
                threshold=threshold,
                suggested_quantity=quantity,
            )
        )
        return suggestion

    def ordered(self, purchase_order_id: uuid.UUID, *, by: Actor, at: datetime) -> None:
        """Mark it covered by ``purchase_order_id``."""
        self.state = SUGGESTION_LIFECYCLE.fire(
            self.state, "order", subject=f"ReplenishmentSuggestion {self.id}"
        )
        self.purchase_order_id = purchase_order_id
        self._record(
            SuggestionClosed(
                occurred_at=at,
                actor=by,
                sku=self.sku,
                warehouse=self.warehouse,
                outcome=self.state,
                purchase_order_id=purchase_order_id,
                note=None,
            )
        )

    def add_demand(self, units: int, *, by: Actor, at: datetime) -> None:
        """Add ``units`` waiting orders miss to an open suggestion's quantity (ORD-04)."""
        if self.state is not SuggestionState.OPEN:
            raise InvalidTransitionError(f"ReplenishmentSuggestion {self.id}", str(self.state), "add demand")
        units = check_quantity(units, field="units")
        self.suggested_quantity += units
        self._record(
            ShortageAdded(
                occurred_at=at,
                actor=by,
                sku=self.sku,
                warehouse=self.warehouse,
                units=units,
                suggested_quantity=self.suggested_quantity,
            )
        )

    def reopen(self, *, note: str, by: Actor, at: datetime) -> None:
        """Open an ordered suggestion again: its purchase order was cancelled."""
        self.state = SUGGESTION_LIFECYCLE.fire(
            self.state, "reopen", subject=f"ReplenishmentSuggestion {self.id}"
        )
        self.purchase_order_id = None
        self.note = required_text("note", note)
        self._record(
            SuggestionReopened(
                occurred_at=at, actor=by, sku=self.sku, warehouse=self.warehouse, note=self.note
            )
        )

    def dismiss(self, *, note: str, by: Actor, at: datetime) -> None:
        """Dismiss it with a note (e.g. the SKU is being discontinued)."""
        self.state = SUGGESTION_LIFECYCLE.fire(
            self.state, "dismiss", subject=f"ReplenishmentSuggestion {self.id}"
        )
        self.note = required_text("note", note)
        self._record(
            SuggestionClosed(
                occurred_at=at,
                actor=by,
                sku=self.sku,
                warehouse=self.warehouse,
                outcome=self.state,
                purchase_order_id=None,
                note=self.note,
            )
        )
