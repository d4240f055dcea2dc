"""
Every hook of eshop, grouped by lifecycle.

Plug-ins implement hooks with :data:`hookimpl` (re-exported as
``eshop_core.hookimpl``) and are found through the ``eshop`` entry-point group
or passed to :meth:`Shop.open <eshop_core.Shop.open>` as ``plugins=[...]``.
Each docstring states, in this order: what the hook is for, its arguments and
result, its call semantics, and the version that added it. The user guide is
``docs/reference/hooks.md``.

Implementations may accept a subset of a hook's arguments, so hooks gain
arguments without breaking plug-ins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import typer

    from eshop_core.calendar import CalendarSupplement
    from eshop_core.domain.inventory import StockLevel
    from eshop_core.domain.order_audit import AuditRule
    from eshop_core.domain.orders import Order
    from eshop_core.events import EventEnvelope
    from eshop_core.services.notifications import Notifier
    from eshop_core.storage.ports import BackendSpec
    from eshop_core.timers import TimerHandler

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "eshop"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marker for hook implementations: ``@hookimpl def eshop_event(envelope): ...``."""


# --------------------------------------------------------------------------
# Storage
# --------------------------------------------------------------------------


@hookspec
def eshop_register_storage_backends(register: Callable[[BackendSpec], None]) -> None:
    """
    Register storage backends.

    Args:
        register: Call it with one :class:`~eshop_core.storage.ports.BackendSpec`
            per backend; its ``schemes`` are the URL schemes it serves.

    Every implementation is called once per :meth:`Shop.open
    <eshop_core.Shop.open>`; a scheme registered twice raises
    :class:`~eshop_core.errors.PluginError`.

    .. versionadded:: 0.1
    """


@hookspec
def eshop_register_storage_ports(
    backend: str, register: Callable[[type[Any], Callable[[Any], Any]], None]
) -> None:
    """
    Register named-port implementations for a backend.

    Args:
        backend: The backend's name (``"memory"``, ``"sql"``, or a plug-in's).
        register: Call ``register(PortProtocol, factory)``; ``factory(uow)``
            receives the backend's concrete unit of work and returns the
            implementation used inside that unit of work.

    Every implementation is called once per :meth:`Shop.open
    <eshop_core.Shop.open>`; implementations ignore backends they do not
    serve. A later registration for the same port replaces an earlier one.

    .. versionadded:: 0.1
    """


# --------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------


@hookspec
def eshop_calendar_overrides(country: str) -> CalendarSupplement | None:
    """
    Supply business-calendar day overrides (official schedules, shop closures).

    Args:
        country: The calendar's ISO 3166 country code (``"CN"``).

    Returns:
        A :class:`~eshop_core.calendar.CalendarSupplement` (day overrides plus
        the years whose official schedule they complete), or ``None``.

    All results are collected and applied, in registration order, to the
    shop's default calendar (not to a calendar passed to ``Shop.open``).

    .. versionadded:: 0.1
    """


@hookspec
def eshop_register_timer_handlers(register: Callable[[str, TimerHandler], None]) -> None:
    """
    Register handlers for kinds of timers run by ``shop.run_due(now)``.

    Args:
        register: Call ``register(kind, handler)``; ``handler(context)`` gets a
            :class:`~eshop_core.timers.TimerContext` with the unit of work the
            timer is marked fired in.

    Every implementation is called once per :meth:`Shop.open
    <eshop_core.Shop.open>`; a kind registered twice raises
    :class:`~eshop_core.errors.PluginError`.

    .. versionadded:: 0.1
    """


# --------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------


@hookspec
def eshop_register_audit_rules(register: Callable[[AuditRule], None]) -> None:
    """
    Register order audit rules (ORD-02).

    Args:
        register: Call ``register(rule)`` with an
            :class:`~eshop_core.domain.order_audit.AuditRule`: a ``name`` and
            ``check(order, context)`` returning findings.

    Every implementation is called once per :meth:`Shop.open
    <eshop_core.Shop.open>`; the shop's orders service runs every rule, in
    registration order, on each paid order, and any finding holds the order
    for a person. A name registered twice raises
    :class:`~eshop_core.errors.PluginError`. The built-in rules come from the
    ``eshop_core.services.order_plugin`` default plug-in.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def eshop_choose_warehouse(
    order: Order, missing: Mapping[str, int], candidates: Mapping[str, Sequence[StockLevel]]
) -> Mapping[str, Sequence[tuple[str, int]]] | None:
    """
    Choose the warehouses that reserve stock for an order (ORD-04).

    Args:
        order: The order being allocated (read it; do not change it).
        missing: Units to reserve per SKU.
        candidates: Each SKU's stock levels, in warehouse priority order.

    Returns:
        ``{sku: [(warehouse, units), ...]}``, or ``None`` to let the next
        plug-in (finally the default: one warehouse with everything, else by
        priority) decide. Units short of ``missing`` leave the order short.

    The first non-None result wins. The stock is then reserved atomically;
    what another order took meanwhile is simply not reserved.

    .. versionadded:: 0.1
    """


@hookspec
def eshop_register_notifiers(register: Callable[[Notifier], None]) -> None:
    """
    Register notifiers that deliver customer notices (ORD-05, ORD-04, ORD-07).

    Args:
        register: Call ``register(notifier)``; ``notifier(notice)`` gets a
            :class:`~eshop_core.services.notifications.CustomerNotice` (with the
            consignee's name and phone) and delivers it; raise to have it retried.

    Every implementation is called once per :meth:`Shop.open
    <eshop_core.Shop.open>`. With at least one notifier, the shop adds the
    outbox subscriber ``eshop.notifications``, which turns shipment, payment
    reminder and shortage events into notices after they commit; delivery is
    at least once (use ``notice.key`` to send each once).

    .. versionadded:: 0.1
    """


# --------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------


@hookspec
def eshop_event(envelope: EventEnvelope) -> None:
    """
    Receive a committed event (an outbox subscriber).

    Args:
        envelope: The event; its payload carries no personal data.

    Each implementation is a separate subscriber (named after its plug-in)
    called by ``shop.outbox.deliver()``, outside the transaction that wrote
    the event. Delivery is at-least-once and in order per aggregate; an
    implementation that raises is retried with backoff and finally
    dead-lettered, which holds back that aggregate's later events for that
    subscriber only. Implementations must be idempotent (use ``envelope.id``).

    .. versionadded:: 0.1
    """


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


@hookspec
def eshop_register_commands(app: typer.Typer) -> None:
    """
    Add subcommands to the ``eshop`` command line.

    Args:
        app: The root Typer application; add commands or sub-applications.

    Every implementation is called once when the command line starts.

    .. versionadded:: 0.1
    """
