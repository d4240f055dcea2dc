"""
``shop.approvals``: maker-checker approval requests for every subject (GOV-02, CAT-06).

Capabilities that need a superior's approval (policy changes, price changes,
listing review, stock-count adjustments, promotion launches, refunds over
authority) register their *subject type* with :meth:`ApprovalsService.register_subject`
and open requests inside their own unit of work with
:meth:`ApprovalsService.open_request`. Deciding a request calls the subject's
handler in the *same* unit of work, so the request and its subject move
together or not at all. Every decision records the policy version in force
and lands in the audit log (GOV-05).

Callers get :class:`ApprovalView` snapshots, never live aggregates.

Example:
    >>> from datetime import timedelta
    >>> from eshop_core import Actor, Role, Shop
    >>> shop = Shop.open("memory://")
    >>> li = Actor("li.ming", roles={Role.OPERATIONS})
    >>> boss = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
    >>> rules = shop.policies.current().rules
    >>> request = shop.policies.propose(li, rules, effective_from=shop.clock.now() + timedelta(days=1),
    ...                                 reason="review the numbers")
    >>> [r.id for r in shop.approvals.pending(boss)] == [request.id]
    True
    >>> shop.approvals.reject(boss, request.id, reason="nothing changes").state
    <ApprovalState.REJECTED: 'rejected'>
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from eshop_core.access import Actor, Permission, authorize, permissions_of
from eshop_core.domain.approvals import ApprovalRequest, ApprovalState
from eshop_core.errors import (
    ConcurrencyError,
    InvalidInputError,
    PermissionDeniedError,
    PluginError,
)
from eshop_core.ids import parse_id
from eshop_core.storage.ports import Page, UnitOfWork

if TYPE_CHECKING:
    from eshop_core.shop import Shop

__all__ = ["ApprovalView", "ApprovalsService", "SubjectHandler"]

SubjectHandler = Callable[[UnitOfWork, ApprovalRequest, Actor], None]
"""Moves a subject when its request is decided, as ``handler(uow, request, decider)``, same unit of work."""


def _frozen_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen_json(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen_json(v) for v in value)
    return value


@attrs.frozen(kw_only=True)
class ApprovalView:
    """
    An immutable snapshot of an :class:`~eshop_core.domain.approvals.ApprovalRequest`.

    Attributes:
        id: The request's id.
        version: Its version when the snapshot was taken (pass it back as ``expected_version``).
        subject_type: What kind of subject.
        subject_id: Which subject.
        change: The requested change (read-only JSON data).
        reason: Why it was asked.
        requester: Who asked.
        required_permission: What a decider must hold besides ``approval.decide``.
        state: Its state.
        requested_at: When it was asked.
        policy_version: The policy version in force when it was asked.
        decided_by: Who decided it.
        decision_reason: The decider's reason.
        decided_at: When it was decided or withdrawn.
        decision_policy_version: The policy version in force at the decision.
    """

    id: uuid.UUID
    version: int
    subject_type: str
    subject_id: uuid.UUID
    change: Mapping[str, Any] = attrs.field(eq=False, repr=False)
    reason: str
    requester: str
    required_permission: Permission
    state: ApprovalState
    requested_at: datetime
    policy_version: int | None
    decided_by: str | None
    decision_reason: str | None
    decided_at: datetime | None
    decision_policy_version: int | None

    @classmethod
    def of(cls, request: ApprovalRequest) -> ApprovalView:
        """Return the snapshot of ``request``."""
        return cls(
            id=request.id,
            version=request.version,
            subject_type=request.subject_type,
            subject_id=request.subject_id,
            change=_frozen_json(request.change),
            reason=request.reason,
            requester=request.requester,
            required_permission=request.required_permission,
            state=request.state,
            requested_at=request.requested_at,
            policy_version=request.policy_version,
            decided_by=request.decided_by,
            decision_reason=request.decision_reason,
            decided_at=request.decided_at,
            decision_policy_version=request.decision_policy_version,
        )


@attrs.frozen
class _Subject:
    on_approved: SubjectHandler
    on_rejected: SubjectHandler
    on_withdrawn: SubjectHandler | None


def _check_expected(request: ApprovalRequest, expected_version: int | None) -> None:
    if expected_version is None:
        return
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise InvalidInputError("expected_version", f"expected an int, got {type(expected_version).__name__}")
    if request.version != expected_version:
        raise ConcurrencyError("ApprovalRequest", request.id, expected_version)


class ApprovalsService:
    """Opens, lists and decides approval requests; see the module documentation."""

    def __init__(self, shop: Shop) -> None:
        self._shop = shop
        self._subjects: dict[str, _Subject] = {}

    # -- for capabilities ---------------------------------------------------------

    def register_subject(
        self,
        subject_type: str,
        on_approved: SubjectHandler,
        on_rejected: SubjectHandler,
        on_withdrawn: SubjectHandler | None = None,
    ) -> None:
        """
        Register the handlers that move subjects of ``subject_type`` when a request is decided.

        Each handler is called as ``handler(uow, request, actor)`` inside the
        deciding unit of work, after the request changed; raising rolls both back.

        Raises:
            InvalidInputError: An empty ``subject_type``, one registered already, or a handler
                that is not callable.
        """
        if not isinstance(subject_type, str) or not subject_type.strip():
            raise InvalidInputError("subject_type", "must be a non-empty string")
        if subject_type in self._subjects:
            raise InvalidInputError("subject_type", f"{subject_type!r} is registered already")
        for name, handler in (("on_approved", on_approved), ("on_rejected", on_rejected)):
            if not callable(handler):
                raise InvalidInputError(name, "must be callable")
        if on_withdrawn is not None and not callable(on_withdrawn):
            raise InvalidInputError("on_withdrawn", "must be callable or None")
        self._subjects[subject_type] = _Subject(on_approved, on_rejected, on_withdrawn)

    @property
    def subject_types(self) -> tuple[str, ...]:
        """The registered subject types, sorted."""
        return tuple(sorted(self._subjects))

    def open_request(
        self,
        uow: UnitOfWork,
        *,
        subject_type: str,
        subject_id: uuid.UUID | str,
        change: Mapping[str, Any],
        reason: str,
        required_permission: Permission,
    ) -> ApprovalRequest:
        """
        Open a pending request for ``uow.actor`` inside the caller's unit of work (for services).

        The request records the policy version in force now. The caller
        authorizes its actor, then commits.

        Raises:
            InvalidInputError: An unregistered subject type or bad fields.
        """
        if subject_type not in self._subjects:
            known = ", ".join(self.subject_types) or "none"
            raise InvalidInputError("subject_type", f"unknown subject type {subject_type!r}; known: {known}")
        now = self._shop.clock.now()
        request = ApprovalRequest.open(
            subject_type=subject_type,
            subject_id=subject_id,
            change=change,
            reason=reason,
            required_permission=required_permission,
            by=uow.actor,
            at=now,
            policy_version=self._shop.policies.version_in_force(uow, now).number,
        )
        uow.repository(ApprovalRequest).add(request)
        return request

    # -- for people ---------------------------------------------------------------

    def get(self, actor: Actor, request_id: uuid.UUID | str) -> ApprovalView:
        """
        Return request ``request_id``; its requester and deciders (``approval.decide``) may read it.

        Raises:
            NotFoundError: No such request.
            PermissionDeniedError: ``actor`` is neither.
        """
        key = parse_id(request_id, field="request_id")
        with self._shop.unit_of_work(actor) as uow:
            request = uow.repository(ApprovalRequest).get(key)
        if request.requester != actor.id and Permission.APPROVAL_DECIDE not in permissions_of(actor):
            raise PermissionDeniedError(
                actor.id, Permission.APPROVAL_DECIDE.value, detail="not the requester"
            )
        return ApprovalView.of(request)

    def pending(
        self,
        actor: Actor,
        *,
        subject_type: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[ApprovalView]:
        """
        Return pending requests (of one subject type, or all), one page at a time, in id order.

        Args:
            actor: Who asks (needs ``approval.decide``).
            subject_type: Only this kind of subject.
            limit: Page size.
            cursor: ``next_cursor`` of the previous page.
        """
        authorize(actor, Permission.APPROVAL_DECIDE)
        where: dict[str, object] = {"state": ApprovalState.PENDING}
        if subject_type is not None:
            where["subject_type"] = subject_type
        with self._shop.unit_of_work(actor) as uow:
            page = uow.repository(ApprovalRequest).find(where=where, limit=limit, cursor=cursor)
        return Page(tuple(ApprovalView.of(r) for r in page.items), page.next_cursor)

    def approve(
        self,
        actor: Actor,
        request_id: uuid.UUID | str,
        *,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> ApprovalView:
        """
        Approve a request and move its subject, in one unit of work.

        Args:
            actor: The decider (needs ``approval.decide`` and the request's permission; not the
                requester).
            request_id: The request.
            reason: Optional remark.
            expected_version: The version the decider saw; a different one raises
                :class:`~eshop_core.errors.ConcurrencyError`.

        Raises:
            PermissionDeniedError: Missing permission.
            PolicyViolationError: ``rule="maker_checker"``: one's own request.
            InvalidTransitionError: It is not pending.
            ConcurrencyError: It changed since ``expected_version``.
        """
        authorize(actor, Permission.APPROVAL_DECIDE)
        return self._decide(actor, request_id, "approve", reason, expected_version)

    def reject(
        self,
        actor: Actor,
        request_id: uuid.UUID | str,
        *,
        reason: str,
        expected_version: int | None = None,
    ) -> ApprovalView:
        """
        Reject a request with a reason and tell its subject, in one unit of work.

        Raises:
            InvalidInputError: No reason.
            PermissionDeniedError: Missing permission.
            PolicyViolationError: ``rule="maker_checker"``: one's own request.
            InvalidTransitionError: It is not pending.
            ConcurrencyError: It changed since ``expected_version``.
        """
        authorize(actor, Permission.APPROVAL_DECIDE)
        return self._decide(actor, request_id, "reject", reason, expected_version)

    def withdraw(
        self, actor: Actor, request_id: uuid.UUID | str, *, expected_version: int | None = None
    ) -> ApprovalView:
        """
        Withdraw one's own pending request.

        Raises:
            PolicyViolationError: ``rule="requester_only"``: someone else's request.
            InvalidTransitionError: It is not pending.
            ConcurrencyError: It changed since ``expected_version``.
        """
        return self._decide(actor, request_id, "withdraw", None, expected_version)

    def _decide(
        self,
        actor: Actor,
        request_id: uuid.UUID | str,
        action: str,
        reason: str | None,
        expected_version: int | None,
    ) -> ApprovalView:
        key = parse_id(request_id, field="request_id")
        with self._shop.unit_of_work(actor) as uow:
            requests = uow.repository(ApprovalRequest)
            request = requests.get(key)
            _check_expected(request, expected_version)
            subject = self._subjects.get(request.subject_type)
            if subject is None:
                raise PluginError(f"no handler registered for approval subject type {request.subject_type!r}")
            now = self._shop.clock.now()
            in_force = self._shop.policies.version_in_force(uow, now).number
            if action == "approve":
                request.approve(by=actor, at=now, reason=reason, policy_version=in_force)
                handler: SubjectHandler | None = subject.on_approved
            elif action == "reject":
                request.reject(by=actor, at=now, reason=reason or "", policy_version=in_force)
                handler = subject.on_rejected
            else:
                request.withdraw(by=actor, at=now, policy_version=in_force)
                handler = subject.on_withdrawn
            requests.save(request)
            if handler is not None:
                handler(uow, request, actor)
            uow.commit()
        return ApprovalView.of(request)
