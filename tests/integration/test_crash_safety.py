"""
A process killed with SIGKILL in the middle of a unit of work: all or nothing, on SQLite and PostgreSQL.

A child process opens the shop and, in one unit of work, adds widgets, stocks
them, schedules their timers and (at commit) writes their events to the outbox
and the audit log. It is killed either just before the database commit — every
row written, the transaction still open — or just after it. Afterwards the
shop reopens without any repair and holds none, respectively all, of that unit
of work's rows, and keeps working.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.postgres import Shops, children

from eshop_adapters.storage.metadata import load_metadata
from eshop_adapters.storage.sql import SqlUnitOfWork
from eshop_core import Actor, Role, Shop, hookimpl
from eshop_core.events import EventEnvelope
from eshop_core.testing import Widget, WidgetStock

pytestmark = [pytest.mark.multiprocess, pytest.mark.timeout(120)]

LI = Actor("li.ming", roles={Role.OPERATIONS})
WIDGETS = 3

_CHILD = r"""
import json, os, sys, time
from pathlib import Path
from sqlalchemy import func, select
from eshop_adapters.storage.metadata import load_metadata
from eshop_adapters.storage.sql import SqlUnitOfWork
from eshop_core import Actor, Role, Shop, hookimpl
from eshop_core.money import Money
from eshop_core.storage.ports import TimerStore
from eshop_core.testing import Widget, WidgetStock
from eshop_core.testing.example import WIDGET_REVIEW_TIMER

args = json.loads(sys.argv[1])
actor = Actor("crash.child", roles={Role.OPERATIONS})
signal_file = Path(args["signal"])


def signal(counts):
    # written whole, then renamed: the parent never reads half a file
    partial = signal_file.with_suffix(".partial")
    partial.write_text(json.dumps(counts))
    os.replace(partial, signal_file)


class Subscriber:
    eshop_plugin_name = "crash-sub"

    @hookimpl
    def eshop_event(self, envelope):
        pass


shop = Shop.open(args["url"], schema=args["schema"], plugins=[Subscriber()])

if args["when"] == "before_commit":
    real_commit = SqlUnitOfWork._commit

    def commit_after_a_long_pause(self):
        # everything is written (widgets, stock, timers, outbox, audit), the COMMIT is next
        tables = load_metadata().sorted_tables
        counts = {t.name: self.scalar(select(func.count()).select_from(t)) for t in tables}
        signal(counts)
        time.sleep(300)
        real_commit(self)

    SqlUnitOfWork._commit = commit_after_a_long_pause

with shop.unit_of_work(actor) as uow:
    for i in range(args["widgets"]):
        w = Widget.create(
            name=f"crash {i}", owner_email=f"c{i}@example.com", price=Money.of("9.90", "CNY"),
            by=actor, at=shop.clock.now(),
        )
        uow.repository(Widget).add(w)
        uow.port(WidgetStock).receive(w.id, 5)
        uow.port(TimerStore).schedule(kind=WIDGET_REVIEW_TIMER, aggregate_id=w.id, due_at=shop.clock.now())
    uow.commit()
signal({})
time.sleep(300)
"""

# what one unit of work of the child adds to each table
ADDED = {
    "testkit_widgets": WIDGETS,
    "testkit_widget_stock": WIDGETS,
    "timers": WIDGETS,
    "outbox_events": WIDGETS,
    "outbox_deliveries": WIDGETS,  # one subscriber
    "audit_log": WIDGETS,
}


class _Subscriber:
    eshop_plugin_name = "crash-sub"

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def eshop_event(self, envelope: EventEnvelope) -> None:
        self.seen.append(envelope.type)


class _Target:
    """Where the shop lives: how the parent opens it, and what the child is told."""

    def __init__(self, open_shop: Callable[..., Shop], url: str, schema: str | None, env: Any) -> None:
        self.open = open_shop
        self.url = url
        self.schema = schema
        self.env = env


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[_Target]:
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
        shops: Shops = request.getfixturevalue("pg_shops")
        yield _Target(shops.open, shops.run.url, shops.run.schema, shops.run.child_env())
        return
    url = f"sqlite:///{tmp_path}/shop.db"
    opened: list[Shop] = []

    def open_shop(**kwargs: Any) -> Shop:
        opened.append(Shop.open(url, **kwargs))
        return opened[-1]

    try:
        yield _Target(open_shop, url, None, None)
    finally:
        for shop in opened:
            shop.close()


def _counts(shop: Shop) -> dict[str, int]:
    with shop.unit_of_work(LI) as uow:
        assert isinstance(uow, SqlUnitOfWork)
        return {
            table.name: int(uow.scalar(select(func.count()).select_from(table)))
            for table in load_metadata().sorted_tables
        }


@pytest.mark.parametrize("when", ["before_commit", "after_commit"])
def test_a_unit_of_work_killed_by_sigkill_leaves_all_or_nothing(
    target: _Target, when: str, tmp_path: Path
) -> None:
    subscriber = _Subscriber()
    shop = target.open(plugins=[subscriber])
    earlier = Widget.create(name="earlier", owner_email="li@example.com", by=LI, at=shop.clock.now())
    with shop.unit_of_work(LI) as uow:
        uow.repository(Widget).add(earlier)
        uow.commit()
    before = _counts(shop)
    shop.close()
    signal_file = tmp_path / "signal.json"
    args = {
        "url": target.url,
        "schema": target.schema,
        "when": when,
        "widgets": WIDGETS,
        "signal": str(signal_file),
    }

    with children(_CHILD, [args], env=target.env) as [child]:
        child.wait_for(signal_file)
        inside = json.loads(signal_file.read_text())
        assert child.kill() == -signal.SIGKILL

    expected = {name: count + ADDED.get(name, 0) for name, count in before.items()}
    if when == "before_commit":
        assert inside == expected  # the unit of work had written everything when it was killed
        expected = before

    again = target.open(plugins=[subscriber])  # no repair step
    assert _counts(again) == expected
    # and the shop keeps working: writes, the outbox relay, the timers
    with again.unit_of_work(LI) as uow:
        uow.port(WidgetStock).receive(earlier.id, 2)
        uow.commit()
    report = again.outbox.deliver()
    assert report.delivered == 1 + (WIDGETS if when == "after_commit" else 0)
    fired = again.run_due(again.clock.now() + timedelta(seconds=1)).fired
    assert len(fired) == (WIDGETS if when == "after_commit" else 0)
