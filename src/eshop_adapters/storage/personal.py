"""
How personal fields are written to and read from their columns.

Every read and write of a personal (``pii``) column goes through
:func:`encode_personal` / :func:`decode_personal`: values are encrypted with
AES-GCM under the keyring's active data key and bound to their table, row and
field (see :mod:`eshop_adapters.storage.crypto` for the format). Blind-index
columns are not handled here: they hold HMACs computed in core under the
separate index key.

Example:
    >>> import uuid
    >>> from eshop_core.keyring import Keyring
    >>> from eshop_adapters.storage.personal import decode_personal, encode_personal
    >>> ring, row = Keyring.generate(), uuid.UUID(int=1)
    >>> stored = encode_personal("138 0013 8000", "customers", row, "phone", keyring=ring)
    >>> "138" in stored
    False
    >>> decode_personal(stored, "customers", row, "phone", keyring=ring)
    '138 0013 8000'
    >>> encode_personal(None, "customers", row, "phone", keyring=ring) is None
    True
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from eshop_adapters.storage.crypto import decrypt_field, encrypt_field
from eshop_core.errors import StorageError

if TYPE_CHECKING:
    from eshop_core.keyring import Keyring

__all__ = ["child_row_ref", "decode_personal", "encode_personal"]


def child_row_ref(parent_id: uuid.UUID, position: int) -> str:
    """
    Return the row reference a child table's personal values are bound to: ``"<parent id>/<position>"``.

    Example:
        >>> child_row_ref(uuid.UUID(int=1), 2)
        '00000000-0000-0000-0000-000000000001/2'
    """
    return f"{parent_id}/{position}"


def encode_personal(
    value: object, table: str, row_id: uuid.UUID | str, field: str, *, keyring: Keyring
) -> str | None:
    """
    Return what is stored in the column of personal field ``field`` for ``value``.

    Args:
        value: The field's value (text or ``None``).
        table: The table the column belongs to.
        row_id: The id of the row (the aggregate's id).
        field: The field's name.
        keyring: The shop's keyring (its active key encrypts).

    Returns:
        ``None`` for ``None``, else ``"v1.<key_id>.<base64url>"``.

    Raises:
        StorageError: The value is not text.
        KeyringError: The active key id cannot be written into a value.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise StorageError(f"personal field {table}.{field} must hold text, got {type(value).__name__}")
    return encrypt_field(value, table, row_id, field, keyring=keyring)


def decode_personal(
    stored: object, table: str, row_id: uuid.UUID | str, field: str, *, keyring: Keyring
) -> str | None:
    """
    Return the value of personal field ``field`` from what :func:`encode_personal` stored.

    Args:
        stored: The column's content.
        table: The table the column belongs to.
        row_id: The id of the row.
        field: The field's name.
        keyring: The shop's keyring (the value's key id picks the key).

    Raises:
        StorageError: The stored value is not text.
        KeyringError: It cannot be decrypted here (malformed, tampered, moved
            from another row or field, or its key is not in the keyring).
    """
    if stored is None:
        return None
    if not isinstance(stored, str):
        raise StorageError(
            f"personal column {table}.{field} of {row_id} holds {type(stored).__name__}, not text"
        )
    return decrypt_field(stored, table, row_id, field, keyring=keyring)
