"""
Keys for personal data at rest.

A :class:`Keyring` holds the data-encryption keys (by key id; one is active
for new writes, older ones stay for reading) and the separate blind-index key
used for searchable personal fields. Keyrings are given to
:meth:`Shop.open <eshop_core.Shop.open>` (``keyring=``), read from the file or
JSON named by ``ESHOP_KEYRING``, or — for an SQLite shop — created beside the
database as ``<db>.keys`` (mode 0600) on first open. The memory backend uses a
throwaway keyring.

Example:
    >>> from eshop_core.keyring import Keyring
    >>> ring = Keyring.generate()
    >>> len(ring.index_key), ring.active_key_id in ring.data_keys
    (32, True)
    >>> Keyring.from_json(ring.to_json()) == ring
    True
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import attrs

from eshop_core.errors import KeyringError

__all__ = ["KEYRING_ENV", "Keyring"]

KEYRING_ENV: Final = "ESHOP_KEYRING"
"""Environment variable naming a keyring file (or holding the keyring's JSON)."""

_KEY_BYTES: Final = 32


def _freeze(value: Mapping[str, bytes]) -> Mapping[str, bytes]:
    return MappingProxyType(dict(value))


def _new_key_id() -> str:
    return f"k{secrets.token_hex(4)}"


@attrs.frozen(repr=False)
class Keyring:
    """
    Data keys by id, the active key id, and the blind-index key.

    Attributes:
        data_keys: 32-byte AES keys by key id.
        active_key_id: The key that encrypts new writes.
        index_key: 32-byte HMAC key for blind indexes; never rotated silently.
    """

    data_keys: Mapping[str, bytes] = attrs.field(converter=_freeze)
    active_key_id: str
    index_key: bytes

    def __attrs_post_init__(self) -> None:
        if self.active_key_id not in self.data_keys:
            raise KeyringError(f"active key {self.active_key_id!r} is not in the keyring")
        for key_id, key in self.data_keys.items():
            if len(key) != _KEY_BYTES:
                raise KeyringError(f"data key {key_id!r} must be {_KEY_BYTES} bytes, got {len(key)}")
        if len(self.index_key) != _KEY_BYTES:
            raise KeyringError(f"the index key must be {_KEY_BYTES} bytes, got {len(self.index_key)}")

    def __repr__(self) -> str:
        return f"Keyring(active_key_id={self.active_key_id!r}, key_ids={sorted(self.data_keys)!r})"

    @classmethod
    def generate(cls) -> Keyring:
        """Return a new keyring with one random data key and a random index key."""
        key_id = _new_key_id()
        return cls({key_id: secrets.token_bytes(_KEY_BYTES)}, key_id, secrets.token_bytes(_KEY_BYTES))

    @property
    def active_key(self) -> bytes:
        """The data key that encrypts new writes."""
        return self.data_keys[self.active_key_id]

    def data_key(self, key_id: str) -> bytes:
        """Return the data key ``key_id`` or raise :class:`KeyringError`."""
        try:
            return self.data_keys[key_id]
        except KeyError:
            raise KeyringError(
                f"key {key_id!r} is not in the keyring; was it removed after rotation?"
            ) from None

    def rotated(self) -> Keyring:
        """Return a keyring with a new active data key; older keys stay for reading, the index key stays."""
        key_id = _new_key_id()
        keys = dict(self.data_keys)
        keys[key_id] = secrets.token_bytes(_KEY_BYTES)
        return Keyring(keys, key_id, self.index_key)

    def to_json(self) -> str:
        """Serialise the keyring (keys base64-encoded). Treat the result as a secret."""
        doc = {
            "format": 1,
            "active_key_id": self.active_key_id,
            "data_keys": {k: base64.b64encode(v).decode() for k, v in sorted(self.data_keys.items())},
            "index_key": base64.b64encode(self.index_key).decode(),
        }
        return json.dumps(doc, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        """Parse :meth:`to_json` output; raise :class:`KeyringError` when it is not a keyring."""
        try:
            doc: Any = json.loads(text)
            if doc.get("format") != 1:
                raise KeyringError(f"unsupported keyring format {doc.get('format')!r}")
            keys = {str(k): base64.b64decode(v, validate=True) for k, v in doc["data_keys"].items()}
            return cls(keys, str(doc["active_key_id"]), base64.b64decode(doc["index_key"], validate=True))
        except KeyringError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise KeyringError(f"not a valid keyring document: {exc}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Keyring:
        """Read a keyring file; raise :class:`KeyringError` when it is missing or malformed."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyringError(f"cannot read keyring file {os.fspath(path)!r}: {exc.strerror}") from None
        return cls.from_json(text)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the keyring to a new file readable by its owner only (mode 0600); never overwrite."""
        try:
            fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyringError(f"keyring file {os.fspath(path)!r} exists already; not overwriting") from None
        except OSError as exc:
            raise KeyringError(f"cannot create keyring file {os.fspath(path)!r}: {exc.strerror}") from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Keyring | None:
        """Return the keyring named by ``ESHOP_KEYRING`` (a file path or JSON), or ``None`` when unset."""
        env = os.environ if environ is None else environ
        value = env.get(KEYRING_ENV, "").strip()
        if not value:
            return None
        if value.startswith("{"):
            return cls.from_json(value)
        return cls.load(value)
