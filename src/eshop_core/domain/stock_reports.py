"""
Stock turnover and slow-moving stock (INV-04), computed from ledger summaries.

Both reports are pure functions over
:class:`~eshop_core.storage.inventory_ports.MovementSummary` rows (one per SKU
and warehouse), which the ledger computes in the database.

- **Turnover** over a period is units shipped divided by the average of the
  opening and closing on-hand quantities; *days of cover* is closing stock
  divided by the average daily sales. A SKU with no stock on average has no
  turnover figure (``None``).
- **Slow movers** are SKUs with stock on hand whose last sale (or, never sold,
  whose first movement) is at least the policy's ``stock.slow_moving_days`` ago.

Example:
    >>> from datetime import datetime, timedelta, timezone
    >>> from eshop_core.domain.stock_reports import turnover
    >>> from eshop_core.domain.stock_reports import MovementSummary
    >>> end = datetime(2026, 4, 1, tzinfo=timezone.utc)
    >>> row = MovementSummary(sku="MUG-BLUE", warehouse="SH-01", on_hand=40, shipped=60,
    ...     on_hand_change=-20, on_hand_change_after=0, last_shipment_at=end, first_movement_at=None)
    >>> line, = turnover([row], since=end - timedelta(days=30), until=end)
    >>> line.opening, line.closing, line.turnover, line.days_of_cover
    (60, 40, Decimal('1.20'), Decimal('20.0'))
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import attrs

__all__ = ["MovementSummary", "SlowMover", "TurnoverLine", "slow_movers", "turnover"]

_SECONDS_PER_DAY = Decimal(86400)


@attrs.frozen(kw_only=True)
class MovementSummary:
    """
    What moved for one SKU in one warehouse in a period (for turnover and slow-mover reports).

    Attributes:
        sku: The SKU.
        warehouse: The warehouse code.
        on_hand: On hand now.
        shipped: Units shipped (sold) in the period.
        on_hand_change: Net change of on hand in the period.
        on_hand_change_after: Net change of on hand after the period.
        last_shipment_at: The latest shipment before the period's end, if any.
        first_movement_at: The first movement ever, if any.
    """

    sku: str
    warehouse: str
    on_hand: int
    shipped: int
    on_hand_change: int
    on_hand_change_after: int
    last_shipment_at: datetime | None
    first_movement_at: datetime | None

    @property
    def closing(self) -> int:
        """On hand at the end of the period."""
        return self.on_hand - self.on_hand_change_after

    @property
    def opening(self) -> int:
        """On hand at the start of the period."""
        return self.closing - self.on_hand_change


@attrs.frozen(kw_only=True)
class TurnoverLine:
    """
    Turnover of one SKU in one warehouse over a period.

    Attributes:
        sku: The SKU.
        warehouse: The warehouse code.
        opening: On hand at the start.
        closing: On hand at the end.
        shipped: Units sold in the period.
        turnover: ``shipped / ((opening + closing) / 2)`` to two places; ``None`` with no stock.
        days_of_cover: Days the closing stock lasts at the period's sales rate, to one place;
            ``None`` with no sales.
    """

    sku: str
    warehouse: str
    opening: int
    closing: int
    shipped: int
    turnover: Decimal | None
    days_of_cover: Decimal | None


@attrs.frozen(kw_only=True)
class SlowMover:
    """
    A SKU whose stock has not sold for the policy's number of days.

    Attributes:
        sku: The SKU.
        warehouse: The warehouse code.
        on_hand: Units on hand at the report's time.
        last_sale_at: The last shipment, ``None`` if never sold.
        idle_days: Whole days since the last sale (or the first movement, if never sold).
        policy_version: The policy whose ``stock.slow_moving_days`` applied.
    """

    sku: str
    warehouse: str
    on_hand: int
    last_sale_at: datetime | None
    idle_days: int
    policy_version: int


def turnover(
    summaries: Iterable[MovementSummary], *, since: datetime, until: datetime
) -> tuple[TurnoverLine, ...]:
    """Return a :class:`TurnoverLine` per summary, in SKU then warehouse order."""
    days = Decimal((until - since).total_seconds()) / _SECONDS_PER_DAY
    lines = []
    for row in summaries:
        average = Decimal(row.opening + row.closing) / 2
        rate = Decimal(row.shipped) / days if days else Decimal(0)
        lines.append(
            TurnoverLine(
                sku=row.sku,
                warehouse=row.warehouse,
                opening=row.opening,
                closing=row.closing,
                shipped=row.shipped,
                turnover=(Decimal(row.shipped) / average).quantize(Decimal("0.01")) if average > 0 else None,
                days_of_cover=(Decimal(row.closing) / rate).quantize(Decimal("0.1")) if rate > 0 else None,
            )
        )
    return tuple(sorted(lines, key=lambda x: (x.sku, x.warehouse)))


def slow_movers(
    summaries: Iterable[MovementSummary], *, at: datetime, days: int, policy_version: int
) -> tuple[SlowMover, ...]:
    """Return the slow movers among ``summaries`` as of ``at``, longest idle first."""
    found = []
    for row in summaries:
        if row.closing <= 0:  # the summary's period ends at ``at``: closing is the stock then
            continue
        since = row.last_shipment_at or row.first_movement_at
        if since is None:
            continue
        idle = (at - since).days
        if idle >= days:
            found.append(
                SlowMover(
                    sku=row.sku,
                    warehouse=row.warehouse,
                    on_hand=row.closing,
                    last_sale_at=row.last_shipment_at,
                    idle_days=idle,
                    policy_version=policy_version,
                )
            )
    return tuple(sorted(found, key=lambda x: (-x.idle_days, x.sku, x.warehouse)))
