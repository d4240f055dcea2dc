"""Opening a shop and its input validation."""

from __future__ import annotations

from datetime import datetime

import pytest

import eshop_core
from eshop_core import Actor, BackendNotFoundError, InvalidInputError, Role, Shop, StorageError
from eshop_core.testing import Widget


@pytest.mark.parametrize("url", ["shop.db", "", "://nothing", "memory"])
def test_malformed_urls_raise_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        Shop.open(url)
    assert info.value.field == "url"


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(BackendNotFoundError) as info:
        Shop.open("oracle://db")
    assert info.value.scheme == "oracle"
    assert "memory" in info.value.known
    assert "memory" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"clock": "now"}, "clock"),
        ({"calendar": object()}, "calendar"),
        ({"keyring": "secret"}, "keyring"),
        ({"schema": "drop table;"}, "schema"),
        ({"migrate": "yes"}, "migrate"),
    ],
)
def test_bad_options_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        Shop.open("memory://", **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_non_url_targets_need_a_backend_that_accepts_them() -> None:
    with pytest.raises(InvalidInputError) as info:
        Shop.open(42)
    assert info.value.field == "url_or_engine"


def test_closed_shop_refuses_work() -> None:
    shop = Shop.open("memory://")
    shop.close()
    shop.close()
    with pytest.raises(StorageError, match="closed"):
        shop.unit_of_work(Actor("li"))


def test_unit_of_work_needs_an_actor() -> None:
    with Shop.open("memory://") as shop, pytest.raises(InvalidInputError) as info:
        shop.unit_of_work("li")  # type: ignore[arg-type]
    assert info.value.field == "actor"


def test_run_due_refuses_naive_now() -> None:
    with Shop.open("memory://") as shop, pytest.raises(InvalidInputError) as info:
        shop.run_due(datetime(2026, 1, 1))
    assert info.value.field == "now"


def test_wrong_aggregate_type_is_refused_and_nothing_written() -> None:
    li = Actor("li", roles={Role.OPERATIONS})
    with Shop.open("memory://") as shop:
        with shop.unit_of_work(li) as uow:
            with pytest.raises(InvalidInputError) as info:
                uow.repository(Widget).add("not a widget")  # type: ignore[arg-type]
            assert info.value.field == "aggregate"
            with pytest.raises(InvalidInputError):
                uow.repository(dict)  # type: ignore[type-var]
            uow.commit()
        with shop.unit_of_work(li) as uow:
            assert len(uow.repository(Widget).find()) == 0


def test_version_is_exposed_lazily() -> None:
    assert isinstance(eshop_core.__version__, str)
    assert len(set(eshop_core.__all__)) == len(eshop_core.__all__)


def test_find_checks_filter_value_types_and_accepts_enum_values() -> None:
    from eshop_core.testing import WidgetState

    li = Actor("li", roles={Role.OPERATIONS})
    with Shop.open("memory://") as shop:
        w = Widget.create(name="w", owner_email="a@example.com", by=li, at=shop.clock.now())
        with shop.unit_of_work(li) as uow:
            uow.repository(Widget).add(w)
            uow.commit()
        with shop.unit_of_work(li) as uow:
            repo = uow.repository(Widget)
            with pytest.raises(InvalidInputError) as info:
                repo.find(where={"name": 5})
            assert (info.value.field, info.value.reason) == ("where.name", "expected str, got int")
            assert len(repo.find(where={"state": "active"})) == 1
            assert len(repo.find(where={"state": WidgetState.ACTIVE})) == 1
            with pytest.raises(InvalidInputError):
                repo.find(where={"state": "melted"})


def test_two_plugins_with_one_name_are_refused() -> None:
    from eshop_core import PluginError

    class Twin:
        eshop_plugin_name = "twin"

    with pytest.raises(PluginError, match="two plug-ins are named 'twin'"):
        Shop.open("memory://", plugins=[Twin(), Twin()])
