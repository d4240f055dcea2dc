"""
Policies and approvals: the policy history and approval requests.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-12 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Types spelled out here, not imported, so that this revision never changes.
UUID = sa.Uuid()
UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create ``policy_sets``, ``policy_versions`` and ``approval_requests``."""
    op.create_table(
        "policy_sets",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_sets")),
    )
    op.create_index(op.f("ix_policy_sets_name"), "policy_sets", ["name"])

    op.create_table(
        "policy_versions",
        sa.Column("parent_id", UUID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("rules", JSON, nullable=False),
        sa.Column("effective_from", UTC_DATETIME, nullable=False),
        sa.Column("proposed_by", sa.String(128), nullable=False),
        sa.Column("approved_by", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["policy_sets.id"],
            name=op.f("fk_policy_versions_parent_id_policy_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("parent_id", "position", name=op.f("pk_policy_versions")),
    )
    op.create_index(op.f("ix_policy_versions_parent_id"), "policy_versions", ["parent_id"])

    op.create_table(
        "approval_requests",
        sa.Column("id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(64), nullable=False),
        sa.Column("subject_id", UUID, nullable=False),
        sa.Column("change", JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requester", sa.String(128), nullable=False),
        sa.Column("required_permission", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_at", UTC_DATETIME, nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_at", UTC_DATETIME, nullable=True),
        sa.Column("decision_policy_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
    )
    op.create_index(op.f("ix_approval_requests_subject_type"), "approval_requests", ["subject_type"])
    op.create_index(op.f("ix_approval_requests_subject_id"), "approval_requests", ["subject_id"])
    op.create_index(op.f("ix_approval_requests_requester"), "approval_requests", ["requester"])
    op.create_index(op.f("ix_approval_requests_state"), "approval_requests", ["state"])


def downgrade() -> None:
    """Drop the policy and approval tables."""
    op.drop_table("approval_requests")
    op.drop_table("policy_versions")
    op.drop_table("policy_sets")
