"""
The orders capability as a default plug-in: built-in audit rules and order timers.

Registered in :data:`~eshop_core.plugins.DEFAULT_PLUGINS`, like any third
party's plug-in: it contributes the built-in audit rules
(:data:`~eshop_core.domain.order_audit.BUILTIN_AUDIT_RULES`) through
``eshop_register_audit_rules`` and the payment-reminder and
confirmation-deadline and parcel-due timers through
``eshop_register_timer_handlers``.

Example:
    >>> from eshop_core import Shop
    >>> shop = Shop.open("memory://")
    >>> shop.orders.audit_rules
    ('duplicate', 'abnormal_amount', 'address', 'phone', 'buyer_note')
"""

from __future__ import annotations

from collections.abc import Callable

from eshop_core.domain.order_audit import BUILTIN_AUDIT_RULES, AuditRule
from eshop_core.hookspecs import hookimpl
from eshop_core.services.orders import CONFIRMATION_TIMER, PAYMENT_REMINDER_TIMER
from eshop_core.services.shipping import DELIVERY_DUE_TIMER
from eshop_core.timers import TimerContext, TimerHandler

__all__ = ["eshop_register_audit_rules", "eshop_register_timer_handlers"]


@hookimpl
def eshop_register_audit_rules(register: Callable[[AuditRule], None]) -> None:
    """Register the built-in audit rules."""
    for rule in BUILTIN_AUDIT_RULES:
        register(rule)


def _payment_reminder(context: TimerContext) -> None:
    context.shop.orders.on_payment_reminder(context)


def _confirmation_due(context: TimerContext) -> None:
    context.shop.orders.on_confirmation_due(context)


def _delivery_due(context: TimerContext) -> None:
    context.shop.logistics.on_delivery_due(context)


@hookimpl
def eshop_register_timer_handlers(register: Callable[[str, TimerHandler], None]) -> None:
    """Register the order timers: payment reminders, confirmation deadlines and parcels due."""
    register(PAYMENT_REMINDER_TIMER, _payment_reminder)
    register(CONFIRMATION_TIMER, _confirmation_due)
    register(DELIVERY_DUE_TIMER, _delivery_due)
