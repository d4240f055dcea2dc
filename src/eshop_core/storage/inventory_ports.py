"""
The :class:`StockLedger` named port: stock levels and their append-only movement ledger.

Every act is one atomic conditional statement on the level plus one ledger
line, in the caller's unit of work; nothing is loaded, changed and saved, so
concurrent units of work (threads, processes, hosts) can never oversell:

- ``reserve``: ``on_hand - reserved >= qty`` is the statement's condition;
- ``release`` and ``ship``: ``reserved >= qty``;
- ``adjust`` with a negative delta: ``on_hand + delta >= reserved``.

The invariants every backend keeps, checked by the contract and property
tests: ``0 <= reserved <= on_hand`` (so available is never negative) and, per
SKU and warehouse, the sum of the ledger's deltas equals the level.

The memory implementation lives here; the SQL one in the adapters.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from eshop_core.clock import ensure_aware
from eshop_core.domain.catalog import check_sku
from eshop_core.domain.inventory import (
    ADJUSTMENT_REASONS,
    MAX_UNITS,
    MovementReason,
    StockChange,
    StockLevel,
    StockMovement,
    check_quantity,
    check_warehouse_code,
)
from eshop_core.domain.stock_reports import MovementSummary
from eshop_core.errors import InsufficientStockError, InvalidInputError
from eshop_core.storage.ports import Page
from eshop_core.storage.unit_of_work import check_limit, decode_seq_cursor, encode_seq_cursor

__all__ = [
    "MemoryStockLedger",
    "MovementSummary",
    "StockLedger",
    "check_adjustment",
    "check_note",
    "check_receipt_reason",
    "check_reference",
    "check_stock_args",
    "check_threshold",
    "decode_level_cursor",
    "encode_level_cursor",
    "over_release",
]

_MAX_REFERENCE = 128
_MAX_NOTE = 2000


def check_reference(value: object, *, field: str = "reference") -> str | None:
    """Return ``value`` if it is ``None`` or a reference string of up to 128 characters."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_REFERENCE:
        raise InvalidInputError(field, f"must be a non-empty string of at most {_MAX_REFERENCE} characters")
    return value


def check_note(value: object) -> str | None:
    """Return ``value`` if it is ``None`` or a note of up to 2000 characters (empty becomes ``None``)."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _MAX_NOTE:
        raise InvalidInputError("note", f"must be a string of at most {_MAX_NOTE} characters")
    return value or None


def check_adjustment(delta: object, reason: object) -> tuple[int, MovementReason]:
    """
    Validate a direct adjustment: a non-zero ``delta`` whose sign fits ``reason``.

    Raises:
        InvalidInputError: ``delta`` zero or not an int, or ``reason`` not an adjustment reason
            (damage and loss must be negative, found positive).
    """
    checked = MovementReason(reason) if isinstance(reason, str) and reason in ADJUSTMENT_REASONS else None
    if checked is None:
        allowed = ", ".join(r.value for r in ADJUSTMENT_REASONS)
        raise InvalidInputError("reason", f"an adjustment needs one of {allowed}")
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0 or abs(delta) > MAX_UNITS:
        raise InvalidInputError(
            "delta",
            f"must be a non-zero whole number of units, at most {MAX_UNITS} either way, got {delta!r}",
        )
    sign = ADJUSTMENT_REASONS[checked]
    if sign * delta < 0:
        direction = "negative" if sign < 0 else "positive"
        raise InvalidInputError("delta", f"a {checked.value} adjustment must be {direction}, got {delta}")
    return delta, checked


def over_release(sku: str, warehouse: str, quantity: int, reserved: int, act: str) -> InvalidInputError:
    """The error for releasing or shipping more than is reserved."""
    return InvalidInputError(
        "quantity", f"cannot {act} {quantity} of {sku} in {warehouse}: only {reserved} reserved"
    )


def encode_level_cursor(sku: str, warehouse: str) -> str:
    """Return the cursor continuing after the level ``(sku, warehouse)``."""
    return base64.urlsafe_b64encode(f"{sku}\x1f{warehouse}".encode()).decode().rstrip("=")


def decode_level_cursor(cursor: str) -> tuple[str, str]:
    """Decode :func:`encode_level_cursor` output or raise :class:`InvalidInputError`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        sku, warehouse = raw.split("\x1f")
    except (ValueError, binascii.Error, TypeError, AttributeError):
        raise InvalidInputError("cursor", "not a cursor returned by a previous page") from None
    return sku, warehouse


@runtime_checkable
class StockLedger(Protocol):
    """
    Stock per SKU per warehouse and its movement ledger (INV-01, INV-07).

    Each act writes one :class:`~eshop_core.domain.inventory.StockMovement`
    authored by the unit of work's actor at the shop clock's time, and returns
    the :class:`~eshop_core.domain.inventory.StockChange`. Arguments are
    validated first (SKU and warehouse code format, positive quantities);
    whether the SKU and warehouse exist is the calling service's check.
    """

    def receive(
        self,
        sku: str,
        warehouse: str,
        quantity: int,
        *,
        reason: MovementReason = MovementReason.RECEIPT,
        reference: str | None = None,
        note: str | None = None,
    ) -> StockChange:
        """Add ``quantity`` on hand (a receipt or a customer return)."""
        ...

    def reserve(
        self, sku: str, warehouse: str, quantity: int, *, reference: str | None = None
    ) -> StockChange:
        """
        Reserve ``quantity`` if that many are available.

        Raises:
            InsufficientStockError: Fewer available; nothing changed.
        """
        ...

    def release(
        self,
        sku: str,
        warehouse: str,
        quantity: int,
        *,
        reference: str | None = None,
        note: str | None = None,
    ) -> StockChange:
        """
        Give back ``quantity`` reserved units.

        Raises:
            InvalidInputError: ``quantity`` exceeds what is reserved; nothing changed.
        """
        ...

    def ship(self, sku: str, warehouse: str, quantity: int, *, reference: str | None = None) -> StockChange:
        """
        Commit ``quantity`` reserved units on shipment: on hand and reserved both drop.

        Raises:
            InvalidInputError: ``quantity`` exceeds what is reserved; nothing changed.
        """
        ...

    def adjust(
        self,
        sku: str,
        warehouse: str,
        delta: int,
        *,
        reason: MovementReason,
        reference: str | None = None,
        note: str | None = None,
    ) -> StockChange:
        """
        Change on hand by ``delta`` for an adjustment reason (see :func:`check_adjustment`).

        Raises:
            InvalidInputError: A bad delta or reason.
            InsufficientStockError: On hand would fall below what is reserved; nothing changed.
        """
        ...

    def set_threshold(self, sku: str, warehouse: str, threshold: int | None) -> StockLevel:
        """Set (or clear, with ``None``) the SKU's low-stock warning level in ``warehouse``."""
        ...

    def level(self, sku: str, warehouse: str) -> StockLevel:
        """Return the level (zeros if never stocked)."""
        ...

    def levels(
        self,
        *,
        sku: str | None = None,
        warehouse: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[StockLevel]:
        """Return stocked levels in (SKU, warehouse) order, one page at a time."""
        ...

    def levels_of(self, skus: Sequence[str], *, lock: bool = False) -> dict[str, list[StockLevel]]:
        """
        Return every stocked level of each SKU in ``skus``, by warehouse code (one query).

        With ``lock``, the levels are locked until the unit of work ends, in
        (SKU, warehouse) order: units of work that lock what they are about to
        reserve this way cannot deadlock on each other.
        """
        ...

    def movements(
        self,
        *,
        sku: str | None = None,
        warehouse: str | None = None,
        reference: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[StockMovement]:
        """Return ledger lines in ledger order, one page at a time."""
        ...

    def shipped(self, sku: str, warehouse: str, *, since: datetime, until: datetime) -> int:
        """Return the units of ``sku`` shipped from ``warehouse`` in ``[since, until)``."""
        ...

    def summary(
        self, *, since: datetime, until: datetime, warehouse: str | None = None
    ) -> Sequence[MovementSummary]:
        """Return a :class:`MovementSummary` per stocked (SKU, warehouse) for ``[since, until)``."""
        ...


@attrs.frozen
class _Level:
    on_hand: int = 0
    reserved: int = 0
    threshold: int | None = None


def check_threshold(value: object) -> int | None:
    """Return ``value`` if it is ``None`` or a whole number of at least 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_UNITS:
        raise InvalidInputError(
            "threshold", f"must be a whole number from 0 to {MAX_UNITS} or None, got {value!r}"
        )
    return value


class MemoryStockLedger:
    """The memory backend's :class:`StockLedger`."""

    def __init__(self, uow: Any) -> None:
        self._uow = uow
        self._levels: dict[tuple[str, str], _Level] = uow.table("stock_levels")
        self._movements: dict[int, StockMovement] = uow.table("stock_movements")

    def _write(
        self,
        sku: str,
        warehouse: str,
        old: _Level,
        new: _Level,
        reason: MovementReason,
        reference: str | None,
        note: str | None,
    ) -> StockChange:
        self._keep(sku, warehouse, new)
        seq = self._uow.next_sequence("stock_movements")
        movement = StockMovement(
            seq=seq,
            sku=sku,
            warehouse=warehouse,
            reason=reason,
            on_hand_delta=new.on_hand - old.on_hand,
            reserved_delta=new.reserved - old.reserved,
            on_hand_after=new.on_hand,
            reserved_after=new.reserved,
            actor=self._uow.actor.id,
            at=self._uow.clock.now(),
            reference=reference,
            note=note,
        )
        self._uow.put(self._movements, seq, movement)
        return StockChange(
            before=_view(sku, warehouse, old), after=_view(sku, warehouse, new), movement=movement
        )

    def _keep(self, sku: str, warehouse: str, level: _Level) -> None:
        if (sku, warehouse) not in self._levels:
            by_sku: dict[str, tuple[str, ...]] = self._uow.table("stock_levels_by_sku")
            self._uow.put(by_sku, sku, (*by_sku.get(sku, ()), warehouse))
        self._uow.put(self._levels, (sku, warehouse), level)

    def _current(self, sku: str, warehouse: str) -> _Level:
        return self._levels.get((sku, warehouse), _Level())

    def receive(
        self,
        sku: str,
        warehouse: str,
        quantity: int,
        *,
        reason: MovementReason = MovementReason.RECEIPT,
        reference: str | None = None,
        note: str | None = None,
    ) -> StockChange:
        """Add stock."""
        sku, warehouse, quantity = check_stock_args(sku, warehouse, quantity)
        reason = check_receipt_reason(reason)
        old = self._current(sku, warehouse)
        new = attrs.evolve(old, on_hand=old.on_hand + quantity)
        return self._write(sku, warehouse, old, new, reason, check_reference(reference), check_note(note))

    def reserve(
        self, sku: str, warehouse: str, quantity: int, *, reference: str | None = None
    ) -> StockChange:
        """Reserve stock if available."""
        sku, warehouse, quantity = check_stock_args(sku, warehouse, quantity)
        reference = check_reference(reference)
        old = self._current(sku, warehouse)
        if old.on_hand - old.reserved < quantity:
            raise InsufficientStockError(sku, warehouse, quantity, old.on_hand - old.reserved)
        new = attrs.evolve(old, reserved=old.reserved + quantity)
        return self._write(sku, warehouse, old, new, MovementReason.RESERVATION, reference, None)

    def release(
        self,
        sku: str,
        warehouse: str,
        quantity: int,
        *,
        reference: str | None = None,
        note: str | None = None,
    ) -> StockChange:
        """Release reserved stock."""
        sku, warehouse, quantity = check_stock_args(sku, warehouse, quantity)
        reference, note = check_reference(reference), check_note(note)
        old = self._current(sku, warehouse)
        if old.reserved < quantity:
            raise over_release(sku, warehouse, quantity, old.reserved, "release")
        new = attrs.evolve(old, reserved=old.reserved - quantity)
        return self._write(sku, warehouse, old, new, MovementReason.RELEASE, reference, note)

    def ship(self, sku: str, warehouse: str, quantity: int, *, reference: str | None = None) -> StockChange:
        """Ship reserved stock."""
        sku, warehouse, quantity = check_stock_args(sku, warehouse, quantity)
        reference = check_reference(reference)
        old = self._current(sku, warehouse)
        if old.reserved < quantity:
            raise over_release(sku, warehouse, quantity, old.reserved, "ship")
        new = attrs.evolve(old, on_hand=old.on_hand - quantity, reserved=old.reserved - quantity)
        return self._write(sku, warehouse, old, new, MovementReason.SHIPMENT, reference, None)

    def adjust(
        self,
        sku: str,
        warehouse: str,
        delta: int,
        *,
        reason: MovementReason,
        reference: str | None = None,
        note: str | None = None,
    ) -> StockChange:
        """Adjust on hand."""
        sku, warehouse = check_sku(sku), check_warehouse_code(warehouse)
        delta, reason = check_adjustment(delta, reason)
        reference, note = check_reference(reference), check_note(note)
        old = self._current(sku, warehouse)
        if old.on_hand + delta < old.reserved:
            raise InsufficientStockError(sku, warehouse, -delta, old.on_hand - old.reserved)
        new = attrs.evolve(old, on_hand=old.on_hand + delta)
        return self._write(sku, warehouse, old, new, reason, reference, note)

    def set_threshold(self, sku: str, warehouse: str, threshold: int | None) -> StockLevel:
        """Set the warning level."""
        sku, warehouse = check_sku(sku), check_warehouse_code(warehouse)
        new = attrs.evolve(self._current(sku, warehouse), threshold=check_threshold(threshold))
        self._keep(sku, warehouse, new)
        return _view(sku, warehouse, new)

    def level(self, sku: str, warehouse: str) -> StockLevel:
        """Return the level."""
        sku, warehouse = check_sku(sku), check_warehouse_code(warehouse)
        return _view(sku, warehouse, self._current(sku, warehouse))

    def levels(
        self,
        *,
        sku: str | None = None,
        warehouse: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[StockLevel]:
        """Return levels in (SKU, warehouse) order."""
        limit = check_limit(limit)
        after = decode_level_cursor(cursor) if cursor is not None else None
        keys = sorted(
            k
            for k in self._levels
            if (sku is None or k[0] == sku)
            and (warehouse is None or k[1] == warehouse)
            and (after is None or k > after)
        )
        page = keys[:limit]
        items = tuple(_view(s, w, self._levels[(s, w)]) for s, w in page)
        more = len(keys) > limit
        return Page(items, encode_level_cursor(*page[-1]) if more else None)

    def levels_of(self, skus: Sequence[str], *, lock: bool = False) -> dict[str, list[StockLevel]]:
        """Return the levels of each SKU (the memory backend holds one lock for the whole shop)."""
        wanted = {check_sku(sku, field="skus") for sku in skus}
        out: dict[str, list[StockLevel]] = {sku: [] for sku in sorted(wanted)}
        by_sku: dict[str, list[str]] = self._uow.table("stock_levels_by_sku")
        for sku in out:
            for warehouse in sorted(by_sku.get(sku, ())):
                out[sku].append(_view(sku, warehouse, self._levels[(sku, warehouse)]))
        return out

    def movements(
        self,
        *,
        sku: str | None = None,
        warehouse: str | None = None,
        reference: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[StockMovement]:
        """Return ledger lines in order."""
        limit = check_limit(limit)
        after = decode_seq_cursor(cursor) if cursor is not None else 0
        found = [
            m
            for seq, m in sorted(self._movements.items())
            if seq > after
            and (sku is None or m.sku == sku)
            and (warehouse is None or m.warehouse == warehouse)
            and (reference is None or m.reference == reference)
        ]
        page = found[:limit]
        more = len(found) > limit
        return Page(tuple(page), encode_seq_cursor(page[-1].seq) if more else None)

    def shipped(self, sku: str, warehouse: str, *, since: datetime, until: datetime) -> int:
        """Return units shipped in the period."""
        since, until = ensure_aware(since, field="since"), ensure_aware(until, field="until")
        return -sum(
            m.on_hand_delta
            for m in self._movements.values()
            if m.sku == sku
            and m.warehouse == warehouse
            and m.reason is MovementReason.SHIPMENT
            and since <= m.at < until
        )

    def summary(
        self, *, since: datetime, until: datetime, warehouse: str | None = None
    ) -> Sequence[MovementSummary]:
        """Summarise movements per level."""
        since, until = ensure_aware(since, field="since"), ensure_aware(until, field="until")
        out = []
        for (sku, wh), level in sorted(self._levels.items()):
            if warehouse is not None and wh != warehouse:
                continue
            mine = [m for m in self._movements.values() if m.sku == sku and m.warehouse == wh]
            shipments = [m for m in mine if m.reason is MovementReason.SHIPMENT and m.at < until]
            out.append(
                MovementSummary(
                    sku=sku,
                    warehouse=wh,
                    on_hand=level.on_hand,
                    shipped=-sum(m.on_hand_delta for m in shipments if m.at >= since),
                    on_hand_change=sum(m.on_hand_delta for m in mine if since <= m.at < until),
                    on_hand_change_after=sum(m.on_hand_delta for m in mine if m.at >= until),
                    last_shipment_at=max((m.at for m in shipments), default=None),
                    first_movement_at=min((m.at for m in mine), default=None),
                )
            )
        return out


def _view(sku: str, warehouse: str, level: _Level) -> StockLevel:
    return StockLevel(
        sku=sku,
        warehouse=warehouse,
        on_hand=level.on_hand,
        reserved=level.reserved,
        low_stock_threshold=level.threshold,
    )


def check_stock_args(sku: object, warehouse: object, quantity: object) -> tuple[str, str, int]:
    """Validate a SKU, a warehouse code and a positive quantity."""
    return check_sku(sku), check_warehouse_code(warehouse), check_quantity(quantity)


def check_receipt_reason(reason: object) -> MovementReason:
    """Return ``reason`` if it is a receipt or a customer return."""
    if reason not in (MovementReason.RECEIPT, MovementReason.CUSTOMER_RETURN):
        raise InvalidInputError("reason", "a receipt is a receipt or a customer_return")
    return MovementReason(reason)  # type: ignore[arg-type]
