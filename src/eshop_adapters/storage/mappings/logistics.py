"""
Tables of logistics: ``carriers``, ``freight_bills`` and ``logistics_exceptions``.

A carrier's code is unique (a UNIQUE index, so two registrations of the same
code cannot both commit); its coverage (provinces) and evaluations are JSON
documents on its row.

A freight bill's carrier and state are indexed; its period is two dates, its
currency a column. Its lines and the differences reconciling found are JSON
documents, money as ``{"amount": "12.00", "currency": "CNY"}`` strings (the
exact decimal, never a float); a difference's missing side is ``null``.

A logistics exception's shipment, order, carrier and state are indexed
(``find`` filters on them: the open exception of a parcel, a carrier's
exceptions for its scorecard).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Column, Date, String, Table, Text

from eshop_adapters.storage.mapping import AggregateMapping, Rows, id_column, version_column
from eshop_adapters.storage.metadata import METADATA
from eshop_adapters.storage.types import CURRENCY, JSON_DOCUMENT, UUID, UTCDateTime
from eshop_core.domain.logistics import (
    BillLine,
    BillState,
    Carrier,
    CarrierEvaluation,
    DifferenceKind,
    ExceptionKind,
    ExceptionState,
    FreightBill,
    FreightDifference,
    LogisticsException,
)
from eshop_core.money import Money

__all__ = [
    "CARRIER_MAPPING",
    "FREIGHT_BILL_MAPPING",
    "LOGISTICS_EXCEPTION_MAPPING",
    "CarrierMapping",
    "FreightBillMapping",
    "LogisticsExceptionMapping",
    "carriers",
    "freight_bills",
    "logistics_exceptions",
]

CARRIER_CODE: Final = String(32)
"""A carrier code (see :func:`~eshop_core.domain.shipping.check_carrier_code`)."""

TRACKING_NUMBER: Final = String(64)
"""A tracking number (see :func:`~eshop_core.domain.shipping.check_tracking_number`)."""

ACTOR_ID: Final = String(128)
"""An actor id."""

carriers: Final = Table(
    "carriers",
    METADATA,
    id_column(),
    version_column(),
    Column("code", CARRIER_CODE, nullable=False, index=True, unique=True),
    Column("name", Text, nullable=False),
    Column("currency", CURRENCY, nullable=False),
    Column("coverage", JSON_DOCUMENT, nullable=False),
    Column("tracking_url_template", Text, nullable=True),
    Column("evaluations", JSON_DOCUMENT, nullable=False),
)
"""Carriers; the code is unique, coverage and evaluations are JSON documents."""

freight_bills: Final = Table(
    "freight_bills",
    METADATA,
    id_column(),
    version_column(),
    Column("carrier", CARRIER_CODE, nullable=False, index=True),
    Column("currency", CURRENCY, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("lines", JSON_DOCUMENT, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("differences", JSON_DOCUMENT, nullable=False),
    Column("received_by", ACTOR_ID, nullable=False),
    Column("reconciled_by", ACTOR_ID, nullable=True),
    Column("reconciled_at", UTCDateTime(), nullable=True),
)
"""Carriers' freight bills; lines and differences are JSON documents, money as strings."""

logistics_exceptions: Final = Table(
    "logistics_exceptions",
    METADATA,
    id_column(),
    version_column(),
    Column("shipment_id", UUID, nullable=False, index=True),
    Column("order_id", UUID, nullable=False, index=True),
    Column("carrier", CARRIER_CODE, nullable=False, index=True),
    Column("tracking_number", TRACKING_NUMBER, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("description", Text, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("opened_by", ACTOR_ID, nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("resolution", Text, nullable=True),
    Column("resolved_by", ACTOR_ID, nullable=True),
    Column("resolved_at", UTCDateTime(), nullable=True),
)
"""Logistics exceptions (delay, loss, damage, wrong delivery) of shipments."""


def _time(value: datetime) -> str:
    return value.isoformat()


def _money(money: Money | None) -> dict[str, str] | None:
    return None if money is None else {"amount": str(money.amount), "currency": money.currency}


def _from_money(data: Mapping[str, Any] | None) -> Money | None:
    return None if data is None else Money.of(data["amount"], data["currency"])


def _required_money(data: Mapping[str, Any]) -> Money:
    money = _from_money(data)
    assert money is not None  # a bill line always has its amount
    return money


def _evaluation(evaluation: CarrierEvaluation) -> dict[str, Any]:
    return {
        "scores": [[name, score] for name, score in evaluation.scores],
        "note": evaluation.note,
        "by": evaluation.by,
        "at": _time(evaluation.at),
    }


def _load_evaluation(data: Mapping[str, Any]) -> CarrierEvaluation:
    return CarrierEvaluation(
        scores=tuple((name, int(score)) for name, score in data["scores"]),
        note=data["note"],
        by=data["by"],
        at=datetime.fromisoformat(data["at"]),
    )


def _difference(difference: FreightDifference) -> dict[str, Any]:
    return {
        "kind": difference.kind.value,
        "tracking_number": difference.tracking_number,
        "billed": _money(difference.billed),
        "expected": _money(difference.expected),
    }


def _load_difference(data: Mapping[str, Any]) -> FreightDifference:
    return FreightDifference(
        kind=DifferenceKind(data["kind"]),
        tracking_number=data["tracking_number"],
        billed=_from_money(data["billed"]),
        expected=_from_money(data["expected"]),
    )


class CarrierMapping(AggregateMapping[Carrier]):
    """Maps :class:`~eshop_core.domain.logistics.Carrier` onto ``carriers``."""

    def __init__(self) -> None:
        super().__init__(Carrier, carriers)

    def dump(self, aggregate: Carrier) -> dict[str, Any]:
        """Return the carrier's columns; coverage and evaluations as JSON documents."""
        return {
            "code": aggregate.code,
            "name": aggregate.name,
            "currency": aggregate.currency,
            "coverage": list(aggregate.coverage),
            "tracking_url_template": aggregate.tracking_url_template,
            "evaluations": [_evaluation(e) for e in aggregate.evaluations],
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> Carrier:
        """Build the carrier from its row."""
        return Carrier(
            id=values["id"],
            version=values["version"],
            code=values["code"],
            name=values["name"],
            currency=values["currency"],
            coverage=tuple(values["coverage"]),
            tracking_url_template=values["tracking_url_template"],
            evaluations=[_load_evaluation(e) for e in values["evaluations"]],
        )


class FreightBillMapping(AggregateMapping[FreightBill]):
    """Maps :class:`~eshop_core.domain.logistics.FreightBill` onto ``freight_bills``."""

    def __init__(self) -> None:
        super().__init__(FreightBill, freight_bills)

    def dump(self, aggregate: FreightBill) -> dict[str, Any]:
        """Return the bill's columns; lines and differences as JSON documents."""
        return {
            "carrier": aggregate.carrier,
            "currency": aggregate.currency,
            "period_start": aggregate.period_start,
            "period_end": aggregate.period_end,
            "lines": [
                {"tracking_number": line.tracking_number, "amount": _money(line.amount)}
                for line in aggregate.lines
            ],
            "state": aggregate.state.value,
            "differences": [_difference(d) for d in aggregate.differences],
            "received_by": aggregate.received_by,
            "reconciled_by": aggregate.reconciled_by,
            "reconciled_at": aggregate.reconciled_at,
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> FreightBill:
        """Build the bill from its row."""
        return FreightBill(
            id=values["id"],
            version=values["version"],
            carrier=values["carrier"],
            currency=values["currency"],
            period_start=values["period_start"],
            period_end=values["period_end"],
            lines=tuple(
                BillLine(tracking_number=line["tracking_number"], amount=_required_money(line["amount"]))
                for line in values["lines"]
            ),
            state=BillState(values["state"]),
            differences=tuple(_load_difference(d) for d in values["differences"]),
            received_by=values["received_by"],
            reconciled_by=values["reconciled_by"],
            reconciled_at=values["reconciled_at"],
        )


class LogisticsExceptionMapping(AggregateMapping[LogisticsException]):
    """Maps :class:`~eshop_core.domain.logistics.LogisticsException` onto ``logistics_exceptions``."""

    def __init__(self) -> None:
        super().__init__(LogisticsException, logistics_exceptions)

    def dump(self, aggregate: LogisticsException) -> dict[str, Any]:
        """Return the exception's columns."""
        return {
            "shipment_id": aggregate.shipment_id,
            "order_id": aggregate.order_id,
            "carrier": aggregate.carrier,
            "tracking_number": aggregate.tracking_number,
            "kind": aggregate.kind.value,
            "description": aggregate.description,
            "state": aggregate.state.value,
            "opened_by": aggregate.opened_by,
            "opened_at": aggregate.opened_at,
            "resolution": aggregate.resolution,
            "resolved_by": aggregate.resolved_by,
            "resolved_at": aggregate.resolved_at,
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> LogisticsException:
        """Build the exception from its row."""
        return LogisticsException(
            id=values["id"],
            version=values["version"],
            shipment_id=uuid.UUID(str(values["shipment_id"])),
            order_id=uuid.UUID(str(values["order_id"])),
            carrier=values["carrier"],
            tracking_number=values["tracking_number"],
            kind=ExceptionKind(values["kind"]),
            description=values["description"],
            state=ExceptionState(values["state"]),
            opened_by=values["opened_by"],
            opened_at=values["opened_at"],
            resolution=values["resolution"],
            resolved_by=values["resolved_by"],
            resolved_at=values["resolved_at"],
        )


CARRIER_MAPPING: Final = CarrierMapping()
"""The Carrier mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""

FREIGHT_BILL_MAPPING: Final = FreightBillMapping()
"""The FreightBill mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""

LOGISTICS_EXCEPTION_MAPPING: Final = LogisticsExceptionMapping()
"""The LogisticsException mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""
