"""Unit tests for eshop_core.calendar with real dates (holidays package data for CN 2024-2026)."""

from __future__ import annotations

import doctest
import time as time_module
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

import eshop_core.calendar as calendar_module
from eshop_core.calendar import DEFAULT_WORKING_HOURS, BusinessCalendar, DayOverride
from eshop_core.errors import CalendarCoverageWarning, EshopWarning, InvalidInputError

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
MINUTES_30 = timedelta(minutes=30)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return BusinessCalendar()


# --------------------------------------------------------------------------- CS-01


def test_cs_01_thirty_business_minutes_from_1130_end_at_noon(cal: BusinessCalendar) -> None:
    # Monday 2026-03-02: an enquiry at 11:30 is due at 12:00, the end of the morning period.
    assert cal.add(sh(2026, 3, 2, 11, 30), MINUTES_30) == sh(2026, 3, 2, 12, 0)


def test_cs_01_thirty_business_minutes_span_the_lunch_break(cal: BusinessCalendar) -> None:
    assert cal.add(sh(2026, 3, 2, 11, 45), MINUTES_30) == sh(2026, 3, 2, 13, 45)


def test_cs_01_thirty_business_minutes_over_the_weekend(cal: BusinessCalendar) -> None:
    # Friday 2026-03-13 is not before a holiday; Monday 2026-03-16 is a normal working day.
    assert date(2026, 3, 13).weekday() == 4
    due = cal.add(sh(2026, 3, 13, 17, 50), MINUTES_30)
    assert due == sh(2026, 3, 16, 9, 20)
    assert due.tzinfo is SHANGHAI


def test_cs_01_thirty_business_minutes_overnight(cal: BusinessCalendar) -> None:
    assert cal.add(sh(2026, 3, 3, 17, 45), MINUTES_30) == sh(2026, 3, 4, 9, 15)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (sh(2026, 3, 2, 7, 0), sh(2026, 3, 2, 9, 30)),  # before opening
        (sh(2026, 3, 2, 12, 0), sh(2026, 3, 2, 14, 0)),  # at the start of the break
        (sh(2026, 3, 2, 12, 59), sh(2026, 3, 2, 14, 0)),  # during the break
        (sh(2026, 3, 2, 18, 0), sh(2026, 3, 3, 9, 30)),  # at closing time
        (sh(2026, 3, 1, 10, 0), sh(2026, 3, 2, 9, 30)),  # Sunday
        (sh(2026, 3, 2, 9, 0), sh(2026, 3, 2, 9, 30)),  # at opening
    ],
)
def test_add_from_outside_working_time_counts_from_the_next_working_instant(
    cal: BusinessCalendar, start: datetime, expected: datetime
) -> None:
    assert cal.add(start, MINUTES_30) == expected


def test_add_zero_returns_start_unchanged(cal: BusinessCalendar) -> None:
    sunday = sh(2026, 3, 1, 10, 0)
    assert cal.add(sunday, timedelta(0)) == sunday
    utc_start = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    result = cal.add(utc_start, timedelta(0))
    assert result == utc_start
    assert result.tzinfo is SHANGHAI


def test_add_returns_the_calendar_timezone_for_any_aware_input(cal: BusinessCalendar) -> None:
    start = datetime(2026, 3, 2, 3, 30, tzinfo=UTC)  # 11:30 in Shanghai
    result = cal.add(start, MINUTES_30)
    assert result.tzinfo is SHANGHAI
    assert result == sh(2026, 3, 2, 12, 0)
    assert result.isoformat() == "2026-03-02T12:00:00+08:00"


def test_add_a_full_working_day(cal: BusinessCalendar) -> None:
    assert cal.add(sh(2026, 3, 2, 9, 0), timedelta(hours=7, minutes=30)) == sh(2026, 3, 2, 18, 0)
    assert cal.add(sh(2026, 3, 2, 9, 0), timedelta(hours=7, minutes=31)) == sh(2026, 3, 3, 9, 1)


def test_add_refuses_negative_durations(cal: BusinessCalendar) -> None:
    with pytest.raises(InvalidInputError) as info:
        cal.add(sh(2026, 3, 2, 10), timedelta(minutes=-1))
    assert info.value.field == "duration"


def test_add_refuses_a_non_timedelta_duration(cal: BusinessCalendar) -> None:
    with pytest.raises(InvalidInputError) as info:
        cal.add(sh(2026, 3, 2, 10), 30)  # type: ignore[arg-type]
    assert info.value.field == "duration"


# --------------------------------------------------------------------------- CN holidays


def test_make_up_saturday_is_a_working_day(cal: BusinessCalendar) -> None:
    # 2026-02-14 (Saturday) is worked before the Spring Festival.
    assert date(2026, 2, 14).weekday() == 5
    assert cal.is_working_day(date(2026, 2, 14))
    assert len(cal.working_periods(date(2026, 2, 14))) == 2
    # Friday 17:45 + 30 min runs into the make-up Saturday morning.
    assert cal.add(sh(2026, 2, 13, 17, 45), MINUTES_30) == sh(2026, 2, 14, 9, 15)


def test_spring_festival_2026_is_skipped(cal: BusinessCalendar) -> None:
    for offset in range(9):  # 2026-02-15 .. 2026-02-23
        assert not cal.is_working_day(date(2026, 2, 15) + timedelta(days=offset))
    assert cal.is_working_day(date(2026, 2, 24))
    assert cal.is_working_day(date(2026, 2, 28))  # make-up Saturday after the holiday
    # A ticket at 17:45 on the last working day before the holiday lands after it.
    start = sh(2026, 2, 14, 17, 45)
    due = cal.add(start, MINUTES_30)
    assert due == sh(2026, 2, 24, 9, 15)
    assert cal.elapsed(start, due) == MINUTES_30


def test_national_day_2025_is_skipped(cal: BusinessCalendar) -> None:
    assert cal.is_working_day(date(2025, 9, 28))  # make-up Sunday
    assert cal.is_working_day(date(2025, 10, 11))  # make-up Saturday
    for offset in range(8):  # 2025-10-01 .. 2025-10-08
        assert not cal.is_working_day(date(2025, 10, 1) + timedelta(days=offset))
    assert cal.add(sh(2025, 9, 30, 17, 45), MINUTES_30) == sh(2025, 10, 9, 9, 15)
    assert cal.elapsed(sh(2025, 9, 30, 18, 0), sh(2025, 10, 9, 9, 0)) == timedelta(0)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # 2024 Spring Festival: Feb 10-17 off, make-up Sun Feb 4 and Sun Feb 18.
        (date(2024, 2, 4), True),
        (date(2024, 2, 9), True),
        (date(2024, 2, 10), False),
        (date(2024, 2, 16), False),
        (date(2024, 2, 18), True),
        # 2024 National Day: Oct 1-7 off, make-up Sun Sep 29 and Sat Oct 12.
        (date(2024, 9, 29), True),
        (date(2024, 10, 7), False),
        (date(2024, 10, 12), True),
        # 2025 Spring Festival: Jan 28 - Feb 4 off, make-up Sun Jan 26 and Sat Feb 8.
        (date(2025, 1, 26), True),
        (date(2025, 1, 28), False),
        (date(2025, 2, 4), False),
        (date(2025, 2, 8), True),
        # 2025 Labour Day: May 1-5 off, make-up Sun Apr 27.
        (date(2025, 4, 27), True),
        (date(2025, 5, 5), False),
        # 2026 New Year: Jan 1-3 off, make-up Sun Jan 4.
        (date(2026, 1, 2), False),
        (date(2026, 1, 4), True),
        # 2026 Labour Day: May 1-5 off, make-up Sat May 9.
        (date(2026, 5, 4), False),
        (date(2026, 5, 9), True),
        # 2026 National Day: Oct 1-7 off, make-up Sun Sep 20 and Sat Oct 10.
        (date(2026, 9, 20), True),
        (date(2026, 10, 7), False),
        (date(2026, 10, 10), True),
        # Ordinary days.
        (date(2026, 3, 7), False),  # Saturday
        (date(2026, 3, 8), False),  # Sunday
        (date(2026, 3, 9), True),  # Monday
    ],
)
def test_cn_working_days_follow_the_official_schedule(
    cal: BusinessCalendar, day: date, working: bool
) -> None:
    assert cal.is_working_day(day) is working
    assert bool(cal.working_periods(day)) is working


def test_working_periods_are_aware_in_the_calendar_timezone(cal: BusinessCalendar) -> None:
    periods = cal.working_periods(date(2026, 3, 2))
    assert periods == [(sh(2026, 3, 2, 9), sh(2026, 3, 2, 12)), (sh(2026, 3, 2, 13, 30), sh(2026, 3, 2, 18))]
    assert all(s.tzinfo is SHANGHAI and e.tzinfo is SHANGHAI for s, e in periods)
    assert cal.working_periods(date(2026, 10, 1)) == []


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (sh(2026, 3, 2, 10, 15), sh(2026, 3, 2, 10, 15)),
        (sh(2026, 3, 2, 12, 0), sh(2026, 3, 2, 13, 30)),
        (sh(2026, 3, 2, 8, 0), sh(2026, 3, 2, 9, 0)),
        (sh(2026, 3, 6, 18, 0), sh(2026, 3, 9, 9, 0)),
        (sh(2026, 9, 30, 18, 0), sh(2026, 10, 8, 9, 0)),
    ],
)
def test_next_working_instant(cal: BusinessCalendar, at: datetime, expected: datetime) -> None:
    result = cal.next_working_instant(at)
    assert result == expected
    assert result.tzinfo is SHANGHAI


# --------------------------------------------------------------------------- elapsed


def test_elapsed_counts_only_working_time(cal: BusinessCalendar) -> None:
    assert cal.elapsed(sh(2026, 3, 2, 11, 0), sh(2026, 3, 2, 14, 0)) == timedelta(hours=1, minutes=30)
    # Friday 17:00 to Monday 10:00: one hour on Friday, one on Monday.
    assert cal.elapsed(sh(2026, 3, 13, 17, 0), sh(2026, 3, 16, 10, 0)) == timedelta(hours=2)
    # A whole week is five working days.
    assert cal.elapsed(sh(2026, 3, 2), sh(2026, 3, 9)) == timedelta(hours=5 * 7.5)


def test_elapsed_is_zero_when_end_is_not_after_start(cal: BusinessCalendar) -> None:
    assert cal.elapsed(sh(2026, 3, 2, 10), sh(2026, 3, 2, 10)) == timedelta(0)
    assert cal.elapsed(sh(2026, 3, 2, 11), sh(2026, 3, 2, 10)) == timedelta(0)


def test_elapsed_accepts_mixed_timezones(cal: BusinessCalendar) -> None:
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 Shanghai
    end = datetime(2026, 3, 1, 22, 0, tzinfo=ZoneInfo("America/New_York"))  # 11:00 Shanghai
    assert cal.elapsed(start, end) == timedelta(hours=2)


def test_long_spans_are_fast_and_consistent(cal: BusinessCalendar) -> None:
    began = time_module.perf_counter()
    start = sh(2024, 1, 2, 10, 0)
    due = cal.add(start, timedelta(hours=400))
    assert cal.elapsed(start, due) == timedelta(hours=400)
    year_2025 = cal.elapsed(sh(2025, 1, 1), sh(2026, 1, 1))
    assert time_module.perf_counter() - began < 5.0
    working_days = sum(
        cal.is_working_day(date(2025, 1, 1) + timedelta(days=n))
        for n in range((date(2026, 1, 1) - date(2025, 1, 1)).days)
    )
    assert year_2025 == working_days * timedelta(hours=7, minutes=30)
    # 2025: 365 days - 104 weekend days - 18 weekday days off + 5 make-up weekend days.
    assert working_days == 248


# --------------------------------------------------------------------------- overrides


def test_override_makes_a_working_day_off(cal: BusinessCalendar) -> None:
    closed = cal.with_overrides([DayOverride(date(2026, 3, 16), working=False, note="stocktake")])
    assert cal.is_working_day(date(2026, 3, 16))
    assert not closed.is_working_day(date(2026, 3, 16))
    assert closed.working_periods(date(2026, 3, 16)) == []
    assert closed.add(sh(2026, 3, 13, 17, 50), MINUTES_30) == sh(2026, 3, 17, 9, 20)


def test_override_makes_a_day_off_working_with_the_usual_hours(cal: BusinessCalendar) -> None:
    open_sunday = cal.with_overrides([DayOverride(date(2026, 3, 15), working=True)])
    assert open_sunday.is_working_day(date(2026, 3, 15))
    assert open_sunday.add(sh(2026, 3, 13, 17, 50), MINUTES_30) == sh(2026, 3, 15, 9, 20)


def test_override_wins_over_the_holidays_package(cal: BusinessCalendar) -> None:
    shop = cal.with_overrides(
        [
            DayOverride(date(2025, 10, 1), working=True, hours=((time(10), time(16)),), note="promotion day"),
            DayOverride(date(2025, 10, 11), working=False, note="no make-up day for the shop"),
        ]
    )
    assert shop.is_working_day(date(2025, 10, 1))
    assert shop.working_periods(date(2025, 10, 1)) == [(sh(2025, 10, 1, 10), sh(2025, 10, 1, 16))]
    assert shop.add(sh(2025, 9, 30, 17, 45), MINUTES_30) == sh(2025, 10, 1, 10, 15)
    assert not shop.is_working_day(date(2025, 10, 11))


def test_override_with_custom_hours(cal: BusinessCalendar) -> None:
    half_day = DayOverride(date(2026, 3, 2), working=True, hours=((time(9), time(11)),), note="training")
    shop = cal.with_overrides([half_day])
    assert shop.working_periods(date(2026, 3, 2)) == [(sh(2026, 3, 2, 9), sh(2026, 3, 2, 11))]
    assert shop.add(sh(2026, 3, 2, 10, 45), MINUTES_30) == sh(2026, 3, 3, 9, 15)
    assert shop.elapsed(sh(2026, 3, 2), sh(2026, 3, 3)) == timedelta(hours=2)
    assert shop.overrides == (half_day,)


def test_with_overrides_replaces_earlier_overrides_and_keeps_the_original(cal: BusinessCalendar) -> None:
    first = cal.with_overrides([DayOverride(date(2026, 3, 2), working=False)])
    second = first.with_overrides(
        [DayOverride(date(2026, 3, 2), working=True, hours=((time(14), time(15)),))]
    )
    assert not first.is_working_day(date(2026, 3, 2))
    assert second.working_periods(date(2026, 3, 2)) == [(sh(2026, 3, 2, 14), sh(2026, 3, 2, 15))]
    assert cal.overrides == ()


def test_overrides_given_to_the_constructor() -> None:
    shop = BusinessCalendar(overrides=[DayOverride(date(2026, 3, 2), working=False)])
    assert not shop.is_working_day(date(2026, 3, 2))


def test_duplicate_overrides_in_one_batch_are_refused(cal: BusinessCalendar) -> None:
    with pytest.raises(InvalidInputError) as info:
        cal.with_overrides(
            [DayOverride(date(2026, 3, 2), working=False), DayOverride(date(2026, 3, 2), working=True)]
        )
    assert info.value.field == "overrides.1"


def test_with_overrides_refuses_non_overrides(cal: BusinessCalendar) -> None:
    with pytest.raises(InvalidInputError) as info:
        cal.with_overrides([date(2026, 3, 2)])  # type: ignore[list-item]
    assert info.value.field == "overrides.0"
    with pytest.raises(InvalidInputError) as info:
        cal.with_overrides([], verified_years=["2027"])  # type: ignore[list-item]
    assert info.value.field == "verified_years"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"day": datetime(2026, 3, 2, tzinfo=UTC), "working": False}, "day"),
        ({"day": "2026-03-02", "working": False}, "day"),
        ({"day": date(2026, 3, 2), "working": "no"}, "working"),
        ({"day": date(2026, 3, 2), "working": False, "hours": ((time(9), time(12)),)}, "hours"),
        ({"day": date(2026, 3, 2), "working": True, "hours": ()}, "hours"),
        ({"day": date(2026, 3, 2), "working": True, "hours": ((time(12), time(9)),)}, "hours.0"),
        ({"day": date(2026, 3, 2), "working": True, "note": None}, "note"),
    ],
)
def test_day_override_validation(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        DayOverride(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_day_override_is_a_frozen_value() -> None:
    override = DayOverride(date(2026, 3, 2), working=True, hours=[(time(9), time(12))])
    assert override.hours == ((time(9), time(12)),)
    assert override == DayOverride(date(2026, 3, 2), working=True, hours=((time(9), time(12)),))
    with pytest.raises(AttributeError):
        override.working = False  # type: ignore[misc]


# --------------------------------------------------------------------------- coverage


def test_default_verified_through_comes_from_the_holidays_package(cal: BusinessCalendar) -> None:
    assert cal.verified_through >= 2026
    assert cal.verified_from == 2001
    assert not cal.is_provisional(date(2024, 1, 1))
    assert not cal.is_provisional(date(2026, 12, 31))
    assert cal.is_provisional(date(cal.verified_through + 1, 1, 1))
    assert cal.is_provisional(date(2000, 6, 1))


def test_is_provisional_accepts_aware_datetimes() -> None:
    cal = BusinessCalendar(verified_through=2026)
    # 2026-12-31 16:30 UTC is already 2027-01-01 in Shanghai.
    assert cal.is_provisional(datetime(2026, 12, 31, 16, 30, tzinfo=UTC))
    assert not cal.is_provisional(datetime(2026, 12, 31, 15, 30, tzinfo=UTC))
    with pytest.raises(InvalidInputError) as info:
        cal.is_provisional(datetime(2026, 12, 31))
    assert info.value.field == "day"


def test_provisional_year_warns_once_per_calendar_and_year() -> None:
    cal = BusinessCalendar(verified_through=2026)
    with pytest.warns(CalendarCoverageWarning, match="2027") as record:
        # Computed from the package's rules: 2027-10-01 (Friday) is National Day.
        assert not cal.is_working_day(date(2027, 10, 1))
    assert len(record) == 1
    assert issubclass(record[0].category, EshopWarning)
    assert record[0].filename == __file__  # attributed to the caller
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cal.is_working_day(date(2027, 10, 8))  # no second warning for 2027
    with pytest.warns(CalendarCoverageWarning):
        BusinessCalendar(verified_through=2026).working_periods(
            date(2027, 3, 1)
        )  # a new calendar warns again


def test_add_into_a_provisional_year_warns() -> None:
    cal = BusinessCalendar(verified_through=2026)
    with pytest.warns(CalendarCoverageWarning, match="2027"):
        due = cal.add(sh(2026, 12, 31, 17, 45), MINUTES_30)
    # 2027-01-01 (Friday) is New Year's Day by the package's rules; Monday 2027-01-04 is next.
    assert due == sh(2027, 1, 4, 9, 15)


def test_elapsed_and_next_working_instant_in_a_provisional_year_warn() -> None:
    cal = BusinessCalendar(verified_through=2026)
    with pytest.warns(CalendarCoverageWarning):
        assert cal.elapsed(sh(2027, 3, 1, 9), sh(2027, 3, 1, 10)) == timedelta(hours=1)
    cal = BusinessCalendar(verified_through=2026)
    with pytest.warns(CalendarCoverageWarning):
        assert cal.next_working_instant(sh(2027, 3, 6, 9)) == sh(2027, 3, 8, 9)


def test_verified_years_do_not_warn(cal: BusinessCalendar) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cal.add(sh(2024, 1, 2, 9), timedelta(hours=100))
        cal.elapsed(sh(2025, 1, 1), sh(2026, 12, 31))
        cal.is_working_day(date(2026, 12, 31))


def test_with_overrides_can_mark_a_year_verified() -> None:
    cal = BusinessCalendar(verified_through=2026)
    official_2027 = cal.with_overrides(
        [DayOverride(date(2027, 2, 20), working=True, note="make-up Saturday (example)")],
        verified_years={2027},
    )
    assert official_2027.verified_years == frozenset({2027})
    assert not official_2027.is_provisional(date(2027, 6, 1))
    assert official_2027.is_provisional(date(2028, 6, 1))
    assert cal.is_provisional(date(2027, 6, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert official_2027.is_working_day(date(2027, 2, 20))


def test_explicit_verified_through() -> None:
    cal = BusinessCalendar(verified_through=2025)
    assert cal.verified_through == 2025
    assert cal.is_provisional(date(2026, 1, 5))
    with pytest.warns(CalendarCoverageWarning):
        assert cal.is_working_day(date(2026, 2, 14))  # data is still used, only flagged


# --------------------------------------------------------------------------- other countries, DST


def test_germany_works() -> None:
    cal = BusinessCalendar(timezone="Europe/Berlin", country="de")
    assert cal.country == "DE"
    assert cal.timezone == BERLIN
    assert not cal.is_working_day(date(2025, 10, 3))  # German Unity Day
    assert not cal.is_working_day(date(2025, 12, 25))
    assert not cal.is_working_day(date(2025, 10, 4))  # Saturday
    assert cal.is_working_day(date(2026, 1, 6))  # Epiphany is regional only
    bavaria = BusinessCalendar(timezone="Europe/Berlin", country="DE", subdivision="BY")
    assert bavaria.subdivision == "BY"
    assert not bavaria.is_working_day(date(2026, 1, 6))
    start = datetime(2025, 10, 2, 17, 45, tzinfo=BERLIN)
    assert cal.add(start, MINUTES_30) == datetime(2025, 10, 6, 9, 15, tzinfo=BERLIN)


def test_united_states_works() -> None:
    new_york = ZoneInfo("America/New_York")
    cal = BusinessCalendar(timezone="America/New_York", country="US", working_hours=((time(9), time(17)),))
    assert not cal.is_working_day(date(2025, 7, 4))
    assert cal.add(datetime(2025, 7, 3, 16, 45, tzinfo=new_york), MINUTES_30) == datetime(
        2025, 7, 7, 9, 15, tzinfo=new_york
    )


def test_custom_weekend() -> None:
    cal = BusinessCalendar(timezone="Asia/Dubai", country="AE", weekend=(5, 6))
    assert cal.weekend == frozenset({5, 6})
    friday_weekend = BusinessCalendar(timezone="Asia/Dubai", country="AE", weekend=(4, 5))
    assert not friday_weekend.is_working_day(date(2025, 3, 7))  # Friday
    assert friday_weekend.is_working_day(date(2025, 3, 9))  # Sunday


def test_elapsed_over_a_dst_change_counts_real_time() -> None:
    # Europe/Berlin springs forward on Sunday 2025-03-30 (02:00 -> 03:00) and falls back on
    # Sunday 2025-10-26 (03:00 -> 02:00). A night shift 01:00-05:00 lasts 3 h and 5 h on those days.
    cal = BusinessCalendar(
        timezone="Europe/Berlin", country="DE", working_hours=((time(1), time(5)),), weekend=()
    )
    assert cal.elapsed(
        datetime(2025, 3, 30, tzinfo=BERLIN), datetime(2025, 3, 31, tzinfo=BERLIN)
    ) == timedelta(hours=3)
    assert cal.elapsed(
        datetime(2025, 10, 26, tzinfo=BERLIN), datetime(2025, 10, 27, tzinfo=BERLIN)
    ) == timedelta(hours=5)
    assert cal.add(datetime(2025, 3, 30, 1, 0, tzinfo=BERLIN), timedelta(hours=3)) == datetime(
        2025, 3, 30, 5, 0, tzinfo=BERLIN
    )
    # Over a normal office week that contains the change, each day still counts its wall-clock hours.
    office = BusinessCalendar(timezone="Europe/Berlin", country="DE")
    assert office.elapsed(
        datetime(2025, 3, 28, 9, 0, tzinfo=BERLIN), datetime(2025, 3, 31, 9, 0, tzinfo=BERLIN)
    ) == timedelta(hours=7, minutes=30)


# --------------------------------------------------------------------------- validation


NAIVE = datetime(2026, 3, 2, 10, 0)
AWARE = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda cal: cal.add(NAIVE, MINUTES_30), "start"),
        (lambda cal: cal.next_working_instant(NAIVE), "at"),
        (lambda cal: cal.elapsed(NAIVE, AWARE), "start"),
        (lambda cal: cal.elapsed(AWARE, NAIVE), "end"),
        (lambda cal: cal.is_provisional(NAIVE), "day"),
    ],
    ids=["add", "next_working_instant", "elapsed-start", "elapsed-end", "is_provisional"],
)
def test_naive_datetimes_are_refused_with_the_field_name(
    cal: BusinessCalendar, call: Callable[[BusinessCalendar], object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        call(cal)
    assert info.value.field == field
    assert "naive" in info.value.reason


def test_day_queries_refuse_datetimes(cal: BusinessCalendar) -> None:
    with pytest.raises(InvalidInputError) as info:
        cal.is_working_day(sh(2026, 3, 2, 10))
    assert info.value.field == "day"
    with pytest.raises(InvalidInputError) as info:
        cal.working_periods("2026-03-02")  # type: ignore[arg-type]
    assert info.value.field == "day"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "Asia"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"timezone": 8}, "timezone"),
        ({"country": "XX"}, "country"),
        ({"country": ""}, "country"),
        ({"country": "DE", "subdivision": "ZZ"}, "subdivision"),
        ({"working_hours": ()}, "working_hours"),
        ({"working_hours": "09:00-18:00"}, "working_hours"),
        ({"working_hours": ((time(12), time(9)),)}, "working_hours.0"),
        ({"working_hours": ((time(9), time(9)),)}, "working_hours.0"),
        ({"working_hours": ((time(9), time(12)), (time(11), time(18)))}, "working_hours.1"),
        ({"working_hours": ((time(13), time(18)), (time(9), time(12)))}, "working_hours.1"),
        ({"working_hours": ((time(9), time(12), time(13)),)}, "working_hours.0"),
        ({"working_hours": (("09:00", "12:00"),)}, "working_hours.0"),
        ({"working_hours": ((time(9, tzinfo=UTC), time(12, tzinfo=UTC)),)}, "working_hours.0"),
        ({"weekend": (7,)}, "weekend"),
        ({"weekend": (-1,)}, "weekend"),
        ({"weekend": (True,)}, "weekend"),
        ({"weekend": range(7)}, "weekend"),
        ({"weekend": 5}, "weekend"),
        ({"verified_through": "2026"}, "verified_through"),
        ({"verified_through": 0}, "verified_through"),
        ({"overrides": [None]}, "overrides.0"),
    ],
)
def test_constructor_validation_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        BusinessCalendar(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_adjacent_periods_are_allowed() -> None:
    cal = BusinessCalendar(working_hours=[(time(9), time(12)), (time(12), time(13))])
    assert cal.add(sh(2026, 3, 2, 11, 45), MINUTES_30) == sh(2026, 3, 2, 12, 15)


def test_properties_and_repr(cal: BusinessCalendar) -> None:
    assert cal.timezone == SHANGHAI
    assert cal.country == "CN"
    assert cal.subdivision is None
    assert cal.working_hours == DEFAULT_WORKING_HOURS
    assert cal.weekend == frozenset({5, 6})
    assert "Asia/Shanghai" in repr(cal)
    assert "CN" in repr(cal)


def test_module_doctests_pass_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = doctest.testmod(calendar_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
