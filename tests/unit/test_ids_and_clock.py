"""UUIDv7 ids and injectable clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from eshop_core import FixedClock, InvalidInputError, SystemClock
from eshop_core.clock import ensure_aware
from eshop_core.ids import new_id, parse_id


def test_ids_are_uuid7_and_increase() -> None:
    ids = [new_id() for _ in range(1000)]
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000


def test_parse_id_names_the_field() -> None:
    assert parse_id(str(new_id())).version == 7
    with pytest.raises(InvalidInputError) as info:
        parse_id(42, field="order_id")
    assert info.value.field == "order_id"


def test_fixed_clock_moves_only_forward() -> None:
    clock = FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=8))))
    assert clock.now() == datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    assert clock.advance(timedelta(minutes=30)) == datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
    with pytest.raises(InvalidInputError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(InvalidInputError):
        clock.set(datetime(2020, 1, 1, tzinfo=UTC))


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(InvalidInputError) as info:
        ensure_aware(datetime(2026, 1, 1), field="placed_at")
    assert info.value.field == "placed_at"
    with pytest.raises(InvalidInputError):
        ensure_aware("2026-01-01", field="placed_at")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        FixedClock(datetime(2026, 1, 1))
