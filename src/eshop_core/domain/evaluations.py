"""
Evaluations of business partners: a score of 1 to 5 per criterion, with a note.

Suppliers (INV-05) and carriers (LOG-01) are both evaluated this way, each on
its own criteria; an :class:`Evaluation` keeps the scores in the criteria's
order and their mean.

Example:
    >>> from datetime import datetime, timezone
    >>> from eshop_core import Actor
    >>> from eshop_core.domain.evaluations import Evaluation
    >>> at = datetime(2026, 3, 2, tzinfo=timezone.utc)
    >>> Evaluation.record({"price": 4, "quality": 5}, criteria=("quality", "price"),
    ...                   note=None, by=Actor("zhou.min"), at=at).overall
    Decimal('4.50')
    >>> Evaluation.record({"price": 6, "quality": 5}, criteria=("quality", "price"),
    ...                   note=None, by=Actor("zhou.min"), at=at)
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidInputError: invalid scores.price: must be a whole number from 1 to 5, got 6
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Final

import attrs

from eshop_core.access import Actor
from eshop_core.clock import ensure_aware
from eshop_core.errors import InvalidInputError

__all__ = ["Evaluation"]

_MAX_NOTE: Final = 2000


@attrs.frozen(kw_only=True)
class Evaluation:
    """
    One evaluation: a score of 1 to 5 per criterion.

    Attributes:
        scores: ``(criterion, score)`` in the criteria's order.
        note: Free text.
        by: Who evaluated (actor id).
        at: When.
    """

    scores: tuple[tuple[str, int], ...]
    note: str | None
    by: str
    at: datetime

    @classmethod
    def record(
        cls, scores: object, *, criteria: Sequence[str], note: str | None, by: Actor, at: datetime
    ) -> Evaluation:
        """
        Validate ``scores`` against ``criteria`` and return the evaluation.

        Raises:
            InvalidInputError: ``scores`` not a mapping, or ``scores.<criterion>`` missing, unknown
                or not a whole number from 1 to 5; a note over 2000 characters.
        """
        if not isinstance(scores, Mapping):
            raise InvalidInputError("scores", "expected a mapping of criterion to score")
        unknown = sorted(set(scores) - set(criteria))
        if unknown:
            raise InvalidInputError(f"scores.{unknown[0]}", f"unknown criterion; use {', '.join(criteria)}")
        checked = []
        for name in criteria:
            score = scores.get(name)
            if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
                raise InvalidInputError(
                    f"scores.{name}", f"must be a whole number from 1 to 5, got {score!r}"
                )
            checked.append((name, score))
        if note is not None and (not isinstance(note, str) or len(note) > _MAX_NOTE):
            raise InvalidInputError("note", f"must be a string of at most {_MAX_NOTE} characters")
        text = note.strip() if note is not None and note.strip() else None
        return cls(scores=tuple(checked), note=text, by=by.id, at=ensure_aware(at, field="at"))

    @property
    def overall(self) -> Decimal:
        """The mean score, to two places."""
        return (Decimal(sum(score for _name, score in self.scores)) / len(self.scores)).quantize(
            Decimal("0.01")
        )
