"""
Type-checked, never executed: the public API as integrators write it.

``mypy --strict`` runs over this file; a change that breaks these lines breaks
integrators' type checking.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from eshop_core import (
    Actor,
    BusinessCalendar,
    EventEnvelope,
    FixedClock,
    Money,
    Page,
    Role,
    Shop,
    UnitOfWork,
    hookimpl,
)
from eshop_core.storage.ports import AuditEntry, Repository, TimerStore
from eshop_core.testing import Widget, WidgetStock


def integrator_code() -> None:
    shop: Shop = Shop.open("memory://", clock=FixedClock(), calendar=BusinessCalendar())
    li = Actor("li.ming", roles={Role.OPERATIONS})
    uow: UnitOfWork
    with shop.unit_of_work(li) as uow:
        repo: Repository[Widget] = uow.repository(Widget)
        w = Widget.create(name="w", owner_email="a@example.com", by=li, at=datetime.now(UTC))
        repo.add(w)
        page: Page[Widget] = repo.find(where={"name": "w"}, limit=10)
        names: list[str] = [x.name for x in page]
        level: int = uow.port(WidgetStock).receive(w.id, 1)
        uow.port(TimerStore).schedule(kind="k", aggregate_id=w.id, due_at=datetime.now(UTC))
        uow.commit()
    total: Money = Money.of("1.10", "CNY") + Money(Decimal("2"), "CNY")
    parts: list[Money] = total.allocate([1, 2])
    due: datetime = shop.calendar.add(datetime.now(UTC), timedelta(minutes=30))
    entries: Page[AuditEntry] = shop.audit.entries(Actor("boss", roles={Role.DEPARTMENT_MANAGER}))
    del names, level, parts, due, entries


class Plugin:
    @hookimpl
    def eshop_event(self, envelope: EventEnvelope) -> None:
        print(envelope.type)
