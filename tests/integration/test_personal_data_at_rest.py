"""GOV-03: personal data at rest on SQLite — encrypted, bound to its place, rotatable, erasable."""

from __future__ import annotations

import logging
import sqlite3
import unicodedata
import uuid
from collections.abc import Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from eshop_adapters.storage.crypto import FORMAT_VERSION, decrypt_field
from eshop_adapters.storage.mapping import (
    AggregateMapping,
    ChildTable,
    Rows,
    child_parent_column,
    id_column,
    personal_columns,
    version_column,
)
from eshop_adapters.storage.mappings import MAPPINGS
from eshop_adapters.storage.ports.personal import child_row_ref
from eshop_core import Actor, ConcurrencyError, EventEnvelope, KeyringError, Role, Shop, hookimpl
from eshop_core.domain import Aggregate
from eshop_core.keyring import Keyring
from eshop_core.personal_data import PiiKind, normalise
from eshop_core.services.personal_data import ERASED_EVENT
from eshop_core.storage.personal_ports import ERASED_MARKER
from eshop_core.testing import Widget

LI = Actor("li.ming", roles={Role.OPERATIONS})
BOSS = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
ADMIN = Actor("admin", roles={Role.ADMINISTRATOR})
TABLE = "testkit_widgets"

# Distinctive values: none of these byte strings occurs by chance in a database file.
PEOPLE: tuple[dict[str, str], ...] = (
    {"owner_email": "Gov03.Zhang-Wei@Example.CN", "owner_phone": "138 1357 2468"},
    {"owner_email": "gov03.wáng.fāng@例子.中国", "owner_phone": "+86 139-2468-1357"},
    {"owner_email": "GOV03.ＦＵＬＬＷＩＤＴＨ@example.org", "owner_phone": "(0086) 137 9753 1864"},
)


def _forms(value: str, kind: PiiKind) -> set[bytes]:
    """Every spelling of ``value`` that would betray it: as given, NFC/NFKC, normalised, digits."""
    texts = {
        value,
        unicodedata.normalize("NFC", value),
        unicodedata.normalize("NFKC", value),
        normalise(value, kind),
        normalise(value, PiiKind.TEXT),
    }
    if kind is PiiKind.PHONE:
        digits = "".join(ch for ch in value if ch.isdigit())
        texts |= {digits, digits[-11:], normalise(value, kind).lstrip("+")}
    else:
        texts |= {value.split("@")[0], normalise(value).split("@")[0]}
    out: set[bytes] = set()
    for text in texts:
        out |= {text.encode("utf-8"), text.encode("utf-16-le")}
    return out


def _plaintexts(people: tuple[dict[str, str], ...] = PEOPLE) -> set[bytes]:
    out: set[bytes] = set()
    for person in people:
        out |= _forms(person["owner_email"], PiiKind.EMAIL)
        out |= _forms(person["owner_phone"], PiiKind.PHONE)
    return out


def _leaks(data: bytes, plaintexts: set[bytes]) -> list[bytes]:
    return sorted(p for p in plaintexts if p in data)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "shop.db"


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def open_shop(db: Path, keyring: Keyring) -> Iterator[Any]:
    shops: list[Shop] = []

    def _open(ring: Keyring | None = None, **kwargs: Any) -> Shop:
        shops.append(Shop.open(f"sqlite:///{db}", keyring=ring or keyring, **kwargs))
        return shops[-1]

    yield _open
    for shop in shops:
        shop.close()


def _write_people(shop: Shop, people: tuple[dict[str, str], ...] = PEOPLE) -> list[Widget]:
    widgets = [
        Widget.create(
            name=f"Widget {n}",
            owner_email=person["owner_email"],
            owner_phone=person["owner_phone"],
            by=LI,
            at=shop.clock.now(),
        )
        for n, person in enumerate(people)
    ]
    with shop.unit_of_work(LI) as uow:
        for widget in widgets:
            uow.repository(Widget).add(widget)
        uow.commit()
    return widgets


def _query(db: Path, statement: str, *params: Any) -> list[Any]:
    with closing(sqlite3.connect(db, timeout=5)) as conn:
        return conn.execute(statement, params).fetchall()


def _execute(db: Path, statement: str, *params: Any) -> None:
    with closing(sqlite3.connect(db, timeout=5)) as conn, conn:
        conn.execute(statement, params)


def _raw_rows(db: Path) -> dict[uuid.UUID, tuple[str | None, str | None, str | None, str | None]]:
    rows = _query(db, f"SELECT id, owner_email, owner_phone, owner_email_bidx, owner_phone_bidx FROM {TABLE}")
    return {uuid.UUID(r[0]): tuple(r[1:]) for r in rows}


def _raw_update(db: Path, widget_id: uuid.UUID, **values: Any) -> None:
    for column, value in values.items():
        _execute(db, f"UPDATE {TABLE} SET {column} = ? WHERE id = ?", value, widget_id.hex)


def _checkpoint(db: Path) -> None:
    _query(db, "PRAGMA wal_checkpoint(TRUNCATE)")


def _read_all(shop: Shop) -> list[Widget]:
    with shop.unit_of_work(LI) as uow:
        return list(uow.repository(Widget).find(limit=1000))


# -- nothing in clear --------------------------------------------------------------------


def test_gov_03_no_plaintext_in_sqlite_file_or_wal(open_shop: Any, db: Path) -> None:
    shop = open_shop()
    widgets = _write_people(shop)
    with shop.unit_of_work(LI) as uow:  # an update writes new ciphertext, and WAL frames
        w = uow.repository(Widget).get(widgets[0].id)
        w.rename("Widget 0 renamed", by=LI, at=shop.clock.now())
        uow.repository(Widget).save(w)
        uow.commit()
    plaintexts = _plaintexts()
    wal = Path(f"{db}-wal")
    before = db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert wal.exists()
    assert wal.stat().st_size > 0, "expected the writes to sit in the WAL"
    assert _leaks(before, plaintexts) == []
    _checkpoint(db)
    after = db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert _leaks(after, plaintexts) == []
    # the test can see plaintext if it is there: the sanity check of the check
    assert _leaks(b"x" + PEOPLE[1]["owner_email"].encode() + b"y", plaintexts)
    assert _leaks(b"--" + b"8613924681357", plaintexts)
    # every personal column holds the v1 format under the active key
    active = f"{FORMAT_VERSION}.{shop.backend.keyring.active_key_id}."
    for email, phone, email_bidx, _ in _raw_rows(db).values():
        assert email is not None
        assert email.startswith(active)
        assert phone is not None
        assert phone.isascii()
        assert phone.count(".") == 2
        assert email_bidx is not None
        assert len(email_bidx) == 64


def test_gov_03_values_read_back_and_blind_index_find_works(open_shop: Any, db: Path) -> None:
    shop = open_shop()
    widgets = _write_people(shop)
    shop.close()
    shop = open_shop()  # a fresh process-level view: nothing cached
    got = {w.id: (w.owner_email, w.owner_phone) for w in _read_all(shop)}
    assert got == {w.id: (p["owner_email"], p["owner_phone"]) for w, p in zip(widgets, PEOPLE, strict=True)}
    with shop.unit_of_work(LI) as uow:
        repo = uow.repository(Widget)
        assert [w.id for w in repo.find(where={"owner_email": "gov03.zhang-wei@example.cn "})] == [
            widgets[0].id
        ]
        assert [w.id for w in repo.find(where={"owner_phone": "+8613924681357"})] == [widgets[1].id]
        assert [w.id for w in repo.find(where={"owner_email": "gov03.fullwidth@EXAMPLE.org"})] == [
            widgets[2].id
        ]


def test_gov_03_ciphertext_copied_into_another_row_fails_naming_its_place(open_shop: Any, db: Path) -> None:
    shop = open_shop()
    one, two, _ = _write_people(shop)
    stolen = _raw_rows(db)[one.id][0]
    _raw_update(db, two.id, owner_email=stolen)
    with shop.unit_of_work(LI) as uow, pytest.raises(KeyringError) as caught:
        uow.repository(Widget).get(two.id)
    message = str(caught.value)
    assert f"{TABLE}.owner_email of row {two.id}" in message
    assert PEOPLE[0]["owner_email"] not in message
    assert stolen is not None
    assert stolen not in message
    with shop.unit_of_work(LI) as uow:  # the source row is untouched
        assert uow.repository(Widget).get(one.id).owner_email == PEOPLE[0]["owner_email"]


def test_gov_03_ciphertext_copied_into_another_field_fails(open_shop: Any, db: Path) -> None:
    shop = open_shop()
    one, *_ = _write_people(shop)
    phone_ciphertext = _raw_rows(db)[one.id][1]
    _raw_update(db, one.id, owner_email=phone_ciphertext)
    with (
        shop.unit_of_work(LI) as uow,
        pytest.raises(KeyringError, match=rf"{TABLE}\.owner_email of row {one.id}"),
    ):
        uow.repository(Widget).get(one.id)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda s: s[:-6] + ("A" if s[-6] != "A" else "B") + s[-5:], id="flipped-char"),
        pytest.param(lambda s: s[:-4], id="truncated"),
        pytest.param(lambda s: s + "!", id="bad-alphabet"),
        pytest.param(lambda s: s.replace("v1.", "v2.", 1), id="unknown-version"),
        pytest.param(lambda s: "plain@example.com", id="plaintext"),
        pytest.param(lambda s: "v1.k00000000." + s.split(".")[2], id="unknown-key"),
        pytest.param(lambda s: "v1..", id="empty"),
    ],
)
def test_gov_03_tampered_ciphertext_fails(open_shop: Any, db: Path, tamper: Any) -> None:
    shop = open_shop()
    one, *_ = _write_people(shop)
    _raw_update(db, one.id, owner_phone=tamper(_raw_rows(db)[one.id][1]))
    with shop.unit_of_work(LI) as uow, pytest.raises(KeyringError) as caught:
        uow.repository(Widget).get(one.id)
    assert f"{TABLE}.owner_phone of row {one.id}" in str(caught.value)


def test_gov_03_wrong_keyring_fails_when_reading(open_shop: Any, db: Path) -> None:
    one, *_ = _write_people(open_shop())
    stranger = open_shop(Keyring.generate())
    with stranger.unit_of_work(LI) as uow, pytest.raises(KeyringError, match="not in the keyring"):
        uow.repository(Widget).get(one.id)
    keyring = open_shop().backend.keyring
    same_id = Keyring({keyring.active_key_id: b"\x01" * 32}, keyring.active_key_id, keyring.index_key)
    impostor = open_shop(same_id)
    with impostor.unit_of_work(LI) as uow, pytest.raises(KeyringError, match="authentication failed"):
        uow.repository(Widget).get(one.id)


# -- rotation ----------------------------------------------------------------------------


def test_gov_03_rotation_reencrypt_and_dropping_the_old_key(
    open_shop: Any, db: Path, keyring: Keyring
) -> None:
    old = _write_people(open_shop(), PEOPLE[:2])
    rotated = keyring.rotated()
    shop = open_shop(rotated)
    new = _write_people(shop, PEOPLE[2:])
    raw = _raw_rows(db)
    old_prefix = f"v1.{keyring.active_key_id}."
    new_prefix = f"v1.{rotated.active_key_id}."
    assert all(raw[w.id][0].startswith(old_prefix) for w in old)  # type: ignore[union-attr]
    assert all(raw[w.id][0].startswith(new_prefix) for w in new)  # type: ignore[union-attr]
    assert [w.owner_email for w in _read_all(shop)] == [p["owner_email"] for p in PEOPLE]
    usage = shop.personal_data.key_usage(ADMIN)
    assert usage.by_key == {keyring.active_key_id: 4, rotated.active_key_id: 2}
    versions = {w.id: w.version for w in _read_all(shop)}

    report = shop.personal_data.reencrypt(ADMIN, batch_size=1)
    assert (report.rows, report.batches) == (2, 3)
    assert report.usage.by_key == {rotated.active_key_id: 6}
    assert report.active_key_id == rotated.active_key_id
    for email, phone, _, _ in _raw_rows(db).values():
        assert email is not None
        assert email.startswith(new_prefix)
        assert phone is not None
        assert phone.startswith(new_prefix)
    assert {w.id: w.version for w in _read_all(shop)} == versions  # the values did not change
    assert shop.personal_data.reencrypt(ADMIN).rows == 0

    only_new = Keyring({rotated.active_key_id: rotated.active_key}, rotated.active_key_id, rotated.index_key)
    pruned = open_shop(only_new)
    got = _read_all(pruned)
    assert [(w.owner_email, w.owner_phone) for w in got] == [
        (p["owner_email"], p["owner_phone"]) for p in PEOPLE
    ]
    with pruned.unit_of_work(LI) as uow:
        assert len(uow.repository(Widget).find(where={"owner_phone": "13813572468"})) == 1
    assert _leaks(db.read_bytes(), _plaintexts()) == []


def test_gov_03_reencrypt_stops_at_a_value_it_cannot_read(open_shop: Any, db: Path, keyring: Keyring) -> None:
    one, *_ = _write_people(open_shop())
    _raw_update(db, one.id, owner_phone="v1.kgone.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    shop = open_shop(keyring.rotated())
    with pytest.raises(KeyringError, match=rf"owner_phone of row {one.id}"):
        shop.personal_data.reencrypt(ADMIN)
    assert shop.personal_data.key_usage(ADMIN).unreadable == 1


def test_gov_03_reindex_changes_the_index_key_only_explicitly(
    open_shop: Any, db: Path, keyring: Keyring
) -> None:
    shop = open_shop()
    widgets = _write_people(shop)
    shop.personal_data.erase(BOSS, email=PEOPLE[2]["owner_email"], reason="request 1")
    new_ring = Keyring(keyring.data_keys, keyring.active_key_id, Keyring.generate().index_key)
    # a keyring with another index key finds nothing: the key never changes silently
    with open_shop(new_ring).unit_of_work(LI) as uow:
        assert not list(uow.repository(Widget).find(where={"owner_email": PEOPLE[0]["owner_email"]}))
    report = shop.personal_data.reindex(ADMIN, new_ring, batch_size=2)
    assert (report.rows, report.batches) == (3, 2)
    reopened = open_shop(new_ring)
    with reopened.unit_of_work(LI) as uow:
        repo = uow.repository(Widget)
        assert [w.id for w in repo.find(where={"owner_email": PEOPLE[0]["owner_email"]})] == [widgets[0].id]
        assert [w.id for w in repo.find(where={"owner_phone": PEOPLE[1]["owner_phone"]})] == [widgets[1].id]
        assert not list(repo.find(where={"owner_email": ERASED_MARKER}))  # erased rows stay unindexed
    with shop.unit_of_work(LI) as uow:  # the old index key finds nothing any more
        assert not list(uow.repository(Widget).find(where={"owner_email": PEOPLE[0]["owner_email"]}))
    with pytest.raises(KeyringError, match="lacks data keys"):
        shop.personal_data.reindex(ADMIN, Keyring.generate())


# -- erasure -----------------------------------------------------------------------------


def test_gov_03_erasure_on_sqlite(open_shop: Any, db: Path) -> None:
    shop = open_shop()
    widgets = _write_people(shop)
    with shop.unit_of_work(LI) as uow:
        stale = uow.repository(Widget).get(widgets[1].id)
    report = shop.personal_data.erase(BOSS, phone="13924681357", reason="PIPL request 2026-17")
    assert report.aggregate_ids == (widgets[1].id,)
    assert report.erased[0].fields == ("owner_email", "owner_phone")
    raw = _raw_rows(db)[widgets[1].id]
    assert raw[2:] == (None, None)  # blind indexes emptied
    assert raw[0] is not None
    assert raw[0].startswith("v1.")  # the marker is encrypted like any value
    assert decrypt_field(raw[0], TABLE, widgets[1].id, "owner_email", keyring=shop.backend.keyring) == (
        ERASED_MARKER
    )
    with shop.unit_of_work(LI) as uow:
        erased = uow.repository(Widget).get(widgets[1].id)
        assert (erased.owner_email, erased.owner_phone, erased.name) == (
            ERASED_MARKER,
            ERASED_MARKER,
            "Widget 1",
        )
        assert erased.version == widgets[1].version + 1
        others = uow.repository(Widget).get(widgets[0].id)
        assert others.owner_email == PEOPLE[0]["owner_email"]
    stale.rename("stale", by=LI, at=shop.clock.now())
    with shop.unit_of_work(LI) as uow, pytest.raises(ConcurrencyError):
        uow.repository(Widget).save(stale)
    entries = [
        e for e in shop.audit.entries(ADMIN, aggregate_id=widgets[1].id).items if e.action == ERASED_EVENT
    ]
    assert [(e.actor_id, e.aggregate_version, dict(e.details)) for e in entries] == [
        (
            BOSS.id,
            widgets[1].version + 1,
            {"reason": "PIPL request 2026-17", "fields": ["owner_email", "owner_phone"]},
        )
    ]


# -- events, audit log and logs ----------------------------------------------------------


class _Recorder:
    eshop_plugin_name = "gov03-recorder"

    def __init__(self) -> None:
        self.envelopes: list[EventEnvelope] = []

    @hookimpl
    def eshop_event(self, envelope: EventEnvelope) -> None:
        self.envelopes.append(envelope)


def test_gov_03_events_audit_and_logs_carry_no_personal_data(
    open_shop: Any, db: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESHOP_TRACE_PLUGINS", "1")
    caplog.set_level(logging.DEBUG, logger="eshop")
    recorder = _Recorder()
    shop = open_shop(plugins=[recorder])
    widgets = _write_people(shop)
    with shop.unit_of_work(LI) as uow:
        uow.repository(Widget).find(where={"owner_email": PEOPLE[0]["owner_email"]})
    shop.personal_data.erase(BOSS, email=PEOPLE[0]["owner_email"], reason="request 2")
    shop.outbox.deliver()
    _raw_update(db, widgets[2].id, owner_phone=_raw_rows(db)[widgets[1].id][1])
    with shop.unit_of_work(LI) as uow, pytest.raises(KeyringError):
        uow.repository(Widget).get(widgets[2].id)
    assert {e.type for e in recorder.envelopes} >= {"WidgetCreated", ERASED_EVENT}
    audit = shop.audit.entries(ADMIN, limit=1000).items
    assert len(audit) == len(recorder.envelopes) == 4
    texts = [
        repr([e.to_dict() for e in recorder.envelopes]),
        repr(audit),
        *(record.getMessage() for record in caplog.records),
        *(repr(record.args) for record in caplog.records),
        caplog.text,
    ]
    plaintexts = _plaintexts()
    for text in texts:
        assert _leaks(text.encode("utf-8"), plaintexts) == []
        assert _leaks(text.encode("utf-8").lower(), {p.lower() for p in plaintexts}) == []
    stored = repr(_query(db, "SELECT * FROM audit_log")) + repr(_query(db, "SELECT * FROM outbox_events"))
    assert _leaks(stored.encode("utf-8"), plaintexts) == []


# -- child tables ------------------------------------------------------------------------

_PRIVATE = sa.MetaData()


@attrs.define(kw_only=True, eq=False)
class Parcel(Aggregate):
    """An aggregate with personal fields on the root and personal columns on a child table."""

    recipient: str = attrs.field(metadata={"pii": True, "blind_index": True})
    lines: tuple[str, ...] = ()
    gift_notes: tuple[str | None, ...] = ()


_parcels = sa.Table(
    "test_parcels",
    _PRIVATE,
    id_column(),
    version_column(),
    *personal_columns("recipient", blind_index=True, nullable=False),
)
_parcel_lines = sa.Table(
    "test_parcel_lines",
    _PRIVATE,
    child_parent_column(_parcels),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("sku", sa.String(40), nullable=False),
    sa.Column("gift_note", sa.Text, nullable=True, info={"pii": True}),
)


class _ParcelMapping(AggregateMapping[Parcel]):
    def __init__(self) -> None:
        super().__init__(Parcel, _parcels, children=[ChildTable(_parcel_lines)])

    def dump(self, aggregate: Parcel) -> dict[str, Any]:
        return {}

    def dump_children(self, aggregate: Parcel) -> Rows:
        notes = aggregate.gift_notes or (None,) * len(aggregate.lines)
        return {
            "test_parcel_lines": [
                {"sku": sku, "gift_note": note} for sku, note in zip(aggregate.lines, notes, strict=True)
            ]
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> Parcel:
        rows = children["test_parcel_lines"]
        return Parcel(
            id=values["id"],
            version=values["version"],
            recipient=values["recipient"],
            lines=tuple(r["sku"] for r in rows),
            gift_notes=tuple(r["gift_note"] for r in rows),
        )


def _notes(db: Path) -> list[tuple[int, str | None]]:
    return [
        tuple(r) for r in _query(db, "SELECT position, gift_note FROM test_parcel_lines ORDER BY position")
    ]


def test_gov_03_child_table_personal_columns_are_reencrypted_and_erased(
    open_shop: Any, db: Path, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = open_shop()
    engine = sa.create_engine(f"sqlite:///{db}")
    _PRIVATE.create_all(engine)
    monkeypatch.setitem(MAPPINGS, Parcel, _ParcelMapping())
    parcel = Parcel(
        recipient="Gov03 Liu Yang", lines=("A", "B"), gift_notes=("for Liu Yang #0", "for Liu Yang #1")
    )
    with shop.unit_of_work(LI) as uow:
        uow.repository(Parcel).add(parcel)
        uow.commit()
    engine.dispose()
    # the mapping encrypted the child rows' personal column, bound to "<parent id>/<position>"
    raw = _notes(db)
    assert all(note is not None and "Liu Yang" not in note for _, note in raw)
    for position, note in raw:
        ref = child_row_ref(parcel.id, position)
        assert decrypt_field(note or "", "test_parcel_lines", ref, "gift_note", keyring=keyring) == (
            f"for Liu Yang #{position}"
        )
    with shop.unit_of_work(LI) as uow:
        assert uow.repository(Parcel).get(parcel.id).gift_notes == ("for Liu Yang #0", "for Liu Yang #1")
    rotated = keyring.rotated()
    shop = open_shop(rotated)
    assert shop.personal_data.key_usage(ADMIN).by_key == {keyring.active_key_id: 3}
    assert shop.personal_data.reencrypt(ADMIN).rows == 3  # one root row and two child rows
    assert shop.personal_data.key_usage(ADMIN).by_key == {rotated.active_key_id: 3}
    for position, note in _notes(db):
        assert note is not None
        ref = child_row_ref(parcel.id, position)
        assert (
            decrypt_field(note, "test_parcel_lines", ref, "gift_note", keyring=rotated)
            == f"for Liu Yang #{position}"
        )

    report = shop.personal_data.erase(BOSS, name="gov03 liu  yang", reason="request 3")
    assert [(e.aggregate_type, e.fields) for e in report.erased] == [
        ("Parcel", ("recipient", "test_parcel_lines.gift_note"))
    ]
    for position, note in _notes(db):
        ref = child_row_ref(parcel.id, position)
        assert (
            decrypt_field(note or "", "test_parcel_lines", ref, "gift_note", keyring=rotated) == ERASED_MARKER
        )
    with shop.unit_of_work(LI) as uow:
        assert uow.repository(Parcel).get(parcel.id).recipient == ERASED_MARKER
