"""
Named ports of the catalog.

:class:`SkuRegistry` keeps every SKU unique across the whole catalog: stock,
orders and channel listings key on the SKU, so two products must never share
one. Claiming is one atomic act per backend (a unique key in SQL).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from eshop_core.errors import InvalidInputError

__all__ = ["MemorySkuRegistry", "SkuRegistry", "sku_taken"]


def sku_taken(sku: str, owner: uuid.UUID, *, index: int) -> InvalidInputError:
    """The error for a SKU that another product holds already."""
    return InvalidInputError(f"variants.{index}.sku", f"SKU {sku} belongs to product {owner} already")


@runtime_checkable
class SkuRegistry(Protocol):
    """Which product owns each SKU."""

    def claim(self, skus: Sequence[str], product_id: uuid.UUID) -> None:
        """
        Record ``product_id`` as the owner of every SKU in ``skus``, all or none.

        Raises:
            InvalidInputError: ``variants.<i>.sku`` when another product owns one already.
        """
        ...

    def owner(self, sku: str) -> uuid.UUID | None:
        """Return the product owning ``sku``, or ``None``."""
        ...


class MemorySkuRegistry:
    """The memory backend's :class:`SkuRegistry`."""

    def __init__(self, uow: Any) -> None:
        self._uow = uow
        self._owners: dict[str, uuid.UUID] = uow.table("catalog_skus")

    def claim(self, skus: Sequence[str], product_id: uuid.UUID) -> None:
        """Claim the SKUs for ``product_id``, all or none."""
        for index, sku in enumerate(skus):
            owner = self._owners.get(sku)
            if owner is not None and owner != product_id:
                raise sku_taken(sku, owner, index=index)
        for sku in skus:
            self._uow.put(self._owners, sku, product_id)

    def owner(self, sku: str) -> uuid.UUID | None:
        """Return the owner of ``sku``."""
        return self._owners.get(sku)
