"""
The composition root: :class:`Shop`.

``Shop.open(url)`` builds a plug-in manager, opens the storage backend that
serves the URL's scheme, wires event subscribers and timer handlers, and
exposes the services. Everything an integrator does starts here.

Example:
    >>> from eshop_core import Shop, Actor, Role
    >>> with Shop.open("memory://") as shop:
    ...     shop.backend.name, "eshop_core.testing.example" in shop.plugin_names
    ('memory', True)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Final, Self

import pluggy

from eshop_core.access import Actor
from eshop_core.calendar import BusinessCalendar, CalendarSupplement, DayOverride
from eshop_core.clock import Clock, SystemClock
from eshop_core.errors import BackendNotFoundError, InvalidInputError, PluginError, StorageError
from eshop_core.events import EventEnvelope
from eshop_core.keyring import Keyring
from eshop_core.plugins import get_plugin_manager
from eshop_core.services.approvals import ApprovalsService
from eshop_core.services.audit import AuditService
from eshop_core.services.catalog import CatalogService
from eshop_core.services.inventory import InventoryService
from eshop_core.services.logistics import LogisticsService
from eshop_core.services.notifications import NOTIFICATIONS_SUBSCRIBER, Notifier, notifications_subscriber
from eshop_core.services.orders import OrdersService
from eshop_core.services.outbox import OutboxService, Subscriber
from eshop_core.services.personal_data import PersonalDataService
from eshop_core.services.policies import PoliciesService
from eshop_core.services.purchasing import PurchasingService
from eshop_core.services.scheduler import Scheduler
from eshop_core.services.shipping import ShippingService
from eshop_core.services.stock_counts import StockCountService
from eshop_core.storage.ports import (
    AuditLog,
    BackendOptions,
    BackendSpec,
    OutboxStore,
    StorageBackend,
    TimerStore,
    UnitOfWork,
)
from eshop_core.timers import TimerHandler, TimerRunReport

__all__ = ["REQUIRED_PORTS", "Shop"]

log = logging.getLogger("eshop")
logging.getLogger("eshop").addHandler(logging.NullHandler())

REQUIRED_PORTS: Final[tuple[type[Any], ...]] = (OutboxStore, TimerStore, AuditLog)
"""Named ports every backend must provide."""


def _scheme(url: str) -> str:
    if "://" not in url:
        raise InvalidInputError(
            "url", f"{url!r} is not a storage URL such as 'sqlite:///shop.db' or 'memory://'"
        )
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    if not scheme or not scheme.replace("-", "").replace(".", "").isalnum():
        raise InvalidInputError("url", f"{url!r} has no valid scheme")
    return scheme


def _collect_backends(pm: pluggy.PluginManager) -> list[BackendSpec]:
    specs: list[BackendSpec] = []
    seen: dict[str, str] = {}

    def register(spec: BackendSpec) -> None:
        if not isinstance(spec, BackendSpec):
            raise PluginError(f"eshop_register_storage_backends: expected a BackendSpec, got {spec!r}")
        for scheme in spec.schemes:
            if scheme in seen:
                raise PluginError(
                    f"storage scheme {scheme!r} registered twice ({seen[scheme]} and {spec.name})"
                )
            seen[scheme] = spec.name
        specs.append(spec)

    pm.hook.eshop_register_storage_backends(register=register)
    return specs


def _collect_ports(pm: pluggy.PluginManager, backend: str) -> dict[type[Any], Callable[[Any], Any]]:
    ports: dict[type[Any], Callable[[Any], Any]] = {}

    def register(port: type[Any], factory: Callable[[Any], Any]) -> None:
        if not callable(factory):
            raise PluginError(f"eshop_register_storage_ports: factory for {port!r} is not callable")
        ports[port] = factory

    # get_hookimpls() lists in registration order: later plug-ins override earlier ones.
    for impl in pm.hook.eshop_register_storage_ports.get_hookimpls():
        impl.function(
            **{k: v for k, v in {"backend": backend, "register": register}.items() if k in impl.argnames}
        )
    return ports


def _collect_timer_handlers(pm: pluggy.PluginManager) -> dict[str, TimerHandler]:
    handlers: dict[str, TimerHandler] = {}

    def register(kind: str, handler: TimerHandler) -> None:
        if not isinstance(kind, str) or not kind:
            raise PluginError(f"eshop_register_timer_handlers: kind must be a non-empty string, got {kind!r}")
        if kind in handlers:
            raise PluginError(f"timer kind {kind!r} registered twice")
        handlers[kind] = handler

    pm.hook.eshop_register_timer_handlers(register=register)
    return handlers


def _collect_notifiers(pm: pluggy.PluginManager) -> list[Notifier]:
    notifiers: list[Notifier] = []

    def register(notifier: Notifier) -> None:
        if not callable(notifier):
            raise PluginError(f"eshop_register_notifiers: {notifier!r} is not callable")
        notifiers.append(notifier)

    pm.hook.eshop_register_notifiers(register=register)
    return notifiers


def _collect_audit_rules(pm: pluggy.PluginManager) -> list[Any]:
    rules: list[Any] = []
    for impl in pm.hook.eshop_register_audit_rules.get_hookimpls():  # registration order
        impl.function(register=rules.append)
    return rules


def _collect_subscribers(pm: pluggy.PluginManager) -> dict[str, Subscriber]:
    subscribers: dict[str, Subscriber] = {}
    for impl in pm.hook.eshop_event.get_hookimpls():
        function, argnames = impl.function, impl.argnames

        def call(envelope: EventEnvelope, _f: Any = function, _a: Sequence[str] = argnames) -> object:
            return _f(**dict.fromkeys(_a, envelope))

        subscribers[impl.plugin_name] = call
    return subscribers


def _default_calendar(pm: pluggy.PluginManager) -> BusinessCalendar:
    calendar = BusinessCalendar()
    overrides: dict[object, DayOverride] = {}
    years: set[int] = set()
    # pluggy returns results newest plug-in first; apply oldest first so later plug-ins win per day.
    for result in reversed(pm.hook.eshop_calendar_overrides(country=calendar.country)):
        if not isinstance(result, CalendarSupplement):
            raise PluginError(
                f"eshop_calendar_overrides must return a CalendarSupplement or None, got {result!r}"
            )
        overrides.update({o.day: o for o in result.overrides})
        years |= result.verified_years
    if overrides or years:
        return calendar.with_overrides(overrides.values(), verified_years=years)
    return calendar


class Shop:
    """
    One shop: its storage, plug-ins, clock, calendar and services.

    Open it with :meth:`open`; close it (or use ``with``) when done. A shop is
    safe to share between threads; each unit of work belongs to one thread.

    Attributes:
        backend: The opened storage backend.
        plugins: This shop's plug-in manager.
        clock: Where the shop reads the time.
        calendar: The business calendar for deadlines.
        outbox: Delivers committed events (:class:`~eshop_core.services.outbox.OutboxService`).
        audit: Reads the audit log (:class:`~eshop_core.services.audit.AuditService`).
        personal_data: Erasure of a data subject and maintenance of the personal-data keys
            (:class:`~eshop_core.services.personal_data.PersonalDataService`).
        approvals: Maker-checker approval requests (:class:`~eshop_core.services.approvals.ApprovalsService`).
        policies: The versioned policy (:class:`~eshop_core.services.policies.PoliciesService`).
        catalog: Products, listings and prices (:class:`~eshop_core.services.catalog.CatalogService`).
        inventory: Warehouses, stock, its ledger, low-stock suggestions and reports
            (:class:`~eshop_core.services.inventory.InventoryService`).
        stock_counts: Stocktaking (:class:`~eshop_core.services.stock_counts.StockCountService`).
        purchasing: Suppliers, purchase plans and orders, receiving
            (:class:`~eshop_core.services.purchasing.PurchasingService`).
        orders: Channel orders: ingestion, audit, confirmation, allocation, changes, timeline,
            export (:class:`~eshop_core.services.orders.OrdersService`).
        shipping: Shipments with packing checks and deliveries
            (:class:`~eshop_core.services.shipping.ShippingService`).
        logistics: Carriers, freight bills and logistics exceptions
            (:class:`~eshop_core.services.logistics.LogisticsService`).
    """

    def __init__(
        self,
        *,
        backend: StorageBackend,
        plugins: pluggy.PluginManager,
        clock: Clock,
        calendar: BusinessCalendar,
        subscribers: dict[str, Subscriber],
        timer_handlers: dict[str, TimerHandler],
    ) -> None:
        self.backend = backend
        self.plugins = plugins
        self.clock = clock
        self.calendar = calendar
        self.outbox = OutboxService(self, subscribers)
        self.audit = AuditService(self)
        self.personal_data = PersonalDataService(self)
        self.approvals = ApprovalsService(self)
        self.policies = PoliciesService(self)
        self.catalog = CatalogService(self)
        self.inventory = InventoryService(self)
        self.stock_counts = StockCountService(self)
        self.purchasing = PurchasingService(self)
        self.orders = OrdersService(self)
        self.shipping = ShippingService(self)
        self.logistics = LogisticsService(self)
        self.orders.set_audit_rules(_collect_audit_rules(plugins))
        if plugins.hook.eshop_choose_warehouse.get_hookimpls():
            self.orders.set_warehouse_chooser(plugins.hook.eshop_choose_warehouse)
        self._scheduler = Scheduler(self, timer_handlers)
        self._closed = False

    @classmethod
    def open(
        cls,
        url_or_engine: str | object,
        *,
        plugins: Iterable[object] | None = None,
        clock: Clock | None = None,
        calendar: BusinessCalendar | None = None,
        keyring: Keyring | None = None,
        schema: str | None = None,
        migrate: bool = True,
    ) -> Shop:
        """
        Open the shop stored at ``url_or_engine``.

        Args:
            url_or_engine: ``"memory://"``, ``"sqlite:///shop.db"``,
                ``"postgresql://..."``, or an object a backend accepts (an
                SQLAlchemy ``Engine``).
            plugins: Extra plug-ins (modules, classes or instances) to register.
            clock: Time source; defaults to the system clock.
            calendar: Business calendar; defaults to the Chinese calendar with
                plug-in overrides.
            keyring: Keys for personal data; defaults to ``ESHOP_KEYRING`` or
                the backend's own default.
            schema: Database schema (PostgreSQL).
            migrate: Bring the database schema up to date on open.

        Raises:
            InvalidInputError: A malformed URL or argument.
            BackendNotFoundError: No backend serves the URL's scheme.
            StorageError: The backend cannot be opened or lacks a required port.

        Example:
            >>> Shop.open("nosuch://x")  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            eshop_core.errors.BackendNotFoundError: no storage backend for scheme 'nosuch'; known schemes: ...
        """
        if clock is not None and not isinstance(clock, Clock):
            raise InvalidInputError("clock", "must provide now() -> aware datetime")
        if calendar is not None and not isinstance(calendar, BusinessCalendar):
            raise InvalidInputError("calendar", f"expected a BusinessCalendar, got {type(calendar).__name__}")
        if keyring is not None and not isinstance(keyring, Keyring):
            raise InvalidInputError("keyring", f"expected a Keyring, got {type(keyring).__name__}")
        if schema is not None and (not isinstance(schema, str) or not schema.isidentifier()):
            raise InvalidInputError("schema", f"{schema!r} is not a valid schema name")
        if not isinstance(migrate, bool):
            raise InvalidInputError("migrate", "must be True or False")
        pm = get_plugin_manager(plugins=plugins or ())
        specs = _collect_backends(pm)
        spec = cls._select_backend(url_or_engine, specs)
        ports = _collect_ports(pm, spec.name)
        missing = [p.__name__ for p in REQUIRED_PORTS if p not in ports]
        if missing:
            raise StorageError(f"the {spec.name} backend lacks required ports: {', '.join(missing)}")
        subscribers = _collect_subscribers(pm)
        notifiers = _collect_notifiers(pm)
        late: dict[str, Shop] = {}
        if notifiers:
            subscribers[NOTIFICATIONS_SUBSCRIBER] = notifications_subscriber(lambda: late["shop"], notifiers)
        options = BackendOptions(
            clock=clock or SystemClock(),
            keyring=keyring or Keyring.from_env(),
            schema=schema,
            migrate=migrate,
            ports=ports,
            subscribers=tuple(subscribers),
        )
        # Everything plug-ins contribute is gathered before the backend opens, so a
        # misbehaving plug-in cannot leave an opened database behind.
        shop_calendar = calendar or _default_calendar(pm)
        timer_handlers = _collect_timer_handlers(pm)
        backend = spec.open(url_or_engine, options)
        shop = cls(
            backend=backend,
            plugins=pm,
            clock=options.clock,
            calendar=shop_calendar,
            subscribers=subscribers,
            timer_handlers=timer_handlers,
        )
        late["shop"] = shop
        return shop

    @staticmethod
    def _select_backend(target: object, specs: Sequence[BackendSpec]) -> BackendSpec:
        if isinstance(target, str):
            scheme = _scheme(target)
            for spec in specs:
                if scheme in spec.schemes:
                    return spec
            raise BackendNotFoundError(scheme, [s for spec in specs for s in spec.schemes])
        for spec in specs:
            if spec.accepts is not None and spec.accepts(target):
                return spec
        raise InvalidInputError(
            "url_or_engine", f"expected a storage URL or a supported engine, got {type(target).__name__}"
        )

    @property
    def plugin_names(self) -> tuple[str, ...]:
        """Names of the registered plug-ins, sorted."""
        return tuple(sorted(name for name, _ in self.plugins.list_name_plugin()))

    def unit_of_work(self, actor: Actor) -> UnitOfWork:
        """
        Return a new unit of work acting as ``actor``; use it with ``with`` and call ``commit()``.

        Raises:
            StorageError: The shop is closed.
        """
        if self._closed:
            raise StorageError("the shop is closed")
        if not isinstance(actor, Actor):
            raise InvalidInputError("actor", f"expected an Actor, got {type(actor).__name__}")
        return self.backend.unit_of_work(actor)

    def run_due(self, now: datetime | None = None) -> TimerRunReport:
        """
        Run every timer due at ``now`` (default: the shop's clock) and return what fired.

        Call it regularly (a cron job, a worker loop); handlers are idempotent
        per timer, and a failed one is retried later.
        """
        return self._scheduler.run_due(now)

    @property
    def timer_kinds(self) -> tuple[str, ...]:
        """Timer kinds with a registered handler."""
        return tuple(sorted(self._scheduler.handlers))

    def close(self) -> None:
        """Release the storage backend. Idempotent."""
        if not self._closed:
            self._closed = True
            self.backend.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Shop backend={self.backend.name}>"
