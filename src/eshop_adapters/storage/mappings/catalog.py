"""
Tables of the catalog: ``products`` and ``listings`` with their child tables.

``products`` has ``product_variants`` and ``product_images``; ``listings`` has
``channel_listings``.

Small value lists — book details, quality checks, price history, listing
steps and channels — are JSON documents on the root row, money as strings.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Boolean, Column, Integer, PrimaryKeyConstraint, String, Table, Text

from eshop_adapters.storage.mapping import (
    AggregateMapping,
    ChildTable,
    Rows,
    child_parent_column,
    id_column,
    money_columns,
    money_from,
    money_values,
    version_column,
)
from eshop_adapters.storage.metadata import METADATA
from eshop_adapters.storage.types import JSON_DOCUMENT, UUID, UTCDateTime
from eshop_core.domain.catalog import (
    BookDetails,
    ChannelListing,
    ChannelState,
    Listing,
    ListingState,
    ListingStep,
    PriceChange,
    Product,
    ProductImage,
    QualityCheck,
    Variant,
)
from eshop_core.money import Money

__all__ = [
    "LISTING_MAPPING",
    "PRODUCT_MAPPING",
    "ListingMapping",
    "ProductMapping",
    "catalog_skus",
    "channel_listings",
    "listings",
    "product_images",
    "product_variants",
    "products",
]

catalog_skus: Final = Table(
    "catalog_skus",
    METADATA,
    Column("sku", String(64), primary_key=True),
    Column("product_id", UUID, nullable=False, index=True),
)
"""Which product owns each SKU (unique across the catalog)."""

products: Final = Table(
    "products",
    METADATA,
    id_column(),
    version_column(),
    Column("name", String(200), nullable=False, index=True),
    Column("description", Text, nullable=False),
    Column("shipping_method", String(64), nullable=False),
    Column("book", JSON_DOCUMENT, nullable=True),
    Column("arrived_at", UTCDateTime(), nullable=True),
    Column("quality_checks", JSON_DOCUMENT, nullable=False),
    Column("price_history", JSON_DOCUMENT, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

product_variants: Final = Table(
    "product_variants",
    METADATA,
    child_parent_column(products),
    Column("position", Integer, nullable=False),
    Column("sku", String(64), nullable=False, index=True),
    Column("attributes", JSON_DOCUMENT, nullable=False),
    *money_columns("price"),
    Column("barcode", String(13), nullable=True),
    Column("available", Boolean, nullable=False),
    Column("unavailable_reason", Text, nullable=True),
    PrimaryKeyConstraint("parent_id", "position"),
)

product_images: Final = Table(
    "product_images",
    METADATA,
    child_parent_column(products),
    Column("position", Integer, nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("checksum", String(128), nullable=False),
    PrimaryKeyConstraint("parent_id", "position"),
)

listings: Final = Table(
    "listings",
    METADATA,
    id_column(),
    version_column(),
    Column("product_id", UUID, nullable=False, index=True),
    Column("channels", JSON_DOCUMENT, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("approval_request_id", UUID, nullable=True),
    Column("rejection_reason", Text, nullable=True),
    Column("steps", JSON_DOCUMENT, nullable=False),
)

channel_listings: Final = Table(
    "channel_listings",
    METADATA,
    child_parent_column(listings),
    Column("position", Integer, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("external_id", String(128), nullable=True),
    Column("last_sync_result", Text, nullable=True),
    Column("needs_push", Boolean, nullable=False),
    Column("published_at", UTCDateTime(), nullable=True),
    PrimaryKeyConstraint("parent_id", "position"),
)


def _money(money: Money) -> dict[str, str]:
    return {"amount": str(money.amount), "currency": money.currency}


def _from_money(data: Mapping[str, Any]) -> Money:
    return Money.of(data["amount"], data["currency"])


def _time(value: datetime) -> str:
    return value.isoformat()


def _book(book: BookDetails | None) -> dict[str, Any] | None:
    if book is None:
        return None
    return {
        "title": book.title,
        "author": book.author,
        "publisher": book.publisher,
        "isbn": book.isbn,
        "edition": book.edition,
        "synopsis": book.synopsis,
        "list_price": _money(book.list_price),
    }


def _load_book(data: Mapping[str, Any] | None) -> BookDetails | None:
    if data is None:
        return None
    return BookDetails(
        title=data["title"],
        author=data["author"],
        publisher=data["publisher"],
        isbn=data["isbn"],
        edition=data["edition"],
        synopsis=data["synopsis"],
        list_price=_from_money(data["list_price"]),
    )


class ProductMapping(AggregateMapping[Product]):
    """Maps :class:`~eshop_core.domain.catalog.Product` onto ``products`` and its child tables."""

    def __init__(self) -> None:
        super().__init__(
            Product, products, children=[ChildTable(product_variants), ChildTable(product_images)]
        )

    def dump(self, aggregate: Product) -> dict[str, Any]:
        """Return the product's plain columns."""
        return {
            "name": aggregate.name,
            "description": aggregate.description,
            "shipping_method": aggregate.shipping_method,
            "book": _book(aggregate.book),
            "arrived_at": aggregate.arrived_at,
            "quality_checks": [
                {"passed": q.passed, "checker": q.checker, "notes": q.notes, "at": _time(q.at)}
                for q in aggregate.quality_checks
            ],
            "price_history": [
                {
                    "sku": p.sku,
                    "old_price": _money(p.old_price),
                    "new_price": _money(p.new_price),
                    "reason": p.reason,
                    "requested_by": p.requested_by,
                    "approved_by": p.approved_by,
                    "at": _time(p.at),
                    "policy_version": p.policy_version,
                }
                for p in aggregate.price_history
            ],
            "created_by": aggregate.created_by,
            "created_at": aggregate.created_at,
        }

    def dump_children(self, aggregate: Product) -> Rows:
        """Return the variant and image rows."""
        return {
            product_variants.name: [
                {
                    "sku": v.sku,
                    "attributes": [list(pair) for pair in v.attributes],
                    **money_values("price", v.price),
                    "barcode": v.barcode,
                    "available": v.available,
                    "unavailable_reason": v.unavailable_reason,
                }
                for v in aggregate.variants
            ],
            product_images.name: [
                {"file_name": i.file_name, "kind": i.kind.value, "checksum": i.checksum}
                for i in aggregate.images
            ],
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> Product:
        """Build the product from its rows."""
        variants = []
        for row in children.get(product_variants.name, ()):
            price = money_from(row, "price")
            assert price is not None  # the columns are not nullable
            variants.append(
                Variant(
                    sku=row["sku"],
                    attributes=tuple((n, v) for n, v in row["attributes"]),
                    price=price,
                    barcode=row["barcode"],
                    available=bool(row["available"]),
                    unavailable_reason=row["unavailable_reason"],
                )
            )
        return Product(
            id=values["id"],
            version=values["version"],
            name=values["name"],
            description=values["description"],
            shipping_method=values["shipping_method"],
            variants=variants,
            images=[
                ProductImage(file_name=row["file_name"], kind=row["kind"], checksum=row["checksum"])
                for row in children.get(product_images.name, ())
            ],
            book=_load_book(values["book"]),
            arrived_at=values["arrived_at"],
            quality_checks=[
                QualityCheck(
                    passed=q["passed"],
                    checker=q["checker"],
                    notes=q["notes"],
                    at=datetime.fromisoformat(q["at"]),
                )
                for q in values["quality_checks"]
            ],
            price_history=[
                PriceChange(
                    sku=p["sku"],
                    old_price=_from_money(p["old_price"]),
                    new_price=_from_money(p["new_price"]),
                    reason=p["reason"],
                    requested_by=p["requested_by"],
                    approved_by=p["approved_by"],
                    at=datetime.fromisoformat(p["at"]),
                    policy_version=p["policy_version"],
                )
                for p in values["price_history"]
            ],
            created_by=values["created_by"],
            created_at=values["created_at"],
        )


class ListingMapping(AggregateMapping[Listing]):
    """Maps :class:`~eshop_core.domain.catalog.Listing` onto ``listings`` and ``channel_listings``."""

    def __init__(self) -> None:
        super().__init__(Listing, listings, children=[ChildTable(channel_listings)])

    def dump(self, aggregate: Listing) -> dict[str, Any]:
        """Return the listing's plain columns."""
        return {
            "product_id": aggregate.product_id,
            "channels": list(aggregate.channels),
            "state": aggregate.state.value,
            "approval_request_id": aggregate.approval_request_id,
            "rejection_reason": aggregate.rejection_reason,
            "steps": [
                {
                    "action": s.action,
                    "by": s.by,
                    "at": _time(s.at),
                    "note": s.note,
                    "policy_version": s.policy_version,
                }
                for s in aggregate.steps
            ],
        }

    def dump_children(self, aggregate: Listing) -> Rows:
        """Return one row per channel listing."""
        return {
            channel_listings.name: [
                {
                    "channel": c.channel,
                    "state": c.state.value,
                    "external_id": c.external_id,
                    "last_sync_result": c.last_sync_result,
                    "needs_push": c.needs_push,
                    "published_at": c.published_at,
                }
                for c in aggregate.channel_listings
            ]
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> Listing:
        """Build the listing from its rows."""
        request_id = values["approval_request_id"]
        return Listing(
            id=values["id"],
            version=values["version"],
            product_id=values["product_id"],
            channels=tuple(values["channels"]),
            state=ListingState(values["state"]),
            approval_request_id=None if request_id is None else uuid.UUID(str(request_id)),
            rejection_reason=values["rejection_reason"],
            channel_listings=[
                ChannelListing(
                    channel=row["channel"],
                    state=ChannelState(row["state"]),
                    external_id=row["external_id"],
                    last_sync_result=row["last_sync_result"],
                    needs_push=bool(row["needs_push"]),
                    published_at=row["published_at"],
                )
                for row in children.get(channel_listings.name, ())
            ],
            steps=[
                ListingStep(
                    action=s["action"],
                    by=s["by"],
                    at=datetime.fromisoformat(s["at"]),
                    note=s["note"],
                    policy_version=s["policy_version"],
                )
                for s in values["steps"]
            ],
        )


PRODUCT_MAPPING: Final = ProductMapping()
"""The Product mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""

LISTING_MAPPING: Final = ListingMapping()
"""The Listing mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""
