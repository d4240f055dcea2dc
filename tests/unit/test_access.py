"""Actors, roles and the role matrix (GOV-01)."""

from __future__ import annotations

import pytest

from eshop_core import (
    ROLE_PERMISSIONS,
    Actor,
    InvalidInputError,
    Permission,
    PermissionDeniedError,
    Role,
    authorize,
)
from eshop_core.access import permissions_of


def test_gov_01_every_role_holds_exactly_its_matrix_rights() -> None:
    for role in Role:
        actor = Actor(f"someone.{role.value}", roles={role})
        granted = ROLE_PERMISSIONS[role]
        for permission in Permission:
            if permission in granted:
                authorize(actor, permission)
            else:
                with pytest.raises(PermissionDeniedError) as info:
                    authorize(actor, permission)
                assert (info.value.actor, info.value.permission) == (actor.id, permission.value)


def test_gov_01_only_managers_and_finance_read_the_audit_log() -> None:
    readers = {r for r in Role if Permission.AUDIT_READ in ROLE_PERMISSIONS[r]}
    assert readers == {Role.DEPARTMENT_MANAGER, Role.FINANCE, Role.ADMINISTRATOR}


def test_gov_01_rights_are_the_union_of_roles() -> None:
    actor = Actor("multi", roles={Role.FINANCE, Role.CUSTOMER_SERVICE})
    assert permissions_of(actor) == ROLE_PERMISSIONS[Role.FINANCE] | ROLE_PERMISSIONS[Role.CUSTOMER_SERVICE]


def test_an_actor_without_roles_may_do_nothing() -> None:
    nobody = Actor("visitor")
    for permission in Permission:
        with pytest.raises(PermissionDeniedError):
            authorize(nobody, permission)


def test_system_actors() -> None:
    tmall = Actor.system("channel:tmall")
    assert tmall.id == "system:channel:tmall"
    assert tmall.is_system
    assert tmall.system_name == "channel:tmall"
    assert Role.SYSTEM in tmall.roles
    person = Actor("system.admin", roles={Role.ADMINISTRATOR})
    assert not person.is_system
    assert person.system_name is None


@pytest.mark.parametrize("bad", ["", " li", "li ming", "x" * 129, "中文"])
def test_actor_ids_are_validated(bad: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        Actor(bad)
    assert info.value.field == "actor.id"


def test_unknown_roles_are_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInputError) as info:
        Actor("li", roles={"overlord"})
    assert info.value.field == "roles"
    assert "overlord" in info.value.reason
    with pytest.raises(InvalidInputError):
        Actor("li", roles="operations")  # type: ignore[arg-type]


def test_authorize_refuses_non_actors() -> None:
    with pytest.raises(InvalidInputError) as info:
        authorize("li.ming", Permission.AUDIT_READ)  # type: ignore[arg-type]
    assert info.value.field == "actor"


def test_actors_are_values() -> None:
    assert Actor("li", roles={"operations"}) == Actor("li", roles={Role.OPERATIONS}, display_name="Li Ming")
    assert len({Actor("li"), Actor("li")}) == 1
