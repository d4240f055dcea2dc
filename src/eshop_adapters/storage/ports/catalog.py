"""
The SQL :class:`~eshop_core.storage.catalog_ports.SkuRegistry`: a table keyed by SKU.

The primary key makes a SKU's owner unique even between concurrent units of
work; the clash is looked up first so the caller gets a typed error naming the
variant, with nothing written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam, select

from eshop_adapters.storage.mappings.catalog import catalog_skus
from eshop_adapters.storage.sql import SqlUnitOfWork
from eshop_core.storage.catalog_ports import sku_taken

__all__ = ["SqlSkuRegistry"]

_OWNERS = select(catalog_skus.c.sku, catalog_skus.c.product_id).where(
    catalog_skus.c.sku.in_(bindparam("skus", expanding=True))
)


class SqlSkuRegistry:
    """SKU ownership in ``catalog_skus``."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def claim(self, skus: Sequence[str], product_id: uuid.UUID) -> None:
        """Claim the SKUs for ``product_id``, all or none."""
        if not skus:
            return
        owners = {row.sku: row.product_id for row in self._uow.rows(_OWNERS, {"skus": list(skus)})}
        for index, sku in enumerate(skus):
            owner = owners.get(sku)
            if owner is not None and owner != product_id:
                raise sku_taken(sku, owner, index=index)
        fresh = [{"sku": sku, "product_id": product_id} for sku in skus if sku not in owners]
        self._uow.insert_many(catalog_skus, fresh)

    def owner(self, sku: str) -> uuid.UUID | None:
        """Return the owner of ``sku``."""
        row = self._uow.first(_OWNERS, {"skus": [sku]})
        return None if row is None else row.product_id
