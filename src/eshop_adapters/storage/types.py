"""
Column types of the SQL backend.

* :class:`UTCDateTime` — stores UTC, returns aware UTC datetimes, refuses naive ones;
* :data:`UUID` — SQLAlchemy's :class:`~sqlalchemy.Uuid` (``CHAR(32)`` lowercase
  hex on SQLite, whose text order equals UUID order; native ``uuid`` on PostgreSQL);
* :data:`JSON_DOCUMENT` — JSON text on SQLite, ``JSONB`` on PostgreSQL;
* :data:`SEQUENCE` — an auto-incrementing log position (``INTEGER PRIMARY KEY``
  on SQLite, ``BIGINT`` elsewhere);
* :data:`MINOR_UNITS` / :data:`CURRENCY` — money as whole minor units plus an
  ISO 4217 code (SQLite has no exact decimal).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String, Uuid
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from eshop_core.errors import InvalidInputError

__all__ = ["CURRENCY", "JSON_DOCUMENT", "MINOR_UNITS", "SEQUENCE", "UUID", "UTCDateTime"]


class UTCDateTime(TypeDecorator[datetime]):
    """
    A timestamp stored in UTC and read back as an aware UTC :class:`~datetime.datetime`.

    SQLite keeps the naive UTC wall time as fixed-width text (so text order is
    time order); PostgreSQL uses ``timestamp with time zone``. Naive values are
    refused with :class:`~eshop_core.errors.InvalidInputError`: guessing a
    zone would silently shift times.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to UTC (naive UTC on SQLite)."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise InvalidInputError("datetime", f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise InvalidInputError("datetime", "naive datetime refused by storage; give a timezone")
        utc = value if value.tzinfo is UTC else value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """
        Return the bind processor; on SQLite it writes the fixed-width text in one step.

        The text is exactly what SQLAlchemy's SQLite ``DATETIME`` stores
        (``YYYY-MM-DD HH:MM:SS.ffffff``), produced without its generic
        formatting, which dominates bulk inserts.
        """
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: Any) -> str | None:
            utc = self.process_bind_param(value, dialect)
            return None if utc is None else utc.isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return the stored instant as an aware UTC datetime."""
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - the impl always parses
            raise TypeError(f"unexpected datetime value {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


UUID: Final[TypeEngine[uuid.UUID]] = Uuid(as_uuid=True)
"""UUID column type (``CHAR(32)`` hex on SQLite, native on PostgreSQL)."""

JSON_DOCUMENT: Final[TypeEngine[Any]] = JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)
"""JSON column type (text on SQLite, ``JSONB`` on PostgreSQL)."""

SEQUENCE: Final[TypeEngine[int]] = BigInteger().with_variant(Integer(), "sqlite")
"""Auto-incrementing position; ``INTEGER`` on SQLite so the primary key aliases the rowid."""

MINOR_UNITS: Final[TypeEngine[int]] = BigInteger()
"""Money amount in whole minor units (fen, cents)."""

CURRENCY: Final[TypeEngine[str]] = String(3)
"""ISO 4217 alphabetic currency code."""
