"""
Several processes on one PostgreSQL database: outbox relays and the atomic stock port.

Each test starts real child processes (``python -c`` with a small script), lets
them start together (ready files, then a "go" file) and checks what they did
from the outside. Every child has a timeout and is killed and reaped at the end.
"""

from __future__ import annotations

import os
import signal
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql
from tests.postgres import Child, Shops, children, connect

from eshop_core import Actor, Role, Shop, hookimpl
from eshop_core.events import EventEnvelope
from eshop_core.money import Money
from eshop_core.storage.ports import DeliveryStatus
from eshop_core.testing import Widget, WidgetStock

pytestmark = [pytest.mark.postgres, pytest.mark.multiprocess, pytest.mark.timeout(120)]

LI = Actor("li.ming", roles={Role.OPERATIONS})

# Shared by the children: open the shop, say "ready", wait for "go".
_PREAMBLE = r"""
import json, os, sys, time
from pathlib import Path
from eshop_core import Actor, Role, Shop, hookimpl

args = json.loads(sys.argv[1])


def start(**kwargs):
    shop = Shop.open(args["url"], schema=args["schema"], **kwargs)
    Path(args["ready"]).touch()
    deadline = time.monotonic() + 60
    while not Path(args["go"]).exists():
        if time.monotonic() > deadline:
            sys.exit("no go signal within 60 s")
        time.sleep(0.005)
    return shop
"""

_RELAY = (
    _PREAMBLE
    + r"""
from datetime import timedelta
from eshop_core.services.outbox import RetryPolicy

log = os.open(args["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
recorded = 0


class Recorder:
    # one line per call, appended in one write: the file is the subscriber's effect
    def __init__(self, name):
        self.eshop_plugin_name = name

    @hookimpl
    def eshop_event(self, envelope):
        global recorded
        e = envelope
        fields = (self.eshop_plugin_name, e.id, e.aggregate_id, e.aggregate_version, os.getpid())
        os.write(log, (" ".join(map(str, fields)) + "\n").encode())
        recorded += 1
        if recorded == args.get("hang_after"):
            Path(args["hung"]).touch()
            time.sleep(300)  # killed here, in the middle of a claimed batch
        time.sleep(args["pause"])


shop = start(plugins=[Recorder(name) for name in args["subscribers"]])
shop.outbox.retry = RetryPolicy(lease=timedelta(seconds=args["lease"]))
delivered = idle = 0
deadline = time.monotonic() + 60
while idle < 3 and time.monotonic() < deadline:
    report = shop.outbox.deliver(limit=args["limit"])
    delivered += report.delivered
    if report.attempted:
        idle = 0
    else:
        idle += 1
        time.sleep(0.05)
shop.close()
print(json.dumps({"delivered": delivered}))
"""
)

_TAKER = (
    _PREAMBLE
    + r"""
import uuid
from eshop_core.errors import InsufficientStockError
from eshop_core.testing import WidgetStock

actor = Actor(f"taker.{os.getpid()}", roles={Role.OPERATIONS})
widget = uuid.UUID(args["widget"])
shop = start()
levels, refused = [], 0
for _ in range(args["takes"]):
    try:
        with shop.unit_of_work(actor) as uow:
            level = uow.port(WidgetStock).take(widget, 1)
            uow.commit()
        levels.append(level)
    except InsufficientStockError:
        refused += 1
shop.close()
print(json.dumps({"levels": levels, "refused": refused}))
"""
)


class _FileRecorder:
    """The parent's subscriber: the same line format as the children's ``Recorder``."""

    def __init__(self, name: str, log: Path) -> None:
        self.eshop_plugin_name = name
        self.log = log

    @hookimpl
    def eshop_event(self, envelope: EventEnvelope) -> None:
        e = envelope
        fields = (self.eshop_plugin_name, e.id, e.aggregate_id, e.aggregate_version, os.getpid())
        with self.log.open("a", encoding="utf-8") as fh:
            fh.write(" ".join(map(str, fields)) + "\n")


def _lines(log: Path) -> list[tuple[str, str, str, int, int]]:
    out = []
    for line in log.read_text(encoding="utf-8").splitlines():
        subscriber, event, aggregate, version, pid = line.split()
        out.append((subscriber, event, aggregate, int(version), int(pid)))
    return out


def _event_ids(shops: Shops) -> set[str]:
    with connect(shops.run.url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT event_id FROM {}").format(sql.Identifier(shops.run.schema, "outbox_events"))
        ).fetchall()
    return {str(row[0]) for row in rows}


def _args(shops: Shops, tmp_path: Path, n: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "url": shops.run.url,
            "schema": shops.run.schema,
            "ready": str(tmp_path / f"ready-{i}"),
            "go": str(tmp_path / "go"),
            **extra,
        }
        for i in range(n)
    ]


def _start_together(started: Sequence[Child], tmp_path: Path) -> None:
    for i, child in enumerate(started):
        child.wait_for(tmp_path / f"ready-{i}")
    (tmp_path / "go").touch()


def _make_events(shop: Shop, widgets: int, renamed: int) -> None:
    created = [
        Widget.create(
            name=f"w{i}", owner_email="li@example.com", price=Money.of(1, "CNY"), by=LI, at=shop.clock.now()
        )
        for i in range(widgets)
    ]
    with shop.unit_of_work(LI) as uow:
        for w in created:
            uow.repository(Widget).add(w)
        uow.commit()
    with shop.unit_of_work(LI) as uow:
        repo = uow.repository(Widget)
        for w in created[:renamed]:
            got = repo.get(w.id)
            got.rename(f"{w.name} v2", by=LI, at=shop.clock.now())
            got.rename(f"{w.name} v3", by=LI, at=shop.clock.now())
            repo.save(got)
        uow.commit()


def test_two_relay_processes_deliver_every_event_to_every_subscriber_exactly_once(
    pg_shops: Shops, tmp_path: Path
) -> None:
    subscribers = ["sub-a", "sub-b"]
    log = tmp_path / "deliveries.log"
    shop = pg_shops.open(plugins=[_FileRecorder(name, log) for name in subscribers])
    _make_events(shop, widgets=40, renamed=20)  # 40 created + 40 renamed = 80 events
    events = _event_ids(pg_shops)
    assert len(events) == 80
    args = _args(
        pg_shops, tmp_path, 2, log=str(log), subscribers=subscribers, lease=300, limit=4, pause=0.002
    )

    with children(_RELAY, args, env=pg_shops.run.child_env()) as relays:
        _start_together(relays, tmp_path)
        reports = [relay.finish(timeout=90) for relay in relays]

    lines = _lines(log)
    pairs = [(subscriber, event) for subscriber, event, *_ in lines]
    assert len(pairs) == len(set(pairs)) == 160  # none twice
    assert set(pairs) == {(s, e) for s in subscribers for e in events}  # none missed
    assert sum(r["delivered"] for r in reports) == 160
    assert all(r["delivered"] > 0 for r in reports), reports  # both relays took part
    # each subscriber saw each aggregate's events in order
    versions: dict[tuple[str, str], list[int]] = defaultdict(list)
    for subscriber, _, aggregate, version, _ in lines:
        versions[subscriber, aggregate].append(version)
    assert all(seen == sorted(seen) for seen in versions.values())
    stats = shop.outbox.stats()
    assert (stats[DeliveryStatus.DELIVERED], stats[DeliveryStatus.PENDING]) == (160, 0)


def test_a_relay_killed_mid_delivery_leads_to_redelivery_and_the_same_end_state(
    pg_shops: Shops, tmp_path: Path
) -> None:
    subscribers = ["sub-a", "sub-b"]
    log = tmp_path / "deliveries.log"
    shop = pg_shops.open(plugins=[_FileRecorder(name, log) for name in subscribers])
    _make_events(shop, widgets=30, renamed=0)  # 30 events, 60 deliveries
    events = _event_ids(pg_shops)
    hung = tmp_path / "hung"
    lease = timedelta(minutes=5)
    args = _args(
        pg_shops,
        tmp_path,
        1,
        log=str(log),
        subscribers=subscribers,
        lease=lease.total_seconds(),
        limit=5,
        pause=0,
        hang_after=12,
        hung=str(hung),
    )

    with children(_RELAY, args, env=pg_shops.run.child_env()) as [relay]:
        _start_together([relay], tmp_path)
        relay.wait_for(hung)  # batches 1 and 2 completed, batch 3 claimed and half delivered
        assert relay.kill() == -signal.SIGKILL

    # another relay: the dead one's claims stay leased until the lease ends ...
    assert shop.outbox.deliver().delivered == 45
    assert shop.outbox.stats()[DeliveryStatus.PENDING] == 5
    # ... then they are delivered again (at least once)
    later = datetime.now(UTC) + lease + timedelta(seconds=1)
    assert shop.outbox.deliver(now=later).delivered == 5

    lines = _lines(log)
    pairs = [(subscriber, event) for subscriber, event, *_ in lines]
    assert set(pairs) == {(s, e) for s in subscribers for e in events}  # an idempotent subscriber's state
    assert len(pairs) == 62  # the two calls of the dead relay's last batch happened twice
    twice = {pair for pair in pairs if pairs.count(pair) == 2}
    assert len(twice) == 2
    stats = shop.outbox.stats()
    assert (stats[DeliveryStatus.DELIVERED], stats[DeliveryStatus.PENDING]) == (60, 0)


def test_processes_taking_stock_concurrently_never_oversell(pg_shops: Shops, tmp_path: Path) -> None:
    shop = pg_shops.open()
    widget = Widget.create(name="hot", owner_email="li@example.com", by=LI, at=shop.clock.now())
    with shop.unit_of_work(LI) as uow:
        uow.repository(Widget).add(widget)
        uow.port(WidgetStock).receive(widget.id, 120)
        uow.commit()
    args = _args(pg_shops, tmp_path, 4, widget=str(widget.id), takes=50)

    with children(_TAKER, args, env=pg_shops.run.child_env()) as takers:
        _start_together(takers, tmp_path)
        results = [taker.finish(timeout=90) for taker in takers]

    levels = [level for r in results for level in r["levels"]]
    assert len(levels) == 120
    assert sum(r["refused"] for r in results) == 80
    # every successful take saw a distinct new level, from 119 down to 0: no lost update, none below zero
    assert sorted(levels) == list(range(120))
    with shop.unit_of_work(LI) as uow:
        assert uow.port(WidgetStock).level(widget.id) == 0
