"""
:class:`ChannelOrder`: the channel-neutral order every sales channel adapter produces (ORD-01).

An adapter maps its platform's payload onto this model; ``shop.orders.ingest``
takes it (or a plain mapping). It is checked before anything is stored:
timestamps must carry a timezone, amounts are decimal strings (never floats),
every line has a positive whole quantity, and the total must add up —
lines less their discounts, plus shipping, less the order discount. A bad one
raises :class:`~eshop_core.errors.InvalidInputError` naming the field path.

Example:
    >>> from eshop_core.schemas.orders import ChannelOrder
    >>> ChannelOrder.parse({
    ...     "channel": "tmall", "external_id": "TM-1", "status": "paid",
    ...     "placed_at": "2026-03-02T10:00:00+08:00", "modified_at": "2026-03-02T10:01:00+08:00",
    ...     "currency": "CNY",
    ...     "consignee": {"name": "Li Lei", "phone": "13800138000", "province": "上海市",
    ...                   "city": "上海市", "district": "浦东新区", "address": "世纪大道 100 号 1201 室"},
    ...     "lines": [{"sku": "MUG-BLUE", "quantity": 2, "unit_price": "39.00"}],
    ...     "total": "80.00",
    ...     "payment": {"method": "alipay", "paid_at": "2026-03-02T10:01:00+08:00"}})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidInputError: invalid total: 80.00 does not add up: lines 78.00 + shipping 0 ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal, Self

import pydantic

from eshop_core.domain.orders import OrderLine
from eshop_core.errors import InvalidInputError
from eshop_core.money import Money

__all__ = ["ChannelOrder", "ChannelOrderLine", "ConsigneeInput", "PaymentInput"]

_CHANNEL: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_SKU_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
_MODEL = pydantic.ConfigDict(frozen=True, extra="forbid")


def _no_float(value: object) -> object:
    if isinstance(value, float | bool):
        raise ValueError(f"write amounts as decimal strings, not {type(value).__name__} {value!r}")
    return value


class _Part(pydantic.BaseModel):
    model_config = _MODEL


class ConsigneeInput(_Part):
    """Who receives the order, and where (personal data)."""

    name: str = pydantic.Field(min_length=1, max_length=100)
    phone: str = pydantic.Field(min_length=1, max_length=32)
    province: str = pydantic.Field(max_length=64)
    city: str = pydantic.Field(max_length=64)
    district: str = pydantic.Field(default="", max_length=64)
    address: str = pydantic.Field(max_length=500)
    postcode: str | None = pydantic.Field(default=None, max_length=16)


class ChannelOrderLine(_Part):
    """One line: SKU, units (a positive whole number), unit price and line discount."""

    sku: str = pydantic.Field(pattern=_SKU_PATTERN)
    quantity: int = pydantic.Field(gt=0, strict=True)
    unit_price: Decimal = pydantic.Field(ge=0)
    discount: Decimal = pydantic.Field(default=Decimal(0), ge=0)

    _exact = pydantic.field_validator("unit_price", "discount", mode="before")(_no_float)


class PaymentInput(_Part):
    """How and when the buyer paid."""

    method: str = pydantic.Field(min_length=1, max_length=32)
    reference: str | None = pydantic.Field(default=None, max_length=128)
    paid_at: pydantic.AwareDatetime


class ChannelOrder(pydantic.BaseModel):
    """
    A sales channel's order, channel-neutral (ORD-01).

    Attributes:
        channel: The channel's name (``tmall``, ``jd``, ``shopify``...).
        external_id: The channel's order id; with ``channel``, the order's key.
        status: ``pending_payment``, ``paid`` or ``cancelled`` on the channel.
        placed_at: When the buyer placed it (timezone-aware).
        modified_at: The channel's modification time: the revision. An equal one is a
            no-op, an older one is ignored and recorded, a newer one is applied.
        currency: ISO 4217 code of every amount.
        buyer: The buyer's channel account, if the channel gives it.
        consignee: Who receives it, and where.
        lines: At least one line.
        shipping_fee: Shipping charged.
        discount: Order-level discount.
        total: What the buyer pays; must equal lines less line discounts, plus shipping, less discount.
        payment: The payment (required when ``status`` is ``paid``).
        buyer_note: The buyer's note.
    """

    model_config = _MODEL

    channel: str
    external_id: str = pydantic.Field(min_length=1, max_length=64)
    status: Literal["pending_payment", "paid", "cancelled"]
    placed_at: pydantic.AwareDatetime
    modified_at: pydantic.AwareDatetime
    currency: str = pydantic.Field(min_length=3, max_length=3)
    buyer: str | None = pydantic.Field(default=None, max_length=100)
    consignee: ConsigneeInput
    lines: list[ChannelOrderLine] = pydantic.Field(min_length=1)
    shipping_fee: Decimal = pydantic.Field(default=Decimal(0), ge=0)
    discount: Decimal = pydantic.Field(default=Decimal(0), ge=0)
    total: Decimal = pydantic.Field(ge=0)
    payment: PaymentInput | None = None
    buyer_note: str | None = pydantic.Field(default=None, max_length=1000)

    _exact = pydantic.field_validator("shipping_fee", "discount", "total", mode="before")(_no_float)

    @pydantic.field_validator("channel")
    @classmethod
    def _channel_name(cls, value: str) -> str:
        if not _CHANNEL.match(value):
            raise ValueError("must be 1-32 lower-case letters, digits, - and _")
        return value

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.modified_at < self.placed_at:
            raise ValueError("modified_at: must not be before placed_at")
        if self.status == "paid" and self.payment is None:
            raise ValueError("payment: a paid order needs its payment")
        seen: set[str] = set()
        for i, line in enumerate(self.lines):
            if line.sku in seen:
                raise ValueError(f"lines.{i}.sku: {line.sku} is on two lines; give it once")
            seen.add(line.sku)
            if line.discount > line.unit_price * line.quantity:
                raise ValueError(f"lines.{i}.discount: {line.discount} is more than the line's amount")
        lines = sum((line.unit_price * line.quantity - line.discount for line in self.lines), Decimal(0))
        expected = lines + self.shipping_fee - self.discount
        if expected != self.total:
            raise ValueError(
                f"total: {self.total} does not add up: lines {lines} + shipping {self.shipping_fee} "
                f"- discount {self.discount} = {expected}"
            )
        return self

    @classmethod
    def parse(cls, data: ChannelOrder | Mapping[str, Any]) -> ChannelOrder:
        """
        Return ``data`` as a validated channel order.

        Raises:
            InvalidInputError: Naming the first invalid field path (all of them in ``errors``).
        """
        if isinstance(data, ChannelOrder):
            return data
        if not isinstance(data, Mapping):
            raise InvalidInputError(
                "channel_order", f"expected a ChannelOrder or a mapping, got {type(data).__name__}"
            )
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            errors = []
            for e in exc.errors():
                path = ".".join(str(p) for p in e["loc"])
                message = str(e["msg"]).removeprefix("Value error, ")
                if not path and ": " in message:  # model-level checks name their field first
                    path, message = message.split(": ", 1)
                errors.append((path or "channel_order", message))
            raise InvalidInputError(errors[0][0], errors[0][1], errors=errors) from None

    @property
    def key(self) -> tuple[str, str]:
        """``(channel, external_id)``: the order's identity."""
        return (self.channel, self.external_id)

    @property
    def revision(self) -> datetime:
        """The revision, which is ``modified_at``."""
        return self.modified_at

    def to_fields(self) -> dict[str, Any]:
        """
        Return the :class:`~eshop_core.domain.orders.Order` fields this channel order sets.

        Raises:
            InvalidInputError: An unknown currency, or an amount finer than its minor unit (naming it).
        """
        currency = self.currency

        def money(value: Decimal, field: str) -> Money:
            try:
                amount = Money.of(value, currency)
            except InvalidInputError as error:
                raise InvalidInputError(field, error.reason) from None
            if not amount.is_rounded:
                raise InvalidInputError(field, f"{value} is finer than the minor unit of {currency}")
            return amount

        lines = [
            OrderLine(
                sku=line.sku,
                quantity=line.quantity,
                unit_price=money(line.unit_price, f"lines.{i}.unit_price"),
                discount=money(line.discount, f"lines.{i}.discount"),
            )
            for i, line in enumerate(self.lines)
        ]
        consignee = self.consignee
        payment = self.payment
        return {
            "channel": self.channel,
            "external_id": self.external_id,
            "revision": self.modified_at,
            "placed_at": self.placed_at,
            "paid_at": None if payment is None else payment.paid_at,
            "buyer": self.buyer,
            "consignee_name": consignee.name,
            "consignee_phone": consignee.phone,
            "province": consignee.province,
            "city": consignee.city,
            "district": consignee.district,
            "address": consignee.address,
            "postcode": consignee.postcode,
            "lines": lines,
            "shipping_fee": money(self.shipping_fee, "shipping_fee"),
            "discount": money(self.discount, "discount"),
            "total": money(self.total, "total"),
            "payment_method": None if payment is None else payment.method,
            "payment_reference": None if payment is None else payment.reference,
            "buyer_note": self.buyer_note,
        }

    def revision_changes(self) -> dict[str, Any]:
        """The fields a newer revision may change on an existing order (see ``Order.apply_revision``)."""
        fields = self.to_fields()
        return {
            name: fields[name]
            for name in (
                "buyer",
                "consignee_name",
                "consignee_phone",
                "province",
                "city",
                "district",
                "address",
                "postcode",
                "buyer_note",
                "lines",
                "shipping_fee",
                "discount",
                "total",
                "payment_method",
                "payment_reference",
            )
        }
