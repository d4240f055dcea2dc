"""
``shop.logistics``: carriers, freight reconciliation and logistics exceptions (LOG-01..03).

- Carriers (``logistics.manage``): registered with their coverage, contract
  currency and tracking link; evaluated on service quality, price, coverage
  and delivery time; :meth:`LogisticsService.scorecard` adds what their
  shipments show (parcels, delivered, on time, days to deliver, exceptions,
  freight quoted) (LOG-01).
- Freight bills (``freight.reconcile``): recorded in the carrier's currency
  (another currency is refused) and reconciled against the shipments of that
  carrier in the bill's period; every difference is listed (LOG-02).
- Exceptions (``logistics.manage``): a delay, loss, damage or wrong delivery
  opened on a shipment — by a person, or by ``shop.run_due`` when a parcel is
  not delivered by its expected time — and resolved with the carrier. Opening
  one records ``LogisticsExceptionOpened``, which customer service picks up
  (tickets will subscribe to it) (LOG-03).

Example:
    >>> from eshop_core import Actor, Shop
    >>> shop = Shop.open("memory://")
    >>> chen = Actor("chen.gang", roles={"logistics"})
    >>> sf = shop.logistics.register_carrier(chen, code="SF", name="SF Express", currency="CNY",
    ...     tracking_url_template="https://www.sf-express.com/track?no={tracking_number}")
    >>> sf.tracking_url("SF1001")
    'https://www.sf-express.com/track?no=SF1001'
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs

from eshop_core.access import Actor, Permission, authorize
from eshop_core.domain.logistics import (
    BillLine,
    BillState,
    Carrier,
    CarrierEvaluation,
    ExceptionKind,
    ExceptionState,
    FreightBill,
    FreightDifference,
    LogisticsException,
)
from eshop_core.domain.shipping import Shipment, ShipmentState, check_carrier_code
from eshop_core.errors import InvalidInputError, NotFoundError
from eshop_core.ids import parse_id
from eshop_core.money import Money
from eshop_core.schemas.policies import MoneyDocument
from eshop_core.services.inventory import all_pages, check_state
from eshop_core.storage.ports import UnitOfWork

if TYPE_CHECKING:
    from eshop_core.shop import Shop
    from eshop_core.timers import TimerContext

__all__ = ["CarrierScorecard", "CarrierView", "ExceptionView", "FreightBillView", "LogisticsService"]


_SYSTEM: Final = Actor.system("logistics")


@attrs.frozen(kw_only=True)
class CarrierView:
    """An immutable snapshot of a :class:`~eshop_core.domain.logistics.Carrier` (same attributes)."""

    id: uuid.UUID
    code: str
    name: str
    currency: str
    coverage: tuple[str, ...]
    tracking_url_template: str | None
    evaluations: tuple[CarrierEvaluation, ...]

    @classmethod
    def of(cls, carrier: Carrier) -> CarrierView:
        """Return the snapshot of ``carrier``."""
        return cls(
            id=carrier.id,
            code=carrier.code,
            name=carrier.name,
            currency=carrier.currency,
            coverage=carrier.coverage,
            tracking_url_template=carrier.tracking_url_template,
            evaluations=tuple(carrier.evaluations),
        )

    @property
    def overall(self) -> Decimal | None:
        """The latest evaluation's mean score, if evaluated."""
        return self.evaluations[-1].overall if self.evaluations else None

    def tracking_url(self, tracking_number: str) -> str | None:
        """The customer's tracking link for ``tracking_number``, if the carrier has a template."""
        if self.tracking_url_template is None:
            return None
        return self.tracking_url_template.replace("{tracking_number}", tracking_number)


@attrs.frozen(kw_only=True)
class FreightBillView:
    """An immutable snapshot of a :class:`~eshop_core.domain.logistics.FreightBill` (same attributes)."""

    id: uuid.UUID
    carrier: str
    currency: str
    period_start: date
    period_end: date
    lines: tuple[BillLine, ...]
    state: BillState
    differences: tuple[FreightDifference, ...]
    total: Money
    received_by: str
    reconciled_by: str | None
    reconciled_at: datetime | None

    @classmethod
    def of(cls, bill: FreightBill) -> FreightBillView:
        """Return the snapshot of ``bill``."""
        return cls(
            id=bill.id,
            carrier=bill.carrier,
            currency=bill.currency,
            period_start=bill.period_start,
            period_end=bill.period_end,
            lines=bill.lines,
            state=bill.state,
            differences=bill.differences,
            total=bill.total,
            received_by=bill.received_by,
            reconciled_by=bill.reconciled_by,
            reconciled_at=bill.reconciled_at,
        )


@attrs.frozen(kw_only=True)
class ExceptionView:
    """An immutable snapshot of a :class:`~eshop_core.domain.logistics.LogisticsException`."""

    id: uuid.UUID
    shipment_id: uuid.UUID
    order_id: uuid.UUID
    carrier: str
    tracking_number: str
    kind: ExceptionKind
    description: str
    state: ExceptionState
    opened_by: str
    opened_at: datetime
    resolution: str | None
    resolved_by: str | None
    resolved_at: datetime | None

    @classmethod
    def of(cls, e: LogisticsException) -> ExceptionView:
        """Return the snapshot of ``e``."""
        return cls(
            id=e.id,
            shipment_id=e.shipment_id,
            order_id=e.order_id,
            carrier=e.carrier,
            tracking_number=e.tracking_number,
            kind=e.kind,
            description=e.description,
            state=e.state,
            opened_by=e.opened_by,
            opened_at=e.opened_at,
            resolution=e.resolution,
            resolved_by=e.resolved_by,
            resolved_at=e.resolved_at,
        )


@attrs.frozen(kw_only=True)
class CarrierScorecard:
    """
    A carrier's evaluation and what its shipments show (LOG-01).

    Attributes:
        carrier: The carrier.
        overall: The latest evaluation's mean score (1-5), if evaluated.
        shipments: Parcels shipped with it.
        delivered: Parcels delivered.
        on_time_rate: Share of delivered parcels with an expected time that arrived by it.
        average_days: Average days from dispatch to delivery.
        exceptions: Logistics exceptions per kind.
        exception_rate: Exceptions per parcel.
        freight: Freight quoted per currency.
    """

    carrier: CarrierView
    overall: Decimal | None
    shipments: int
    delivered: int
    on_time_rate: Decimal | None
    average_days: Decimal | None
    exceptions: Mapping[str, int]
    exception_rate: Decimal | None
    freight: Mapping[str, Money]


def _ratio(part: int | Decimal, whole: int) -> Decimal | None:
    return (Decimal(part) / whole).quantize(Decimal("0.01")) if whole else None


class LogisticsService:
    """Carriers, freight bills and logistics exceptions; see the module documentation."""

    def __init__(self, shop: Shop) -> None:
        self._shop = shop

    def _carrier(self, uow: UnitOfWork, code: str) -> Carrier:
        code = check_carrier_code(code)
        found = uow.repository(Carrier).find(where={"code": code}, limit=1).items
        if not found:
            raise NotFoundError("Carrier", code)
        return found[0]

    # -- carriers --------------------------------------------------------------------------

    def register_carrier(
        self,
        actor: Actor,
        *,
        code: str,
        name: str,
        currency: str,
        coverage: Sequence[str] = (),
        tracking_url_template: str | None = None,
    ) -> CarrierView:
        """
        Register a carrier (``logistics.manage``).

        Raises:
            InvalidInputError: A bad value, or the code taken already.
        """
        authorize(actor, Permission.LOGISTICS_MANAGE)
        carrier = Carrier.register(
            code=code,
            name=name,
            currency=currency,
            coverage=coverage,
            tracking_url_template=tracking_url_template,
            by=actor,
            at=self._shop.clock.now(),
        )
        with self._shop.unit_of_work(actor) as uow:
            if uow.repository(Carrier).find(where={"code": carrier.code}, limit=1).items:
                raise InvalidInputError("code", f"carrier {carrier.code} exists already")
            uow.repository(Carrier).add(carrier)
            uow.commit()
        return CarrierView.of(carrier)

    def carrier(self, actor: Actor, code: str) -> CarrierView:
        """
        Return the carrier ``code`` (``order.read``).

        Raises:
            NotFoundError: No such carrier.
        """
        authorize(actor, Permission.ORDER_READ)
        with self._shop.unit_of_work(actor) as uow:
            return CarrierView.of(self._carrier(uow, code))

    def carriers_for(self, actor: Actor, province: str) -> tuple[CarrierView, ...]:
        """Return the carriers covering ``province``, best evaluated first (``order.read``)."""
        authorize(actor, Permission.ORDER_READ)
        with self._shop.unit_of_work(actor) as uow:
            found = [c for c in all_pages(uow, Carrier) if c.covers(province)]

        def rank(c: Carrier) -> tuple[Decimal, str]:
            latest = c.evaluations[-1].overall if c.evaluations else Decimal(0)
            return (-latest, c.code)

        return tuple(CarrierView.of(c) for c in sorted(found, key=rank))

    def evaluate_carrier(
        self, actor: Actor, code: str, scores: Mapping[str, int], *, note: str | None = None
    ) -> CarrierView:
        """
        Record an evaluation: 1 to 5 for service quality, price, coverage and delivery time.

        Raises:
            PermissionDeniedError: Missing ``logistics.manage``.
            NotFoundError: No such carrier.
            InvalidInputError: ``scores.<criterion>`` missing, unknown or out of range.
        """
        authorize(actor, Permission.LOGISTICS_MANAGE)
        with self._shop.unit_of_work(actor) as uow:
            carrier = self._carrier(uow, code)
            carrier.evaluate(scores, note=note, by=actor, at=self._shop.clock.now())
            uow.repository(Carrier).save(carrier)
            uow.commit()
        return CarrierView.of(carrier)

    def scorecard(self, actor: Actor, code: str) -> CarrierScorecard:
        """Return the carrier's evaluation and delivery record (``order.read``)."""
        authorize(actor, Permission.ORDER_READ)
        with self._shop.unit_of_work(actor) as uow:
            carrier = self._carrier(uow, code)
            shipments = list(all_pages(uow, Shipment, {"carrier": carrier.code}))
            exceptions = list(all_pages(uow, LogisticsException, {"carrier": carrier.code}))
        delivered = [
            s for s in shipments if s.state is ShipmentState.DELIVERED and s.delivered_at is not None
        ]
        timed = [s for s in delivered if s.on_time is not None]
        days = [
            Decimal((s.delivered_at - s.shipped_at).total_seconds()) / 86400
            for s in delivered
            if s.delivered_at is not None
        ]
        kinds: dict[str, int] = {}
        for e in exceptions:
            kinds[e.kind.value] = kinds.get(e.kind.value, 0) + 1
        freight: dict[str, Money] = {}
        for s in shipments:
            if s.freight is not None:
                freight[s.freight.currency] = (
                    freight.get(s.freight.currency, Money.zero(s.freight.currency)) + s.freight
                )
        return CarrierScorecard(
            carrier=CarrierView.of(carrier),
            overall=carrier.evaluations[-1].overall if carrier.evaluations else None,
            shipments=len(shipments),
            delivered=len(delivered),
            on_time_rate=_ratio(sum(1 for s in timed if s.on_time), len(timed)),
            average_days=(sum(days, Decimal(0)) / len(days)).quantize(Decimal("0.1")) if days else None,
            exceptions=kinds,
            exception_rate=_ratio(len(exceptions), len(shipments)),
            freight=freight,
        )

    # -- freight bills ------------------------------------------------------------------------

    def record_bill(
        self,
        actor: Actor,
        *,
        carrier: str,
        period_start: date,
        period_end: date,
        lines: Sequence[Mapping[str, Any]],
    ) -> FreightBillView:
        """
        Record a carrier's bill: ``lines`` of ``{tracking_number, amount: {amount, currency}}`` (LOG-02).

        Raises:
            PermissionDeniedError: Missing ``freight.reconcile``.
            NotFoundError: No such carrier.
            InvalidInputError: A line in another currency than the carrier's, a tracking number
                twice, no lines, a bad period.
        """
        authorize(actor, Permission.FREIGHT_RECONCILE)
        if isinstance(lines, Mapping | str):
            raise InvalidInputError("lines", "give a list of bill lines")
        parsed = []
        for i, raw in enumerate(lines):
            if not isinstance(raw, Mapping):
                raise InvalidInputError(f"lines.{i}", "expected {tracking_number, amount}")
            try:
                amount = MoneyDocument.model_validate(raw.get("amount")).to_domain()
            except ValueError as error:
                raise InvalidInputError(f"lines.{i}.amount", str(error).splitlines()[-1].strip()) from None
            parsed.append(BillLine(tracking_number=raw.get("tracking_number"), amount=amount))  # type: ignore[arg-type]
        with self._shop.unit_of_work(actor) as uow:
            known = self._carrier(uow, carrier)
            bill = FreightBill.receive(
                carrier=known.code,
                currency=known.currency,
                period_start=period_start,
                period_end=period_end,
                lines=parsed,
                by=actor,
                at=self._shop.clock.now(),
            )
            uow.repository(FreightBill).add(bill)
            uow.commit()
        return FreightBillView.of(bill)

    def reconcile(self, actor: Actor, bill_id: uuid.UUID | str) -> FreightBillView:
        """
        Reconcile a bill against the carrier's shipments in its period and list the differences (LOG-02).

        Days are the shop's calendar days (its business calendar's timezone).

        Raises:
            PermissionDeniedError: Missing ``freight.reconcile``.
            NotFoundError: No such bill.
        """
        authorize(actor, Permission.FREIGHT_RECONCILE)
        key = parse_id(bill_id, field="bill_id")
        zone = self._shop.calendar.timezone
        with self._shop.unit_of_work(actor) as uow:
            bill = uow.repository(FreightBill).get(key)
            start = datetime.combine(bill.period_start, time(0), tzinfo=zone)
            end = datetime.combine(bill.period_end + timedelta(days=1), time(0), tzinfo=zone)
            shipped = {
                s.tracking_number: s.freight
                for s in all_pages(uow, Shipment, {"carrier": bill.carrier})
                if start <= s.shipped_at < end
            }
            bill.reconcile(shipped, by=actor, at=self._shop.clock.now())
            uow.repository(FreightBill).save(bill)
            uow.commit()
        return FreightBillView.of(bill)

    # -- exceptions ----------------------------------------------------------------------------

    def report_exception(
        self, actor: Actor, shipment_id: uuid.UUID | str, *, kind: ExceptionKind | str, description: str
    ) -> ExceptionView:
        """
        Open a logistics exception on a shipment (LOG-03; ``logistics.manage``).

        Raises:
            NotFoundError: No such shipment.
            InvalidInputError: An unknown kind or no description.
        """
        authorize(actor, Permission.LOGISTICS_MANAGE)
        key = parse_id(shipment_id, field="shipment_id")
        with self._shop.unit_of_work(actor) as uow:
            exception = self._open(uow, uow.repository(Shipment).get(key), kind, description, actor)
            uow.commit()
        return ExceptionView.of(exception)

    def _open(
        self, uow: UnitOfWork, shipment: Shipment, kind: ExceptionKind | str, description: str, actor: Actor
    ) -> LogisticsException:
        exception = LogisticsException.open(
            shipment_id=shipment.id,
            order_id=shipment.order_id,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            kind=kind,
            description=description,
            by=actor,
            at=self._shop.clock.now(),
        )
        uow.repository(LogisticsException).add(exception)
        return exception

    def resolve_exception(
        self, actor: Actor, exception_id: uuid.UUID | str, *, resolution: str
    ) -> ExceptionView:
        """
        Record how an exception was settled with the carrier (``logistics.manage``).

        Raises:
            InvalidTransitionError: It is resolved already.
        """
        authorize(actor, Permission.LOGISTICS_MANAGE)
        key = parse_id(exception_id, field="exception_id")
        with self._shop.unit_of_work(actor) as uow:
            exception = uow.repository(LogisticsException).get(key)
            exception.resolve(resolution=resolution, by=actor, at=self._shop.clock.now())
            uow.repository(LogisticsException).save(exception)
            uow.commit()
        return ExceptionView.of(exception)

    def exceptions(
        self, actor: Actor, *, state: ExceptionState | str | None = ExceptionState.OPEN
    ) -> tuple[ExceptionView, ...]:
        """Return logistics exceptions (open ones by default), oldest first (``order.read``)."""
        authorize(actor, Permission.ORDER_READ)
        where: dict[str, object] = {}
        if state is not None:
            where["state"] = check_state(ExceptionState, state)
        with self._shop.unit_of_work(actor) as uow:
            found = list(all_pages(uow, LogisticsException, where))
        return tuple(ExceptionView.of(e) for e in sorted(found, key=lambda e: e.opened_at))

    def on_delivery_due(self, context: TimerContext) -> None:
        """Timer handler: open a delay exception if the parcel is not delivered by its expected time."""
        uow = context.uow
        shipment = uow.repository(Shipment).get(context.timer.aggregate_id)
        if shipment.state is not ShipmentState.DISPATCHED:
            return
        open_ = uow.repository(LogisticsException).find(
            where={"shipment_id": shipment.id, "state": ExceptionState.OPEN}, limit=1
        )
        if open_.items:
            return
        self._open(uow, shipment, ExceptionKind.DELAY, "not delivered by the expected time", _SYSTEM)
