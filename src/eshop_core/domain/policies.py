"""
The shop's policies: the rules document and its versioned history (GOV-02).

:class:`PolicyRules` holds every number the operations handbooks leave to
policy — deadlines, the no-reason return window, listing rules, the
price-change approval threshold, refund authority per role, the low-stock
default and the abnormal-amount rule. It is an immutable value object.

:class:`PolicySet` is the shop's policy history: a list of immutable
:class:`PolicyVersion` entries, numbered 1, 2, 3..., each with the time it
takes effect. A decision asks :meth:`PolicySet.in_force` for the version in
force *at the moment of the decision* and records its number, so what was
decided under an old version stays explainable.

Example:
    >>> from datetime import datetime, timedelta, timezone
    >>> from eshop_core import Actor, Money, Role
    >>> from eshop_core.domain.policies import (
    ...     AbnormalAmountRule, Deadline, Deadlines, ListingRules, PolicyRules, PolicySet,
    ...     PricingRules, RefundLimit, ReturnRules, StockRules)
    >>> hour = timedelta(hours=1)
    >>> rules = PolicyRules(
    ...     deadlines=Deadlines(
    ...         order_confirmation=Deadline(duration=hour),
    ...         cs_first_reply=Deadline(duration=timedelta(minutes=30), business_time=True),
    ...         complaint_reply=Deadline(duration=24 * hour),
    ...         complaint_resolution=Deadline(duration=48 * hour),
    ...         after_sales_reply=Deadline(duration=24 * hour),
    ...         new_goods_listing=Deadline(duration=timedelta(days=3))),
    ...     returns=ReturnRules(no_reason_window=timedelta(days=7)),
    ...     listing=ListingRules(min_detail_images=5),
    ...     pricing=PricingRules(approval_threshold_percent=0),
    ...     refund_limits=(RefundLimit(role=Role.CUSTOMER_SERVICE, limit=Money.of("200", "CNY")),),
    ...     stock=StockRules(low_stock_default=10),
    ...     abnormal_amount=AbnormalAmountRule(threshold=Money.of("5000", "CNY"), average_multiple=5))
    >>> policies = PolicySet()
    >>> boss = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
    >>> v1 = policies.adopt(rules, effective_from=datetime(2026, 1, 1, tzinfo=timezone.utc),
    ...                     proposed_by="li.ming", approved_by=boss, reason="first policy",
    ...                     at=datetime(2025, 12, 30, tzinfo=timezone.utc))
    >>> policies.in_force(datetime(2026, 3, 1, tzinfo=timezone.utc)).number
    1
    >>> rules.refund_limit({Role.CUSTOMER_SERVICE})
    Money('200', 'CNY')
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final

import attrs

from eshop_core.access import Actor, Role
from eshop_core.clock import ensure_aware
from eshop_core.domain._aggregate import Aggregate
from eshop_core.errors import InvalidInputError, NotFoundError
from eshop_core.events import DomainEvent
from eshop_core.money import Money

__all__ = [
    "EPOCH",
    "SHOP_POLICY_SET_ID",
    "AbnormalAmountRule",
    "Deadline",
    "Deadlines",
    "ListingRules",
    "OrderRules",
    "PolicyRules",
    "PolicySet",
    "PolicyVersion",
    "PolicyVersionAdopted",
    "PricingRules",
    "RefundLimit",
    "ReturnRules",
    "StockRules",
]

SHOP_POLICY_SET_ID: Final = uuid.UUID("00000000-0000-7000-8000-000000000001")
"""The id of the shop's one :class:`PolicySet` (one database holds one shop)."""

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""When the bootstrap policy version takes effect, before anything the shop decides."""

_MAX_REASON: Final = 2000


def _positive_duration(field: str, value: object) -> timedelta:
    if not isinstance(value, timedelta):
        raise InvalidInputError(field, f"expected a timedelta, got {type(value).__name__}")
    if value <= timedelta(0):
        raise InvalidInputError(field, f"must be positive, got {value}")
    if value % timedelta(minutes=1):
        raise InvalidInputError(field, f"must be a whole number of minutes, got {value}")
    return value


def _count(field: str, value: object, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(field, f"must be an integer of at least {minimum}, got {value!r}")
    return value


def _decimal(field: str, value: object, *, minimum: Decimal, strictly: bool = False) -> Decimal:
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int | str):
        raise InvalidInputError(field, f"expected a Decimal, int or str, got {type(value).__name__}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise InvalidInputError(field, f"{value!r} is not a number") from None
    if not number.is_finite() or number < minimum or (strictly and number == minimum):
        relation = "greater than" if strictly else "at least"
        raise InvalidInputError(field, f"must be a number {relation} {minimum}, got {value!r}")
    return number


def _threshold(value: object) -> Decimal:
    return _decimal("pricing.approval_threshold_percent", value, minimum=Decimal(0))


def _multiple(value: object) -> Decimal:
    return _decimal("abnormal_amount.average_multiple", value, minimum=Decimal(0), strictly=True)


def _text(field: str, value: object, *, limit: int = _MAX_REASON) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(field, "must be a non-empty string")
    if len(value) > limit:
        raise InvalidInputError(field, f"must be at most {limit} characters")
    return value.strip()


@attrs.frozen(kw_only=True)
class Deadline:
    """
    A time limit: a positive duration, counted on the wall clock or on the business calendar.

    Attributes:
        duration: How long (whole minutes, positive).
        business_time: Count only the business calendar's working time (``True``) or
            elapsed wall-clock time (``False``, the default).

    Example:
        >>> from datetime import timedelta
        >>> Deadline(duration=timedelta(minutes=-5))
        Traceback (most recent call last):
        ...
        eshop_core.errors.InvalidInputError: invalid duration: must be positive, got -1 day, 23:55:00
    """

    duration: timedelta
    business_time: bool = False

    def __attrs_post_init__(self) -> None:
        _positive_duration("duration", self.duration)
        if not isinstance(self.business_time, bool):
            raise InvalidInputError("business_time", "must be True or False")


@attrs.frozen(kw_only=True)
class Deadlines:
    """
    The handbooks' time limits.

    Attributes:
        order_confirmation: Confirm an order after it is placed (ORD-03).
        cs_first_reply: First reply to an enquiry or complaint (CS-01).
        complaint_reply: Reply to a complaint (CS-02).
        complaint_resolution: Resolve a complaint (CS-02).
        after_sales_reply: Reply to an after-sales request (CS-03).
        new_goods_listing: List new goods after they arrive (CAT-08).
    """

    order_confirmation: Deadline
    cs_first_reply: Deadline
    complaint_reply: Deadline
    complaint_resolution: Deadline
    after_sales_reply: Deadline
    new_goods_listing: Deadline

    def __attrs_post_init__(self) -> None:
        for f in attrs.fields(Deadlines):
            if not isinstance(getattr(self, f.name), Deadline):
                raise InvalidInputError(f"deadlines.{f.name}", "expected a Deadline")


@attrs.frozen(kw_only=True)
class ReturnRules:
    """
    After-sales rules (RET-01).

    Attributes:
        no_reason_window: How long after delivery a buyer may return goods without a reason.
    """

    no_reason_window: timedelta

    def __attrs_post_init__(self) -> None:
        _positive_duration("returns.no_reason_window", self.no_reason_window)


@attrs.frozen(kw_only=True)
class ListingRules:
    """
    Listing rules (CAT-08).

    Attributes:
        min_detail_images: The fewest detail images a listing may have.
    """

    min_detail_images: int

    def __attrs_post_init__(self) -> None:
        _count("listing.min_detail_images", self.min_detail_images)


@attrs.frozen(kw_only=True)
class PricingRules:
    """
    Price-change rules (CAT-06).

    Attributes:
        approval_threshold_percent: A price change larger than this (in percent of the old
            price, either way) needs approval; ``0`` means every change does.

    Example:
        >>> from eshop_core.money import Money
        >>> rules = PricingRules(approval_threshold_percent="10")
        >>> rules.needs_approval(Money.of("100", "CNY"), Money.of("109", "CNY"))
        False
        >>> rules.needs_approval(Money.of("100", "CNY"), Money.of("89", "CNY"))
        True
    """

    approval_threshold_percent: Decimal = attrs.field(converter=_threshold)

    def needs_approval(self, old: Money, new: Money) -> bool:
        """Whether changing a price from ``old`` to ``new`` needs approval under these rules."""
        if old == new:
            return False
        if self.approval_threshold_percent == 0 or not old:
            return True
        change = abs(new - old).amount * 100 / abs(old.amount)
        return change > self.approval_threshold_percent


def _role(value: object) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise InvalidInputError("refund_limits", f"unknown role {value!r}; known roles: {known}") from None


@attrs.frozen(kw_only=True)
class RefundLimit:
    """
    How much a role may refund on its own authority (CS-10, RET-04).

    Attributes:
        role: The role.
        limit: The largest refund it may approve alone.
    """

    role: Role = attrs.field(converter=_role)
    limit: Money

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.limit, Money) or self.limit.amount < 0:
            raise InvalidInputError(f"refund_limits.{self.role.value}", "must be a non-negative Money")


@attrs.frozen(kw_only=True)
class StockRules:
    """
    Stock rules (INV-02..05).

    Attributes:
        low_stock_default: Warning level (units) for SKUs without their own (INV-03).
        variance_approval_units: A count variance larger than this many units needs a
            department manager's approval (INV-02).
        sales_window_days: How many days of sales the purchase plan and replenishment
            suggestions average over (INV-03, INV-05).
        replenishment_cover_days: How many days of sales a replenishment suggestion covers.
        slow_moving_days: Stock with no sale for this many days is slow-moving (INV-04).
    """

    low_stock_default: int
    variance_approval_units: int = 5
    sales_window_days: int = 30
    replenishment_cover_days: int = 14
    slow_moving_days: int = 90

    def __attrs_post_init__(self) -> None:
        _count("stock.low_stock_default", self.low_stock_default)
        _count("stock.variance_approval_units", self.variance_approval_units)
        _count("stock.sales_window_days", self.sales_window_days, minimum=1)
        _count("stock.replenishment_cover_days", self.replenishment_cover_days, minimum=1)
        _count("stock.slow_moving_days", self.slow_moving_days, minimum=1)


_DEFAULT_CHANGE_WORDS: Final = (
    "改地址",
    "修改",
    "更改",
    "换成",
    "换个",
    "不要",
    "取消",
    "change",
    "instead",
    "replace",
    "cancel",
)


def _words(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInputError("orders.change_request_words", "expected a list of words")
    words = tuple(value)
    for word in words:
        if not isinstance(word, str) or not word.strip():
            raise InvalidInputError(
                "orders.change_request_words", f"each word must be a non-empty string, got {word!r}"
            )
    return tuple(w.strip().casefold() for w in words)


@attrs.frozen(kw_only=True)
class OrderRules:
    """
    Order handling rules (ORD-02, ORD-03, ORD-07).

    Attributes:
        payment_reminder: When to remind a buyer who has not paid, after the order was placed.
        duplicate_window: Orders of the same buyer or consignee with the same items within
            this time are possible duplicates.
        auto_confirm: Confirm (and allocate) orders that pass the audit at once, as the system;
            held orders wait for a person either way.
        change_request_words: A buyer note containing any of these (case-insensitive) asks
            for a change and is held for a person.
    """

    payment_reminder: Deadline = attrs.field(factory=lambda: Deadline(duration=timedelta(minutes=30)))
    duplicate_window: timedelta = timedelta(hours=24)
    auto_confirm: bool = True
    change_request_words: tuple[str, ...] = attrs.field(default=_DEFAULT_CHANGE_WORDS, converter=_words)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.payment_reminder, Deadline):
            raise InvalidInputError("orders.payment_reminder", "expected a Deadline")
        _positive_duration("orders.duplicate_window", self.duplicate_window)
        if not isinstance(self.auto_confirm, bool):
            raise InvalidInputError("orders.auto_confirm", "must be True or False")

    def asks_for_change(self, note: str | None) -> str | None:
        """Return the first change-request word found in ``note`` (case-insensitive), or ``None``."""
        if not note:
            return None
        text = note.casefold()
        for word in self.change_request_words:
            if word in text:
                return word
        return None


@attrs.frozen(kw_only=True)
class AbnormalAmountRule:
    """
    When an order's amount is abnormal and held for a person (ORD-02).

    An amount is abnormal when it reaches ``threshold`` or is more than
    ``average_multiple`` times the buyer's (or the shop's) average order.

    Attributes:
        threshold: An absolute amount.
        average_multiple: A multiple of the average order (greater than 0).

    Example:
        >>> from eshop_core.money import Money
        >>> rule = AbnormalAmountRule(threshold=Money.of("5000", "CNY"), average_multiple=5)
        >>> rule.is_abnormal(Money.of("600", "CNY"), average=Money.of("100", "CNY"))
        True
        >>> rule.is_abnormal(Money.of("600", "CNY"), average=None)
        False
    """

    threshold: Money
    average_multiple: Decimal = attrs.field(converter=_multiple)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.threshold, Money) or self.threshold.amount <= 0:
            raise InvalidInputError("abnormal_amount.threshold", "must be a positive Money")

    def is_abnormal(self, amount: Money, *, average: Money | None) -> bool:
        """Whether ``amount`` is abnormal, given the ``average`` order (``None``: no history)."""
        if amount.currency == self.threshold.currency and amount >= self.threshold:
            return True
        if average is None or not average or average.currency != amount.currency:
            return False
        return amount > average * self.average_multiple


def _refund_limits(value: object) -> tuple[RefundLimit, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidInputError("refund_limits", "expected a collection of RefundLimit")
    limits = tuple(value)
    seen: set[Role] = set()
    for item in limits:
        if not isinstance(item, RefundLimit):
            raise InvalidInputError("refund_limits", f"expected RefundLimit, got {type(item).__name__}")
        if item.role in seen:
            raise InvalidInputError(f"refund_limits.{item.role.value}", "given twice")
        seen.add(item.role)
    return tuple(sorted(limits, key=lambda x: x.role.value))


@attrs.frozen(kw_only=True)
class PolicyRules:
    """
    One policy document: every number the shop's rules read (GOV-02).

    Build it from a TOML document with :mod:`eshop_core.schemas.policies`, which
    also ships the handbooks' defaults.

    Attributes:
        deadlines: Time limits.
        returns: After-sales rules.
        listing: Listing rules.
        pricing: Price-change approval rules.
        refund_limits: Refund authority per role (roles not listed have none).
        stock: Stock rules.
        abnormal_amount: The abnormal-amount rule for order audit.
        orders: Order handling rules.
    """

    deadlines: Deadlines
    returns: ReturnRules
    listing: ListingRules
    pricing: PricingRules
    refund_limits: tuple[RefundLimit, ...] = attrs.field(converter=_refund_limits)
    stock: StockRules
    abnormal_amount: AbnormalAmountRule
    orders: OrderRules = attrs.field(factory=OrderRules)

    def __attrs_post_init__(self) -> None:
        expected = {
            "orders": OrderRules,
            "deadlines": Deadlines,
            "returns": ReturnRules,
            "listing": ListingRules,
            "pricing": PricingRules,
            "stock": StockRules,
            "abnormal_amount": AbnormalAmountRule,
        }
        for name, kind in expected.items():
            if not isinstance(getattr(self, name), kind):
                raise InvalidInputError(name, f"expected {kind.__name__}")

    def refund_limit(self, roles: Iterable[Role]) -> Money | None:
        """
        Return the largest refund the holder of ``roles`` may approve alone, or ``None`` for none.

        When roles carry limits in several currencies, the first role's (by name) wins.
        """
        held = set(roles)
        found = [x.limit for x in self.refund_limits if x.role in held]
        if not found:
            return None
        currency = found[0].currency
        return max(m for m in found if m.currency == currency)


def _optional_actor_id(value: Actor | str) -> str:
    if isinstance(value, Actor):
        return value.id
    return _text("actor", value, limit=128)


@attrs.frozen(kw_only=True)
class PolicyVersion:
    """
    One adopted version of the shop's policy; never changes once adopted.

    Attributes:
        number: 1, 2, 3...
        rules: The rules of this version.
        effective_from: When it takes effect (aware, UTC).
        proposed_by: Id of the actor who proposed it.
        approved_by: Id of the actor who approved it.
        reason: Why it was adopted.
        approved_at: When it was approved (UTC).
    """

    number: int
    rules: PolicyRules
    effective_from: datetime
    proposed_by: str
    approved_by: str
    reason: str
    approved_at: datetime


@attrs.frozen(kw_only=True)
class PolicyVersionAdopted(DomainEvent):
    """A new policy version was adopted (its number is also the event's ``policy_version``)."""

    number: int
    effective_from: datetime
    proposed_by: str
    approved_by: str
    reason: str
    rules: PolicyRules


@attrs.define(kw_only=True, eq=False)
class PolicySet(Aggregate):
    """
    The shop's policy history: versions 1, 2, 3... with their effective times.

    Attributes:
        name: The set's name (``"shop"``; filterable).
        versions: The adopted versions, oldest first.
    """

    id: uuid.UUID = attrs.field(factory=lambda: SHOP_POLICY_SET_ID)
    name: str = attrs.field(default="shop", metadata={"filterable": True})
    versions: list[PolicyVersion] = attrs.field(factory=list)

    @property
    def latest(self) -> PolicyVersion | None:
        """The newest version, or ``None`` before the first one."""
        return self.versions[-1] if self.versions else None

    def policy_version(self, number: int) -> PolicyVersion:
        """
        Return version ``number`` (the aggregate's own ``version`` counts its changes).

        Raises:
            NotFoundError: No such version.
        """
        if isinstance(number, bool) or not isinstance(number, int):
            raise InvalidInputError("number", f"expected an int, got {type(number).__name__}")
        if 1 <= number <= len(self.versions):
            return self.versions[number - 1]
        raise NotFoundError("PolicyVersion", number)

    def in_force(self, at: datetime) -> PolicyVersion:
        """
        Return the version in force at ``at``: the newest one whose ``effective_from <= at``.

        Raises:
            NotFoundError: No version had taken effect at ``at``.
        """
        at = ensure_aware(at, field="at")
        for candidate in reversed(self.versions):
            if candidate.effective_from <= at:
                return candidate
        raise NotFoundError("PolicyVersion", f"in force at {at.isoformat()}")

    def check_effective_from(self, effective_from: datetime) -> datetime:
        """
        Return ``effective_from`` in UTC if a new version may take effect then.

        Raises:
            InvalidInputError: ``effective_from`` is naive or earlier than the newest version's.
        """
        effective_from = ensure_aware(effective_from, field="effective_from")
        latest = self.latest
        if latest is not None and effective_from < latest.effective_from:
            raise InvalidInputError(
                "effective_from",
                f"{effective_from.isoformat()} is before version {latest.number}'s "
                f"effective time {latest.effective_from.isoformat()}",
            )
        return effective_from

    def adopt(
        self,
        rules: PolicyRules,
        *,
        effective_from: datetime,
        proposed_by: Actor | str,
        approved_by: Actor,
        reason: str,
        at: datetime,
    ) -> PolicyVersion:
        """
        Adopt ``rules`` as the next version and record :class:`PolicyVersionAdopted`.

        Args:
            rules: The new rules.
            effective_from: When they take effect; not before the newest version's.
            proposed_by: Who proposed them (an actor or its id).
            approved_by: Who approved them.
            reason: Why.
            at: When they were approved.

        Raises:
            InvalidInputError: Bad rules, times or reason; nothing changed.
        """
        if not isinstance(rules, PolicyRules):
            raise InvalidInputError("rules", f"expected PolicyRules, got {type(rules).__name__}")
        if not isinstance(approved_by, Actor):
            raise InvalidInputError("approved_by", f"expected an Actor, got {type(approved_by).__name__}")
        effective_from = self.check_effective_from(effective_from)
        approved_at = ensure_aware(at, field="at")
        version = PolicyVersion(
            number=len(self.versions) + 1,
            rules=rules,
            effective_from=effective_from,
            proposed_by=_optional_actor_id(proposed_by),
            approved_by=approved_by.id,
            reason=_text("reason", reason),
            approved_at=approved_at,
        )
        self.versions.append(version)
        self._record(
            PolicyVersionAdopted(
                occurred_at=approved_at,
                actor=approved_by,
                policy_version=version.number,
                number=version.number,
                effective_from=version.effective_from,
                proposed_by=version.proposed_by,
                approved_by=version.approved_by,
                reason=version.reason,
                rules=rules,
            )
        )
        return version
