"""
Explicit lifecycles as transition tables.

A lifecycle is a ``StrEnum`` of states plus a ``Final`` mapping
``(state, action) -> next state``. :meth:`Lifecycle.fire` answers the next
state or raises :class:`~eshop_core.errors.InvalidTransitionError` naming the
subject, the state and the action. Tables are small enough to draw in the docs
(:meth:`Lifecycle.to_mermaid`) and hypothesis walks them.

Example:
    >>> from enum import StrEnum
    >>> from eshop_core.domain import Lifecycle
    >>> class Door(StrEnum):
    ...     OPEN = "open"
    ...     CLOSED = "closed"
    >>> DOOR = Lifecycle("Door", {(Door.OPEN, "close"): Door.CLOSED, (Door.CLOSED, "open"): Door.OPEN},
    ...                  initial=Door.CLOSED)
    >>> DOOR.fire(Door.CLOSED, "open", subject="door 1")
    <Door.OPEN: 'open'>
    >>> DOOR.fire(Door.OPEN, "open", subject="door 1")
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidTransitionError: door 1: cannot open when open
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Generic, TypeVar

from eshop_core.errors import InvalidTransitionError

__all__ = ["Lifecycle"]

S = TypeVar("S", bound=StrEnum)


class Lifecycle(Generic[S]):
    """
    A transition table over the states ``S``.

    Args:
        name: The lifecycle's name (for docs and diagrams).
        transitions: ``(state, action) -> next state``.
        initial: The state new objects start in.
        terminal: States with no way out (checked: none may have transitions).
    """

    __slots__ = ("_table", "initial", "name", "terminal")

    def __init__(
        self,
        name: str,
        transitions: Mapping[tuple[S, str], S],
        *,
        initial: S,
        terminal: Iterable[S] = (),
    ) -> None:
        self.name = name
        self._table: Mapping[tuple[S, str], S] = MappingProxyType(dict(transitions))
        self.initial = initial
        self.terminal = frozenset(terminal)
        leaking = sorted({s for (s, _a) in self._table if s in self.terminal})
        if leaking:
            raise ValueError(f"{name}: terminal states {leaking} have outgoing transitions")

    @property
    def transitions(self) -> Mapping[tuple[S, str], S]:
        """The table itself (read-only)."""
        return self._table

    def can(self, state: S, action: str) -> bool:
        """Whether ``action`` is allowed in ``state``."""
        return (state, action) in self._table

    def actions(self, state: S) -> tuple[str, ...]:
        """The actions allowed in ``state``, sorted."""
        return tuple(sorted(a for (s, a) in self._table if s == state))

    def fire(self, state: S, action: str, *, subject: str) -> S:
        """Return the state after ``action``, or raise :class:`InvalidTransitionError`."""
        try:
            return self._table[(state, action)]
        except KeyError:
            raise InvalidTransitionError(subject, str(state), action) from None

    def to_mermaid(self) -> str:
        """Return the table as a Mermaid ``stateDiagram-v2`` for the docs."""
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        lines += [f"    {s} --> {t}: {a}" for (s, a), t in sorted(self._table.items())]
        lines += [f"    {s} --> [*]" for s in sorted(self.terminal)]
        return "\n".join(lines)
