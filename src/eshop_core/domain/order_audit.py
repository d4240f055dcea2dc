"""
Order audit rules (ORD-02): what makes an order need a person before it is confirmed.

An :class:`AuditRule` looks at one :class:`~eshop_core.domain.orders.Order`
with an :class:`AuditContext` (the policy in force, the buyer's or the shop's
average order, earlier orders that look the same) and returns
:class:`~eshop_core.domain.orders.AuditFinding` values. Any finding holds the
order. The built-in rules, :data:`BUILTIN_AUDIT_RULES`:

- ``duplicate``: the same buyer or consignee ordered the same items within the
  policy's ``orders.duplicate_window``;
- ``abnormal_amount``: the total reaches the policy's threshold, or is more than
  its multiple of the buyer's average order (the shop's, for a new buyer);
- ``address``: province, city or street missing, too short, or a placeholder;
- ``phone``: not a valid phone number (``phonenumbers``, region CN);
- ``buyer_note``: the note contains one of the policy's change-request words.

Plug-ins add rules through the ``eshop_register_audit_rules`` hook. Findings
never carry personal data: they name what was wrong, not the value.

Example:
    >>> from eshop_core.domain.order_audit import PhoneRule
    >>> PhoneRule().problem("13800138000"), PhoneRule().problem("12345")
    (None, 'the consignee phone is not a valid number')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final, Protocol, runtime_checkable

import attrs
import phonenumbers

from eshop_core.domain.orders import AuditFinding, Order
from eshop_core.domain.policies import PolicyRules
from eshop_core.money import Money

__all__ = [
    "BUILTIN_AUDIT_RULES",
    "AbnormalAmountCheck",
    "AddressRule",
    "AuditContext",
    "AuditRule",
    "BuyerNoteRule",
    "DuplicateRule",
    "PhoneRule",
]

_CN_MOBILE: Final = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
_PLACEHOLDERS: Final = ("不详", "未知", "待定", "unknown", "n/a", "tbd", "?", "？")
_MIN_ADDRESS: Final = 5


@attrs.frozen(kw_only=True)
class AuditContext:
    """
    What the audit knows besides the order.

    Attributes:
        rules: The policy rules in force.
        policy_version: Their version.
        average: The buyer's average order total, or the shop's when the buyer has no history
            (``None`` without any).
        duplicates: ``(channel, external_id)`` of earlier orders of the same buyer or consignee
            with the same items within the duplicate window.
    """

    rules: PolicyRules
    policy_version: int | None
    average: Money | None = None
    duplicates: Sequence[tuple[str, str]] = ()


@runtime_checkable
class AuditRule(Protocol):
    """One audit rule: a name and a check returning findings (none: the order passes it)."""

    @property
    def name(self) -> str:
        """The rule's name, as findings name it."""
        ...

    def check(self, order: Order, context: AuditContext) -> Iterable[AuditFinding]:
        """Return what is wrong with ``order`` (empty when nothing)."""
        ...


@attrs.frozen
class DuplicateRule:
    """Earlier orders of the same buyer or consignee with the same items, within the window."""

    name: str = "duplicate"

    def check(self, order: Order, context: AuditContext) -> Iterable[AuditFinding]:
        """Find possible duplicates."""
        if not context.duplicates:
            return ()
        others = ", ".join(f"{channel}/{external}" for channel, external in context.duplicates[:5])
        return (AuditFinding(rule=self.name, detail=f"same buyer or consignee and items as {others}"),)


@attrs.frozen
class AbnormalAmountCheck:
    """The policy's abnormal-amount rule: an absolute threshold or a multiple of the average order."""

    name: str = "abnormal_amount"

    def check(self, order: Order, context: AuditContext) -> Iterable[AuditFinding]:
        """Compare the total with the threshold and the average."""
        rule = context.rules.abnormal_amount
        if not rule.is_abnormal(order.total, average=context.average):
            return ()
        if order.total.currency == rule.threshold.currency and order.total >= rule.threshold:
            detail = f"total {order.total} reaches the threshold {rule.threshold}"
        else:
            detail = (
                f"total {order.total} exceeds {rule.average_multiple} x the average order {context.average}"
            )
        return (AuditFinding(rule=self.name, detail=detail),)


@attrs.frozen
class AddressRule:
    """An incomplete or unclear consignee address."""

    name: str = "address"

    def problem(self, order: Order) -> str | None:
        """Return what is wrong with the address, or ``None``."""
        missing = [part for part in ("province", "city", "address") if not getattr(order, part).strip()]
        if missing:
            return f"the address lacks its {', '.join(missing)}"
        street = order.address.strip()
        if len(street) < _MIN_ADDRESS:
            return "the street address is too short to deliver to"
        lowered = street.casefold()
        if any(word in lowered for word in _PLACEHOLDERS):
            return "the street address is unclear (a placeholder)"
        return None

    def check(self, order: Order, context: AuditContext) -> Iterable[AuditFinding]:
        """Check the address."""
        problem = self.problem(order)
        return () if problem is None else (AuditFinding(rule=self.name, detail=problem),)


@attrs.frozen
class PhoneRule:
    """A consignee phone that is not a valid number."""

    name: str = "phone"
    region: str = "CN"

    def problem(self, phone: str) -> str | None:
        """Return what is wrong with ``phone``, or ``None``."""
        compact = re.sub(r"[\s()-]+", "", phone)
        if _CN_MOBILE.match(compact):
            return None
        try:
            number = phonenumbers.parse(phone, self.region)
        except phonenumbers.NumberParseException:
            return "the consignee phone is not a phone number"
        if not phonenumbers.is_valid_number(number):
            return "the consignee phone is not a valid number"
        return None

    def check(self, order: Order, context: AuditContext) -> Iterable[AuditFinding]:
        """Check the consignee's phone."""
        problem = self.problem(order.consignee_phone)
        return () if problem is None else (AuditFinding(rule=self.name, detail=problem),)


@attrs.frozen
class BuyerNoteRule:
    """A buyer note asking for a change (the policy's change-request words)."""

    name: str = "buyer_note"

    def check(self, order: Order, context: AuditContext) -> Iterable[AuditFinding]:
        """Look for change-request words."""
        word = context.rules.orders.asks_for_change(order.buyer_note)
        if word is None:
            return ()
        return (AuditFinding(rule=self.name, detail=f"the buyer note asks for a change ({word!r})"),)


BUILTIN_AUDIT_RULES: Final[tuple[AuditRule, ...]] = (
    DuplicateRule(),
    AbnormalAmountCheck(),
    AddressRule(),
    PhoneRule(),
    BuyerNoteRule(),
)
"""The built-in rules, registered by the orders plug-in."""
