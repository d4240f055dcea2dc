"""
Tables of the policy history: ``policy_sets`` and its child ``policy_versions``.

Each adopted :class:`~eshop_core.domain.policies.PolicyVersion` is one row of
``policy_versions``; its rules are a JSON document in the shape of the TOML
policy document (:class:`~eshop_core.schemas.policies.PolicyDocument`), money
as strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import Column, Integer, PrimaryKeyConstraint, String, Table, Text

from eshop_adapters.storage.mapping import (
    AggregateMapping,
    ChildTable,
    Rows,
    child_parent_column,
    id_column,
    version_column,
)
from eshop_adapters.storage.metadata import METADATA
from eshop_adapters.storage.types import JSON_DOCUMENT, UTCDateTime
from eshop_core.domain.policies import PolicySet, PolicyVersion
from eshop_core.schemas.policies import PolicyDocument

__all__ = ["POLICY_SET_MAPPING", "PolicySetMapping", "policy_sets", "policy_versions"]

policy_sets: Final = Table(
    "policy_sets",
    METADATA,
    id_column(),
    version_column(),
    Column("name", String(64), nullable=False, index=True),
)

policy_versions: Final = Table(
    "policy_versions",
    METADATA,
    child_parent_column(policy_sets),
    Column("position", Integer, nullable=False),
    Column("number", Integer, nullable=False),
    Column("rules", JSON_DOCUMENT, nullable=False),
    Column("effective_from", UTCDateTime(), nullable=False),
    Column("proposed_by", String(128), nullable=False),
    Column("approved_by", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("approved_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("parent_id", "position"),
)


class PolicySetMapping(AggregateMapping[PolicySet]):
    """Maps :class:`~eshop_core.domain.policies.PolicySet` onto ``policy_sets`` and ``policy_versions``."""

    def __init__(self) -> None:
        super().__init__(PolicySet, policy_sets, children=[ChildTable(policy_versions)])

    def dump(self, aggregate: PolicySet) -> dict[str, Any]:
        """Return the set's plain columns."""
        return {"name": aggregate.name}

    def dump_children(self, aggregate: PolicySet) -> Rows:
        """Return one row per version, oldest first."""
        return {
            policy_versions.name: [
                {
                    "number": v.number,
                    "rules": PolicyDocument.from_domain(v.rules).to_data(),
                    "effective_from": v.effective_from,
                    "proposed_by": v.proposed_by,
                    "approved_by": v.approved_by,
                    "reason": v.reason,
                    "approved_at": v.approved_at,
                }
                for v in aggregate.versions
            ]
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> PolicySet:
        """Build the set from its rows."""
        versions = [
            PolicyVersion(
                number=row["number"],
                rules=PolicyDocument.parse(row["rules"]).to_domain(),
                effective_from=row["effective_from"],
                proposed_by=row["proposed_by"],
                approved_by=row["approved_by"],
                reason=row["reason"],
                approved_at=row["approved_at"],
            )
            for row in children.get(policy_versions.name, ())
        ]
        return PolicySet(id=values["id"], version=values["version"], name=values["name"], versions=versions)


POLICY_SET_MAPPING: Final = PolicySetMapping()
"""The PolicySet mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""
