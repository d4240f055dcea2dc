"""
The one shared :class:`~sqlalchemy.MetaData` every SQL table is declared on.

Tables live next to the code that uses them (port modules, aggregate
mappings); :func:`load_metadata` imports all of them so that migrations and
the schema tests see the complete model. The naming convention gives every
constraint and index a stable name, which alembic needs to alter them later.
"""

from __future__ import annotations

import importlib
from typing import Final

from sqlalchemy import MetaData

__all__ = ["METADATA", "NAMING_CONVENTION", "TABLE_MODULES", "load_metadata"]

NAMING_CONVENTION: Final[dict[str, str]] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint and index names (``pk_<table>``, ``fk_<table>_<column>_<referred>``, ...)."""

METADATA: Final = MetaData(naming_convention=NAMING_CONVENTION)
"""The shared metadata of every table of the SQL backend."""

TABLE_MODULES: Final[tuple[str, ...]] = (
    "eshop_adapters.storage.ports.outbox",
    "eshop_adapters.storage.ports.timers",
    "eshop_adapters.storage.ports.audit",
    "eshop_adapters.storage.mappings",
)
"""Modules that declare tables on :data:`METADATA`; a new aggregate's mapping is imported by ``mappings``."""


def load_metadata() -> MetaData:
    """Import every module that declares tables and return :data:`METADATA`, now complete."""
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return METADATA
