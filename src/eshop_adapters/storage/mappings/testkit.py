"""
Tables of the test kit: the example ``Widget`` aggregate and its stock.

``testkit_widgets`` holds :class:`~eshop_core.testing.example.Widget`;
``testkit_widget_stock`` holds the levels behind the atomic
:class:`~eshop_core.testing.example.WidgetStock` port (one row per widget,
never below zero).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import CheckConstraint, Column, Integer, String, Table

from eshop_adapters.storage.mapping import (
    AggregateMapping,
    Rows,
    id_column,
    money_columns,
    money_from,
    money_values,
    personal_columns,
    version_column,
)
from eshop_adapters.storage.metadata import METADATA
from eshop_adapters.storage.types import JSON_DOCUMENT, UUID, UTCDateTime
from eshop_core.money import Money
from eshop_core.testing.example import Widget, WidgetState

__all__ = ["WIDGET_MAPPING", "WidgetMapping", "testkit_widget_stock", "testkit_widgets"]

testkit_widgets: Final = Table(
    "testkit_widgets",
    METADATA,
    id_column(),
    version_column(),
    Column("name", String(200), nullable=False, index=True),
    *personal_columns("owner_email", blind_index=True, nullable=False),
    *personal_columns("owner_phone", blind_index=True),
    *money_columns("price"),
    Column("state", String(32), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("reviews", Integer, nullable=False),
    Column("tags", JSON_DOCUMENT, nullable=False),
)

testkit_widget_stock: Final = Table(
    "testkit_widget_stock",
    METADATA,
    Column("widget_id", UUID, primary_key=True),
    Column("level", Integer, nullable=False),
    CheckConstraint("level >= 0", name="level_not_negative"),
)


class WidgetMapping(AggregateMapping[Widget]):
    """Maps :class:`~eshop_core.testing.example.Widget` onto ``testkit_widgets``."""

    def __init__(self) -> None:
        super().__init__(Widget, testkit_widgets)

    def dump(self, aggregate: Widget) -> dict[str, Any]:
        """Return the widget's plain columns."""
        return {
            "name": aggregate.name,
            **money_values("price", aggregate.price),
            "state": aggregate.state.value,
            "created_at": aggregate.created_at,
            "reviews": aggregate.reviews,
            "tags": list(aggregate.tags),
        }

    def load(self, values: Mapping[str, Any], children: Rows) -> Widget:
        """Build the widget from its row."""
        price = money_from(values, "price")
        return Widget(
            id=values["id"],
            version=values["version"],
            name=values["name"],
            owner_email=values["owner_email"],
            owner_phone=values["owner_phone"],
            price=price if price is not None else Money.zero("CNY"),
            state=WidgetState(values["state"]),
            created_at=values["created_at"],
            reviews=values["reviews"],
            tags=tuple(values["tags"]),
        )


WIDGET_MAPPING: Final = WidgetMapping()
"""The Widget mapping, registered in :data:`~eshop_adapters.storage.mappings.MAPPINGS`."""
