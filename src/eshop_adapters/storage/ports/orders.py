"""
The SQL :class:`~eshop_core.storage.order_ports.OrderBook`: batch look-ups on the ``orders`` table.

The table is the index, so :meth:`SqlOrderBook.note` does nothing. Each
question is one statement for the whole batch:

* ``known``: ``(channel, external_id) IN (...)`` (a row-value IN, served by the
  unique index on the key);
* ``lookalikes``: ``placed_at >= :since AND items_hash IN (...) AND
  (consignee_phone_bidx IN (...) OR buyer_bidx IN (...))``; the exact items
  key is compared on the rows found (``items_hash`` is its SHA-256);
* ``totals``: ``COUNT`` and ``SUM(total_minor)`` of the orders not cancelled
  in the currency, grouped per ``buyer_bidx IN (...)``, and shop-wide, in one
  ``UNION ALL``.

Orders this unit of work added are queued (the backend writes new aggregates
in batches) and written before the next statement runs, so every look-up
sees them, as the memory book does. Buyers and consignees are matched by
blind index only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import String, and_, func, literal, or_, select, tuple_, union_all
from sqlalchemy.sql.elements import ColumnElement

from eshop_adapters.storage.mappings.orders import items_hash, orders
from eshop_adapters.storage.sql import SqlUnitOfWork
from eshop_core.domain.orders import Order, OrderState
from eshop_core.money import Money
from eshop_core.storage.order_ports import KnownOrder, Lookalike, OrderTotals

__all__ = ["SqlOrderBook"]

_o = orders.c
_CANCELLED: Final = OrderState.CANCELLED.value
_PER_BUYER: Final = "buyer"
_SHOP: Final = "shop"


def _int(value: Any) -> int:
    """A count or sum as an int (PostgreSQL sums ``bigint`` as ``numeric``; no rows give ``NULL``)."""
    return 0 if value is None else int(value)


class SqlOrderBook:
    """
    The SQL backend's :class:`~eshop_core.storage.order_ports.OrderBook`.

    Args:
        uow: The unit of work it runs in.
    """

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def known(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], KnownOrder]:
        """Return the stored orders among ``keys`` (``(channel, external_id)``), in one query."""
        wanted = sorted({(channel, external_id) for channel, external_id in keys})
        if not wanted:
            return {}
        statement = select(_o.channel, _o.external_id, _o.id, _o.revision, _o.state).where(
            tuple_(_o.channel, _o.external_id).in_(wanted)
        )
        return {
            (row.channel, row.external_id): KnownOrder(
                id=row.id, revision=row.revision, state=OrderState(row.state)
            )
            for row in self._uow.rows(statement)
        }

    def lookalikes(
        self,
        *,
        phone_indexes: Sequence[str],
        buyer_indexes: Sequence[str],
        items_keys: Sequence[str],
        since: datetime,
    ) -> list[Lookalike]:
        """Return orders placed at or after ``since`` with one of ``items_keys`` and one of the contacts."""
        wanted = set(items_keys)
        contacts: list[ColumnElement[bool]] = []
        if phone_indexes:
            contacts.append(_o.consignee_phone_bidx.in_(sorted(set(phone_indexes))))
        if buyer_indexes:
            contacts.append(_o.buyer_bidx.in_(sorted(set(buyer_indexes))))
        if not wanted or not contacts:
            return []
        statement = (
            select(
                _o.id,
                _o.channel,
                _o.external_id,
                _o.items_key,
                _o.consignee_phone_bidx,
                _o.buyer_bidx,
                _o.placed_at,
                _o.state,
            )
            .where(
                _o.placed_at >= since,
                _o.items_hash.in_(sorted({items_hash(key) for key in wanted})),
                or_(*contacts),
            )
            .order_by(_o.placed_at, _o.id)
        )
        return [
            Lookalike(
                id=row.id,
                channel=row.channel,
                external_id=row.external_id,
                items_key=row.items_key,
                phone_index=row.consignee_phone_bidx,
                buyer_index=row.buyer_bidx,
                placed_at=row.placed_at,
                state=OrderState(row.state),
            )
            for row in self._uow.rows(statement)
            if row.items_key in wanted  # the hash matched; the key itself must too
        ]

    def totals(self, *, buyer_indexes: Sequence[str], currency: str) -> OrderTotals:
        """Return the counts and totals of orders not cancelled, per buyer and shop-wide, in ``currency``."""
        zero = Money.zero(currency)  # refuses an unknown currency, as the memory book does
        counted = and_(_o.total_currency == currency, _o.state != _CANCELLED)
        shop = select(
            literal(_SHOP).label("part"),
            literal(None, String(64)).label("buyer_index"),
            func.count().label("orders"),
            func.sum(_o.total_minor).label("minor"),
        ).where(counted)
        statement: Any = shop
        buyers = sorted(set(buyer_indexes))
        if buyers:
            per_buyer = (
                select(
                    literal(_PER_BUYER).label("part"),
                    _o.buyer_bidx.label("buyer_index"),
                    func.count().label("orders"),
                    func.sum(_o.total_minor).label("minor"),
                )
                .where(counted, _o.buyer_bidx.in_(buyers))
                .group_by(_o.buyer_bidx)
            )
            statement = union_all(shop, per_buyer)
        per: dict[str, tuple[int, Money]] = {}
        whole = (0, zero)
        for row in self._uow.rows(statement):
            count = _int(row.orders)
            total = Money.from_minor_units(_int(row.minor), currency)
            if row.part == _SHOP:
                whole = (count, total)
            elif count:
                per[row.buyer_index] = (count, total)
        return OrderTotals(per_buyer=per, shop=whole)

    def note(self, orders: Sequence[Order]) -> None:
        """Do nothing: the ``orders`` table is the index, and the service saves the orders it notes."""
