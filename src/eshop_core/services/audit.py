"""
``shop.audit``: read the append-only audit log (GOV-05).

Every committed event leaves one entry — who, what, when, on which object and
under which policy version — written in the same transaction as the change.
Reading it needs the ``audit.read`` permission.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from eshop_core.access import Actor, Permission, authorize
from eshop_core.ids import parse_id
from eshop_core.storage.ports import AuditEntry, AuditLog, Page

if TYPE_CHECKING:
    from eshop_core.shop import Shop

__all__ = ["AuditService"]


class AuditService:
    """Reads the audit log."""

    def __init__(self, shop: Shop) -> None:
        self._shop = shop

    def entries(
        self,
        actor: Actor,
        *,
        aggregate_id: uuid.UUID | str | None = None,
        actor_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[AuditEntry]:
        """
        Return one page of audit entries in log order.

        Args:
            actor: Who asks (needs ``audit.read``).
            aggregate_id: Only entries about this object.
            actor_id: Only entries by this actor.
            limit: Page size.
            cursor: ``next_cursor`` of the previous page.
        """
        authorize(actor, Permission.AUDIT_READ)
        key = parse_id(aggregate_id, field="aggregate_id") if aggregate_id is not None else None
        with self._shop.unit_of_work(actor) as uow:
            return uow.port(AuditLog).entries(aggregate_id=key, actor_id=actor_id, limit=limit, cursor=cursor)
