from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import allocation_weights, currencies, money

from eshop_core.money import Money


def same_currency(size: int, *, rounded: bool = True) -> st.SearchStrategy[tuple[Money, ...]]:
    """``size`` Money values sharing one currency."""
    return currencies().flatmap(
        lambda code: st.tuples(*(money(code, rounded=rounded) for _ in range(size))),
    )


@given(same_currency(2, rounded=False))
def test_addition_is_commutative(pair: tuple[Money, Money]) -> None:
    a, b = pair
    assert a + b == b + a


@given(same_currency(3, rounded=False))
def test_addition_is_associative(triple: tuple[Money, Money, Money]) -> None:
    a, b, c = triple
    assert (a + b) + c == a + (b + c)


@given(money(rounded=False))
def test_zero_is_the_identity_of_addition(a: Money) -> None:
    zero = Money.zero(a.currency)
    assert a + zero == a
    assert zero + a == a
    assert a - zero == a
    assert sum([a]) == a


@given(money(rounded=False))
def test_money_minus_itself_is_zero(a: Money) -> None:
    difference = a - a
    assert difference == Money.zero(a.currency)
    assert not difference
    assert not difference.amount.is_signed()


@given(money(rounded=False))
def test_negation(a: Money) -> None:
    assert a + (-a) == Money.zero(a.currency)
    negated = -a
    assert -negated == a
    assert -a == a * -1
    assert abs(-a) == abs(a)
    assert abs(a).amount >= 0


@given(same_currency(2, rounded=False))
def test_subtraction_is_adding_the_negation(pair: tuple[Money, Money]) -> None:
    a, b = pair
    assert a - b == a + (-b)
    assert (a < b) == (b - a > Money.zero(a.currency))


@given(same_currency(2), st.integers(min_value=-1000, max_value=1000))
def test_multiplication_distributes_over_addition(pair: tuple[Money, Money], factor: int) -> None:
    a, b = pair
    assert (a + b) * factor == a * factor + b * factor


@given(money(rounded=False))
def test_rounding_is_idempotent_and_moves_less_than_half_a_minor_unit(a: Money) -> None:
    once = a.rounded()
    assert once.rounded() == once
    assert once.is_rounded
    half_unit = Decimal(1).scaleb(-a.minor_digits) / 2
    assert abs(once.amount - a.amount) <= half_unit


@given(money())
def test_rounded_money_is_unchanged_by_rounding(a: Money) -> None:
    assert a.is_rounded
    assert a.rounded() == a


@given(money())
def test_minor_units_round_trip(a: Money) -> None:
    assert Money.from_minor_units(a.to_minor_units(), a.currency) == a


@given(st.integers(min_value=-(10**15), max_value=10**15), currencies())
def test_minor_units_round_trip_from_int(units: int, currency: str) -> None:
    assert Money.from_minor_units(units, currency).to_minor_units() == units


@settings(deadline=None)
@given(money(rounded=False), allocation_weights())
def test_allocation_parts_sum_to_the_rounded_amount_and_stay_within_a_unit_of_the_share(
    a: Money,
    weights: list[int | Decimal],
) -> None:
    parts = a.allocate(weights)
    assert len(parts) == len(weights)
    assert all(part.currency == a.currency and part.is_rounded for part in parts)
    total = a.rounded()
    assert Money.sum(parts, a.currency) == total

    unit = Fraction(1, 10**a.minor_digits)
    total_weight = sum(Fraction(w) for w in weights)
    for part, weight in zip(parts, weights, strict=True):
        share = Fraction(total.amount) * Fraction(weight) / total_weight
        assert abs(Fraction(part.amount) - share) < unit
        if weight == 0:
            assert not part


@settings(deadline=None)
@given(money(rounded=False), st.integers(min_value=1, max_value=20), st.integers(min_value=1, max_value=1000))
def test_allocation_with_equal_weights_gives_parts_at_most_one_unit_apart(
    a: Money, count: int, weight: int
) -> None:
    parts = a.allocate([weight] * count)
    units = [part.to_minor_units() for part in parts]
    assert max(units) - min(units) <= 1
    # the larger parts come first (ties go to the earliest index)
    magnitudes = [abs(u) for u in units]
    assert magnitudes == sorted(magnitudes, reverse=True)


@given(money(rounded=False), allocation_weights())
def test_allocation_of_the_negation_is_the_negated_allocation(a: Money, weights: list[int | Decimal]) -> None:
    assert (-a).allocate(weights) == [-part for part in a.allocate(weights)]


@given(money(rounded=False), allocation_weights(), st.integers(min_value=1, max_value=1000))
def test_allocation_ignores_the_scale_of_the_weights(
    a: Money, weights: list[int | Decimal], scale: int
) -> None:
    assert a.allocate(weights) == a.allocate([w * scale for w in weights])


@given(money(rounded=False))
def test_equal_values_hash_alike(a: Money) -> None:
    padded = Money(a.amount + Decimal("0.000000"), a.currency)  # same value, more trailing zeros
    assert padded == a
    assert hash(padded) == hash(a)


@given(money(rounded=False))
def test_repr_round_trips(a: Money) -> None:
    assert eval(repr(a), {"Money": Money}) == a
