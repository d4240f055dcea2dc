"""
The memory backend's :class:`~eshop_core.storage.personal_ports.PersonalDataStore`.

The memory backend keeps aggregates in clear (it is throwaway), so there is
nothing to re-encrypt or re-index: those acts do nothing. Erasure works as in
every backend: every stored aggregate type is searched by blind index, the
matching aggregates' personal fields are overwritten and their versions
bumped, undone on rollback like any change.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from eshop_core.domain._aggregate import personal_fields
from eshop_core.errors import KeyringError
from eshop_core.personal_data import PiiKind, blind_index, kind_of
from eshop_core.storage.memory import MemoryUnitOfWork
from eshop_core.storage.personal_ports import ERASED_MARKER, ErasedAggregate, KeyUsage, ReindexBatch
from eshop_core.storage.unit_of_work import check_limit

__all__ = ["MemoryPersonalDataStore"]


class MemoryPersonalDataStore:
    """
    :class:`~eshop_core.storage.personal_ports.PersonalDataStore` over the in-memory database.

    Args:
        uow: The unit of work it runs in.
    """

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def erase_subject(self, subject: Mapping[PiiKind, str]) -> list[ErasedAggregate]:
        """Overwrite every personal field of each aggregate matching ``subject``; bump its version."""
        wanted = {kind: blind_index(self._uow.index_key, value, kind) for kind, value in subject.items()}
        erased: list[ErasedAggregate] = []
        aggregates = self._uow.database.aggregates
        for aggregate_type in sorted(aggregates, key=lambda t: t.__name__):
            fields = personal_fields(aggregate_type)
            searchable = [
                (f.name, wanted[kind_of(f)])
                for f in fields
                if f.metadata.get("blind_index", False) and kind_of(f) in wanted
            ]
            if not searchable:
                continue
            rows = aggregates[aggregate_type]
            for key in sorted(rows):
                stored = rows[key]
                if not any(stored.blind.get(name) == index for name, index in searchable):
                    continue
                erased.append(self._erase(rows, key, stored, [f.name for f in fields]))
        return erased

    def _erase(
        self, rows: dict[uuid.UUID, Any], key: uuid.UUID, stored: Any, names: list[str]
    ) -> ErasedAggregate:
        snapshot = copy.deepcopy(stored.snapshot)
        overwritten = tuple(name for name in names if getattr(snapshot, name) is not None)
        for name in overwritten:
            # Storage-level overwrite: bypass validators a domain setter might run.
            object.__setattr__(snapshot, name, ERASED_MARKER)
        snapshot.version = stored.version + 1
        blind = dict.fromkeys(stored.blind)
        self._uow.put(
            rows, key, attrs.evolve(stored, version=snapshot.version, snapshot=snapshot, blind=blind)
        )
        return ErasedAggregate(
            aggregate_type=type(snapshot).__name__,
            aggregate_id=key,
            version=snapshot.version,
            fields=overwritten,
        )

    def reencrypt(self, *, limit: int) -> int:
        """Nothing is encrypted in memory: return 0."""
        check_limit(limit)
        return 0

    def key_usage(self) -> KeyUsage:
        """Nothing is encrypted in memory: no values under any key."""
        return KeyUsage()

    def reindex(self, index_key: bytes, *, limit: int, cursor: str | None = None) -> ReindexBatch:
        """The memory backend's blind indexes live and die with its throwaway keyring: nothing to do."""
        check_limit(limit)
        if not isinstance(index_key, bytes) or len(index_key) != 32:
            raise KeyringError("the new index key must be 32 bytes")
        return ReindexBatch(rows=0, next_cursor=None)
