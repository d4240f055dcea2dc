"""
Free-text fields of the domain: trimmed, non-empty, bounded.

Example:
    >>> from eshop_core.domain._text import optional_text, required_text
    >>> required_text("reason", "  damaged in transit "), optional_text("note", "   ")
    ('damaged in transit', None)
"""

from __future__ import annotations

from typing import Final

from eshop_core.errors import InvalidInputError

__all__ = ["MAX_TEXT", "optional_text", "required_text"]

MAX_TEXT: Final = 2000
"""The longest free text a domain field takes."""


def optional_text(field: str, value: object) -> str | None:
    """Return ``value`` trimmed, or ``None`` for ``None`` or blank; see :func:`required_text`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return required_text(field, value)


def required_text(field: str, value: object) -> str:
    """
    Return ``value`` trimmed.

    Raises:
        InvalidInputError: Naming ``field``: not a string, blank, or over :data:`MAX_TEXT` characters.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(field, "must be a non-empty string")
    if len(value) > MAX_TEXT:
        raise InvalidInputError(field, f"must be at most {MAX_TEXT} characters")
    return value.strip()
