"""
The catalog: products with variants, and listings reviewed before they go live (CAT-01..09).

A :class:`Product` holds what a shop sells: its name, description, shipping
method, :class:`Variant` values (one per SKU, with attributes such as colour
and size, a price and an optional EAN-13 barcode), :class:`ProductImage`
metadata (files named by SKU), optional :class:`BookDetails` (ISBN validated,
stored as ISBN-13), the quality checks it went through (CAT-07), its arrival
date (CAT-08) and its price history (CAT-06).

A :class:`Listing` asks to sell one product on some channels. It moves through
:data:`LISTING_LIFECYCLE`::

    draft → submitted → approved | rejected → published → delisted

and keeps one :class:`ChannelListing` per channel it is live on (CAT-03).
Every step records who and when (CAT-02). :func:`completeness_gaps` names
every field a product still lacks before it may be listed (CAT-01).

Example:
    >>> from datetime import datetime, timezone
    >>> from eshop_core import Actor, Money, Role
    >>> from eshop_core.domain.catalog import Product, Variant, completeness_gaps
    >>> li = Actor("li.ming", roles={Role.OPERATIONS})
    >>> at = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)
    >>> mug = Product.create(
    ...     name="Blue mug", description="", shipping_method="express",
    ...     variants=[Variant(sku="MUG-BLUE", attributes=(("colour", "blue"),),
    ...                       price=Money.of("39.00", "CNY"))],
    ...     by=li, at=at)
    >>> completeness_gaps(mug, min_detail_images=5)
    ('description', 'images.main', 'images.detail')
    >>> Variant(sku="MUG BLUE", price=Money.of("1", "CNY"))
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidInputError: invalid sku: 'MUG BLUE' is not a SKU (1-64 letters, digits, -, _)
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import attrs
from stdnum import ean, isbn
from stdnum.exceptions import ValidationError

from eshop_core.access import Actor
from eshop_core.clock import ensure_aware
from eshop_core.domain._aggregate import Aggregate
from eshop_core.domain._lifecycle import Lifecycle
from eshop_core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    PolicyViolationError,
)
from eshop_core.events import DomainEvent
from eshop_core.ids import parse_id
from eshop_core.money import Money

__all__ = [
    "CHANNELS",
    "LISTING_LIFECYCLE",
    "BookDetails",
    "ChannelListing",
    "ChannelState",
    "ChannelSyncRecorded",
    "ImageKind",
    "Listing",
    "ListingApproved",
    "ListingDelisted",
    "ListingDrafted",
    "ListingPublished",
    "ListingPushRequested",
    "ListingRejected",
    "ListingState",
    "ListingStep",
    "ListingSubmitted",
    "PriceChange",
    "PriceChanged",
    "Product",
    "ProductContentUpdated",
    "ProductCreated",
    "ProductImage",
    "QualityCheck",
    "QualityChecked",
    "Variant",
    "VariantMarkedUnavailable",
    "check_channel",
    "check_isbn",
    "check_sku",
    "completeness_gaps",
]

CHANNELS: Final = ("tmall", "jd", "1688", "taobao", "shopify", "woocommerce", "amazon")
"""The sales channels a listing may name (CAT-03)."""

_SKU: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_TEXT: Final = 2000
_MAX_DESCRIPTION: Final = 20000
_MAX_NAME: Final = 200


def _text(field: str, value: object, *, limit: int = _MAX_TEXT, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(field, f"expected a string, got {type(value).__name__}")
    text = value.strip()
    if not text and not allow_empty:
        raise InvalidInputError(field, "must be a non-empty string")
    if len(text) > limit:
        raise InvalidInputError(field, f"must be at most {limit} characters")
    return text


def _actor(value: object) -> Actor:
    if not isinstance(value, Actor):
        raise InvalidInputError("by", f"expected an Actor, got {type(value).__name__}")
    return value


def check_sku(value: object, *, field: str = "sku") -> str:
    """
    Return ``value`` if it is a SKU: letters, digits, ``-`` and ``_``, 1 to 64 characters.

    Raises:
        InvalidInputError: Naming ``field``.
    """
    if not isinstance(value, str) or not _SKU.match(value):
        raise InvalidInputError(field, f"{value!r} is not a SKU (1-64 letters, digits, -, _)")
    return value


def _barcode(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError("barcode", f"expected a string, got {type(value).__name__}")
    code = ean.compact(value)
    try:
        if len(code) != 13:
            raise ValidationError
        return str(ean.validate(code))
    except ValidationError:
        raise InvalidInputError("barcode", f"{value!r} is not a valid EAN-13 barcode") from None


def check_isbn(value: object, *, field: str = "isbn") -> str:
    """
    Return ``value`` (ISBN-10 or ISBN-13) as a compact ISBN-13.

    Example:
        >>> check_isbn("0-306-40615-2")
        '9780306406157'

    Raises:
        InvalidInputError: Not a valid ISBN, naming ``field``.
    """
    if not isinstance(value, str):
        raise InvalidInputError(field, f"expected a string, got {type(value).__name__}")
    try:
        return str(isbn.to_isbn13(isbn.validate(value)))
    except ValidationError:
        raise InvalidInputError(field, f"{value!r} is not a valid ISBN-10 or ISBN-13") from None


def check_channel(value: object, *, field: str = "channels") -> str:
    """
    Return ``value`` if it names a known channel (:data:`CHANNELS`).

    Raises:
        InvalidInputError: An unknown channel, named.
    """
    if not isinstance(value, str) or value not in CHANNELS:
        raise InvalidInputError(field, f"unknown channel {value!r}; known: {', '.join(CHANNELS)}")
    return value


def _attributes(value: object) -> tuple[tuple[str, str], ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInputError("attributes", "give (name, value) pairs")
    items: Iterable[Any] = value.items() if isinstance(value, dict) else value
    out: list[tuple[str, str]] = []
    for pair in items:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise InvalidInputError("attributes", f"expected a (name, value) pair, got {pair!r}")
        name = _text("attributes.name", pair[0], limit=64)
        if name in (n for n, _ in out):
            raise InvalidInputError("attributes", f"attribute {name!r} is given twice")
        out.append((name, _text(f"attributes.{name}", pair[1], limit=200)))
    return tuple(out)


def _price(_instance: object, attribute: attrs.Attribute[Money], value: object) -> None:
    if not isinstance(value, Money):
        raise InvalidInputError(attribute.name, f"expected Money, got {type(value).__name__}")
    if value.amount < 0 or not value.is_rounded:
        raise InvalidInputError(
            attribute.name, f"must be a non-negative amount in whole minor units: {value}"
        )


def _optional_reason(value: object) -> str | None:
    return None if value is None else _text("unavailable_reason", value)


@attrs.frozen(kw_only=True)
class Variant:
    """
    One sellable variant of a product, identified by its SKU.

    Attributes:
        sku: The stock-keeping unit (letters, digits, ``-``, ``_``; 1 to 64).
        attributes: ``(name, value)`` pairs such as ``("colour", "blue")``.
        price: The selling price.
        barcode: An EAN-13 barcode, if it has one.
        available: ``False`` once sold out for a long time (CAT-09).
        unavailable_reason: Why it was marked unavailable.
    """

    sku: str = attrs.field(validator=lambda _i, _a, v: check_sku(v))
    attributes: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_attributes)
    price: Money = attrs.field(validator=_price)
    barcode: str | None = attrs.field(default=None, converter=_barcode)
    available: bool = True
    unavailable_reason: str | None = attrs.field(default=None, converter=_optional_reason)


class ImageKind(StrEnum):
    """What an image shows: the ``main`` picture or a selling-point ``detail``."""

    MAIN = "main"
    DETAIL = "detail"


def _kind(value: object) -> ImageKind:
    try:
        return ImageKind(str(value))
    except ValueError:
        raise InvalidInputError("kind", f"unknown image kind {value!r}; known: main, detail") from None


def _file_name(_i: object, _a: attrs.Attribute[str], value: str) -> None:
    name = _text("file_name", value, limit=255)
    if "/" in name or "\\" in name:
        raise InvalidInputError("file_name", f"{value!r} must be a file name, not a path")


def _checksum(_i: object, _a: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{8,128}", value):
        raise InvalidInputError("checksum", f"{value!r} is not a lowercase hex digest")


@attrs.frozen(kw_only=True)
class ProductImage:
    """
    Metadata of one product image; the bytes live in a blob store (CAT-08).

    Attributes:
        file_name: Starts with the SKU of one of the product's variants.
        kind: :class:`ImageKind`.
        checksum: Lowercase hex digest of the bytes.
    """

    file_name: str = attrs.field(validator=_file_name)
    kind: ImageKind = attrs.field(converter=_kind)
    checksum: str = attrs.field(validator=_checksum)


def _book_title(value: object) -> str:
    return _text("book.title", value, limit=500)


def _book_author(value: object) -> str:
    return _text("book.author", value, limit=500)


def _book_publisher(value: object) -> str:
    return _text("book.publisher", value, limit=500)


def _book_edition(value: object) -> str:
    return _text("book.edition", value, limit=200, allow_empty=True)


def _book_synopsis(value: object) -> str:
    return _text("book.synopsis", value, limit=_MAX_DESCRIPTION, allow_empty=True)


def _book_isbn(value: object) -> str:
    return check_isbn(value, field="book.isbn")


@attrs.frozen(kw_only=True)
class BookDetails:
    """
    Book data (CAT-04); each edition is a product of its own.

    Attributes:
        title: The title.
        author: The author(s).
        publisher: The publisher.
        isbn: ISBN-10 or ISBN-13 on input, stored as compact ISBN-13.
        edition: The edition (the description must state it).
        synopsis: A short synopsis.
        list_price: The publisher's list price.
    """

    title: str = attrs.field(converter=_book_title)
    author: str = attrs.field(converter=_book_author)
    publisher: str = attrs.field(converter=_book_publisher)
    isbn: str = attrs.field(converter=_book_isbn)
    edition: str = attrs.field(converter=_book_edition)
    synopsis: str = attrs.field(converter=_book_synopsis)
    list_price: Money = attrs.field(validator=_price)


@attrs.frozen(kw_only=True)
class QualityCheck:
    """
    One quality check of a product before listing (CAT-07).

    Attributes:
        passed: Whether it passed.
        checker: Who checked.
        notes: What was checked and found (misprints, missing pages, damage...).
        at: When.
    """

    passed: bool
    checker: str
    notes: str
    at: datetime


@attrs.frozen(kw_only=True)
class PriceChange:
    """
    One price change in a product's history (CAT-06).

    Attributes:
        sku: The variant.
        old_price: Before.
        new_price: After.
        reason: Why.
        requested_by: Who asked.
        approved_by: Who approved it (``None`` when under the approval threshold).
        at: When it took effect.
        policy_version: The policy version it was decided under.
    """

    sku: str
    old_price: Money
    new_price: Money
    reason: str
    requested_by: str
    approved_by: str | None
    at: datetime
    policy_version: int | None


@attrs.frozen(kw_only=True)
class ProductCreated(DomainEvent):
    """A product was created."""

    name: str
    skus: tuple[str, ...]


@attrs.frozen(kw_only=True)
class QualityChecked(DomainEvent):
    """A quality check was recorded."""

    passed: bool
    notes: str


@attrs.frozen(kw_only=True)
class PriceChanged(DomainEvent):
    """A variant's price changed."""

    sku: str
    old_price: str
    new_price: str
    currency: str
    approved_by: str | None


@attrs.frozen(kw_only=True)
class VariantMarkedUnavailable(DomainEvent):
    """A variant was marked unavailable (sold out, not removed)."""

    sku: str
    reason: str


@attrs.frozen(kw_only=True)
class ProductContentUpdated(DomainEvent):
    """A product's name, description, shipping method or images changed."""

    fields: tuple[str, ...]


def completeness_gaps(product: Product, *, min_detail_images: int) -> tuple[str, ...]:
    """
    Name every field ``product`` still lacks before it may be listed (CAT-01, CAT-04, CAT-08).

    Checks the name, the variants' specification (attributes) and prices,
    stock (at least one available variant), the shipping method, the
    description, a main image and at least ``min_detail_images`` detail images;
    for books the edition, which the description must state.
    """
    gaps: list[str] = []
    if not product.name:
        gaps.append("name")
    if not product.variants:
        gaps.append("variants")
    for variant in product.variants:
        if not variant.attributes:
            gaps.append(f"variants.{variant.sku}.attributes")
        if not variant.price:
            gaps.append(f"variants.{variant.sku}.price")
    if product.variants and not any(v.available for v in product.variants):
        gaps.append("stock")
    if not product.shipping_method:
        gaps.append("shipping_method")
    if not product.description:
        gaps.append("description")
    if not any(i.kind is ImageKind.MAIN for i in product.images):
        gaps.append("images.main")
    if sum(1 for i in product.images if i.kind is ImageKind.DETAIL) < min_detail_images:
        gaps.append("images.detail")
    if product.book is not None:
        if not product.book.edition:
            gaps.append("book.edition")
        elif product.description and product.book.edition not in product.description:
            gaps.append("description.edition")
    return tuple(gaps)


def _check_images(images: Sequence[ProductImage], variants: Sequence[Variant]) -> list[ProductImage]:
    skus = [v.sku for v in variants]
    out: list[ProductImage] = []
    for i, image in enumerate(images):
        if not isinstance(image, ProductImage):
            raise InvalidInputError(f"images.{i}", f"expected a ProductImage, got {type(image).__name__}")
        if not any(image.file_name.startswith(sku) for sku in skus):
            raise InvalidInputError(
                f"images.{i}.file_name", f"{image.file_name!r} does not start with a SKU of the product"
            )
        if image.file_name in (o.file_name for o in out):
            raise InvalidInputError(f"images.{i}.file_name", f"{image.file_name!r} is given twice")
        out.append(image)
    return out


def _check_variants(variants: Sequence[Variant]) -> list[Variant]:
    out: list[Variant] = []
    currencies: set[str] = set()
    for i, variant in enumerate(variants):
        if not isinstance(variant, Variant):
            raise InvalidInputError(f"variants.{i}", f"expected a Variant, got {type(variant).__name__}")
        if variant.sku in (v.sku for v in out):
            raise InvalidInputError(f"variants.{i}.sku", f"SKU {variant.sku} is given twice")
        currencies.add(variant.price.currency)
        out.append(variant)
    if len(currencies) > 1:
        raise InvalidInputError("variants", f"prices must share one currency, got {sorted(currencies)}")
    return out


@attrs.define(kw_only=True, eq=False)
class Product(Aggregate):
    """
    A product with its variants, content, book details, quality checks and price history.

    Attributes:
        name: The product name (filterable).
        description: The selling description.
        shipping_method: How it ships (``"express"``, ``"freight"``...).
        variants: One :class:`Variant` per SKU.
        images: :class:`ProductImage` metadata.
        book: :class:`BookDetails` for books.
        arrived_at: When the goods arrived (the listing deadline runs from it).
        quality_checks: Every quality check, oldest first.
        price_history: Every price change, oldest first.
        created_by: Who created it.
        created_at: When.
    """

    name: str = attrs.field(metadata={"filterable": True})
    description: str = ""
    shipping_method: str = ""
    variants: list[Variant] = attrs.field(factory=list)
    images: list[ProductImage] = attrs.field(factory=list)
    book: BookDetails | None = None
    arrived_at: datetime | None = None
    quality_checks: list[QualityCheck] = attrs.field(factory=list)
    price_history: list[PriceChange] = attrs.field(factory=list)
    created_by: str
    created_at: datetime

    @classmethod
    def create(
        cls,
        *,
        name: str,
        description: str,
        shipping_method: str,
        variants: Sequence[Variant],
        images: Sequence[ProductImage] = (),
        book: BookDetails | None = None,
        arrived_at: datetime | None = None,
        by: Actor,
        at: datetime,
    ) -> Product:
        """
        Create a product and record :class:`ProductCreated`.

        Raises:
            InvalidInputError: Bad or duplicate SKUs, images not named by a SKU, mixed currencies.
        """
        by = _actor(by)
        at = ensure_aware(at, field="at")
        checked = _check_variants(variants)
        if not checked:
            raise InvalidInputError("variants", "a product needs at least one variant")
        if book is not None and not isinstance(book, BookDetails):
            raise InvalidInputError("book", f"expected BookDetails, got {type(book).__name__}")
        product = cls(
            name=_text("name", name, limit=_MAX_NAME, allow_empty=True),
            description=_text("description", description, limit=_MAX_DESCRIPTION, allow_empty=True),
            shipping_method=_text("shipping_method", shipping_method, limit=64, allow_empty=True),
            variants=checked,
            images=_check_images(images, checked),
            book=book,
            arrived_at=None if arrived_at is None else ensure_aware(arrived_at, field="arrived_at"),
            created_by=by.id,
            created_at=at,
        )
        product._record(
            ProductCreated(occurred_at=at, actor=by, name=product.name, skus=tuple(v.sku for v in checked))
        )
        return product

    @property
    def subject(self) -> str:
        """How errors name this product."""
        return f"Product {self.id}"

    @property
    def quality_passed(self) -> bool:
        """Whether the latest quality check passed (``False`` without one)."""
        return bool(self.quality_checks) and self.quality_checks[-1].passed

    def variant(self, sku: str) -> Variant:
        """
        Return the variant ``sku``.

        Raises:
            NotFoundError: The product has no such variant.
        """
        for variant in self.variants:
            if variant.sku == sku:
                return variant
        raise NotFoundError(f"Variant of {self.subject}", sku)

    def _replace_variant(self, new: Variant) -> None:
        self.variants = [new if v.sku == new.sku else v for v in self.variants]

    def record_quality_check(self, *, passed: bool, notes: str, by: Actor, at: datetime) -> None:
        """Record a quality check (CAT-07) and :class:`QualityChecked`."""
        by = _actor(by)
        if not isinstance(passed, bool):
            raise InvalidInputError("passed", f"expected a bool, got {type(passed).__name__}")
        note = _text("notes", notes, allow_empty=True)
        at = ensure_aware(at, field="at")
        self.quality_checks.append(QualityCheck(passed=passed, checker=by.id, notes=note, at=at))
        self._record(QualityChecked(occurred_at=at, actor=by, passed=passed, notes=note))

    def change_price(
        self,
        *,
        sku: str,
        new_price: Money,
        reason: str,
        requested_by: str,
        approved_by: Actor | None,
        by: Actor,
        at: datetime,
        policy_version: int | None,
    ) -> None:
        """
        Apply a (decided) price change, keep it in :attr:`price_history`, record :class:`PriceChanged`.

        Raises:
            NotFoundError: No such variant.
            InvalidInputError: A bad price or one in another currency.
        """
        by = _actor(by)
        at = ensure_aware(at, field="at")
        _price(None, attrs.fields(Variant).price, new_price)
        variant = self.variant(sku)
        if new_price.currency != variant.price.currency:
            raise InvalidInputError(
                "new_price", f"must be in {variant.price.currency} like the current price, got {new_price}"
            )
        note = _text("reason", reason)
        self._replace_variant(attrs.evolve(variant, price=new_price))
        approver = None if approved_by is None else approved_by.id
        self.price_history.append(
            PriceChange(
                sku=sku,
                old_price=variant.price,
                new_price=new_price,
                reason=note,
                requested_by=requested_by,
                approved_by=approver,
                at=at,
                policy_version=policy_version,
            )
        )
        self._record(
            PriceChanged(
                occurred_at=at,
                actor=by,
                policy_version=policy_version,
                sku=sku,
                old_price=str(variant.price.amount),
                new_price=str(new_price.amount),
                currency=new_price.currency,
                approved_by=approver,
            )
        )

    def mark_variant_unavailable(self, *, sku: str, reason: str, by: Actor, at: datetime) -> None:
        """
        Mark variant ``sku`` unavailable (sold out for long; CAT-09): it stays on the product.

        Raises:
            NotFoundError: No such variant.
            InvalidTransitionError: It is unavailable already.
        """
        by = _actor(by)
        at = ensure_aware(at, field="at")
        note = _text("reason", reason)
        variant = self.variant(sku)
        if not variant.available:
            raise InvalidTransitionError(
                f"Variant {sku} of {self.subject}", "unavailable", "mark unavailable"
            )
        self._replace_variant(attrs.evolve(variant, available=False, unavailable_reason=note))
        self._record(VariantMarkedUnavailable(occurred_at=at, actor=by, sku=sku, reason=note))

    def update_content(
        self,
        *,
        by: Actor,
        at: datetime,
        name: str | None = None,
        description: str | None = None,
        shipping_method: str | None = None,
        images: Sequence[ProductImage] | None = None,
    ) -> tuple[str, ...]:
        """
        Change content fields (those given) and record :class:`ProductContentUpdated`.

        Returns:
            The names of the fields that changed (empty: nothing recorded).
        """
        by = _actor(by)
        at = ensure_aware(at, field="at")
        changes: dict[str, object] = {}
        if name is not None:
            changes["name"] = _text("name", name, limit=_MAX_NAME, allow_empty=True)
        if description is not None:
            changes["description"] = _text(
                "description", description, limit=_MAX_DESCRIPTION, allow_empty=True
            )
        if shipping_method is not None:
            changes["shipping_method"] = _text("shipping_method", shipping_method, limit=64, allow_empty=True)
        if images is not None:
            changes["images"] = _check_images(images, self.variants)
        changed = tuple(k for k, v in changes.items() if getattr(self, k) != v)
        if not changed:
            return ()
        for key in changed:
            setattr(self, key, changes[key])
        self._record(ProductContentUpdated(occurred_at=at, actor=by, fields=changed))
        return changed


# -- listings ------------------------------------------------------------------------------


class ListingState(StrEnum):
    """States of a listing request."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    PUBLISHED = "published"
    DELISTED = "delisted"


LISTING_LIFECYCLE: Final = Lifecycle(
    "Listing",
    {
        (ListingState.DRAFT, "submit"): ListingState.SUBMITTED,
        (ListingState.SUBMITTED, "approve"): ListingState.APPROVED,
        (ListingState.SUBMITTED, "reject"): ListingState.REJECTED,
        (ListingState.REJECTED, "revise"): ListingState.DRAFT,
        (ListingState.APPROVED, "publish"): ListingState.PUBLISHED,
        (ListingState.PUBLISHED, "publish"): ListingState.PUBLISHED,
        (ListingState.PUBLISHED, "delist"): ListingState.DELISTED,
    },
    initial=ListingState.DRAFT,
    terminal={ListingState.DELISTED},
)
"""The listing lifecycle (CAT-02), in which a listing is reviewed before it is published per channel."""


class ChannelState(StrEnum):
    """State of a listing on one channel."""

    LIVE = "live"
    DELISTED = "delisted"


@attrs.frozen(kw_only=True)
class ChannelListing:
    """
    A listing on one sales channel (CAT-03).

    Attributes:
        channel: The channel (:data:`CHANNELS`).
        state: :class:`ChannelState`.
        external_id: The channel's id of the item.
        last_sync_result: What the last push reported.
        needs_push: Whether changes wait to be pushed to the channel (CAT-05).
        published_at: When it went live.
    """

    channel: str
    state: ChannelState
    external_id: str | None
    last_sync_result: str | None
    needs_push: bool
    published_at: datetime | None


@attrs.frozen(kw_only=True)
class ListingStep:
    """
    One step of a listing's workflow: who did what, when (CAT-02).

    Attributes:
        action: ``draft``, ``submit``, ``approve``, ``reject``, ``revise``, ``publish``, ``delist``.
        by: Who.
        at: When.
        note: A reason or the channel, when there is one.
        policy_version: The policy version in force.
    """

    action: str
    by: str
    at: datetime
    note: str | None = None
    policy_version: int | None = None


@attrs.frozen(kw_only=True)
class ListingDrafted(DomainEvent):
    """A listing was drafted."""

    product_id: uuid.UUID
    channels: tuple[str, ...]


@attrs.frozen(kw_only=True)
class ListingSubmitted(DomainEvent):
    """A listing was submitted for review."""

    product_id: uuid.UUID
    approval_request_id: uuid.UUID


@attrs.frozen(kw_only=True)
class ListingApproved(DomainEvent):
    """A listing was approved."""

    product_id: uuid.UUID


@attrs.frozen(kw_only=True)
class ListingRejected(DomainEvent):
    """A listing was rejected with a reason."""

    product_id: uuid.UUID
    reason: str


@attrs.frozen(kw_only=True)
class ListingPublished(DomainEvent):
    """A listing went live on one channel."""

    product_id: uuid.UUID
    channel: str
    external_id: str


@attrs.frozen(kw_only=True)
class ChannelSyncRecorded(DomainEvent):
    """A push to one channel reported back (CAT-03)."""

    product_id: uuid.UUID
    channel: str
    succeeded: bool
    result: str


@attrs.frozen(kw_only=True)
class ListingPushRequested(DomainEvent):
    """Product data changed: the live channel listings need a push (CAT-05)."""

    product_id: uuid.UUID
    channels: tuple[str, ...]
    reason: str


@attrs.frozen(kw_only=True)
class ListingDelisted(DomainEvent):
    """A listing was removed from every channel."""

    product_id: uuid.UUID
    channels: tuple[str, ...]
    reason: str | None


def _channels(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise InvalidInputError("channels", "give a list of channels, not one string")
    out: list[str] = []
    for name in value:
        channel = check_channel(name)
        if channel not in out:
            out.append(channel)
    if not out:
        raise InvalidInputError("channels", "name at least one channel")
    return tuple(out)


@attrs.define(kw_only=True, eq=False)
class Listing(Aggregate):
    """
    A request to sell one product on some channels, reviewed before it is published.

    Attributes:
        product_id: The product (filterable).
        channels: The channels asked for.
        state: :class:`ListingState` (filterable).
        approval_request_id: The review's approval request, once submitted.
        rejection_reason: Why the last review rejected it.
        channel_listings: One :class:`ChannelListing` per channel published to.
        steps: Every workflow step, oldest first.
    """

    product_id: uuid.UUID = attrs.field(metadata={"filterable": True})
    channels: tuple[str, ...]
    state: ListingState = attrs.field(default=ListingState.DRAFT, metadata={"filterable": True})
    approval_request_id: uuid.UUID | None = None
    rejection_reason: str | None = None
    channel_listings: list[ChannelListing] = attrs.field(factory=list)
    steps: list[ListingStep] = attrs.field(factory=list)

    @classmethod
    def draft(
        cls, *, product_id: uuid.UUID | str, channels: Iterable[str], by: Actor, at: datetime
    ) -> Listing:
        """
        Draft a listing and record :class:`ListingDrafted`.

        Raises:
            InvalidInputError: An unknown channel (named) or none.
        """
        by = _actor(by)
        at = ensure_aware(at, field="at")
        listing = cls(product_id=parse_id(product_id, field="product_id"), channels=_channels(channels))
        listing.steps.append(ListingStep(action="draft", by=by.id, at=at))
        listing._record(
            ListingDrafted(occurred_at=at, actor=by, product_id=listing.product_id, channels=listing.channels)
        )
        return listing

    @property
    def subject(self) -> str:
        """How errors name this listing."""
        return f"Listing {self.id}"

    @property
    def live_channels(self) -> tuple[str, ...]:
        """The channels it is live on."""
        return tuple(c.channel for c in self.channel_listings if c.state is ChannelState.LIVE)

    def _move(self, action: str, by: Actor, at: datetime, note: str | None, version: int | None) -> None:
        self.state = LISTING_LIFECYCLE.fire(self.state, action, subject=self.subject)
        self.steps.append(ListingStep(action=action, by=by.id, at=at, note=note, policy_version=version))

    def submit(
        self,
        *,
        product: Product,
        min_detail_images: int,
        approval_request_id: uuid.UUID,
        by: Actor,
        at: datetime,
        policy_version: int | None,
    ) -> None:
        """
        Submit for review and record :class:`ListingSubmitted`.

        Raises:
            InvalidTransitionError: It is not a draft.
            InvalidInputError: The product is incomplete; ``errors`` names every missing field.
            PolicyViolationError: ``rule="quality_gate"``: its latest quality check failed or is missing.
        """
        by = _actor(by)
        at = ensure_aware(at, field="at")
        LISTING_LIFECYCLE.fire(self.state, "submit", subject=self.subject)
        if product.id != self.product_id:
            raise InvalidInputError("product", f"{product.subject} is not the product of {self.subject}")
        gaps = completeness_gaps(product, min_detail_images=min_detail_images)
        if gaps:
            raise InvalidInputError(
                f"product.{gaps[0]}",
                f"{product.subject} is incomplete: missing {', '.join(gaps)}",
                errors=[(f"product.{gap}", f"missing from {product.subject}") for gap in gaps],
            )
        if not product.quality_passed:
            raise PolicyViolationError(
                f"{product.subject} has not passed its quality check",
                rule="quality_gate",
                policy_version=policy_version,
                message_zh=f"{product.subject} 未通过质检，不能上架",
            )
        self._move("submit", by, at, None, policy_version)
        self.approval_request_id = approval_request_id
        self.rejection_reason = None
        self._record(
            ListingSubmitted(
                occurred_at=at,
                actor=by,
                policy_version=policy_version,
                product_id=self.product_id,
                approval_request_id=approval_request_id,
            )
        )

    def approve(self, *, by: Actor, at: datetime, policy_version: int | None) -> None:
        """Record the review's approval and :class:`ListingApproved`."""
        by = _actor(by)
        at = ensure_aware(at, field="at")
        self._move("approve", by, at, None, policy_version)
        self._record(
            ListingApproved(
                occurred_at=at, actor=by, policy_version=policy_version, product_id=self.product_id
            )
        )

    def reject(self, *, by: Actor, at: datetime, reason: str, policy_version: int | None) -> None:
        """Record the review's rejection with its reason and :class:`ListingRejected`."""
        by = _actor(by)
        at = ensure_aware(at, field="at")
        note = _text("reason", reason)
        self._move("reject", by, at, note, policy_version)
        self.rejection_reason = note
        self._record(
            ListingRejected(
                occurred_at=at,
                actor=by,
                policy_version=policy_version,
                product_id=self.product_id,
                reason=note,
            )
        )

    def revise(self, *, by: Actor, at: datetime) -> None:
        """Take a rejected listing back to draft for another submission."""
        by = _actor(by)
        at = ensure_aware(at, field="at")
        self._move("revise", by, at, None, None)
        self.approval_request_id = None
        self._record(
            ListingDrafted(occurred_at=at, actor=by, product_id=self.product_id, channels=self.channels)
        )

    def publish(self, *, channel: str, external_id: str, by: Actor, at: datetime) -> None:
        """
        Record the listing live on ``channel`` and :class:`ListingPublished`.

        Raises:
            InvalidTransitionError: It is not approved (or published on other channels).
            InvalidInputError: An unknown channel, one not asked for, or one it is live on already.
        """
        by = _actor(by)
        at = ensure_aware(at, field="at")
        name = check_channel(channel, field="channel")
        ext = _text("external_id", external_id, limit=128)
        LISTING_LIFECYCLE.fire(self.state, "publish", subject=self.subject)
        if name not in self.channels:
            raise InvalidInputError("channel", f"{self.subject} was not reviewed for channel {name}")
        if name in self.live_channels:
            raise InvalidInputError("channel", f"{self.subject} is live on {name} already")
        self._move("publish", by, at, name, None)
        self.channel_listings = [c for c in self.channel_listings if c.channel != name]
        self.channel_listings.append(
            ChannelListing(
                channel=name,
                state=ChannelState.LIVE,
                external_id=ext,
                last_sync_result="published",
                needs_push=False,
                published_at=at,
            )
        )
        self._record(
            ListingPublished(
                occurred_at=at, actor=by, product_id=self.product_id, channel=name, external_id=ext
            )
        )

    def request_push(
        self, *, reason: str, by: Actor, at: datetime, policy_version: int | None = None
    ) -> bool:
        """
        Mark every live channel listing ``needs_push`` and record :class:`ListingPushRequested` (CAT-05).

        Returns:
            Whether any channel listing is live (nothing is recorded otherwise).
        """
        by = _actor(by)
        at = ensure_aware(at, field="at")
        note = _text("reason", reason)
        live = self.live_channels
        if not live:
            return False
        self.channel_listings = [
            attrs.evolve(c, needs_push=True) if c.state is ChannelState.LIVE else c
            for c in self.channel_listings
        ]
        self._record(
            ListingPushRequested(
                occurred_at=at,
                actor=by,
                policy_version=policy_version,
                product_id=self.product_id,
                channels=live,
                reason=note,
            )
        )
        return True

    def record_sync(self, *, channel: str, succeeded: bool, result: str, by: Actor, at: datetime) -> None:
        """
        Record what a push to ``channel`` reported (CAT-03) and :class:`ChannelSyncRecorded`.

        A successful push clears ``needs_push``; a failed one keeps it, so the
        change is pushed again.

        Raises:
            InvalidInputError: An unknown channel, one the listing is not live on, or an empty result.
        """
        by = _actor(by)
        at = ensure_aware(at, field="at")
        name = check_channel(channel, field="channel")
        text = _text("result", result, limit=500)
        if not isinstance(succeeded, bool):
            raise InvalidInputError("succeeded", "must be True or False")
        if name not in self.live_channels:
            raise InvalidInputError("channel", f"{self.subject} is not live on {name}")
        self.channel_listings = [
            attrs.evolve(c, last_sync_result=text, needs_push=c.needs_push and not succeeded)
            if c.channel == name
            else c
            for c in self.channel_listings
        ]
        self._record(
            ChannelSyncRecorded(
                occurred_at=at,
                actor=by,
                product_id=self.product_id,
                channel=name,
                succeeded=succeeded,
                result=text,
            )
        )

    def delist(self, *, by: Actor, at: datetime, reason: str | None = None) -> None:
        """
        Remove the listing from every channel and record :class:`ListingDelisted` (CAT-05).

        Raises:
            InvalidTransitionError: It is not published.
        """
        by = _actor(by)
        at = ensure_aware(at, field="at")
        note = None if reason is None else _text("reason", reason)
        live = self.live_channels
        self._move("delist", by, at, note, None)
        self.channel_listings = [
            attrs.evolve(c, state=ChannelState.DELISTED, needs_push=False, last_sync_result="delisted")
            for c in self.channel_listings
        ]
        self._record(
            ListingDelisted(occurred_at=at, actor=by, product_id=self.product_id, channels=live, reason=note)
        )
