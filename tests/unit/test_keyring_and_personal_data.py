"""Keyrings and blind indexes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from eshop_core import Keyring, KeyringError
from eshop_core.personal_data import PiiKind, blind_index, normalise


def test_keyring_file_is_private_and_round_trips(tmp_path: Path) -> None:
    ring = Keyring.generate()
    path = tmp_path / "shop.db.keys"
    ring.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert Keyring.load(path) == ring
    with pytest.raises(KeyringError, match="exists already"):
        ring.save(path)


def test_rotation_keeps_old_keys_and_the_index_key() -> None:
    ring = Keyring.generate()
    rotated = ring.rotated()
    assert rotated.active_key_id != ring.active_key_id
    assert ring.active_key_id in rotated.data_keys
    assert rotated.index_key == ring.index_key


def test_bad_keyrings_raise_keyring_error(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="cannot read"):
        Keyring.load(tmp_path / "missing.keys")
    for text in ("not json", '{"format": 9}', '{"format": 1, "data_keys": {"k": "!!"}}'):
        with pytest.raises(KeyringError):
            Keyring.from_json(text)
    with pytest.raises(KeyringError, match="32 bytes"):
        Keyring({"k": b"short"}, "k", b"x" * 32)
    with pytest.raises(KeyringError, match="not in the keyring"):
        Keyring.generate().data_key("nope")


def test_keyring_from_env(tmp_path: Path) -> None:
    assert Keyring.from_env({}) is None
    ring = Keyring.generate()
    assert Keyring.from_env({"ESHOP_KEYRING": ring.to_json()}) == ring
    ring.save(tmp_path / "k")
    assert Keyring.from_env({"ESHOP_KEYRING": str(tmp_path / "k")}) == ring


def test_keyring_repr_hides_keys() -> None:
    ring = Keyring.generate()
    assert ring.index_key.hex() not in repr(ring)


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [
        ("Li  Ming", "li ming", PiiKind.TEXT),
        ("ＬＩ　ＭＩＮＧ", "li ming", PiiKind.TEXT),
        ("Li@Example.COM ", "li@example.com", PiiKind.EMAIL),
        ("138 0013 8000", "+86 138-0013-8000", PiiKind.PHONE),
        ("(0)13800138000", "+8613800138000", PiiKind.PHONE),
    ],
)
def test_blind_index_agrees_on_equivalent_values(a: str, b: str, kind: PiiKind) -> None:
    key = Keyring.generate().index_key
    assert blind_index(key, a, kind) == blind_index(key, b, kind)


def test_blind_index_depends_on_key_and_kind() -> None:
    k1, k2 = Keyring.generate().index_key, Keyring.generate().index_key
    assert blind_index(k1, "li") != blind_index(k2, "li")
    assert blind_index(k1, "123", PiiKind.TEXT) != blind_index(k1, "123", PiiKind.PHONE)
    assert "li" not in blind_index(k1, "li")


def test_unparseable_phone_falls_back_to_digits() -> None:
    assert normalise("no phone", PiiKind.PHONE) == "no phone"
    assert normalise("+999 12", PiiKind.PHONE) == "99912"
