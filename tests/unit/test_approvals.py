"""Generic approval requests: lifecycle, maker-checker, subjects moved in the same unit of work, audit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eshop_core import (
    Actor,
    ApprovalState,
    FixedClock,
    InvalidInputError,
    InvalidTransitionError,
    Permission,
    PermissionDeniedError,
    PolicyViolationError,
    Role,
    Shop,
)
from eshop_core.domain.approvals import (
    APPROVAL_LIFECYCLE,
    ApprovalGranted,
    ApprovalRequest,
    ApprovalRequested,
)
from eshop_core.schemas.policies import default_policy_text
from eshop_core.storage.ports import UnitOfWork

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LI = Actor("li.ming", roles={Role.OPERATIONS})
ZHAO = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
QIAN = Actor("qian.yu", roles={Role.DEPARTMENT_MANAGER})


def _request(by: Actor = LI, permission: Permission = Permission.APPROVAL_DECIDE) -> ApprovalRequest:
    return ApprovalRequest.open(
        subject_type="price",
        subject_id=uuid.UUID(int=7),
        change={"price": {"amount": "12.00", "currency": "CNY"}},
        reason="supplier raised prices",
        required_permission=permission,
        by=by,
        at=AT,
        policy_version=3,
    )


@pytest.fixture
def shop() -> Iterator[Shop]:
    with Shop.open("memory://", clock=FixedClock(AT)) as opened:
        yield opened


def _act(request: ApprovalRequest, action: str) -> InvalidTransitionError | None:
    try:
        if action == "approve":
            request.approve(by=ZHAO, at=AT)
        elif action == "reject":
            request.reject(by=ZHAO, at=AT, reason="no")
        else:
            request.withdraw(by=LI, at=AT)
    except InvalidTransitionError as error:
        return error
    return None


@given(st.lists(st.sampled_from(["approve", "reject", "withdraw"]), max_size=6))
def test_gov_02_approval_lifecycle_follows_its_table(actions: list[str]) -> None:
    request = _request()
    expected = APPROVAL_LIFECYCLE.initial
    for action in actions:
        allowed = APPROVAL_LIFECYCLE.can(expected, action)
        version = request.version
        error = _act(request, action)
        if error is not None:
            assert not allowed
            assert (error.state, error.action) == (expected.value, action)
            assert request.version == version
        else:
            assert allowed
            expected = APPROVAL_LIFECYCLE.fire(expected, action, subject="walk")
            assert request.version == version + 1
        assert request.state == expected
    assert set(APPROVAL_LIFECYCLE.terminal) == {
        ApprovalState.APPROVED,
        ApprovalState.REJECTED,
        ApprovalState.WITHDRAWN,
    }


def test_gov_02_opening_records_the_request_and_its_policy_version() -> None:
    request = _request()
    assert (request.state, request.requester, request.policy_version) == ("pending", "li.ming", 3)
    (recorded,) = request.pending_events
    assert isinstance(recorded.event, ApprovalRequested)
    assert recorded.event.policy_version == 3


def test_gov_02_approving_records_decider_time_and_policy_version() -> None:
    request = _request()
    request.approve(by=ZHAO, at=AT + timedelta(hours=1), reason="fine", policy_version=4)
    assert (request.decided_by, request.decided_at, request.decision_reason) == (
        "zhao.lei",
        AT + timedelta(hours=1),
        "fine",
    )
    assert request.decision_policy_version == 4
    granted = request.pending_events[-1].event
    assert isinstance(granted, ApprovalGranted)
    assert granted.policy_version == 4


@pytest.mark.parametrize("reason", ["", "   "])
def test_gov_02_reject_needs_a_reason(reason: str) -> None:
    request = _request()
    with pytest.raises(InvalidInputError) as info:
        request.reject(by=ZHAO, at=AT, reason=reason)
    assert info.value.field == "reason"
    assert (request.state, request.version) == ("pending", 1)


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_gov_02_deciding_ones_own_request_is_refused(action: str) -> None:
    request = _request(by=ZHAO)
    decide = {
        "approve": lambda: request.approve(by=ZHAO, at=AT),
        "reject": lambda: request.reject(by=ZHAO, at=AT, reason="no"),
    }[action]
    with pytest.raises(PolicyViolationError) as info:
        decide()
    assert (info.value.rule, info.value.policy_version) == ("maker_checker", 3)
    assert (request.state, request.version) == ("pending", 1)


def test_gov_02_the_decider_needs_the_requests_permission() -> None:
    request = _request(permission=Permission.POLICY_APPROVE)
    with pytest.raises(PermissionDeniedError):
        request.approve(by=Actor("admin", roles={Role.ADMINISTRATOR}), at=AT)
    assert request.state == "pending"


def test_gov_02_only_the_requester_withdraws() -> None:
    request = _request()
    with pytest.raises(PolicyViolationError) as info:
        request.withdraw(by=ZHAO, at=AT)
    assert info.value.rule == "requester_only"
    request.withdraw(by=LI, at=AT)
    assert (request.state, request.decided_at) == ("withdrawn", AT)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"subject_type": ""}, "subject_type"),
        ({"change": {"price": 1.5}}, "change.price"),
        ({"change": [1]}, "change"),
        ({"reason": ""}, "reason"),
        ({"subject_id": "not-a-uuid"}, "subject_id"),
        ({"required_permission": "nope"}, "required_permission"),
        ({"at": datetime(2026, 1, 1)}, "at"),
    ],
)
def test_bad_requests_are_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {
        "subject_type": "price",
        "subject_id": uuid.UUID(int=1),
        "change": {},
        "reason": "r",
        "required_permission": Permission.APPROVAL_DECIDE,
        "by": LI,
        "at": AT,
        "policy_version": 1,
    }
    arguments.update(changes)
    with pytest.raises(InvalidInputError) as info:
        ApprovalRequest.open(**arguments)  # type: ignore[arg-type]
    assert info.value.field == field


class _Prices:
    """A toy subject: a price that changes only when its request is approved."""

    def __init__(self) -> None:
        self.price = "10.00"
        self.state = "draft"
        self.fail = False

    def approved(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor) -> None:
        if self.fail:
            raise InvalidInputError("price", "refused by the subject")
        self.price = str(request.change["price"]["amount"])
        self.state = "approved"

    def rejected(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor) -> None:
        self.state = "rejected"

    def withdrawn(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor) -> None:
        self.state = "draft"


def _open(shop: Shop, by: Actor = LI) -> uuid.UUID:
    with shop.unit_of_work(by) as uow:
        request = shop.approvals.open_request(
            uow,
            subject_type="price",
            subject_id=uuid.UUID(int=7),
            change={"price": {"amount": "12.00", "currency": "CNY"}},
            reason="supplier raised prices",
            required_permission=Permission.APPROVAL_DECIDE,
        )
        uow.commit()
    return request.id


def test_cat_06_deciding_moves_the_subject(shop: Shop) -> None:
    prices = _Prices()
    shop.approvals.register_subject("price", prices.approved, prices.rejected, prices.withdrawn)
    first = _open(shop)
    view = shop.approvals.approve(ZHAO, first)
    assert (view.state, prices.price, prices.state) == ("approved", "12.00", "approved")
    second = _open(shop)
    shop.approvals.reject(ZHAO, second, reason="too high")
    assert prices.state == "rejected"
    third = _open(shop)
    shop.approvals.withdraw(LI, third)
    assert prices.state == "draft"


def test_cat_06_a_failing_subject_rolls_the_decision_back(shop: Shop) -> None:
    prices = _Prices()
    prices.fail = True
    shop.approvals.register_subject("price", prices.approved, prices.rejected)
    request_id = _open(shop)
    with pytest.raises(InvalidInputError):
        shop.approvals.approve(ZHAO, request_id)
    assert shop.approvals.get(LI, request_id).state == "pending"


def test_unknown_or_duplicate_subject_types_are_refused(shop: Shop) -> None:
    with pytest.raises(InvalidInputError) as info:
        _open(shop)
    assert info.value.field == "subject_type"
    with pytest.raises(InvalidInputError):
        shop.approvals.register_subject("policy", lambda *_: None, lambda *_: None)
    assert "policy" in shop.approvals.subject_types


def test_gov_01_reading_and_deciding_needs_rights(shop: Shop) -> None:
    prices = _Prices()
    shop.approvals.register_subject("price", prices.approved, prices.rejected)
    request_id = _open(shop)
    stranger = Actor("wang.fang", roles={Role.CUSTOMER_SERVICE})
    for call in (
        lambda: shop.approvals.pending(stranger),
        lambda: shop.approvals.get(stranger, request_id),
        lambda: shop.approvals.approve(stranger, request_id),
        lambda: shop.approvals.reject(stranger, request_id, reason="no"),
    ):
        with pytest.raises(PermissionDeniedError):
            call()
    assert shop.approvals.get(LI, request_id).requester == "li.ming"  # the requester may read it
    with pytest.raises(PolicyViolationError):
        shop.approvals.withdraw(stranger, request_id)


def test_views_are_immutable_snapshots(shop: Shop) -> None:
    prices = _Prices()
    shop.approvals.register_subject("price", prices.approved, prices.rejected)
    view = shop.approvals.get(LI, _open(shop))
    with pytest.raises(AttributeError):
        view.state = ApprovalState.APPROVED  # type: ignore[misc]
    with pytest.raises(TypeError):
        view.change["price"] = "1"  # type: ignore[index]


def test_gov_05_every_decision_is_audited_with_actor_and_policy_version(shop: Shop) -> None:
    text = default_policy_text().replace("min_detail_images = 5", "min_detail_images = 6")
    proposal = shop.policies.propose(LI, text, effective_from=AT, reason="more photos")
    rejected = shop.policies.propose(LI, text, effective_from=AT, reason="again")
    shop.approvals.reject(QIAN, rejected.id, reason="duplicate")
    shop.approvals.approve(ZHAO, proposal.id, reason="ok")
    withdrawn = shop.policies.propose(LI, text, effective_from=AT + timedelta(days=1), reason="later")
    shop.approvals.withdraw(LI, withdrawn.id)

    def trail(request_id: uuid.UUID) -> list[tuple[str, str, int | None]]:
        page = shop.audit.entries(ZHAO, aggregate_id=request_id)
        return [(e.action, e.actor_id, e.policy_version) for e in page]

    assert trail(proposal.id) == [("ApprovalRequested", "li.ming", 1), ("ApprovalGranted", "zhao.lei", 1)]
    assert trail(rejected.id) == [("ApprovalRequested", "li.ming", 1), ("ApprovalRejected", "qian.yu", 1)]
    # version 2 took effect at the approval, so the later request and its withdrawal ran under it
    assert trail(withdrawn.id) == [("ApprovalRequested", "li.ming", 2), ("ApprovalWithdrawn", "li.ming", 2)]
    adopted = [e for e in shop.audit.entries(ZHAO, actor_id="zhao.lei") if e.action == "PolicyVersionAdopted"]
    assert [(e.policy_version, e.details["proposed_by"]) for e in adopted] == [(2, "li.ming")]
