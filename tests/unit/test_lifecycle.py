"""The transition-table helper, walked by hypothesis."""

from __future__ import annotations

from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eshop_core import InvalidTransitionError
from eshop_core.domain import Lifecycle
from eshop_core.testing.example import WIDGET_LIFECYCLE, WidgetState


class Light(StrEnum):
    RED = "red"
    GREEN = "green"
    BROKEN = "broken"


LIGHT = Lifecycle(
    "Light",
    {(Light.RED, "go"): Light.GREEN, (Light.GREEN, "stop"): Light.RED, (Light.RED, "smash"): Light.BROKEN},
    initial=Light.RED,
    terminal={Light.BROKEN},
)


@given(st.lists(st.sampled_from(["go", "stop", "smash", "fly"]), max_size=30))
def test_walks_follow_the_table_exactly(actions: list[str]) -> None:
    state = LIGHT.initial
    for action in actions:
        if (state, action) in LIGHT.transitions:
            state = LIGHT.fire(state, action, subject="light")
        else:
            with pytest.raises(InvalidTransitionError) as info:
                LIGHT.fire(state, action, subject="light")
            assert (info.value.state, info.value.action) == (state, action)
        assert state in Light
    if state is Light.BROKEN:
        assert LIGHT.actions(state) == ()


def test_terminal_states_cannot_have_exits() -> None:
    with pytest.raises(ValueError, match="terminal"):
        Lifecycle("Bad", {(Light.BROKEN, "fix"): Light.RED}, initial=Light.RED, terminal={Light.BROKEN})


def test_mermaid_diagram_lists_every_transition() -> None:
    diagram = WIDGET_LIFECYCLE.to_mermaid()
    assert diagram.startswith("stateDiagram-v2")
    assert "active --> retired: retire" in diagram
    assert "retired --> [*]" in diagram
    assert WIDGET_LIFECYCLE.actions(WidgetState.ACTIVE) == ("rename", "retire", "review")
