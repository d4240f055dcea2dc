"""
``shop.catalog``: products, reviewed listings, price changes and the listing report (CAT-01..09).

Operations staff (``catalog.edit``) create products, record quality checks,
draft listings and submit them. Submitting checks completeness (CAT-01) and
the quality gate (CAT-07), then opens an approval request (subject type
``"listing"``) that a product manager other than the submitter decides
(``listing.review``, CAT-02); deciding it moves the listing in the same unit
of work. An approved listing is published per channel (CAT-03) and delisted
from all at once (CAT-05). Content and price changes mark the live channel
listings for a push (CAT-05). A price change above the policy's threshold
waits for approval (``price.approve``, CAT-06). Decisions record the policy
version they were made under.

Callers get :class:`ProductView` and :class:`ListingView` snapshots.

Example:
    >>> from eshop_core import Actor, Role, Shop
    >>> shop = Shop.open("memory://")
    >>> li = Actor("li.ming", roles={Role.OPERATIONS})
    >>> mug = shop.catalog.create_product(li, {
    ...     "name": "Blue mug", "shipping_method": "express",
    ...     "variants": [{"sku": "MUG-BLUE", "attributes": {"colour": "blue"},
    ...                   "price": {"amount": "39.00", "currency": "CNY"}}]})
    >>> draft = shop.catalog.draft_listing(li, mug.id, channels=["tmall", "jd"])
    >>> draft.state
    <ListingState.DRAFT: 'draft'>
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import attrs

from eshop_core.access import Actor, Permission, authorize
from eshop_core.clock import ensure_aware
from eshop_core.domain.approvals import ApprovalRequest
from eshop_core.domain.catalog import (
    LISTING_LIFECYCLE,
    BookDetails,
    ChannelListing,
    ImageKind,
    Listing,
    ListingState,
    ListingStep,
    PriceChange,
    Product,
    ProductImage,
    QualityCheck,
    Variant,
)
from eshop_core.errors import ConcurrencyError, InvalidInputError, InvalidTransitionError
from eshop_core.ids import parse_id
from eshop_core.money import Money
from eshop_core.schemas.catalog import CreateProduct, ImageInput
from eshop_core.schemas.policies import MoneyDocument
from eshop_core.services.approvals import ApprovalView
from eshop_core.storage.catalog_ports import SkuRegistry
from eshop_core.storage.ports import UnitOfWork

if TYPE_CHECKING:
    from eshop_core.shop import Shop

__all__ = [
    "LISTING_SUBJECT",
    "PRICE_SUBJECT",
    "CatalogService",
    "ListingView",
    "OverdueListing",
    "PriceChangeView",
    "ProductView",
]

LISTING_SUBJECT: Final = "listing"
"""The approval subject type of listing reviews."""

PRICE_SUBJECT: Final = "price_change"
"""The approval subject type of price changes."""


@attrs.frozen(kw_only=True)
class ProductView:
    """
    An immutable snapshot of a :class:`~eshop_core.domain.catalog.Product`.

    Attributes mirror the product's; lists are tuples.
    """

    id: uuid.UUID
    version: int
    name: str
    description: str
    shipping_method: str
    variants: tuple[Variant, ...]
    images: tuple[ProductImage, ...]
    book: BookDetails | None
    arrived_at: datetime | None
    quality_checks: tuple[QualityCheck, ...]
    price_history: tuple[PriceChange, ...]
    quality_passed: bool

    @classmethod
    def of(cls, product: Product) -> ProductView:
        """Return the snapshot of ``product``."""
        return cls(
            id=product.id,
            version=product.version,
            name=product.name,
            description=product.description,
            shipping_method=product.shipping_method,
            variants=tuple(product.variants),
            images=tuple(product.images),
            book=product.book,
            arrived_at=product.arrived_at,
            quality_checks=tuple(product.quality_checks),
            price_history=tuple(product.price_history),
            quality_passed=product.quality_passed,
        )

    def variant(self, sku: str) -> Variant:
        """Return the variant ``sku`` (``KeyError`` if absent)."""
        for variant in self.variants:
            if variant.sku == sku:
                return variant
        raise KeyError(sku)


@attrs.frozen(kw_only=True)
class ListingView:
    """An immutable snapshot of a :class:`~eshop_core.domain.catalog.Listing`."""

    id: uuid.UUID
    version: int
    product_id: uuid.UUID
    channels: tuple[str, ...]
    state: ListingState
    approval_request_id: uuid.UUID | None
    rejection_reason: str | None
    channel_listings: tuple[ChannelListing, ...]
    steps: tuple[ListingStep, ...]

    @classmethod
    def of(cls, listing: Listing) -> ListingView:
        """Return the snapshot of ``listing``."""
        return cls(
            id=listing.id,
            version=listing.version,
            product_id=listing.product_id,
            channels=listing.channels,
            state=listing.state,
            approval_request_id=listing.approval_request_id,
            rejection_reason=listing.rejection_reason,
            channel_listings=tuple(listing.channel_listings),
            steps=tuple(listing.steps),
        )

    def channel(self, name: str) -> ChannelListing:
        """Return the channel listing on ``name`` (``KeyError`` if never published there)."""
        for item in self.channel_listings:
            if item.channel == name:
                return item
        raise KeyError(name)


@attrs.frozen(kw_only=True)
class PriceChangeView:
    """
    The outcome of :meth:`CatalogService.request_price_change`.

    Attributes:
        applied: Whether the new price took effect at once (under the threshold).
        approval: The pending approval request when it needs approval.
        policy_version: The policy version the decision was made under.
    """

    applied: bool
    approval: ApprovalView | None
    policy_version: int


@attrs.frozen(kw_only=True)
class OverdueListing:
    """
    A line of the listing report (CAT-08).

    Attributes:
        product_id: The product.
        name: Its name.
        arrived_at: When the goods arrived.
        due_at: When it should have been listed.
        reasons: ``"not_listed"`` (deadline passed, not published) and/or ``"detail_images"``.
        detail_images: How many detail images it has.
        policy_version: The policy version the report applied.
    """

    product_id: uuid.UUID
    name: str
    arrived_at: datetime | None
    due_at: datetime | None
    reasons: tuple[str, ...]
    detail_images: int
    policy_version: int


def _all(uow: UnitOfWork, kind: type[Any], where: Mapping[str, object] | None = None) -> Iterator[Any]:
    repository = uow.repository(kind)
    cursor: str | None = None
    while True:
        page = repository.find(where=where, limit=500, cursor=cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _check_expected(subject: str, kind: str, aggregate: Product | Listing, expected: int | None) -> None:
    if expected is None:
        return
    if isinstance(expected, bool) or not isinstance(expected, int):
        raise InvalidInputError("expected_version", f"expected an int, got {type(expected).__name__}")
    if aggregate.version != expected:
        raise ConcurrencyError(kind, aggregate.id, expected)


def _money(value: Money | Mapping[str, Any] | MoneyDocument, field: str) -> Money:
    if isinstance(value, Money):
        return value
    if isinstance(value, MoneyDocument):
        return value.to_domain()
    if isinstance(value, Mapping):
        try:
            return MoneyDocument.model_validate(value).to_domain()
        except ValueError as error:
            raise InvalidInputError(field, str(error).splitlines()[0]) from None
    raise InvalidInputError(field, f"expected Money or {{amount, currency}}, got {type(value).__name__}")


def _money_data(money: Money) -> dict[str, str]:
    return {"amount": str(money.amount), "currency": money.currency}


class CatalogService:
    """Products, listings and price changes; see the module documentation."""

    def __init__(self, shop: Shop) -> None:
        self._shop = shop
        shop.approvals.register_subject(
            LISTING_SUBJECT, on_approved=self._listing_approved, on_rejected=self._listing_rejected
        )
        shop.approvals.register_subject(
            PRICE_SUBJECT, on_approved=self._price_approved, on_rejected=_unchanged
        )

    def _policy(self, uow: UnitOfWork, at: datetime) -> Any:
        return self._shop.policies.version_in_force(uow, at)

    # -- products -----------------------------------------------------------------

    def create_product(self, actor: Actor, command: CreateProduct | Mapping[str, Any]) -> ProductView:
        """
        Create a product from a :class:`~eshop_core.schemas.catalog.CreateProduct` command (or mapping).

        Raises:
            PermissionDeniedError: Missing ``catalog.edit``.
            InvalidInputError: Naming the field path (bad SKU, barcode, ISBN, image name...,
                or a SKU another product owns: ``variants.<i>.sku``).
        """
        authorize(actor, Permission.CATALOG_EDIT)
        fields = CreateProduct.parse(command).to_domain()
        product = Product.create(**fields, by=actor, at=self._shop.clock.now())
        with self._shop.unit_of_work(actor) as uow:
            uow.port(SkuRegistry).claim([v.sku for v in product.variants], product.id)
            uow.repository(Product).add(product)
            uow.commit()
        return ProductView.of(product)

    def get_product(self, actor: Actor, product_id: uuid.UUID | str) -> ProductView:
        """
        Return product ``product_id``.

        Raises:
            NotFoundError: No such product.
        """
        key = parse_id(product_id, field="product_id")
        with self._shop.unit_of_work(actor) as uow:
            return ProductView.of(uow.repository(Product).get(key))

    def record_quality_check(
        self, actor: Actor, product_id: uuid.UUID | str, *, passed: bool, notes: str = ""
    ) -> ProductView:
        """
        Record a quality check (CAT-07); a product whose latest check failed cannot be submitted.

        Raises:
            PermissionDeniedError: Missing ``catalog.edit``.
            NotFoundError: No such product.
        """
        authorize(actor, Permission.CATALOG_EDIT)
        key = parse_id(product_id, field="product_id")
        with self._shop.unit_of_work(actor) as uow:
            product = uow.repository(Product).get(key)
            product.record_quality_check(passed=passed, notes=notes, by=actor, at=self._shop.clock.now())
            uow.repository(Product).save(product)
            uow.commit()
        return ProductView.of(product)

    def update_content(
        self,
        actor: Actor,
        product_id: uuid.UUID | str,
        *,
        name: str | None = None,
        description: str | None = None,
        shipping_method: str | None = None,
        images: Sequence[ImageInput | Mapping[str, Any]] | None = None,
        expected_version: int | None = None,
    ) -> ProductView:
        """
        Change a product's content; its live channel listings are marked for a push (CAT-05).

        Raises:
            PermissionDeniedError: Missing ``catalog.edit``.
            InvalidInputError: Bad values, or images not named by a SKU.
            ConcurrencyError: It changed since ``expected_version``.
        """
        authorize(actor, Permission.CATALOG_EDIT)
        key = parse_id(product_id, field="product_id")
        new_images = None
        if images is not None:
            new_images = []
            for i, image in enumerate(images):
                try:
                    parsed = image if isinstance(image, ImageInput) else ImageInput.model_validate(image)
                    new_images.append(parsed.to_domain())
                except InvalidInputError as error:
                    raise InvalidInputError(f"images.{i}.{error.field}", error.reason) from None
                except ValueError as error:
                    raise InvalidInputError(f"images.{i}", str(error).splitlines()[0]) from None
        now = self._shop.clock.now()
        with self._shop.unit_of_work(actor) as uow:
            product = uow.repository(Product).get(key)
            _check_expected(product.subject, "Product", product, expected_version)
            changed = product.update_content(
                by=actor,
                at=now,
                name=name,
                description=description,
                shipping_method=shipping_method,
                images=new_images,
            )
            if changed:
                uow.repository(Product).save(product)
                self._push(uow, product.id, f"content changed: {', '.join(changed)}", actor, now, None)
            uow.commit()
        return ProductView.of(product)

    def mark_variant_unavailable(
        self, actor: Actor, product_id: uuid.UUID | str, sku: str, *, reason: str
    ) -> ProductView:
        """
        Mark a long sold-out variant unavailable; it stays listed as unavailable (CAT-09).

        Raises:
            PermissionDeniedError: Missing ``catalog.edit``.
            NotFoundError: No such product or variant.
            InvalidTransitionError: It is unavailable already.
        """
        authorize(actor, Permission.CATALOG_EDIT)
        key = parse_id(product_id, field="product_id")
        now = self._shop.clock.now()
        with self._shop.unit_of_work(actor) as uow:
            product = uow.repository(Product).get(key)
            product.mark_variant_unavailable(sku=sku, reason=reason, by=actor, at=now)
            uow.repository(Product).save(product)
            self._push(uow, product.id, f"variant {sku} unavailable", actor, now, None)
            uow.commit()
        return ProductView.of(product)

    # -- price changes ------------------------------------------------------------

    def request_price_change(
        self,
        actor: Actor,
        product_id: uuid.UUID | str,
        sku: str,
        new_price: Money | Mapping[str, Any],
        *,
        reason: str,
    ) -> PriceChangeView:
        """
        Change a variant's price, through approval when the policy's threshold asks for it (CAT-06).

        Under the threshold the price changes at once; above it an approval
        request (``price.approve``) is opened and the price changes only when it
        is approved. Either way the product keeps the history.

        Raises:
            PermissionDeniedError: Missing ``catalog.edit``.
            NotFoundError: No such product or variant.
            InvalidInputError: A bad price, another currency, or no reason.
        """
        authorize(actor, Permission.CATALOG_EDIT)
        key = parse_id(product_id, field="product_id")
        price = _money(new_price, "new_price")
        now = self._shop.clock.now()
        with self._shop.unit_of_work(actor) as uow:
            product = uow.repository(Product).get(key)
            old = product.variant(sku).price
            if price.currency != old.currency:
                raise InvalidInputError("new_price", f"must be in {old.currency} like the current price")
            policy = self._policy(uow, now)
            if policy.rules.pricing.needs_approval(old, price):
                request = self._shop.approvals.open_request(
                    uow,
                    subject_type=PRICE_SUBJECT,
                    subject_id=product.id,
                    change={"sku": sku, "old_price": _money_data(old), "new_price": _money_data(price)},
                    reason=reason,
                    required_permission=Permission.PRICE_APPROVE,
                )
                uow.commit()
                return PriceChangeView(
                    applied=False, approval=ApprovalView.of(request), policy_version=policy.number
                )
            product.change_price(
                sku=sku,
                new_price=price,
                reason=reason,
                requested_by=actor.id,
                approved_by=None,
                by=actor,
                at=now,
                policy_version=policy.number,
            )
            uow.repository(Product).save(product)
            self._push(uow, product.id, f"price of {sku} changed", actor, now, policy.number)
            uow.commit()
        return PriceChangeView(applied=True, approval=None, policy_version=policy.number)

    def _price_approved(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor) -> None:
        product = uow.repository(Product).get(request.subject_id)
        change = request.change
        now = request.decided_at if request.decided_at is not None else self._shop.clock.now()
        product.change_price(
            sku=str(change["sku"]),
            new_price=_money(change["new_price"], "new_price"),
            reason=request.reason,
            requested_by=request.requester,
            approved_by=actor,
            by=actor,
            at=now,
            policy_version=request.decision_policy_version,
        )
        uow.repository(Product).save(product)
        self._push(
            uow, product.id, f"price of {change['sku']} changed", actor, now, request.decision_policy_version
        )

    def _push(
        self,
        uow: UnitOfWork,
        product_id: uuid.UUID,
        reason: str,
        actor: Actor,
        at: datetime,
        version: int | None,
    ) -> None:
        listings = uow.repository(Listing)
        for listing in list(_all(uow, Listing, {"product_id": product_id, "state": ListingState.PUBLISHED})):
            if listing.request_push(reason=reason, by=actor, at=at, policy_version=version):
                listings.save(listing)

    # -- listings -----------------------------------------------------------------

    def draft_listing(
        self, actor: Actor, product_id: uuid.UUID | str, *, channels: Iterable[str]
    ) -> ListingView:
        """
        Draft a listing of a product on ``channels``.

        Raises:
            PermissionDeniedError: Missing ``catalog.edit``.
            NotFoundError: No such product.
            InvalidInputError: An unknown channel (named) or none.
        """
        authorize(actor, Permission.CATALOG_EDIT)
        key = parse_id(product_id, field="product_id")
        listing = Listing.draft(product_id=key, channels=channels, by=actor, at=self._shop.clock.now())
        with self._shop.unit_of_work(actor) as uow:
            uow.repository(Product).get(key)
            uow.repository(Listing).add(listing)
            uow.commit()
        return ListingView.of(listing)

    def get_listing(self, actor: Actor, listing_id: uuid.UUID | str) -> ListingView:
        """
        Return listing ``listing_id``.

        Raises:
            NotFoundError: No such listing.
        """
        key = parse_id(listing_id, field="listing_id")
        with self._shop.unit_of_work(actor) as uow:
            return ListingView.of(uow.repository(Listing).get(key))

    def submit(
        self, actor: Actor, listing_id: uuid.UUID | str, *, expected_version: int | None = None
    ) -> ListingView:
        """
        Submit a draft for review: completeness (CAT-01) and quality gate (CAT-07), then approval.

        Raises:
            PermissionDeniedError: Missing ``catalog.edit``.
            InvalidTransitionError: It is not a draft.
            InvalidInputError: The product is incomplete; ``errors`` names every missing field.
            PolicyViolationError: ``rule="quality_gate"``.
            ConcurrencyError: It changed since ``expected_version``.
        """
        authorize(actor, Permission.CATALOG_EDIT)
        key = parse_id(listing_id, field="listing_id")
        now = self._shop.clock.now()
        with self._shop.unit_of_work(actor) as uow:
            listing = uow.repository(Listing).get(key)
            _check_expected(listing.subject, "Listing", listing, expected_version)
            LISTING_LIFECYCLE.fire(listing.state, "submit", subject=listing.subject)
            product = uow.repository(Product).get(listing.product_id)
            policy = self._policy(uow, now)
            request = self._shop.approvals.open_request(
                uow,
                subject_type=LISTING_SUBJECT,
                subject_id=listing.id,
                change={"product_id": str(product.id), "channels": list(listing.channels)},
                reason=f"list {product.name or product.id} on {', '.join(listing.channels)}",
                required_permission=Permission.LISTING_REVIEW,
            )
            listing.submit(
                product=product,
                min_detail_images=policy.rules.listing.min_detail_images,
                approval_request_id=request.id,
                by=actor,
                at=now,
                policy_version=policy.number,
            )
            uow.repository(Listing).save(listing)
            uow.commit()
        return ListingView.of(listing)

    def _review_request(self, actor: Actor, listing_id: uuid.UUID | str, action: str) -> uuid.UUID:
        key = parse_id(listing_id, field="listing_id")
        with self._shop.unit_of_work(actor) as uow:
            listing = uow.repository(Listing).get(key)
        LISTING_LIFECYCLE.fire(listing.state, action, subject=listing.subject)
        if listing.approval_request_id is None:  # pragma: no cover - a submitted listing has one
            raise InvalidTransitionError(listing.subject, str(listing.state), action)
        return listing.approval_request_id

    def approve(self, actor: Actor, listing_id: uuid.UUID | str, *, reason: str | None = None) -> ListingView:
        """
        Approve a submitted listing (product managers other than the submitter; CAT-02).

        Raises:
            PermissionDeniedError: Missing ``listing.review`` or ``approval.decide``.
            PolicyViolationError: ``rule="maker_checker"``: one's own submission.
            InvalidTransitionError: It is not submitted.
        """
        authorize(actor, Permission.LISTING_REVIEW)
        request_id = self._review_request(actor, listing_id, "approve")
        self._shop.approvals.approve(actor, request_id, reason=reason)
        return self.get_listing(actor, listing_id)

    def reject(self, actor: Actor, listing_id: uuid.UUID | str, *, reason: str) -> ListingView:
        """
        Reject a submitted listing with a reason (CAT-02).

        Raises:
            InvalidInputError: No reason.
            PermissionDeniedError: Missing ``listing.review`` or ``approval.decide``.
            PolicyViolationError: ``rule="maker_checker"``: one's own submission.
            InvalidTransitionError: It is not submitted.
        """
        authorize(actor, Permission.LISTING_REVIEW)
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInputError("reason", "a rejection needs a reason")
        request_id = self._review_request(actor, listing_id, "reject")
        self._shop.approvals.reject(actor, request_id, reason=reason)
        return self.get_listing(actor, listing_id)

    def _listing_approved(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor) -> None:
        listing = uow.repository(Listing).get(request.subject_id)
        at = request.decided_at if request.decided_at is not None else self._shop.clock.now()
        listing.approve(by=actor, at=at, policy_version=request.decision_policy_version)
        uow.repository(Listing).save(listing)

    def _listing_rejected(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor) -> None:
        listing = uow.repository(Listing).get(request.subject_id)
        at = request.decided_at if request.decided_at is not None else self._shop.clock.now()
        listing.reject(
            by=actor,
            at=at,
            reason=request.decision_reason or "rejected",
            policy_version=request.decision_policy_version,
        )
        uow.repository(Listing).save(listing)

    def revise(self, actor: Actor, listing_id: uuid.UUID | str) -> ListingView:
        """
        Take a rejected listing back to draft.

        Raises:
            InvalidTransitionError: It is not rejected.
        """
        return self._change_listing(actor, listing_id, lambda listing, now: listing.revise(by=actor, at=now))

    def publish(
        self, actor: Actor, listing_id: uuid.UUID | str, *, channel: str, external_id: str
    ) -> ListingView:
        """
        Record an approved listing live on ``channel`` with the channel's id (CAT-03).

        Raises:
            PermissionDeniedError: Missing ``catalog.edit``.
            InvalidTransitionError: It is not approved (nor published).
            InvalidInputError: An unknown channel or one it was not reviewed for.
        """
        return self._change_listing(
            actor,
            listing_id,
            lambda listing, now: listing.publish(channel=channel, external_id=external_id, by=actor, at=now),
        )

    def record_sync(
        self, actor: Actor, listing_id: uuid.UUID | str, *, channel: str, succeeded: bool, result: str
    ) -> ListingView:
        """
        Record what a push of the listing to ``channel`` reported (CAT-03); success clears ``needs_push``.

        Channel adapters call it (as their system actor) after each push.

        Raises:
            PermissionDeniedError: Missing ``channel.sync``.
            InvalidInputError: An unknown channel, one the listing is not live on, or an empty result.
        """
        return self._change_listing(
            actor,
            listing_id,
            lambda listing, now: listing.record_sync(
                channel=channel, succeeded=succeeded, result=result, by=actor, at=now
            ),
            permission=Permission.CHANNEL_SYNC,
        )

    def delist(self, actor: Actor, listing_id: uuid.UUID | str, *, reason: str | None = None) -> ListingView:
        """
        Remove a published listing from every channel (CAT-05).

        Raises:
            PermissionDeniedError: Missing ``catalog.edit``.
            InvalidTransitionError: It is not published.
        """
        return self._change_listing(
            actor, listing_id, lambda listing, now: listing.delist(by=actor, at=now, reason=reason)
        )

    def _change_listing(
        self,
        actor: Actor,
        listing_id: uuid.UUID | str,
        act: Any,
        *,
        permission: Permission = Permission.CATALOG_EDIT,
    ) -> ListingView:
        authorize(actor, permission)
        key = parse_id(listing_id, field="listing_id")
        with self._shop.unit_of_work(actor) as uow:
            listing = uow.repository(Listing).get(key)
            act(listing, self._shop.clock.now())
            uow.repository(Listing).save(listing)
            uow.commit()
        return ListingView.of(listing)

    # -- reports ------------------------------------------------------------------

    def overdue_listings(self, actor: Actor, now: datetime | None = None) -> tuple[OverdueListing, ...]:
        """
        Report products not published within the listing deadline of arrival, or short of detail images.

        Uses the policy in force at ``now`` (default: the clock's now): its
        ``new_goods_listing`` deadline and ``min_detail_images`` (CAT-08).

        Raises:
            PermissionDeniedError: Missing ``catalog.edit``.
        """
        authorize(actor, Permission.CATALOG_EDIT)
        at = self._shop.clock.now() if now is None else ensure_aware(now, field="now")
        with self._shop.unit_of_work(actor) as uow:
            policy = self._policy(uow, at)
            deadline = policy.rules.deadlines.new_goods_listing.duration
            minimum = policy.rules.listing.min_detail_images
            published: set[uuid.UUID] = set()
            for listing in _all(uow, Listing):
                if any(step.action == "publish" for step in listing.steps):
                    published.add(listing.product_id)
            lines: list[OverdueListing] = []
            for product in _all(uow, Product):
                reasons: list[str] = []
                due = None if product.arrived_at is None else product.arrived_at + deadline
                if due is not None and at > due and product.id not in published:
                    reasons.append("not_listed")
                details = sum(1 for image in product.images if image.kind is ImageKind.DETAIL)
                if details < minimum:
                    reasons.append("detail_images")
                if reasons:
                    lines.append(
                        OverdueListing(
                            product_id=product.id,
                            name=product.name,
                            arrived_at=product.arrived_at,
                            due_at=due,
                            reasons=tuple(reasons),
                            detail_images=details,
                            policy_version=policy.number,
                        )
                    )
            uow.commit()
        return tuple(lines)


def _unchanged(uow: UnitOfWork, request: ApprovalRequest, actor: Actor) -> None:
    """A rejected price change leaves the price as it is."""
