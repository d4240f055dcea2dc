"""
``shop.inventory``: warehouses, stock levels, the movement ledger, low-stock alerts and reports.

Stock per SKU per warehouse (INV-01) lives behind the
:class:`~eshop_core.storage.inventory_ports.StockLedger` port; every change is
an append-only movement with its reason and author (INV-07). This service
checks who acts and that the SKU (a catalog SKU) and warehouse exist, then
calls the ledger. Whenever available stock falls below the SKU's warning level
(its own, or the policy's ``stock.low_stock_default``) a
:class:`~eshop_core.domain.inventory.ReplenishmentSuggestion` is raised for
purchasing, one open suggestion per SKU and warehouse (INV-03). Turnover and
slow-moving stock are report queries (INV-04).

Other services (orders, purchasing, counts) reserve, release, ship and
receive through the ``*_in`` methods, inside their own unit of work.

Example:
    >>> from eshop_core import Actor, Role, Shop
    >>> shop = Shop.open("memory://")
    >>> boss = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
    >>> shop.inventory.open_warehouse(boss, code="SH-01", name="Shanghai").code
    'SH-01'
    >>> shop.inventory.level(boss, "NO-SUCH-SKU", "SH-01")
    Traceback (most recent call last):
    ...
    eshop_core.errors.NotFoundError: SKU NO-SUCH-SKU not found
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from eshop_core.access import Actor, Permission, authorize
from eshop_core.clock import ensure_aware
from eshop_core.domain.inventory import (
    MovementReason,
    ReplenishmentSuggestion,
    StockChange,
    StockLevel,
    StockMovement,
    SuggestionState,
    Warehouse,
    check_quantity,
    check_warehouse_code,
)
from eshop_core.domain.policies import PolicyVersion
from eshop_core.domain.stock_reports import SlowMover, TurnoverLine, slow_movers, turnover
from eshop_core.errors import InvalidInputError, NotFoundError
from eshop_core.ids import parse_id
from eshop_core.storage.catalog_ports import SkuRegistry
from eshop_core.storage.inventory_ports import StockLedger, check_adjustment
from eshop_core.storage.ports import Page, UnitOfWork

if TYPE_CHECKING:
    from eshop_core.shop import Shop

__all__ = ["InventoryService", "SuggestionView", "WarehouseView"]

_INSTANT = timedelta(microseconds=1)
E = TypeVar("E", bound=Enum)


@attrs.frozen(kw_only=True)
class WarehouseView:
    """
    A snapshot of a :class:`~eshop_core.domain.inventory.Warehouse`.

    Attributes:
        id: Its id.
        code: Its code.
        name: Its name.
        priority: Lower is preferred when allocating.
        counting_id: The stock count running in it, if any.
    """

    id: uuid.UUID
    code: str
    name: str
    priority: int
    counting_id: uuid.UUID | None

    @classmethod
    def of(cls, warehouse: Warehouse) -> WarehouseView:
        """Return the snapshot of ``warehouse``."""
        return cls(
            id=warehouse.id,
            code=warehouse.code,
            name=warehouse.name,
            priority=warehouse.priority,
            counting_id=warehouse.counting_id,
        )


@attrs.frozen(kw_only=True)
class SuggestionView:
    """A snapshot of a :class:`~eshop_core.domain.inventory.ReplenishmentSuggestion` (same attributes)."""

    id: uuid.UUID
    sku: str
    warehouse: str
    state: SuggestionState
    available: int
    threshold: int
    daily_sales: Decimal
    suggested_quantity: int
    raised_at: datetime
    policy_version: int | None
    purchase_order_id: uuid.UUID | None
    note: str | None

    @classmethod
    def of(cls, s: ReplenishmentSuggestion) -> SuggestionView:
        """Return the snapshot of ``s``."""
        return cls(
            id=s.id,
            sku=s.sku,
            warehouse=s.warehouse,
            state=s.state,
            available=s.available,
            threshold=s.threshold,
            daily_sales=s.daily_sales,
            suggested_quantity=s.suggested_quantity,
            raised_at=s.raised_at,
            policy_version=s.policy_version,
            purchase_order_id=s.purchase_order_id,
            note=s.note,
        )


def check_state(kind: type[E], value: object, *, field: str = "state") -> E:
    """Return ``value`` as a member of the enum ``kind``; raise :class:`InvalidInputError` if it is none."""
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(str(member.value) for member in kind)
        raise InvalidInputError(field, f"unknown state {value!r}; known: {known}") from None


def all_pages(uow: UnitOfWork, kind: type[Any], where: dict[str, object] | None = None) -> Iterator[Any]:
    """Yield every aggregate of ``kind`` matching ``where``, page by page."""
    repository = uow.repository(kind)
    cursor: str | None = None
    while True:
        page = repository.find(where=where, limit=500, cursor=cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def stock_levels(ledger: StockLedger, *, warehouse: str | None = None) -> Iterator[StockLevel]:
    """Yield every stocked level (of one warehouse), page by page."""
    cursor: str | None = None
    while True:
        page = ledger.levels(warehouse=warehouse, limit=1000, cursor=cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def on_order(uow: UnitOfWork, sku: str, warehouse: str) -> int:
    """Return the units of ``sku`` still expected on open purchase orders into ``warehouse``."""
    from eshop_core.domain.purchasing import OPEN_STATES, PurchaseOrder

    total = 0
    for state in OPEN_STATES:
        for order in all_pages(uow, PurchaseOrder, {"warehouse": warehouse, "state": state}):
            total += order.outstanding.get(sku, 0)
    return total


class InventoryService:
    """Warehouses, stock and its ledger, low-stock suggestions and reports; see the module documentation."""

    def __init__(self, shop: Shop) -> None:
        self._shop = shop
        # Warehouses and catalog SKUs are never removed: once seen, they stay known.
        self._known_warehouses: set[str] = set()
        self._known_skus: set[str] = set()

    # -- checks for every caller ------------------------------------------------------

    def check_warehouse(self, uow: UnitOfWork, code: object, *, field: str = "warehouse") -> str:
        """
        Return ``code`` if a warehouse has it.

        Raises:
            InvalidInputError: Not a warehouse code.
            NotFoundError: No such warehouse.
        """
        code = check_warehouse_code(code, field=field)
        if code not in self._known_warehouses:
            if not uow.repository(Warehouse).find(where={"code": code}, limit=1).items:
                raise NotFoundError("Warehouse", code)
            self._known_warehouses.add(code)
        return code

    def check_sku(self, uow: UnitOfWork, sku: object, *, field: str = "sku") -> str:
        """
        Return ``sku`` if a catalog product has it.

        Raises:
            InvalidInputError: Not a SKU.
            NotFoundError: No product has it.
        """
        from eshop_core.domain.catalog import check_sku

        sku = check_sku(sku, field=field)
        if sku not in self._known_skus:
            if uow.port(SkuRegistry).owner(sku) is None:
                raise NotFoundError("SKU", sku)
            self._known_skus.add(sku)
        return sku

    def _warehouse(self, uow: UnitOfWork, code: str) -> Warehouse:
        found = uow.repository(Warehouse).find(where={"code": code}, limit=1).items
        if not found:
            raise NotFoundError("Warehouse", code)
        return found[0]

    # -- warehouses ----------------------------------------------------------------------

    def open_warehouse(self, actor: Actor, *, code: str, name: str, priority: int = 100) -> WarehouseView:
        """
        Register a warehouse.

        Args:
            actor: Who (needs ``warehouse.manage``).
            code: A unique code, 1-32 letters, digits, ``-`` and ``_``.
            name: A display name.
            priority: Lower is preferred when allocating orders.

        Raises:
            PermissionDeniedError: Missing ``warehouse.manage``.
            InvalidInputError: A bad value, or ``code`` taken already.
        """
        authorize(actor, Permission.WAREHOUSE_MANAGE)
        warehouse = Warehouse.open(
            code=code, name=name, priority=priority, by=actor, at=self._shop.clock.now()
        )
        with self._shop.unit_of_work(actor) as uow:
            if uow.repository(Warehouse).find(where={"code": warehouse.code}, limit=1).items:
                raise InvalidInputError("code", f"warehouse {warehouse.code} exists already")
            uow.repository(Warehouse).add(warehouse)
            uow.commit()
        return WarehouseView.of(warehouse)

    def warehouses(self, actor: Actor) -> tuple[WarehouseView, ...]:
        """Return every warehouse, by priority then code (needs ``stock.read``)."""
        authorize(actor, Permission.STOCK_READ)
        with self._shop.unit_of_work(actor) as uow:
            found = [WarehouseView.of(w) for w in all_pages(uow, Warehouse)]
        return tuple(sorted(found, key=lambda w: (w.priority, w.code)))

    # -- reading stock ---------------------------------------------------------------------

    def level(self, actor: Actor, sku: str, warehouse: str) -> StockLevel:
        """
        Return the stock of ``sku`` in ``warehouse`` (zeros if never stocked).

        Raises:
            PermissionDeniedError: Missing ``stock.read``.
            NotFoundError: Unknown SKU or warehouse.
        """
        authorize(actor, Permission.STOCK_READ)
        with self._shop.unit_of_work(actor) as uow:
            sku = self.check_sku(uow, sku)
            warehouse = self.check_warehouse(uow, warehouse)
            return uow.port(StockLedger).level(sku, warehouse)

    def levels(
        self,
        actor: Actor,
        *,
        sku: str | None = None,
        warehouse: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[StockLevel]:
        """Return stocked levels (of one SKU and/or warehouse), one page at a time (needs ``stock.read``)."""
        authorize(actor, Permission.STOCK_READ)
        with self._shop.unit_of_work(actor) as uow:
            return uow.port(StockLedger).levels(sku=sku, warehouse=warehouse, limit=limit, cursor=cursor)

    def available(self, actor: Actor, sku: str) -> int:
        """Return the units of ``sku`` available across all warehouses (needs ``stock.read``)."""
        authorize(actor, Permission.STOCK_READ)
        with self._shop.unit_of_work(actor) as uow:
            sku = self.check_sku(uow, sku)
            ledger = uow.port(StockLedger)
            total = 0
            cursor: str | None = None
            while True:
                page = ledger.levels(sku=sku, limit=1000, cursor=cursor)
                total += sum(level.available for level in page.items)
                if page.next_cursor is None:
                    return total
                cursor = page.next_cursor

    def movements(
        self,
        actor: Actor,
        *,
        sku: str | None = None,
        warehouse: str | None = None,
        reference: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[StockMovement]:
        """
        Return ledger lines in ledger order (INV-07), one page at a time (needs ``stock.read``).

        Channel adapters can follow stock changes by paging with the last cursor.
        """
        authorize(actor, Permission.STOCK_READ)
        with self._shop.unit_of_work(actor) as uow:
            return uow.port(StockLedger).movements(
                sku=sku, warehouse=warehouse, reference=reference, limit=limit, cursor=cursor
            )

    # -- changing stock (people) -------------------------------------------------------------

    def set_low_stock_threshold(
        self, actor: Actor, sku: str, warehouse: str, threshold: int | None
    ) -> StockLevel:
        """
        Set the warning level of ``sku`` in ``warehouse`` (``None``: the policy's default) (INV-03).

        Stock already below the new level raises a replenishment suggestion at once.

        Raises:
            PermissionDeniedError: Missing ``stock.threshold``.
            NotFoundError: Unknown SKU or warehouse.
            InvalidInputError: A negative threshold.
        """
        authorize(actor, Permission.STOCK_THRESHOLD)
        with self._shop.unit_of_work(actor) as uow:
            sku = self.check_sku(uow, sku)
            warehouse = self.check_warehouse(uow, warehouse)
            level = uow.port(StockLedger).set_threshold(sku, warehouse, threshold)
            self.suggest_if_low(uow, level, at=self._shop.clock.now())
            uow.commit()
        return level

    def adjust(
        self,
        actor: Actor,
        sku: str,
        warehouse: str,
        delta: int,
        *,
        reason: MovementReason | str,
        note: str,
        reference: str | None = None,
    ) -> StockChange:
        """
        Write stock on or off directly: damage, loss, found goods, returns to a supplier, corrections.

        Count variances are booked through ``shop.stock_counts`` instead.

        Raises:
            PermissionDeniedError: Missing ``stock.adjust``.
            NotFoundError: Unknown SKU or warehouse.
            InvalidInputError: A zero delta, a sign that does not fit the reason, a count
                adjustment, or no note.
            InsufficientStockError: On hand would fall below what is reserved.
        """
        authorize(actor, Permission.STOCK_ADJUST)
        delta, checked = check_adjustment(delta, reason)
        if checked is MovementReason.COUNT_ADJUSTMENT:
            raise InvalidInputError("reason", "count adjustments are booked by approving a stock count")
        if not isinstance(note, str) or not note.strip():
            raise InvalidInputError("note", "say why the stock is adjusted")
        with self._shop.unit_of_work(actor) as uow:
            sku = self.check_sku(uow, sku)
            warehouse = self.check_warehouse(uow, warehouse)
            change = uow.port(StockLedger).adjust(
                sku, warehouse, delta, reason=checked, reference=reference, note=note.strip()
            )
            self.after_change(uow, change)
            uow.commit()
        return change

    def restock_return(
        self, actor: Actor, sku: str, warehouse: str, quantity: int, *, reference: str | None = None
    ) -> StockChange:
        """
        Put goods a customer returned back into stock.

        Raises:
            PermissionDeniedError: Missing ``stock.receive``.
            NotFoundError: Unknown SKU or warehouse.
            InvalidInputError: A quantity that is not a positive whole number.
        """
        authorize(actor, Permission.STOCK_RECEIVE)
        with self._shop.unit_of_work(actor) as uow:
            change = self.receive_in(
                uow, sku, warehouse, quantity, reason=MovementReason.CUSTOMER_RETURN, reference=reference
            )
            uow.commit()
        return change

    # -- for services, inside their unit of work ----------------------------------------------

    def receive_in(
        self,
        uow: UnitOfWork,
        sku: str,
        warehouse: str,
        quantity: int,
        *,
        reason: MovementReason = MovementReason.RECEIPT,
        reference: str | None = None,
    ) -> StockChange:
        """Add stock inside ``uow`` (receipts, customer returns); the caller authorizes."""
        quantity = check_quantity(quantity)
        sku = self.check_sku(uow, sku)
        warehouse = self.check_warehouse(uow, warehouse)
        return uow.port(StockLedger).receive(sku, warehouse, quantity, reason=reason, reference=reference)

    def reserve_in(
        self,
        uow: UnitOfWork,
        sku: str,
        warehouse: str,
        quantity: int,
        *,
        reference: str | None = None,
        policy: PolicyVersion | None = None,
    ) -> StockChange:
        """
        Reserve stock inside ``uow`` and raise a low-stock suggestion if it falls below its level.

        Raises:
            InsufficientStockError: Not enough available.
        """
        quantity = check_quantity(quantity)
        sku = self.check_sku(uow, sku)
        warehouse = self.check_warehouse(uow, warehouse)
        change = uow.port(StockLedger).reserve(sku, warehouse, quantity, reference=reference)
        self.after_change(uow, change, policy=policy)
        return change

    def release_in(
        self, uow: UnitOfWork, sku: str, warehouse: str, quantity: int, *, reference: str | None = None
    ) -> StockChange:
        """
        Release reserved stock inside ``uow``.

        Raises:
            InvalidInputError: More than reserved.
        """
        quantity = check_quantity(quantity)
        sku = self.check_sku(uow, sku)
        warehouse = self.check_warehouse(uow, warehouse)
        return uow.port(StockLedger).release(sku, warehouse, quantity, reference=reference)

    def ship_in(
        self, uow: UnitOfWork, sku: str, warehouse: str, quantity: int, *, reference: str | None = None
    ) -> StockChange:
        """
        Commit reserved stock on shipment inside ``uow``.

        Raises:
            InvalidInputError: More than reserved.
        """
        quantity = check_quantity(quantity)
        sku = self.check_sku(uow, sku)
        warehouse = self.check_warehouse(uow, warehouse)
        return uow.port(StockLedger).ship(sku, warehouse, quantity, reference=reference)

    def after_change(
        self, uow: UnitOfWork, change: StockChange, *, policy: PolicyVersion | None = None
    ) -> ReplenishmentSuggestion | None:
        """
        Raise a replenishment suggestion when ``change`` took available stock below its warning level.

        Only a fall from at or above the level to below it counts (see :meth:`suggest_if_low`).

        Stock that was below its level already raises nothing more: a dismissed
        suggestion stays dismissed until stock has been back at its level.
        """
        before, after = change.before.available, change.after.available
        if after >= before:
            return None
        own = change.after.low_stock_threshold
        if own is not None and not after < own <= before:
            return None
        return self.suggest_if_low(uow, change.after, at=change.movement.at, policy=policy, above=before)

    def request_replenishment(
        self,
        uow: UnitOfWork,
        sku: str,
        warehouse: str,
        units: int,
        *,
        at: datetime,
        policy: PolicyVersion | None = None,
    ) -> ReplenishmentSuggestion | None:
        """
        Ask purchasing for ``units`` that waiting orders miss (ORD-04); an open suggestion grows by them.

        The suggestion covers the shortage on top of the usual quantity (see
        :meth:`~eshop_core.domain.inventory.ReplenishmentSuggestion.quantity_for`).
        """
        if policy is None:
            policy = self._shop.policies.version_in_force(uow, at)
        rules = policy.rules.stock
        suggestions = uow.repository(ReplenishmentSuggestion)
        found = suggestions.find(
            where={"sku": sku, "warehouse": warehouse, "state": SuggestionState.OPEN}, limit=1
        ).items
        if found:  # purchasing is asked already: add what these orders miss
            found[0].add_demand(units, by=uow.actor, at=at)
            suggestions.save(found[0])
            return found[0]
        ledger = uow.port(StockLedger)
        level = ledger.level(sku, warehouse)
        threshold = (
            level.low_stock_threshold if level.low_stock_threshold is not None else rules.low_stock_default
        )
        until = at + _INSTANT
        sold = ledger.shipped(
            sku, warehouse, since=until - timedelta(days=rules.sales_window_days), until=until
        )
        suggestion = ReplenishmentSuggestion.raise_for(
            level=level,
            threshold=threshold,
            daily_sales=(Decimal(sold) / rules.sales_window_days).quantize(Decimal("0.01")),
            cover_days=rules.replenishment_cover_days,
            on_order=on_order(uow, sku, warehouse),
            demand=units,
            by=uow.actor,
            at=at,
            policy_version=policy.number,
        )
        if suggestion is not None:
            suggestions.add(suggestion)
        return suggestion

    def suggest_if_low(
        self,
        uow: UnitOfWork,
        level: StockLevel,
        *,
        at: datetime,
        policy: PolicyVersion | None = None,
        above: int | None = None,
    ) -> ReplenishmentSuggestion | None:
        """
        Raise a replenishment suggestion if ``level`` is below its warning level (INV-03).

        The level is the SKU's own or the policy's ``stock.low_stock_default``.
        Nothing is raised while a suggestion for the SKU and warehouse is open,
        or when open purchase orders already bring enough. With ``above`` (the
        available stock before a fall), only a fall from at or above the level counts.
        """
        available, own = level.available, level.low_stock_threshold
        if own is not None and available >= own:
            return None
        if policy is None:
            policy = self._shop.policies.version_in_force(uow, at)
        rules = policy.rules.stock
        threshold = own if own is not None else rules.low_stock_default
        if available >= threshold or (above is not None and above < threshold):
            return None
        sku, warehouse = level.sku, level.warehouse
        suggestions = uow.repository(ReplenishmentSuggestion)
        open_ = suggestions.find(
            where={"sku": sku, "warehouse": warehouse, "state": SuggestionState.OPEN}, limit=1
        )
        if open_.items:
            return None
        window = timedelta(days=rules.sales_window_days)
        until = at + _INSTANT  # as of ``at``, including movements at that very instant
        sold = uow.port(StockLedger).shipped(sku, warehouse, since=until - window, until=until)
        daily = (Decimal(sold) / rules.sales_window_days).quantize(Decimal("0.01"))
        suggestion = ReplenishmentSuggestion.raise_for(
            level=level,
            threshold=threshold,
            daily_sales=daily,
            cover_days=rules.replenishment_cover_days,
            on_order=on_order(uow, sku, warehouse),
            by=uow.actor,
            at=at,
            policy_version=policy.number,
        )
        if suggestion is not None:
            suggestions.add(suggestion)
        return suggestion

    # -- suggestions ---------------------------------------------------------------------------

    def suggestions(
        self,
        actor: Actor,
        *,
        state: SuggestionState | None = SuggestionState.OPEN,
        warehouse: str | None = None,
    ) -> tuple[SuggestionView, ...]:
        """Return replenishment suggestions (open ones by default), oldest first (needs ``stock.read``)."""
        authorize(actor, Permission.STOCK_READ)
        where: dict[str, object] = {}
        if state is not None:
            where["state"] = check_state(SuggestionState, state)
        if warehouse is not None:
            where["warehouse"] = check_warehouse_code(warehouse)
        with self._shop.unit_of_work(actor) as uow:
            return tuple(SuggestionView.of(s) for s in all_pages(uow, ReplenishmentSuggestion, where))

    def dismiss_suggestion(
        self, actor: Actor, suggestion_id: uuid.UUID | str, *, note: str
    ) -> SuggestionView:
        """
        Dismiss an open suggestion with a note.

        Raises:
            PermissionDeniedError: Missing ``purchase.order``.
            NotFoundError: No such suggestion.
            InvalidTransitionError: It is not open.
        """
        authorize(actor, Permission.PURCHASE_ORDER)
        key = parse_id(suggestion_id, field="suggestion_id")
        with self._shop.unit_of_work(actor) as uow:
            suggestion = uow.repository(ReplenishmentSuggestion).get(key)
            suggestion.dismiss(note=note, by=actor, at=self._shop.clock.now())
            uow.repository(ReplenishmentSuggestion).save(suggestion)
            uow.commit()
        return SuggestionView.of(suggestion)

    # -- reports ---------------------------------------------------------------------------------

    def turnover(
        self, actor: Actor, *, since: datetime, until: datetime, warehouse: str | None = None
    ) -> tuple[TurnoverLine, ...]:
        """
        Return the stock turnover of every stocked SKU and warehouse over ``[since, until)`` (INV-04).

        Raises:
            PermissionDeniedError: Missing ``stock.read``.
            InvalidInputError: Naive times, or ``since`` not before ``until``.
        """
        authorize(actor, Permission.STOCK_READ)
        since, until = ensure_aware(since, field="since"), ensure_aware(until, field="until")
        if since >= until:
            raise InvalidInputError("since", "must be before until")
        with self._shop.unit_of_work(actor) as uow:
            if warehouse is not None:
                warehouse = self.check_warehouse(uow, warehouse)
            summaries = uow.port(StockLedger).summary(since=since, until=until, warehouse=warehouse)
        return turnover(summaries, since=since, until=until)

    def slow_movers(
        self, actor: Actor, *, at: datetime | None = None, warehouse: str | None = None
    ) -> tuple[SlowMover, ...]:
        """
        Return stock with no sale for the policy's ``stock.slow_moving_days`` before ``at`` (INV-04).

        Raises:
            PermissionDeniedError: Missing ``stock.read``.
        """
        authorize(actor, Permission.STOCK_READ)
        at = self._shop.clock.now() if at is None else ensure_aware(at, field="at")
        with self._shop.unit_of_work(actor) as uow:
            if warehouse is not None:
                warehouse = self.check_warehouse(uow, warehouse)
            policy = self._shop.policies.version_in_force(uow, at)
            days = policy.rules.stock.slow_moving_days
            summaries: Sequence[Any] = uow.port(StockLedger).summary(
                since=at - timedelta(days=days), until=at + _INSTANT, warehouse=warehouse
            )
        return slow_movers(summaries, at=at, days=days, policy_version=policy.number)
