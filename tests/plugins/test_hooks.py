"""Each hook, exercised through a plug-in registered on a shop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import pytest
import typer
from typer.testing import CliRunner

from eshop_core import (
    Actor,
    DayOverride,
    EventEnvelope,
    FixedClock,
    PluginError,
    Shop,
    StorageError,
    TimerContext,
    hookimpl,
)
from eshop_core.calendar import CalendarSupplement
from eshop_core.cli import build_app
from eshop_core.storage.memory import MemoryBackend
from eshop_core.storage.ports import BackendOptions, BackendSpec, OutboxStore, TimerStore
from eshop_core.testing import Widget, WidgetStock

LI = Actor("li.ming")


def test_hook_eshop_register_storage_backends() -> None:
    opened: list[object] = []

    class Backend:
        @hookimpl
        def eshop_register_storage_backends(self, register: Callable[[BackendSpec], None]) -> None:
            def _open(target: object, options: BackendOptions) -> MemoryBackend:
                opened.append(target)
                return MemoryBackend(options)

            register(BackendSpec(name="memory", schemes=("scratch",), open=_open))

    shop = Shop.open("scratch://x", plugins=[Backend()])
    assert opened == ["scratch://x"]
    assert shop.backend.name == "memory"


def test_hook_eshop_register_storage_backends_refuses_duplicate_schemes() -> None:
    class Clash:
        @hookimpl
        def eshop_register_storage_backends(self, register: Callable[[BackendSpec], None]) -> None:
            register(BackendSpec(name="other", schemes=("memory",), open=lambda t, o: MemoryBackend(o)))

    with pytest.raises(PluginError, match="'memory' registered twice"):
        Shop.open("memory://", plugins=[Clash()])


def test_hook_eshop_register_storage_ports() -> None:
    class Doubling:
        """Replaces the memory WidgetStock with one that records calls."""

        calls: ClassVar[list[int]] = []

        @hookimpl
        def eshop_register_storage_ports(self, backend: str, register: Callable[..., None]) -> None:
            from eshop_core.testing.example import MemoryWidgetStock

            class Recording(MemoryWidgetStock):
                def receive(inner, widget_id: Any, quantity: int) -> int:  # noqa: N805
                    Doubling.calls.append(quantity)
                    return super().receive(widget_id, quantity)

            if backend == "memory":
                register(WidgetStock, Recording)

    shop = Shop.open("memory://", plugins=[Doubling()])
    with shop.unit_of_work(LI) as uow:
        w = Widget.create(name="w", owner_email="a@example.com", by=LI, at=shop.clock.now())
        assert uow.port(WidgetStock).receive(w.id, 4) == 4
    assert Doubling.calls == [4]


def test_hook_eshop_register_storage_ports_missing_required_port_fails_open() -> None:
    class NoOutbox:
        @hookimpl
        def eshop_register_storage_backends(self, register: Callable[[BackendSpec], None]) -> None:
            register(BackendSpec(name="bare", schemes=("bare",), open=lambda t, o: MemoryBackend(o)))

    with pytest.raises(
        StorageError, match="bare backend lacks required ports: OutboxStore, TimerStore, AuditLog"
    ):
        Shop.open("bare://", plugins=[NoOutbox()])


def test_hook_eshop_calendar_overrides() -> None:
    stocktake = date(2026, 3, 2)

    class Closures:
        @hookimpl
        def eshop_calendar_overrides(self, country: str) -> CalendarSupplement:
            assert country == "CN"
            return CalendarSupplement(
                [DayOverride(stocktake, working=False, note="annual stocktake")], verified_years={2031}
            )

    plain = Shop.open("memory://").calendar
    assert plain.is_working_day(stocktake)
    assert plain.is_provisional(date(2031, 5, 6))
    supplemented = Shop.open("memory://", plugins=[Closures()]).calendar
    assert not supplemented.is_working_day(stocktake)
    assert not supplemented.is_provisional(date(2031, 5, 6))


def test_hook_eshop_register_timer_handlers() -> None:
    seen: list[tuple[str, datetime]] = []

    class Reminders:
        @hookimpl
        def eshop_register_timer_handlers(self, register: Callable[..., None]) -> None:
            def remind(context: TimerContext) -> None:
                seen.append((context.timer.payload["who"], context.now))

            register("demo.remind", remind)

    clock = FixedClock()
    shop = Shop.open("memory://", plugins=[Reminders()], clock=clock)
    assert "demo.remind" in shop.timer_kinds
    w = Widget.create(name="w", owner_email="a@example.com", by=LI, at=clock.now())
    with shop.unit_of_work(LI) as uow:
        uow.port(TimerStore).schedule(
            kind="demo.remind",
            aggregate_id=w.id,
            due_at=clock.now() + timedelta(minutes=5),
            payload={"who": "li"},
        )
        uow.commit()
    clock.advance(timedelta(minutes=5))
    assert len(shop.run_due().fired) == 1
    assert seen == [("li", clock.now())]


def test_hook_eshop_register_timer_handlers_refuses_duplicate_kinds() -> None:
    class Twice:
        @hookimpl
        def eshop_register_timer_handlers(self, register: Callable[..., None]) -> None:
            register("testkit.widget_review", lambda ctx: None)

    with pytest.raises(PluginError, match="registered twice"):
        Shop.open("memory://", plugins=[Twice()])


def test_hook_eshop_event() -> None:
    received: list[EventEnvelope] = []

    class Subscriber:
        eshop_plugin_name = "audit-mirror"

        @hookimpl
        def eshop_event(self, envelope: EventEnvelope) -> None:
            received.append(envelope)

    shop = Shop.open("memory://", plugins=[Subscriber()])
    assert "audit-mirror" in shop.outbox.subscribers
    with shop.unit_of_work(LI) as uow:
        w = Widget.create(name="w", owner_email="a@example.com", by=LI, at=shop.clock.now())
        uow.repository(Widget).add(w)
        uow.commit()
    assert received == []  # nothing is delivered inside the transaction
    assert shop.outbox.deliver().delivered == 1
    assert [(e.type, e.aggregate_id, e.actor_id) for e in received] == [("WidgetCreated", w.id, "li.ming")]
    with shop.unit_of_work(LI) as uow:
        assert uow.port(OutboxStore).stats()["delivered"] == 1


def test_hook_eshop_register_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    class Hello:
        @hookimpl
        def eshop_register_commands(self, app: typer.Typer) -> None:
            @app.command()
            def hello(name: str = "world") -> None:
                """Say hello."""
                typer.echo(f"hello {name}")

    import eshop_core.cli as cli

    real = cli.get_plugin_manager
    monkeypatch.setattr(cli, "get_plugin_manager", lambda: real(plugins=[Hello()]))
    result = CliRunner().invoke(build_app(), ["hello", "--name", "shop"])
    assert result.exit_code == 0
    assert result.output.strip() == "hello shop"


def test_unknown_hook_in_a_plugin_is_refused() -> None:
    class Typo:
        @hookimpl
        def eshop_evnet(self, envelope: EventEnvelope) -> None:
            """Misspelt hook."""

    with pytest.raises(PluginError, match="eshop_evnet"):
        Shop.open("memory://", plugins=[Typo()])


def _order_shop(*plugins: object) -> Shop:
    from eshop_core import Role

    shop = Shop.open("memory://", plugins=list(plugins))
    boss = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
    li = Actor("li.ming", roles={Role.OPERATIONS})
    shop.inventory.open_warehouse(boss, code="SH-01", name="Shanghai", priority=1)
    shop.inventory.open_warehouse(boss, code="BJ-01", name="Beijing", priority=2)
    shop.catalog.create_product(
        li,
        {
            "name": "Blue mug",
            "shipping_method": "express",
            "variants": [
                {
                    "sku": "MUG-BLUE",
                    "attributes": {"colour": "blue"},
                    "price": {"amount": "39.00", "currency": "CNY"},
                }
            ],
        },
    )
    with shop.unit_of_work(boss) as uow:
        shop.inventory.receive_in(uow, "MUG-BLUE", "SH-01", 10)
        shop.inventory.receive_in(uow, "MUG-BLUE", "BJ-01", 10)
        uow.commit()
    return shop


def _channel_order(province: str = "上海市") -> dict[str, Any]:
    return {
        "channel": "tmall",
        "external_id": "TM-1",
        "status": "paid",
        "placed_at": "2026-03-02T10:00:00+08:00",
        "modified_at": "2026-03-02T10:01:00+08:00",
        "currency": "CNY",
        "consignee": {
            "name": "Li Lei",
            "phone": "13800138000",
            "province": province,
            "city": "海口市",
            "address": "滨海大道 88 号 3 栋 502",
        },
        "lines": [{"sku": "MUG-BLUE", "quantity": 2, "unit_price": "39.00"}],
        "total": "78.00",
        "payment": {"method": "alipay", "paid_at": "2026-03-02T10:01:00+08:00"},
    }


def test_hook_eshop_register_audit_rules() -> None:
    from eshop_core.domain.orders import AuditFinding, Order, OrderState

    class NoIslands:
        name = "delivery_area"

        def check(self, order: Order, context: Any) -> list[AuditFinding]:
            if order.province == "海南省":
                return [AuditFinding(rule=self.name, detail="no delivery to this province")]
            return []

    class Areas:
        @hookimpl
        def eshop_register_audit_rules(self, register: Callable[..., None]) -> None:
            register(NoIslands())

    shop = _order_shop(Areas())
    assert shop.orders.audit_rules[-1] == "delivery_area"
    result = shop.orders.ingest(Actor.system("channel:tmall"), _channel_order(province="海南省"))
    assert result.state is OrderState.HELD
    assert [(f.rule, f.detail) for f in result.findings] == [
        ("delivery_area", "no delivery to this province")
    ]


def test_hook_eshop_register_audit_rules_refuses_a_name_twice() -> None:
    from eshop_core.domain.order_audit import PhoneRule

    class Again:
        @hookimpl
        def eshop_register_audit_rules(self, register: Callable[..., None]) -> None:
            register(PhoneRule())

    with pytest.raises(PluginError, match="'phone' registered twice"):
        Shop.open("memory://", plugins=[Again()])


def test_hook_eshop_choose_warehouse() -> None:
    from eshop_core.domain.orders import OrderState

    calls: list[dict[str, int]] = []

    class PreferBeijing:
        @hookimpl
        def eshop_choose_warehouse(self, missing: dict[str, int], candidates: Any) -> Any:
            calls.append(dict(missing))
            assert [lv.warehouse for lv in candidates["MUG-BLUE"]] == ["SH-01", "BJ-01"]  # priority order
            return {sku: [("BJ-01", units)] for sku, units in missing.items()}

    shop = _order_shop(PreferBeijing())
    result = shop.orders.ingest(Actor.system("channel:tmall"), _channel_order())
    assert result.state is OrderState.ALLOCATED
    assert calls == [{"MUG-BLUE": 2}]
    view = shop.orders.get(Actor.system("orders"), result.id)
    assert view.line("MUG-BLUE").allocations == (("BJ-01", 2),)
    assert shop.inventory.level(Actor.system("orders"), "MUG-BLUE", "BJ-01").reserved == 2
    assert shop.inventory.level(Actor.system("orders"), "MUG-BLUE", "SH-01").reserved == 0


def test_hook_eshop_register_notifiers() -> None:
    from eshop_core import Role
    from eshop_core.services.notifications import NOTIFICATIONS_SUBSCRIBER, CustomerNotice

    received: list[CustomerNotice] = []

    class Sms:
        @hookimpl
        def eshop_register_notifiers(self, register: Callable[..., None]) -> None:
            register(received.append)

    shop = _order_shop(Sms())
    assert NOTIFICATIONS_SUBSCRIBER in shop.outbox.subscribers
    order = shop.orders.ingest(Actor.system("channel:tmall"), _channel_order())
    lines = [{"sku": "MUG-BLUE", "quantity": 2}]
    parcel = shop.shipping.ship(
        Actor("chen.jie", roles={Role.LOGISTICS}),
        order.id,
        {
            "warehouse": "SH-01",
            "lines": lines,
            "packed": lines,
            "address_confirmed": True,
            "carrier": "SF",
            "tracking_number": "SF 1234 5678",
            "tracking_url": "https://www.sf-express.com/track/SF12345678",
        },
    )
    assert received == []  # notices leave after the commit, through the outbox
    shop.outbox.deliver(limit=1000)
    assert [(n.kind, n.order_id, n.recipient_name, n.recipient_phone) for n in received] == [
        ("shipment_dispatched", order.id, "Li Lei", "13800138000")
    ]
    details = received[0].details
    assert (details["carrier"], details["tracking_number"]) == ("SF", parcel.tracking_number)
    assert details["tracking_url"] == "https://www.sf-express.com/track/SF12345678"
    assert details["lines"] == {"MUG-BLUE": 2}
