"""
Time-ordered identifiers (UUIDv7).

Every aggregate, event and timer gets a UUIDv7: sortable by creation time,
so cursor pagination over ids follows insertion order and index pages stay
hot.

Example:
    >>> from eshop_core.ids import new_id, parse_id
    >>> a, b = new_id(), new_id()
    >>> a.version, a < b
    (7, True)
    >>> parse_id(str(a)) == a
    True
"""

from __future__ import annotations

import sys
import uuid

from eshop_core.errors import InvalidInputError

__all__ = ["new_id", "parse_id"]

if sys.version_info >= (3, 14):  # pragma: no cover - depends on the interpreter
    _uuid7 = uuid.uuid7
else:  # pragma: no cover - depends on the interpreter
    import uuid6

    def _uuid7() -> uuid.UUID:
        return uuid.UUID(int=uuid6.uuid7().int)


def new_id() -> uuid.UUID:
    """Return a new UUIDv7, greater than every id made before it in this process."""
    return _uuid7()


def parse_id(value: object, *, field: str = "id") -> uuid.UUID:
    """
    Parse ``value`` as a UUID or raise :class:`~eshop_core.errors.InvalidInputError` naming ``field``.

    Example:
        >>> parse_id("not-a-uuid", field="order_id")
        Traceback (most recent call last):
        ...
        eshop_core.errors.InvalidInputError: invalid order_id: not a UUID: 'not-a-uuid'
    """
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise InvalidInputError(field, f"not a UUID: {value!r}")
