"""
The policy document at the boundary: TOML validated by pydantic (GOV-02).

A policy document is TOML (see the shipped default,
``eshop_core/schemas/default_policy.toml``, which reproduces the handbooks'
numbers). :class:`PolicyDocument` validates it — unknown keys, negative or
zero deadlines, floats for money, unknown roles are refused with an
:class:`~eshop_core.errors.InvalidInputError` naming the field path — and
converts it to the domain's :class:`~eshop_core.domain.policies.PolicyRules`
(:meth:`PolicyDocument.to_domain`) and back (:meth:`PolicyDocument.from_domain`).

Example:
    >>> from eshop_core.schemas.policies import PolicyDocument, default_policy, default_policy_text
    >>> rules = default_policy()
    >>> rules.deadlines.order_confirmation.duration, rules.returns.no_reason_window.days
    (datetime.timedelta(seconds=3600), 7)
    >>> text = default_policy_text().replace("hours = 1,", "hours = -1,")
    >>> PolicyDocument.from_toml(text)
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidInputError: invalid deadlines.order_confirmation: days, hours and minutes ...
"""

from __future__ import annotations

import importlib.resources
import tomllib
from datetime import timedelta
from decimal import Decimal
from typing import Any, Final, Self

import attrs
import pydantic

from eshop_core.access import Role
from eshop_core.domain.policies import (
    AbnormalAmountRule,
    Deadline,
    Deadlines,
    ListingRules,
    OrderRules,
    PolicyRules,
    PricingRules,
    RefundLimit,
    ReturnRules,
    StockRules,
)
from eshop_core.errors import InvalidInputError
from eshop_core.money import Money

__all__ = [
    "DEFAULT_POLICY_RESOURCE",
    "DeadlineDocument",
    "MoneyDocument",
    "PolicyDocument",
    "default_policy",
    "default_policy_text",
    "parse_policy",
]

DEFAULT_POLICY_RESOURCE: Final = "default_policy.toml"
"""Name of the shipped default document inside the ``eshop_core.schemas`` package."""

_MINUTES_PER_HOUR: Final = 60
_MINUTES_PER_DAY: Final = 24 * 60


def _no_float(value: object) -> object:
    if isinstance(value, float | bool):
        raise ValueError(f"write numbers as decimal strings, not {type(value).__name__} {value!r}")
    return value


def _whole(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


def _text(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__} {value!r}")
    return value


def _flag(value: object) -> object:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _at_least(value: Decimal | int, minimum: int, *, strictly: bool = False) -> None:
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError("must be a finite number")
    if value < minimum or (strictly and value == minimum):
        raise ValueError(f"must be {'greater than' if strictly else 'at least'} {minimum}")


_FROZEN = pydantic.ConfigDict(frozen=True, extra="forbid")


class MoneyDocument(pydantic.BaseModel):
    """
    Money in a document: ``{ amount = "200.00", currency = "CNY" }``.

    Attributes:
        amount: A decimal string (floats are refused).
        currency: An ISO 4217 code.
    """

    model_config = _FROZEN

    amount: str
    currency: str

    _strings = pydantic.field_validator("amount", "currency", mode="before")(_text)

    @pydantic.model_validator(mode="after")
    def _valid_money(self) -> Self:
        Money.of(self.amount, self.currency)  # raises InvalidInputError (a ValueError)
        return self

    def to_domain(self) -> Money:
        """Return the :class:`~eshop_core.money.Money`."""
        return Money.of(self.amount, self.currency)

    @classmethod
    def from_domain(cls, money: Money) -> MoneyDocument:
        """Return the document form of ``money``."""
        return cls(amount=str(money.amount), currency=money.currency)


class DeadlineDocument(pydantic.BaseModel):
    """
    A deadline in a document: ``{ hours = 1, business_time = false }``.

    Attributes:
        days: Whole days.
        hours: Whole hours.
        minutes: Whole minutes.
        business_time: Count working time on the business calendar instead of wall-clock time.
    """

    model_config = _FROZEN

    days: int = 0
    hours: int = 0
    minutes: int = 0
    business_time: bool = False

    _whole_numbers = pydantic.field_validator("days", "hours", "minutes", mode="before")(_whole)
    _boolean = pydantic.field_validator("business_time", mode="before")(_flag)

    @pydantic.model_validator(mode="after")
    def _positive(self) -> Self:
        if min(self.days, self.hours, self.minutes) < 0:
            raise ValueError("days, hours and minutes must not be negative")
        if self.total_minutes <= 0:
            raise ValueError("must be longer than zero")
        return self

    @property
    def total_minutes(self) -> int:
        """The deadline's length in minutes."""
        return self.days * _MINUTES_PER_DAY + self.hours * _MINUTES_PER_HOUR + self.minutes

    def to_domain(self) -> Deadline:
        """Return the domain :class:`~eshop_core.domain.policies.Deadline`."""
        return Deadline(duration=timedelta(minutes=self.total_minutes), business_time=self.business_time)

    @classmethod
    def from_domain(cls, deadline: Deadline) -> DeadlineDocument:
        """Return the document form of ``deadline`` in the largest whole unit."""
        minutes = int(deadline.duration / timedelta(minutes=1))
        if minutes % _MINUTES_PER_DAY == 0:
            return cls(days=minutes // _MINUTES_PER_DAY, business_time=deadline.business_time)
        if minutes % _MINUTES_PER_HOUR == 0:
            return cls(hours=minutes // _MINUTES_PER_HOUR, business_time=deadline.business_time)
        return cls(minutes=minutes, business_time=deadline.business_time)


class DeadlinesDocument(pydantic.BaseModel):
    """The ``[deadlines]`` table; see :class:`~eshop_core.domain.policies.Deadlines`."""

    model_config = _FROZEN

    order_confirmation: DeadlineDocument
    cs_first_reply: DeadlineDocument
    complaint_reply: DeadlineDocument
    complaint_resolution: DeadlineDocument
    after_sales_reply: DeadlineDocument
    new_goods_listing: DeadlineDocument


class ReturnsDocument(pydantic.BaseModel):
    """The ``[returns]`` table: ``no_reason_days`` (a positive whole number of days)."""

    model_config = _FROZEN

    no_reason_days: int

    _whole_number = pydantic.field_validator("no_reason_days", mode="before")(_whole)

    @pydantic.field_validator("no_reason_days")
    @classmethod
    def _positive(cls, value: int) -> int:
        _at_least(value, 0, strictly=True)
        return value


class ListingDocument(pydantic.BaseModel):
    """The ``[listing]`` table: ``min_detail_images`` (0 or more)."""

    model_config = _FROZEN

    min_detail_images: int

    _whole_number = pydantic.field_validator("min_detail_images", mode="before")(_whole)

    @pydantic.field_validator("min_detail_images")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        _at_least(value, 0)
        return value


class PricingDocument(pydantic.BaseModel):
    """The ``[pricing]`` table: ``approval_threshold_percent`` (a decimal string, 0 or more)."""

    model_config = _FROZEN

    approval_threshold_percent: Decimal

    _exact = pydantic.field_validator("approval_threshold_percent", mode="before")(_no_float)

    @pydantic.field_validator("approval_threshold_percent")
    @classmethod
    def _not_negative(cls, value: Decimal) -> Decimal:
        _at_least(value, 0)
        return value


class StockDocument(pydantic.BaseModel):
    """
    The ``[stock]`` table.

    ``low_stock_default`` and ``variance_approval_units`` (units, 0 or more);
    ``sales_window_days``, ``replenishment_cover_days`` and ``slow_moving_days``
    (days, 1 or more).
    """

    model_config = _FROZEN

    low_stock_default: int
    variance_approval_units: int
    sales_window_days: int
    replenishment_cover_days: int
    slow_moving_days: int

    _whole_number = pydantic.field_validator(
        "low_stock_default",
        "variance_approval_units",
        "sales_window_days",
        "replenishment_cover_days",
        "slow_moving_days",
        mode="before",
    )(_whole)

    @pydantic.field_validator("low_stock_default", "variance_approval_units")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        _at_least(value, 0)
        return value

    @pydantic.field_validator("sales_window_days", "replenishment_cover_days", "slow_moving_days")
    @classmethod
    def _positive(cls, value: int) -> int:
        _at_least(value, 1)
        return value

    def to_domain(self) -> StockRules:
        """Return the domain rules."""
        return StockRules(**self.model_dump())

    @classmethod
    def from_domain(cls, rules: StockRules) -> StockDocument:
        """Return the document form of ``rules``."""
        return cls(**attrs.asdict(rules))


class OrdersDocument(pydantic.BaseModel):
    """
    The ``[orders]`` table.

    ``payment_reminder`` and ``duplicate_window`` are deadlines
    (``{ minutes = 30 }``), ``auto_confirm`` true or false,
    ``change_request_words`` a list of words.
    """

    model_config = _FROZEN

    payment_reminder: DeadlineDocument
    duplicate_window: DeadlineDocument
    auto_confirm: bool
    change_request_words: list[str]

    _boolean = pydantic.field_validator("auto_confirm", mode="before")(_flag)

    def to_domain(self) -> OrderRules:
        """Return the domain rules."""
        return OrderRules(
            payment_reminder=self.payment_reminder.to_domain(),
            duplicate_window=self.duplicate_window.to_domain().duration,
            auto_confirm=self.auto_confirm,
            change_request_words=tuple(self.change_request_words),
        )

    @classmethod
    def from_domain(cls, rules: OrderRules) -> OrdersDocument:
        """Return the document form of ``rules``."""
        return cls(
            payment_reminder=DeadlineDocument.from_domain(rules.payment_reminder),
            duplicate_window=DeadlineDocument.from_domain(Deadline(duration=rules.duplicate_window)),
            auto_confirm=rules.auto_confirm,
            change_request_words=list(rules.change_request_words),
        )


class AbnormalAmountDocument(pydantic.BaseModel):
    """The ``[abnormal_amount]`` table: an absolute ``threshold`` and an ``average_multiple``."""

    model_config = _FROZEN

    threshold: MoneyDocument
    average_multiple: Decimal

    _exact = pydantic.field_validator("average_multiple", mode="before")(_no_float)

    @pydantic.field_validator("average_multiple")
    @classmethod
    def _positive_multiple(cls, value: Decimal) -> Decimal:
        _at_least(value, 0, strictly=True)
        return value

    @pydantic.field_validator("threshold")
    @classmethod
    def _positive_threshold(cls, value: MoneyDocument) -> MoneyDocument:
        if value.to_domain().amount <= 0:
            raise ValueError("must be a positive amount")
        return value


class PolicyDocument(pydantic.BaseModel):
    """
    A whole policy document, as TOML gives it.

    Every table is required, and unknown keys are refused, so a document
    always states every rule it sets.
    """

    model_config = _FROZEN

    deadlines: DeadlinesDocument
    returns: ReturnsDocument
    listing: ListingDocument
    pricing: PricingDocument
    refund_limits: dict[Role, MoneyDocument]
    stock: StockDocument
    abnormal_amount: AbnormalAmountDocument
    orders: OrdersDocument

    @pydantic.field_validator("refund_limits")
    @classmethod
    def _non_negative_limits(cls, value: dict[Role, MoneyDocument]) -> dict[Role, MoneyDocument]:
        negative = sorted(role.value for role, money in value.items() if money.to_domain().amount < 0)
        if negative:
            raise ValueError(f"limits must not be negative ({', '.join(negative)})")
        return value

    @classmethod
    def parse(cls, data: object) -> PolicyDocument:
        """
        Validate ``data`` (a mapping as TOML or JSON gives it).

        Raises:
            InvalidInputError: Naming the first offending field path; ``errors`` lists them all.
        """
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            raise _invalid(exc) from None

    @classmethod
    def from_toml(cls, text: str) -> PolicyDocument:
        """
        Parse and validate a TOML policy document.

        Raises:
            InvalidInputError: ``field="policy"`` for text that is not TOML, else naming the field.
        """
        if not isinstance(text, str):
            raise InvalidInputError("policy", f"expected TOML text, got {type(text).__name__}")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInputError("policy", f"not valid TOML: {exc}") from None
        return cls.parse(data)

    def to_domain(self) -> PolicyRules:
        """Return the domain's :class:`~eshop_core.domain.policies.PolicyRules`."""
        d = self.deadlines
        return PolicyRules(
            deadlines=Deadlines(
                order_confirmation=d.order_confirmation.to_domain(),
                cs_first_reply=d.cs_first_reply.to_domain(),
                complaint_reply=d.complaint_reply.to_domain(),
                complaint_resolution=d.complaint_resolution.to_domain(),
                after_sales_reply=d.after_sales_reply.to_domain(),
                new_goods_listing=d.new_goods_listing.to_domain(),
            ),
            returns=ReturnRules(no_reason_window=timedelta(days=self.returns.no_reason_days)),
            listing=ListingRules(min_detail_images=self.listing.min_detail_images),
            pricing=PricingRules(approval_threshold_percent=self.pricing.approval_threshold_percent),
            refund_limits=tuple(
                RefundLimit(role=role, limit=money.to_domain()) for role, money in self.refund_limits.items()
            ),
            stock=self.stock.to_domain(),
            orders=self.orders.to_domain(),
            abnormal_amount=AbnormalAmountRule(
                threshold=self.abnormal_amount.threshold.to_domain(),
                average_multiple=self.abnormal_amount.average_multiple,
            ),
        )

    @classmethod
    def from_domain(cls, rules: PolicyRules) -> PolicyDocument:
        """
        Return the document form of ``rules``.

        Raises:
            InvalidInputError: The no-reason return window is not a whole number of days.
        """
        window = rules.returns.no_reason_window
        if window % timedelta(days=1):
            raise InvalidInputError("returns.no_reason_window", f"must be whole days, got {window}")
        d = rules.deadlines
        return cls(
            deadlines=DeadlinesDocument(
                order_confirmation=DeadlineDocument.from_domain(d.order_confirmation),
                cs_first_reply=DeadlineDocument.from_domain(d.cs_first_reply),
                complaint_reply=DeadlineDocument.from_domain(d.complaint_reply),
                complaint_resolution=DeadlineDocument.from_domain(d.complaint_resolution),
                after_sales_reply=DeadlineDocument.from_domain(d.after_sales_reply),
                new_goods_listing=DeadlineDocument.from_domain(d.new_goods_listing),
            ),
            returns=ReturnsDocument(no_reason_days=window.days),
            listing=ListingDocument(min_detail_images=rules.listing.min_detail_images),
            pricing=PricingDocument(approval_threshold_percent=rules.pricing.approval_threshold_percent),
            refund_limits={x.role: MoneyDocument.from_domain(x.limit) for x in rules.refund_limits},
            stock=StockDocument.from_domain(rules.stock),
            orders=OrdersDocument.from_domain(rules.orders),
            abnormal_amount=AbnormalAmountDocument(
                threshold=MoneyDocument.from_domain(rules.abnormal_amount.threshold),
                average_multiple=rules.abnormal_amount.average_multiple,
            ),
        )

    def to_data(self) -> dict[str, Any]:
        """Return the document as JSON-safe data (decimals and money amounts as strings)."""
        return self.model_dump(mode="json", exclude_defaults=True)


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc if part != "[key]") or "policy"


def _reason(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    return str(error["msg"]).removeprefix("Value error, ")


def _invalid(exc: pydantic.ValidationError) -> InvalidInputError:
    errors = [(_path(tuple(e["loc"])), _reason(e)) for e in exc.errors()]
    return InvalidInputError(errors[0][0], errors[0][1], errors=errors)


def parse_policy(value: PolicyRules | PolicyDocument | str) -> PolicyRules:
    """
    Return the rules given as domain rules, a validated document or TOML text.

    Raises:
        InvalidInputError: Invalid TOML or rules, naming the field; or another type of ``value``.
    """
    if isinstance(value, PolicyRules):
        return value
    if isinstance(value, PolicyDocument):
        return value.to_domain()
    if isinstance(value, str):
        return PolicyDocument.from_toml(value).to_domain()
    raise InvalidInputError(
        "rules", f"expected PolicyRules, a PolicyDocument or TOML text, got {type(value).__name__}"
    )


def default_policy_text() -> str:
    """Return the shipped default policy document (TOML)."""
    resource = importlib.resources.files("eshop_core.schemas").joinpath(DEFAULT_POLICY_RESOURCE)
    return resource.read_text(encoding="utf-8")


def default_policy() -> PolicyRules:
    """Return the rules of the shipped default policy document: the handbooks' numbers."""
    return PolicyDocument.from_toml(default_policy_text()).to_domain()
