"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

# --- calendar strategies ---
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

_CALENDAR_ZONES = (
    UTC,
    ZoneInfo("Asia/Shanghai"),
    ZoneInfo("America/New_York"),
    ZoneInfo("Europe/Berlin"),
    timezone(timedelta(hours=-3, minutes=-30)),
)


def aware_instants(
    min_value: datetime = datetime(2024, 1, 1),
    max_value: datetime = datetime(2026, 10, 31),
) -> st.SearchStrategy[datetime]:
    """
    Timezone-aware instants between naive wall-clock bounds, in assorted timezones.

    The default bounds keep a start plus a few hundred business hours inside years
    whose official CN holiday schedule is verified (no CalendarCoverageWarning).
    """
    return st.datetimes(min_value=min_value, max_value=max_value, timezones=st.sampled_from(_CALENDAR_ZONES))


def business_durations(max_hours: int = 200) -> st.SearchStrategy[timedelta]:
    """Non-negative durations of business time up to ``max_hours``, down to the microsecond."""
    return st.one_of(
        st.just(timedelta(0)),
        st.integers(min_value=1, max_value=max_hours * 60).map(lambda minutes: timedelta(minutes=minutes)),
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=max_hours)),
    )


# --- end calendar strategies ---


# --- money strategies ---
from decimal import Decimal  # noqa: E402 - each section of this shared file keeps its own imports

from hypothesis import strategies as st  # noqa: E402, F811
from iso4217 import Currency  # noqa: E402

from eshop_core.money import Money, is_known_currency, minor_digits  # noqa: E402

#: Every code Money accepts (ISO 4217 codes with a minor unit).
MONEY_CURRENCIES: tuple[str, ...] = tuple(
    sorted(str(ccy.value) for ccy in Currency if is_known_currency(str(ccy.value)))
)
# Drawn more often: the shop's own currency and the minor-unit edge cases (0, 3 and 4 digits).
_FAVOURITE_CURRENCIES = ("CNY", "USD", "JPY", "BHD", "KWD", "CLF")


def currencies() -> st.SearchStrategy[str]:
    """Currency codes Money accepts: common and unusual minor units often, every other code too."""
    return st.one_of(st.sampled_from(_FAVOURITE_CURRENCIES), st.sampled_from(MONEY_CURRENCIES))


@st.composite
def _money(draw: st.DrawFn, codes: st.SearchStrategy[str], max_units: int, extra_digits: int) -> Money:
    code = draw(codes)
    extra = draw(st.integers(min_value=0, max_value=extra_digits)) if extra_digits else 0
    bound = max_units * 10**extra
    units = draw(st.integers(min_value=-bound, max_value=bound))
    return Money(Decimal(units).scaleb(-(minor_digits(code) + extra)), code)


def money(
    currency: str | st.SearchStrategy[str] | None = None,
    *,
    max_units: int = 10**12,
    rounded: bool = True,
    extra_digits: int = 3,
) -> st.SearchStrategy[Money]:
    """
    Money values, positive, negative or zero, at most ``max_units`` minor units in size.

    Args:
        currency: A code, a strategy of codes, or None for :func:`currencies`.
        max_units: Bound on the absolute amount, in minor units.
        rounded: If true, amounts are whole minor units; if false, they may carry up to
            ``extra_digits`` digits below the minor unit (``12.345`` CNY).
        extra_digits: See ``rounded``.
    """
    if currency is None:
        codes = currencies()
    elif isinstance(currency, str):
        codes = st.just(currency)
    else:
        codes = currency
    return _money(codes, max_units, 0 if rounded else extra_digits)


def allocation_weights(max_size: int = 8) -> st.SearchStrategy[list[int | Decimal]]:
    """Lists of non-negative int or Decimal weights with at least one positive weight."""
    weight: st.SearchStrategy[int | Decimal] = st.one_of(
        st.integers(min_value=0, max_value=1_000),
        st.decimals(min_value=0, max_value=1_000, places=3, allow_nan=False, allow_infinity=False),
    )
    return st.lists(weight, min_size=1, max_size=max_size).filter(any)


# --- end money strategies ---
