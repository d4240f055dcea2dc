"""
Field encryption of personal data at rest: AES-256-GCM, bound to its place.

Every personal column holds one compact ASCII value::

    v1.<key_id>.<base64url(nonce || ciphertext || tag)>

* ``v1`` is the format version;
* ``key_id`` names the keyring's data key that encrypted it, so values written
  before a rotation stay readable while old keys remain in the keyring;
* the nonce is 12 random bytes, fresh for every value;
* the associated data is ``"<table>:<row>:<field>"``: a ciphertext copied into
  another row, another field or another table fails to decrypt.

Failures — a key id missing from the keyring, a wrong key, a tampered or
malformed value — raise :class:`~eshop_core.errors.KeyringError` naming the
table, the row and the field, never the value. ``None`` stays ``None``.
``AESGCM`` objects are cached per key, so encrypting a field costs one
AES-GCM operation and no key set-up.

Example:
    >>> import uuid
    >>> from eshop_core.keyring import Keyring
    >>> from eshop_adapters.storage.crypto import decrypt_field, encrypt_field
    >>> ring = Keyring.generate()
    >>> row = uuid.UUID(int=7)
    >>> stored = encrypt_field("li@example.com", "customers", row, "email", keyring=ring)
    >>> stored.startswith(f"v1.{ring.active_key_id}.")
    True
    >>> decrypt_field(stored, "customers", row, "email", keyring=ring)
    'li@example.com'
    >>> decrypt_field(stored, "customers", "8", "email", keyring=ring)
    Traceback (most recent call last):
    ...
    eshop_core.errors.KeyringError: cannot decrypt customers.email of row 8: authentication failed ...
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
import uuid
from typing import TYPE_CHECKING, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from eshop_core.errors import KeyringError

if TYPE_CHECKING:
    from eshop_core.keyring import Keyring

__all__ = [
    "FORMAT_VERSION",
    "NONCE_BYTES",
    "associated_data",
    "decrypt_field",
    "encrypt_field",
    "key_id_of",
    "stored_prefix",
]

FORMAT_VERSION: Final = "v1"
"""The version tag every stored value starts with."""

NONCE_BYTES: Final = 12
"""Length of the random AES-GCM nonce."""

_TAG_BYTES: Final = 16
_KEY_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_BASE64URL: Final = re.compile(r"^[A-Za-z0-9_-]*$")


@functools.lru_cache(maxsize=64)
def _cipher(key: bytes) -> AESGCM:
    """Return the (cached) AES-GCM object of ``key``: no per-row key set-up."""
    return AESGCM(key)


def _row_text(row: uuid.UUID | str) -> str:
    return str(row)


def associated_data(table: str, row: uuid.UUID | str, field: str) -> bytes:
    """
    Return the associated data that binds a value to its place: ``b"<table>:<row>:<field>"``.

    Example:
        >>> associated_data("customers", "42", "email")
        b'customers:42:email'
    """
    return f"{table}:{_row_text(row)}:{field}".encode()


@functools.lru_cache(maxsize=64)
def stored_prefix(key_id: str) -> str:
    """
    Return the prefix of every value encrypted under ``key_id`` (``"v1.<key_id>."``).

    Raises:
        KeyringError: ``key_id`` cannot appear in a stored value (letters, digits, ``_`` and ``-`` only).

    Example:
        >>> stored_prefix("k1a2b3c4d")
        'v1.k1a2b3c4d.'
    """
    if not _KEY_ID.match(key_id):
        raise KeyringError(
            f"key id {key_id!r} cannot be used for encryption: use 1 to 64 letters, digits, '_' or '-'"
        )
    return f"{FORMAT_VERSION}.{key_id}."


def _place(table: str, row: uuid.UUID | str, field: str) -> str:
    return f"{table}.{field} of row {_row_text(row)}"


def encrypt_field(value: str, table: str, row: uuid.UUID | str, field: str, *, keyring: Keyring) -> str:
    """
    Encrypt ``value`` under the keyring's active key, bound to ``table``, ``row`` and ``field``.

    Args:
        value: The plaintext.
        table: The table of the column.
        row: The row's identity (the aggregate's id for root tables).
        field: The column's (field's) name.
        keyring: The shop's keyring.

    Returns:
        ``"v1.<key_id>.<base64url(nonce || ciphertext)>"``.

    Raises:
        KeyringError: The active key id cannot be written into a value.
    """
    key_id = keyring.active_key_id
    prefix = stored_prefix(key_id)
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(keyring.active_key).encrypt(
        nonce, value.encode("utf-8"), associated_data(table, row, field)
    )
    return prefix + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")


def key_id_of(stored: str) -> str | None:
    """
    Return the key id a stored value names, or ``None`` when it is not in the ``v1`` format.

    Example:
        >>> key_id_of("v1.k0011.AAAA"), key_id_of("plain text")
        ('k0011', None)
    """
    version, sep, rest = stored.partition(".")
    if version != FORMAT_VERSION or not sep:
        return None
    key_id, sep, _ = rest.partition(".")
    return key_id if sep and _KEY_ID.match(key_id) else None


def _unbase64(body: str) -> bytes | None:
    """Decode canonical unpadded base64url, or return ``None`` (no characters skipped, no slack bits)."""
    if not _BASE64URL.match(body):
        return None
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") == body else None


def decrypt_field(stored: str, table: str, row: uuid.UUID | str, field: str, *, keyring: Keyring) -> str:
    """
    Decrypt what :func:`encrypt_field` stored for ``table``, ``row`` and ``field``.

    Args:
        stored: The column's content.
        table: The table of the column.
        row: The row's identity, as given when encrypting.
        field: The column's (field's) name.
        keyring: The shop's keyring; the value's key id picks the key.

    Raises:
        KeyringError: The value is malformed, its key is not in the keyring,
            or it does not authenticate (wrong key, tampered, or copied from
            another row or field). The message names the place, never the value.
    """
    key_id = key_id_of(stored)
    if key_id is None:
        raise KeyringError(f"cannot decrypt {_place(table, row, field)}: not an encrypted value")
    key = keyring.data_keys.get(key_id)
    if key is None:
        raise KeyringError(
            f"cannot decrypt {_place(table, row, field)}: key {key_id!r} is not in the keyring "
            "(a wrong keyring, or a key dropped before re-encrypting?)"
        )
    body = stored[len(FORMAT_VERSION) + len(key_id) + 2 :]
    raw = _unbase64(body)
    if raw is None or len(raw) < NONCE_BYTES + _TAG_BYTES:
        raise KeyringError(f"cannot decrypt {_place(table, row, field)}: malformed encrypted value")
    try:
        plain = _cipher(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated_data(table, row, field))
    except InvalidTag:
        raise KeyringError(
            f"cannot decrypt {_place(table, row, field)}: authentication failed "
            "(a wrong key, a tampered value, or one copied from another row or field)"
        ) from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:  # pragma: no cover - authenticated values are always UTF-8
        raise KeyringError(f"cannot decrypt {_place(table, row, field)}: not UTF-8 text") from None
