"""
Table of approval requests: ``approval_requests``.

State, subject and requester are indexed columns (``find`` filters on them);
the requested change is a JSON document of JSON-safe data (money as strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import Column, Integer, String, Table, Text

from eshop_adapters.storage.mapping import AggregateMapping, Rows, id_column, version_column
from eshop_adapters.storage.metadata import METADATA
from eshop_adapters.storage.types import JSON_DOCUMENT, UUID, UTCDateTime
from eshop_core.access import Permission
from eshop_core.domain.approvals import ApprovalRequest, ApprovalState

__all__ = ["APPROVAL_REQUEST_MAPPING", "ApprovalRequestMapping", "approval_requests"]

approval_requests: Final = Table(
    "approval_requests",
    METADATA,
    id_column(),
    version_column(),
    Column("subject_type", String(64), nullable=False, index=True),
    Column("subject_id", UUID, nullable=False, index=True),
    Column("change", JSON_DOCUMENT, nullable=False),
    Column("reason", Text, nullable=False),
    Column("requester", String(128), nullable=False, index=True),
    Column("required_permission", String(64), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("policy_version", Integer, nullable=True),
    Column("decided_by", String(128), nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("decision_policy_version", Integer, nullable=True),
)


class ApprovalRequestMapping(AggregateMapping[ApprovalRequest]):
    """Maps :class:`~eshop_core.domain.approvals.ApprovalRequest` onto ``approval_requests``."""

    def __init__(self) -> None:
        super().__init__(ApprovalRequest, approval_requests)

    def dump(self, aggregate: ApprovalRequest) -> dict[str, Any]:
        """Return the request's plain columns."""
        return {
            "subject_type": aggregate.subject_type,
            "subject_id": aggregate.subject_id,
            "change": aggregate.change,
            "reason": aggregate.reason,
            "requester": aggregate.requester,
            "required_permission": aggregate.required_permission.value,
            "state": aggregate.state.value,
            "requested_at": aggregate.requested_at,
            "policy_version": aggregate.policy_version,
            "decided_by": aggregate.decided_by,
            "decision_reason": aggregate.decision_reason,
            "decided_at": aggregate.decided_at,
            "decision_policy_version": aggregate.decision_policy_version,
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> ApprovalRequest:
        """Build the request from its row."""
        return ApprovalRequest(
            id=values["id"],
            version=values["version"],
            subject_type=values["subject_type"],
            subject_id=values["subject_id"],
            change=dict(values["change"]),
            reason=values["reason"],
            requester=values["requester"],
            required_permission=Permission(values["required_permission"]),
            state=ApprovalState(values["state"]),
            requested_at=values["requested_at"],
            policy_version=values["policy_version"],
            decided_by=values["decided_by"],
            decision_reason=values["decision_reason"],
            decided_at=values["decided_at"],
            decision_policy_version=values["decision_policy_version"],
        )


APPROVAL_REQUEST_MAPPING: Final = ApprovalRequestMapping()
"""The ApprovalRequest mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""
