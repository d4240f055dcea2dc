"""
The registry of aggregate mappings: which tables store which aggregate.

Each aggregate the SQL backend stores has a module here declaring its tables
and its :class:`~eshop_adapters.storage.mapping.AggregateMapping`; importing
this package imports them all (so their tables are on the shared metadata).
Plug-ins storing their own aggregates call :func:`register_mapping`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from eshop_adapters.storage.mapping import AggregateMapping
from eshop_adapters.storage.mappings.approvals import APPROVAL_REQUEST_MAPPING
from eshop_adapters.storage.mappings.catalog import LISTING_MAPPING, PRODUCT_MAPPING
from eshop_adapters.storage.mappings.inventory import (
    STOCK_COUNT_MAPPING,
    SUGGESTION_MAPPING,
    WAREHOUSE_MAPPING,
)
from eshop_adapters.storage.mappings.logistics import (
    CARRIER_MAPPING,
    FREIGHT_BILL_MAPPING,
    LOGISTICS_EXCEPTION_MAPPING,
)
from eshop_adapters.storage.mappings.orders import ORDER_MAPPING
from eshop_adapters.storage.mappings.policies import POLICY_SET_MAPPING
from eshop_adapters.storage.mappings.purchasing import PURCHASE_ORDER_MAPPING, SUPPLIER_MAPPING
from eshop_adapters.storage.mappings.shipping import SHIPMENT_MAPPING
from eshop_adapters.storage.mappings.testkit import WIDGET_MAPPING
from eshop_core.domain import Aggregate
from eshop_core.errors import StorageError

__all__ = ["MAPPINGS", "mapping_for", "register_mapping"]

A = TypeVar("A", bound=Aggregate)

MAPPINGS: dict[type[Any], AggregateMapping[Any]] = {
    WIDGET_MAPPING.aggregate_type: WIDGET_MAPPING,
    POLICY_SET_MAPPING.aggregate_type: POLICY_SET_MAPPING,
    APPROVAL_REQUEST_MAPPING.aggregate_type: APPROVAL_REQUEST_MAPPING,
    PRODUCT_MAPPING.aggregate_type: PRODUCT_MAPPING,
    LISTING_MAPPING.aggregate_type: LISTING_MAPPING,
    WAREHOUSE_MAPPING.aggregate_type: WAREHOUSE_MAPPING,
    STOCK_COUNT_MAPPING.aggregate_type: STOCK_COUNT_MAPPING,
    SUGGESTION_MAPPING.aggregate_type: SUGGESTION_MAPPING,
    SUPPLIER_MAPPING.aggregate_type: SUPPLIER_MAPPING,
    PURCHASE_ORDER_MAPPING.aggregate_type: PURCHASE_ORDER_MAPPING,
    ORDER_MAPPING.aggregate_type: ORDER_MAPPING,
    SHIPMENT_MAPPING.aggregate_type: SHIPMENT_MAPPING,
    CARRIER_MAPPING.aggregate_type: CARRIER_MAPPING,
    FREIGHT_BILL_MAPPING.aggregate_type: FREIGHT_BILL_MAPPING,
    LOGISTICS_EXCEPTION_MAPPING.aggregate_type: LOGISTICS_EXCEPTION_MAPPING,
}
"""Mappings by aggregate type."""


def register_mapping(mapping: AggregateMapping[Any]) -> None:
    """
    Register the mapping of an aggregate type (replacing an earlier one).

    Raises:
        StorageError: ``mapping`` is not an :class:`AggregateMapping`.
    """
    if not isinstance(mapping, AggregateMapping):
        raise StorageError(f"expected an AggregateMapping, got {type(mapping).__name__}")
    MAPPINGS[mapping.aggregate_type] = mapping


def mapping_for(aggregate_type: type[A]) -> AggregateMapping[A]:
    """
    Return the mapping of ``aggregate_type``.

    Raises:
        StorageError: The SQL backend has no mapping (no tables) for it.
    """
    mapping = MAPPINGS.get(aggregate_type)
    if mapping is None:
        name = getattr(aggregate_type, "__name__", repr(aggregate_type))
        raise StorageError(
            f"the sql backend cannot store aggregate {name}: no mapping registered "
            "(add one in eshop_adapters/storage/mappings/ or call register_mapping)"
        )
    return mapping
