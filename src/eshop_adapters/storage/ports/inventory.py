"""
The SQL stock ledger (:class:`~eshop_core.storage.inventory_ports.StockLedger`): one statement per act.

Each act changes ``stock_levels`` with one statement and appends one row to
``stock_movements`` (``INSERT ... RETURNING seq``), in the caller's unit of
work:

* ``reserve``, ``release``, ``ship`` and a negative ``adjust`` are conditional
  ``UPDATE stock_levels SET ... WHERE <sku, warehouse> AND <condition>
  RETURNING on_hand, reserved, low_stock_threshold``; the condition is the one
  the port names (``on_hand - reserved >= :quantity``, ``reserved >=
  :quantity``, ``on_hand + :delta >= reserved``), so concurrent units of work
  can never oversell. When it matches no row the level is read to raise the
  error the memory backend raises, with the numbers as they are; should the
  level read allow the act after all (another transaction committed between
  the two statements), the update is tried again (three times in all; then a
  :class:`~eshop_core.errors.StorageError` asks the caller to try later).
* ``receive``, a positive ``adjust`` and ``set_threshold`` are upserts
  (``INSERT ... ON CONFLICT (sku, warehouse) DO UPDATE``).

The level before the act is derived from the level after it and the deltas.
Nothing is loaded, changed and saved. ``shipped`` and ``summary`` are single
aggregate queries (conditional sums grouped by SKU and warehouse).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple

from sqlalchemy import and_, bindparam, case, func, select, tuple_

from eshop_adapters.storage.mappings.inventory import stock_levels, stock_movements
from eshop_adapters.storage.sql import AnyRow, SqlUnitOfWork, dialect_insert
from eshop_core.domain.catalog import check_sku
from eshop_core.domain.inventory import (
    MovementReason,
    StockChange,
    StockLevel,
    StockMovement,
    check_warehouse_code,
)
from eshop_core.domain.stock_reports import MovementSummary
from eshop_core.errors import EshopError, InsufficientStockError, StorageError
from eshop_core.storage.inventory_ports import (
    check_adjustment,
    check_note,
    check_receipt_reason,
    check_reference,
    check_stock_args,
    check_threshold,
    decode_level_cursor,
    encode_level_cursor,
    over_release,
)
from eshop_core.storage.ports import Page
from eshop_core.storage.unit_of_work import check_limit, decode_seq_cursor, encode_seq_cursor

__all__ = ["SqlStockLedger"]

_RACE_ATTEMPTS: Final = 3
"""How often a conditional update is tried when the level read afterwards would have allowed it."""

_l = stock_levels.c
_m = stock_movements.c
_LEVEL_COLUMNS: Final = (_l.on_hand, _l.reserved, _l.low_stock_threshold)
_THIS_LEVEL: Final = (_l.sku == bindparam("b_sku"), _l.warehouse == bindparam("b_warehouse"))
_SHIPMENT: Final = MovementReason.SHIPMENT.value

_RESERVE: Final = (
    stock_levels.update()
    .where(*_THIS_LEVEL, _l.on_hand - _l.reserved >= bindparam("b_quantity"))
    .values(reserved=_l.reserved + bindparam("b_quantity"))
    .returning(*_LEVEL_COLUMNS)
)
_RELEASE: Final = (
    stock_levels.update()
    .where(*_THIS_LEVEL, _l.reserved >= bindparam("b_quantity"))
    .values(reserved=_l.reserved - bindparam("b_quantity"))
    .returning(*_LEVEL_COLUMNS)
)
_SHIP: Final = (
    stock_levels.update()
    .where(*_THIS_LEVEL, _l.reserved >= bindparam("b_quantity"))
    .values(on_hand=_l.on_hand - bindparam("b_quantity"), reserved=_l.reserved - bindparam("b_quantity"))
    .returning(*_LEVEL_COLUMNS)
)
_TAKE: Final = (
    stock_levels.update()
    .where(*_THIS_LEVEL, _l.on_hand + bindparam("b_delta") >= _l.reserved)
    .values(on_hand=_l.on_hand + bindparam("b_delta"))
    .returning(*_LEVEL_COLUMNS)
)
_LEVEL: Final = select(*_LEVEL_COLUMNS).where(
    _l.sku == bindparam("sku"), _l.warehouse == bindparam("warehouse")
)
_LEVELS_OF: Final = (
    select(_l.sku, _l.warehouse, *_LEVEL_COLUMNS)
    .where(_l.sku.in_(bindparam("skus", expanding=True)))
    .order_by(_l.sku, _l.warehouse)
)
# Rows locked in (sku, warehouse) order: units of work that lock what they will reserve this way
# up front never wait for each other in a cycle (PostgreSQL; SQLite has one writer at a time).
_LEVELS_OF_LOCKED: Final = _LEVELS_OF.with_for_update()
_APPEND_COLUMNS: Final = (
    "sku",
    "warehouse",
    "reason",
    "on_hand_delta",
    "reserved_delta",
    "on_hand_after",
    "reserved_after",
    "actor",
    "at",
    "reference",
    "note",
)
_APPEND: Final = (
    stock_movements.insert().values({name: bindparam(name) for name in _APPEND_COLUMNS}).returning(_m.seq)
)
_SHIPPED: Final = select(func.coalesce(func.sum(_m.on_hand_delta), 0)).where(
    _m.sku == bindparam("sku"),
    _m.warehouse == bindparam("warehouse"),
    _m.reason == _SHIPMENT,
    _m.at >= bindparam("since"),
    _m.at < bindparam("until"),
)


def _add_statement(dialect_name: str) -> Any:
    """``receive`` and positive adjustments: insert the level or add to its on hand."""
    insert = dialect_insert(dialect_name, stock_levels)
    return insert.on_conflict_do_update(
        index_elements=[_l.sku, _l.warehouse], set_={"on_hand": _l.on_hand + insert.excluded.on_hand}
    ).returning(*_LEVEL_COLUMNS)


def _threshold_statement(dialect_name: str) -> Any:
    """``set_threshold``: insert the level or replace its warning level."""
    insert = dialect_insert(dialect_name, stock_levels)
    return insert.on_conflict_do_update(
        index_elements=[_l.sku, _l.warehouse],
        set_={"low_stock_threshold": insert.excluded.low_stock_threshold},
    ).returning(*_LEVEL_COLUMNS)


def _summary_statement(*, one_warehouse: bool) -> Any:
    """Per level: on hand, and its movements' conditional sums for ``[since, until)``."""
    in_period = and_(_m.at >= bindparam("since"), _m.at < bindparam("until"))
    shipment = _m.reason == _SHIPMENT
    moved = select(
        _m.sku,
        _m.warehouse,
        func.sum(case((and_(shipment, in_period), _m.on_hand_delta), else_=0)).label("shipped_delta"),
        func.sum(case((in_period, _m.on_hand_delta), else_=0)).label("change"),
        func.sum(case((_m.at >= bindparam("until"), _m.on_hand_delta), else_=0)).label("change_after"),
        func.max(case((and_(shipment, _m.at < bindparam("until")), _m.at))).label("last_shipment_at"),
        func.min(_m.at).label("first_movement_at"),
    ).group_by(_m.sku, _m.warehouse)
    if one_warehouse:
        moved = moved.where(_m.warehouse == bindparam("warehouse"))
    sums = moved.subquery("moved")
    statement = (
        select(
            _l.sku,
            _l.warehouse,
            _l.on_hand,
            sums.c.shipped_delta,
            sums.c.change,
            sums.c.change_after,
            sums.c.last_shipment_at,
            sums.c.first_movement_at,
        )
        .select_from(
            stock_levels.outerjoin(sums, and_(sums.c.sku == _l.sku, sums.c.warehouse == _l.warehouse))
        )
        .order_by(_l.sku, _l.warehouse)
    )
    if one_warehouse:
        statement = statement.where(_l.warehouse == bindparam("warehouse"))
    return statement


_SUMMARY: Final = _summary_statement(one_warehouse=False)
_SUMMARY_OF_WAREHOUSE: Final = _summary_statement(one_warehouse=True)
_ADD: dict[str, Any] = {}
_THRESHOLD: dict[str, Any] = {}


def _for_dialect(cache: dict[str, Any], build: Callable[[str], Any], dialect_name: str) -> Any:
    statement = cache.get(dialect_name)
    if statement is None:
        statement = cache[dialect_name] = build(dialect_name)
    return statement


class _LevelRow(NamedTuple):
    """The columns of :data:`_LEVEL_COLUMNS`, as a driver row gives them."""

    on_hand: int
    reserved: int
    low_stock_threshold: int | None


def _level(sku: str, warehouse: str, row: Any) -> StockLevel:
    threshold = row.low_stock_threshold
    return StockLevel(
        sku=sku,
        warehouse=warehouse,
        on_hand=int(row.on_hand),
        reserved=int(row.reserved),
        low_stock_threshold=None if threshold is None else int(threshold),
    )


def _movement(row: AnyRow) -> StockMovement:
    return StockMovement(
        seq=int(row.seq),
        sku=row.sku,
        warehouse=row.warehouse,
        reason=MovementReason(row.reason),
        on_hand_delta=int(row.on_hand_delta),
        reserved_delta=int(row.reserved_delta),
        on_hand_after=int(row.on_hand_after),
        reserved_after=int(row.reserved_after),
        actor=row.actor,
        at=row.at,
        reference=row.reference,
        note=row.note,
    )


def _int(value: Any) -> int:
    """A sum as an int (PostgreSQL sums ``bigint`` as ``numeric``; an empty group is ``NULL``)."""
    return 0 if value is None else int(value)


class SqlStockLedger:
    """
    The SQL backend's :class:`~eshop_core.storage.inventory_ports.StockLedger`.

    Args:
        uow: The unit of work it runs in.
    """

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    # -- writing --------------------------------------------------------------------

    def _append(
        self,
        sku: str,
        warehouse: str,
        row: AnyRow,
        on_hand_delta: int,
        reserved_delta: int,
        reason: MovementReason,
        reference: str | None,
        note: str | None,
    ) -> StockChange:
        """Write the movement of an act whose level is now ``row``; return the change."""
        after = _level(sku, warehouse, row)
        actor = self._uow.actor.id
        at = self._uow.clock.now()
        inserted = self._uow.driver_first(
            _APPEND,
            {
                "sku": sku,
                "warehouse": warehouse,
                "reason": reason.value,
                "on_hand_delta": on_hand_delta,
                "reserved_delta": reserved_delta,
                "on_hand_after": after.on_hand,
                "reserved_after": after.reserved,
                "actor": actor,
                "at": at,
                "reference": reference,
                "note": note,
            },
        )
        assert inserted is not None  # INSERT ... RETURNING returns its row
        movement = StockMovement(
            seq=int(inserted[0]),
            sku=sku,
            warehouse=warehouse,
            reason=reason,
            on_hand_delta=on_hand_delta,
            reserved_delta=reserved_delta,
            on_hand_after=after.on_hand,
            reserved_after=after.reserved,
            actor=actor,
            at=at,
            reference=reference,
            note=note,
        )
        before = StockLevel(
            sku=sku,
            warehouse=warehouse,
            on_hand=after.on_hand - on_hand_delta,
            reserved=after.reserved - reserved_delta,
            low_stock_threshold=after.low_stock_threshold,
        )
        return StockChange(before=before, after=after, movement=movement)

    def _add(self, sku: str, warehouse: str, quantity: int) -> AnyRow:
        statement = _for_dialect(_ADD, _add_statement, self._uow.dialect_name)
        row = self._uow.first(
            statement,
            {
                "sku": sku,
                "warehouse": warehouse,
                "on_hand": quantity,
                "reserved": 0,
                "low_stock_threshold": None,
            },
        )
        assert row is not None  # an upsert always returns its row
        return row

    def _conditional(
        self,
        statement: Any,
        params: dict[str, Any],
        refusal: Callable[[StockLevel], EshopError | None],
    ) -> Any:
        """
        Run a conditional update of one level and return its row.

        Raises:
            EshopError: What ``refusal`` makes of the level as read when the update matched nothing.
        """
        sku, warehouse = params["b_sku"], params["b_warehouse"]
        for _attempt in range(_RACE_ATTEMPTS):
            row = self._uow.driver_first(statement, params)
            if row is not None:
                return _LevelRow(*row)
            error = refusal(self._read(sku, warehouse))
            if error is not None:
                raise error
        raise StorageError(
            f"the stock of {sku} in {warehouse} kept changing while it was being updated; try again"
        )

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
        sku, warehouse, quantity = check_stock_args(sku, warehouse, quantity)
        reason = check_receipt_reason(reason)
        reference, note = check_reference(reference), check_note(note)
        row = self._add(sku, warehouse, quantity)
        return self._append(sku, warehouse, row, quantity, 0, reason, reference, note)

    def reserve(
        self, sku: str, warehouse: str, quantity: int, *, reference: str | None = None
    ) -> StockChange:
        """
        Reserve ``quantity`` if that many are available.

        Raises:
            InsufficientStockError: Fewer available; nothing changed.
        """
        sku, warehouse, quantity = check_stock_args(sku, warehouse, quantity)
        reference = check_reference(reference)

        def refusal(level: StockLevel) -> EshopError | None:
            if level.available >= quantity:
                return None
            return InsufficientStockError(sku, warehouse, quantity, level.available)

        row = self._conditional(
            _RESERVE, {"b_sku": sku, "b_warehouse": warehouse, "b_quantity": quantity}, refusal
        )
        return self._append(sku, warehouse, row, 0, quantity, MovementReason.RESERVATION, reference, None)

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
        sku, warehouse, quantity = check_stock_args(sku, warehouse, quantity)
        reference, note = check_reference(reference), check_note(note)

        def refusal(level: StockLevel) -> EshopError | None:
            if level.reserved >= quantity:
                return None
            return over_release(sku, warehouse, quantity, level.reserved, "release")

        row = self._conditional(
            _RELEASE, {"b_sku": sku, "b_warehouse": warehouse, "b_quantity": quantity}, refusal
        )
        return self._append(sku, warehouse, row, 0, -quantity, MovementReason.RELEASE, reference, note)

    def ship(self, sku: str, warehouse: str, quantity: int, *, reference: str | None = None) -> StockChange:
        """
        Commit ``quantity`` reserved units on shipment: on hand and reserved both drop.

        Raises:
            InvalidInputError: ``quantity`` exceeds what is reserved; nothing changed.
        """
        sku, warehouse, quantity = check_stock_args(sku, warehouse, quantity)
        reference = check_reference(reference)

        def refusal(level: StockLevel) -> EshopError | None:
            if level.reserved >= quantity:
                return None
            return over_release(sku, warehouse, quantity, level.reserved, "ship")

        row = self._conditional(
            _SHIP, {"b_sku": sku, "b_warehouse": warehouse, "b_quantity": quantity}, refusal
        )
        return self._append(
            sku, warehouse, row, -quantity, -quantity, MovementReason.SHIPMENT, reference, None
        )

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
        sku, warehouse = check_sku(sku), check_warehouse_code(warehouse)
        delta, reason = check_adjustment(delta, reason)
        reference, note = check_reference(reference), check_note(note)
        if delta > 0:
            row = self._add(sku, warehouse, delta)
        else:

            def refusal(level: StockLevel) -> EshopError | None:
                if level.on_hand + delta >= level.reserved:
                    return None
                return InsufficientStockError(sku, warehouse, -delta, level.available)

            row = self._conditional(
                _TAKE, {"b_sku": sku, "b_warehouse": warehouse, "b_delta": delta}, refusal
            )
        return self._append(sku, warehouse, row, delta, 0, reason, reference, note)

    def set_threshold(self, sku: str, warehouse: str, threshold: int | None) -> StockLevel:
        """Set (or clear, with ``None``) the SKU's low-stock warning level in ``warehouse``."""
        sku, warehouse = check_sku(sku), check_warehouse_code(warehouse)
        threshold = check_threshold(threshold)
        statement = _for_dialect(_THRESHOLD, _threshold_statement, self._uow.dialect_name)
        row = self._uow.first(
            statement,
            {
                "sku": sku,
                "warehouse": warehouse,
                "on_hand": 0,
                "reserved": 0,
                "low_stock_threshold": threshold,
            },
        )
        assert row is not None  # an upsert always returns its row
        return _level(sku, warehouse, row)

    # -- reading --------------------------------------------------------------------

    def _read(self, sku: str, warehouse: str) -> StockLevel:
        row = self._uow.first(_LEVEL, {"sku": sku, "warehouse": warehouse})
        return StockLevel(sku=sku, warehouse=warehouse) if row is None else _level(sku, warehouse, row)

    def level(self, sku: str, warehouse: str) -> StockLevel:
        """Return the level (zeros if never stocked)."""
        return self._read(check_sku(sku), check_warehouse_code(warehouse))

    def levels(
        self,
        *,
        sku: str | None = None,
        warehouse: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[StockLevel]:
        """Return stocked levels in (SKU, warehouse) order, one page at a time."""
        limit = check_limit(limit)
        after = decode_level_cursor(cursor) if cursor is not None else None
        statement = select(_l.sku, _l.warehouse, *_LEVEL_COLUMNS)
        if sku is not None:
            statement = statement.where(_l.sku == sku)
        if warehouse is not None:
            statement = statement.where(_l.warehouse == warehouse)
        if after is not None:
            statement = statement.where(tuple_(_l.sku, _l.warehouse) > tuple_(*after))
        rows = self._uow.rows(statement.order_by(_l.sku, _l.warehouse).limit(limit + 1))
        found = [_level(row.sku, row.warehouse, row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(tuple(found), encode_level_cursor(found[-1].sku, found[-1].warehouse) if more else None)

    def levels_of(self, skus: Sequence[str], *, lock: bool = False) -> dict[str, list[StockLevel]]:
        """Return every stocked level of each SKU in ``skus``, by warehouse code (one query)."""
        wanted = sorted({check_sku(sku, field="skus") for sku in skus})
        out: dict[str, list[StockLevel]] = {sku: [] for sku in wanted}
        if wanted:
            statement = _LEVELS_OF_LOCKED if lock else _LEVELS_OF
            for row in self._uow.rows(statement, {"skus": wanted}):
                out[row.sku].append(_level(row.sku, row.warehouse, row))
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
        """Return ledger lines in ledger order, one page at a time."""
        limit = check_limit(limit)
        after = decode_seq_cursor(cursor) if cursor is not None else 0
        statement = select(stock_movements).where(_m.seq > after)
        if sku is not None:
            statement = statement.where(_m.sku == sku)
        if warehouse is not None:
            statement = statement.where(_m.warehouse == warehouse)
        if reference is not None:
            statement = statement.where(_m.reference == reference)
        rows = self._uow.rows(statement.order_by(_m.seq).limit(limit + 1))
        found = [_movement(row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(tuple(found), encode_seq_cursor(found[-1].seq) if more else None)

    def shipped(self, sku: str, warehouse: str, *, since: datetime, until: datetime) -> int:
        """Return the units of ``sku`` shipped from ``warehouse`` in ``[since, until)``."""
        total = self._uow.scalar(
            _SHIPPED, {"sku": sku, "warehouse": warehouse, "since": since, "until": until}
        )
        return -_int(total)

    def summary(
        self, *, since: datetime, until: datetime, warehouse: str | None = None
    ) -> Sequence[MovementSummary]:
        """Return a :class:`MovementSummary` per stocked (SKU, warehouse) for ``[since, until)``."""
        if warehouse is None:
            rows = self._uow.rows(_SUMMARY, {"since": since, "until": until})
        else:
            rows = self._uow.rows(
                _SUMMARY_OF_WAREHOUSE, {"since": since, "until": until, "warehouse": warehouse}
            )
        return [
            MovementSummary(
                sku=row.sku,
                warehouse=row.warehouse,
                on_hand=int(row.on_hand),
                shipped=-_int(row.shipped_delta),
                on_hand_change=_int(row.change),
                on_hand_change_after=_int(row.change_after),
                last_shipment_at=row.last_shipment_at,
                first_movement_at=row.first_movement_at,
            )
            for row in rows
        ]
