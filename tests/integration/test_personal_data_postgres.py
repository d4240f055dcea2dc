"""GOV-03 on PostgreSQL: no plaintext personal data in a dump of the shop's schema; rotation and erasure."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
from tests.postgres import PostgresRun, Shops, postgres_url

from eshop_core import Actor, ConcurrencyError, Role, Shop
from eshop_core.keyring import Keyring
from eshop_core.storage.personal_ports import ERASED_MARKER
from eshop_core.testing import Widget

pytestmark = pytest.mark.postgres

LI = Actor("li.ming", roles={Role.OPERATIONS})
BOSS = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
ADMIN = Actor("admin", roles={Role.ADMINISTRATOR})

PEOPLE = (
    ("Gov03.PG.Zhou-Min@Example.CN", "138 2468 1357"),
    ("gov03.pg.sūn.lì@例子.中国", "+86 139-1357-2468"),
)


def _plaintexts() -> list[str]:
    out: list[str] = []
    for email, phone in PEOPLE:
        digits = "".join(ch for ch in phone if ch.isdigit())
        out += [email, email.casefold(), email.split("@")[0], email.split("@")[0].casefold()]
        out += [phone, digits, digits[-11:], f"+86{digits[-11:]}"]
    return out


def _write(shop: Shop) -> list[Widget]:
    widgets = [
        Widget.create(name=f"PG widget {n}", owner_email=email, owner_phone=phone, by=LI, at=shop.clock.now())
        for n, (email, phone) in enumerate(PEOPLE)
    ]
    with shop.unit_of_work(LI) as uow:
        for widget in widgets:
            uow.repository(Widget).add(widget)
        uow.commit()
    return widgets


def _pg_dump(run: PostgresRun) -> str:
    binary = shutil.which("pg_dump")
    if binary is None:
        pytest.skip("pg_dump is not installed")
    scheme, sep, rest = postgres_url().partition("://")
    url = f"{scheme.split('+', 1)[0]}{sep}{rest}"
    result = subprocess.run(
        [binary, "--dbname", url, "--schema", run.schema, "--no-owner", "--no-privileges"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_gov_03_pg_dump_of_the_schema_holds_no_plaintext(postgres: PostgresRun, pg_shops: Shops) -> None:
    shop = pg_shops.open()
    widgets = _write(shop)
    shop.personal_data.erase(BOSS, email=PEOPLE[1][0], reason="request pg-1")
    dump = _pg_dump(postgres)
    assert "testkit_widgets" in dump
    assert f"v1.{postgres.keyring.active_key_id}." in dump  # the data is in the dump, encrypted
    assert str(widgets[0].id) in dump
    for plain in _plaintexts():
        assert plain not in dump, "a personal value is in clear in the dump"
        assert plain.casefold() not in dump.casefold()
    with shop.unit_of_work(LI) as uow:  # and it reads back
        assert uow.repository(Widget).get(widgets[0].id).owner_email == PEOPLE[0][0]
        assert len(uow.repository(Widget).find(where={"owner_phone": "13824681357"})) == 1


def test_gov_03_pg_rotation_reencrypt_and_erasure(postgres: PostgresRun, pg_shops: Shops) -> None:
    widgets = _write(pg_shops.open())
    rotated = postgres.keyring.rotated()
    shop: Any = pg_shops.open(keyring=rotated)
    with shop.unit_of_work(LI) as uow:
        stale = uow.repository(Widget).get(widgets[0].id)
    assert shop.personal_data.key_usage(ADMIN).by_key == {postgres.keyring.active_key_id: 4}
    report = shop.personal_data.reencrypt(ADMIN, batch_size=1)
    assert report.rows == 2
    assert report.usage.by_key == {rotated.active_key_id: 4}
    only_new = Keyring({rotated.active_key_id: rotated.active_key}, rotated.active_key_id, rotated.index_key)
    fresh = pg_shops.open(keyring=only_new)
    with fresh.unit_of_work(LI) as uow:
        got = [(w.owner_email, w.owner_phone) for w in uow.repository(Widget).find()]
    assert got == list(PEOPLE)
    erased = fresh.personal_data.erase(BOSS, email=PEOPLE[0][0].upper(), reason="request pg-2")
    assert erased.aggregate_ids == (widgets[0].id,)
    with fresh.unit_of_work(LI) as uow:
        assert uow.repository(Widget).get(widgets[0].id).owner_phone == ERASED_MARKER
    stale.rename("stale", by=LI, at=shop.clock.now())
    with fresh.unit_of_work(LI) as uow, pytest.raises(ConcurrencyError):
        uow.repository(Widget).save(stale)
