"""Catalog and listing review on the memory backend (CAT-01..09), including bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eshop_core import (
    Actor,
    ConcurrencyError,
    FixedClock,
    InvalidInputError,
    InvalidTransitionError,
    Money,
    NotFoundError,
    PermissionDeniedError,
    PolicyViolationError,
    Role,
    Shop,
)
from eshop_core.domain.catalog import (
    LISTING_LIFECYCLE,
    BookDetails,
    ImageKind,
    Listing,
    ListingState,
    Product,
    ProductImage,
    Variant,
    check_isbn,
)
from eshop_core.schemas.policies import default_policy_text
from eshop_core.services.catalog import ProductView

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LI = Actor("li.ming", roles={Role.OPERATIONS})
WANG = Actor("wang.fang", roles={Role.PRODUCT_MANAGER})
CHEN = Actor("chen.jie", roles={Role.PRODUCT_MANAGER})
ZHAO = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
CS = Actor("sun.li", roles={Role.CUSTOMER_SERVICE})
STORE = Actor("wu.gang", roles={Role.WAREHOUSE})
CHECKSUM = "0123456789abcdef"


def _images(sku: str, details: int = 5) -> list[dict[str, str]]:
    images = [{"file_name": f"{sku}-main.jpg", "kind": "main", "checksum": CHECKSUM}]
    images += [
        {"file_name": f"{sku}-d{i}.jpg", "kind": "detail", "checksum": CHECKSUM} for i in range(details)
    ]
    return images


def _command(sku: str = "MUG-BLUE", **changes: Any) -> dict[str, Any]:
    command: dict[str, Any] = {
        "name": "Blue mug",
        "description": "A blue stoneware mug, 350 ml",
        "shipping_method": "express",
        "variants": [
            {
                "sku": sku,
                "attributes": {"colour": "blue", "size": "350ml"},
                "price": {"amount": "39.00", "currency": "CNY"},
                "barcode": "4006381333931",
            }
        ],
        "images": _images(sku),
        "arrived_at": AT.isoformat(),
    }
    command.update(changes)
    return command


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AT)


@pytest.fixture
def shop(clock: FixedClock) -> Iterator[Shop]:
    with Shop.open("memory://", clock=clock) as opened:
        yield opened


def _ready(shop: Shop, **changes: Any) -> ProductView:
    product = shop.catalog.create_product(LI, _command(**changes))
    return shop.catalog.record_quality_check(LI, product.id, passed=True, notes="no damage")


def _published(shop: Shop) -> tuple[ProductView, Any]:
    product = _ready(shop)
    draft = shop.catalog.draft_listing(LI, product.id, channels=["tmall", "jd"])
    shop.catalog.submit(LI, draft.id)
    shop.catalog.approve(WANG, draft.id)
    shop.catalog.publish(LI, draft.id, channel="tmall", external_id="TM-1001")
    return product, shop.catalog.publish(LI, draft.id, channel="jd", external_id="JD-77")


def test_cat_01_incomplete_listing_names_every_missing_field_and_changes_nothing(shop: Shop) -> None:
    product = shop.catalog.create_product(
        LI,
        _command(
            description="",
            shipping_method="",
            images=_images("MUG-BLUE", details=2),
            variants=[{"sku": "MUG-BLUE", "price": {"amount": "0", "currency": "CNY"}}],
        ),
    )
    shop.catalog.record_quality_check(LI, product.id, passed=True)
    draft = shop.catalog.draft_listing(LI, product.id, channels=["tmall"])
    with pytest.raises(InvalidInputError) as info:
        shop.catalog.submit(LI, draft.id)
    assert [f for f, _ in info.value.errors] == [
        "product.variants.MUG-BLUE.attributes",
        "product.variants.MUG-BLUE.price",
        "product.shipping_method",
        "product.description",
        "product.images.detail",
    ]
    assert str(product.id) in str(info.value)
    after = shop.catalog.get_listing(LI, draft.id)
    assert (after.state, after.version, after.approval_request_id) == (
        ListingState.DRAFT,
        draft.version,
        None,
    )
    assert list(shop.approvals.pending(ZHAO)) == []


def test_cat_02_reviewed_workflow_records_who_and_when(shop: Shop, clock: FixedClock) -> None:
    product = _ready(shop)
    draft = shop.catalog.draft_listing(LI, product.id, channels=["tmall"])
    with pytest.raises(InvalidTransitionError):
        shop.catalog.publish(LI, draft.id, channel="tmall", external_id="TM-1")
    clock.advance(timedelta(minutes=5))
    submitted = shop.catalog.submit(LI, draft.id)
    assert submitted.state is ListingState.SUBMITTED
    with pytest.raises(PermissionDeniedError):
        shop.catalog.approve(ZHAO, draft.id)  # only product managers review
    with pytest.raises(PermissionDeniedError):
        shop.catalog.approve(CS, draft.id)
    clock.advance(timedelta(minutes=5))
    approved = shop.catalog.approve(WANG, draft.id, reason="looks right")
    assert approved.state is ListingState.APPROVED
    assert [(s.action, s.by, s.at) for s in approved.steps] == [
        ("draft", "li.ming", AT),
        ("submit", "li.ming", AT + timedelta(minutes=5)),
        ("approve", "wang.fang", AT + timedelta(minutes=10)),
    ]
    assert approved.steps[-1].policy_version == 1


def test_cat_02_the_submitter_cannot_approve_and_a_rejected_listing_cannot_be_approved(shop: Shop) -> None:
    product = _ready(shop)
    draft = shop.catalog.draft_listing(WANG, product.id, channels=["jd"])
    shop.catalog.submit(WANG, draft.id)
    with pytest.raises(PolicyViolationError) as info:
        shop.catalog.approve(WANG, draft.id)
    assert info.value.rule == "maker_checker"
    assert shop.catalog.get_listing(WANG, draft.id).state is ListingState.SUBMITTED
    with pytest.raises(InvalidInputError):
        shop.catalog.reject(CHEN, draft.id, reason=" ")
    rejected = shop.catalog.reject(CHEN, draft.id, reason="photos too dark")
    assert (rejected.state, rejected.rejection_reason) == (ListingState.REJECTED, "photos too dark")
    with pytest.raises(InvalidTransitionError) as transition:
        shop.catalog.approve(CHEN, draft.id)
    assert transition.value.subject == f"Listing {draft.id}"
    assert (transition.value.state, transition.value.action) == ("rejected", "approve")
    assert shop.catalog.get_listing(WANG, draft.id).version == rejected.version
    revised = shop.catalog.revise(WANG, draft.id)
    assert revised.state is ListingState.DRAFT
    shop.catalog.submit(WANG, draft.id)
    assert shop.catalog.approve(CHEN, draft.id).state is ListingState.APPROVED


def test_cat_03_each_channel_has_its_own_state_and_external_id(shop: Shop) -> None:
    _product, listing = _published(shop)
    assert listing.state is ListingState.PUBLISHED
    assert [
        (c.channel, c.state.value, c.external_id, c.last_sync_result) for c in listing.channel_listings
    ] == [
        ("tmall", "live", "TM-1001", "published"),
        ("jd", "live", "JD-77", "published"),
    ]
    with pytest.raises(InvalidInputError) as info:
        shop.catalog.publish(LI, listing.id, channel="ebay", external_id="E-1")
    assert "ebay" in str(info.value)
    with pytest.raises(InvalidInputError):
        shop.catalog.publish(LI, listing.id, channel="amazon", external_id="A-1")  # not reviewed for it
    with pytest.raises(InvalidInputError):
        shop.catalog.publish(LI, listing.id, channel="tmall", external_id="TM-2")  # live already


def test_cat_03_a_channel_push_records_its_result_and_clears_the_push_mark(shop: Shop) -> None:
    product, listing = _published(shop)
    shop.catalog.update_content(LI, product.id, description="A blue stoneware mug, 350 ml, new glaze")
    tmall = Actor.system("channel:tmall")
    failed = shop.catalog.record_sync(tmall, listing.id, channel="tmall", succeeded=False, result="throttled")
    assert (failed.channel("tmall").last_sync_result, failed.channel("tmall").needs_push) == (
        "throttled",
        True,
    )
    done = shop.catalog.record_sync(tmall, listing.id, channel="tmall", succeeded=True, result="item updated")
    assert (done.channel("tmall").last_sync_result, done.channel("tmall").needs_push) == (
        "item updated",
        False,
    )
    assert done.channel("jd").needs_push  # jd still waits for its own push
    with pytest.raises(InvalidInputError) as info:
        shop.catalog.record_sync(tmall, listing.id, channel="amazon", succeeded=True, result="ok")
    assert info.value.field == "channel"
    with pytest.raises(PermissionDeniedError):
        shop.catalog.record_sync(CS, listing.id, channel="jd", succeeded=True, result="ok")
    assert "ChannelSyncRecorded" in [e.action for e in shop.audit.entries(ZHAO)]


def test_cat_03_unknown_channel_is_named_and_nothing_is_drafted(shop: Shop) -> None:
    product = _ready(shop)
    with pytest.raises(InvalidInputError) as info:
        shop.catalog.draft_listing(LI, product.id, channels=["tmall", "ebay"])
    assert info.value.field == "channels"
    assert "'ebay'" in info.value.reason
    with shop.unit_of_work(LI) as uow:
        assert list(uow.repository(Listing).find()) == []


def test_cat_04_books_validate_isbn_and_state_the_edition(shop: Shop) -> None:
    book = {
        "title": "Fortress Besieged",
        "author": "Qian Zhongshu",
        "publisher": "People's Literature",
        "isbn": "0-306-40615-2",
        "edition": "",
        "synopsis": "A satirical novel",
        "list_price": {"amount": "59.00", "currency": "CNY"},
    }
    product = _ready(shop, sku="BK-WC-2", book=book)
    assert product.book is not None
    assert product.book.isbn == "9780306406157"
    draft = shop.catalog.draft_listing(LI, product.id, channels=["jd"])
    with pytest.raises(InvalidInputError) as info:
        shop.catalog.submit(LI, draft.id)
    assert [f for f, _ in info.value.errors] == ["product.book.edition"]
    second = _ready(shop, sku="BK-WC-3", book={**book, "edition": "3rd edition"})
    draft = shop.catalog.draft_listing(LI, second.id, channels=["jd"])
    with pytest.raises(InvalidInputError) as info:
        shop.catalog.submit(LI, draft.id)
    assert info.value.field == "product.description.edition"
    shop.catalog.update_content(LI, second.id, description="3rd edition, revised translation")
    assert shop.catalog.submit(LI, draft.id).state is ListingState.SUBMITTED
    with pytest.raises(InvalidInputError) as bad:
        shop.catalog.create_product(LI, _command(sku="BK-X", book={**book, "isbn": "978-0-306-40615-8"}))
    assert bad.value.field == "book.isbn"
    with pytest.raises(InvalidInputError):
        check_isbn("12345")


def test_cat_05_price_and_content_changes_mark_live_channels_for_push(shop: Shop) -> None:
    product, listing = _published(shop)
    assert not any(c.needs_push for c in listing.channel_listings)
    shop.catalog.update_content(LI, product.id, description="A blue stoneware mug, 350 ml, gift box")
    pushed = shop.catalog.get_listing(LI, listing.id)
    assert all(c.needs_push for c in pushed.channel_listings)
    entries = [e.action for e in shop.audit.entries(ZHAO)]
    assert "ListingPushRequested" in entries
    assert "ProductContentUpdated" in entries


def test_cat_05_delisting_removes_the_listing_from_every_channel(shop: Shop) -> None:
    _product, listing = _published(shop)
    delisted = shop.catalog.delist(LI, listing.id, reason="discontinued")
    assert delisted.state is ListingState.DELISTED
    assert {c.state.value for c in delisted.channel_listings} == {"delisted"}
    with pytest.raises(InvalidTransitionError):
        shop.catalog.delist(LI, listing.id)


def test_cat_06_price_change_takes_effect_only_when_approved(shop: Shop) -> None:
    product, listing = _published(shop)
    outcome = shop.catalog.request_price_change(
        LI, product.id, "MUG-BLUE", Money.of("45.00", "CNY"), reason="supplier raised prices"
    )
    assert not outcome.applied
    assert outcome.approval is not None
    assert outcome.policy_version == 1
    assert shop.catalog.get_product(LI, product.id).variant("MUG-BLUE").price == Money.of("39.00", "CNY")
    with pytest.raises(PermissionDeniedError):
        shop.approvals.approve(STORE, outcome.approval.id)
    shop.approvals.approve(ZHAO, outcome.approval.id, reason="ok")
    after = shop.catalog.get_product(LI, product.id)
    assert after.variant("MUG-BLUE").price == Money.of("45.00", "CNY")
    change = after.price_history[-1]
    assert (
        change.old_price,
        change.new_price,
        change.requested_by,
        change.approved_by,
        change.policy_version,
    ) == (
        Money.of("39.00", "CNY"),
        Money.of("45.00", "CNY"),
        "li.ming",
        "zhao.lei",
        1,
    )
    assert all(c.needs_push for c in shop.catalog.get_listing(LI, listing.id).channel_listings)
    rejected = shop.catalog.request_price_change(
        LI, product.id, "MUG-BLUE", {"amount": "20.00", "currency": "CNY"}, reason="clearance"
    )
    assert rejected.approval is not None
    shop.approvals.reject(WANG, rejected.approval.id, reason="too low")
    assert shop.catalog.get_product(LI, product.id).variant("MUG-BLUE").price == Money.of("45.00", "CNY")


def test_cat_06_changes_under_the_policy_threshold_apply_at_once(shop: Shop, clock: FixedClock) -> None:
    product = _ready(shop)
    text = default_policy_text().replace(
        'approval_threshold_percent = "0"', 'approval_threshold_percent = "10"'
    )
    request = shop.policies.propose(LI, text, effective_from=AT, reason="small changes need no approval")
    shop.approvals.approve(ZHAO, request.id)
    clock.advance(timedelta(minutes=1))
    small = shop.catalog.request_price_change(
        LI, product.id, "MUG-BLUE", Money.of("42.00", "CNY"), reason="x"
    )
    assert small.applied
    assert small.policy_version == 2
    assert shop.catalog.get_product(LI, product.id).price_history[-1].approved_by is None
    large = shop.catalog.request_price_change(
        LI, product.id, "MUG-BLUE", Money.of("60.00", "CNY"), reason="y"
    )
    assert not large.applied
    with pytest.raises(InvalidInputError):
        shop.catalog.request_price_change(LI, product.id, "MUG-BLUE", Money.of("42", "USD"), reason="z")
    with pytest.raises(NotFoundError):
        shop.catalog.request_price_change(LI, product.id, "NOPE", Money.of("42", "CNY"), reason="z")
    with pytest.raises(PermissionDeniedError):
        shop.catalog.request_price_change(CS, product.id, "MUG-BLUE", Money.of("41", "CNY"), reason="z")


def test_cat_07_a_product_without_a_passed_quality_check_cannot_be_submitted(shop: Shop) -> None:
    product = shop.catalog.create_product(LI, _command())
    draft = shop.catalog.draft_listing(LI, product.id, channels=["tmall"])
    with pytest.raises(PolicyViolationError) as info:
        shop.catalog.submit(LI, draft.id)
    assert info.value.rule == "quality_gate"
    shop.catalog.record_quality_check(LI, product.id, passed=False, notes="scratched glaze")
    with pytest.raises(PolicyViolationError):
        shop.catalog.submit(LI, draft.id)
    checked = shop.catalog.record_quality_check(LI, product.id, passed=True, notes="replacement ok")
    assert [c.passed for c in checked.quality_checks] == [False, True]
    assert shop.catalog.submit(LI, draft.id).state is ListingState.SUBMITTED


def test_cat_08_overdue_report_and_image_names(shop: Shop, clock: FixedClock) -> None:
    listed, _listing = _published(shop)
    waiting = _ready(shop, sku="CUP-RED")
    few = _ready(shop, sku="CUP-GREEN", images=_images("CUP-GREEN", details=3))
    assert [r.product_id for r in shop.catalog.overdue_listings(LI)] == [few.id]
    clock.advance(timedelta(days=3, minutes=1))
    report = {r.product_id: r for r in shop.catalog.overdue_listings(LI)}
    assert set(report) == {waiting.id, few.id}
    assert report[waiting.id].reasons == ("not_listed",)
    assert report[waiting.id].due_at == AT + timedelta(days=3)
    assert report[few.id].reasons == ("not_listed", "detail_images")
    assert listed.id not in report
    with pytest.raises(InvalidInputError) as info:
        shop.catalog.create_product(
            LI, _command(images=[{"file_name": "photo1.jpg", "kind": "detail", "checksum": CHECKSUM}])
        )
    assert info.value.field == "images.0.file_name"
    with pytest.raises(PermissionDeniedError):
        shop.catalog.overdue_listings(CS)


def test_cat_09_sold_out_variant_is_marked_unavailable_not_removed(shop: Shop) -> None:
    product, listing = _published(shop)
    after = shop.catalog.mark_variant_unavailable(LI, product.id, "MUG-BLUE", reason="sold out until autumn")
    variant = after.variant("MUG-BLUE")
    assert (variant.available, variant.unavailable_reason) == (False, "sold out until autumn")
    assert all(c.needs_push for c in shop.catalog.get_listing(LI, listing.id).channel_listings)
    with pytest.raises(InvalidTransitionError):
        shop.catalog.mark_variant_unavailable(LI, product.id, "MUG-BLUE", reason="again")
    draft = shop.catalog.draft_listing(LI, product.id, channels=["shopify"])
    with pytest.raises(InvalidInputError) as info:
        shop.catalog.submit(LI, draft.id)
    assert [f for f, _ in info.value.errors] == ["product.stock"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"variants": [{"sku": "MUG BLUE", "price": {"amount": "1", "currency": "CNY"}}]}, "variants.0.sku"),
        (
            {
                "variants": [
                    {"sku": "M", "price": {"amount": "1", "currency": "CNY"}, "barcode": "4006381333932"}
                ]
            },
            "variants.0.barcode",
        ),
        (
            {"variants": [{"sku": "M", "price": {"amount": 1.5, "currency": "CNY"}}]},
            "variants.0.price.amount",
        ),
        ({"colour": "blue"}, "colour"),
        ({"variants": []}, "variants"),
        (
            {"images": [{"file_name": "MUG-BLUE-1.jpg", "kind": "banner", "checksum": CHECKSUM}]},
            "images.0.kind",
        ),
    ],
)
def test_cat_01_bad_product_input_is_refused_naming_the_field(
    shop: Shop, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        shop.catalog.create_product(LI, _command(**changes))
    assert info.value.field == field
    with shop.unit_of_work(LI) as uow:
        assert list(uow.repository(Product).find()) == []


def test_cat_02_stale_versions_and_missing_rights_change_nothing(shop: Shop) -> None:
    product = _ready(shop)
    draft = shop.catalog.draft_listing(LI, product.id, channels=["tmall"])
    with pytest.raises(ConcurrencyError):
        shop.catalog.submit(LI, draft.id, expected_version=draft.version + 1)
    with pytest.raises(ConcurrencyError):
        shop.catalog.update_content(LI, product.id, name="x", expected_version=0)
    with pytest.raises(PermissionDeniedError):
        shop.catalog.draft_listing(CS, product.id, channels=["tmall"])
    with pytest.raises(PermissionDeniedError):
        shop.catalog.create_product(STORE, _command())
    assert shop.catalog.get_listing(LI, draft.id).state is ListingState.DRAFT
    assert shop.catalog.get_product(LI, product.id).name == "Blue mug"


def test_cat_04_domain_values_validate_themselves() -> None:
    with pytest.raises(InvalidInputError):
        Variant(sku="x" * 65, price=Money.of("1", "CNY"))
    with pytest.raises(InvalidInputError):
        Variant(sku="A", price=Money.of("-1", "CNY"))
    with pytest.raises(InvalidInputError):
        BookDetails(
            title="t", author="a", publisher="p", isbn="9780306406158", edition="1", synopsis="",
            list_price=Money.of("1", "CNY"),
        )  # fmt: skip


_ACTIONS = sorted({a for (_s, a) in LISTING_LIFECYCLE.transitions})


@given(st.lists(st.sampled_from(_ACTIONS), max_size=12))
def test_cat_02_walks_follow_the_listing_lifecycle_table(actions: list[str]) -> None:
    product = Product.create(
        name="Blue mug",
        description="A blue mug",
        shipping_method="express",
        variants=[Variant(sku="MUG", attributes=(("colour", "blue"),), price=Money.of("39", "CNY"))],
        images=[ProductImage(file_name="MUG-main.jpg", kind=ImageKind.MAIN, checksum=CHECKSUM)],
        by=LI,
        at=AT,
    )
    product.record_quality_check(passed=True, notes="", by=LI, at=AT)
    listing = Listing.draft(product_id=product.id, channels=["tmall", "jd", "amazon"], by=LI, at=AT)
    published = 0
    for action in actions:
        before = (listing.state, listing.version)
        allowed = LISTING_LIFECYCLE.can(listing.state, action) and not (
            action == "publish" and published == 3
        )
        try:
            if action == "submit":
                listing.submit(
                    product=product, min_detail_images=0, approval_request_id=product.id, by=LI, at=AT,
                    policy_version=1,
                )  # fmt: skip
            elif action == "approve":
                listing.approve(by=WANG, at=AT, policy_version=1)
            elif action == "reject":
                listing.reject(by=WANG, at=AT, reason="no", policy_version=1)
            elif action == "revise":
                listing.revise(by=LI, at=AT)
            elif action == "publish":
                channel = listing.channels[published % 3]
                listing.publish(channel=channel, external_id=f"X-{published}", by=LI, at=AT)
                published += 1
            else:
                listing.delist(by=LI, at=AT)
        except InvalidTransitionError:
            assert not LISTING_LIFECYCLE.can(before[0], action)
            assert (listing.state, listing.version) == before
        except InvalidInputError:
            assert not allowed  # a fourth channel was never reviewed
            assert (listing.state, listing.version) == before
        else:
            assert allowed
            assert listing.state is LISTING_LIFECYCLE.fire(before[0], action, subject="x")
            assert listing.version == before[1] + 1


def test_cat_01_a_sku_belongs_to_one_product_across_the_catalog() -> None:
    from eshop_core import InvalidInputError, Shop

    with Shop.open("memory://") as shop:
        first = shop.catalog.create_product(LI, _command("MUG-RED"))
        with pytest.raises(InvalidInputError) as info:
            shop.catalog.create_product(LI, _command("MUG-RED", name="Another mug"))
        assert info.value.field == "variants.0.sku"
        assert str(first.id) in info.value.reason
