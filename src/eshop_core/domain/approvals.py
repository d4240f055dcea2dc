"""
Generic approval requests: maker-checker for every change that needs a superior (GOV-02, CAT-06).

An :class:`ApprovalRequest` names its subject (``subject_type`` and
``subject_id``), the requested change (JSON-safe data), the reason, who asked,
which permission a decider needs, and the policy version in force when it was
asked. It moves through :data:`APPROVAL_LIFECYCLE`::

    pending → approved | rejected | withdrawn

Nobody approves or rejects their own request (maker-checker); only the
requester withdraws it; a rejection needs a reason. The subject keeps its own
states: the service deciding a request moves the subject in the same unit of
work.

Example:
    >>> import uuid
    >>> from datetime import datetime, timezone
    >>> from eshop_core import Actor, Permission, Role
    >>> from eshop_core.domain.approvals import ApprovalRequest
    >>> li = Actor("li.ming", roles={Role.OPERATIONS})
    >>> boss = Actor("zhao.lei", roles={Role.DEPARTMENT_MANAGER})
    >>> at = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)
    >>> request = ApprovalRequest.open(
    ...     subject_type="price", subject_id=uuid.UUID(int=7), change={"price": "12.00"},
    ...     reason="supplier raised prices", required_permission=Permission.APPROVAL_DECIDE,
    ...     by=li, at=at, policy_version=1)
    >>> request.approve(by=li, at=at)
    Traceback (most recent call last):
    ...
    eshop_core.errors.PolicyViolationError: li.ming cannot decide their own approval request
    >>> request.approve(by=boss, at=at, reason="ok")
    >>> request.state, request.decided_by
    (<ApprovalState.APPROVED: 'approved'>, 'zhao.lei')
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import attrs

from eshop_core.access import Actor, Permission, authorize
from eshop_core.clock import ensure_aware
from eshop_core.domain._aggregate import Aggregate
from eshop_core.domain._lifecycle import Lifecycle
from eshop_core.errors import InvalidInputError, PolicyViolationError
from eshop_core.events import DomainEvent
from eshop_core.ids import parse_id

__all__ = [
    "APPROVAL_LIFECYCLE",
    "ApprovalGranted",
    "ApprovalRejected",
    "ApprovalRequest",
    "ApprovalRequested",
    "ApprovalState",
    "ApprovalWithdrawn",
    "check_json_object",
]

_MAX_TEXT: Final = 2000
_MAX_SUBJECT_TYPE: Final = 64


class ApprovalState(StrEnum):
    """States of an approval request."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


APPROVAL_LIFECYCLE: Final = Lifecycle(
    "ApprovalRequest",
    {
        (ApprovalState.PENDING, "approve"): ApprovalState.APPROVED,
        (ApprovalState.PENDING, "reject"): ApprovalState.REJECTED,
        (ApprovalState.PENDING, "withdraw"): ApprovalState.WITHDRAWN,
    },
    initial=ApprovalState.PENDING,
    terminal={ApprovalState.APPROVED, ApprovalState.REJECTED, ApprovalState.WITHDRAWN},
)
"""The approval lifecycle, in which a pending request is approved, rejected or withdrawn, once."""


def _check_json(value: object, path: str) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        raise InvalidInputError(path, f"no floats (got {value!r}); use a decimal string")
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(path, f"keys must be strings, got {key!r}")
            out[key] = _check_json(item, f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [_check_json(item, f"{path}.{i}") for i, item in enumerate(value)]
    raise InvalidInputError(
        path, f"{type(value).__name__} is not JSON data (str, int, bool, None, list, dict)"
    )


def check_json_object(value: object, *, field: str) -> dict[str, Any]:
    """
    Return a deep copy of ``value`` if it is a JSON object without floats.

    Raises:
        InvalidInputError: Naming the offending path (``change.lines.0.price``).

    Example:
        >>> check_json_object({"price": 1.5}, field="change")
        Traceback (most recent call last):
        ...
        eshop_core.errors.InvalidInputError: invalid change.price: no floats (got 1.5); use a decimal string
    """
    if not isinstance(value, Mapping):
        raise InvalidInputError(field, f"expected a mapping (a JSON object), got {type(value).__name__}")
    checked: dict[str, Any] = _check_json(value, field)
    return checked


def _text(field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(field, "must be a non-empty string")
    if len(value) > _MAX_TEXT:
        raise InvalidInputError(field, f"must be at most {_MAX_TEXT} characters")
    return value.strip()


def _optional_text(field: str, value: object) -> str | None:
    return None if value is None or (isinstance(value, str) and not value.strip()) else _text(field, value)


def _policy_version(value: object, field: str = "policy_version") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(field, f"must be a positive integer or None, got {value!r}")
    return value


@attrs.frozen(kw_only=True)
class ApprovalRequested(DomainEvent):
    """Someone asked for an approval."""

    subject_type: str
    subject_id: uuid.UUID
    change: Mapping[str, Any]
    reason: str
    required_permission: Permission


@attrs.frozen(kw_only=True)
class ApprovalGranted(DomainEvent):
    """An approval request was approved."""

    subject_type: str
    subject_id: uuid.UUID
    requester: str
    reason: str | None


@attrs.frozen(kw_only=True)
class ApprovalRejected(DomainEvent):
    """An approval request was rejected."""

    subject_type: str
    subject_id: uuid.UUID
    requester: str
    reason: str


@attrs.frozen(kw_only=True)
class ApprovalWithdrawn(DomainEvent):
    """The requester withdrew an approval request."""

    subject_type: str
    subject_id: uuid.UUID


@attrs.define(kw_only=True, eq=False)
class ApprovalRequest(Aggregate):
    """
    A request for a superior's approval of one change to one subject.

    Attributes:
        subject_type: What kind of subject (``"policy"``, ``"price"``...; filterable).
        subject_id: Which subject (filterable).
        change: The requested change, JSON-safe data (money as strings).
        reason: Why the requester asks.
        requester: The requesting actor's id (filterable).
        required_permission: What a decider must hold besides ``approval.decide``.
        state: Lifecycle state (filterable).
        requested_at: When it was asked (UTC).
        policy_version: The policy version in force when it was asked.
        decided_by: Who approved or rejected it.
        decision_reason: The decider's reason (required for a rejection).
        decided_at: When it was decided or withdrawn (UTC).
        decision_policy_version: The policy version in force at the decision.
    """

    subject_type: str = attrs.field(metadata={"filterable": True})
    subject_id: uuid.UUID = attrs.field(metadata={"filterable": True})
    change: dict[str, Any] = attrs.field(factory=dict)
    reason: str
    requester: str = attrs.field(metadata={"filterable": True})
    required_permission: Permission
    state: ApprovalState = attrs.field(default=ApprovalState.PENDING, metadata={"filterable": True})
    requested_at: datetime
    policy_version: int | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    decided_at: datetime | None = None
    decision_policy_version: int | None = None

    @classmethod
    def open(
        cls,
        *,
        subject_type: str,
        subject_id: uuid.UUID | str,
        change: Mapping[str, Any],
        reason: str,
        required_permission: Permission | str,
        by: Actor,
        at: datetime,
        policy_version: int | None,
    ) -> ApprovalRequest:
        """
        Open a pending request and record :class:`ApprovalRequested`.

        Raises:
            InvalidInputError: A bad subject, change, reason, permission or time; nothing created.
        """
        if not isinstance(by, Actor):
            raise InvalidInputError("by", f"expected an Actor, got {type(by).__name__}")
        kind = _text("subject_type", subject_type)
        if len(kind) > _MAX_SUBJECT_TYPE:
            raise InvalidInputError("subject_type", f"must be at most {_MAX_SUBJECT_TYPE} characters")
        try:
            permission = Permission(required_permission)
        except ValueError:
            raise InvalidInputError(
                "required_permission", f"unknown permission {required_permission!r}"
            ) from None
        at = ensure_aware(at, field="at")
        request = cls(
            subject_type=kind,
            subject_id=parse_id(subject_id, field="subject_id"),
            change=check_json_object(change, field="change"),
            reason=_text("reason", reason),
            requester=by.id,
            required_permission=permission,
            requested_at=at,
            policy_version=_policy_version(policy_version),
        )
        request._record(
            ApprovalRequested(
                occurred_at=at,
                actor=by,
                policy_version=request.policy_version,
                subject_type=request.subject_type,
                subject_id=request.subject_id,
                change=copy.deepcopy(request.change),
                reason=request.reason,
                required_permission=permission,
            )
        )
        return request

    @property
    def subject(self) -> str:
        """How errors name this request (``"ApprovalRequest <id> (policy)"``)."""
        return f"ApprovalRequest {self.id} ({self.subject_type})"

    def _decider(self, by: Actor, action: str) -> None:
        if not isinstance(by, Actor):
            raise InvalidInputError("by", f"expected an Actor, got {type(by).__name__}")
        APPROVAL_LIFECYCLE.fire(self.state, action, subject=self.subject)
        if by.id == self.requester:
            raise PolicyViolationError(
                f"{by.id} cannot decide their own approval request",
                rule="maker_checker",
                policy_version=self.policy_version,
                message_zh=f"{by.id} 不能审批自己提交的申请",
            )
        authorize(by, self.required_permission)

    def approve(
        self, *, by: Actor, at: datetime, reason: str | None = None, policy_version: int | None = None
    ) -> None:
        """
        Approve the request and record :class:`ApprovalGranted`.

        Args:
            by: The decider; not the requester, and holding :attr:`required_permission`.
            at: When.
            reason: Optional remark.
            policy_version: The policy version in force now (default: the request's).

        Raises:
            InvalidTransitionError: It is not pending.
            PolicyViolationError: ``rule="maker_checker"`` when ``by`` is the requester.
            PermissionDeniedError: ``by`` lacks :attr:`required_permission`.
        """
        note = _optional_text("reason", reason)
        at = ensure_aware(at, field="at")
        version = _policy_version(policy_version)
        self._decider(by, "approve")
        self._decide(ApprovalState.APPROVED, ApprovalGranted, by, at, note, version)

    def reject(self, *, by: Actor, at: datetime, reason: str, policy_version: int | None = None) -> None:
        """
        Reject the request with a reason and record :class:`ApprovalRejected`.

        Raises:
            InvalidInputError: No reason given.
            InvalidTransitionError: It is not pending.
            PolicyViolationError: ``rule="maker_checker"`` when ``by`` is the requester.
            PermissionDeniedError: ``by`` lacks :attr:`required_permission`.
        """
        note = _text("reason", reason)
        at = ensure_aware(at, field="at")
        version = _policy_version(policy_version)
        self._decider(by, "reject")
        self._decide(ApprovalState.REJECTED, ApprovalRejected, by, at, note, version)

    def withdraw(self, *, by: Actor, at: datetime, policy_version: int | None = None) -> None:
        """
        Withdraw the request (only its requester may) and record :class:`ApprovalWithdrawn`.

        Raises:
            InvalidTransitionError: It is not pending.
            PolicyViolationError: ``rule="requester_only"`` when ``by`` is not the requester.
        """
        if not isinstance(by, Actor):
            raise InvalidInputError("by", f"expected an Actor, got {type(by).__name__}")
        at = ensure_aware(at, field="at")
        version = _policy_version(policy_version)
        APPROVAL_LIFECYCLE.fire(self.state, "withdraw", subject=self.subject)
        if by.id != self.requester:
            raise PolicyViolationError(
                f"only the requester {self.requester} may withdraw {self.subject}",
                rule="requester_only",
                policy_version=self.policy_version,
                message_zh=f"只有申请人 {self.requester} 可以撤回该申请",
            )
        self.state = ApprovalState.WITHDRAWN
        self.decided_at = at
        self.decision_policy_version = version if version is not None else self.policy_version
        self._record(
            ApprovalWithdrawn(
                occurred_at=at,
                actor=by,
                policy_version=self.decision_policy_version,
                subject_type=self.subject_type,
                subject_id=self.subject_id,
            )
        )

    def _decide(
        self,
        state: ApprovalState,
        event: Callable[..., ApprovalGranted | ApprovalRejected],  # a rejection always has its reason
        by: Actor,
        at: datetime,
        reason: str | None,
        version: int | None,
    ) -> None:
        self.state = state
        self.decided_by = by.id
        self.decided_at = at
        self.decision_reason = reason
        self.decision_policy_version = version if version is not None else self.policy_version
        self._record(
            event(
                occurred_at=at,
                actor=by,
                policy_version=self.decision_policy_version,
                subject_type=self.subject_type,
                subject_id=self.subject_id,
                requester=self.requester,
                reason=reason,
            )
        )
