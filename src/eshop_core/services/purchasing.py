"""
``shop.purchasing``: suppliers, purchase plans and orders, receiving with inspection (INV-05, INV-06).

Purchasing (``supplier.manage``) registers suppliers and evaluates them on
qualification, reputation, quality, price and capacity; a supplier's
scorecard adds what the receipts show (share of units accepted, deliveries on
time). The purchase plan (``purchase.order``) suggests what to order per SKU
from the sales of the policy's window, the stock available and what is
already on order. A purchase order is drafted for a qualified supplier, placed,
and received by the warehouse (``stock.receive``): each line is inspected,
accepted units enter stock as ``receipt`` movements in the same unit of work,
rejected units wait to go back to the supplier (:meth:`PurchasingService.return_rejected`).
Accepting more than ordered needs ``allow_over_receipt=True``.

Example:
    >>> from datetime import date
    >>> from eshop_core import Actor, Role, Shop
    >>> shop = Shop.open("memory://")
    >>> zhou = Actor("zhou.min", roles={Role.PURCHASING})
    >>> acme = shop.purchasing.register_supplier(zhou, {"code": "ACME", "name": "Acme Ceramics"})
    >>> shop.purchasing.evaluate_supplier(zhou, acme.id, {
    ...     "qualification": 5, "reputation": 4, "quality": 4, "price": 3, "capacity": 4}).overall
    Decimal('4.00')
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from eshop_core.access import Actor, Permission, authorize
from eshop_core.clock import ensure_aware
from eshop_core.domain.inventory import MovementReason, ReplenishmentSuggestion
from eshop_core.domain.purchasing import (
    OPEN_STATES,
    PurchaseLine,
    PurchaseOrder,
    PurchaseOrderState,
    Receipt,
    Supplier,
    SupplierEvaluation,
    SupplierReturn,
)
from eshop_core.errors import InvalidInputError, PolicyViolationError
from eshop_core.ids import parse_id
from eshop_core.money import Money
from eshop_core.schemas.purchasing import DraftPurchaseOrder, ReceiptLineInput, RegisterSupplier
from eshop_core.services.inventory import all_pages, check_state
from eshop_core.storage.inventory_ports import StockLedger

if TYPE_CHECKING:
    from eshop_core.shop import Shop

__all__ = ["PlanLine", "PurchaseOrderView", "PurchasingService", "SupplierScorecard", "SupplierView"]


@attrs.frozen(kw_only=True)
class SupplierView:
    """
    A snapshot of a :class:`~eshop_core.domain.purchasing.Supplier`.

    ``contact_name`` and ``contact_phone`` are masked (``None``) unless the
    reader holds ``personal_data.read`` or ``supplier.manage``.
    """

    id: uuid.UUID
    code: str
    name: str
    contact_name: str | None
    contact_phone: str | None
    licence_number: str | None
    qualified_until: date | None
    evaluations: tuple[SupplierEvaluation, ...]

    @classmethod
    def of(cls, supplier: Supplier, *, personal: bool = True) -> SupplierView:
        """Return the snapshot of ``supplier`` (personal fields left out unless ``personal``)."""
        return cls(
            id=supplier.id,
            code=supplier.code,
            name=supplier.name,
            contact_name=supplier.contact_name if personal else None,
            contact_phone=supplier.contact_phone if personal else None,
            licence_number=supplier.licence_number,
            qualified_until=supplier.qualified_until,
            evaluations=tuple(supplier.evaluations),
        )

    @property
    def overall(self) -> Decimal | None:
        """The latest evaluation's mean score, if evaluated."""
        return self.evaluations[-1].overall if self.evaluations else None


@attrs.frozen(kw_only=True)
class SupplierScorecard:
    """
    A supplier's evaluation together with what its deliveries show (INV-05).

    Attributes:
        supplier: The supplier.
        overall: The latest evaluation's mean score (1-5), if any.
        units_received: Units received from it over all orders.
        acceptance_rate: Share of received units accepted at inspection (``None`` before any receipt).
        deliveries: Receipts recorded.
        on_time_rate: Share of receipts on or before the expected arrival (``None`` before any).
    """

    supplier: SupplierView
    overall: Decimal | None
    units_received: int
    acceptance_rate: Decimal | None
    deliveries: int
    on_time_rate: Decimal | None


@attrs.frozen(kw_only=True)
class PurchaseOrderView:
    """A snapshot of a :class:`~eshop_core.domain.purchasing.PurchaseOrder` (same attributes, plus totals)."""

    id: uuid.UUID
    version: int
    supplier_id: uuid.UUID
    warehouse: str
    state: PurchaseOrderState
    lines: tuple[PurchaseLine, ...]
    expected_arrival: date
    created_by: str
    created_at: datetime
    placed_at: datetime | None
    receipts: tuple[Receipt, ...]
    supplier_returns: tuple[SupplierReturn, ...]
    note: str | None
    total: Money
    outstanding: Mapping[str, int]
    awaiting_return: Mapping[str, int]

    @classmethod
    def of(cls, order: PurchaseOrder) -> PurchaseOrderView:
        """Return the snapshot of ``order``."""
        return cls(
            id=order.id,
            version=order.version,
            supplier_id=order.supplier_id,
            warehouse=order.warehouse,
            state=order.state,
            lines=tuple(order.lines),
            expected_arrival=order.expected_arrival,
            created_by=order.created_by,
            created_at=order.created_at,
            placed_at=order.placed_at,
            receipts=tuple(order.receipts),
            supplier_returns=tuple(order.supplier_returns),
            note=order.note,
            total=order.total,
            outstanding=order.outstanding,
            awaiting_return=order.awaiting_return,
        )

    def line(self, sku: str) -> PurchaseLine:
        """Return the line of ``sku`` (``KeyError`` if absent)."""
        for line in self.lines:
            if line.sku == sku:
                return line
        raise KeyError(sku)


@attrs.frozen(kw_only=True)
class PlanLine:
    """
    One SKU of a purchase plan (INV-05).

    Attributes:
        sku: The SKU.
        warehouse: The warehouse code.
        daily_sales: Units sold per day over the policy's sales window.
        available: Units available now (on hand less reserved).
        on_order: Units outstanding on open purchase orders.
        threshold: The low-stock warning level.
        suggested_quantity: ``ceil(daily_sales x cover days) + threshold - available - on_order``, at least 0.
    """

    sku: str
    warehouse: str
    daily_sales: Decimal
    available: int
    on_order: int
    threshold: int
    suggested_quantity: int


def _ratio(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / whole).quantize(Decimal("0.01")) if whole else None


class PurchasingService:
    """Suppliers, purchase plans, purchase orders and receiving; see the module documentation."""

    def __init__(self, shop: Shop) -> None:
        self._shop = shop

    def _local_date(self, at: datetime) -> date:
        """The calendar day of ``at`` in the shop's business calendar's timezone."""
        return at.astimezone(self._shop.calendar.timezone).date()

    # -- suppliers -------------------------------------------------------------------------

    def register_supplier(self, actor: Actor, command: RegisterSupplier | Mapping[str, Any]) -> SupplierView:
        """
        Register a supplier.

        Raises:
            PermissionDeniedError: Missing ``supplier.manage``.
            InvalidInputError: A bad field, or the code taken already.
        """
        authorize(actor, Permission.SUPPLIER_MANAGE)
        data = RegisterSupplier.parse(command)
        supplier = Supplier.register(**data.model_dump(), by=actor, at=self._shop.clock.now())
        with self._shop.unit_of_work(actor) as uow:
            if uow.repository(Supplier).find(where={"code": supplier.code}, limit=1).items:
                raise InvalidInputError("code", f"supplier {supplier.code} exists already")
            uow.repository(Supplier).add(supplier)
            uow.commit()
        return SupplierView.of(supplier)

    def evaluate_supplier(
        self,
        actor: Actor,
        supplier_id: uuid.UUID | str,
        scores: Mapping[str, int],
        *,
        note: str | None = None,
    ) -> SupplierEvaluation:
        """
        Record an evaluation: 1 to 5 for each of qualification, reputation, quality, price, capacity.

        Raises:
            PermissionDeniedError: Missing ``supplier.manage``.
            NotFoundError: No such supplier.
            InvalidInputError: ``scores.<criterion>`` missing, unknown or out of range.
        """
        authorize(actor, Permission.SUPPLIER_MANAGE)
        key = parse_id(supplier_id, field="supplier_id")
        if not isinstance(scores, Mapping):
            raise InvalidInputError(
                "scores", f"expected a mapping of criterion to score, got {type(scores).__name__}"
            )
        with self._shop.unit_of_work(actor) as uow:
            supplier = uow.repository(Supplier).get(key)
            evaluation = supplier.evaluate(dict(scores), note=note, by=actor, at=self._shop.clock.now())
            uow.repository(Supplier).save(supplier)
            uow.commit()
        return evaluation

    def _may_see_contacts(self, actor: Actor) -> bool:
        from eshop_core.access import permissions_of

        granted = permissions_of(actor)
        return Permission.PERSONAL_DATA_READ in granted or Permission.SUPPLIER_MANAGE in granted

    def supplier(self, actor: Actor, supplier_id: uuid.UUID | str) -> SupplierView:
        """Return a supplier (needs ``stock.read``; contacts masked unless allowed)."""
        authorize(actor, Permission.STOCK_READ)
        key = parse_id(supplier_id, field="supplier_id")
        with self._shop.unit_of_work(actor) as uow:
            supplier = uow.repository(Supplier).get(key)
        return SupplierView.of(supplier, personal=self._may_see_contacts(actor))

    def scorecard(self, actor: Actor, supplier_id: uuid.UUID | str) -> SupplierScorecard:
        """
        Return the supplier's evaluation and delivery record (INV-05).

        Raises:
            PermissionDeniedError: Missing ``stock.read``.
            NotFoundError: No such supplier.
        """
        authorize(actor, Permission.STOCK_READ)
        key = parse_id(supplier_id, field="supplier_id")
        received = accepted = deliveries = on_time = 0
        with self._shop.unit_of_work(actor) as uow:
            supplier = uow.repository(Supplier).get(key)
            for order in all_pages(uow, PurchaseOrder, {"supplier_id": key}):
                for receipt in order.receipts:
                    deliveries += 1
                    on_time += self._local_date(receipt.at) <= order.expected_arrival
                    received += sum(line.received for line in receipt.lines)
                    accepted += sum(line.accepted for line in receipt.lines)
        view = SupplierView.of(supplier, personal=self._may_see_contacts(actor))
        return SupplierScorecard(
            supplier=view,
            overall=view.overall,
            units_received=received,
            acceptance_rate=_ratio(accepted, received),
            deliveries=deliveries,
            on_time_rate=_ratio(on_time, deliveries),
        )

    # -- purchase orders -------------------------------------------------------------------

    def draft_order(self, actor: Actor, command: DraftPurchaseOrder | Mapping[str, Any]) -> PurchaseOrderView:
        """
        Draft a purchase order for a qualified supplier; named open suggestions are marked ordered.

        Raises:
            PermissionDeniedError: Missing ``purchase.order``.
            NotFoundError: Unknown supplier, warehouse, SKU or suggestion.
            InvalidInputError: A bad line (``lines.<i>.<field>``), a past arrival date, or a
                suggestion for another warehouse or a SKU not on the order.
            PolicyViolationError: ``rule="supplier_qualification"``: the supplier's qualification
                has expired.
        """
        authorize(actor, Permission.PURCHASE_ORDER)
        data = DraftPurchaseOrder.parse(command)
        lines = [line.to_domain(i) for i, line in enumerate(data.lines)]
        now = self._shop.clock.now()
        inventory = self._shop.inventory
        with self._shop.unit_of_work(actor) as uow:
            supplier = uow.repository(Supplier).get(data.supplier_id)
            today = self._local_date(now)
            if not supplier.qualified_on(today):
                raise PolicyViolationError(
                    f"supplier {supplier.code}'s qualification expired on {supplier.qualified_until}",
                    rule="supplier_qualification",
                )
            warehouse = inventory.check_warehouse(uow, data.warehouse)
            for i, line in enumerate(lines):
                inventory.check_sku(uow, line.sku, field=f"lines.{i}.sku")
            order = PurchaseOrder.draft(
                supplier_id=supplier.id,
                warehouse=warehouse,
                expected_arrival=data.expected_arrival,
                lines=lines,
                by=actor,
                at=now,
                today=today,
            )
            uow.repository(PurchaseOrder).add(order)
            skus = {line.sku for line in lines}
            suggestions = uow.repository(ReplenishmentSuggestion)
            for i, suggestion_id in enumerate(data.suggestion_ids):
                suggestion = suggestions.get(suggestion_id)
                if suggestion.warehouse != warehouse or suggestion.sku not in skus:
                    raise InvalidInputError(
                        f"suggestion_ids.{i}",
                        f"the suggestion for {suggestion.sku} in {suggestion.warehouse} "
                        "is not covered by this order",
                    )
                suggestion.ordered(order.id, by=actor, at=now)
                suggestions.save(suggestion)
            uow.commit()
        return PurchaseOrderView.of(order)

    def _change(
        self, actor: Actor, order_id: uuid.UUID | str, act: str, reason: str | None
    ) -> PurchaseOrderView:
        authorize(actor, Permission.PURCHASE_ORDER)
        key = parse_id(order_id, field="order_id")
        now = self._shop.clock.now()
        with self._shop.unit_of_work(actor) as uow:
            order = uow.repository(PurchaseOrder).get(key)
            if act == "place":
                order.place(by=actor, at=now)
            elif act == "cancel":
                order.cancel(reason=reason or "", by=actor, at=now)
                suggestions = uow.repository(ReplenishmentSuggestion)
                for suggestion in list(
                    all_pages(uow, ReplenishmentSuggestion, {"purchase_order_id": order.id})
                ):
                    suggestion.reopen(by=actor, at=now, note=f"purchase order {order.id} cancelled")
                    suggestions.save(suggestion)
            else:
                order.close(reason=reason or "", by=actor, at=now)
            uow.repository(PurchaseOrder).save(order)
            uow.commit()
        return PurchaseOrderView.of(order)

    def place_order(self, actor: Actor, order_id: uuid.UUID | str) -> PurchaseOrderView:
        """
        Send a drafted order to its supplier.

        Raises:
            PermissionDeniedError: Missing ``purchase.order``.
            InvalidTransitionError: It is not a draft.
        """
        return self._change(actor, order_id, "place", None)

    def cancel_order(self, actor: Actor, order_id: uuid.UUID | str, *, reason: str) -> PurchaseOrderView:
        """
        Cancel a draft or placed order before anything arrived; the suggestions it covered open again.

        Raises:
            PermissionDeniedError: Missing ``purchase.order``.
            InvalidTransitionError: Goods were received already, or it is closed.
            InvalidInputError: No reason.
        """
        return self._change(actor, order_id, "cancel", reason)

    def close_order(self, actor: Actor, order_id: uuid.UUID | str, *, reason: str) -> PurchaseOrderView:
        """
        Close a partially received order: the rest will not come.

        Raises:
            PermissionDeniedError: Missing ``purchase.order``.
            InvalidTransitionError: It is not partially received.
        """
        return self._change(actor, order_id, "close", reason)

    def order(self, actor: Actor, order_id: uuid.UUID | str) -> PurchaseOrderView:
        """Return a purchase order (needs ``stock.read``)."""
        authorize(actor, Permission.STOCK_READ)
        key = parse_id(order_id, field="order_id")
        with self._shop.unit_of_work(actor) as uow:
            return PurchaseOrderView.of(uow.repository(PurchaseOrder).get(key))

    def orders(
        self,
        actor: Actor,
        *,
        state: PurchaseOrderState | None = None,
        supplier_id: uuid.UUID | None = None,
        warehouse: str | None = None,
    ) -> tuple[PurchaseOrderView, ...]:
        """Return purchase orders matching the filters, oldest first (needs ``stock.read``)."""
        authorize(actor, Permission.STOCK_READ)
        where: dict[str, object] = {}
        if state is not None:
            where["state"] = check_state(PurchaseOrderState, state)
        if supplier_id is not None:
            where["supplier_id"] = parse_id(supplier_id, field="supplier_id")
        if warehouse is not None:
            where["warehouse"] = warehouse
        with self._shop.unit_of_work(actor) as uow:
            return tuple(PurchaseOrderView.of(o) for o in all_pages(uow, PurchaseOrder, where))

    # -- receiving ----------------------------------------------------------------------------

    def receive(
        self,
        actor: Actor,
        order_id: uuid.UUID | str,
        lines: Sequence[ReceiptLineInput | Mapping[str, Any]],
        *,
        allow_over_receipt: bool = False,
    ) -> PurchaseOrderView:
        """
        Receive an inspected delivery (INV-06): accepted units enter stock, rejected ones await return.

        Args:
            actor: Who receives (needs ``stock.receive``).
            order_id: The purchase order.
            lines: ``{sku, received, accepted, rejected?, reason?}`` per SKU delivered.
            allow_over_receipt: Accept more than is outstanding.

        Raises:
            PermissionDeniedError: Missing ``stock.receive``.
            InvalidTransitionError: The order is not placed or partially received.
            InvalidInputError: Naming ``lines.<i>.<field>``: a SKU not on the order, accepted plus
                rejected not equal to received, a rejection without a reason, or more accepted
                than outstanding without ``allow_over_receipt``.
        """
        authorize(actor, Permission.STOCK_RECEIVE)
        if isinstance(lines, Mapping | str) or not isinstance(lines, Sequence):
            raise InvalidInputError("lines", "give a list of receipt lines")
        parsed = []
        for i, raw in enumerate(lines):
            try:
                parsed.append(ReceiptLineInput.parse(raw).to_domain())
            except InvalidInputError as error:
                raise InvalidInputError(f"lines.{i}.{error.field}", error.reason) from None
        key = parse_id(order_id, field="order_id")
        now = self._shop.clock.now()
        with self._shop.unit_of_work(actor) as uow:
            order = uow.repository(PurchaseOrder).get(key)
            checked = order.receive(parsed, allow_over_receipt=allow_over_receipt, by=actor, at=now)
            reference = f"purchase_order:{order.id}"
            for line in checked:
                if line.accepted:
                    self._shop.inventory.receive_in(
                        uow,
                        line.sku,
                        order.warehouse,
                        line.accepted,
                        reason=MovementReason.RECEIPT,
                        reference=reference,
                    )
            uow.repository(PurchaseOrder).save(order)
            uow.commit()
        return PurchaseOrderView.of(order)

    def return_rejected(
        self, actor: Actor, order_id: uuid.UUID | str, *, note: str | None = None
    ) -> PurchaseOrderView:
        """
        Record that the rejected goods of an order went back to the supplier.

        Raises:
            PermissionDeniedError: Missing ``stock.receive``.
            InvalidTransitionError: Nothing awaits return.
        """
        authorize(actor, Permission.STOCK_RECEIVE)
        key = parse_id(order_id, field="order_id")
        with self._shop.unit_of_work(actor) as uow:
            order = uow.repository(PurchaseOrder).get(key)
            order.return_rejected(note=note, by=actor, at=self._shop.clock.now())
            uow.repository(PurchaseOrder).save(order)
            uow.commit()
        return PurchaseOrderView.of(order)

    # -- planning ---------------------------------------------------------------------------------

    def plan(self, actor: Actor, warehouse: str, *, at: datetime | None = None) -> tuple[PlanLine, ...]:
        """
        Return the purchase plan of ``warehouse``: what to order per stocked SKU (INV-05).

        Sales come from the ledger's shipments over the policy's
        ``stock.sales_window_days``; the suggestion covers
        ``stock.replenishment_cover_days`` of sales plus the warning level. Only
        SKUs with something to order are listed, largest first.

        Raises:
            PermissionDeniedError: Missing ``purchase.order``.
            NotFoundError: Unknown warehouse.
        """
        authorize(actor, Permission.PURCHASE_ORDER)
        at = self._shop.clock.now() if at is None else ensure_aware(at, field="at")
        plan = []
        with self._shop.unit_of_work(actor) as uow:
            code = self._shop.inventory.check_warehouse(uow, warehouse)
            rules = self._shop.policies.version_in_force(uow, at).rules.stock
            on_order: dict[str, int] = {}
            for order in all_pages(uow, PurchaseOrder, {"warehouse": code}):
                if order.state in OPEN_STATES:
                    for sku, units in order.outstanding.items():
                        on_order[sku] = on_order.get(sku, 0) + units
            until = at + timedelta(microseconds=1)  # as of ``at``, inclusive
            since = until - timedelta(days=rules.sales_window_days)
            ledger = uow.port(StockLedger)
            for summary in ledger.summary(since=since, until=until, warehouse=code):
                level = ledger.level(summary.sku, code)
                daily = (Decimal(summary.shipped) / rules.sales_window_days).quantize(Decimal("0.01"))
                threshold = (
                    level.low_stock_threshold
                    if level.low_stock_threshold is not None
                    else rules.low_stock_default
                )
                quantity = ReplenishmentSuggestion.quantity_for(
                    available=level.available,
                    threshold=threshold,
                    daily_sales=daily,
                    cover_days=rules.replenishment_cover_days,
                    on_order=on_order.get(summary.sku, 0),
                )
                if quantity:
                    plan.append(
                        PlanLine(
                            sku=summary.sku,
                            warehouse=code,
                            daily_sales=daily,
                            available=level.available,
                            on_order=on_order.get(summary.sku, 0),
                            threshold=threshold,
                            suggested_quantity=quantity,
                        )
                    )
        return tuple(sorted(plan, key=lambda x: (-x.suggested_quantity, x.sku)))
