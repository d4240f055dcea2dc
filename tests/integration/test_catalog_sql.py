"""Catalog and listing review on SQLite: the main flow, then reopened (CAT-01..09)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eshop_core import Actor, FixedClock, InvalidInputError, Money, PolicyViolationError, Role, Shop
from eshop_core.domain.catalog import ChannelState, ListingState
from eshop_core.storage.catalog_ports import SkuRegistry

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LI = Actor("li.ming", roles={Role.OPERATIONS})
WANG = Actor("wang.fang", roles={Role.PRODUCT_MANAGER})
ZHAO = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
CHECKSUM = "0123456789abcdef"


def _book_command(sku: str) -> dict[str, object]:
    images = [{"file_name": f"{sku}-main.jpg", "kind": "main", "checksum": CHECKSUM}]
    images += [{"file_name": f"{sku}-{i}.jpg", "kind": "detail", "checksum": CHECKSUM} for i in range(5)]
    return {
        "name": "Fortress Besieged (3rd edition)",
        "description": "3rd edition with a new afterword",
        "shipping_method": "standard",
        "variants": [
            {
                "sku": sku,
                "attributes": {"binding": "paperback"},
                "price": {"amount": "49.90", "currency": "CNY"},
                "barcode": "9780306406157",
            }
        ],
        "images": images,
        "book": {
            "title": "Fortress Besieged",
            "author": "Qian Zhongshu",
            "publisher": "People's Literature",
            "isbn": "0306406152",
            "edition": "3rd edition",
            "synopsis": "A satirical novel",
            "list_price": {"amount": "59.00", "currency": "CNY"},
        },
        "arrived_at": START.isoformat(),
    }


def test_cat_02_listing_flow_and_price_change_on_sqlite_survive_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    clock = FixedClock(START)
    with Shop.open(url, clock=clock) as shop:
        book = shop.catalog.create_product(LI, _book_command("BK-FB-3"))
        draft = shop.catalog.draft_listing(LI, book.id, channels=["tmall", "jd"])
        with pytest.raises(PolicyViolationError):
            shop.catalog.submit(LI, draft.id)  # CAT-07: no quality check yet
        shop.catalog.record_quality_check(LI, book.id, passed=True, notes="no misprints, no damage")
        shop.catalog.submit(LI, draft.id)
        with pytest.raises(PolicyViolationError):
            shop.catalog.approve(Actor("li.ming", roles={Role.PRODUCT_MANAGER}), draft.id)
        clock.advance(timedelta(hours=1))
        shop.catalog.approve(WANG, draft.id)
        shop.catalog.publish(LI, draft.id, channel="tmall", external_id="TM-88")
        with pytest.raises(InvalidInputError):
            shop.catalog.publish(LI, draft.id, channel="ebay", external_id="E-1")
        change = shop.catalog.request_price_change(
            LI, book.id, "BK-FB-3", Money.of("44.90", "CNY"), reason="match the list price discount"
        )
        assert change.approval is not None
        shop.approvals.approve(ZHAO, change.approval.id)
        shop.catalog.mark_variant_unavailable(LI, book.id, "BK-FB-3", reason="out of print")

    with Shop.open(url, clock=clock) as reopened:
        product = reopened.catalog.get_product(LI, book.id)
        assert product.book is not None
        assert product.book.isbn == "9780306406157"
        variant = product.variant("BK-FB-3")
        assert (variant.price, variant.available, variant.barcode) == (
            Money.of("44.90", "CNY"),
            False,
            "9780306406157",
        )
        assert variant.attributes == (("binding", "paperback"),)
        assert [(p.old_price, p.approved_by) for p in product.price_history] == [
            (Money.of("49.90", "CNY"), "zhao.lei")
        ]
        assert [q.passed for q in product.quality_checks] == [True]
        assert len(product.images) == 6
        assert product.arrived_at == START
        listing = reopened.catalog.get_listing(LI, draft.id)
        assert listing.state is ListingState.PUBLISHED
        assert [s.action for s in listing.steps] == ["draft", "submit", "approve", "publish"]
        assert listing.steps[2].by == "wang.fang"
        assert listing.steps[2].at == START + timedelta(hours=1)
        tmall = listing.channel("tmall")
        assert (tmall.state, tmall.external_id, tmall.needs_push) == (ChannelState.LIVE, "TM-88", True)
        assert tmall.published_at == START + timedelta(hours=1)
        delisted = reopened.catalog.delist(LI, draft.id)
        assert delisted.channel("tmall").state is ChannelState.DELISTED
        clock.advance(timedelta(days=4))
        assert reopened.catalog.overdue_listings(LI) == ()


def test_cat_01_sku_uniqueness_holds_across_products_on_sqlite(tmp_path: Path) -> None:
    shop = Shop.open(f"sqlite:///{tmp_path}/skus.db")
    try:
        ops = Actor("li.ming", roles={Role.OPERATIONS})
        shop.catalog.create_product(ops, _book_command("INK-BLACK"))
        second = {**_book_command("INK-BLACK"), "name": "Second printing"}
        with pytest.raises(InvalidInputError) as info:
            shop.catalog.create_product(ops, second)
        assert info.value.field == "variants.0.sku"
    finally:
        shop.close()
    reopened = Shop.open(f"sqlite:///{tmp_path}/skus.db")
    try:
        with reopened.unit_of_work(Actor("li.ming")) as uow:
            assert uow.port(SkuRegistry).owner("INK-BLACK") is not None
            assert uow.port(SkuRegistry).owner("NO-SUCH") is None
    finally:
        reopened.close()
