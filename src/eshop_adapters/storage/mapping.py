"""
How an aggregate maps onto SQL tables: :class:`AggregateMapping`.

A mapping declares the aggregate's root table (``id``, ``version`` and its
fields) and optional child tables on the shared
:data:`~eshop_adapters.storage.metadata.METADATA`, and converts between the
aggregate and rows. The base class handles what every mapping shares:

* ``id`` and ``version`` columns (optimistic concurrency);
* personal fields (``metadata={"pii": True}``) are stored in a ``Text`` column
  through :func:`~eshop_adapters.storage.personal.encode_personal` /
  :func:`~eshop_adapters.storage.personal.decode_personal`, and each
  blind-indexed one also in an indexed ``<field>_bidx`` column holding its
  blind index;
* filterable fields are columns of the same name (indexed).

A subclass implements :meth:`AggregateMapping.dump` (the other columns) and
:meth:`AggregateMapping.load` (build the aggregate), using the helpers
:func:`money_columns`, :func:`money_values` and :func:`money_from`.

Example:
    A minimal mapping (see ``mappings/testkit.py`` for a complete one)::

        notes = Table(
            "notes", METADATA, id_column(), version_column(),
            Column("title", String(200), nullable=False, index=True),
            *personal_columns("author_phone", blind_index=True),
        )

        class NoteMapping(AggregateMapping[Note]):
            def dump(self, note):
                return {"title": note.title}

            def load(self, values, children):
                return Note(id=values["id"], version=values["version"],
                            title=values["title"], author_phone=values["author_phone"])
"""

from __future__ import annotations

import enum
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import attrs
from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text

from eshop_adapters.storage.personal import child_row_ref, decode_personal, encode_personal
from eshop_adapters.storage.types import CURRENCY, MINOR_UNITS, UUID
from eshop_core.domain import Aggregate, personal_fields
from eshop_core.domain._aggregate import filterable_fields
from eshop_core.errors import StorageError
from eshop_core.money import Money
from eshop_core.personal_data import blind_index_values

if TYPE_CHECKING:
    from eshop_core.keyring import Keyring

__all__ = [
    "BLIND_INDEX_SUFFIX",
    "AggregateMapping",
    "ChildTable",
    "blind_column_name",
    "child_parent_column",
    "id_column",
    "money_columns",
    "money_from",
    "money_values",
    "personal_columns",
    "version_column",
]

A = TypeVar("A", bound=Aggregate)

BLIND_INDEX_SUFFIX: Final = "_bidx"
BLIND_INDEX_LENGTH: Final = 64  # hex HMAC-SHA256

Rows = Mapping[str, Sequence[Mapping[Any, Any]]]
"""Child rows by child table name."""


def blind_column_name(field: str) -> str:
    """Return the name of the blind-index column of personal field ``field``."""
    return f"{field}{BLIND_INDEX_SUFFIX}"


def id_column() -> Column[uuid.UUID]:
    """Return the ``id`` primary-key column of a root table."""
    return Column("id", UUID, primary_key=True)


def version_column() -> Column[int]:
    """Return the ``version`` column (optimistic concurrency) of a root table."""
    return Column("version", Integer, nullable=False)


def personal_columns(field: str, *, blind_index: bool = False, nullable: bool = True) -> list[Column[Any]]:
    """
    Return the columns of personal field ``field``: its text and, if searchable, its blind index.

    Args:
        field: The aggregate field's name (also the column's).
        blind_index: Whether the field is marked ``blind_index`` (adds ``<field>_bidx``, indexed).
        nullable: Whether the field may be ``None``.
    """
    columns: list[Column[Any]] = [Column(field, Text, nullable=nullable)]
    if blind_index:
        columns.append(
            Column(blind_column_name(field), String(BLIND_INDEX_LENGTH), nullable=True, index=True)
        )
    return columns


def money_columns(field: str, *, nullable: bool = False) -> list[Column[Any]]:
    """Return the ``<field>_minor`` (whole minor units) and ``<field>_currency`` columns of a Money field."""
    return [
        Column(f"{field}_minor", MINOR_UNITS, nullable=nullable),
        Column(f"{field}_currency", CURRENCY, nullable=nullable),
    ]


def money_values(field: str, money: Money | None) -> dict[str, Any]:
    """
    Return the column values of a Money field for :func:`money_columns`.

    Raises:
        InvalidInputError: The amount is finer than the currency's minor unit.
    """
    if money is None:
        return {f"{field}_minor": None, f"{field}_currency": None}
    return {f"{field}_minor": money.to_minor_units(), f"{field}_currency": money.currency}


def money_from(values: Mapping[str, Any], field: str) -> Money | None:
    """Rebuild a Money field from its :func:`money_columns` values (``None`` when unset)."""
    units = values[f"{field}_minor"]
    currency = values[f"{field}_currency"]
    if units is None or currency is None:
        return None
    return Money.from_minor_units(int(units), currency)


def child_parent_column(parent: Table, name: str = "parent_id") -> Column[uuid.UUID]:
    """Return a child table's column referencing the root table's ``id`` (deleted with it)."""
    return Column(name, UUID, ForeignKey(parent.c.id, ondelete="CASCADE"), nullable=False, index=True)


@attrs.frozen
class ChildTable:
    """
    A child table of an aggregate (its lines, items...), rewritten with the root on every save.

    Attributes:
        table: The table (on the shared metadata).
        parent_column: Its column referencing the root's ``id``.
        position_column: Its integer column keeping the children's order.
    """

    table: Table
    parent_column: str = "parent_id"
    position_column: str = "position"


class AggregateMapping(ABC, Generic[A]):
    """
    Maps one aggregate type onto its root table and child tables.

    Args:
        aggregate_type: The aggregate class.
        table: Its root table: ``id``, ``version``, one column per personal field
            (plus ``<field>_bidx`` for blind-indexed ones) and one per filterable field.
        children: Its child tables, if any.

    Raises:
        StorageError: The table lacks a column the aggregate's marks require.
    """

    def __init__(self, aggregate_type: type[A], table: Table, *, children: Sequence[ChildTable] = ()) -> None:
        self.aggregate_type = aggregate_type
        self.table = table
        self.children = tuple(children)
        self.personal: tuple[str, ...] = tuple(f.name for f in personal_fields(aggregate_type))
        self.blind: tuple[str, ...] = tuple(
            f.name for f in personal_fields(aggregate_type) if f.metadata.get("blind_index", False)
        )
        self.filterable: tuple[str, ...] = tuple(
            f.name for f in filterable_fields(aggregate_type) if f.name not in self.blind
        )
        required = ["id", "version", *self.personal, *map(blind_column_name, self.blind), *self.filterable]
        missing = [name for name in required if name not in table.c]
        if missing:
            raise StorageError(
                f"mapping of {aggregate_type.__name__}: table {table.name} lacks columns {', '.join(missing)}"
            )
        self.child_personal: dict[str, tuple[str, ...]] = {
            child.table.name: tuple(c.name for c in child.table.columns if c.info.get("pii", False))
            for child in self.children
        }
        for child in self.children:
            for name in (child.parent_column, child.position_column):
                if name not in child.table.c:
                    raise StorageError(
                        f"mapping of {aggregate_type.__name__}: "
                        f"child table {child.table.name} lacks column {name}"
                    )

    @property
    def name(self) -> str:
        """The aggregate type's name."""
        return self.aggregate_type.__name__

    # -- what subclasses implement ------------------------------------------------

    @abstractmethod
    def dump(self, aggregate: A) -> dict[str, Any]:
        """Return the root row's values other than ``id``, ``version`` and personal fields."""

    @abstractmethod
    def load(self, values: Mapping[str, Any], children: Rows) -> A:
        """
        Build the aggregate from its root row and child rows.

        Args:
            values: The root row by column name, with ``id``, ``version`` and the
                personal fields decoded.
            children: Child rows by child table name, in position order.
        """

    def dump_children(self, aggregate: A) -> Rows:
        """
        Return the child rows by child table name (without parent and position columns).

        Return new dictionaries: the base class adds the parent and position keys to them.
        """
        return {}

    def filter_value(self, field: str, value: object) -> object:
        """Return the column value to compare a filter on ``field`` with (enums by value)."""
        return value.value if isinstance(value, enum.Enum) else value

    # -- used by the repository ---------------------------------------------------

    def to_row(self, aggregate: A, *, keyring: Keyring) -> dict[str, Any]:
        """Return the root row of ``aggregate``: personal fields encoded, blind indexes computed."""
        row = self.dump(aggregate)
        row["id"] = aggregate.id
        row["version"] = aggregate.version
        table_name = self.table.name
        row_text = str(aggregate.id)  # the associated data's row part, computed once per row
        for field in self.personal:
            row[field] = encode_personal(
                getattr(aggregate, field), table_name, row_text, field, keyring=keyring
            )
        if self.blind:
            for field, index in blind_index_values(keyring.index_key, aggregate).items():
                row[blind_column_name(field)] = index
        return row

    def to_child_rows(self, aggregate: A, *, keyring: Keyring) -> dict[str, list[dict[str, Any]]]:
        """
        Return the child rows of ``aggregate`` with parent id and position set.

        Columns marked ``info={"pii": True}`` are encrypted, bound to ``"<parent id>/<position>"``.
        """
        out: dict[str, list[dict[str, Any]]] = {}
        dumped = self.dump_children(aggregate)
        for child in self.children:
            personal = self.child_personal[child.table.name]
            table_name = child.table.name
            rows = []
            for position, values in enumerate(dumped.get(table_name, ())):
                row = values if type(values) is dict else dict(values)  # dump_children's rows are fresh
                row[child.parent_column] = aggregate.id
                row[child.position_column] = position
                if personal:
                    ref = child_row_ref(aggregate.id, position)
                    for name in personal:
                        row[name] = encode_personal(row.get(name), table_name, ref, name, keyring=keyring)
                rows.append(row)
            out[table_name] = rows
        return out

    def from_row(self, row: Mapping[Any, Any], children: Rows, *, keyring: Keyring) -> A:
        """Return the aggregate stored in ``row`` (and ``children``)."""
        values = dict(row)
        row_id = values["id"]
        table_name = self.table.name
        for field in self.personal:
            values[field] = decode_personal(values[field], table_name, row_id, field, keyring=keyring)
        return self.load(values, self._decode_children(children, keyring))

    def _decode_children(self, children: Rows, keyring: Keyring) -> Rows:
        decoded: dict[str, Sequence[Mapping[Any, Any]]] = dict(children)
        for child in self.children:
            personal = self.child_personal[child.table.name]
            rows = children.get(child.table.name)
            if not personal or not rows:
                continue
            out = []
            for row in rows:
                values = dict(row)
                ref = child_row_ref(values[child.parent_column], values[child.position_column])
                for name in personal:
                    values[name] = decode_personal(values[name], child.table.name, ref, name, keyring=keyring)
                out.append(values)
            decoded[child.table.name] = out
        return decoded

    def filter_column(self, field: str) -> Column[Any]:
        """Return the column a filter on plain field ``field`` compares."""
        return self.table.c[field]

    def blind_column(self, field: str) -> Column[Any]:
        """Return the blind-index column of personal field ``field``."""
        return self.table.c[blind_column_name(field)]
