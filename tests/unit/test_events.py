"""Event envelopes: what leaves the process."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

import attrs

from eshop_core import Actor, EventEnvelope, Money
from eshop_core.events import DomainEvent, json_safe


class Colour(StrEnum):
    RED = "red"


@attrs.frozen(kw_only=True)
class ThingShipped(DomainEvent):
    tracking_no: str
    consignee_phone: str = attrs.field(metadata={"pii": True})
    total: Money
    colour: Colour
    lines: tuple[int, ...] = ()


AT = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def _event() -> ThingShipped:
    return ThingShipped(
        occurred_at=AT,
        actor=Actor("wu.gang"),
        policy_version=3,
        tracking_no="SF123",
        consignee_phone="13800138000",
        total=Money.of("99.90", "CNY"),
        colour=Colour.RED,
        lines=(1, 2),
    )


def test_envelope_payload_leaves_personal_data_out() -> None:
    env = EventEnvelope.wrap(
        _event(), aggregate_type="Order", aggregate_id=uuid.UUID(int=7), aggregate_version=4
    )
    assert env.payload == {
        "tracking_no": "SF123",
        "total": {"amount": "99.90", "currency": "CNY"},
        "colour": "red",
        "lines": [1, 2],
    }
    assert "13800138000" not in json.dumps(env.to_dict())
    assert (env.type, env.actor_id, env.policy_version, env.aggregate_version) == (
        "ThingShipped",
        "wu.gang",
        3,
        4,
    )
    assert env.id.version == 7


def test_envelope_round_trips_through_json() -> None:
    env = EventEnvelope.wrap(
        _event(), aggregate_type="Order", aggregate_id=uuid.UUID(int=7), aggregate_version=4
    )
    again = EventEnvelope.from_dict(json.loads(json.dumps(env.to_dict())))
    assert again == env


def test_json_safe_handles_domain_values() -> None:
    assert json_safe({"d": Decimal("1.10"), "day": date(2026, 1, 2), "s": {2, 1}}) == {
        "d": "1.10",
        "day": "2026-01-02",
        "s": [1, 2],
    }


def test_events_refuse_naive_times_and_floats() -> None:
    import pytest

    from eshop_core import InvalidInputError

    with pytest.raises(InvalidInputError) as info:
        ThingShipped(
            occurred_at=datetime(2026, 1, 5),
            actor=Actor("wu.gang"),
            tracking_no="SF1",
            consignee_phone="1",
            total=Money.of("1.00", "CNY"),
            colour=Colour.RED,
        )
    assert info.value.field == "occurred_at"
    with pytest.raises(InvalidInputError) as info:
        json_safe({"weight": 1.5})
    assert info.value.field == "payload"
