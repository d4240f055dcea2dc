"""
The :class:`OrderBook` named port: the look-ups order ingestion and audit need, a batch at a time.

Ingesting a thousand channel orders must not cost a thousand queries per
question. The port answers, for a whole batch at once:

- which (channel, external id) keys exist already, with their id, revision and state;
- which recent orders share a buyer or consignee (by blind index) and the items
  (by :func:`~eshop_core.domain.orders.items_key`) — possible duplicates;
- the order totals per buyer and for the shop, for the abnormal-amount rule.

Buyers and consignees are matched by blind index only (see
:mod:`eshop_core.personal_data`): the port never sees their values. The SQL
implementation reads the ``orders`` table; the memory one keeps its own
indexes, which :meth:`OrderBook.note` updates whenever the service stores an
order. Orders are unique per (channel, external id) in every backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from eshop_core.domain.orders import Order, OrderState
from eshop_core.money import Money
from eshop_core.personal_data import blind_index_values

__all__ = ["KnownOrder", "Lookalike", "MemoryOrderBook", "OrderBook", "OrderTotals"]


@attrs.frozen(kw_only=True)
class KnownOrder:
    """An order already in the shop: its id, revision and state."""

    id: uuid.UUID
    revision: datetime
    state: OrderState


@attrs.frozen(kw_only=True)
class Lookalike:
    """
    A stored order matching a batch's contacts and items.

    Attributes:
        id: Its id.
        channel: Its channel.
        external_id: Its channel id.
        items_key: Its canonical items.
        phone_index: The blind index of its consignee phone.
        buyer_index: The blind index of its buyer (``None`` without one).
        placed_at: When it was placed.
        state: Its state.
    """

    id: uuid.UUID
    channel: str
    external_id: str
    items_key: str
    phone_index: str | None
    buyer_index: str | None
    placed_at: datetime
    state: OrderState


@attrs.frozen(kw_only=True)
class OrderTotals:
    """
    Order counts and totals in one currency, for averages.

    Attributes:
        per_buyer: ``{buyer index: (orders, sum of totals)}``.
        shop: ``(orders, sum of totals)`` over the whole shop.
    """

    per_buyer: dict[str, tuple[int, Money]]
    shop: tuple[int, Money]


@runtime_checkable
class OrderBook(Protocol):
    """Batch look-ups over stored orders (see the module documentation)."""

    def known(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], KnownOrder]:
        """Return the stored orders among ``keys`` (``(channel, external_id)``)."""
        ...

    def lookalikes(
        self,
        *,
        phone_indexes: Sequence[str],
        buyer_indexes: Sequence[str],
        items_keys: Sequence[str],
        since: datetime,
    ) -> list[Lookalike]:
        """Return orders placed at or after ``since`` with one of ``items_keys`` and one of the contacts."""
        ...

    def totals(self, *, buyer_indexes: Sequence[str], currency: str) -> OrderTotals:
        """Return the counts and totals of orders not cancelled, per buyer and shop-wide, in ``currency``."""
        ...

    def note(self, orders: Sequence[Order]) -> None:
        """Tell the book about orders added or changed in this unit of work (before commit)."""
        ...


@attrs.frozen
class _Entry:
    id: uuid.UUID
    channel: str
    external_id: str
    revision: datetime
    state: OrderState
    items_key: str
    phone_index: str | None
    buyer_index: str | None
    placed_at: datetime
    total: Money


class MemoryOrderBook:
    """The memory backend's :class:`OrderBook`: indexes kept next to the stored orders."""

    def __init__(self, uow: Any) -> None:
        self._uow = uow
        self._by_key: dict[tuple[str, str], _Entry] = uow.table("order_book_keys")
        self._by_phone: dict[str, dict[uuid.UUID, None]] = uow.table("order_book_phones")
        self._by_buyer: dict[str, dict[uuid.UUID, None]] = uow.table("order_book_buyers")
        self._by_id: dict[uuid.UUID, _Entry] = uow.table("order_book_ids")
        self._shop_totals: dict[str, tuple[int, Money]] = uow.table("order_book_totals")

    def _current(self, entry: _Entry) -> _Entry:
        """The entry with the blind indexes the stored order has now (personal data may have been erased)."""
        stored = self._uow.database.aggregates.get(Order, {}).get(entry.id)
        if stored is None:
            return entry  # added in this unit of work: the entry is current
        blind = stored.blind
        phone, buyer = blind.get("consignee_phone"), blind.get("buyer")
        if phone == entry.phone_index and buyer == entry.buyer_index:
            return entry
        return attrs.evolve(entry, phone_index=phone, buyer_index=buyer)

    def known(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], KnownOrder]:
        """Look the keys up."""
        found = {}
        for key in keys:
            entry = self._by_key.get(key)
            if entry is not None:
                found[key] = KnownOrder(id=entry.id, revision=entry.revision, state=entry.state)
        return found

    def lookalikes(
        self,
        *,
        phone_indexes: Sequence[str],
        buyer_indexes: Sequence[str],
        items_keys: Sequence[str],
        since: datetime,
    ) -> list[Lookalike]:
        """Match contacts and items."""
        ids: dict[uuid.UUID, None] = {}
        for index in phone_indexes:
            ids.update(self._by_phone.get(index, {}))
        for index in buyer_indexes:
            ids.update(self._by_buyer.get(index, {}))
        wanted = set(items_keys)
        phones, buyers = set(phone_indexes), set(buyer_indexes)
        out = []
        for order_id in ids:
            e = self._current(self._by_id[order_id])
            if e.phone_index not in phones and e.buyer_index not in buyers:
                continue  # erased since it was indexed
            if e.items_key in wanted and e.placed_at >= since:
                out.append(
                    Lookalike(
                        id=e.id,
                        channel=e.channel,
                        external_id=e.external_id,
                        items_key=e.items_key,
                        phone_index=e.phone_index,
                        buyer_index=e.buyer_index,
                        placed_at=e.placed_at,
                        state=e.state,
                    )
                )
        return out

    def totals(self, *, buyer_indexes: Sequence[str], currency: str) -> OrderTotals:
        """The shop's running totals, and the named buyers' orders summed (erased ones left out)."""
        zero = Money.zero(currency)
        per_buyer: dict[str, tuple[int, Money]] = {}
        for index in set(buyer_indexes):
            for order_id in self._by_buyer.get(index, {}):
                e = self._current(self._by_id[order_id])
                if e.state is OrderState.CANCELLED or e.total.currency != currency or e.buyer_index != index:
                    continue
                n, s = per_buyer.get(index, (0, zero))
                per_buyer[index] = (n + 1, s + e.total)
        return OrderTotals(per_buyer=per_buyer, shop=self._shop_totals.get(currency, (0, zero)))

    def _count(self, entry: _Entry, sign: int) -> None:
        """Add (``sign`` 1) or take back (-1) ``entry`` in the shop's running totals."""
        if entry.state is OrderState.CANCELLED:
            return
        currency = entry.total.currency
        n, s = self._shop_totals.get(currency, (0, Money.zero(currency)))
        amount = entry.total if sign > 0 else -entry.total
        self._uow.put(self._shop_totals, currency, (n + sign, s + amount))

    def note(self, orders: Sequence[Order]) -> None:
        """Index the orders."""
        for order in orders:
            indexes = blind_index_values(self._uow.index_key, order)
            entry = _Entry(
                id=order.id,
                channel=order.channel,
                external_id=order.external_id,
                revision=order.revision,
                state=order.state,
                items_key=order.items_key,
                phone_index=indexes.get("consignee_phone"),
                buyer_index=indexes.get("buyer"),
                placed_at=order.placed_at,
                total=order.total,
            )
            old = self._by_id.get(order.id)
            if old is not None:
                self._unlink(old)
                self._count(old, -1)
            self._count(entry, 1)
            self._uow.put(self._by_id, order.id, entry)
            self._uow.put(self._by_key, (order.channel, order.external_id), entry)
            for table, index in ((self._by_phone, entry.phone_index), (self._by_buyer, entry.buyer_index)):
                if index is not None:
                    self._uow.put(table, index, {**table.get(index, {}), order.id: None})

    def _unlink(self, old: _Entry) -> None:
        for table, index in ((self._by_phone, old.phone_index), (self._by_buyer, old.buyer_index)):
            if index is not None and index in table:
                remaining = {k: None for k in table[index] if k != old.id}
                self._uow.put(table, index, remaining)
