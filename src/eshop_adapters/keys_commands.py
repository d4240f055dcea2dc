"""
``eshop keys``: keys of personal data at rest (entry point ``keys_commands``).

* ``eshop keys status`` — which data keys the stored values use;
* ``eshop keys rotate`` — add a new active data key to the keyring file (the
  old keys stay, for reading);
* ``eshop keys reencrypt`` — move every stored value to the active key;
* ``eshop keys prune`` — drop data keys no stored value uses any more;
* ``eshop keys reindex`` — recompute every blind index under a new index key
  (the index key changes only this way).

Commands that change the keyring file first copy it to
``<keyring>.<UTC timestamp>.bak`` and then replace it atomically; every file
written is readable by its owner only (mode 0600). The keyring file is
``--keyring``, else ``ESHOP_KEYRING`` when it names a file, else the SQLite
database's ``<db>.keys``.

Example:
    >>> from typer.testing import CliRunner
    >>> from eshop_core.cli import build_app
    >>> result = CliRunner().invoke(build_app(), ["keys", "--help"])
    >>> result.exit_code, "reencrypt" in result.output
    (0, True)
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console

from eshop_core import Actor, Role, Shop, hookimpl
from eshop_core.errors import InvalidInputError, KeyringError
from eshop_core.keyring import KEYRING_ENV, Keyring
from eshop_core.schemas.settings import ShopSettings
from eshop_core.storage.personal_ports import KeyUsage

__all__ = ["CLI_ACTOR", "eshop_register_commands", "replace_keyring", "sqlite_keyring_path"]

CLI_ACTOR: Final = Actor("eshop-cli", roles={Role.ADMINISTRATOR})
"""Who the ``keys`` commands act as (an administrator)."""

_INDEX_KEY_BYTES: Final = 32

DbOption = Annotated[
    str | None, typer.Option("--db", help="Storage URL (default: $ESHOP_DB or sqlite:///eshop.db).")
]
KeyringOption = Annotated[
    Path | None,
    typer.Option(
        "--keyring",
        help=f"Keyring file (default: ${KEYRING_ENV} when it names a file, else the SQLite <db>.keys).",
    ),
]
BatchOption = Annotated[int, typer.Option("--batch-size", min=1, max=1000, help="Rows per transaction.")]


def _db_url(db: str | None) -> str:
    return db or ShopSettings.from_env(os.environ).db


def sqlite_keyring_path(url: str) -> Path | None:
    """
    Return the ``<db>.keys`` file an SQLite shop at ``url`` uses by default (``None`` for other URLs).

    Example:
        >>> str(sqlite_keyring_path("sqlite:///data/shop.db"))
        'data/shop.db.keys'
        >>> sqlite_keyring_path("memory://") is None
        True
    """
    if not url.lower().startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from eshop_adapters.storage.sql import sqlite_database_path

    try:
        database = sqlite_database_path(make_url(url))
    except (ArgumentError, ValueError):
        return None
    return None if database is None else Path(f"{database}.keys")


def _keyring_path(keyring: Path | None, url: str) -> Path:
    if keyring is not None:
        return keyring
    env = os.environ.get(KEYRING_ENV, "").strip()
    if env and not env.startswith("{"):
        return Path(env)
    path = sqlite_keyring_path(url)
    if path is None:
        raise InvalidInputError(
            "keyring", f"give the keyring file with --keyring (or {KEYRING_ENV}); {url} has no default one"
        )
    return path


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` (never overwriting) readable by its owner only, and flush it to disk."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise KeyringError(f"cannot create {os.fspath(path)!r}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def replace_keyring(path: Path, new: Keyring, *, now: datetime | None = None) -> Path:
    """
    Replace the keyring file ``path`` by ``new``, keeping the old one as ``<path>.<timestamp>.bak``.

    The backup is written first (mode 0600, never overwriting), then ``new`` goes
    to a temporary file beside ``path`` (mode 0600) that atomically replaces it.

    Returns:
        The backup's path.

    Raises:
        KeyringError: A file cannot be read or written; ``path`` is unchanged.
    """
    try:
        old_text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyringError(f"cannot read keyring file {os.fspath(path)!r}: {exc.strerror}") from None
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    backup = path.with_name(f"{path.name}.{stamp}.bak")
    counter = 1
    while backup.exists():
        counter += 1
        backup = path.with_name(f"{path.name}.{stamp}-{counter}.bak")
    _write_private(backup, old_text)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    _write_private(temporary, new.to_json())
    try:
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise KeyringError(f"cannot replace keyring file {os.fspath(path)!r}: {exc.strerror}") from None
    return backup


def _usage_line(usage: KeyUsage, keyring: Keyring) -> str:
    parts = [
        f"{key_id}{' (active)' if key_id == keyring.active_key_id else ''}: {usage.by_key.get(key_id, 0)}"
        for key_id in sorted(keyring.data_keys)
    ]
    if usage.unreadable:
        parts.append(f"unreadable with this keyring: {usage.unreadable}")
    return "; ".join(parts)


def _check_readable(usage: KeyUsage, path: Path) -> None:
    if usage.unreadable:
        raise KeyringError(
            f"{usage.unreadable} stored values cannot be decrypted with {os.fspath(path)!r}: "
            "is it this shop's keyring?"
        )


def _build_keys_app() -> typer.Typer:
    keys = typer.Typer(
        name="keys",
        help="Keys of personal data at rest: rotate, re-encrypt, prune, re-index.",
        no_args_is_help=True,
    )
    console = Console(highlight=False, soft_wrap=True)

    @keys.command()
    def status(db: DbOption = None, keyring: KeyringOption = None) -> None:
        """Show how many stored personal values each data key encrypts."""
        url = _db_url(db)
        path = _keyring_path(keyring, url)
        ring = Keyring.load(path)
        with Shop.open(url, keyring=ring) as shop:
            usage = shop.personal_data.key_usage(CLI_ACTOR)
        console.print(f"keyring {path}: {_usage_line(usage, ring)}")

    @keys.command()
    def rotate(db: DbOption = None, keyring: KeyringOption = None) -> None:
        """Add a new active data key to the keyring file; old keys stay for reading."""
        url = _db_url(db)
        path = _keyring_path(keyring, url)
        ring = Keyring.load(path)
        with Shop.open(url, keyring=ring) as shop:
            _check_readable(shop.personal_data.key_usage(CLI_ACTOR), path)
        rotated = ring.rotated()
        backup = replace_keyring(path, rotated)
        console.print(
            f"rotated {path}: new active key {rotated.active_key_id} (kept: "
            f"{', '.join(sorted(ring.data_keys))}); previous keyring saved as {backup}"
        )
        console.print("next: eshop keys reencrypt, with the new keyring in every process that opens the shop")

    @keys.command()
    def reencrypt(db: DbOption = None, keyring: KeyringOption = None, batch_size: BatchOption = 500) -> None:
        """Re-encrypt every stored personal value under the active key."""
        url = _db_url(db)
        ring = Keyring.load(_keyring_path(keyring, url))
        with Shop.open(url, keyring=ring) as shop:
            report = shop.personal_data.reencrypt(CLI_ACTOR, batch_size=batch_size)
        console.print(
            f"re-encrypted {report.rows} rows in {report.batches} batches; "
            f"values per key: {_usage_line(report.usage, ring)}"
        )
        unused = sorted(set(ring.data_keys) - set(report.usage.by_key) - {ring.active_key_id})
        if unused and not report.usage.unreadable:
            console.print(f"no stored value uses {', '.join(unused)} any more: eshop keys prune drops them")

    @keys.command()
    def prune(db: DbOption = None, keyring: KeyringOption = None) -> None:
        """Drop the data keys no stored value uses (never the active one)."""
        url = _db_url(db)
        path = _keyring_path(keyring, url)
        ring = Keyring.load(path)
        with Shop.open(url, keyring=ring) as shop:
            usage = shop.personal_data.key_usage(CLI_ACTOR)
        _check_readable(usage, path)
        keep = {k: v for k, v in ring.data_keys.items() if k == ring.active_key_id or usage.by_key.get(k)}
        dropped = sorted(set(ring.data_keys) - set(keep))
        if not dropped:
            console.print(f"every key of {path} is in use; nothing dropped")
            return
        backup = replace_keyring(path, Keyring(keep, ring.active_key_id, ring.index_key))
        console.print(f"dropped {', '.join(dropped)} from {path}; previous keyring saved as {backup}")

    @keys.command()
    def reindex(db: DbOption = None, keyring: KeyringOption = None, batch_size: BatchOption = 500) -> None:
        """Recompute every blind index under a new index key (stop other writers first)."""
        url = _db_url(db)
        path = _keyring_path(keyring, url)
        ring = Keyring.load(path)
        pending_path = path.with_name(f"{path.name}.reindex")
        if pending_path.exists():  # an interrupted run: finish it with the same new key
            pending = Keyring.load(pending_path)
            if dict(pending.data_keys) != dict(ring.data_keys):
                raise KeyringError(
                    f"{os.fspath(pending_path)!r} does not belong to {os.fspath(path)!r}; "
                    "remove it to start over"
                )
        else:
            pending = Keyring(ring.data_keys, ring.active_key_id, secrets.token_bytes(_INDEX_KEY_BYTES))
            _write_private(pending_path, pending.to_json())
        with Shop.open(url, keyring=ring) as shop:
            report = shop.personal_data.reindex(CLI_ACTOR, pending, batch_size=batch_size)
        backup = replace_keyring(path, pending)
        pending_path.unlink()
        console.print(
            f"re-indexed {report.rows} rows in {report.batches} batches under a new index key; "
            f"previous keyring saved as {backup}"
        )

    return keys


@hookimpl
def eshop_register_commands(app: typer.Typer) -> None:
    """Add the ``eshop keys`` command group."""
    app.add_typer(_build_keys_app(), name="keys")
