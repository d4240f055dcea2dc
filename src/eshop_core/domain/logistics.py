"""
Logistics: carriers and their evaluation, freight bills, logistics exceptions (LOG-01..03).

- :class:`Carrier` (LOG-01): a logistics partner with its coverage, contract
  currency, tracking link template and evaluations on service quality, price,
  coverage and delivery time (1 to 5 each); delivery figures come from its
  shipments.
- :class:`FreightBill` (LOG-02): a carrier's bill for a period, one line per
  tracking number; reconciling it against the shipments lists every
  difference — billed but not shipped by that carrier, shipped but not billed,
  billed at another amount than quoted.
- :class:`LogisticsException` (LOG-03): a delay, loss, damage or wrong
  delivery of one shipment, opened by logistics (or by the delivery deadline
  passing), resolved with the carrier. Opening one records
  ``LogisticsExceptionOpened``, the seam where customer service takes over.

Example:
    >>> from datetime import date, datetime, timezone
    >>> from eshop_core import Actor, Money, Role
    >>> from eshop_core.domain.logistics import BillLine, FreightBill
    >>> fin = Actor("qian.yu", roles={Role.FINANCE})
    >>> at = datetime(2026, 4, 1, tzinfo=timezone.utc)
    >>> FreightBill.receive(carrier="SF", currency="CNY", period_start=date(2026, 3, 1),
    ...     period_end=date(2026, 3, 31), lines=[BillLine(tracking_number="SF1001",
    ...     amount=Money.of("12.00", "USD"))], by=fin, at=at)
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidInputError: invalid lines.0.amount: must be in CNY like the bill, got USD
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
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
from eshop_core.domain.evaluations import Evaluation
from eshop_core.domain.shipping import check_carrier_code, check_tracking_number
from eshop_core.errors import InvalidInputError
from eshop_core.events import DomainEvent
from eshop_core.money import Money

__all__ = [
    "CARRIER_CRITERIA",
    "EXCEPTION_LIFECYCLE",
    "BillLine",
    "BillState",
    "Carrier",
    "CarrierEvaluated",
    "CarrierEvaluation",
    "CarrierRegistered",
    "DifferenceKind",
    "ExceptionKind",
    "ExceptionState",
    "FreightBill",
    "FreightBillReceived",
    "FreightBillReconciled",
    "FreightDifference",
    "LogisticsException",
    "LogisticsExceptionOpened",
    "LogisticsExceptionResolved",
]

CARRIER_CRITERIA: Final = ("service_quality", "price", "coverage", "delivery_time")
"""What a carrier is evaluated on (LOG-01), each scored 1 to 5."""


# -- carriers -----------------------------------------------------------------------------


CarrierEvaluation = Evaluation
"""A carrier's evaluation on its criteria (an :class:`~eshop_core.domain.evaluations.Evaluation`)."""


@attrs.frozen(kw_only=True)
class CarrierRegistered(DomainEvent):
    """A carrier was registered."""

    code: str
    name: str


@attrs.frozen(kw_only=True)
class CarrierEvaluated(DomainEvent):
    """A carrier was evaluated."""

    code: str
    overall: Decimal


@attrs.define(kw_only=True, eq=False)
class Carrier(Aggregate):
    """
    A logistics partner.

    Attributes:
        code: Its code, as shipments name it (filterable).
        name: Its name.
        currency: The currency its freight is billed in.
        coverage: Provinces it serves (empty: nationwide).
        tracking_url_template: A link with ``{tracking_number}``, for customers.
        evaluations: Every evaluation, oldest first.
    """

    code: str = attrs.field(metadata={"filterable": True})
    name: str
    currency: str
    coverage: tuple[str, ...] = ()
    tracking_url_template: str | None = None
    evaluations: list[CarrierEvaluation] = attrs.field(factory=list)

    @classmethod
    def register(
        cls,
        *,
        code: str,
        name: str,
        currency: str,
        coverage: Sequence[str] = (),
        tracking_url_template: str | None = None,
        by: Actor,
        at: datetime,
    ) -> Carrier:
        """
        Register a carrier.

        Raises:
            InvalidInputError: A bad code, name, currency, coverage or template.
        """
        code = check_carrier_code(code, field="code")
        Money.zero(currency)  # raises InvalidInputError for an unknown currency
        if isinstance(coverage, str):
            raise InvalidInputError("coverage", "give a list of provinces")
        provinces = tuple(sorted({required_text("coverage", p) for p in coverage}))
        template = optional_text("tracking_url_template", tracking_url_template)
        if template is not None and "{tracking_number}" not in template:
            raise InvalidInputError("tracking_url_template", "must contain {tracking_number}")
        carrier = cls(
            code=code,
            name=required_text("name", name),
            currency=currency,
            coverage=provinces,
            tracking_url_template=template,
        )
        carrier._record(CarrierRegistered(occurred_at=at, actor=by, code=code, name=carrier.name))
        return carrier

    def covers(self, province: str) -> bool:
        """Whether it delivers to ``province`` (a carrier without listed provinces covers all)."""
        return not self.coverage or province in self.coverage

    def tracking_url(self, tracking_number: str) -> str | None:
        """The customer's tracking link for ``tracking_number``, if the carrier has a template."""
        if self.tracking_url_template is None:
            return None
        return self.tracking_url_template.replace("{tracking_number}", tracking_number)

    def evaluate(
        self, scores: Mapping[str, int], *, note: str | None, by: Actor, at: datetime
    ) -> CarrierEvaluation:
        """
        Record an evaluation.

        Raises:
            InvalidInputError: ``scores.<criterion>`` missing, unknown or not 1 to 5.
        """
        evaluation = Evaluation.record(scores, criteria=CARRIER_CRITERIA, note=note, by=by, at=at)
        self.evaluations.append(evaluation)
        self._record(CarrierEvaluated(occurred_at=at, actor=by, code=self.code, overall=evaluation.overall))
        return evaluation


# -- freight bills --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class BillLine:
    """One line of a carrier's bill: a tracking number and its freight."""

    tracking_number: str
    amount: Money


class DifferenceKind(StrEnum):
    """How a bill and the shipments disagree."""

    NOT_SHIPPED = "not_shipped"
    """Billed, but no shipment of this carrier in the period has the tracking number."""
    NOT_BILLED = "not_billed"
    """Shipped with this carrier in the period, but not on the bill."""
    AMOUNT = "amount"
    """Billed at another amount than the freight quoted when it shipped."""


@attrs.frozen(kw_only=True)
class FreightDifference:
    """
    One difference found by reconciling a bill (LOG-02).

    Attributes:
        kind: What kind.
        tracking_number: Which parcel.
        billed: What the bill says (``None``: not billed).
        expected: What was quoted (``None``: unknown or not shipped).
    """

    kind: DifferenceKind
    tracking_number: str
    billed: Money | None
    expected: Money | None


class BillState(StrEnum):
    """States of a freight bill."""

    RECEIVED = "received"
    RECONCILED = "reconciled"


@attrs.frozen(kw_only=True)
class FreightBillReceived(DomainEvent):
    """A carrier's bill was recorded."""

    carrier: str
    lines: int
    total: Money


@attrs.frozen(kw_only=True)
class FreightBillReconciled(DomainEvent):
    """A bill was reconciled against the shipments; the differences are on the bill."""

    carrier: str
    differences: int
    billed: Money
    expected: Money


@attrs.define(kw_only=True, eq=False)
class FreightBill(Aggregate):
    """
    A carrier's bill for a period (LOG-02).

    Attributes:
        carrier: The carrier's code (filterable).
        currency: The bill's currency (the carrier's).
        period_start: First day billed.
        period_end: Last day billed.
        lines: The billed parcels.
        state: ``received`` or ``reconciled`` (filterable).
        differences: What reconciling found.
        received_by: Who recorded it.
        reconciled_by: Who reconciled it.
        reconciled_at: When.
    """

    carrier: str = attrs.field(metadata={"filterable": True})
    currency: str
    period_start: date
    period_end: date
    lines: tuple[BillLine, ...]
    state: BillState = attrs.field(default=BillState.RECEIVED, metadata={"filterable": True})
    differences: tuple[FreightDifference, ...] = ()
    received_by: str
    reconciled_by: str | None = None
    reconciled_at: datetime | None = None

    @classmethod
    def receive(
        cls,
        *,
        carrier: str,
        currency: str,
        period_start: date,
        period_end: date,
        lines: Sequence[BillLine],
        by: Actor,
        at: datetime,
    ) -> FreightBill:
        """
        Record a bill.

        Raises:
            InvalidInputError: No lines, a line in another currency (``lines.<i>.amount``), a tracking
                number twice, a negative amount, or a period that ends before it starts.
        """
        carrier = check_carrier_code(carrier)
        for name, day in (("period_start", period_start), ("period_end", period_end)):
            if not isinstance(day, date) or isinstance(day, datetime):
                raise InvalidInputError(name, "expected a date")
        if period_end < period_start:
            raise InvalidInputError("period_end", "must not be before period_start")
        if not lines:
            raise InvalidInputError("lines", "a bill needs at least one line")
        seen: set[str] = set()
        checked = []
        for i, line in enumerate(lines):
            number = check_tracking_number(line.tracking_number, field=f"lines.{i}.tracking_number")
            if number in seen:
                raise InvalidInputError(f"lines.{i}.tracking_number", f"{number} is billed twice")
            seen.add(number)
            if not isinstance(line.amount, Money) or line.amount.currency != currency:
                got = getattr(line.amount, "currency", type(line.amount).__name__)
                raise InvalidInputError(
                    f"lines.{i}.amount", f"must be in {currency} like the bill, got {got}"
                )
            if line.amount.amount < 0 or not line.amount.is_rounded:
                raise InvalidInputError(
                    f"lines.{i}.amount", "must be a non-negative amount in whole minor units"
                )
            checked.append(BillLine(tracking_number=number, amount=line.amount))
        bill = cls(
            carrier=carrier,
            currency=currency,
            period_start=period_start,
            period_end=period_end,
            lines=tuple(checked),
            received_by=by.id,
        )
        bill._record(
            FreightBillReceived(
                occurred_at=at, actor=by, carrier=carrier, lines=len(checked), total=bill.total
            )
        )
        return bill

    @property
    def total(self) -> Money:
        """The billed total."""
        return sum((line.amount for line in self.lines), Money.zero(self.currency))

    def reconcile(
        self, shipped: Mapping[str, Money | None], *, by: Actor, at: datetime
    ) -> tuple[FreightDifference, ...]:
        """
        Compare the bill with the shipments and record the differences.

        ``shipped`` maps this carrier's shipments in the period, by tracking
        number, to the freight quoted (``None`` when unknown). Reconciling again
        (after more shipments were recorded) replaces the differences.
        """
        differences = []
        expected_total = Money.zero(self.currency)
        for line in self.lines:
            if line.tracking_number not in shipped:
                differences.append(
                    FreightDifference(
                        kind=DifferenceKind.NOT_SHIPPED,
                        tracking_number=line.tracking_number,
                        billed=line.amount,
                        expected=None,
                    )
                )
                continue
            quoted = shipped[line.tracking_number]
            if quoted is not None and quoted.currency == self.currency:
                expected_total += quoted
                if quoted != line.amount:
                    differences.append(
                        FreightDifference(
                            kind=DifferenceKind.AMOUNT,
                            tracking_number=line.tracking_number,
                            billed=line.amount,
                            expected=quoted,
                        )
                    )
        billed = {line.tracking_number for line in self.lines}
        for number, quoted in sorted(shipped.items()):
            if number not in billed:
                differences.append(
                    FreightDifference(
                        kind=DifferenceKind.NOT_BILLED, tracking_number=number, billed=None, expected=quoted
                    )
                )
        self.differences = tuple(differences)
        self.state = BillState.RECONCILED
        self.reconciled_by = by.id
        self.reconciled_at = ensure_aware(at, field="at")
        self._record(
            FreightBillReconciled(
                occurred_at=at,
                actor=by,
                carrier=self.carrier,
                differences=len(differences),
                billed=self.total,
                expected=expected_total,
            )
        )
        return self.differences


# -- logistics exceptions ---------------------------------------------------------------------


class ExceptionKind(StrEnum):
    """What went wrong with a shipment (LOG-03)."""

    DELAY = "delay"
    LOSS = "loss"
    DAMAGE = "damage"
    WRONG_DELIVERY = "wrong_delivery"


class ExceptionState(StrEnum):
    """States of a logistics exception."""

    OPEN = "open"
    RESOLVED = "resolved"


EXCEPTION_LIFECYCLE: Final = Lifecycle(
    "LogisticsException",
    {(ExceptionState.OPEN, "resolve"): ExceptionState.RESOLVED},
    initial=ExceptionState.OPEN,
    terminal={ExceptionState.RESOLVED},
)
"""A logistics exception is opened, then resolved with the carrier."""


@attrs.frozen(kw_only=True)
class LogisticsExceptionOpened(DomainEvent):
    """A shipment went wrong; customer service takes it up with the customer (LOG-03)."""

    order_id: uuid.UUID
    shipment_id: uuid.UUID
    carrier: str
    tracking_number: str
    kind: ExceptionKind


@attrs.frozen(kw_only=True)
class LogisticsExceptionResolved(DomainEvent):
    """The carrier and the shop settled a logistics exception."""

    order_id: uuid.UUID
    kind: ExceptionKind
    resolution: str


@attrs.define(kw_only=True, eq=False)
class LogisticsException(Aggregate):
    """
    A delay, loss, damage or wrong delivery of one shipment (LOG-03).

    Attributes:
        shipment_id: The shipment (filterable).
        order_id: Its order (filterable).
        carrier: The carrier (filterable).
        tracking_number: The parcel.
        kind: :class:`ExceptionKind`.
        description: What happened (no personal data).
        state: ``open`` or ``resolved`` (filterable).
        opened_by: Who opened it.
        opened_at: When.
        resolution: How it was settled.
        resolved_by: Who settled it.
        resolved_at: When.
    """

    shipment_id: uuid.UUID = attrs.field(metadata={"filterable": True})
    order_id: uuid.UUID = attrs.field(metadata={"filterable": True})
    carrier: str = attrs.field(metadata={"filterable": True})
    tracking_number: str
    kind: ExceptionKind
    description: str
    state: ExceptionState = attrs.field(default=ExceptionState.OPEN, metadata={"filterable": True})
    opened_by: str
    opened_at: datetime
    resolution: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None

    @classmethod
    def open(
        cls,
        *,
        shipment_id: uuid.UUID,
        order_id: uuid.UUID,
        carrier: str,
        tracking_number: str,
        kind: ExceptionKind | str,
        description: str,
        by: Actor,
        at: datetime,
    ) -> LogisticsException:
        """
        Open an exception.

        Raises:
            InvalidInputError: An unknown kind or an empty description.
        """
        try:
            checked = ExceptionKind(kind)
        except ValueError:
            known = ", ".join(k.value for k in ExceptionKind)
            raise InvalidInputError("kind", f"unknown kind {kind!r}; known: {known}") from None
        at = ensure_aware(at, field="at")
        exception = cls(
            shipment_id=shipment_id,
            order_id=order_id,
            carrier=carrier,
            tracking_number=tracking_number,
            kind=checked,
            description=required_text("description", description),
            opened_by=by.id,
            opened_at=at,
        )
        exception._record(
            LogisticsExceptionOpened(
                occurred_at=at,
                actor=by,
                order_id=order_id,
                shipment_id=shipment_id,
                carrier=carrier,
                tracking_number=tracking_number,
                kind=checked,
            )
        )
        return exception

    def resolve(self, *, resolution: str, by: Actor, at: datetime) -> None:
        """
        Record how it was settled with the carrier.

        Raises:
            InvalidTransitionError: It is resolved already.
            InvalidInputError: No resolution.
        """
        text = required_text("resolution", resolution)
        self.state = EXCEPTION_LIFECYCLE.fire(self.state, "resolve", subject=f"LogisticsException {self.id}")
        self.resolution = text
        self.resolved_by = by.id
        self.resolved_at = ensure_aware(at, field="at")
        self._record(
            LogisticsExceptionResolved(
                occurred_at=at, actor=by, order_id=self.order_id, kind=self.kind, resolution=text
            )
        )
