"""
The SQL :class:`~eshop_core.testing.example.WidgetStock`: one atomic statement per act.

``take`` is a conditional ``UPDATE ... WHERE level >= :quantity``; ``receive``
an upsert (``INSERT ... ON CONFLICT DO UPDATE``). Nothing is loaded, changed
and saved, so concurrent units of work can never oversell.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from sqlalchemy import bindparam, select

from eshop_adapters.storage.mappings.testkit import testkit_widget_stock
from eshop_adapters.storage.sql import SqlUnitOfWork, dialect_insert
from eshop_core.errors import InsufficientStockError
from eshop_core.testing.example import check_quantity

__all__ = ["SqlWidgetStock"]

_s = testkit_widget_stock.c

_TAKE: Final = (
    testkit_widget_stock.update()
    .where(_s.widget_id == bindparam("b_widget_id"), _s.level >= bindparam("b_quantity"))
    .values(level=_s.level - bindparam("b_quantity"))
    .returning(_s.level)
)
_LEVEL: Final = select(_s.level).where(_s.widget_id == bindparam("widget_id"))
_RECEIVE: dict[str, Any] = {}


def _receive_statement(dialect_name: str) -> Any:
    insert = dialect_insert(dialect_name, testkit_widget_stock)
    return insert.on_conflict_do_update(
        index_elements=[_s.widget_id], set_={"level": _s.level + insert.excluded.level}
    ).returning(_s.level)


class SqlWidgetStock:
    """
    The SQL backend's :class:`~eshop_core.testing.example.WidgetStock`.

    Args:
        uow: The unit of work it runs in.
    """

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def receive(self, widget_id: uuid.UUID, quantity: int) -> int:
        """Add ``quantity`` and return the new level."""
        quantity = check_quantity(quantity)
        dialect = self._uow.dialect_name
        statement = _RECEIVE.get(dialect)
        if statement is None:
            statement = _RECEIVE[dialect] = _receive_statement(dialect)
        return int(self._uow.scalar(statement, {"widget_id": widget_id, "level": quantity}))

    def take(self, widget_id: uuid.UUID, quantity: int) -> int:
        """Remove ``quantity`` if available and return the new level."""
        quantity = check_quantity(quantity)
        level = self._uow.scalar(_TAKE, {"b_widget_id": widget_id, "b_quantity": quantity})
        if level is None:
            raise InsufficientStockError(str(widget_id), "default", quantity, self.level(widget_id))
        return int(level)

    def level(self, widget_id: uuid.UUID) -> int:
        """Return the current level (0 if never stocked)."""
        level = self._uow.scalar(_LEVEL, {"widget_id": widget_id})
        return 0 if level is None else int(level)
