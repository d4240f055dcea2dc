"""
The SQL :class:`~eshop_core.storage.personal_ports.PersonalDataStore`.

It works on every aggregate with a registered mapping
(:data:`~eshop_adapters.storage.mappings.MAPPINGS`):

* the root table's personal columns are the mapping's personal fields, bound
  to the row by the aggregate's id;
* a child table's personal columns are those declared with
  ``Column(..., info={"pii": True})``, bound to the row by
  ``"<parent id>/<position>"`` (:func:`child_row_ref`).

Erasure finds the subject through the blind-index columns only (no value is
decrypted to search), overwrites the matching rows' personal values with the
encrypted erased marker, empties their blind indexes and bumps the root's
``version``. Re-encryption selects rows holding a value whose prefix is not
the active key's (``v1.<key_id>.``), so each batch is one indexed-free scan
that shrinks as it goes; every update is guarded by the old ciphertexts, so a
row changed meanwhile by another unit of work is left for the next batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
from sqlalchemy import Column, Table, and_, bindparam, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from eshop_adapters.storage.crypto import stored_prefix
from eshop_adapters.storage.mapping import AggregateMapping, blind_column_name
from eshop_adapters.storage.mappings import MAPPINGS
from eshop_adapters.storage.personal import child_row_ref, decode_personal, encode_personal
from eshop_adapters.storage.sql import AnyRow, SqlUnitOfWork
from eshop_core.domain import personal_fields
from eshop_core.errors import ConcurrencyError, InvalidInputError, KeyringError
from eshop_core.personal_data import PiiKind, blind_index, kind_of
from eshop_core.storage.personal_ports import ERASED_MARKER, ErasedAggregate, KeyUsage, ReindexBatch
from eshop_core.storage.unit_of_work import check_limit

__all__ = ["SqlPersonalDataStore", "child_row_ref", "personal_tables"]  # child_row_ref re-exported

_KEY_BYTES: Final = 32


@attrs.frozen
class _PersonalTable:
    """One table holding personal columns, and how its rows are identified."""

    mapping: AggregateMapping[Any]
    table: Table
    personal: tuple[str, ...]
    owner: str  # the column holding the aggregate's id
    position: str | None  # child tables: the position column

    @property
    def is_root(self) -> bool:
        return self.position is None

    def row_ref(self, row: Mapping[Any, Any]) -> uuid.UUID | str:
        if self.position is None:
            return row[self.owner]  # type: ignore[no-any-return]
        return child_row_ref(row[self.owner], row[self.position])

    def key_columns(self) -> list[Column[Any]]:
        names = [self.owner] if self.position is None else [self.owner, self.position]
        return [self.table.c[name] for name in names]


def personal_tables() -> list[tuple[AggregateMapping[Any], list[_PersonalTable]]]:
    """Return, per registered mapping, the tables holding its personal columns (root first)."""
    out: list[tuple[AggregateMapping[Any], list[_PersonalTable]]] = []
    seen: set[str] = set()
    for mapping in sorted(MAPPINGS.values(), key=lambda m: m.table.name):
        tables: list[_PersonalTable] = []
        if mapping.personal and mapping.table.name not in seen:
            tables.append(_PersonalTable(mapping, mapping.table, mapping.personal, "id", None))
        for child in mapping.children:
            names = tuple(c.name for c in child.table.columns if c.info.get("pii", False))
            if names and child.table.name not in seen:
                tables.append(
                    _PersonalTable(mapping, child.table, names, child.parent_column, child.position_column)
                )
        seen.update(t.table.name for t in tables)
        seen.add(mapping.table.name)
        out.append((mapping, tables))
    return out


def _guarded_update(spec: _PersonalTable) -> Any:
    """``UPDATE`` one row's personal columns if they still hold what was read."""
    table = spec.table
    conditions = [column == bindparam(f"k_{column.name}") for column in spec.key_columns()]
    conditions += [table.c[name].is_not_distinct_from(bindparam(f"o_{name}")) for name in spec.personal]
    values: dict[str, Any] = {name: bindparam(f"n_{name}") for name in spec.personal}
    return table.update().where(and_(*conditions)).values(values)


class SqlPersonalDataStore:
    """
    The SQL backend's :class:`~eshop_core.storage.personal_ports.PersonalDataStore`.

    Args:
        uow: The unit of work it runs in.
    """

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._keyring = uow.keyring

    # -- erasure --------------------------------------------------------------

    def erase_subject(self, subject: Mapping[PiiKind, str]) -> list[ErasedAggregate]:
        """Overwrite every personal value of each aggregate matching ``subject``; bump its version."""
        wanted = {kind: blind_index(self._uow.index_key, value, kind) for kind, value in subject.items()}
        erased: list[ErasedAggregate] = []
        for mapping, tables in personal_tables():
            roots = self._matching(mapping, wanted)
            if not roots:
                continue
            fields: dict[uuid.UUID, list[str]] = {row.id: [] for row in roots}
            for spec in tables:
                if spec.is_root:
                    self._erase_roots(spec, roots, fields)
                else:
                    self._erase_children(spec, list(fields), fields)
            erased.extend(
                ErasedAggregate(
                    aggregate_type=mapping.name,
                    aggregate_id=row.id,
                    version=row.version + 1,
                    fields=tuple(fields[row.id]),
                )
                for row in roots
            )
        return erased

    def _matching(self, mapping: AggregateMapping[Any], wanted: Mapping[PiiKind, str]) -> Sequence[AnyRow]:
        """Return the root rows (id, version, personal columns) whose blind indexes match ``wanted``."""
        conditions: list[ColumnElement[bool]] = [
            mapping.blind_column(field.name) == wanted[kind_of(field)]
            for field in personal_fields(mapping.aggregate_type)
            if field.name in mapping.blind and kind_of(field) in wanted
        ]
        if not conditions:
            return ()
        table = mapping.table
        columns = [table.c.id, table.c.version, *(table.c[name] for name in mapping.personal)]
        return self._uow.rows(select(*columns).where(or_(*conditions)).order_by(table.c.id))

    def _erase_roots(
        self, spec: _PersonalTable, rows: Sequence[AnyRow], fields: dict[uuid.UUID, list[str]]
    ) -> None:
        mapping, table = spec.mapping, spec.table
        statement = (
            table.update()
            .where(table.c.id == bindparam("k_id"), table.c.version == bindparam("k_version"))
            .values(
                {
                    "version": bindparam("n_version"),
                    **{name: bindparam(f"n_{name}") for name in spec.personal},
                    **dict.fromkeys(blind_column_name(name) for name in mapping.blind),
                }
            )
        )
        for row in rows:
            values = row._mapping
            params: dict[str, Any] = {"k_id": row.id, "k_version": row.version, "n_version": row.version + 1}
            for name in spec.personal:
                params[f"n_{name}"] = None
                if values[name] is not None:
                    params[f"n_{name}"] = self._erased(table.name, row.id, name)
                    fields[row.id].append(name)
            if self._uow.execute(statement, params).rowcount != 1:
                raise ConcurrencyError(mapping.name, row.id, row.version)

    def _erase_children(
        self, spec: _PersonalTable, ids: list[uuid.UUID], fields: dict[uuid.UUID, list[str]]
    ) -> None:
        table = spec.table
        statement = _guarded_update(spec)
        columns = [*spec.key_columns(), *(table.c[name] for name in spec.personal)]
        rows = self._uow.rows(
            select(*columns).where(table.c[spec.owner].in_(ids)).order_by(*spec.key_columns())
        )
        for row in rows:
            values = row._mapping
            ref = spec.row_ref(values)
            params = self._key_params(spec, values)
            erased = fields[values[spec.owner]]
            for name in spec.personal:
                params[f"o_{name}"] = values[name]
                params[f"n_{name}"] = None
                if values[name] is not None:
                    params[f"n_{name}"] = self._erased(table.name, ref, name)
                    if f"{table.name}.{name}" not in erased:
                        erased.append(f"{table.name}.{name}")
            if self._uow.execute(statement, params).rowcount != 1:
                raise ConcurrencyError(spec.mapping.name, values[spec.owner], -1)

    def _erased(self, table: str, ref: uuid.UUID | str, name: str) -> str | None:
        return encode_personal(ERASED_MARKER, table, ref, name, keyring=self._keyring)

    @staticmethod
    def _key_params(spec: _PersonalTable, values: Mapping[Any, Any]) -> dict[str, Any]:
        return {f"k_{column.name}": values[column.name] for column in spec.key_columns()}

    # -- re-encryption ----------------------------------------------------------

    def reencrypt(self, *, limit: int) -> int:
        """Re-encrypt up to ``limit`` rows holding values not under the active key; return how many."""
        check_limit(limit)
        prefix = stored_prefix(self._keyring.active_key_id)
        done = 0
        for _mapping, tables in personal_tables():
            for spec in tables:
                if done >= limit:
                    return done
                done += self._reencrypt_table(spec, prefix, limit - done)
        return done

    def _reencrypt_table(self, spec: _PersonalTable, prefix: str, limit: int) -> int:
        table = spec.table
        stale = or_(
            *(
                and_(table.c[name].is_not(None), func.substr(table.c[name], 1, len(prefix)) != prefix)
                for name in spec.personal
            )
        )
        columns = [*spec.key_columns(), *(table.c[name] for name in spec.personal)]
        rows = self._uow.rows(select(*columns).where(stale).order_by(*spec.key_columns()).limit(limit))
        if not rows:
            return 0
        statement = _guarded_update(spec)
        done = 0
        for row in rows:
            values = row._mapping
            ref = spec.row_ref(values)
            params = self._key_params(spec, values)
            for name in spec.personal:
                old = values[name]
                params[f"o_{name}"] = old
                if old is None or old.startswith(prefix):
                    params[f"n_{name}"] = old
                else:
                    plain = decode_personal(old, table.name, ref, name, keyring=self._keyring)
                    params[f"n_{name}"] = encode_personal(plain, table.name, ref, name, keyring=self._keyring)
            done += self._uow.execute(statement, params).rowcount
        return done

    def key_usage(self) -> KeyUsage:
        """Count stored encrypted values per key id of the keyring; the rest are unreadable."""
        prefixes: dict[str, str] = {}
        for key_id in sorted(self._keyring.data_keys):
            try:
                prefixes[key_id] = stored_prefix(key_id)
            except KeyringError:  # a key id no value can name
                continue
        by_key = dict.fromkeys(prefixes, 0)
        unreadable = 0
        for _mapping, tables in personal_tables():
            for spec in tables:
                for name in spec.personal:
                    column = spec.table.c[name]
                    counts = [func.count(column)] + [
                        func.count(column).filter(func.substr(column, 1, len(prefix)) == prefix)
                        for prefix in prefixes.values()
                    ]
                    row = self._uow.first(select(*counts).select_from(spec.table))
                    total, *per_key = (int(value or 0) for value in (row or ()))
                    for key_id, count in zip(prefixes, per_key, strict=True):
                        by_key[key_id] += count
                    unreadable += total - sum(per_key)
        return KeyUsage(by_key={k: n for k, n in by_key.items() if n}, unreadable=unreadable)

    # -- re-indexing ------------------------------------------------------------

    def reindex(self, index_key: bytes, *, limit: int, cursor: str | None = None) -> ReindexBatch:
        """Recompute the blind indexes of up to ``limit`` root rows under ``index_key``."""
        check_limit(limit)
        if not isinstance(index_key, bytes) or len(index_key) != _KEY_BYTES:
            raise KeyringError(f"the new index key must be {_KEY_BYTES} bytes")
        indexed = [mapping for mapping, _ in personal_tables() if mapping.blind]
        names = [mapping.table.name for mapping in indexed]
        start, after = self._decode_cursor(cursor, names)
        for position in range(start, len(indexed)):
            mapping = indexed[position]
            table = mapping.table
            columns = [
                table.c.id,
                *(table.c[name] for name in mapping.blind),
                *(mapping.blind_column(name) for name in mapping.blind),
            ]
            statement = select(*columns)
            if position == start and after is not None:
                statement = statement.where(table.c.id > after)
            rows = self._uow.rows(statement.order_by(table.c.id).limit(limit))
            if not rows:
                continue
            self._reindex_rows(mapping, rows, index_key)
            if len(rows) == limit:
                return ReindexBatch(rows=len(rows), next_cursor=f"{table.name}:{rows[-1].id}")
            following = names[position + 1] if position + 1 < len(names) else None
            return ReindexBatch(rows=len(rows), next_cursor=None if following is None else f"{following}:")
        return ReindexBatch(rows=0, next_cursor=None)

    @staticmethod
    def _decode_cursor(cursor: str | None, names: list[str]) -> tuple[int, uuid.UUID | None]:
        if cursor is None:
            return 0, None
        bad = InvalidInputError("cursor", "not a cursor returned by a previous reindex batch")
        if not isinstance(cursor, str):
            raise bad
        table, _, last = cursor.rpartition(":")
        if table not in names:
            raise bad
        try:
            return names.index(table), uuid.UUID(last) if last else None
        except ValueError:
            raise bad from None

    def _reindex_rows(self, mapping: AggregateMapping[Any], rows: Sequence[AnyRow], index_key: bytes) -> None:
        table = mapping.table
        kinds = {f.name: kind_of(f) for f in personal_fields(mapping.aggregate_type)}
        statement = (
            table.update()
            .where(table.c.id == bindparam("k_id"))
            .values({blind_column_name(name): bindparam(f"n_{name}") for name in mapping.blind})
        )
        params: list[dict[str, Any]] = []
        for row in rows:
            values = row._mapping
            entry: dict[str, Any] = {"k_id": row.id}
            for name in mapping.blind:
                plain = decode_personal(values[name], table.name, row.id, name, keyring=self._keyring)
                # Erased values keep their empty index: they must never match anyone.
                erased = plain == ERASED_MARKER and values[blind_column_name(name)] is None
                entry[f"n_{name}"] = (
                    None if plain is None or erased else blind_index(index_key, plain, kinds[name])
                )
            params.append(entry)
        self._uow.execute(statement, params)
