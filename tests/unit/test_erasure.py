"""GOV-03: erasure of a data subject's personal data (memory backend)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from eshop_core import (
    Actor,
    ConcurrencyError,
    InvalidInputError,
    PermissionDeniedError,
    Role,
    Shop,
    StorageError,
    hookimpl,
)
from eshop_core.domain import Aggregate
from eshop_core.events import EventEnvelope
from eshop_core.personal_data import PiiKind
from eshop_core.services.personal_data import ERASED_EVENT
from eshop_core.storage.personal_ports import ERASED_MARKER, PersonalDataStore
from eshop_core.storage.ports import AuditEntry
from eshop_core.testing import Widget

LI = Actor("li.ming", roles={Role.OPERATIONS})
BOSS = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
ADMIN = Actor("admin", roles={Role.ADMINISTRATOR})
AUDITOR = Actor("auditor", roles={Role.FINANCE})
CS = Actor("cs.staff", roles={Role.CUSTOMER_SERVICE})

WANG = {"owner_email": "Wang.Fang@Example.com", "owner_phone": "139 0013 9000"}
CHEN = {"owner_email": "chen.jing@example.com", "owner_phone": "+86 137-0013-7000"}


@attrs.define(kw_only=True, eq=False)
class Customer(Aggregate):
    """A person's name (text kind, searchable) and a note (personal, not searchable)."""

    full_name: str = attrs.field(metadata={"pii": True, "blind_index": True})
    note: str | None = attrs.field(default=None, metadata={"pii": True})


@pytest.fixture
def shop() -> Iterator[Shop]:
    with Shop.open("memory://") as opened:
        yield opened


def _add(shop: Shop, name: str, **personal: Any) -> Widget:
    widget = Widget.create(name=name, by=LI, at=shop.clock.now(), **personal)
    with shop.unit_of_work(LI) as uow:
        uow.repository(Widget).add(widget)
        uow.commit()
    return widget


def _get(shop: Shop, widget_id: uuid.UUID) -> Widget:
    with shop.unit_of_work(LI) as uow:
        return uow.repository(Widget).get(widget_id)


def _audit(shop: Shop) -> list[AuditEntry]:
    return list(shop.audit.entries(AUDITOR, limit=1000).items)


@pytest.fixture
def people(shop: Shop) -> dict[str, Widget]:
    return {
        "wang": _add(shop, "Pen", **WANG),
        "wang2": _add(shop, "Ink", owner_email="wang.fang@example.com"),
        "chen": _add(shop, "Pad", **CHEN),
    }


def test_gov_03_erase_by_email_overwrites_every_personal_field(shop: Shop, people: dict[str, Widget]) -> None:
    report = shop.personal_data.erase(BOSS, email=" WANG.FANG@example.com ", reason="request 2026-001")
    assert report.count == 2
    assert set(report.aggregate_ids) == {people["wang"].id, people["wang2"].id}
    wang = _get(shop, people["wang"].id)
    assert (wang.owner_email, wang.owner_phone, wang.name) == (ERASED_MARKER, ERASED_MARKER, "Pen")
    assert wang.version == people["wang"].version + 1
    wang2 = _get(shop, people["wang2"].id)
    assert (wang2.owner_email, wang2.owner_phone) == (ERASED_MARKER, None)
    by_id = {e.aggregate_id: e.fields for e in report.erased}
    assert by_id == {people["wang"].id: ("owner_email", "owner_phone"), people["wang2"].id: ("owner_email",)}


def test_gov_03_erase_by_phone_matches_any_spelling(shop: Shop, people: dict[str, Widget]) -> None:
    report = shop.personal_data.erase(ADMIN, phone="+8613900139000", reason="request 2026-002")
    assert report.aggregate_ids == (people["wang"].id,)
    assert _get(shop, people["wang"].id).owner_email == ERASED_MARKER
    assert _get(shop, people["wang2"].id).owner_email == "wang.fang@example.com"


def test_gov_03_erase_by_name_matches_text_fields(shop: Shop) -> None:
    # Widget has no text (name) personal field: erasing by name matches nothing there.
    _add(shop, "Pen", **WANG)
    assert shop.personal_data.erase(BOSS, name="Wang Fang", reason="request 3").count == 0


def test_gov_03_erase_by_name_on_a_text_field(shop: Shop) -> None:
    with shop.unit_of_work(LI) as uow:
        uow.repository(Customer).add(Customer(full_name="Wang  Fang", note="likes blue"))
        uow.repository(Customer).add(Customer(full_name="Chen Jing", note="likes red"))
        uow.commit()
    report = shop.personal_data.erase(BOSS, name="ＷＡＮＧ fang", reason="request 4")
    assert report.count == 1
    with shop.unit_of_work(LI) as uow:
        got = sorted((c.full_name, c.note) for c in uow.repository(Customer).find())
    assert got == [("Chen Jing", "likes red"), (ERASED_MARKER, ERASED_MARKER)]
    assert report.erased[0].aggregate_type == "Customer"
    assert report.erased[0].fields == ("full_name", "note")


def test_gov_03_only_the_matching_subject_is_erased(shop: Shop, people: dict[str, Widget]) -> None:
    shop.personal_data.erase(BOSS, email="wang.fang@example.com", reason="request 5")
    chen = _get(shop, people["chen"].id)
    assert (chen.owner_email, chen.owner_phone, chen.version) == (
        CHEN["owner_email"],
        CHEN["owner_phone"],
        people["chen"].version,
    )
    with shop.unit_of_work(LI) as uow:
        repo = uow.repository(Widget)
        assert [w.id for w in repo.find(where={"owner_email": "chen.jing@example.com"})] == [
            people["chen"].id
        ]
        assert not list(repo.find(where={"owner_email": "wang.fang@example.com"}))
        assert not list(repo.find(where={"owner_phone": "13900139000"}))
        assert not list(repo.find(where={"owner_email": ERASED_MARKER}))


def test_gov_03_erasure_is_audited_without_personal_data(shop: Shop, people: dict[str, Widget]) -> None:
    before = len(_audit(shop))
    report = shop.personal_data.erase(BOSS, email="wang.fang@example.com", reason="request 6")
    entries = _audit(shop)[before:]
    assert [(e.action, e.aggregate_id, e.actor_id) for e in entries] == [
        (ERASED_EVENT, i, BOSS.id) for i in report.aggregate_ids
    ]
    assert entries[0].details == {"reason": "request 6", "fields": ["owner_email", "owner_phone"]}
    assert entries[0].aggregate_version == people["wang"].version + 1
    assert entries[0].aggregate_type == "Widget"
    text = repr(entries).casefold()
    for value in (*WANG.values(), "13900139000", "wang.fang"):
        assert value.casefold() not in text


class _Recorder:
    eshop_plugin_name = "recorder"

    def __init__(self) -> None:
        self.envelopes: list[EventEnvelope] = []

    @hookimpl
    def eshop_event(self, envelope: EventEnvelope) -> None:
        self.envelopes.append(envelope)


def test_gov_03_erasure_events_reach_subscribers_without_personal_data() -> None:
    recorder = _Recorder()
    with Shop.open("memory://", plugins=[recorder]) as shop:
        _add(shop, "Pen", **WANG)
        shop.personal_data.erase(BOSS, phone="13900139000", reason="request 6b")
        shop.outbox.deliver()
    erased = [e for e in recorder.envelopes if e.type == ERASED_EVENT]
    assert [e.payload for e in erased] == [{"reason": "request 6b", "fields": ["owner_email", "owner_phone"]}]
    text = repr([e.to_dict() for e in recorder.envelopes]).casefold()
    for value in ("wang.fang", "13900139000", "139 0013 9000"):
        assert value not in text


def test_gov_03_a_copy_loaded_before_erasure_cannot_be_saved(shop: Shop, people: dict[str, Widget]) -> None:
    with shop.unit_of_work(LI) as uow:
        stale = uow.repository(Widget).get(people["wang"].id)
    shop.personal_data.erase(BOSS, email="wang.fang@example.com", reason="request 7")
    stale.rename("Pen, blue", by=LI, at=shop.clock.now())
    with shop.unit_of_work(LI) as uow, pytest.raises(ConcurrencyError):
        uow.repository(Widget).save(stale)


@pytest.mark.parametrize("actor", [CS, LI, AUDITOR, Actor.system("channel:tmall")])
def test_gov_03_erasure_needs_the_erase_permission(
    shop: Shop, people: dict[str, Widget], actor: Actor
) -> None:
    with pytest.raises(PermissionDeniedError, match=r"personal_data\.erase"):
        shop.personal_data.erase(actor, email="wang.fang@example.com", reason="request 8")
    assert _get(shop, people["wang"].id).owner_email == WANG["owner_email"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reason": "request 9"}, "email"),
        ({"email": "", "reason": "request 9"}, "email"),
        ({"email": "  ", "reason": "request 9"}, "email"),
        ({"email": "wang.fang@example.com", "phone": 13900139000, "reason": "request 9"}, "phone"),
        ({"name": [], "reason": "request 9"}, "name"),
        ({"email": "wang.fang@example.com", "reason": ""}, "reason"),
        ({"email": "wang.fang@example.com", "reason": "   "}, "reason"),
        ({"email": "wang.fang@example.com", "reason": None}, "reason"),
        ({"email": "wang.fang@example.com", "reason": "x" * 501}, "reason"),
        ({"email": "wang.fang@example.com", "reason": "asked by Wang.Fang@example.com"}, "reason"),
        ({"phone": "139 0013 9000", "reason": "caller 13900139000"}, "reason"),
    ],
)
def test_gov_03_invalid_input_names_the_field_and_changes_nothing(
    shop: Shop, people: dict[str, Widget], kwargs: dict[str, Any], field: str
) -> None:
    before = len(_audit(shop))
    with pytest.raises(InvalidInputError) as caught:
        shop.personal_data.erase(BOSS, **kwargs)
    assert caught.value.field == field
    assert _get(shop, people["wang"].id).owner_email == WANG["owner_email"]
    assert len(_audit(shop)) == before


def test_gov_03_nothing_matches_nothing_changes(shop: Shop, people: dict[str, Widget]) -> None:
    before = len(_audit(shop))
    report = shop.personal_data.erase(BOSS, email="nobody@example.com", reason="request 10")
    assert (report.count, report.aggregate_ids) == (0, ())
    assert len(_audit(shop)) == before


def test_gov_03_erasing_twice_finds_nothing_the_second_time(shop: Shop, people: dict[str, Widget]) -> None:
    assert shop.personal_data.erase(BOSS, email="wang.fang@example.com", reason="r 11").count == 2
    assert shop.personal_data.erase(BOSS, email="wang.fang@example.com", reason="r 11").count == 0


def test_gov_03_erasure_rolls_back_with_its_unit_of_work(shop: Shop, people: dict[str, Widget]) -> None:
    with shop.unit_of_work(ADMIN) as uow:
        erased = uow.port(PersonalDataStore).erase_subject({PiiKind.EMAIL: "wang.fang@example.com"})
        assert len(erased) == 2
        uow.rollback()
    assert _get(shop, people["wang"].id).owner_email == WANG["owner_email"]
    with shop.unit_of_work(LI) as uow:
        assert len(uow.repository(Widget).find(where={"owner_email": "wang.fang@example.com"})) == 2


def test_gov_03_memory_key_maintenance_is_a_no_op(shop: Shop, people: dict[str, Widget]) -> None:
    report = shop.personal_data.reencrypt(ADMIN)
    assert (report.rows, report.usage.total) == (0, 0)
    assert shop.personal_data.reindex(ADMIN, shop.backend.keyring.rotated()).rows == 0  # type: ignore[attr-defined]
    with pytest.raises(PermissionDeniedError):
        shop.personal_data.reencrypt(BOSS)


def test_gov_03_a_backend_without_the_port_says_so(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    options = shop.backend.options  # type: ignore[attr-defined]
    ports = {port: factory for port, factory in options.ports.items() if port is not PersonalDataStore}
    monkeypatch.setattr(shop.backend, "options", attrs.evolve(options, ports=ports))
    with pytest.raises(StorageError, match="PersonalDataStore"):
        shop.personal_data.erase(BOSS, email="x@example.com", reason="request 12")
