"""
Stateful StockLedger invariants (INV-01, INV-07) on memory and SQLite, against a plain reference model.

Random receipts, reservations, releases, shipments and adjustments (every
reason, both signs, valid or not) over a few SKUs in two warehouses; each rule
runs one or several acts in one unit of work and then commits it or leaves it
(rollback). The model is ``{(sku, warehouse): (on_hand, reserved)}``: an act
it refuses must be refused with the documented error and, even when its unit
of work is committed, leave no trace.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from eshop_core import Actor, FixedClock, InsufficientStockError, InvalidInputError, Role, Shop
from eshop_core.domain.inventory import ADJUSTMENT_REASONS, MovementReason, StockChange, StockLevel
from eshop_core.storage.inventory_ports import StockLedger

# Passing runs take seconds; a failing one may shrink for up to Hypothesis's five minutes: let it finish
# and print the smallest failing sequence instead of being cut off by the default 300 s timeout.
pytestmark = pytest.mark.timeout(600)

WANG = Actor("wang.fang", roles={Role.WAREHOUSE})
SKUS = ("MUG-BLUE", "CUP-1", "PLATE_9")
WAREHOUSES = ("SH-01", "BJ-02")
RECEIPT_REASONS = (MovementReason.RECEIPT, MovementReason.CUSTOMER_RETURN)
BAD = {"sku": "MUG BLUE", "warehouse": "SH 01", "reference": "r" * 129}
"""An invalid value per argument: the act must be refused naming the argument."""

Key = tuple[str, str]
Level = tuple[int, int]


@attrs.frozen
class Act:
    """One ledger call: ``kind`` on ``key`` by ``amount`` (a signed delta for ``adjust``)."""

    kind: str
    key: Key
    amount: int
    reason: MovementReason | None = None
    bad: str | None = None  # "sku", "warehouse", "reference" or "amount": that argument is invalid


@attrs.frozen
class Refused:
    """The model's verdict on an act it refuses."""

    error: type[Exception]
    field: str | None = None
    available: int | None = None


keys = st.tuples(st.sampled_from(SKUS), st.sampled_from(WAREHOUSES))
bad_args = st.sampled_from([None, None, None, None, None, "sku", "warehouse", "reference", "amount"])
quantities = st.integers(1, 12)


def _receipts() -> st.SearchStrategy[Act]:
    return st.builds(
        Act, kind=st.just("receive"), key=keys, amount=quantities, reason=st.sampled_from(RECEIPT_REASONS)
    )


def _moves(kind: str) -> st.SearchStrategy[Act]:
    return st.builds(Act, kind=st.just(kind), key=keys, amount=quantities)


def _adjustments() -> st.SearchStrategy[Act]:
    return st.builds(
        Act,
        kind=st.just("adjust"),
        key=keys,
        amount=st.integers(1, 12).flatmap(lambda n: st.sampled_from([n, -n])),
        reason=st.sampled_from(list(ADJUSTMENT_REASONS)),
    )


def _spoil(act: Act, bad: str | None) -> Act:
    """``act`` with the argument ``bad`` made invalid (and nothing else wrong, so the error is certain)."""
    sign = ADJUSTMENT_REASONS.get(act.reason, 0) if act.reason is not None else 0
    if bad is not None and sign * act.amount < 0:
        act = attrs.evolve(act, amount=-act.amount)
    return attrs.evolve(act, bad=bad)


def _with_bad(acts: st.SearchStrategy[Act]) -> st.SearchStrategy[Act]:
    return st.builds(_spoil, acts, bad_args)


any_act = _with_bad(
    st.one_of(_receipts(), _moves("reserve"), _moves("release"), _moves("ship"), _adjustments())
)


def _verdict(act: Act, old: Level) -> Level | Refused:
    """The reference model: the level after ``act`` on ``old``, or why it is refused."""
    on_hand, reserved = old
    if act.bad in ("sku", "warehouse", "reference"):
        return Refused(InvalidInputError, act.bad)
    if act.bad == "amount":
        return Refused(InvalidInputError, "delta" if act.kind == "adjust" else "quantity")
    q = act.amount
    if act.kind == "receive":
        return on_hand + q, reserved
    if act.kind == "reserve":
        if on_hand - reserved < q:
            return Refused(InsufficientStockError, available=on_hand - reserved)
        return on_hand, reserved + q
    if act.kind in ("release", "ship"):
        if reserved < q:
            return Refused(InvalidInputError, "quantity")
        return (on_hand, reserved - q) if act.kind == "release" else (on_hand - q, reserved - q)
    assert act.kind == "adjust"
    assert act.reason is not None
    if ADJUSTMENT_REASONS[act.reason] * q < 0:
        return Refused(InvalidInputError, "delta")
    if on_hand + q < reserved:
        return Refused(InsufficientStockError, available=on_hand - reserved)
    return on_hand + q, reserved


def _perform(ledger: StockLedger, act: Act) -> StockChange:
    sku, warehouse = act.key
    sku = BAD["sku"] if act.bad == "sku" else sku
    warehouse = BAD["warehouse"] if act.bad == "warehouse" else warehouse
    reference = BAD["reference"] if act.bad == "reference" else f"{act.kind}:{act.amount}"
    amount = 0 if act.bad == "amount" else act.amount
    if act.kind == "receive":
        assert act.reason is not None
        return ledger.receive(sku, warehouse, amount, reason=act.reason, reference=reference, note="in")
    if act.kind == "reserve":
        return ledger.reserve(sku, warehouse, amount, reference=reference)
    if act.kind == "release":
        return ledger.release(sku, warehouse, amount, reference=reference, note="back")
    if act.kind == "ship":
        return ledger.ship(sku, warehouse, amount, reference=reference)
    assert act.reason is not None
    return ledger.adjust(sku, warehouse, amount, reason=act.reason, reference=reference, note="fix")


def _attempt(ledger: StockLedger, act: Act) -> StockChange | Exception:
    """The change ``act`` made, or the refusal it met."""
    try:
        return _perform(ledger, act)
    except (InvalidInputError, InsufficientStockError) as exc:
        return exc


_REASONS = {
    "reserve": MovementReason.RESERVATION,
    "release": MovementReason.RELEASE,
    "ship": MovementReason.SHIPMENT,
}


class StockLedgerMachine(RuleBasedStateMachine):
    """Random acts in committed or abandoned units of work, checked against the model after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock()
        self.shop = self.open_shop(self.clock)
        self.model: dict[Key, Level] = {}
        self.committed_acts = 0

    def open_shop(self, clock: FixedClock) -> Shop:
        """A fresh, empty shop on the backend under test."""
        return Shop.open("memory://", clock=clock)

    def teardown(self) -> None:
        self.shop.close()

    def _run(self, acts: list[Act], commit: bool) -> None:
        """Run ``acts`` in one unit of work, each checked against the model, then commit it or not."""
        self.clock.advance(timedelta(minutes=1))
        model = dict(self.model)
        succeeded = 0
        with self.shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            for act in acts:
                old = model.get(act.key, (0, 0))
                verdict = _verdict(act, old)
                change = _attempt(ledger, act)
                if isinstance(change, Exception):
                    self._check_refusal(act, old, verdict, change)
                    level = ledger.level(*act.key)
                    assert (level.on_hand, level.reserved) == old  # nothing changed, even inside
                    continue
                assert not isinstance(verdict, Refused), (act, old, change)
                self._check_change(act, old, verdict, change)
                model[act.key] = verdict
                succeeded += 1
            if commit:
                uow.commit()
        if commit:
            self.model = model
            self.committed_acts += succeeded

    @staticmethod
    def _check_refusal(act: Act, old: Level, verdict: Level | Refused, exc: Exception) -> None:
        assert isinstance(verdict, Refused), (act, old, exc)
        assert type(exc) is verdict.error, (act, old, exc)
        if isinstance(exc, InvalidInputError):
            assert exc.field == verdict.field, (act, exc)
        if isinstance(exc, InsufficientStockError):
            assert (exc.requested, exc.available) == (abs(act.amount), verdict.available), (act, exc)

    def _check_change(self, act: Act, old: Level, new: Level, change: StockChange) -> None:
        sku, warehouse = act.key
        assert (change.before.sku, change.before.warehouse, change.after.sku, change.after.warehouse) == (
            sku,
            warehouse,
            sku,
            warehouse,
        )
        assert (change.before.on_hand, change.before.reserved) == old
        assert (change.after.on_hand, change.after.reserved) == new
        m = change.movement
        assert m.reason is (act.reason or _REASONS[act.kind])
        assert (m.on_hand_delta, m.reserved_delta) == (new[0] - old[0], new[1] - old[1])
        assert (m.on_hand_after, m.reserved_after) == new
        assert (m.actor, m.at, m.reference) == (WANG.id, self.clock.now(), f"{act.kind}:{act.amount}")

    @rule(act=_with_bad(_receipts()), commit=st.booleans())
    def receive(self, act: Act, commit: bool) -> None:
        self._run([act], commit)

    @rule(act=_with_bad(_moves("reserve")), commit=st.booleans())
    def reserve(self, act: Act, commit: bool) -> None:
        self._run([act], commit)

    @rule(act=_with_bad(_moves("release")), commit=st.booleans())
    def release(self, act: Act, commit: bool) -> None:
        self._run([act], commit)

    @rule(act=_with_bad(_moves("ship")), commit=st.booleans())
    def ship(self, act: Act, commit: bool) -> None:
        self._run([act], commit)

    @rule(act=_with_bad(_adjustments()), commit=st.booleans())
    def adjust(self, act: Act, commit: bool) -> None:
        self._run([act], commit)

    @rule(acts=st.lists(any_act, min_size=2, max_size=5), commit=st.booleans())
    def several_in_one_unit_of_work(self, acts: list[Act], commit: bool) -> None:
        self._run(acts, commit)

    @invariant()
    def storage_matches_the_model(self) -> None:
        with self.shop.unit_of_work(WANG) as uow:
            ledger = uow.port(StockLedger)
            levels: list[StockLevel] = list(ledger.levels(limit=1000).items)
            movements = list(ledger.movements(limit=1000).items)
        for level in levels:
            assert level.reserved >= 0
            assert level.available >= 0
        assert {(lv.sku, lv.warehouse): (lv.on_hand, lv.reserved) for lv in levels} == self.model
        assert len(movements) == self.committed_acts
        sums: dict[Key, Level] = {}
        for m in movements:
            on_hand, reserved = sums.get((m.sku, m.warehouse), (0, 0))
            sums[m.sku, m.warehouse] = (on_hand + m.on_hand_delta, reserved + m.reserved_delta)
        assert sums == self.model


class SqliteStockLedgerMachine(StockLedgerMachine):
    """The same machine on a fresh SQLite file per example."""

    def open_shop(self, clock: FixedClock) -> Shop:
        self.directory = tempfile.TemporaryDirectory(prefix="stock-ledger-")
        return Shop.open(f"sqlite:///{Path(self.directory.name) / 'shop.db'}", clock=clock)

    def teardown(self) -> None:
        try:
            super().teardown()
        finally:
            self.directory.cleanup()


def test_inv_01_stock_ledger_stateful_on_memory() -> None:
    run_state_machine_as_test(
        StockLedgerMachine, settings=settings(max_examples=100, stateful_step_count=30, deadline=None)
    )


def test_inv_01_stock_ledger_stateful_on_sqlite() -> None:
    run_state_machine_as_test(
        SqliteStockLedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
