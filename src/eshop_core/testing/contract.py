"""
The storage conformance suite.

Every backend — built-in or a third party's — proves itself by running this
suite. Subclass :class:`StorageContract` in a test module and provide the
``open_shop`` fixture: a callable ``open_shop(**kwargs) -> Shop`` that opens a
*fresh, empty* shop on the backend, passing ``kwargs`` (``clock=``,
``plugins=``) on to :meth:`Shop.open <eshop_core.Shop.open>`::

    import pytest
    from eshop_core import Shop
    from eshop_core.testing.contract import StorageContract

    class TestMyBackend(StorageContract):
        @pytest.fixture
        def open_shop(self, tmp_path):
            shops = []
            def _open(**kwargs):
                shops.append(Shop.open(f"mydb:///{tmp_path}/{len(shops)}", **kwargs))
                return shops[-1]
            yield _open
            for shop in shops:
                shop.close()

The backend must also implement the example :class:`~eshop_core.testing.WidgetStock`
port and store the example :class:`~eshop_core.testing.Widget` aggregate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from eshop_core.access import Actor, Role
from eshop_core.clock import FixedClock
from eshop_core.errors import (
    ConcurrencyError,
    InsufficientStockError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    StorageError,
)
from eshop_core.events import EventEnvelope
from eshop_core.hookspecs import hookimpl
from eshop_core.ids import new_id
from eshop_core.money import Money
from eshop_core.shop import Shop
from eshop_core.storage.ports import AuditLog, DeliveryStatus, OutboxStore, TimerStore
from eshop_core.testing.example import WIDGET_REVIEW_TIMER, Widget, WidgetState, WidgetStock

__all__ = ["StorageContract"]

LI = Actor("li.ming", roles={Role.OPERATIONS})
BOSS = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
ADMIN = Actor("admin", roles={Role.ADMINISTRATOR})

OpenShop = Callable[..., Shop]


class _Recorder:
    """A subscriber that records envelopes and can be told to fail."""

    def __init__(self, name: str) -> None:
        self.eshop_plugin_name = name
        self.seen: list[EventEnvelope] = []
        self.fail_on: set[str] = set()
        self.lock = threading.Lock()

    @hookimpl
    def eshop_event(self, envelope: EventEnvelope) -> None:
        with self.lock:
            if (
                envelope.payload.get("new_name") in self.fail_on
                or envelope.payload.get("name") in self.fail_on
            ):
                raise RuntimeError(f"{self.eshop_plugin_name} refuses {envelope.type}")
            self.seen.append(envelope)


def _widget(shop: Shop, name: str = "Blue widget", **kwargs: Any) -> Widget:
    defaults: dict[str, Any] = {"owner_email": "li@example.com", "price": Money.of("12.30", "CNY")}
    defaults.update(kwargs)
    return Widget.create(name=name, by=LI, at=shop.clock.now(), **defaults)


def _add(shop: Shop, *widgets: Widget) -> None:
    with shop.unit_of_work(LI) as uow:
        repo = uow.repository(Widget)
        for w in widgets:
            repo.add(w)
        uow.commit()


class StorageContract:
    """Behaviour every storage backend must show. Subclass and provide ``open_shop``."""

    @pytest.fixture
    def open_shop(self) -> OpenShop:  # pragma: no cover - always overridden
        pytest.fail("a StorageContract subclass must provide the open_shop fixture")

    @pytest.fixture
    def clock(self) -> FixedClock:
        return FixedClock()

    @pytest.fixture
    def shop(self, open_shop: OpenShop, clock: FixedClock) -> Shop:
        return open_shop(clock=clock)

    # -- repositories -------------------------------------------------------

    def test_add_then_get_returns_an_equal_copy(self, shop: Shop) -> None:
        w = _widget(shop, owner_phone="138 0013 8000", tags=("a", "b"))
        _add(shop, w)
        with shop.unit_of_work(LI) as uow:
            got = uow.repository(Widget).get(w.id)
        assert got is not w
        assert (got.id, got.name, got.owner_email, got.owner_phone, got.price, got.state, got.tags) == (
            w.id,
            "Blue widget",
            "li@example.com",
            "138 0013 8000",
            Money(Decimal("12.30"), "CNY"),
            WidgetState.ACTIVE,
            ("a", "b"),
        )
        assert got.created_at == w.created_at
        assert got.created_at.tzinfo is not None
        assert got.version == 1

    def test_get_unknown_id_raises_not_found(self, shop: Shop) -> None:
        missing = new_id()
        with shop.unit_of_work(LI) as uow, pytest.raises(NotFoundError) as info:
            uow.repository(Widget).get(missing)
        assert info.value.key == str(missing)

    def test_adding_the_same_id_twice_is_refused(self, shop: Shop) -> None:
        w = _widget(shop)
        _add(shop, w)
        twin = _widget(shop, "twin")
        twin.id = w.id

        def add_twin() -> None:
            with shop.unit_of_work(LI) as uow:
                uow.repository(Widget).add(twin)
                uow.port(WidgetStock).receive(w.id, 1)  # statements after the add see the clash too
                uow.commit()

        with pytest.raises(ConcurrencyError) as info:
            add_twin()
        assert info.value.key == str(w.id)
        with shop.unit_of_work(LI) as uow:
            assert uow.repository(Widget).get(w.id).name == "Blue widget"
            assert uow.port(WidgetStock).level(w.id) == 0

    def test_adding_one_id_twice_in_a_unit_of_work_is_refused_at_once(self, shop: Shop) -> None:
        w = _widget(shop)
        twin = _widget(shop, "twin")
        twin.id = w.id
        with shop.unit_of_work(LI) as uow:
            repo = uow.repository(Widget)
            repo.add(w)
            with pytest.raises(ConcurrencyError):
                repo.add(twin)

    def test_added_aggregates_are_visible_to_later_reads_in_the_same_unit_of_work(self, shop: Shop) -> None:
        widgets = [_widget(shop, f"n{i}") for i in range(3)]
        with shop.unit_of_work(LI) as uow:
            repo = uow.repository(Widget)
            for w in widgets:
                repo.add(w)
            assert repo.get(widgets[1].id).name == "n1"
            assert [w.name for w in repo.find(where={"name": "n2"})] == ["n2"]
            again = repo.get(widgets[0].id)
            again.rename("renamed", by=LI, at=shop.clock.now())
            repo.save(again)
            uow.commit()
        with shop.unit_of_work(LI) as uow:
            assert sorted(w.name for w in uow.repository(Widget).find()) == ["n1", "n2", "renamed"]

    def test_save_persists_changes_and_versions(self, shop: Shop) -> None:
        w = _widget(shop)
        _add(shop, w)
        with shop.unit_of_work(LI) as uow:
            repo = uow.repository(Widget)
            got = repo.get(w.id)
            got.rename("Red widget", by=LI, at=shop.clock.now())
            repo.save(got)
            uow.commit()
        with shop.unit_of_work(LI) as uow:
            again = uow.repository(Widget).get(w.id)
        assert (again.name, again.version) == ("Red widget", 2)

    def test_stale_save_raises_concurrency_error_and_keeps_the_winner(self, shop: Shop) -> None:
        w = _widget(shop)
        _add(shop, w)
        with shop.unit_of_work(LI) as uow:
            first = uow.repository(Widget).get(w.id)
        with shop.unit_of_work(LI) as uow:
            second = uow.repository(Widget).get(w.id)
        first.rename("First", by=LI, at=shop.clock.now())
        with shop.unit_of_work(LI) as uow:
            uow.repository(Widget).save(first)
            uow.commit()
        second.rename("Second", by=LI, at=shop.clock.now())
        with shop.unit_of_work(LI) as uow, pytest.raises(ConcurrencyError) as info:
            uow.repository(Widget).save(second)
        assert info.value.expected_version == 1
        with shop.unit_of_work(LI) as uow:
            assert uow.repository(Widget).get(w.id).name == "First"

    def test_uncommitted_work_is_rolled_back(self, shop: Shop) -> None:
        w = _widget(shop)
        with shop.unit_of_work(LI) as uow:
            uow.repository(Widget).add(w)
            uow.port(WidgetStock).receive(w.id, 3)
        with shop.unit_of_work(LI) as uow:
            assert uow.repository(Widget).find().items == ()
            assert uow.port(WidgetStock).level(w.id) == 0
            assert uow.port(AuditLog).entries().items == ()

    def test_an_exception_rolls_everything_back(self, shop: Shop) -> None:
        w = _widget(shop)

        def add_then_fail() -> None:
            with shop.unit_of_work(LI) as uow:
                uow.repository(Widget).add(w)
                uow.commit()
                raise RuntimeError("after commit: nothing to undo")

        def change_then_fail() -> None:
            with shop.unit_of_work(LI) as uow:
                got = uow.repository(Widget).get(w.id)
                got.rename("Lost", by=LI, at=shop.clock.now())
                uow.repository(Widget).save(got)
                uow.port(WidgetStock).receive(w.id, 9)
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="nothing to undo"):
            add_then_fail()
        with pytest.raises(RuntimeError, match="boom"):
            change_then_fail()
        with shop.unit_of_work(LI) as uow:
            assert uow.repository(Widget).get(w.id).name == "Blue widget"
            assert uow.port(WidgetStock).level(w.id) == 0
            assert [e.action for e in uow.port(AuditLog).entries().items] == ["WidgetCreated"]

    def test_a_committed_unit_of_work_cannot_be_reused(self, shop: Shop) -> None:
        with shop.unit_of_work(LI) as uow:
            uow.commit()
            with pytest.raises(StorageError):
                uow.repository(Widget)

    def test_find_pages_through_everything_in_id_order(self, shop: Shop) -> None:
        widgets = [_widget(shop, f"w{i:02d}") for i in range(7)]
        _add(shop, *widgets)
        seen: list[str] = []
        cursor = None
        pages = 0
        with shop.unit_of_work(LI) as uow:
            repo = uow.repository(Widget)
            while True:
                page = repo.find(limit=3, cursor=cursor)
                pages += 1
                seen += [w.name for w in page.items]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
        assert seen == [f"w{i:02d}" for i in range(7)]
        assert pages == 3

    def test_find_filters_on_plain_fields(self, shop: Shop) -> None:
        a, b = _widget(shop, "alpha"), _widget(shop, "beta")
        b.retire("old", by=LI, at=shop.clock.now())
        _add(shop, a, b)
        with shop.unit_of_work(LI) as uow:
            repo = uow.repository(Widget)
            assert [w.name for w in repo.find(where={"state": WidgetState.RETIRED})] == ["beta"]
            assert [w.name for w in repo.find(where={"name": "alpha"})] == ["alpha"]
            assert [w.name for w in repo.find(where={"id": b.id})] == ["beta"]

    def test_find_matches_blind_indexed_personal_fields_by_normalised_value(self, shop: Shop) -> None:
        a = _widget(shop, "a", owner_email="Li.Ming@Example.com", owner_phone="+86 138 0013 8000")
        b = _widget(shop, "b", owner_email="wang@example.com", owner_phone="13900139000")
        _add(shop, a, b)
        with shop.unit_of_work(LI) as uow:
            repo = uow.repository(Widget)
            assert [w.name for w in repo.find(where={"owner_email": "  li.ming@EXAMPLE.com "})] == ["a"]
            assert [w.name for w in repo.find(where={"owner_phone": "138-0013-8000"})] == ["a"]
            assert [w.name for w in repo.find(where={"owner_phone": "+8613900139000"})] == ["b"]
            assert repo.find(where={"owner_email": "nobody@example.com"}).items == ()

    def test_find_refuses_unknown_fields_limits_and_cursors(self, shop: Shop) -> None:
        with shop.unit_of_work(LI) as uow:
            repo = uow.repository(Widget)
            with pytest.raises(InvalidInputError) as info:
                repo.find(where={"reviews": 1})
            assert info.value.field == "where.reviews"
            with pytest.raises(InvalidInputError) as info:
                repo.find(limit=0)
            assert info.value.field == "limit"
            with pytest.raises(InvalidInputError) as info:
                repo.find(cursor="!!not a cursor!!")
            assert info.value.field == "cursor"

    # -- named ports --------------------------------------------------------

    def test_atomic_port_never_goes_below_zero(self, shop: Shop) -> None:
        w = _widget(shop)
        _add(shop, w)
        with shop.unit_of_work(LI) as uow:
            stock = uow.port(WidgetStock)
            assert stock.receive(w.id, 5) == 5
            assert stock.take(w.id, 3) == 2
            with pytest.raises(InsufficientStockError) as info:
                stock.take(w.id, 3)
            assert (info.value.requested, info.value.available) == (3, 2)
            with pytest.raises(InvalidInputError):
                stock.take(w.id, 0)
            uow.commit()
        with shop.unit_of_work(LI) as uow:
            assert uow.port(WidgetStock).level(w.id) == 2

    def test_unknown_port_raises_storage_error_naming_it(self, shop: Shop) -> None:
        class NoSuchPort:
            pass

        with shop.unit_of_work(LI) as uow, pytest.raises(StorageError, match="NoSuchPort"):
            uow.port(NoSuchPort)

    # -- events, outbox, audit ---------------------------------------------

    def test_events_reach_the_audit_log_without_personal_data(self, shop: Shop) -> None:
        w = _widget(shop, owner_email="secret.person@example.com")
        _add(shop, w)
        page = shop.audit.entries(BOSS, aggregate_id=w.id)
        [entry] = page.items
        assert (entry.actor_id, entry.action, entry.aggregate_version) == ("li.ming", "WidgetCreated", 1)
        assert entry.details == {"name": "Blue widget"}
        assert "secret.person" not in repr(entry)

    def test_audit_log_pages_in_order_and_filters_by_actor(self, shop: Shop) -> None:
        w = _widget(shop)
        _add(shop, w)
        for i in range(4):
            with shop.unit_of_work(BOSS) as uow:
                repo = uow.repository(Widget)
                got = repo.get(w.id)
                got.rename(f"name {i}", by=BOSS, at=shop.clock.now())
                repo.save(got)
                uow.commit()
        first = shop.audit.entries(BOSS, limit=3)
        second = shop.audit.entries(BOSS, limit=3, cursor=first.next_cursor)
        seqs = [e.seq for e in first.items + second.items]
        assert seqs == sorted(seqs)
        assert len(seqs) == 5
        assert second.next_cursor is None
        assert [e.aggregate_version for e in shop.audit.entries(BOSS, actor_id="zhao.lei").items] == [
            2,
            3,
            4,
            5,
        ]

    def test_outbox_delivers_each_event_to_each_subscriber(
        self, open_shop: OpenShop, clock: FixedClock
    ) -> None:
        a, b = _Recorder("sub-a"), _Recorder("sub-b")
        shop = open_shop(clock=clock, plugins=[a, b])
        w = _widget(shop)
        _add(shop, w)
        report = shop.outbox.deliver()
        assert report.delivered == 2
        assert [e.type for e in a.seen] == ["WidgetCreated"]
        assert [e.type for e in b.seen] == ["WidgetCreated"]
        assert a.seen[0].aggregate_id == w.id
        assert "li@example.com" not in repr(a.seen[0])
        assert shop.outbox.deliver().attempted == 0

    def test_failing_subscriber_is_retried_then_dead_lettered_holding_back_only_its_aggregate(
        self, open_shop: OpenShop, clock: FixedClock
    ) -> None:
        good, bad = _Recorder("good"), _Recorder("bad")
        bad.fail_on = {"broken"}
        shop = open_shop(clock=clock, plugins=[good, bad])
        stuck, other = _widget(shop, "stuck"), _widget(shop, "other")
        _add(shop, stuck, other)
        with shop.unit_of_work(LI) as uow:
            repo = uow.repository(Widget)
            s = repo.get(stuck.id)
            s.rename("broken", by=LI, at=clock.now())
            s.rename("after", by=LI, at=clock.now())
            repo.save(s)
            uow.commit()
        first = shop.outbox.deliver()
        # good gets everything; bad gets both creations, fails on "broken", holds back "after".
        assert [e.payload.get("new_name") for e in good.seen if e.type == "WidgetRenamed"] == [
            "broken",
            "after",
        ]
        assert first.retried == 1
        attempts = 1
        while attempts < shop.outbox.retry.max_attempts:
            assert shop.outbox.deliver().attempted == 0  # not due yet: backoff
            clock.advance(shop.outbox.retry.max_delay)
            report = shop.outbox.deliver()
            attempts += 1
            assert report.attempted == 1
        assert report.dead_lettered == 1
        assert [e.payload.get("name") for e in bad.seen] == ["stuck", "other"]
        [dead] = shop.outbox.dead_letters(ADMIN)
        assert (dead.subscriber, dead.envelope.payload["new_name"], dead.attempts) == ("bad", "broken", 5)
        assert (dead.last_error or "").startswith("RuntimeError")
        # the later event of that aggregate stays held back for "bad" only
        clock.advance(timedelta(days=1))
        assert shop.outbox.deliver().attempted == 0
        bad.fail_on = set()
        shop.outbox.requeue(ADMIN, dead.delivery_id)
        assert shop.outbox.deliver().delivered == 2
        assert [e.payload.get("new_name") for e in bad.seen if e.type == "WidgetRenamed"] == [
            "broken",
            "after",
        ]
        assert shop.outbox.stats()[DeliveryStatus.DEAD] == 0

    def test_requeue_of_unknown_dead_letter_raises_not_found(self, shop: Shop) -> None:
        with pytest.raises(NotFoundError):
            shop.outbox.requeue(ADMIN, new_id())

    def test_published_events_share_the_transaction(self, shop: Shop) -> None:
        env = EventEnvelope(
            type="StockCounted",
            aggregate_type="Warehouse",
            aggregate_id=new_id(),
            aggregate_version=1,
            actor_id=LI.id,
            occurred_at=shop.clock.now(),
            payload={"sku": "A-1"},
        )
        with shop.unit_of_work(LI) as uow:
            uow.publish(env)
        assert shop.audit.entries(BOSS).items == ()
        with shop.unit_of_work(LI) as uow:
            uow.publish(env)
            uow.commit()
        [entry] = shop.audit.entries(BOSS).items
        assert (entry.event_id, entry.details) == (env.id, {"sku": "A-1"})

    # -- timers ---------------------------------------------------------------

    def test_timer_fires_once_when_due(self, shop: Shop, clock: FixedClock) -> None:
        w = _widget(shop)
        with shop.unit_of_work(LI) as uow:
            uow.repository(Widget).add(w)
            uow.port(TimerStore).schedule(
                kind=WIDGET_REVIEW_TIMER, aggregate_id=w.id, due_at=clock.now() + timedelta(hours=1)
            )
            uow.commit()
        assert shop.run_due(clock.now()).fired == ()
        clock.advance(timedelta(hours=1))
        report = shop.run_due()
        assert len(report.fired) == 1
        assert shop.run_due(clock.now() + timedelta(days=1)).fired == ()
        with shop.unit_of_work(LI) as uow:
            assert uow.repository(Widget).get(w.id).reviews == 1
            assert uow.port(TimerStore).pending() == []
        assert [e.actor_id for e in shop.audit.entries(BOSS, aggregate_id=w.id).items][
            -1
        ] == "system:scheduler"

    def test_failing_timer_rolls_back_and_retries_later(self, shop: Shop, clock: FixedClock) -> None:
        w = _widget(shop)
        w.retire("gone", by=LI, at=clock.now())  # review of a retired widget is refused
        with shop.unit_of_work(LI) as uow:
            uow.repository(Widget).add(w)
            uow.port(TimerStore).schedule(kind=WIDGET_REVIEW_TIMER, aggregate_id=w.id, due_at=clock.now())
            uow.commit()
        report = shop.run_due()
        assert len(report.failed) == 1
        with shop.unit_of_work(LI) as uow:
            [pending] = uow.port(TimerStore).pending(aggregate_id=w.id)
        assert pending.attempts == 1
        assert pending.due_at > clock.now()
        with pytest.raises(InvalidTransitionError):
            w.review(by=LI, at=clock.now())

    def test_cancelled_timers_do_not_fire(self, shop: Shop, clock: FixedClock) -> None:
        w = _widget(shop)
        with shop.unit_of_work(LI) as uow:
            uow.repository(Widget).add(w)
            timers = uow.port(TimerStore)
            timers.schedule(kind=WIDGET_REVIEW_TIMER, aggregate_id=w.id, due_at=clock.now())
            assert timers.cancel(aggregate_id=w.id) == 1
            uow.commit()
        assert shop.run_due().fired == ()

    def test_a_timer_cancelled_or_fired_meanwhile_is_not_fired_again(
        self, shop: Shop, clock: FixedClock
    ) -> None:
        w = _widget(shop)
        with shop.unit_of_work(LI) as uow:
            timers = uow.port(TimerStore)
            first = timers.schedule(kind=WIDGET_REVIEW_TIMER, aggregate_id=w.id, due_at=clock.now())
            second = timers.schedule(kind=WIDGET_REVIEW_TIMER, aggregate_id=w.id, due_at=clock.now())
            timers.mark_fired(first.id, now=clock.now())
            uow.commit()
        with shop.unit_of_work(LI) as uow:
            timers = uow.port(TimerStore)
            with pytest.raises(StorageError, match="fired"):
                timers.mark_fired(first.id, now=clock.now())
        with shop.unit_of_work(LI) as uow:
            timers = uow.port(TimerStore)
            assert timers.cancel(aggregate_id=w.id) == 1
            with pytest.raises(StorageError, match="cancelled"):
                timers.mark_fired(second.id, now=clock.now())

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"kind": ""}, "kind"),
            ({"due_at": datetime(2026, 1, 1)}, "due_at"),  # noqa: DTZ001 - the point of the test
            ({"aggregate_id": "nope"}, "aggregate_id"),
            ({"payload": {"when": object()}}, "payload"),
            ({"payload": ["not", "a", "mapping"]}, "payload"),
        ],
    )
    def test_scheduling_a_bad_timer_names_the_field_and_writes_nothing(
        self, shop: Shop, clock: FixedClock, kwargs: dict[str, Any], field: str
    ) -> None:
        args: dict[str, Any] = {"kind": WIDGET_REVIEW_TIMER, "aggregate_id": new_id(), "due_at": clock.now()}
        args.update(kwargs)
        with shop.unit_of_work(LI) as uow:
            with pytest.raises(InvalidInputError) as info:
                uow.port(TimerStore).schedule(**args)
            assert info.value.field == field
            uow.commit()
        with shop.unit_of_work(LI) as uow:
            assert uow.port(TimerStore).pending() == []

    def test_a_relay_claims_only_its_own_subscribers_and_settles_once(
        self, open_shop: OpenShop, clock: FixedClock
    ) -> None:
        a, b = _Recorder("sub-a"), _Recorder("sub-b")
        shop = open_shop(clock=clock, plugins=[a, b])
        _add(shop, _widget(shop))
        with shop.unit_of_work(ADMIN) as uow:
            store = uow.port(OutboxStore)
            mine = store.claim(now=clock.now(), limit=10, lease=timedelta(minutes=1), subscribers=["sub-a"])
            assert [d.subscriber for d in mine] == ["sub-a"]
            assert store.claim(now=clock.now(), limit=10, lease=timedelta(minutes=1), subscribers=[]) == []
            assert store.complete(mine[0].delivery_id, now=clock.now()) is True
            assert store.complete(mine[0].delivery_id, now=clock.now()) is False
            assert store.fail(mine[0].delivery_id, error="late", retry_at=None, now=clock.now()) is False
            uow.commit()
        assert shop.outbox.stats()[DeliveryStatus.DELIVERED] == 1
        assert shop.outbox.deliver().delivered == 1
        assert [e.type for e in b.seen] == ["WidgetCreated"]
        assert a.seen == []  # settled by hand above, never redelivered

    # -- threads ----------------------------------------------------------------

    def test_concurrent_takes_never_oversell(self, shop: Shop) -> None:
        w = _widget(shop)
        _add(shop, w)
        with shop.unit_of_work(LI) as uow:
            uow.port(WidgetStock).receive(w.id, 10)
            uow.commit()
        outcomes: list[bool] = []
        lock = threading.Lock()

        def take() -> None:
            ok = True
            try:
                with shop.unit_of_work(LI) as uow:
                    uow.port(WidgetStock).take(w.id, 3)
                    uow.commit()
            except InsufficientStockError:
                ok = False
            with lock:
                outcomes.append(ok)

        threads = [threading.Thread(target=take) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcomes.count(True) == 3
        with shop.unit_of_work(LI) as uow:
            assert uow.port(WidgetStock).level(w.id) == 1
