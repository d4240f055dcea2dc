"""
Commands of ``shop.purchasing``: registering suppliers, drafting purchase orders, receiving goods.

Each command is a frozen pydantic model refusing unknown keys; services accept
the model or a plain mapping, and a bad one raises
:class:`~eshop_core.errors.InvalidInputError` naming the field path
(``lines.0.quantity``) before anything changes.

Example:
    >>> from eshop_core.schemas.purchasing import DraftPurchaseOrder
    >>> DraftPurchaseOrder.parse({"supplier_id": "0193a8e0-0000-7000-8000-000000000001",
    ...     "warehouse": "SH-01", "expected_arrival": "2026-03-09",
    ...     "lines": [{"sku": "MUG-BLUE", "quantity": 0,
    ...                "unit_cost": {"amount": "12.50", "currency": "CNY"}}]})
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidInputError: invalid lines.0.quantity: Input should be greater than 0
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any, Self

import pydantic

from eshop_core.domain.purchasing import PurchaseLine, ReceiptLine
from eshop_core.errors import InvalidInputError
from eshop_core.schemas.policies import MoneyDocument

__all__ = ["DraftPurchaseOrder", "PurchaseLineInput", "ReceiptLineInput", "RegisterSupplier"]

_FROZEN = pydantic.ConfigDict(frozen=True, extra="forbid", strict=False)


class _Command(pydantic.BaseModel):
    model_config = _FROZEN

    @classmethod
    def parse(cls, data: Self | Mapping[str, Any]) -> Self:
        """
        Return ``data`` as a validated command.

        Raises:
            InvalidInputError: Naming every invalid field path.
        """
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise InvalidInputError("command", f"expected a mapping, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            errors = [(".".join(str(p) for p in e["loc"]), str(e["msg"])) for e in exc.errors()]
            raise InvalidInputError(errors[0][0], errors[0][1], errors=errors) from None


def _whole(value: object) -> object:
    if isinstance(value, bool) or (value is not None and not isinstance(value, int)):
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


class RegisterSupplier(_Command):
    """Register a supplier: its code, name, contact (personal data) and qualification."""

    code: str
    name: str
    contact_name: str | None = None
    contact_phone: str | None = None
    licence_number: str | None = None
    qualified_until: date | None = None


class PurchaseLineInput(_Command):
    """One line of a purchase order: SKU, units (> 0) and unit cost."""

    sku: str
    quantity: int = pydantic.Field(gt=0)
    unit_cost: MoneyDocument

    _whole_number = pydantic.field_validator("quantity", mode="before")(_whole)

    def to_domain(self, index: int) -> PurchaseLine:
        """
        Return the domain line.

        Raises:
            InvalidInputError: Naming ``lines.<index>.<field>``.
        """
        try:
            return PurchaseLine(sku=self.sku, quantity=self.quantity, unit_cost=self.unit_cost.to_domain())
        except InvalidInputError as error:
            raise InvalidInputError(f"lines.{index}.{error.field}", error.reason) from None


class DraftPurchaseOrder(_Command):
    """
    Draft a purchase order.

    Attributes:
        supplier_id: The supplier.
        warehouse: Where the goods go.
        expected_arrival: When the supplier promises them.
        lines: What is ordered.
        suggestion_ids: Replenishment suggestions this order covers (marked ordered).
    """

    supplier_id: uuid.UUID
    warehouse: str
    expected_arrival: date
    lines: list[PurchaseLineInput] = pydantic.Field(min_length=1)
    suggestion_ids: list[uuid.UUID] = pydantic.Field(default_factory=list)


class ReceiptLineInput(_Command):
    """One inspected line of a delivery: received, accepted, rejected units and the rejection reason."""

    sku: str
    received: int = pydantic.Field(gt=0)
    accepted: int = pydantic.Field(ge=0)
    rejected: int | None = pydantic.Field(default=None, ge=0)
    reason: str | None = None

    _whole_numbers = pydantic.field_validator("received", "accepted", "rejected", mode="before")(_whole)

    def to_domain(self) -> ReceiptLine:
        """Return the domain line (checked against the order by the domain)."""
        return ReceiptLine(
            sku=self.sku,
            received=self.received,
            accepted=self.accepted,
            rejected=self.rejected,
            reason=self.reason,
        )
