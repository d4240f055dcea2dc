"""
How personal fields are written to and read from their columns.

Every read and write of a personal (``pii``) column goes through
:func:`encode_personal` / :func:`decode_personal`, so that encryption at rest
slots in here alone. For now values are stored as plain text; the keyring,
table, row id and field name are already passed so that ciphertext can be
bound to its place (associated data) and keys rotated.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from eshop_core.errors import StorageError

if TYPE_CHECKING:
    from eshop_core.keyring import Keyring

__all__ = ["decode_personal", "encode_personal"]


def encode_personal(
    value: object, table: str, row_id: uuid.UUID, field: str, *, keyring: Keyring
) -> str | None:
    """
    Return what is stored in the column of personal field ``field`` for ``value``.

    Args:
        value: The field's value (text or ``None``).
        table: The table the column belongs to.
        row_id: The id of the row (the aggregate's id).
        field: The field's name.
        keyring: The shop's keyring (for encryption).

    Raises:
        StorageError: The value is not text.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise StorageError(f"personal field {table}.{field} must hold text, got {type(value).__name__}")
    return value


def decode_personal(
    stored: object, table: str, row_id: uuid.UUID, field: str, *, keyring: Keyring
) -> str | None:
    """
    Return the value of personal field ``field`` from what :func:`encode_personal` stored.

    Args:
        stored: The column's content.
        table: The table the column belongs to.
        row_id: The id of the row.
        field: The field's name.
        keyring: The shop's keyring (for decryption).

    Raises:
        StorageError: The stored value is not text.
    """
    if stored is None:
        return None
    if not isinstance(stored, str):
        raise StorageError(
            f"personal column {table}.{field} of {row_id} holds {type(stored).__name__}, not text"
        )
    return stored
