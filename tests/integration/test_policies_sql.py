"""Policies and approvals on SQLite: propose, approve, ask which version applied, reopen (GOV-02, GOV-05)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eshop_core import Actor, FixedClock, InvalidInputError, PolicyViolationError, Role, Shop
from eshop_core.domain.approvals import ApprovalRequest
from eshop_core.schemas.policies import default_policy, default_policy_text

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LI = Actor("li.ming", roles={Role.OPERATIONS})
ZHAO = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})


def test_gov_02_propose_approve_in_force_and_reopen_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    clock = FixedClock(START)
    effective = START + timedelta(days=7)
    text = default_policy_text().replace("min_detail_images = 5", "min_detail_images = 6")
    with Shop.open(url, clock=clock) as shop:
        request = shop.policies.propose(LI, text, effective_from=effective, reason="more photos")
        with pytest.raises(PolicyViolationError):
            shop.approvals.approve(Actor("li.ming", roles={Role.DEPARTMENT_MANAGER}), request.id)
        bad = text.replace("hours = 1,", "hours = -1,")
        with pytest.raises(InvalidInputError):
            shop.policies.propose(LI, bad, effective_from=effective, reason="x")
        clock.advance(timedelta(hours=1))
        shop.approvals.approve(ZHAO, request.id, reason="agreed")
        with shop.unit_of_work(ZHAO) as uow:
            found = uow.repository(ApprovalRequest).find(
                where={"state": "approved", "subject_type": "policy"}
            )
        assert [r.id for r in found] == [request.id]

    with Shop.open(url, clock=clock) as reopened:
        history = reopened.policies.history()
        assert [v.number for v in history] == [1, 2]
        v2 = history[1]
        assert (v2.effective_from, v2.proposed_by, v2.approved_by) == (effective, "li.ming", "zhao.lei")
        assert v2.approved_at == START + timedelta(hours=1)
        assert v2.rules.listing.min_detail_images == 6
        assert v2.rules.refund_limit({Role.CUSTOMER_SERVICE}) == default_policy().refund_limit(
            {Role.CUSTOMER_SERVICE}
        )
        assert reopened.policies.in_force(effective - timedelta(seconds=1)).number == 1
        assert reopened.policies.in_force(effective).number == 2
        view = reopened.approvals.get(ZHAO, request.id)
        assert (view.state, view.decided_by, view.decision_policy_version) == ("approved", "zhao.lei", 1)
        assert view.change["rules"]["listing"]["min_detail_images"] == 6
        trail = [(e.action, e.actor_id, e.policy_version) for e in reopened.audit.entries(ZHAO)]
        assert trail == [
            ("PolicyVersionAdopted", "system:bootstrap", 1),
            ("ApprovalRequested", "li.ming", 1),
            ("ApprovalGranted", "zhao.lei", 1),
            ("PolicyVersionAdopted", "zhao.lei", 2),
        ]
