"""
Catalog commands from outside: :class:`CreateProduct` and its parts.

Commands are frozen pydantic models that refuse unknown keys; money is a
``{amount, currency}`` document with a decimal string. :meth:`CreateProduct.parse`
turns a mapping into a command and :meth:`CreateProduct.to_domain` into the
domain's value objects; both raise :class:`~eshop_core.errors.InvalidInputError`
naming the field path (``variants.0.sku``), and nothing changes.

Example:
    >>> command = CreateProduct.parse({
    ...     "name": "Blue mug", "description": "A blue mug", "shipping_method": "express",
    ...     "variants": [{"sku": "MUG-BLUE", "attributes": {"colour": "blue"},
    ...                   "price": {"amount": "39.00", "currency": "CNY"}}]})
    >>> command.to_domain()["variants"][0].price
    Money('39.00', 'CNY')
    >>> CreateProduct.parse({"name": "x", "variants": [{"sku": "A B",
    ...     "price": {"amount": "1", "currency": "CNY"}}]}).to_domain()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidInputError: invalid variants.0.sku: 'A B' is not a SKU (1-64 letters, ...)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pydantic

from eshop_core.domain.catalog import BookDetails, ProductImage, Variant
from eshop_core.errors import InvalidInputError
from eshop_core.schemas.policies import MoneyDocument

__all__ = ["BookInput", "CreateProduct", "ImageInput", "VariantInput"]

_FROZEN = pydantic.ConfigDict(frozen=True, extra="forbid")


def _within(prefix: str, error: InvalidInputError) -> InvalidInputError:
    field = error.field.removeprefix("book.")
    return InvalidInputError(f"{prefix}.{field}", error.reason)


class VariantInput(pydantic.BaseModel):
    """One variant: SKU, attributes (``{"colour": "blue"}``), price, optional EAN-13 barcode."""

    model_config = _FROZEN

    sku: str
    attributes: dict[str, str] = pydantic.Field(default_factory=dict)
    price: MoneyDocument
    barcode: str | None = None

    def to_domain(self) -> Variant:
        """Return the domain :class:`~eshop_core.domain.catalog.Variant`."""
        return Variant(
            sku=self.sku,
            attributes=tuple(self.attributes.items()),
            price=self.price.to_domain(),
            barcode=self.barcode,
        )


class ImageInput(pydantic.BaseModel):
    """One image's metadata: file name (starting with a SKU), ``main`` or ``detail``, checksum."""

    model_config = _FROZEN

    file_name: str
    kind: str
    checksum: str

    def to_domain(self) -> ProductImage:
        """Return the domain :class:`~eshop_core.domain.catalog.ProductImage`."""
        return ProductImage(file_name=self.file_name, kind=self.kind, checksum=self.checksum)


class BookInput(pydantic.BaseModel):
    """Book details; the ISBN may be ISBN-10 or ISBN-13."""

    model_config = _FROZEN

    title: str
    author: str
    publisher: str
    isbn: str
    edition: str = ""
    synopsis: str = ""
    list_price: MoneyDocument

    def to_domain(self) -> BookDetails:
        """Return the domain :class:`~eshop_core.domain.catalog.BookDetails`."""
        return BookDetails(
            title=self.title,
            author=self.author,
            publisher=self.publisher,
            isbn=self.isbn,
            edition=self.edition,
            synopsis=self.synopsis,
            list_price=self.list_price.to_domain(),
        )


class CreateProduct(pydantic.BaseModel):
    """The command creating a product (``shop.catalog.create_product``)."""

    model_config = _FROZEN

    name: str = ""
    description: str = ""
    shipping_method: str = ""
    variants: tuple[VariantInput, ...]
    images: tuple[ImageInput, ...] = ()
    book: BookInput | None = None
    arrived_at: datetime | None = None

    @classmethod
    def parse(cls, data: CreateProduct | Mapping[str, Any]) -> CreateProduct:
        """
        Return ``data`` as a validated command.

        Raises:
            InvalidInputError: Naming every invalid field path.
        """
        if isinstance(data, CreateProduct):
            return data
        if not isinstance(data, Mapping):
            raise InvalidInputError("command", f"expected a mapping, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            errors = [(".".join(str(p) for p in e["loc"]), str(e["msg"])) for e in exc.errors()]
            raise InvalidInputError(errors[0][0], errors[0][1], errors=errors) from None

    def to_domain(self) -> dict[str, Any]:
        """
        Return the keyword arguments of :meth:`Product.create <eshop_core.domain.catalog.Product.create>`.

        Raises:
            InvalidInputError: Naming the field path of the first bad value.
        """
        variants = []
        for i, variant in enumerate(self.variants):
            try:
                variants.append(variant.to_domain())
            except InvalidInputError as error:
                raise _within(f"variants.{i}", error) from None
        images = []
        for i, image in enumerate(self.images):
            try:
                images.append(image.to_domain())
            except InvalidInputError as error:
                raise _within(f"images.{i}", error) from None
        book = None
        if self.book is not None:
            try:
                book = self.book.to_domain()
            except InvalidInputError as error:
                raise _within("book", error) from None
        return {
            "name": self.name,
            "description": self.description,
            "shipping_method": self.shipping_method,
            "variants": variants,
            "images": images,
            "book": book,
            "arrived_at": self.arrived_at,
        }
