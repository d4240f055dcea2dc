"""
``shop.policies``: the versioned policy and its changes through approval (GOV-02).

The first use of a shop adopts the shipped default document
(:func:`~eshop_core.schemas.policies.default_policy`) as version 1, effective
from the epoch, proposed and approved by ``system:bootstrap``. After that a
change is *proposed* (``policy.propose``) as an approval request; a department
manager other than the proposer approves it through ``shop.approvals``, and
the same unit of work adopts it as the next version.

A version takes effect at the proposal's ``effective_from``, or at the
approval if that comes later: a policy never applies retroactively, so a
decision made under an old version stays explained by it.

Example:
    >>> from datetime import timedelta
    >>> from eshop_core import Actor, Role, Shop
    >>> shop = Shop.open("memory://")
    >>> shop.policies.current().number
    1
    >>> li = Actor("li.ming", roles={Role.OPERATIONS})
    >>> boss = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
    >>> text = shop.policies.current_document().replace("min_detail_images = 5", "min_detail_images = 6")
    >>> start = shop.clock.now() + timedelta(days=1)
    >>> request = shop.policies.propose(li, text, effective_from=start, reason="more photos sell better")
    >>> _ = shop.approvals.approve(boss, request.id, reason="agreed")
    >>> shop.policies.in_force(start).rules.listing.min_detail_images
    6
    >>> shop.policies.current().number   # today is still under version 1
    1
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from eshop_core.access import Actor, Permission, authorize
from eshop_core.clock import ensure_aware
from eshop_core.domain.approvals import ApprovalRequest
from eshop_core.domain.policies import EPOCH, SHOP_POLICY_SET_ID, PolicyRules, PolicySet, PolicyVersion
from eshop_core.errors import InvalidInputError, NotFoundError
from eshop_core.schemas.policies import PolicyDocument, default_policy, parse_policy
from eshop_core.services.approvals import ApprovalView
from eshop_core.storage.ports import UnitOfWork

if TYPE_CHECKING:
    from eshop_core.shop import Shop

__all__ = ["BOOTSTRAP_ACTOR", "POLICY_SUBJECT", "PoliciesService"]

POLICY_SUBJECT: Final = "policy"
"""The approval subject type of policy changes."""

BOOTSTRAP_ACTOR: Final = Actor.system("bootstrap")
"""Who proposes and approves version 1, the shipped default."""

_READER: Final = Actor.system("policies")


def _document_text(rules: PolicyRules) -> str:
    data = PolicyDocument.from_domain(rules).to_data()
    lines: list[str] = []
    for table, values in data.items():
        lines.append(f"[{table}]")
        for key, value in values.items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(
        f"cannot write {type(value).__name__} as TOML"
    )  # pragma: no cover - documents hold no other


class PoliciesService:
    """Reads the policy history and proposes changes; see the module documentation."""

    def __init__(self, shop: Shop) -> None:
        self._shop = shop
        shop.approvals.register_subject(POLICY_SUBJECT, on_approved=self._adopt, on_rejected=_unchanged)

    # -- reading ------------------------------------------------------------------

    def current(self, at: datetime | None = None) -> PolicyVersion:
        """
        Return the version in force now (or at ``at``), adopting the default on first use.

        Raises:
            InvalidInputError: A naive ``at``.
        """
        return self.in_force(self._shop.clock.now() if at is None else at)

    def in_force(self, at: datetime) -> PolicyVersion:
        """
        Return the version in force at ``at``: ask it which policy applied to a decision.

        Raises:
            InvalidInputError: A naive ``at``.
        """
        at = ensure_aware(at, field="at")
        with self._shop.unit_of_work(_READER) as uow:
            found = self.version_in_force(uow, at)
            uow.commit()  # keeps the bootstrap version when this was the first use
        return found

    def history(self) -> tuple[PolicyVersion, ...]:
        """Return every adopted version, oldest first."""
        with self._shop.unit_of_work(_READER) as uow:
            versions = tuple(self._policy_set(uow).versions)
            uow.commit()
        return versions

    def version(self, number: int) -> PolicyVersion:
        """
        Return version ``number``.

        Raises:
            NotFoundError: No such version.
        """
        with self._shop.unit_of_work(_READER) as uow:
            found = self._policy_set(uow).policy_version(number)
            uow.commit()
        return found

    def current_document(self, at: datetime | None = None) -> str:
        """Return the rules in force now (or at ``at``) as a TOML document, a starting point for a change."""
        return _document_text(self.current(at).rules)

    # -- for services -------------------------------------------------------------

    def version_in_force(self, uow: UnitOfWork, at: datetime) -> PolicyVersion:
        """Return the version in force at ``at`` inside the caller's unit of work (for services)."""
        return self._policy_set(uow).in_force(at)

    def policy_set(self, uow: UnitOfWork) -> PolicySet:
        """Return the whole policy history inside the caller's unit of work (for services deciding often)."""
        return self._policy_set(uow)

    def _policy_set(self, uow: UnitOfWork) -> PolicySet:
        repository = uow.repository(PolicySet)
        try:
            return repository.get(SHOP_POLICY_SET_ID)
        except NotFoundError:
            policies = PolicySet()
            policies.adopt(
                default_policy(),
                effective_from=EPOCH,
                proposed_by=BOOTSTRAP_ACTOR,
                approved_by=BOOTSTRAP_ACTOR,
                reason="the shipped default policy",
                at=self._shop.clock.now(),
            )
            repository.add(policies)
            return policies

    # -- changing -----------------------------------------------------------------

    def propose(
        self,
        actor: Actor,
        rules: PolicyRules | PolicyDocument | str,
        *,
        effective_from: datetime,
        reason: str,
    ) -> ApprovalView:
        """
        Propose new rules as the next version; returns the pending approval request.

        Args:
            actor: The proposer (needs ``policy.propose``).
            rules: The complete new rules: :class:`PolicyRules`, a validated document or TOML text.
            effective_from: When they should take effect (not in the past, not before the
                newest version's effective time).
            reason: Why.

        Raises:
            PermissionDeniedError: Missing ``policy.propose``.
            InvalidInputError: Invalid rules (naming the field), times or reason; nothing changed.
        """
        authorize(actor, Permission.POLICY_PROPOSE)
        new_rules = parse_policy(rules)
        effective_from = ensure_aware(effective_from, field="effective_from")
        now = self._shop.clock.now()
        if effective_from < now:
            raise InvalidInputError(
                "effective_from", "must not be in the past: policies never apply retroactively"
            )
        with self._shop.unit_of_work(actor) as uow:
            self._policy_set(uow).check_effective_from(effective_from)
            request = self._shop.approvals.open_request(
                uow,
                subject_type=POLICY_SUBJECT,
                subject_id=SHOP_POLICY_SET_ID,
                change={
                    "rules": PolicyDocument.from_domain(new_rules).to_data(),
                    "effective_from": effective_from.isoformat(),
                },
                reason=reason,
                required_permission=Permission.POLICY_APPROVE,
            )
            uow.commit()
        return ApprovalView.of(request)

    def _adopt(self, uow: UnitOfWork, request: ApprovalRequest, actor: Actor) -> None:
        rules = PolicyDocument.parse(request.change["rules"]).to_domain()
        decided_at = request.decided_at if request.decided_at is not None else self._shop.clock.now()
        requested = datetime.fromisoformat(str(request.change["effective_from"]))
        policies = self._policy_set(uow)
        policies.adopt(
            rules,
            effective_from=max(requested, decided_at),
            proposed_by=request.requester,
            approved_by=actor,
            reason=request.reason,
            at=decided_at,
        )
        uow.repository(PolicySet).save(policies)


def _unchanged(uow: UnitOfWork, request: ApprovalRequest, actor: Actor) -> None:
    """A rejected policy proposal leaves the policy as it is."""
