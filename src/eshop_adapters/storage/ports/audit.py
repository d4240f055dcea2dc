"""
The SQL audit log: ``audit_log``, append-only (GOV-05).

Entries are written from event envelopes in the unit of work that raised
them, one multi-row insert per commit. Triggers refuse every ``UPDATE`` and
``DELETE`` of the table (and, on PostgreSQL, ``TRUNCATE``); they are created
by the migration, and by ``METADATA.create_all`` through
:data:`SQLITE_APPEND_ONLY_TRIGGERS` and :data:`POSTGRESQL_APPEND_ONLY_TRIGGERS`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Final

from sqlalchemy import DDL, Column, Index, Integer, String, Table, event, select

from eshop_adapters.storage.metadata import METADATA
from eshop_adapters.storage.sql import AnyRow, SqlUnitOfWork
from eshop_adapters.storage.types import JSON_DOCUMENT, SEQUENCE, UUID, UTCDateTime
from eshop_core.events import EventEnvelope
from eshop_core.storage.ports import AuditEntry, Page
from eshop_core.storage.unit_of_work import check_limit, decode_seq_cursor, encode_seq_cursor

__all__ = ["POSTGRESQL_APPEND_ONLY_TRIGGERS", "SQLITE_APPEND_ONLY_TRIGGERS", "SqlAuditLog", "audit_log"]

audit_log: Final = Table(
    "audit_log",
    METADATA,
    Column("seq", SEQUENCE, primary_key=True, autoincrement=True),
    Column("event_id", UUID, nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("action", String(200), nullable=False),
    Column("aggregate_type", String(200), nullable=False),
    Column("aggregate_id", UUID, nullable=False),
    Column("aggregate_version", Integer, nullable=False),
    Column("policy_version", Integer, nullable=True),
    Column("details", JSON_DOCUMENT, nullable=False),
    Index("ix_audit_log_aggregate_id", "aggregate_id", "seq"),
    Index("ix_audit_log_actor_id", "actor_id", "seq"),
)

SQLITE_APPEND_ONLY_TRIGGERS: Final[tuple[str, ...]] = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
"""SQLite triggers that make ``audit_log`` append-only."""

POSTGRESQL_APPEND_ONLY_TRIGGERS: Final[tuple[str, ...]] = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'raise_exception'; END $$",
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)
"""PostgreSQL trigger function and triggers that make ``audit_log`` append-only (unqualified names:
they land in the first schema of ``search_path``)."""

for _statement in SQLITE_APPEND_ONLY_TRIGGERS:
    event.listen(audit_log, "after_create", DDL(_statement).execute_if(dialect="sqlite"))  # type: ignore[no-untyped-call]
for _statement in POSTGRESQL_APPEND_ONLY_TRIGGERS:
    event.listen(audit_log, "after_create", DDL(_statement).execute_if(dialect="postgresql"))  # type: ignore[no-untyped-call]

_a = audit_log.c


def _entry(row: AnyRow) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        event_id=row.event_id,
        occurred_at=row.occurred_at,
        actor_id=row.actor_id,
        action=row.action,
        aggregate_type=row.aggregate_type,
        aggregate_id=row.aggregate_id,
        aggregate_version=row.aggregate_version,
        policy_version=row.policy_version,
        details=row.details,
    )


_AUDIT_COLUMNS: Final = (
    "event_id",
    "occurred_at",
    "actor_id",
    "action",
    "aggregate_type",
    "aggregate_id",
    "aggregate_version",
    "policy_version",
    "details",
)


class SqlAuditLog:
    """
    The :class:`~eshop_core.storage.ports.AuditLog` of the SQL backend.

    Args:
        uow: The unit of work it runs in.
    """

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def append(self, envelopes: Sequence[EventEnvelope]) -> None:
        """Append one entry per envelope."""
        if not envelopes:
            return
        self._uow.insert_tuples(
            audit_log,
            _AUDIT_COLUMNS,
            [
                (
                    env.id,
                    env.occurred_at,
                    env.actor_id,
                    env.type,
                    env.aggregate_type,
                    env.aggregate_id,
                    env.aggregate_version,
                    env.policy_version,
                    env.payload,
                )
                for env in envelopes
            ],
        )

    def entries(
        self,
        *,
        aggregate_id: uuid.UUID | None = None,
        actor_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[AuditEntry]:
        """Return entries in log order, optionally of one aggregate or one actor."""
        check_limit(limit)
        after = decode_seq_cursor(cursor) if cursor is not None else 0
        statement = select(audit_log).where(_a.seq > after)
        if aggregate_id is not None:
            statement = statement.where(_a.aggregate_id == aggregate_id)
        if actor_id is not None:
            statement = statement.where(_a.actor_id == actor_id)
        rows = self._uow.rows(statement.order_by(_a.seq).limit(limit + 1))
        found = [_entry(row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(tuple(found), encode_seq_cursor(found[-1].seq) if more else None)
