"""
eshop_core: an online shop's operations rulebook as a library.

Everything an integrator needs is importable from here. Start with
:meth:`Shop.open`::

    from eshop_core import Shop, Actor, Role

    shop = Shop.open("sqlite:///shop.db")
    li = Actor("li.ming", roles={Role.OPERATIONS})

Names starting with an underscore, anywhere in the package, are private.
"""

from __future__ import annotations

from typing import Any

from eshop_core.access import ROLE_PERMISSIONS, Actor, Permission, Role, authorize
from eshop_core.calendar import BusinessCalendar, CalendarSupplement, DayOverride
from eshop_core.clock import Clock, FixedClock, SystemClock
from eshop_core.domain.approvals import ApprovalState
from eshop_core.domain.policies import PolicyRules, PolicyVersion
from eshop_core.errors import (
    BackendNotFoundError,
    CalendarCoverageWarning,
    ChannelAPIError,
    ChannelAuthError,
    ChannelError,
    ChannelNotFoundError,
    ChannelThrottledError,
    ChannelUnavailableError,
    ConcurrencyError,
    DomainError,
    DuplicateKeyError,
    EshopError,
    EshopWarning,
    InsufficientStockError,
    InvalidInputError,
    InvalidTransitionError,
    KeyringError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    PolicyViolationError,
    SchemaVersionError,
    StorageError,
)
from eshop_core.events import DomainEvent, EventEnvelope
from eshop_core.hookspecs import hookimpl
from eshop_core.keyring import Keyring
from eshop_core.money import Money
from eshop_core.services.approvals import ApprovalView
from eshop_core.shop import Shop
from eshop_core.storage.ports import Page, Repository, UnitOfWork
from eshop_core.timers import TimerContext

__all__ = [
    "ROLE_PERMISSIONS",
    "Actor",
    "ApprovalState",
    "ApprovalView",
    "BackendNotFoundError",
    "BusinessCalendar",
    "CalendarCoverageWarning",
    "CalendarSupplement",
    "ChannelAPIError",
    "ChannelAuthError",
    "ChannelError",
    "ChannelNotFoundError",
    "ChannelThrottledError",
    "ChannelUnavailableError",
    "Clock",
    "ConcurrencyError",
    "DayOverride",
    "DomainError",
    "DomainEvent",
    "DuplicateKeyError",
    "EshopError",
    "EshopWarning",
    "EventEnvelope",
    "FixedClock",
    "InsufficientStockError",
    "InvalidInputError",
    "InvalidTransitionError",
    "Keyring",
    "KeyringError",
    "Money",
    "NotFoundError",
    "Page",
    "Permission",
    "PermissionDeniedError",
    "PluginError",
    "PolicyRules",
    "PolicyVersion",
    "PolicyViolationError",
    "Repository",
    "Role",
    "SchemaVersionError",
    "Shop",
    "StorageError",
    "SystemClock",
    "TimerContext",
    "UnitOfWork",
    "authorize",
    "hookimpl",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("eshop")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
