"""Third-party plug-ins are discovered through the ``eshop`` entry-point group."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from eshop_core import Actor, BackendNotFoundError, PluginError, Shop
from eshop_core.plugins import get_plugin_manager
from eshop_core.testing import Widget

FAKE_BACKEND = textwrap.dedent(
    '''
    """A third-party storage backend: the memory backend under another name."""
    from eshop_core import hookimpl
    from eshop_core.storage.memory import MemoryBackend
    from eshop_core.storage.memory_ports import MemoryAuditLog, MemoryOutboxStore, MemoryTimerStore
    from eshop_core.storage.ports import AuditLog, BackendSpec, OutboxStore, TimerStore
    from eshop_core.testing.example import MemoryWidgetStock, WidgetStock

    OPENED = []

    class FakeDbBackend(MemoryBackend):
        name = "fakedb"

    def _open(target, options):
        OPENED.append(target)
        return FakeDbBackend(options)

    @hookimpl
    def eshop_register_storage_backends(register):
        register(BackendSpec(name="fakedb", schemes=("fakedb",), open=_open))

    @hookimpl
    def eshop_register_storage_ports(backend, register):
        if backend == "fakedb":
            register(OutboxStore, MemoryOutboxStore)
            register(TimerStore, MemoryTimerStore)
            register(AuditLog, MemoryAuditLog)
            register(WidgetStock, MemoryWidgetStock)
    '''
)


@pytest.fixture
def fake_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A distribution ``eshop-fakedb`` installed on sys.path with an ``eshop`` entry point."""
    (tmp_path / "eshop_fakedb.py").write_text(FAKE_BACKEND, encoding="utf-8")
    dist = tmp_path / "eshop_fakedb-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: eshop-fakedb\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text("[eshop]\nfakedb = eshop_fakedb\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("ESHOP_LOAD_PLUGINS", raising=False)
    yield tmp_path
    sys.modules.pop("eshop_fakedb", None)


def test_third_party_backend_is_discovered_and_used_by_shop_open(fake_distribution: Path) -> None:
    shop = Shop.open("fakedb://anything")
    assert shop.backend.name == "fakedb"
    assert "fakedb" in shop.plugin_names
    import eshop_fakedb  # type: ignore[import-not-found]

    assert eshop_fakedb.OPENED == ["fakedb://anything"]
    li = Actor("li.ming")
    with shop.unit_of_work(li) as uow:
        w = Widget.create(name="Via plug-in", owner_email="li@example.com", by=li, at=shop.clock.now())
        uow.repository(Widget).add(w)
        uow.commit()
    with shop.unit_of_work(li) as uow:
        assert uow.repository(Widget).get(w.id).name == "Via plug-in"


def test_eshop_load_plugins_filters_third_parties(
    fake_distribution: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESHOP_LOAD_PLUGINS", "")
    with pytest.raises(BackendNotFoundError) as info:
        Shop.open("fakedb://anything")
    assert "fakedb" not in info.value.known
    assert {"memory", "sqlite"} <= set(info.value.known)
    monkeypatch.setenv("ESHOP_LOAD_PLUGINS", "fakedb, other")
    assert Shop.open("fakedb://x").backend.name == "fakedb"


def test_own_entry_points_always_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESHOP_LOAD_PLUGINS", "")
    pm = get_plugin_manager()
    assert pm.get_plugin("sql_storage") is not None


def test_broken_entry_point_raises_plugin_error_naming_it(
    fake_distribution: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (fake_distribution / "eshop_fakedb.py").write_text("raise ImportError('missing dependency xyz')\n")
    with pytest.raises(PluginError, match=r"fakedb.*missing dependency xyz"):
        get_plugin_manager()


def test_each_shop_has_its_own_plugin_manager() -> None:
    class Extra:
        eshop_plugin_name = "extra"

    a = Shop.open("memory://", plugins=[Extra()])
    b = Shop.open("memory://")
    assert "extra" in a.plugin_names
    assert "extra" not in b.plugin_names
    assert a.plugins is not b.plugins
