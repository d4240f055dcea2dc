"""
Command-line subcommands that need the bundled adapters: ``eshop demo``.

``eshop demo`` is the main job. On a fresh SQLite file it plays a short
stretch of shop operations with the foundation's example aggregate (the
``Widget`` of :mod:`eshop_core.testing`): records with personal data found by
blind index, atomic stock that refuses to oversell, an optimistic-locking
conflict, a business-hours deadline across the Spring Festival make-up
workday, a timer fired by ``run_due``, the policy in force, a book listed
through the quality gate and a product manager's review on two channels, a
price change approved by a department manager, events delivered through the
outbox, and the audit log — then shows what the shop holds. Later
capabilities grow it into orders, tickets, returns and promotions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from eshop_core import (
    Actor,
    ConcurrencyError,
    EshopError,
    EventEnvelope,
    FixedClock,
    InsufficientStockError,
    Money,
    PolicyViolationError,
    Role,
    Shop,
    hookimpl,
)
from eshop_core.storage.ports import TimerStore
from eshop_core.testing import WIDGET_REVIEW_TIMER, Widget, WidgetStock

__all__ = ["DEMO_DB", "eshop_register_commands", "run_demo"]

DEMO_DB = "eshop-demo.db"
SHANGHAI = ZoneInfo("Asia/Shanghai")


class _ConsoleSubscriber:
    """Prints each delivered event: an outbox subscriber like any plug-in's."""

    eshop_plugin_name = "demo-console"

    def __init__(self, console: Console) -> None:
        self.console = console
        self.count = 0

    @hookimpl
    def eshop_event(self, envelope: EventEnvelope) -> None:
        self.count += 1
        self.console.print(
            f"  [dim]event[/] {envelope.type:<15} v{envelope.aggregate_version} by {envelope.actor_id}"
            f"  {dict(envelope.payload)}",
            highlight=False,
        )


def _remove_demo_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".keys"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            candidate.unlink()


def _local(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%a %Y-%m-%d %H:%M")


def run_demo(url: str, console: Console) -> dict[str, Any]:
    """Play the demo on the shop at ``url`` and return its figures."""
    start = datetime(2026, 2, 13, 17, 40, tzinfo=SHANGHAI)  # the Friday before Spring Festival 2026
    clock = FixedClock(start)
    printer = _ConsoleSubscriber(console)
    li = Actor("li.ming", roles={Role.OPERATIONS}, display_name="Li Ming")
    boss = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER}, display_name="Zhao Lei")
    with Shop.open(url, clock=clock, plugins=[printer]) as shop:
        console.rule("[bold]eshop demo")
        console.print(f"shop: {url}  backend: {shop.backend.name}  plug-ins: {', '.join(shop.plugin_names)}")
        console.print(f"now: {_local(clock.now())} (Asia/Shanghai)")

        console.rule("records with personal data")
        widgets = [
            Widget.create(
                name=name,
                owner_email=email,
                owner_phone=phone,
                price=Money.of(price, "CNY"),
                by=li,
                at=clock.now(),
            )
            for name, email, phone, price in [
                ("Hardcover notebook", "Li.Ming@Example.com", "138 0013 8000", "59.00"),
                ("Fountain pen", "wang.fang@example.com", "+86 139-0013-9000", "128.50"),
                ("Ink bottle", "chen.jing@example.com", "13700137000", "35.90"),
            ]
        ]
        with shop.unit_of_work(li) as uow:
            repo = uow.repository(Widget)
            for w in widgets:
                repo.add(w)
            stock = uow.port(WidgetStock)
            stock.receive(widgets[0].id, 5)
            stock.receive(widgets[1].id, 2)
            uow.commit()
        with shop.unit_of_work(li) as uow:
            hits = uow.repository(Widget).find(where={"owner_phone": "+8613800138000"})
        console.print(
            f"stored {len(widgets)} records; look-up by phone '+8613800138000' (stored as '138 0013 8000') "
            f"finds: {[w.name for w in hits]}"
        )

        console.rule("atomic stock never oversells")
        with shop.unit_of_work(li) as uow:
            stock = uow.port(WidgetStock)
            left = stock.take(widgets[1].id, 2)
            try:
                stock.take(widgets[1].id, 1)
            except InsufficientStockError as exc:
                console.print(f"refused: {exc}  /  {exc.localized('zh')}")
            uow.commit()
        console.print(f"'{widgets[1].name}' left in stock: {left}")

        console.rule("optimistic versions")
        with shop.unit_of_work(li) as uow:
            mine = uow.repository(Widget).get(widgets[2].id)
        with shop.unit_of_work(boss) as uow:
            repo = uow.repository(Widget)
            theirs = repo.get(widgets[2].id)
            theirs.rename("Ink bottle, 50 ml", by=boss, at=clock.now())
            repo.save(theirs)
            uow.commit()
        mine.rename("Ink bottle (blue)", by=li, at=clock.now())
        try:
            with shop.unit_of_work(li) as uow:
                uow.repository(Widget).save(mine)
                uow.commit()
        except ConcurrencyError as exc:
            console.print(f"refused: {exc}")

        console.rule("business-hours deadlines")
        due = shop.calendar.add(clock.now(), timedelta(minutes=30))
        console.print(
            f"a 30-business-minute reply asked at {_local(clock.now())} is due {_local(due)} "
            "(Saturday 14 Feb 2026 is a make-up workday)"
        )
        week = shop.calendar.add(clock.now(), timedelta(hours=8))
        console.print(f"8 business hours later is {_local(week)} (Spring Festival 15-23 Feb is off)")
        with shop.unit_of_work(li) as uow:
            uow.port(TimerStore).schedule(kind=WIDGET_REVIEW_TIMER, aggregate_id=widgets[0].id, due_at=due)
            uow.commit()
        clock.set(due)
        report = shop.run_due()
        console.print(f"run_due at {_local(clock.now())}: {len(report.fired)} timer fired")

        listing_figures = _catalog_section(shop, console, li, boss)
        stock_figures = _inventory_section(shop, console, boss)
        order_figures = _orders_section(shop, console, clock)

        console.rule("outbox: events delivered to subscribers")
        delivery = shop.outbox.deliver()
        console.print(
            f"delivered {delivery.delivered}, retried {delivery.retried}, dead {delivery.dead_lettered}"
        )

        console.rule("what the shop holds")
        table = Table("name", "version", "price", "stock", "reviews", title="records")
        with shop.unit_of_work(li) as uow:
            stock = uow.port(WidgetStock)
            for w in uow.repository(Widget).find():
                table.add_row(
                    w.name, str(w.version), w.price.format("zh_CN"), str(stock.level(w.id)), str(w.reviews)
                )
        console.print(table)
        entries: list[Any] = []
        cursor: str | None = None
        while True:
            page = shop.audit.entries(boss, limit=500, cursor=cursor)
            entries.extend(page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        audit = Table(
            "#", "when", "who", "what", "version", title=f"audit log (GOV-05): the last 25 of {len(entries)}"
        )
        for e in entries[-25:]:
            audit.add_row(str(e.seq), _local(e.occurred_at), e.actor_id, e.action, str(e.aggregate_version))
        console.print(audit)
        describe = getattr(shop.backend, "describe", None)
        if callable(describe):
            info = Table("storage", "value", title="storage")
            for key, value in describe().items():
                info.add_row(str(key), str(value))
            console.print(info)
        return {
            **listing_figures,
            **stock_figures,
            **order_figures,
            "records": len(widgets),
            "audit_entries": len(entries),
            "events_delivered": delivery.delivered,
            "timers_fired": len(report.fired),
        }


def _catalog_section(shop: Shop, console: Console, li: Actor, boss: Actor) -> dict[str, Any]:
    """A book listed through review on two channels, then a price change approved by a manager."""
    console.rule("policy, catalog and listing review")
    policy = shop.policies.current()
    rules = policy.rules
    console.print(
        f"policy v{policy.number}: confirm orders within "
        f"{rules.deadlines.order_confirmation.duration.total_seconds() / 3600:g} h, "
        f"list new goods within {rules.deadlines.new_goods_listing.duration.days} days, "
        f"at least {rules.listing.min_detail_images} detail images"
    )
    pm = Actor("wang.fang", roles={Role.PRODUCT_MANAGER}, display_name="Wang Fang")
    sku = "BK-WC-3"
    digest = "9f86d081884c7d65"
    images = [{"file_name": f"{sku}-main.jpg", "kind": "main", "checksum": digest}]
    images += [{"file_name": f"{sku}-{i}.jpg", "kind": "detail", "checksum": digest} for i in range(5)]
    book = shop.catalog.create_product(
        li,
        {
            "name": "Fortress Besieged (3rd edition)",
            "description": "3rd edition, revised translation; hardcover",
            "shipping_method": "express",
            "variants": [
                {
                    "sku": sku,
                    "attributes": {"binding": "hardcover"},
                    "price": {"amount": "59.00", "currency": "CNY"},
                }
            ],
            "images": images,
            "arrived_at": shop.clock.now().isoformat(),
            "book": {
                "title": "Fortress Besieged",
                "author": "Qian Zhongshu",
                "publisher": "People's Literature",
                "isbn": "0-306-40615-2",
                "edition": "3rd edition",
                "synopsis": "A satirical novel",
                "list_price": {"amount": "59.00", "currency": "CNY"},
            },
        },
    )
    draft = shop.catalog.draft_listing(li, book.id, channels=["tmall", "jd"])
    try:
        shop.catalog.submit(li, draft.id)
    except PolicyViolationError as exc:
        console.print(f"refused: {exc}")
    shop.catalog.record_quality_check(li, book.id, passed=True, notes="no misprints, no missing pages")
    shop.catalog.submit(li, draft.id)
    try:
        shop.catalog.approve(li, draft.id)
    except EshopError as exc:
        console.print(f"refused (operations do not review listings): {exc}")
    shop.catalog.approve(pm, draft.id)
    shop.catalog.publish(li, draft.id, channel="tmall", external_id="TM-1001")
    listing = shop.catalog.publish(li, draft.id, channel="jd", external_id="JD-77")
    console.print(
        "listed: "
        + ", ".join(f"{c.channel} {c.state.value} as {c.external_id}" for c in listing.channel_listings)
        + f" (isbn {book.book.isbn if book.book else '-'})"
    )
    change = shop.catalog.request_price_change(
        li, book.id, sku, Money.of("69.00", "CNY"), reason="new hardcover print run"
    )
    if change.approval is not None:  # the policy's threshold asks for approval of this change
        console.print(f"price change to 69.00 asked: applied={change.applied}, waiting for approval")
        shop.approvals.approve(boss, change.approval.id, reason="matches the print cost")
    product = shop.catalog.get_product(li, book.id)
    pushed = shop.catalog.get_listing(li, draft.id)
    console.print(
        f"approved by {boss.id}: price now {product.variant(sku).price.format('zh_CN')}; "
        f"channels to push: {[c.channel for c in pushed.channel_listings if c.needs_push]}"
    )
    return {"listings_published": len(listing.channel_listings)}


def _inventory_section(shop: Shop, console: Console, boss: Actor) -> dict[str, Any]:
    """The book bought, inspected, received, reserved below its warning level, and counted."""
    console.rule("purchasing, receiving, stock and a stock count")
    zhou = Actor("zhou.min", roles={Role.PURCHASING}, display_name="Zhou Min")
    chen = Actor("chen.gang", roles={Role.WAREHOUSE}, display_name="Chen Gang")
    qian = Actor("qian.yu", roles={Role.FINANCE}, display_name="Qian Yu")
    sku = "BK-WC-3"
    shop.inventory.open_warehouse(boss, code="SH-01", name="Shanghai Qingpu")
    supplier = shop.purchasing.register_supplier(
        zhou,
        {
            "code": "PLP",
            "name": "People's Literature Press",
            "contact_name": "Sun Li",
            "contact_phone": "+86 10 6513 8394",
            "licence_number": "91110000100000000X",
        },
    )
    shop.purchasing.evaluate_supplier(
        zhou, supplier.id, {"qualification": 5, "reputation": 5, "quality": 4, "price": 3, "capacity": 4}
    )
    arrival = (shop.clock.now() + timedelta(days=3)).date()
    order = shop.purchasing.draft_order(
        zhou,
        {
            "supplier_id": supplier.id,
            "warehouse": "SH-01",
            "expected_arrival": arrival.isoformat(),
            "lines": [{"sku": sku, "quantity": 60, "unit_cost": {"amount": "31.50", "currency": "CNY"}}],
        },
    )
    shop.purchasing.place_order(zhou, order.id)
    try:
        shop.purchasing.receive(chen, order.id, [{"sku": sku, "received": 70, "accepted": 70}])
    except EshopError as exc:
        console.print(f"refused: {exc}")
    order = shop.purchasing.receive(
        chen,
        order.id,
        [{"sku": sku, "received": 60, "accepted": 58, "reason": "2 copies with missing pages"}],
    )
    shop.purchasing.return_rejected(chen, order.id, note="returned with the supplier's driver")
    console.print(
        f"purchase order {order.state.value}: accepted 58 of 60, 2 returned to {supplier.name}; "
        f"outstanding {dict(order.outstanding)}"
    )
    with shop.unit_of_work(Actor.system("orders")) as uow:
        for number, quantity in enumerate([8, 8, 8, 8, 8, 8, 5], start=1):
            shop.inventory.reserve_in(uow, sku, "SH-01", quantity, reference=f"order:DEMO-{number}")
        uow.commit()
    try:
        with shop.unit_of_work(Actor.system("orders")) as uow:
            shop.inventory.reserve_in(uow, sku, "SH-01", 6, reference="order:DEMO-8")
    except InsufficientStockError as exc:
        console.print(f"refused: {exc}")
    level = shop.inventory.level(chen, sku, "SH-01")
    suggestions = shop.inventory.suggestions(zhou)
    for s in suggestions:
        console.print(
            f"low stock: {s.sku} in {s.warehouse} has {s.available} available, below {s.threshold}; "
            f"suggest ordering {s.suggested_quantity}"
        )
    sheet = shop.stock_counts.open(chen, "SH-01")
    sheet = shop.stock_counts.record(chen, sheet.id, {sku: level.on_hand - 1})
    sheet = shop.stock_counts.explain(chen, sheet.id, {sku: "one copy water-damaged, set aside"})
    sheet = shop.stock_counts.submit(chen, sheet.id)
    if sheet.approval is not None:
        try:
            shop.approvals.approve(chen, sheet.approval.id)
        except EshopError as exc:
            console.print(f"refused (warehouse staff do not approve variances): {exc}")
        shop.approvals.approve(qian, sheet.approval.id, reason="damage confirmed")
    level = shop.inventory.level(chen, sku, "SH-01")
    ledger = Table("#", "reason", "on hand", "reserved", "by", "reference", title=f"stock ledger of {sku}")
    for m in shop.inventory.movements(boss, sku=sku).items:
        ledger.add_row(
            str(m.seq),
            m.reason.value,
            f"{m.on_hand_delta:+d}",
            f"{m.reserved_delta:+d}",
            m.actor,
            m.reference or "",
        )
    console.print(ledger)
    console.print(
        f"{sku} in SH-01: on hand {level.on_hand}, reserved {level.reserved}, available {level.available}"
    )
    return {"stock_on_hand": level.on_hand, "low_stock_suggestions": len(suggestions)}


def _channel_order(external_id: str, quantity: int, *, at: datetime, **extra: Any) -> dict[str, Any]:
    placed = at.isoformat()
    order: dict[str, Any] = {
        "channel": "tmall",
        "external_id": external_id,
        "status": "paid",
        "currency": "CNY",
        "placed_at": placed,
        "modified_at": placed,
        "buyer": f"tb_{external_id.lower()}",
        "consignee": {
            "name": "Li Lei",
            "phone": "138 0013 8000",
            "province": "上海市",
            "city": "上海市",
            "district": "浦东新区",
            "address": "世纪大道 100 号 1201 室",
        },
        "lines": [{"sku": "BK-WC-3", "quantity": quantity, "unit_price": "69.00"}],
        "total": f"{69 * quantity}.00",
        "payment": {"method": "alipay", "reference": f"PAY-{external_id}", "paid_at": placed},
    }
    order.update(extra)
    return order


def _orders_section(shop: Shop, console: Console, clock: FixedClock) -> dict[str, Any]:
    """Channel orders ingested twice, audited, confirmed on time or late, allocated, reminded."""
    console.rule("channel orders: ingestion, audit, confirmation, stock")
    tmall = Actor.system("channel:tmall")
    wu = Actor("wu.hua", roles={Role.CUSTOMER_SERVICE}, display_name="Wu Hua")
    chen = Actor("chen.gang", roles={Role.LOGISTICS}, display_name="Chen Gang")
    now = clock.now()
    batch = [
        _channel_order("TM-2001", 1, at=now),
        _channel_order(
            "TM-2002",
            1,
            at=now,
            consignee={
                "name": "Zhang Wei",
                "phone": "139 0013 9000",
                "province": "北京市",
                "city": "北京市",
                "district": "朝阳区",
                "address": "建国路 88 号 6 号楼 1502",
            },
            buyer_note="请改地址到公司",
        ),
        _channel_order("TM-2003", 1, at=now, status="pending_payment", payment=None),
    ]
    results = shop.orders.ingest_many(tmall, batch)
    again = shop.orders.ingest_many(tmall, batch)  # the poller delivers the same orders again
    for r in results:
        findings = "; ".join(f"{f.rule}: {f.detail}" for f in r.findings)
        suffix = f"  ({findings})" if findings else ""
        console.print(f"{r.external_id}: {r.outcome.value} -> {r.state.value}{suffix}")
    console.print(f"delivered again: {[r.outcome.value for r in again]}")
    held = next(r for r in results if r.external_id == "TM-2002")
    try:
        shop.orders.confirm(chen, held.id)
    except EshopError as exc:
        console.print(f"refused: {exc}")
    clock.advance(timedelta(hours=2))
    report = shop.run_due()
    overdue = [o.external_id for o in shop.orders.overdue(wu)]
    reminded = [o.external_id for o in shop.orders.orders(wu, state="pending_payment") if o.reminders_sent]
    console.print(
        f"run_due two hours later: {len(report.fired)} timers; overdue {overdue}; reminded to pay {reminded}"
    )
    shop.orders.release(wu, held.id, note="called the buyer: the address stays")
    confirmed = shop.orders.confirm(wu, held.id)
    console.print(
        f"TM-2002 confirmed by {confirmed.confirmed_by}, late={confirmed.confirmed_late}, "
        f"stock from {confirmed.line('BK-WC-3').allocations}"
    )
    short = shop.orders.ingest(tmall, _channel_order("TM-2004", 10, at=clock.now()))
    if short.state.value == "held":
        shop.orders.release(wu, short.id, note="a school order, confirmed by phone")
        view = shop.orders.confirm(wu, short.id)
    else:
        view = shop.orders.get(wu, short.id)
    console.print(
        f"TM-2004 wants 10: {view.state.value}, {view.line('BK-WC-3').allocated} reserved; "
        "the customer waits for the rest"
    )
    if view.state.value == "short":
        shop.orders.choose_backorder(wu, short.id)
    shop.logistics.register_carrier(
        chen,
        code="SF",
        name="SF Express",
        currency="CNY",
        coverage=["北京市", "上海市"],
        tracking_url_template="https://www.sf-express.com/track?no={tracking_number}",
    )
    parcel = {
        "warehouse": "SH-01",
        "lines": [{"sku": "BK-WC-3", "quantity": 1}],
        "packed": [{"sku": "BK-WC-3", "quantity": 1}],
        "address_confirmed": True,
        "packaging": ["hardcover"],
        "carrier": "SF",
        "tracking_number": "SF1400 2002 0001",
        "expected_delivery": (clock.now() + timedelta(days=2)).isoformat(),
        "freight": {"amount": "12.00", "currency": "CNY"},
    }
    shop.orders.modify(wu, held.id, packaging=["hardcover"])  # books travel in hardcover protection
    try:
        shop.shipping.ship(chen, held.id, {**parcel, "packed": [{"sku": "BK-WC-3", "quantity": 2}]})
    except EshopError as exc:
        console.print(f"packing check refused: {exc}")
    shipment = shop.shipping.ship(chen, held.id, parcel)
    console.print(
        f"TM-2002 shipped with {shipment.carrier} {shipment.tracking_number}: {shipment.tracking_url}"
    )
    clock.advance(timedelta(days=3))
    shop.run_due()
    late_parcels = shop.logistics.exceptions(chen)
    console.print(f"three days later: {[(e.kind.value, e.tracking_number) for e in late_parcels]} opened")
    shop.shipping.deliver(chen, shipment.id)
    for exception in late_parcels:
        shop.logistics.resolve_exception(chen, exception.id, resolution="held at the depot over the weekend")
    qian = Actor("qian.yu", roles={Role.FINANCE}, display_name="Qian Yu")
    today = clock.now().astimezone(SHANGHAI).date()
    bill = shop.logistics.record_bill(
        qian,
        carrier="SF",
        period_start=today.replace(day=1),
        period_end=today,
        lines=[{"tracking_number": "SF140020020001", "amount": {"amount": "14.00", "currency": "CNY"}}],
    )
    differences = shop.logistics.reconcile(qian, bill.id).differences
    console.print(
        "freight bill reconciled: "
        + ", ".join(
            f"{d.kind.value} {d.tracking_number} (billed {d.billed}, quoted {d.expected})"
            for d in differences
        )
    )
    timeline = shop.orders.timeline(wu, held.id)
    console.print("TM-2002 timeline: " + " -> ".join(step.action for step in timeline))
    return {
        "orders": len(results) + 1,
        "orders_late": len(shop.orders.late_confirmations(wu)),
        "shipments": 1,
        "freight_differences": len(differences),
    }


@hookimpl
def eshop_register_commands(app: typer.Typer) -> None:
    """Add ``eshop demo``."""

    @app.command()
    def demo(
        db: Annotated[
            str | None, typer.Option("--db", help=f"Storage URL (default: a fresh sqlite:///{DEMO_DB}).")
        ] = None,
    ) -> None:
        """Play the demo shop on SQLite and show what it holds."""
        console = Console()
        if db is None:
            _remove_demo_files(Path(DEMO_DB))
            db = f"sqlite:///{DEMO_DB}"
        figures = run_demo(db, console)
        console.print(f"done: {figures}")
