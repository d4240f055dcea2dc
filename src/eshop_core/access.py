"""
Who may do what: actors, roles, permissions and :func:`authorize`.

Every service call names the acting :class:`Actor`. People hold one or more
:class:`Role` values (the roles of the operations handbooks); automated callers
are *system actors* (``Actor.system("channel:tmall")``). What each role may do
is data, :data:`ROLE_PERMISSIONS`, documented in the docs and extended by later
capabilities.

Example:
    >>> from eshop_core import Actor, Role, Permission, authorize
    >>> li = Actor("li.ming", roles={Role.OPERATIONS})
    >>> authorize(li, Permission.AUDIT_READ)
    Traceback (most recent call last):
    ...
    eshop_core.errors.PermissionDeniedError: li.ming lacks permission audit.read
    >>> boss = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
    >>> authorize(boss, Permission.AUDIT_READ)
    >>> Actor.system("channel:tmall").is_system
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

import attrs

from eshop_core.errors import InvalidInputError, PermissionDeniedError

__all__ = ["ROLE_PERMISSIONS", "Actor", "Permission", "Role", "authorize", "permissions_of"]

_ACTOR_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}$")
_SYSTEM_PREFIX: Final = "system:"


class Role(StrEnum):
    """The roles of the operations department (GOV-01), plus ``SYSTEM`` for automation."""

    OPERATIONS = "operations"
    CUSTOMER_SERVICE = "customer_service"
    LOGISTICS = "logistics"
    WAREHOUSE = "warehouse"
    PURCHASING = "purchasing"
    PRODUCT_MANAGER = "product_manager"
    DEPARTMENT_MANAGER = "department_manager"
    FINANCE = "finance"
    DATA_ANALYST = "data_analyst"
    ADMINISTRATOR = "administrator"
    SYSTEM = "system"


class Permission(StrEnum):
    """
    A right to perform one kind of act.

    Values are ``area.act``; capabilities add members as they land.
    """

    AUDIT_READ = "audit.read"
    OUTBOX_MANAGE = "outbox.manage"
    TIMERS_RUN = "timers.run"
    SHOP_ADMINISTER = "shop.administer"
    PERSONAL_DATA_READ = "personal_data.read"
    PERSONAL_DATA_ERASE = "personal_data.erase"
    POLICY_PROPOSE = "policy.propose"
    POLICY_APPROVE = "policy.approve"
    APPROVAL_DECIDE = "approval.decide"
    CATALOG_EDIT = "catalog.edit"
    LISTING_REVIEW = "listing.review"
    PRICE_APPROVE = "price.approve"
    CHANNEL_SYNC = "channel.sync"
    STOCK_READ = "stock.read"
    STOCK_RECEIVE = "stock.receive"
    STOCK_COUNT = "stock.count"
    STOCK_ADJUST = "stock.adjust"
    STOCK_THRESHOLD = "stock.threshold"
    VARIANCE_APPROVE = "stock.variance_approve"
    VARIANCE_APPROVE_LARGE = "stock.variance_approve_large"
    WAREHOUSE_MANAGE = "warehouse.manage"
    PURCHASE_ORDER = "purchase.order"
    SUPPLIER_MANAGE = "supplier.manage"
    ORDER_INGEST = "order.ingest"
    ORDER_READ = "order.read"
    ORDER_HOLD = "order.hold"
    ORDER_CONFIRM = "order.confirm"
    ORDER_EDIT = "order.edit"
    ORDER_CANCEL = "order.cancel"
    ORDER_SHIP = "order.ship"
    ORDER_EXPORT = "order.export"
    LOGISTICS_MANAGE = "logistics.manage"
    FREIGHT_RECONCILE = "freight.reconcile"


def _frozen(mapping: Mapping[Role, Iterable[Permission]]) -> Mapping[Role, frozenset[Permission]]:
    return MappingProxyType({role: frozenset(perms) for role, perms in mapping.items()})


ROLE_PERMISSIONS: Final[Mapping[Role, frozenset[Permission]]] = _frozen(
    {
        Role.OPERATIONS: {
            Permission.ORDER_EXPORT,
            Permission.ORDER_READ,
            Permission.ORDER_HOLD,
            Permission.ORDER_CONFIRM,
            Permission.ORDER_EDIT,
            Permission.ORDER_CANCEL,
            Permission.POLICY_PROPOSE,
            Permission.CATALOG_EDIT,
            Permission.CHANNEL_SYNC,
            Permission.STOCK_READ,
        },
        Role.CUSTOMER_SERVICE: {
            Permission.ORDER_READ,
            Permission.ORDER_HOLD,
            Permission.ORDER_CONFIRM,
            Permission.ORDER_EDIT,
            Permission.ORDER_CANCEL,
            Permission.PERSONAL_DATA_READ,
            Permission.STOCK_READ,
        },
        Role.LOGISTICS: {
            Permission.LOGISTICS_MANAGE,
            Permission.FREIGHT_RECONCILE,
            Permission.ORDER_SHIP,
            Permission.ORDER_READ,
            Permission.PERSONAL_DATA_READ,
            Permission.STOCK_READ,
        },
        Role.WAREHOUSE: {
            Permission.ORDER_READ,
            Permission.STOCK_READ,
            Permission.STOCK_RECEIVE,
            Permission.STOCK_COUNT,
        },
        Role.PURCHASING: {
            Permission.ORDER_READ,
            Permission.STOCK_READ,
            Permission.STOCK_THRESHOLD,
            Permission.PURCHASE_ORDER,
            Permission.SUPPLIER_MANAGE,
        },
        Role.PRODUCT_MANAGER: {
            Permission.ORDER_READ,
            Permission.POLICY_PROPOSE,
            Permission.APPROVAL_DECIDE,
            Permission.CATALOG_EDIT,
            Permission.LISTING_REVIEW,
            Permission.PRICE_APPROVE,
            Permission.STOCK_READ,
        },
        Role.DEPARTMENT_MANAGER: {
            Permission.LOGISTICS_MANAGE,
            Permission.FREIGHT_RECONCILE,
            Permission.ORDER_EXPORT,
            Permission.ORDER_READ,
            Permission.ORDER_HOLD,
            Permission.ORDER_CONFIRM,
            Permission.ORDER_EDIT,
            Permission.ORDER_CANCEL,
            Permission.AUDIT_READ,
            Permission.PERSONAL_DATA_READ,
            Permission.PERSONAL_DATA_ERASE,
            Permission.POLICY_PROPOSE,
            Permission.POLICY_APPROVE,
            Permission.APPROVAL_DECIDE,
            Permission.PRICE_APPROVE,
            Permission.STOCK_READ,
            Permission.STOCK_ADJUST,
            Permission.STOCK_THRESHOLD,
            Permission.VARIANCE_APPROVE,
            Permission.VARIANCE_APPROVE_LARGE,
            Permission.WAREHOUSE_MANAGE,
        },
        Role.FINANCE: {
            Permission.FREIGHT_RECONCILE,
            Permission.ORDER_EXPORT,
            Permission.ORDER_READ,
            Permission.AUDIT_READ,
            Permission.APPROVAL_DECIDE,
            Permission.STOCK_READ,
            Permission.VARIANCE_APPROVE,
        },
        Role.DATA_ANALYST: {Permission.ORDER_EXPORT, Permission.ORDER_READ, Permission.STOCK_READ},
        Role.ADMINISTRATOR: {
            Permission.AUDIT_READ,
            Permission.OUTBOX_MANAGE,
            Permission.TIMERS_RUN,
            Permission.SHOP_ADMINISTER,
            Permission.PERSONAL_DATA_ERASE,
            Permission.POLICY_PROPOSE,
            Permission.WAREHOUSE_MANAGE,
        },
        Role.SYSTEM: {
            Permission.ORDER_SHIP,
            Permission.ORDER_INGEST,
            Permission.ORDER_READ,
            Permission.ORDER_CONFIRM,
            Permission.ORDER_EDIT,
            Permission.ORDER_CANCEL,
            Permission.OUTBOX_MANAGE,
            Permission.TIMERS_RUN,
            Permission.CHANNEL_SYNC,
            Permission.STOCK_READ,
        },
    }
)
"""The role matrix: each role's permissions. An actor holds the union of its roles'."""


def _to_roles(value: Iterable[Role | str]) -> frozenset[Role]:
    if isinstance(value, str):
        raise InvalidInputError("roles", "give a collection of roles, not one string")
    roles: set[Role] = set()
    for item in value:
        try:
            roles.add(Role(item))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise InvalidInputError("roles", f"unknown role {item!r}; known roles: {known}") from None
    return frozenset(roles)


def _check_id(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _ACTOR_ID.match(value):
        raise InvalidInputError(
            "actor.id", f"{value!r} is not a valid actor id (letters, digits and . _ @ : + -, up to 128)"
        )


@attrs.frozen
class Actor:
    """
    Someone (or something) acting on the shop.

    Args:
        id: A stable identifier (login name, staff number, ``system:<name>``).
        roles: The roles held.
        display_name: Optional name for displays.

    Example:
        >>> Actor("li.ming", roles={"operations"}).roles
        frozenset({<Role.OPERATIONS: 'operations'>})
    """

    id: str = attrs.field(validator=_check_id)
    roles: frozenset[Role] = attrs.field(factory=frozenset, converter=_to_roles)
    display_name: str | None = attrs.field(default=None, eq=False)

    @classmethod
    def system(cls, name: str) -> Actor:
        """
        Return the system actor ``name`` (e.g. ``"channel:tmall"``, ``"scheduler"``).

        System actors hold :attr:`Role.SYSTEM`; their ids start with ``system:``.
        """
        if not isinstance(name, str) or not name:
            raise InvalidInputError("name", "a system actor needs a name")
        return cls(f"{_SYSTEM_PREFIX}{name}", roles={Role.SYSTEM})

    @property
    def is_system(self) -> bool:
        """Whether this is an automated (system) actor."""
        return Role.SYSTEM in self.roles and self.id.startswith(_SYSTEM_PREFIX)

    @property
    def system_name(self) -> str | None:
        """The name given to :meth:`system`, or ``None`` for people."""
        return self.id.removeprefix(_SYSTEM_PREFIX) if self.is_system else None

    def has_role(self, role: Role) -> bool:
        """Whether the actor holds ``role``."""
        return role in self.roles


def permissions_of(
    actor: Actor, matrix: Mapping[Role, frozenset[Permission]] = ROLE_PERMISSIONS
) -> frozenset[Permission]:
    """Return every permission ``actor`` holds through its roles."""
    granted: set[Permission] = set()
    for role in actor.roles:
        granted |= matrix.get(role, frozenset())
    return frozenset(granted)


def authorize(
    actor: Actor,
    permission: Permission,
    *,
    matrix: Mapping[Role, frozenset[Permission]] = ROLE_PERMISSIONS,
) -> None:
    """
    Return if ``actor`` holds ``permission``; raise :class:`PermissionDeniedError` otherwise.

    Args:
        actor: Who acts.
        permission: What they want to do.
        matrix: The role matrix to consult (the default one unless a shop overrides it).
    """
    if not isinstance(actor, Actor):
        raise InvalidInputError("actor", f"expected an Actor, got {type(actor).__name__}")
    if permission not in permissions_of(actor, matrix):
        raise PermissionDeniedError(actor.id, permission.value)
