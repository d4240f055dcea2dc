"""
What is kept of a subscriber's or timer handler's exception.

The text of a foreign exception may quote personal data (``"cannot send to
li@example.com"``), and the outbox's ``last_error`` and the library's logs must
carry none. So only the exception's type is kept — plus, for the library's own
errors, whose messages name ids and fields but never personal values, the
message, shortened.

Example:
    >>> from eshop_core.errors import NotFoundError
    >>> describe_failure(ValueError("bad address for li@example.com"))
    'ValueError (message withheld: it may hold personal data)'
    >>> describe_failure(NotFoundError("Order", "42"))
    'NotFoundError: Order 42 not found'
"""

from __future__ import annotations

from typing import Final

from eshop_core.errors import EshopError

__all__ = ["MAX_FAILURE_TEXT", "describe_failure"]

MAX_FAILURE_TEXT: Final = 300
"""Longest failure text kept."""


def describe_failure(exc: BaseException) -> str:
    """Return a failure text safe to store and log."""
    name = type(exc).__qualname__
    if isinstance(exc, EshopError):
        return f"{name}: {exc}"[:MAX_FAILURE_TEXT]
    return f"{name} (message withheld: it may hold personal data)"
