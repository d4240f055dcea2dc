"""Property tests of BusinessCalendar's business-time arithmetic."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import aware_instants, business_durations

from eshop_core.calendar import BusinessCalendar
from eshop_core.errors import CalendarCoverageWarning

CN = BusinessCalendar()
# A DST-observing calendar with a night period straddling both daylight-saving changes
# (Europe/Berlin switches at 02:00/03:00 local time), working every day.
NIGHT_SHIFT = BusinessCalendar(
    timezone="Europe/Berlin",
    country="DE",
    working_hours=((time(1), time(4)), (time(9), time(17))),
    weekend=(),
)
MICROSECOND = timedelta(microseconds=1)
ZERO = timedelta(0)

fast = settings(max_examples=150, deadline=None)


def utc(value: datetime) -> datetime:
    """The instant in UTC.

    Python compares and subtracts aware datetimes that share a tzinfo by wall-clock time,
    and never finds a gap or fold time equal to another zone's; compare instants in UTC.
    """
    return value.astimezone(UTC)


@fast
@given(start=aware_instants(), duration=business_durations())
def test_elapsed_inverts_add(start: datetime, duration: timedelta) -> None:
    due = CN.add(start, duration)
    assert CN.elapsed(start, due) == duration
    assert utc(due) >= utc(start)
    assert due.tzinfo is CN.timezone


@fast
@given(start=aware_instants(), duration=business_durations())
def test_add_returns_the_earliest_instant(start: datetime, duration: timedelta) -> None:
    due = CN.add(start, duration)
    if duration > ZERO:
        assert CN.elapsed(start, due - MICROSECOND) < duration
        # The due instant is inside a working period or at its end.
        assert CN.elapsed(due - MICROSECOND, due) == MICROSECOND
    else:
        assert utc(due) == utc(start)


@fast
@given(start=aware_instants(), first=business_durations(), second=business_durations())
def test_add_is_monotonic_in_duration(start: datetime, first: timedelta, second: timedelta) -> None:
    short, long = sorted((first, second))
    assert utc(CN.add(start, short)) <= utc(CN.add(start, long))


@fast
@given(first=aware_instants(), second=aware_instants(), duration=business_durations())
def test_add_is_monotonic_in_start(first: datetime, second: datetime, duration: timedelta) -> None:
    early, late = sorted((first, second), key=utc)
    assert utc(CN.add(early, duration)) <= utc(CN.add(late, duration))


@fast
@given(start=aware_instants(), first=business_durations(100), second=business_durations(100))
def test_add_composes(start: datetime, first: timedelta, second: timedelta) -> None:
    assert utc(CN.add(CN.add(start, first), second)) == utc(CN.add(start, first + second))


@fast
@given(a=aware_instants(), b=aware_instants(), c=aware_instants())
def test_elapsed_is_additive(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c), key=utc)
    assert CN.elapsed(a, b) + CN.elapsed(b, c) == CN.elapsed(a, c)


@fast
@given(a=aware_instants(), b=aware_instants())
def test_elapsed_is_bounded_by_real_time(a: datetime, b: datetime) -> None:
    a, b = sorted((a, b), key=utc)
    assert ZERO <= CN.elapsed(a, b) <= utc(b) - utc(a)
    assert CN.elapsed(b, a) == ZERO


@fast
@given(at=aware_instants())
def test_next_working_instant_is_where_working_time_resumes(at: datetime) -> None:
    resume = CN.next_working_instant(at)
    assert utc(resume) >= utc(at)
    assert CN.elapsed(at, resume) == ZERO
    assert utc(CN.add(at, MICROSECOND)) == utc(resume) + MICROSECOND
    assert CN.is_working_day(resume.date())


NEAR_DST_CHANGES = st.one_of(
    aware_instants(min_value=datetime(2025, 3, 29), max_value=datetime(2025, 3, 31, 12)),
    aware_instants(min_value=datetime(2025, 10, 25), max_value=datetime(2025, 10, 27, 12)),
)


@fast
@given(
    start=st.one_of(aware_instants(), NEAR_DST_CHANGES),
    duration=st.one_of(business_durations(), business_durations(8)),
    other=st.one_of(aware_instants(), NEAR_DST_CHANGES),
)
def test_properties_hold_across_dst_changes(start: datetime, duration: timedelta, other: datetime) -> None:
    due = NIGHT_SHIFT.add(start, duration)
    assert NIGHT_SHIFT.elapsed(start, due) == duration
    assert utc(due) >= utc(start)
    low, middle, high = sorted((start, due, other), key=utc)
    assert ZERO <= NIGHT_SHIFT.elapsed(low, high) <= utc(high) - utc(low)
    assert NIGHT_SHIFT.elapsed(low, middle) + NIGHT_SHIFT.elapsed(middle, high) == NIGHT_SHIFT.elapsed(
        low, high
    )


@settings(max_examples=100, deadline=None)
@given(
    start=aware_instants(min_value=datetime(2026, 6, 1), max_value=datetime(2028, 12, 31)),
    duration=business_durations(),
)
def test_round_trip_holds_in_provisional_years(start: datetime, duration: timedelta) -> None:
    calendar = BusinessCalendar(verified_through=2026)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalendarCoverageWarning)
        due = calendar.add(start, duration)
        assert calendar.elapsed(start, due) == duration


@settings(max_examples=50, deadline=None)
@given(year=st.integers(min_value=2027, max_value=2030))
def test_provisional_years_warn_once_per_calendar(year: int) -> None:
    calendar = BusinessCalendar(verified_through=2026)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        calendar.is_working_day(date(year, 3, 2))
        calendar.is_working_day(date(year, 3, 3))
    assert [w.category for w in caught] == [CalendarCoverageWarning]
