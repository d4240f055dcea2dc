"""
Business calendars: working days, working hours and business-time arithmetic.

A :class:`BusinessCalendar` answers "is this a working day?", "when does work
resume?" and "when are *N* business minutes up?" for one shop location. Service
levels such as "answer enquiries within 30 minutes of working time" are computed
with it.

Which days are working days, in order of precedence:

1. An explicit :class:`DayOverride` for the day decides (overrides always win).
2. An official make-up workday (调休: a Saturday or Sunday that is a working
   day because the neighbouring holiday week borrowed it) is a working day.
3. Otherwise a day is a working day unless it falls on the calendar's weekend
   (Saturday and Sunday by default) or is a public holiday of the country (and
   subdivision).

Holidays and make-up workdays come from the ``holidays`` package (public-holiday
category; make-up workdays are the package's ``weekend_workdays``, derived from
the substitutions in each year's official schedule). Working hours are
wall-clock periods in the calendar's timezone, 09:00-12:00 and 13:30-18:00 by
default, or the hours of a day's override.

Arithmetic works on timezone-aware datetimes only and is done in UTC, so a span
across a daylight-saving change counts the real time that passed. Results are
returned in the calendar's timezone. Naive datetimes are refused with
:class:`~eshop_core.errors.InvalidInputError`.

Coverage: China publishes its holiday schedule, with its make-up workdays, one
year at a time. A calendar knows the years whose official schedule it has
(:attr:`BusinessCalendar.verified_from` to :attr:`BusinessCalendar.verified_through`,
plus years marked verified by :meth:`BusinessCalendar.with_overrides`). A result
that touches a day outside them is *provisional*: it is still computed from the
package's rules (weekends and the holidays the package can compute, without
make-up workdays), but a :class:`~eshop_core.errors.CalendarCoverageWarning` is
issued, once per calendar and year, and :meth:`BusinessCalendar.is_provisional`
reports it.

Example:
    >>> from datetime import datetime, timedelta
    >>> from zoneinfo import ZoneInfo
    >>> shanghai = ZoneInfo("Asia/Shanghai")
    >>> cal = BusinessCalendar()
    >>> cal.add(datetime(2026, 3, 2, 11, 45, tzinfo=shanghai), timedelta(minutes=30)).isoformat()
    '2026-03-02T13:45:00+08:00'

    Saturday 2026-02-14 is a make-up workday before the Spring Festival
    (2026-02-15 to 2026-02-23), so a ticket opened at 17:45 that day is due
    after the holiday:

    >>> cal.is_working_day(date(2026, 2, 14))
    True
    >>> cal.add(datetime(2026, 2, 14, 17, 45, tzinfo=shanghai), timedelta(minutes=30)).isoformat()
    '2026-02-24T09:15:00+08:00'
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import holidays

from eshop_core.clock import ensure_aware
from eshop_core.errors import CalendarCoverageWarning, InvalidInputError

__all__ = [
    "CN_VERIFIED_THROUGH_FALLBACK",
    "DEFAULT_WORKING_HOURS",
    "BusinessCalendar",
    "CalendarSupplement",
    "DayOverride",
]

Period = tuple[time, time]
"""A working period as wall-clock ``(start, end)`` times, ``start < end``."""

DEFAULT_WORKING_HOURS: tuple[Period, ...] = ((time(9), time(12)), (time(13, 30), time(18)))
"""The default working periods, nine to twelve and half past one to six, local time."""

CN_VERIFIED_THROUGH_FALLBACK = 2026
"""Verified against the package's data for CN up to 2026 (``holidays`` 0.109).

Only used when the newest official CN schedule cannot be read from the installed
``holidays`` package (see :attr:`BusinessCalendar.verified_through`).
"""

_CN_VERIFIED_FROM_FALLBACK = 2001
_ONE_DAY = timedelta(days=1)
_ZERO = timedelta(0)
_DAY_CACHE_LIMIT = 8192


def _check_periods(value: object, field: str) -> tuple[Period, ...]:
    """Validate working periods and return them as a tuple of ``(start, end)`` pairs."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidInputError(field, "expected a sequence of (start, end) time pairs")
    items = list(value)
    if not items:
        raise InvalidInputError(field, "at least one working period is required")
    periods: list[Period] = []
    for index, item in enumerate(items):
        path = f"{field}.{index}"
        if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
            raise InvalidInputError(path, "expected a (start, end) pair of times")
        start, end = item
        if not isinstance(start, time) or not isinstance(end, time):
            raise InvalidInputError(path, "expected a (start, end) pair of datetime.time values")
        if start.tzinfo is not None or end.tzinfo is not None:
            raise InvalidInputError(
                path, "times must be naive wall-clock times; the calendar has the timezone"
            )
        if end <= start:
            raise InvalidInputError(
                path, f"period {start.isoformat()}-{end.isoformat()} is empty or ends before it starts"
            )
        if periods:
            previous_start, previous_end = periods[-1]
            if start < previous_start:
                raise InvalidInputError(path, "periods must be sorted by start time")
            if start < previous_end:
                raise InvalidInputError(
                    path,
                    f"period {start.isoformat()}-{end.isoformat()} overlaps "
                    f"{previous_start.isoformat()}-{previous_end.isoformat()}",
                )
        periods.append((start, end))
    return tuple(periods)


def _convert_hours(value: object) -> tuple[Period, ...] | None:
    return None if value is None else _check_periods(value, "hours")


def _check_day(_instance: object, _attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInputError("day", f"expected a datetime.date, got {type(value).__name__}")


def _check_bool(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidInputError(attribute.name, f"expected a bool, got {type(value).__name__}")


def _check_str(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        raise InvalidInputError(attribute.name, f"expected a str, got {type(value).__name__}")


@attrs.frozen
class DayOverride:
    """
    An explicit decision about one day, winning over weekends and the holidays package.

    Args:
        day: The calendar day (local to the calendar's timezone).
        working: Whether the day is a working day.
        hours: Working periods for that day as wall-clock ``(start, end)`` times;
            ``None`` means the calendar's usual working hours. Only for working days.
        note: Free text, e.g. the reason or the notice it comes from.

    Raises:
        InvalidInputError: On a datetime instead of a date, on hours for a day off,
            or on empty, reversed, unsorted or overlapping hours.

    Example:
        >>> DayOverride(date(2026, 12, 24), working=True, hours=((time(9), time(12)),), note="half day")
        DayOverride(day=datetime.date(2026, 12, 24), working=True, hours=((datetime.time(9, 0), datetime.time(12, 0)),), note='half day')
    """  # noqa: E501

    day: date = attrs.field(validator=_check_day)
    working: bool = attrs.field(validator=_check_bool)
    hours: tuple[Period, ...] | None = attrs.field(default=None, converter=_convert_hours)
    note: str = attrs.field(default="", validator=_check_str)

    def __attrs_post_init__(self) -> None:
        if not self.working and self.hours is not None:
            raise InvalidInputError("hours", "a day off has no working hours")


@attrs.frozen
class CalendarSupplement:
    """
    What a plug-in adds to the shop's calendar through ``eshop_calendar_overrides``.

    Args:
        overrides: Day decisions (closures, official schedules).
        verified_years: Years whose official schedule these overrides complete,
            so results in them are no longer provisional.

    Example:
        >>> extra = CalendarSupplement([DayOverride(date(2027, 2, 6), working=True)], verified_years={2027})
        >>> extra.verified_years
        frozenset({2027})
    """

    overrides: tuple[DayOverride, ...] = attrs.field(converter=tuple)
    verified_years: frozenset[int] = attrs.field(default=frozenset(), converter=frozenset)


@lru_cache(maxsize=1024)
def _year_data(country: str, subdivision: str | None, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """Return ``(public holidays, make-up workdays)`` falling in ``year``, per the holidays package.

    The neighbouring years are populated too: a schedule may place a make-up workday
    (or an observed holiday) in the previous or next calendar year.
    """
    years = [y for y in (year - 1, year, year + 1) if 1 <= y <= 9999]
    table = holidays.country_holidays(country, subdiv=subdivision, years=years)
    days_off = frozenset(day for day in table if day.year == year)
    make_up = frozenset(day for day in table.weekend_workdays if day.year == year)
    return days_off, make_up


def _substitution_years(table: object) -> list[int]:
    """Years of a ``special_*_holidays`` table that contain substitutions (make-up workdays)."""
    if not isinstance(table, Mapping):
        return []
    years: list[int] = []
    for year, entries in table.items():
        if not isinstance(year, int) or not isinstance(entries, tuple) or not entries:
            continue
        rows = entries if isinstance(entries[0], tuple) else (entries,)
        # Substitutions are (to_month, to_day, from_month, from_day[, from_year]).
        if any(len(row) in (4, 5) and all(isinstance(part, int) for part in row) for row in rows):
            years.append(year)
    return years


def _default_coverage(probe: holidays.HolidayBase) -> tuple[int, int]:
    """The range of years whose schedule the installed holidays package covers."""
    if probe.country == "CN":
        years = _substitution_years(getattr(probe, "special_public_holidays", None))
        if years:
            return min(years), max(years)
        return _CN_VERIFIED_FROM_FALLBACK, CN_VERIFIED_THROUGH_FALLBACK
    return probe.start_year, probe.end_year


class BusinessCalendar:
    """
    Working days and hours of one place, and business-time arithmetic over them.

    Instances are immutable (caches aside) and safe to share; :meth:`with_overrides`
    returns a new calendar.

    Args:
        timezone: IANA timezone of the working hours.
        working_hours: Sorted, non-overlapping wall-clock ``(start, end)`` periods.
        country: ISO 3166 country code known to the ``holidays`` package (case-insensitive).
        subdivision: Optional subdivision code of the country (e.g. ``"BY"`` for Bavaria).
        weekend: Weekday numbers that are days off (Monday is 0, Sunday is 6).
        overrides: Explicit day decisions; they win over weekends and holidays.
        verified_through: Last year whose official schedule is verified; defaults to
            the newest year the installed ``holidays`` package has (see
            :attr:`verified_through`).

    Raises:
        InvalidInputError: Naming the offending field, on an unknown timezone,
            country or subdivision, empty, reversed, unsorted or overlapping working
            periods, bad weekday numbers, a weekend of all seven days, duplicate
            overrides for a day, or a bad ``verified_through``.

    Example:
        >>> from datetime import datetime, timedelta
        >>> cal = BusinessCalendar()
        >>> start = datetime(2026, 3, 2, 3, 30, tzinfo=UTC)  # 11:30 in Shanghai
        >>> cal.add(start, timedelta(minutes=30)).isoformat()
        '2026-03-02T12:00:00+08:00'
        >>> cal.elapsed(start, datetime(2026, 3, 3, 1, 0, tzinfo=UTC))  # until 09:00 next day
        datetime.timedelta(seconds=18000)
        >>> cal.verified_through >= 2026
        True
    """

    def __init__(
        self,
        *,
        timezone: str = "Asia/Shanghai",
        working_hours: Sequence[tuple[time, time]] = DEFAULT_WORKING_HOURS,
        country: str = "CN",
        subdivision: str | None = None,
        weekend: Collection[int] = (5, 6),
        overrides: Iterable[DayOverride] = (),
        verified_through: int | None = None,
    ) -> None:
        self._tz = _check_timezone(timezone)
        self._working_hours = _check_periods(working_hours, "working_hours")
        self._weekend = _check_weekend(weekend)
        probe = _check_country(country, subdivision)
        self._country: str = probe.country
        self._subdivision = subdivision
        self._verified_from, default_through = _default_coverage(probe)
        if verified_through is None:
            verified_through = default_through
        elif isinstance(verified_through, bool) or not isinstance(verified_through, int):
            raise InvalidInputError("verified_through", "expected a year as an int")
        elif not 1 <= verified_through <= 9999:
            raise InvalidInputError("verified_through", f"year {verified_through} is out of range 1-9999")
        self._verified_through: int = verified_through
        self._verified_years: frozenset[int] = frozenset()
        self._overrides: dict[date, DayOverride] = _check_overrides(overrides)
        self._day_cache: dict[date, tuple[tuple[datetime, datetime], ...]] = {}
        self._warned_years: set[int] = set()

    # ------------------------------------------------------------------ properties

    @property
    def timezone(self) -> ZoneInfo:
        """The timezone the working hours are wall-clock times of; results are returned in it."""
        return self._tz

    @property
    def country(self) -> str:
        """ISO 3166-1 alpha-2 code of the country whose holidays apply."""
        return self._country

    @property
    def subdivision(self) -> str | None:
        """The country subdivision whose holidays apply, if any."""
        return self._subdivision

    @property
    def working_hours(self) -> tuple[Period, ...]:
        """The usual working periods of a working day."""
        return self._working_hours

    @property
    def weekend(self) -> frozenset[int]:
        """Weekday numbers (Monday is 0) that are days off unless a make-up workday."""
        return self._weekend

    @property
    def overrides(self) -> tuple[DayOverride, ...]:
        """The explicit overrides, sorted by day."""
        return tuple(self._overrides[day] for day in sorted(self._overrides))

    @property
    def verified_from(self) -> int:
        """
        First year whose schedule is verified.

        For China, the first year of the official schedules in the ``holidays``
        package (2001); for other countries the package's first supported year.
        """
        return self._verified_from

    @property
    def verified_through(self) -> int:
        """
        Last year whose official schedule is verified.

        By default, for China it is the newest year with make-up workdays in the
        installed ``holidays`` package's table of official special days (its
        ``special_public_holidays``), falling back to
        :data:`CN_VERIFIED_THROUGH_FALLBACK` when that table cannot be read; for
        other countries it is the package's last supported year.
        """
        return self._verified_through

    @property
    def verified_years(self) -> frozenset[int]:
        """Extra years marked verified by :meth:`with_overrides`."""
        return self._verified_years

    # ------------------------------------------------------------------ queries

    def is_provisional(self, day: date | datetime) -> bool:
        """
        Whether results for ``day`` rely on provisional rules (no verified official schedule).

        Args:
            day: A date, or an aware datetime (its day in the calendar's timezone counts).

        Raises:
            InvalidInputError: On a naive datetime or something that is not a date.

        Example:
            >>> cal = BusinessCalendar(verified_through=2026)
            >>> cal.is_provisional(date(2026, 10, 1)), cal.is_provisional(date(2027, 10, 1))
            (False, True)
            >>> cal.with_overrides([], verified_years={2027}).is_provisional(date(2027, 10, 1))
            False
        """
        if isinstance(day, datetime):
            day = ensure_aware(day, field="day").astimezone(self._tz).date()
        elif not isinstance(day, date):
            raise InvalidInputError("day", f"expected a date or datetime, got {type(day).__name__}")
        return self._year_is_provisional(day.year)

    def is_working_day(self, day: date) -> bool:
        """
        Whether ``day`` is a working day.

        Warns :class:`~eshop_core.errors.CalendarCoverageWarning` when ``day`` is provisional.

        Example:
            >>> cal = BusinessCalendar()
            >>> cal.is_working_day(date(2025, 10, 8))   # National Day holiday
            False
            >>> cal.is_working_day(date(2025, 10, 11))  # make-up Saturday
            True
        """
        day = _check_date(day, "day")
        working = self._is_working(day)
        self._warn_provisional({day.year})
        return working

    def working_periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """
        The working periods of ``day`` as aware ``(start, end)`` datetimes in the calendar's timezone.

        Empty on a day off. Warns :class:`~eshop_core.errors.CalendarCoverageWarning`
        when ``day`` is provisional.

        Example:
            >>> cal = BusinessCalendar()
            >>> [(s.strftime("%H:%M"), e.strftime("%H:%M")) for s, e in cal.working_periods(date(2026, 3, 2))]
            [('09:00', '12:00'), ('13:30', '18:00')]
            >>> cal.working_periods(date(2026, 3, 1))  # a Sunday
            []
        """
        day = _check_date(day, "day")
        periods = [(s.astimezone(self._tz), e.astimezone(self._tz)) for s, e in self._periods_utc(day)]
        self._warn_provisional({day.year})
        return periods

    def next_working_instant(self, at: datetime) -> datetime:
        """
        The earliest instant at or after ``at`` that is inside working time.

        Returns:
            ``at`` itself (in the calendar's timezone) when it is inside a working
            period, otherwise the start of the next working period. A period's end
            is not inside it.

        Raises:
            InvalidInputError: On a naive datetime.

        Example:
            >>> cal = BusinessCalendar()
            >>> from zoneinfo import ZoneInfo
            >>> at = datetime(2026, 3, 6, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # Friday evening
            >>> cal.next_working_instant(at).isoformat()
            '2026-03-09T09:00:00+08:00'
        """
        at_utc = ensure_aware(at, field="at")
        touched: set[int] = set()
        start, _end = next(self._periods_from(at_utc, touched, field="at"))
        self._warn_provisional(touched)
        return start.astimezone(self._tz)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """
        The earliest instant at which ``duration`` of business time has elapsed since ``start``.

        A start outside working time counts from the next working instant; the
        result may be the end of a working period (11:30 + 30 min is 12:00, not 13:30).

        Args:
            start: An aware datetime.
            duration: Business time to add; must not be negative.

        Returns:
            An aware datetime in the calendar's timezone. A zero duration returns
            the same instant as ``start``.

        Raises:
            InvalidInputError: On a naive ``start`` or a negative ``duration``.

        Example:
            >>> from zoneinfo import ZoneInfo
            >>> cal = BusinessCalendar()
            >>> friday = datetime(2026, 3, 13, 17, 50, tzinfo=ZoneInfo("Asia/Shanghai"))
            >>> cal.add(friday, timedelta(minutes=30)).isoformat()
            '2026-03-16T09:20:00+08:00'
        """
        start_utc = ensure_aware(start, field="start")
        if not isinstance(duration, timedelta):
            raise InvalidInputError("duration", f"expected a timedelta, got {type(duration).__name__}")
        if duration < _ZERO:
            raise InvalidInputError("duration", "business time to add must not be negative")
        if duration == _ZERO:
            return start_utc.astimezone(self._tz)
        remaining = duration
        touched: set[int] = set()
        for period_start, period_end in self._periods_from(start_utc, touched, field="duration"):
            available = period_end - period_start
            if remaining <= available:
                self._warn_provisional(touched)
                return (period_start + remaining).astimezone(self._tz)
            remaining -= available
        raise AssertionError("unreachable: working periods never run out")  # pragma: no cover

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """
        Business time between ``start`` and ``end`` (zero when ``end`` is not after ``start``).

        Raises:
            InvalidInputError: On naive datetimes.

        Example:
            >>> from zoneinfo import ZoneInfo
            >>> shanghai = ZoneInfo("Asia/Shanghai")
            >>> cal = BusinessCalendar()
            >>> start = datetime(2026, 3, 2, 11, 0, tzinfo=shanghai)
            >>> end = datetime(2026, 3, 2, 14, 0, tzinfo=shanghai)
            >>> cal.elapsed(start, end)  # 11:00-12:00 and 13:30-14:00
            datetime.timedelta(seconds=5400)
        """
        start_utc = ensure_aware(start, field="start")
        end_utc = ensure_aware(end, field="end")
        if end_utc <= start_utc:
            return _ZERO
        total = _ZERO
        day = start_utc.astimezone(self._tz).date()
        last = end_utc.astimezone(self._tz).date()
        touched: set[int] = set()
        while day <= last:
            touched.add(day.year)
            for period_start, period_end in self._periods_utc(day):
                low = max(period_start, start_utc)
                high = min(period_end, end_utc)
                if high > low:
                    total += high - low
            if day == last:
                break
            day += _ONE_DAY
        self._warn_provisional(touched)
        return total

    def with_overrides(
        self, overrides: Iterable[DayOverride], *, verified_years: Iterable[int] = ()
    ) -> BusinessCalendar:
        """
        A new calendar with ``overrides`` added (replacing earlier overrides of the same days).

        Args:
            overrides: Day decisions to add; at most one per day.
            verified_years: Years to treat as verified from now on, e.g. because
                ``overrides`` supply their official schedule.

        Raises:
            InvalidInputError: On duplicate days, non-overrides or bad years.

        Example:
            >>> cal = BusinessCalendar()
            >>> closed = cal.with_overrides([DayOverride(date(2026, 3, 2), working=False, note="stocktake")])
            >>> cal.is_working_day(date(2026, 3, 2)), closed.is_working_day(date(2026, 3, 2))
            (True, False)
        """
        added = _check_overrides(overrides)
        years = frozenset(verified_years) if not isinstance(verified_years, (str, bytes)) else None
        if years is None or any(isinstance(y, bool) or not isinstance(y, int) for y in years):
            raise InvalidInputError("verified_years", "expected years as ints")
        clone = BusinessCalendar.__new__(BusinessCalendar)
        clone.__dict__.update(self.__dict__)
        clone._overrides = {**self._overrides, **added}
        clone._verified_years = self._verified_years | years
        clone._day_cache = {}
        clone._warned_years = set()
        return clone

    def __repr__(self) -> str:
        subdivision = f", subdivision={self._subdivision!r}" if self._subdivision else ""
        return (
            f"BusinessCalendar(timezone={self._tz.key!r}, country={self._country!r}{subdivision}, "
            f"verified_through={self._verified_through}, overrides={len(self._overrides)})"
        )

    # ------------------------------------------------------------------ internals

    def _year_is_provisional(self, year: int) -> bool:
        if year in self._verified_years:
            return False
        return year < self._verified_from or year > self._verified_through

    def _warn_provisional(self, years: Iterable[int]) -> None:
        for year in sorted(years):
            if year in self._warned_years or not self._year_is_provisional(year):
                continue
            self._warned_years.add(year)
            warnings.warn(
                f"business calendar for {self._country}: {year} is outside the verified holiday "
                f"schedule ({self._verified_from}-{self._verified_through}); results for {year} are "
                "provisional (weekends and rule-based holidays only, no make-up workdays)",
                CalendarCoverageWarning,
                stacklevel=3,  # the caller of the public method
            )

    def _is_working(self, day: date) -> bool:
        override = self._overrides.get(day)
        if override is not None:
            return override.working
        days_off, make_up = _year_data(self._country, self._subdivision, day.year)
        if day in make_up:
            return True
        return day.weekday() not in self._weekend and day not in days_off

    def _hours(self, day: date) -> tuple[Period, ...]:
        override = self._overrides.get(day)
        if override is not None:
            if not override.working:
                return ()
            return override.hours if override.hours is not None else self._working_hours
        return self._working_hours if self._is_working(day) else ()

    def _periods_utc(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's working periods in UTC, sorted, disjoint and non-empty (cached)."""
        cached = self._day_cache.get(day)
        if cached is not None:
            return cached
        periods: list[tuple[datetime, datetime]] = []
        for start, end in self._hours(day):
            start_utc = datetime.combine(day, start, tzinfo=self._tz).astimezone(UTC)
            end_utc = datetime.combine(day, end, tzinfo=self._tz).astimezone(UTC)
            if periods and start_utc < periods[-1][1]:
                start_utc = periods[-1][1]  # wall times shifted by a DST change
            if end_utc > start_utc:
                periods.append((start_utc, end_utc))
        result = tuple(periods)
        if len(self._day_cache) >= _DAY_CACHE_LIMIT:
            self._day_cache.clear()
        self._day_cache[day] = result
        return result

    def _periods_from(
        self, at_utc: datetime, touched: set[int], *, field: str
    ) -> Iterator[tuple[datetime, datetime]]:
        """Working periods from ``at_utc`` on, the first one clipped to start at ``at_utc``."""
        day = at_utc.astimezone(self._tz).date()
        while True:
            touched.add(day.year)
            for start, end in self._periods_utc(day):
                if end > at_utc:
                    yield max(start, at_utc), end
            if day == date.max:
                raise InvalidInputError(field, "no working time before the last representable date")
            day += _ONE_DAY


def _check_timezone(value: object) -> ZoneInfo:
    if not isinstance(value, str):
        raise InvalidInputError("timezone", f"expected an IANA timezone name, got {type(value).__name__}")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInputError("timezone", f"unknown timezone {value!r}") from None


def _check_weekend(value: object) -> frozenset[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidInputError("weekend", "expected a collection of weekday numbers 0-6 (Monday is 0)")
    days = list(value)
    for item in days:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 6:
            raise InvalidInputError("weekend", f"{item!r} is not a weekday number 0-6 (Monday is 0)")
    weekend = frozenset(days)
    if len(weekend) == 7:
        raise InvalidInputError("weekend", "at least one day of the week must be a working day")
    return weekend


def _check_country(country: object, subdivision: object) -> holidays.HolidayBase:
    if not isinstance(country, str) or not country.strip():
        raise InvalidInputError("country", "expected an ISO 3166 country code")
    if subdivision is not None and not isinstance(subdivision, str):
        raise InvalidInputError("subdivision", f"expected a str, got {type(subdivision).__name__}")
    code = country.strip().upper()
    try:
        probe = holidays.country_holidays(code)
    except NotImplementedError:
        raise InvalidInputError("country", f"unknown country code {country!r}") from None
    if subdivision is None:
        return probe
    try:
        return holidays.country_holidays(code, subdiv=subdivision)
    except NotImplementedError:
        raise InvalidInputError("subdivision", f"unknown subdivision {subdivision!r} of {code}") from None


def _check_overrides(value: object) -> dict[date, DayOverride]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidInputError("overrides", "expected an iterable of DayOverride")
    result: dict[date, DayOverride] = {}
    for index, item in enumerate(value):
        if not isinstance(item, DayOverride):
            raise InvalidInputError(
                f"overrides.{index}", f"expected a DayOverride, got {type(item).__name__}"
            )
        if item.day in result:
            raise InvalidInputError(f"overrides.{index}", f"a second override for {item.day.isoformat()}")
        result[item.day] = item
    return result


def _check_date(value: object, field: str) -> date:
    if isinstance(value, datetime):
        raise InvalidInputError(field, "expected a date, not a datetime")
    if not isinstance(value, date):
        raise InvalidInputError(field, f"expected a date, got {type(value).__name__}")
    return value
