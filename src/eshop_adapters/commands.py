"""
Command-line subcommands that need the bundled adapters: ``eshop demo``.

``eshop demo`` is the main job. On a fresh SQLite file it plays a short
stretch of shop operations with the foundation's example aggregate (the
``Widget`` of :mod:`eshop_core.testing`): records with personal data found by
blind index, atomic stock that refuses to oversell, an optimistic-locking
conflict, a business-hours deadline across the Spring Festival make-up
workday, a timer fired by ``run_due``, events delivered through the outbox,
and the audit log — then shows what the shop holds. Later capabilities grow it
into listings, orders, tickets, returns and promotions.
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
    EventEnvelope,
    FixedClock,
    InsufficientStockError,
    Money,
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
        audit = Table("#", "when", "who", "what", "version", title="audit log (GOV-05)")
        entries = shop.audit.entries(boss, limit=50).items
        for e in entries:
            audit.add_row(str(e.seq), _local(e.occurred_at), e.actor_id, e.action, str(e.aggregate_version))
        console.print(audit)
        describe = getattr(shop.backend, "describe", None)
        if callable(describe):
            info = Table("storage", "value", title="storage")
            for key, value in describe().items():
                info.add_row(str(key), str(value))
            console.print(info)
        return {
            "records": len(widgets),
            "audit_entries": len(entries),
            "events_delivered": delivery.delivered,
            "timers_fired": len(report.fired),
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
