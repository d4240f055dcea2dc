"""
Private copies of aggregates for the memory backend, fast.

The memory backend stores a private copy of every aggregate it is given and
hands out copies, so a caller changing an object never changes what is
stored. ``copy.deepcopy`` rebuilds every value, including the many immutable
ones an aggregate holds (money, times, frozen value objects); this module
shares immutable values and copies only what can change: the aggregate itself
and its lists, dicts and sets, recursively. Anything it does not recognise is
deep-copied, so the result is never less private than ``deepcopy``'s.

Example:
    >>> import attrs
    >>> from eshop_core.storage.snapshots import snapshot
    >>> @attrs.define
    ... class Basket:
    ...     items: list[str]
    >>> original = Basket(items=["tea"])
    >>> copy = snapshot(original)
    >>> copy.items.append("cups")
    >>> original.items
    ['tea']
"""

from __future__ import annotations

import copy
import datetime as _dt
import enum
import types
import typing
import uuid
from decimal import Decimal
from typing import Any, Final, TypeVar

import attrs

from eshop_core.money import Money

__all__ = ["snapshot"]

T = TypeVar("T")

_ATOMIC: Final = (
    str,
    int,
    float,
    bool,
    bytes,
    Decimal,
    _dt.date,
    _dt.time,
    _dt.timedelta,
    uuid.UUID,
    enum.Enum,
    Money,
)
_FROZEN: dict[type[Any], bool] = {}


_DEEP: dict[type[Any], bool] = {}
_IMMUTABLE_HINTS: Final = (
    str,
    int,
    float,
    bool,
    bytes,
    Decimal,
    _dt.date,
    _dt.time,
    _dt.timedelta,
    uuid.UUID,
    Money,
)


def _immutable_hint(hint: Any) -> bool:
    """Whether every value a field annotated ``hint`` can hold is immutable."""
    if hint is type(None) or hint is Any:
        return hint is type(None)
    if isinstance(hint, type):
        if issubclass(hint, _IMMUTABLE_HINTS) or issubclass(hint, enum.Enum):
            return True
        return _frozen_attrs(hint) and _deeply_frozen(hint)
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin is tuple or origin is frozenset:
        return all(_immutable_hint(a) for a in arguments if a is not Ellipsis)
    if origin in (typing.Union, types.UnionType):
        return all(_immutable_hint(a) for a in arguments)
    return False


def _deeply_frozen(kind: type[Any]) -> bool:
    """Whether instances of the frozen attrs class ``kind`` can only hold immutable values (by its hints)."""
    known = _DEEP.get(kind)
    if known is None:
        _DEEP[kind] = False  # a class referring to itself is not assumed immutable
        try:
            hints = typing.get_type_hints(kind)
            known = all(_immutable_hint(hints.get(f.name, Any)) for f in attrs.fields(kind))
        except Exception:  # unresolvable annotations: inspect each instance instead
            known = False
        _DEEP[kind] = known
    return known


def _frozen_attrs(kind: type[Any]) -> bool:
    """Whether ``kind`` is a frozen attrs class (its instances cannot be changed in place)."""
    known = _FROZEN.get(kind)
    if known is None:
        known = _FROZEN[kind] = (
            attrs.has(kind) and getattr(kind.__setattr__, "__name__", "") == "_frozen_setattrs"
        )
    return known


_SHARED_TYPES: set[type[Any]] = {type(None), str, int, bool, Decimal, _dt.datetime, uuid.UUID, Money}


def _copy_value(value: Any) -> Any:
    kind = type(value)
    if kind in _SHARED_TYPES:
        return value
    if isinstance(value, _ATOMIC):
        _SHARED_TYPES.add(kind)  # an immutable type (e.g. an enum): recognise it by type from now on
        return value
    if kind is list:
        return [_copy_value(v) for v in value]
    if kind is tuple:
        return tuple(_copy_value(v) for v in value)
    if kind is dict:
        return {k: _copy_value(v) for k, v in value.items()}
    if kind is set:
        return {_copy_value(v) for v in value}
    if kind is frozenset:
        return value
    if _frozen_attrs(kind):
        if _deeply_frozen(kind):
            _SHARED_TYPES.add(kind)  # its instances hold only immutable values: share them
            return value
        changes = {}
        for field in attrs.fields(kind):
            current = getattr(value, field.name)
            copied = _copy_value(current)
            if copied is not current:
                changes[field.name] = copied
        if not changes:
            return value  # every field immutable: share the object
        clone = copy.copy(value)
        for name, copied in changes.items():
            object.__setattr__(clone, name, copied)
        return clone
    if attrs.has(kind):
        return snapshot(value)
    return copy.deepcopy(value)


def snapshot(obj: T) -> T:
    """Return a private copy of the attrs object ``obj``: shared immutable values, copied mutable ones."""
    clone = copy.copy(obj)
    for field in attrs.fields(type(obj)):  # type: ignore[arg-type]
        current = getattr(obj, field.name)
        copied = _copy_value(current)
        if copied is not current:
            object.__setattr__(clone, field.name, copied)
    return clone
