"""
``shop.stock_counts``: stocktaking with explained, approved variances (INV-02).

Warehouse staff (``stock.count``) open a count sheet for a warehouse — one at
a time per warehouse — which takes the book quantities of every SKU stocked
there (or of the SKUs named). They record what they count, explain every
variance and submit the sheet. Submitting opens an approval request (subject
type ``"stock_count"``): variances within the policy's
``stock.variance_approval_units`` need ``stock.variance_approve`` (finance or
a department manager), larger ones ``stock.variance_approve_large`` (a
department manager only); nobody approves their own sheet. Approval books one
``count_adjustment`` movement per variance in the same unit of work, so the
books equal the physical stock; a rejection sends the sheet back for a
recount. A sheet without variances is confirmed at once.

The variance booked is counted minus the book quantity when the sheet opened:
count before the day's picking starts, or count SKUs whose stock does not move.

Example:
    >>> from eshop_core import Actor, Role, Shop
    >>> shop = Shop.open("memory://")
    >>> boss = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
    >>> wang = Actor("wang.fang", roles={Role.WAREHOUSE})
    >>> _ = shop.inventory.open_warehouse(boss, code="SH-01", name="Shanghai")
    >>> sheet = shop.stock_counts.open(wang, "SH-01")
    >>> shop.stock_counts.open(wang, "SH-01")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidTransitionError: Warehouse SH-01 (count ... running): cannot open a count ...
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Final

import attrs

from eshop_core.access import Actor, Permission, authorize
from eshop_core.domain.approvals import ApprovalRequest
from eshop_core.domain.inventory import CountLine, MovementReason, StockCount, StockCountState, Warehouse
from eshop_core.errors import InvalidInputError, NotFoundError
from eshop_core.ids import parse_id
from eshop_core.services.approvals import ApprovalView
from eshop_core.services.inventory import all_pages, check_state, stock_levels
from eshop_core.storage.inventory_ports import StockLedger
from eshop_core.storage.ports import UnitOfWork

if TYPE_CHECKING:
    from eshop_core.shop import Shop

__all__ = ["STOCK_COUNT_SUBJECT", "StockCountService", "StockCountView"]

STOCK_COUNT_SUBJECT: Final = "stock_count"
"""The approval subject type of submitted stock counts."""


@attrs.frozen(kw_only=True)
class StockCountView:
    """
    A snapshot of a :class:`~eshop_core.domain.inventory.StockCount`.

    Attributes:
        id: The sheet.
        version: Its version.
        warehouse: The warehouse code.
        state: Its state.
        lines: Its lines, in SKU order.
        variances: ``{sku: counted - book}`` of the counted lines that differ.
        opened_by: Who opened it.
        opened_at: When (the book quantities' time).
        approval: The approval request of the latest submission, when submitted.
    """

    id: uuid.UUID
    version: int
    warehouse: str
    state: StockCountState
    lines: tuple[CountLine, ...]
    variances: Mapping[str, int]
    opened_by: str
    opened_at: datetime
    approval: ApprovalView | None = None

    @classmethod
    def of(cls, count: StockCount, approval: ApprovalRequest | None = None) -> StockCountView:
        """Return the snapshot of ``count``."""
        return cls(
            id=count.id,
            version=count.version,
            warehouse=count.warehouse,
            state=count.state,
            lines=tuple(count.lines),
            variances=count.variances(),
            opened_by=count.opened_by,
            opened_at=count.opened_at,
            approval=None if approval is None else ApprovalView.of(approval),
        )

    def line(self, sku: str) -> CountLine:
        """Return the line of ``sku`` (``KeyError`` if absent)."""
        for line in self.lines:
            if line.sku == sku:
                return line
        raise KeyError(sku)


class StockCountService:
    """Count sheets, their submission, approval and adjustment; see the module documentation."""

    def __init__(self, shop: Shop) -> None:
        self._shop = shop
        shop.approvals.register_subject(
            STOCK_COUNT_SUBJECT,
            on_approved=self._approved,
            on_rejected=self._sent_back,
            on_withdrawn=self._sent_back,
        )

    def _warehouse(self, uow: UnitOfWork, code: str) -> Warehouse:
        code = self._shop.inventory.check_warehouse(uow, code)
        found = uow.repository(Warehouse).find(where={"code": code}, limit=1).items
        if not found:
            raise NotFoundError("Warehouse", code)
        return found[0]

    def open(self, actor: Actor, warehouse: str, *, skus: Iterable[str] | None = None) -> StockCountView:
        """
        Open a count sheet for ``warehouse`` with the current book quantities.

        Args:
            actor: Who counts (needs ``stock.count``).
            warehouse: The warehouse code.
            skus: Count only these SKUs (a cycle count); default: every SKU stocked there.

        Raises:
            PermissionDeniedError: Missing ``stock.count``.
            NotFoundError: Unknown warehouse or SKU.
            InvalidTransitionError: A count is running in the warehouse already.
            InvalidInputError: An empty ``skus``.
        """
        authorize(actor, Permission.STOCK_COUNT)
        now = self._shop.clock.now()
        with self._shop.unit_of_work(actor) as uow:
            place = self._warehouse(uow, warehouse)
            ledger = uow.port(StockLedger)
            if skus is None:
                book = {level.sku: level.on_hand for level in stock_levels(ledger, warehouse=place.code)}
            else:
                if isinstance(skus, str):
                    raise InvalidInputError("skus", "give a collection of SKUs, not one string")
                wanted = [self._shop.inventory.check_sku(uow, sku, field="skus") for sku in skus]
                if not wanted:
                    raise InvalidInputError("skus", "name at least one SKU, or None for all")
                book = {sku: ledger.level(sku, place.code).on_hand for sku in wanted}
            count = StockCount.open(warehouse=place.code, book=book, by=actor, at=now)
            place.begin_count(count.id, by=actor, at=now)
            uow.repository(Warehouse).save(place)
            uow.repository(StockCount).add(count)
            uow.commit()
        return StockCountView.of(count)

    def get(self, actor: Actor, count_id: uuid.UUID | str) -> StockCountView:
        """
        Return count sheet ``count_id`` (needs ``stock.read``).

        Raises:
            NotFoundError: No such sheet.
        """
        authorize(actor, Permission.STOCK_READ)
        key = parse_id(count_id, field="count_id")
        with self._shop.unit_of_work(actor) as uow:
            count = uow.repository(StockCount).get(key)
            request = (
                uow.repository(ApprovalRequest).get(count.approval_request_id)
                if count.approval_request_id is not None
                else None
            )
        return StockCountView.of(count, request)

    def sheets(
        self, actor: Actor, *, warehouse: str | None = None, state: StockCountState | None = None
    ) -> tuple[StockCountView, ...]:
        """Return count sheets (of one warehouse, in one state), oldest first (needs ``stock.read``)."""
        authorize(actor, Permission.STOCK_READ)
        where: dict[str, object] = {}
        if warehouse is not None:
            where["warehouse"] = warehouse
        if state is not None:
            where["state"] = check_state(StockCountState, state)
        with self._shop.unit_of_work(actor) as uow:
            return tuple(StockCountView.of(c) for c in all_pages(uow, StockCount, where))

    def record(self, actor: Actor, count_id: uuid.UUID | str, counts: Mapping[str, int]) -> StockCountView:
        """
        Record counted quantities ``{sku: units}``, all or none.

        A SKU found that is not on the sheet is added with its current book quantity.

        Raises:
            PermissionDeniedError: Missing ``stock.count``.
            NotFoundError: No such sheet, or an unknown SKU.
            InvalidTransitionError: The sheet is not being counted.
            InvalidInputError: ``lines.<sku>.counted`` negative or not a whole number.
        """
        authorize(actor, Permission.STOCK_COUNT)
        if not isinstance(counts, Mapping) or not counts:
            raise InvalidInputError("counts", "give at least one {sku: counted units}")
        key = parse_id(count_id, field="count_id")
        now = self._shop.clock.now()
        with self._shop.unit_of_work(actor) as uow:
            count = uow.repository(StockCount).get(key)
            ledger = uow.port(StockLedger)
            new_books = {}
            for sku in counts:
                if not count.has_line(sku):
                    sku = self._shop.inventory.check_sku(uow, sku, field="counts")
                    new_books[sku] = ledger.level(sku, count.warehouse).on_hand
            count.record_counts(counts, new_books=new_books, by=actor, at=now)
            uow.repository(StockCount).save(count)
            uow.commit()
        return StockCountView.of(count)

    def explain(
        self, actor: Actor, count_id: uuid.UUID | str, explanations: Mapping[str, str]
    ) -> StockCountView:
        """
        Explain variances ``{sku: why}``, all or none.

        Raises:
            PermissionDeniedError: Missing ``stock.count``.
            InvalidInputError: A SKU not on the sheet or not counted, or an empty explanation.
        """
        authorize(actor, Permission.STOCK_COUNT)
        if not isinstance(explanations, Mapping) or not explanations:
            raise InvalidInputError("explanations", "give at least one {sku: explanation}")
        key = parse_id(count_id, field="count_id")
        now = self._shop.clock.now()
        with self._shop.unit_of_work(actor) as uow:
            count = uow.repository(StockCount).get(key)
            count.explain(explanations, by=actor, at=now)
            uow.repository(StockCount).save(count)
            uow.commit()
        return StockCountView.of(count)

    def submit(self, actor: Actor, count_id: uuid.UUID | str) -> StockCountView:
        """
        Submit a complete, explained sheet for approval; a sheet without variances is confirmed at once.

        Raises:
            PermissionDeniedError: Missing ``stock.count``.
            InvalidTransitionError: The sheet is not being counted.
            InvalidInputError: A line not counted, or a variance not explained.
        """
        authorize(actor, Permission.STOCK_COUNT)
        key = parse_id(count_id, field="count_id")
        now = self._shop.clock.now()
        with self._shop.unit_of_work(actor) as uow:
            count = uow.repository(StockCount).get(key)
            variances = count.submit(by=actor, at=now)
            policy = self._shop.policies.version_in_force(uow, now)
            request = None
            if not variances:
                count.confirm(by=actor, at=now, policy_version=policy.number)
                self._end_count(uow, count, actor, now)
            else:
                limit = policy.rules.stock.variance_approval_units
                large = max(abs(v) for v in variances.values()) > limit
                request = self._shop.approvals.open_request(
                    uow,
                    subject_type=STOCK_COUNT_SUBJECT,
                    subject_id=count.id,
                    change={"warehouse": count.warehouse, "variances": dict(variances)},
                    reason=f"stock count of {count.warehouse}: {len(variances)} variance(s)",
                    required_permission=(
                        Permission.VARIANCE_APPROVE_LARGE if large else Permission.VARIANCE_APPROVE
                    ),
                )
                count.submitted(request.id, by=actor, at=now)
            uow.repository(StockCount).save(count)
            uow.commit()
        return StockCountView.of(count, request)

    def cancel(self, actor: Actor, count_id: uuid.UUID | str, *, reason: str) -> StockCountView:
        """
        Abandon a sheet being counted; nothing is adjusted and the warehouse may be counted again.

        Raises:
            PermissionDeniedError: Missing ``stock.count``.
            InvalidTransitionError: It is not being counted (withdraw a submitted sheet's request first).
        """
        authorize(actor, Permission.STOCK_COUNT)
        key = parse_id(count_id, field="count_id")
        now = self._shop.clock.now()
        with self._shop.unit_of_work(actor) as uow:
            count = uow.repository(StockCount).get(key)
            count.cancel(reason=reason, by=actor, at=now)
            self._end_count(uow, count, actor, now)
            uow.repository(StockCount).save(count)
            uow.commit()
        return StockCountView.of(count)

    # -- approval handlers ------------------------------------------------------------

    def _end_count(self, uow: UnitOfWork, count: StockCount, actor: Actor, at: datetime) -> None:
        place = self._warehouse(uow, count.warehouse)
        place.end_count(count.id, by=actor, at=at)
        uow.repository(Warehouse).save(place)

    def _approved(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor) -> None:
        count = uow.repository(StockCount).get(request.subject_id)
        ledger = uow.port(StockLedger)
        reference = f"count:{count.id}"
        at = request.decided_at or self._shop.clock.now()
        for sku, variance in sorted(count.variances().items()):
            change = ledger.adjust(
                sku,
                count.warehouse,
                variance,
                reason=MovementReason.COUNT_ADJUSTMENT,
                reference=reference,
                note=count.line(sku).explanation,
            )
            self._shop.inventory.after_change(uow, change)
        count.adjusted(by=actor, at=at, policy_version=request.decision_policy_version)
        self._end_count(uow, count, actor, at)
        uow.repository(StockCount).save(count)

    def _sent_back(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor) -> None:
        count = uow.repository(StockCount).get(request.subject_id)
        reason = request.decision_reason or request.state.value
        count.send_back(reason=reason, by=actor, at=request.decided_at or self._shop.clock.now())
        uow.repository(StockCount).save(count)
