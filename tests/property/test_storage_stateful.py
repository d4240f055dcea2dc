"""Stateful storage invariants on the memory backend, against a plain reference model."""

from __future__ import annotations

import uuid

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from eshop_core import Actor, ConcurrencyError, FixedClock, InsufficientStockError, Role, Shop
from eshop_core.storage.ports import AuditLog
from eshop_core.testing import Widget, WidgetStock

LI = Actor("li.ming", roles={Role.OPERATIONS})


class StorageMachine(RuleBasedStateMachine):
    """Random adds, renames (fresh and stale), stock moves and rolled-back work."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock()
        self.shop = Shop.open("memory://", clock=self.clock)
        self.names: dict[uuid.UUID, str] = {}
        self.versions: dict[uuid.UUID, int] = {}
        self.stock: dict[uuid.UUID, int] = {}
        self.events = 0
        self.stale: list[Widget] = []

    def teardown(self) -> None:
        self.shop.close()

    @rule(name=st.text(alphabet="abcdefgh", min_size=1, max_size=6))
    def add(self, name: str) -> None:
        w = Widget.create(name=name, owner_email="x@example.com", by=LI, at=self.clock.now())
        with self.shop.unit_of_work(LI) as uow:
            uow.repository(Widget).add(w)
            uow.commit()
        self.names[w.id], self.versions[w.id], self.stock[w.id] = name, 1, 0
        self.events += 1

    @precondition(lambda self: self.names)
    @rule(data=st.data(), name=st.text(alphabet="xyz", min_size=1, max_size=4), keep_stale=st.booleans())
    def rename(self, data: st.DataObject, name: str, keep_stale: bool) -> None:
        key = data.draw(st.sampled_from(sorted(self.names)))
        with self.shop.unit_of_work(LI) as uow:
            repo = uow.repository(Widget)
            w = repo.get(key)
            if keep_stale:
                self.stale.append(repo.get(key))
            w.rename(name, by=LI, at=self.clock.now())
            repo.save(w)
            uow.commit()
        self.names[key] = name
        self.versions[key] += 1
        self.events += 1

    @precondition(lambda self: self.stale)
    @rule()
    def stale_save_is_refused(self) -> None:
        w = self.stale.pop()
        w.rename("stale", by=LI, at=self.clock.now())
        with self.shop.unit_of_work(LI) as uow:
            try:
                uow.repository(Widget).save(w)
            except ConcurrencyError:
                return
            raise AssertionError("a stale save was accepted")

    @precondition(lambda self: self.names)
    @rule(data=st.data(), qty=st.integers(1, 5), take=st.booleans(), commit=st.booleans())
    def move_stock(self, data: st.DataObject, qty: int, take: bool, commit: bool) -> None:
        key = data.draw(st.sampled_from(sorted(self.names)))
        with self.shop.unit_of_work(LI) as uow:
            stock = uow.port(WidgetStock)
            try:
                level = stock.take(key, qty) if take else stock.receive(key, qty)
            except InsufficientStockError:
                assert self.stock[key] < qty
                return
            if commit:
                uow.commit()
                self.stock[key] = level

    @invariant()
    def storage_matches_the_model(self) -> None:
        with self.shop.unit_of_work(LI) as uow:
            page = uow.repository(Widget).find(limit=1000)
            assert {w.id: (w.name, w.version) for w in page} == {
                k: (self.names[k], self.versions[k]) for k in self.names
            }
            stock = uow.port(WidgetStock)
            for key, expected in self.stock.items():
                level = stock.level(key)
                assert level == expected
                assert level >= 0
            assert len(uow.port(AuditLog).entries(limit=1000).items) == self.events


StorageMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
TestStorageMachine = StorageMachine.TestCase
