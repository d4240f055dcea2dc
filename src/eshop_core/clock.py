"""
Injectable clocks.

Services never call :func:`datetime.now`; they ask the shop's :class:`Clock`.
Tests use :class:`FixedClock` and move time by hand.

Example:
    >>> from datetime import datetime, timedelta, timezone
    >>> from eshop_core.clock import FixedClock
    >>> clock = FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))
    >>> clock.advance(timedelta(minutes=30))
    datetime.datetime(2026, 1, 5, 9, 30, tzinfo=datetime.timezone.utc)
    >>> clock.now()
    datetime.datetime(2026, 1, 5, 9, 30, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from eshop_core.errors import InvalidInputError

__all__ = ["Clock", "FixedClock", "SystemClock", "ensure_aware"]


def ensure_aware(value: datetime, *, field: str) -> datetime:
    """
    Return ``value`` in UTC, refusing naive datetimes with :class:`InvalidInputError`.

    Example:
        >>> from datetime import datetime
        >>> ensure_aware(datetime(2026, 1, 1), field="placed_at")
        Traceback (most recent call last):
        ...
        eshop_core.errors.InvalidInputError: invalid placed_at: naive datetime; give a timezone
    """
    if not isinstance(value, datetime):
        raise InvalidInputError(field, f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise InvalidInputError(field, "naive datetime; give a timezone")
    return value.astimezone(UTC)


@runtime_checkable
class Clock(Protocol):
    """Where the current time comes from. ``now()`` is always timezone-aware (UTC)."""

    def now(self) -> datetime:
        """Return the current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        """Return the current instant in UTC."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """
    A clock that stands still until moved; safe to share between threads.

    Args:
        start: The initial instant (timezone-aware). Defaults to 2026-01-05 09:00 UTC.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (
            ensure_aware(start, field="start")
            if start is not None
            else datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
        )
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the clock's current instant."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` (never backwards) and return the new instant."""
        if delta < timedelta(0):
            raise InvalidInputError("delta", "a clock cannot move backwards")
        with self._lock:
            self._now = self._now + delta
            return self._now

    def set(self, instant: datetime) -> datetime:
        """Jump to ``instant`` (must not be earlier than now) and return it."""
        instant = ensure_aware(instant, field="instant")
        with self._lock:
            if instant < self._now:
                raise InvalidInputError("instant", "a clock cannot move backwards")
            self._now = instant
            return self._now

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()})"
