"""
The command of ``shop.shipping.ship``: what logistics packed, checked and handed to a carrier.

Example:
    >>> from eshop_core.schemas.shipping import ShipOrder
    >>> ShipOrder.parse({"warehouse": "SH-01", "lines": [{"sku": "MUG-BLUE", "quantity": 2}],
    ...                  "packed": [{"sku": "MUG-BLUE", "quantity": 2}], "address_confirmed": True,
    ...                  "carrier": "SF", "tracking_number": ""})
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidInputError: invalid tracking_number: String should have at least 1 character
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic

from eshop_core.errors import InvalidInputError
from eshop_core.schemas.policies import MoneyDocument

__all__ = ["ShipLine", "ShipOrder"]

_MODEL = pydantic.ConfigDict(frozen=True, extra="forbid")


class ShipLine(pydantic.BaseModel):
    """A SKU and units (a positive whole number)."""

    model_config = _MODEL

    sku: str = pydantic.Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    quantity: int = pydantic.Field(gt=0, strict=True)


class ShipOrder(pydantic.BaseModel):
    """
    Ship part or all of an order from one warehouse (ORD-05).

    Attributes:
        warehouse: Where the parcel leaves from.
        lines: What the shipment takes out of the order's reservations there.
        packed: What the packer counted into the parcel; must equal ``lines``.
        address_confirmed: The label's address was checked against the order.
        packaging: Special packaging applied; must cover the order's needs.
        carrier: The carrier's code (required).
        tracking_number: The carrier's tracking number (required).
        tracking_url: A link the customer can follow.
        expected_delivery: When the carrier expects to deliver (timezone-aware).
        freight: The freight quoted, for reconciling the carrier's bill.
    """

    model_config = _MODEL

    warehouse: str
    lines: list[ShipLine] = pydantic.Field(min_length=1)
    packed: list[ShipLine] = pydantic.Field(min_length=1)
    address_confirmed: bool
    packaging: list[str] = pydantic.Field(default_factory=list)
    carrier: str = pydantic.Field(min_length=1, max_length=32)
    tracking_number: str = pydantic.Field(min_length=1, max_length=64)
    tracking_url: str | None = pydantic.Field(default=None, max_length=500)
    expected_delivery: pydantic.AwareDatetime | None = None
    freight: MoneyDocument | None = None

    @classmethod
    def parse(cls, data: ShipOrder | Mapping[str, Any]) -> ShipOrder:
        """
        Return ``data`` as a validated command.

        Raises:
            InvalidInputError: Naming the first invalid field path.
        """
        if isinstance(data, ShipOrder):
            return data
        if not isinstance(data, Mapping):
            raise InvalidInputError("command", f"expected a mapping, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            errors = [(".".join(str(p) for p in e["loc"]), str(e["msg"])) for e in exc.errors()]
            raise InvalidInputError(errors[0][0], errors[0][1], errors=errors) from None

    def units(self, which: str = "lines") -> dict[str, int]:
        """``{sku: units}`` of ``lines`` or ``packed`` (a SKU given twice is summed)."""
        out: dict[str, int] = {}
        for line in getattr(self, which):
            out[line.sku] = out.get(line.sku, 0) + line.quantity
        return out
