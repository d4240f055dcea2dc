"""GOV-03: ``eshop keys`` on an SQLite shop — rotate, re-encrypt, prune, re-index."""

from __future__ import annotations

import os
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from eshop_adapters.keys_commands import replace_keyring
from eshop_core import Actor, KeyringError, Role, Shop
from eshop_core.keyring import KEYRING_ENV, Keyring
from eshop_core.testing import Widget

LI = Actor("li.ming", roles={Role.OPERATIONS})
PEOPLE = (("li@example.com", "138 0013 8000"), ("wang@example.com", "139 0013 9000"))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEYRING_ENV, raising=False)
    monkeypatch.delenv("ESHOP_DB", raising=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with Shop.open(f"sqlite:///{path}") as shop, shop.unit_of_work(LI) as uow:
        for email, phone in PEOPLE:
            uow.repository(Widget).add(
                Widget.create(name=email, owner_email=email, owner_phone=phone, by=LI, at=shop.clock.now())
            )
        uow.commit()
    return path


def _keys(*args: str) -> Result:
    from eshop_core.cli import build_app

    return CliRunner().invoke(build_app(), ["keys", *args])


def _prefixes(db: Path) -> set[str]:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT owner_email, owner_phone FROM testkit_widgets").fetchall()
    return {value.split(".")[1] for row in rows for value in row}


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _backups(keys: Path) -> list[Path]:
    return sorted(keys.parent.glob(f"{keys.name}.*.bak"))


def _read_back(db: Path) -> list[tuple[str, str | None]]:
    with Shop.open(f"sqlite:///{db}") as shop, shop.unit_of_work(LI) as uow:
        return sorted((w.owner_email, w.owner_phone) for w in uow.repository(Widget).find())


def test_gov_03_keys_rotate_reencrypt_prune_on_sqlite(db: Path) -> None:
    url = f"sqlite:///{db}"
    keys = Path(f"{db}.keys")
    original = Keyring.load(keys)

    result = _keys("status", "--db", url)
    assert result.exit_code == 0, result.output
    assert f"{original.active_key_id} (active): 4" in result.output

    result = _keys("rotate", "--db", url)
    assert result.exit_code == 0, result.output
    rotated = Keyring.load(keys)
    assert rotated.active_key_id != original.active_key_id
    assert set(rotated.data_keys) == {original.active_key_id, rotated.active_key_id}
    assert rotated.index_key == original.index_key
    [backup] = _backups(keys)
    assert Keyring.load(backup) == original
    assert (_mode(keys), _mode(backup)) == (0o600, 0o600)
    assert rotated.active_key_id in result.output
    assert str(backup) in result.output
    assert _prefixes(db) == {original.active_key_id}  # rotation alone rewrites nothing

    result = _keys("reencrypt", "--db", url, "--keyring", str(keys), "--batch-size", "1")
    assert result.exit_code == 0, result.output
    assert "re-encrypted 2 rows in 3 batches" in result.output
    assert "eshop keys prune" in result.output
    assert _prefixes(db) == {rotated.active_key_id}

    result = _keys("prune", "--db", url)
    assert result.exit_code == 0, result.output
    pruned = Keyring.load(keys)
    assert set(pruned.data_keys) == {rotated.active_key_id}
    assert _mode(keys) == 0o600
    assert len(_backups(keys)) == 2
    assert _read_back(db) == sorted(PEOPLE)

    result = _keys("prune", "--db", url)
    assert "nothing dropped" in result.output


def test_gov_03_keys_reindex_replaces_the_index_key(db: Path) -> None:
    url = f"sqlite:///{db}"
    keys = Path(f"{db}.keys")
    original = Keyring.load(keys)
    result = _keys("reindex", "--db", url, "--batch-size", "1")
    assert result.exit_code == 0, result.output
    assert "re-indexed 2 rows" in result.output
    new = Keyring.load(keys)
    assert new.index_key != original.index_key
    assert dict(new.data_keys) == dict(original.data_keys)
    assert not Path(f"{keys}.reindex").exists()
    assert _mode(keys) == 0o600
    with Shop.open(url) as shop, shop.unit_of_work(LI) as uow:
        assert len(uow.repository(Widget).find(where={"owner_phone": "+86 139 0013 9000"})) == 1


def test_gov_03_keys_refuse_a_keyring_that_does_not_fit_the_database(db: Path, tmp_path: Path) -> None:
    stranger = tmp_path / "other.keys"
    Keyring.generate().save(stranger)
    result = _keys("rotate", "--db", f"sqlite:///{db}", "--keyring", str(stranger))
    assert isinstance(result.exception, KeyringError)
    assert "cannot be decrypted" in str(result.exception)
    assert _backups(stranger) == []
    assert Keyring.load(stranger).active_key_id in stranger.read_text()


def test_gov_03_keys_need_a_keyring_path_off_sqlite() -> None:
    result = _keys("rotate", "--db", "memory://")
    assert result.exception is not None
    assert "--keyring" in str(result.exception)


def test_gov_03_keys_use_eshop_keyring_when_it_names_a_file(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved = tmp_path / "elsewhere.keys"
    Keyring.load(Path(f"{db}.keys")).save(moved)
    monkeypatch.setenv(KEYRING_ENV, str(moved))
    result = _keys("rotate", "--db", f"sqlite:///{db}")
    assert result.exit_code == 0, result.output
    assert len(_backups(moved)) == 1
    assert _backups(Path(f"{db}.keys")) == []


def test_gov_03_replace_keyring_never_overwrites_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "k.keys"
    first = Keyring.generate()
    first.save(path)
    second, third = first.rotated(), first.rotated().rotated()
    one = replace_keyring(path, second)
    two = replace_keyring(path, third)  # within the same second: a distinct backup name
    assert one != two
    assert (Keyring.load(one), Keyring.load(two), Keyring.load(path)) == (first, second, third)
    with pytest.raises(KeyringError, match="cannot read"):
        replace_keyring(tmp_path / "missing.keys", first)
