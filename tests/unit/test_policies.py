"""Versioned policies (GOV-02): the default document, changes through approval, history, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from eshop_core import (
    Actor,
    ConcurrencyError,
    FixedClock,
    InvalidInputError,
    Money,
    NotFoundError,
    PermissionDeniedError,
    PolicyViolationError,
    Role,
    Shop,
)
from eshop_core.domain.policies import EPOCH, SHOP_POLICY_SET_ID, PolicySet
from eshop_core.schemas.policies import PolicyDocument, default_policy, default_policy_text

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LI = Actor("li.ming", roles={Role.OPERATIONS})
WANG = Actor("wang.fang", roles={Role.CUSTOMER_SERVICE})
ZHAO = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
QIAN = Actor("qian.yu", roles={Role.DEPARTMENT_MANAGER})


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def shop(clock: FixedClock) -> Iterator[Shop]:
    with Shop.open("memory://", clock=clock) as opened:
        yield opened


def _with_images(count: int) -> str:
    return default_policy_text().replace("min_detail_images = 5", f"min_detail_images = {count}")


def test_gov_02_default_document_reproduces_the_handbook_numbers() -> None:
    rules = default_policy()
    d = rules.deadlines
    assert (d.order_confirmation.duration, d.order_confirmation.business_time) == (timedelta(hours=1), False)
    assert (d.cs_first_reply.duration, d.cs_first_reply.business_time) == (timedelta(minutes=30), True)
    assert d.complaint_reply.duration == timedelta(hours=24)
    assert d.complaint_resolution.duration == timedelta(hours=48)
    assert d.after_sales_reply.duration == timedelta(hours=24)
    assert d.new_goods_listing.duration == timedelta(days=3)
    assert rules.returns.no_reason_window == timedelta(days=7)
    assert rules.listing.min_detail_images == 5
    assert rules.pricing.approval_threshold_percent == Decimal(0)
    assert rules.refund_limit({Role.CUSTOMER_SERVICE}) == Money.of("200.00", "CNY")
    assert rules.refund_limit({Role.DEPARTMENT_MANAGER, Role.CUSTOMER_SERVICE}) == Money.of("5000", "CNY")
    assert rules.refund_limit({Role.WAREHOUSE}) is None
    assert rules.stock.low_stock_default == 10
    assert rules.abnormal_amount.threshold == Money.of("5000", "CNY")
    assert rules.abnormal_amount.average_multiple == Decimal(5)


def test_gov_02_document_round_trips_through_the_domain() -> None:
    rules = default_policy()
    assert PolicyDocument.from_domain(rules).to_domain() == rules
    assert PolicyDocument.parse(PolicyDocument.from_domain(rules).to_data()).to_domain() == rules


def test_cat_06_price_change_threshold_from_the_policy() -> None:
    pricing = default_policy().pricing
    assert pricing.needs_approval(Money.of("10", "CNY"), Money.of("10.01", "CNY"))
    assert not pricing.needs_approval(Money.of("10", "CNY"), Money.of("10.00", "CNY"))


def test_gov_02_first_use_bootstraps_version_1_from_the_default(shop: Shop) -> None:
    v1 = shop.policies.current()
    assert (v1.number, v1.effective_from, v1.proposed_by, v1.approved_by) == (
        1,
        EPOCH,
        "system:bootstrap",
        "system:bootstrap",
    )
    assert v1.rules == default_policy()
    assert shop.policies.history() == (v1,)


def test_gov_02_propose_then_approve_by_a_department_manager_makes_a_new_version(
    shop: Shop, clock: FixedClock
) -> None:
    effective = START + timedelta(days=7)
    request = shop.policies.propose(LI, _with_images(6), effective_from=effective, reason="more photos")
    assert request.subject_type == "policy"
    assert request.state == "pending"
    assert request.policy_version == 1
    assert shop.policies.history()[-1].number == 1  # nothing adopted before approval
    clock.advance(timedelta(hours=2))
    decided = shop.approvals.approve(ZHAO, request.id, reason="agreed")
    assert (decided.state, decided.decided_by, decided.decision_policy_version) == ("approved", "zhao.lei", 1)
    v2 = shop.policies.version(2)
    assert v2.effective_from == effective
    assert (v2.proposed_by, v2.approved_by, v2.reason) == ("li.ming", "zhao.lei", "more photos")
    assert v2.approved_at == START + timedelta(hours=2)
    assert v2.rules.listing.min_detail_images == 6


def test_gov_02_a_version_never_takes_effect_before_its_approval(shop: Shop, clock: FixedClock) -> None:
    request = shop.policies.propose(LI, _with_images(7), effective_from=START, reason="now")
    clock.advance(timedelta(days=1))
    shop.approvals.approve(ZHAO, request.id)
    assert shop.policies.version(2).effective_from == START + timedelta(days=1)
    assert shop.policies.in_force(START + timedelta(hours=1)).number == 1


def test_gov_02_in_force_answers_from_history(shop: Shop) -> None:
    effective = START + timedelta(days=7)
    request = shop.policies.propose(LI, _with_images(8), effective_from=effective, reason="more")
    shop.approvals.approve(ZHAO, request.id)
    before, after = effective - timedelta(seconds=1), effective + timedelta(seconds=1)
    assert shop.policies.in_force(before).number == 1
    assert shop.policies.in_force(before).rules.listing.min_detail_images == 5
    assert shop.policies.in_force(effective).number == 2
    assert shop.policies.in_force(after).rules.listing.min_detail_images == 8
    assert shop.policies.current().number == 1  # the clock is still before the change


def test_gov_02_maker_checker_the_proposer_cannot_approve(shop: Shop) -> None:
    request = shop.policies.propose(ZHAO, _with_images(6), effective_from=START, reason="mine")
    with pytest.raises(PolicyViolationError) as info:
        shop.approvals.approve(ZHAO, request.id)
    assert info.value.rule == "maker_checker"
    assert info.value.policy_version == 1
    assert shop.approvals.get(ZHAO, request.id).state == "pending"
    assert len(shop.policies.history()) == 1
    shop.approvals.approve(QIAN, request.id)  # another manager may
    assert len(shop.policies.history()) == 2


@pytest.mark.parametrize("actor", [LI, WANG, Actor("admin", roles={Role.ADMINISTRATOR})])
def test_gov_02_only_a_department_manager_approves_policy_changes(shop: Shop, actor: Actor) -> None:
    request = shop.policies.propose(QIAN, _with_images(6), effective_from=START, reason="x")
    with pytest.raises(PermissionDeniedError):
        shop.approvals.approve(actor, request.id)
    assert shop.approvals.get(QIAN, request.id).state == "pending"
    assert len(shop.policies.history()) == 1


def test_gov_02_customer_service_cannot_propose(shop: Shop) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        shop.policies.propose(WANG, _with_images(6), effective_from=START, reason="x")
    assert info.value.permission == "policy.propose"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (default_policy_text().replace("hours = 1,", "hours = -1,"), "deadlines.order_confirmation"),
        (default_policy_text().replace("{ hours = 24 }", "{ hours = 0 }", 1), "deadlines.complaint_reply"),
        (default_policy_text().replace("[stock]", "[stock]\nsafety_margin = 3"), "stock.safety_margin"),
        (default_policy_text() + "\n[extras]\nx = 1\n", "extras"),
        (default_policy_text().replace('"200.00"', "200.0"), "refund_limits.customer_service.amount"),
        (default_policy_text().replace("customer_service =", "intern ="), "refund_limits.intern"),
        (
            default_policy_text().replace("no_reason_days = 7", "no_reason_days = -7"),
            "returns.no_reason_days",
        ),
        ("deadlines = [", "policy"),
    ],
)
def test_gov_02_bad_policy_documents_are_refused_naming_the_field(shop: Shop, text: str, field: str) -> None:
    before = shop.policies.history()
    with pytest.raises(InvalidInputError) as info:
        shop.policies.propose(LI, text, effective_from=START, reason="bad")
    assert info.value.field == field
    assert shop.policies.history() == before
    assert len(shop.approvals.pending(ZHAO)) == 0


def test_gov_02_bad_effective_times_are_refused(shop: Shop) -> None:
    with pytest.raises(InvalidInputError) as info:
        shop.policies.propose(LI, _with_images(6), effective_from=START - timedelta(days=1), reason="x")
    assert info.value.field == "effective_from"
    with pytest.raises(InvalidInputError) as naive:
        shop.policies.propose(LI, _with_images(6), effective_from=datetime(2026, 4, 1), reason="x")
    assert naive.value.field == "effective_from"
    later = shop.policies.propose(LI, _with_images(6), effective_from=START + timedelta(days=9), reason="x")
    shop.approvals.approve(ZHAO, later.id)
    with pytest.raises(InvalidInputError) as info:
        shop.policies.propose(LI, _with_images(7), effective_from=START + timedelta(days=2), reason="x")
    assert info.value.field == "effective_from"
    assert len(shop.approvals.pending(ZHAO)) == 0


def test_gov_02_an_approval_that_would_go_back_in_time_changes_nothing(shop: Shop) -> None:
    late = shop.policies.propose(LI, _with_images(6), effective_from=START + timedelta(days=9), reason="a")
    early = shop.policies.propose(LI, _with_images(7), effective_from=START + timedelta(days=2), reason="b")
    shop.approvals.approve(ZHAO, late.id)
    with pytest.raises(InvalidInputError) as info:
        shop.approvals.approve(ZHAO, early.id)
    assert info.value.field == "effective_from"
    assert shop.approvals.get(ZHAO, early.id).state == "pending"  # request and subject rolled back together
    assert [v.number for v in shop.policies.history()] == [1, 2]


def test_gov_02_stale_version_raises_concurrency_error(shop: Shop) -> None:
    request = shop.policies.propose(LI, _with_images(6), effective_from=START, reason="x")
    shop.approvals.withdraw(LI, request.id, expected_version=request.version)
    with pytest.raises(ConcurrencyError) as info:
        shop.approvals.approve(ZHAO, request.id, expected_version=request.version)
    assert info.value.expected_version == request.version
    assert len(shop.policies.history()) == 1


def test_gov_02_saving_a_stale_policy_set_raises_concurrency_error(shop: Shop) -> None:
    shop.policies.current()
    with shop.unit_of_work(ZHAO) as uow:
        stale = uow.repository(PolicySet).get(SHOP_POLICY_SET_ID)
    request = shop.policies.propose(LI, _with_images(6), effective_from=START, reason="x")
    shop.approvals.approve(QIAN, request.id)
    stale.adopt(
        default_policy(), effective_from=START, proposed_by=LI, approved_by=ZHAO, reason="r", at=START
    )
    with shop.unit_of_work(ZHAO) as uow, pytest.raises(ConcurrencyError):
        uow.repository(PolicySet).save(stale)
    assert [v.approved_by for v in shop.policies.history()] == ["system:bootstrap", "qian.yu"]


def test_gov_02_domain_version_numbering_and_lookup() -> None:
    policies = PolicySet()
    rules = default_policy()
    with pytest.raises(NotFoundError):
        policies.in_force(START)
    v1 = policies.adopt(rules, effective_from=EPOCH, proposed_by="a", approved_by=ZHAO, reason="r", at=START)
    v2 = policies.adopt(
        attrs.evolve(rules, stock=attrs.evolve(rules.stock, low_stock_default=3)),
        effective_from=START,
        proposed_by=LI,
        approved_by=ZHAO,
        reason="r",
        at=START,
    )
    assert (v1.number, v2.number, policies.version) == (1, 2, 2)
    assert policies.policy_version(2) is v2
    with pytest.raises(NotFoundError):
        policies.policy_version(3)
    with pytest.raises(InvalidInputError) as info:
        policies.adopt(rules, effective_from=EPOCH, proposed_by="a", approved_by=ZHAO, reason="r", at=START)
    assert info.value.field == "effective_from"
    assert [e.event.policy_version for e in policies.pending_events] == [1, 2]
