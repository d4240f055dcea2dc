"""
Registers the SQL storage backend and its named ports (entry point ``sql_storage``).

The backend serves the URL schemes in :data:`SQL_SCHEMES` and SQLAlchemy
``Engine`` objects. SQLAlchemy is imported only when a shop is opened on it,
so a ``memory://`` shop does not pay for it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from eshop_core.hookspecs import hookimpl
from eshop_core.storage.ports import AuditLog, BackendOptions, BackendSpec, OutboxStore, TimerStore
from eshop_core.testing.example import WidgetStock

if TYPE_CHECKING:
    from eshop_adapters.storage.sql import SqlBackend

__all__ = ["BACKEND_NAME", "SQL_SCHEMES", "eshop_register_storage_backends", "eshop_register_storage_ports"]

BACKEND_NAME: Final = "sql"
"""The backend's name; named ports are registered against it."""

SQL_SCHEMES: Final[tuple[str, ...]] = ("sqlite", "postgresql")
"""URL schemes served by the SQL backend."""


def _accepts(target: object) -> bool:
    # Without SQLAlchemy imported, ``target`` cannot be an Engine: no need to import it.
    if "sqlalchemy" not in sys.modules:
        return False
    from sqlalchemy.engine import Engine

    return isinstance(target, Engine)


def _open(target: object, options: BackendOptions) -> SqlBackend:
    from eshop_adapters.storage.sql import open_backend

    return open_backend(target, options)


@hookimpl
def eshop_register_storage_backends(register: Callable[[BackendSpec], None]) -> None:
    """Register the SQL backend for :data:`SQL_SCHEMES` and SQLAlchemy engines."""
    register(BackendSpec(name=BACKEND_NAME, schemes=SQL_SCHEMES, open=_open, accepts=_accepts))


@hookimpl
def eshop_register_storage_ports(
    backend: str, register: Callable[[type[Any], Callable[[Any], Any]], None]
) -> None:
    """Register the SQL implementations of the built-in ports and of the test kit's ``WidgetStock``."""
    if backend != BACKEND_NAME:
        return
    from eshop_adapters.storage.ports.audit import SqlAuditLog
    from eshop_adapters.storage.ports.catalog import SqlSkuRegistry
    from eshop_adapters.storage.ports.inventory import SqlStockLedger
    from eshop_adapters.storage.ports.orders import SqlOrderBook
    from eshop_adapters.storage.ports.outbox import SqlOutboxStore
    from eshop_adapters.storage.ports.personal import SqlPersonalDataStore
    from eshop_adapters.storage.ports.testkit import SqlWidgetStock
    from eshop_adapters.storage.ports.timers import SqlTimerStore
    from eshop_core.storage.catalog_ports import SkuRegistry
    from eshop_core.storage.inventory_ports import StockLedger
    from eshop_core.storage.order_ports import OrderBook
    from eshop_core.storage.personal_ports import PersonalDataStore

    register(OutboxStore, SqlOutboxStore)
    register(TimerStore, SqlTimerStore)
    register(AuditLog, SqlAuditLog)
    register(WidgetStock, SqlWidgetStock)
    register(PersonalDataStore, SqlPersonalDataStore)
    register(SkuRegistry, SqlSkuRegistry)
    register(StockLedger, SqlStockLedger)
    register(OrderBook, SqlOrderBook)
