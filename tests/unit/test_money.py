from __future__ import annotations

import copy
import decimal
import operator
import pickle
from decimal import Decimal
from typing import Any

import attrs
import pytest

from eshop_core.errors import InvalidInputError
from eshop_core.money import Money, is_known_currency, minor_digits


def cny(amount: str | int) -> Money:
    return Money.of(amount, "CNY")


# -- construction ---------------------------------------------------------------------------


def test_constructor_and_of_build_equal_values() -> None:
    assert Money(Decimal("12.30"), "CNY") == Money.of("12.30", "CNY") == Money.of(Decimal("12.3"), "CNY")
    assert Money.of(12, "CNY").amount == Decimal(12)


def test_amount_is_kept_as_given_not_rounded() -> None:
    assert Money.of("12.345", "CNY").amount == Decimal("12.345")
    assert str(Money.of("12.345", "CNY").amount) == "12.345"


def test_amount_is_a_plain_decimal_even_from_a_decimal_subclass() -> None:
    class MyDecimal(Decimal):
        pass

    assert type(Money.of(MyDecimal("1.5"), "CNY").amount) is Decimal


def test_negative_zero_amount_is_normalised() -> None:
    assert str(Money.of("-0.00", "CNY")) == "0.00 CNY"


def test_money_is_immutable() -> None:
    money = cny("1")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        money.amount = Decimal(2)  # type: ignore[misc]


@pytest.mark.parametrize("amount", [0.1, 1.0, float("nan")])
def test_float_amount_is_refused(amount: float) -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.of(amount, "CNY")  # type: ignore[arg-type]
    assert info.value.field == "amount"
    assert "float" in info.value.reason


def test_float_amount_is_refused_by_the_constructor() -> None:
    with pytest.raises(InvalidInputError) as info:
        Money(0.5, "CNY")  # type: ignore[arg-type]
    assert info.value.field == "amount"


@pytest.mark.parametrize(
    "amount", ["NaN", "Infinity", "-Infinity", "sNaN", Decimal("NaN"), Decimal("-Infinity")]
)
def test_non_finite_amount_is_refused(amount: str | Decimal) -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.of(amount, "CNY")
    assert info.value.field == "amount"


@pytest.mark.parametrize("amount", ["", "abc", "1,5", "¥1"])
def test_text_that_is_not_a_number_is_refused(amount: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.of(amount, "CNY")
    assert info.value.field == "amount"


@pytest.mark.parametrize("amount", [True, False])
def test_bool_amount_is_refused(amount: bool) -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.of(amount, "CNY")
    assert info.value.field == "amount"


@pytest.mark.parametrize("amount", [None, [1], b"1"])
def test_amount_of_another_type_is_refused(amount: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.of(amount, "CNY")
    assert info.value.field == "amount"


def test_absurdly_large_amount_is_refused() -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.of("1E+100", "CNY")
    assert info.value.field == "amount"
    assert Money.of("0E+500", "CNY").rounded() == Money.zero("CNY")


@pytest.mark.parametrize("currency", ["XYZ", "", "RMB", "CNY ", "EURO"])
def test_unknown_currency_is_refused(currency: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.of("1", currency)
    assert info.value.field == "currency"


def test_lower_case_currency_is_refused_with_a_hint() -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.of("1", "cny")
    assert info.value.field == "currency"
    assert "'CNY'" in info.value.reason


@pytest.mark.parametrize("currency", ["XAU", "XXX", "XTS", "XDR"])
def test_currency_without_minor_unit_is_refused(currency: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.of("1", currency)
    assert info.value.field == "currency"
    assert "minor unit" in info.value.reason


@pytest.mark.parametrize("currency", [None, 156, b"CNY", ["CNY"]])
def test_non_string_currency_is_refused(currency: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.of("1", currency)
    assert info.value.field == "currency"


def test_refusal_of_a_huge_currency_string_keeps_the_message_short() -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.of("1", "Q" * 100_000)
    assert info.value.field == "currency"
    assert len(str(info.value)) < 200


def test_zero_is_written_with_the_minor_digits() -> None:
    assert repr(Money.zero("CNY")) == "Money('0.00', 'CNY')"
    assert repr(Money.zero("JPY")) == "Money('0', 'JPY')"
    assert repr(Money.zero("BHD")) == "Money('0.000', 'BHD')"
    assert not Money.zero("CNY")


def test_zero_refuses_an_unknown_currency() -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.zero("ABC")
    assert info.value.field == "currency"


# -- minor units ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("CNY", 2), ("USD", 2), ("JPY", 0), ("KRW", 0), ("BHD", 3), ("KWD", 3), ("CLF", 4), ("UYW", 4)],
)
def test_minor_digits_follow_iso_4217(currency: str, digits: int) -> None:
    assert minor_digits(currency) == digits
    assert Money.zero(currency).minor_digits == digits


def test_minor_digits_refuses_unknown_codes() -> None:
    with pytest.raises(InvalidInputError) as info:
        minor_digits("XAU")
    assert info.value.field == "currency"


def test_is_known_currency() -> None:
    assert is_known_currency("CNY")
    assert is_known_currency("CLF")
    assert not is_known_currency("cny")
    assert not is_known_currency("XAU")
    assert not is_known_currency("XXX")
    assert not is_known_currency("ABC")
    assert not is_known_currency(None)
    assert not is_known_currency(["CNY"])


def test_from_minor_units() -> None:
    assert repr(Money.from_minor_units(1230, "CNY")) == "Money('12.30', 'CNY')"
    assert repr(Money.from_minor_units(-5, "CNY")) == "Money('-0.05', 'CNY')"
    assert repr(Money.from_minor_units(1230, "JPY")) == "Money('1230', 'JPY')"
    assert repr(Money.from_minor_units(1230, "BHD")) == "Money('1.230', 'BHD')"
    assert repr(Money.from_minor_units(0, "CNY")) == "Money('0.00', 'CNY')"


@pytest.mark.parametrize("units", [1.0, True, "100", Decimal(100)])
def test_from_minor_units_refuses_anything_but_int(units: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.from_minor_units(units, "CNY")
    assert info.value.field == "units"


def test_from_minor_units_refuses_an_unknown_currency() -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.from_minor_units(1, "XXX")
    assert info.value.field == "currency"


def test_to_minor_units() -> None:
    assert cny("12.30").to_minor_units() == 1230
    assert cny("12.3").to_minor_units() == 1230
    assert cny("12.300").to_minor_units() == 1230
    assert cny("-0.05").to_minor_units() == -5
    assert Money.of("1230", "JPY").to_minor_units() == 1230
    assert Money.of("1.234", "BHD").to_minor_units() == 1234


def test_to_minor_units_refuses_amounts_below_the_minor_unit() -> None:
    with pytest.raises(InvalidInputError) as info:
        cny("12.345").to_minor_units()
    assert info.value.field == "amount"
    assert cny("12.345").rounded().to_minor_units() == 1235


# -- rounding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.005", "CNY", "0.01"),
        ("0.004", "CNY", "0.00"),
        ("0.015", "CNY", "0.02"),  # half-up, not banker's rounding
        ("0.025", "CNY", "0.03"),
        ("-0.005", "CNY", "-0.01"),  # ties go away from zero
        ("-0.004", "CNY", "0.00"),  # no negative zero
        ("12.3", "CNY", "12.30"),
        ("0.5", "JPY", "1"),
        ("2.5", "JPY", "3"),
        ("-2.5", "JPY", "-3"),
        ("2.4999", "JPY", "2"),
        ("1.2345", "BHD", "1.235"),
        ("1.2344", "BHD", "1.234"),
        ("0.00005", "CLF", "0.0001"),
    ],
)
def test_rounding_is_half_up_at_the_minor_unit(amount: str, currency: str, expected: str) -> None:
    result = Money.of(amount, currency).rounded()
    assert str(result.amount) == expected
    assert result.currency == currency
    assert result.is_rounded


def test_is_rounded() -> None:
    assert cny("12.30").is_rounded
    assert cny("12.300").is_rounded
    assert cny("12").is_rounded
    assert not cny("12.305").is_rounded
    assert not Money.of("0.5", "JPY").is_rounded


# -- arithmetic -------------------------------------------------------------------------------


def test_addition_and_subtraction() -> None:
    assert cny("12.30") + cny("0.70") == cny("13")
    assert cny("1") - cny("2.50") == cny("-1.50")
    assert repr(cny("0.10") + cny("0.20")) == "Money('0.30', 'CNY')"


def test_arithmetic_is_exact_whatever_the_decimal_context() -> None:
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = decimal.ROUND_FLOOR
        assert (cny("123456.789") + cny("0.001")).amount == Decimal("123456.790")
        assert (cny("123456.789") * 3).amount == Decimal("370370.367")


def test_addition_refuses_another_currency() -> None:
    with pytest.raises(InvalidInputError) as info:
        cny("1") + Money.of("1", "USD")
    assert info.value.field == "currency"
    assert "CNY" in info.value.reason
    assert "USD" in info.value.reason


def test_subtraction_refuses_another_currency() -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.of("1", "JPY") - cny("1")
    assert info.value.field == "currency"
    assert "JPY" in info.value.reason
    assert "CNY" in info.value.reason


@pytest.mark.parametrize("operand", [0.5, 0.0])
def test_adding_or_subtracting_a_float_is_refused(operand: float) -> None:
    with pytest.raises(InvalidInputError) as info:
        cny("1") + operand  # type: ignore[operator]
    assert info.value.field == "amount"
    with pytest.raises(InvalidInputError) as info:
        operand + cny("1")  # type: ignore[operator]
    assert info.value.field == "amount"
    with pytest.raises(InvalidInputError) as info:
        cny("1") - operand  # type: ignore[operator]
    assert info.value.field == "amount"


@pytest.mark.parametrize("operand", [1, Decimal(1), "1"])
def test_adding_a_bare_number_is_a_type_error(operand: Any) -> None:
    with pytest.raises(TypeError):
        cny("1") + operand
    with pytest.raises(TypeError):
        cny("1") - operand


def test_builtin_sum_works_from_its_zero_start() -> None:
    assert sum([cny("1.10"), cny("2.20"), cny("3.30")]) == cny("6.60")
    assert cny("1") + 0 == cny("1")


def test_money_sum() -> None:
    assert Money.sum([cny("1.10"), cny("2.20")], "CNY") == cny("3.30")
    assert Money.sum((cny(str(i)) for i in range(4)), "CNY") == cny("6")
    assert repr(Money.sum([], "CNY")) == "Money('0.00', 'CNY')"


def test_money_sum_refuses_another_currency() -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.sum([cny("1"), Money.of("1", "USD")], "CNY")
    assert info.value.field == "currency"
    with pytest.raises(InvalidInputError) as info:
        Money.sum([cny("1")], "USD")
    assert info.value.field == "currency"


@pytest.mark.parametrize("item", [1.5, 1, Decimal(1), None])
def test_money_sum_refuses_items_that_are_not_money(item: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        Money.sum([cny("1"), item], "CNY")
    assert info.value.field == "items"


def test_negation_and_absolute_value() -> None:
    assert -cny("1.50") == cny("-1.50")
    negated = -cny("1.50")
    assert -negated == cny("1.50")
    assert abs(cny("-1.50")) == cny("1.50")
    assert abs(cny("1.50")) == cny("1.50")
    assert +cny("1.50") == cny("1.50")
    assert str(-Money.zero("CNY")) == "0.00 CNY"


@pytest.mark.parametrize(
    ("factor", "expected"),
    [(3, "36.90"), (Decimal("0.13"), "1.5990"), (Decimal("-1"), "-12.30"), (0, "0.00")],
)
def test_multiplication_by_int_or_decimal_is_exact_and_unrounded(
    factor: int | Decimal, expected: str
) -> None:
    money = cny("12.30")
    assert str((money * factor).amount) == expected
    assert str((factor * money).amount) == expected


def test_multiplication_result_is_not_rounded() -> None:
    result = cny("19.99") * Decimal("0.13")
    assert result.amount == Decimal("2.5987")
    assert not result.is_rounded
    assert result.rounded() == cny("2.60")


def test_multiplication_by_float_is_refused() -> None:
    with pytest.raises(InvalidInputError) as info:
        cny("1") * 1.5  # type: ignore[operator]
    assert info.value.field == "factor"
    with pytest.raises(InvalidInputError) as info:
        1.5 * cny("1")  # type: ignore[operator]
    assert info.value.field == "factor"


@pytest.mark.parametrize("factor", [True, Decimal("NaN"), Decimal("Infinity")])
def test_multiplication_by_bool_or_non_finite_decimal_is_refused(factor: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        cny("1") * factor
    assert info.value.field == "factor"


def test_multiplication_of_money_by_money_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        cny("1") * cny("2")  # type: ignore[operator]


def test_result_needing_too_many_digits_is_refused_not_rounded() -> None:
    third = Decimal(1) / Decimal(3)  # 28 digits
    money = cny("1")
    for _ in range(7):  # about 7 * 28 significant digits: still exact
        money = money * third
    assert len(money.amount.as_tuple().digits) > 190
    with pytest.raises(InvalidInputError) as info:
        money * third
    assert info.value.field == "amount"


def test_bool_is_true_for_nonzero_amounts() -> None:
    assert cny("0.01")
    assert cny("-0.01")
    assert not cny("0")
    assert not cny("0.00")


# -- equality, hashing, ordering ----------------------------------------------------------------


def test_equality_compares_value_and_currency() -> None:
    assert cny("1.0") == cny("1.00") == cny("1")
    assert cny("1") != Money.of("1", "USD")
    assert cny("1") != cny("1.01")
    one: object = 1
    assert cny("1") != one
    assert cny("1") != Decimal(1)


def test_hash_is_consistent_with_equality() -> None:
    assert hash(cny("1.0")) == hash(cny("1.00"))
    assert len({cny("1.0"), cny("1.00"), cny("1"), Money.of("1", "USD")}) == 2


def test_ordering_within_one_currency() -> None:
    assert cny("1") < cny("1.01")
    assert cny("1") <= cny("1.00")
    assert cny("2") > cny("-3")
    assert cny("2") >= cny("2.0")
    assert sorted([cny("3"), cny("-1"), cny("2")]) == [cny("-1"), cny("2"), cny("3")]
    assert max(cny("3"), cny("4")) == cny("4")


def test_ordering_refuses_another_currency() -> None:
    for compare in (operator.lt, operator.le, operator.gt, operator.ge):
        with pytest.raises(InvalidInputError) as info:
            compare(cny("1"), Money.of("1", "USD"))
        assert info.value.field == "currency"


def test_ordering_against_a_float_is_refused_and_against_a_number_is_a_type_error() -> None:
    with pytest.raises(InvalidInputError) as info:
        cny("1") < 1.5  # type: ignore[operator]  # noqa: B015
    assert info.value.field == "amount"
    with pytest.raises(TypeError):
        cny("1") < 2  # type: ignore[operator]  # noqa: B015


def test_money_survives_pickle_and_copy() -> None:
    money = cny("12.30")
    assert pickle.loads(pickle.dumps(money)) == money
    assert copy.deepcopy(money) == money
    assert attrs.evolve(money, amount=Decimal("1")) == cny("1")


# -- allocation ---------------------------------------------------------------------------------


def test_allocate_100_cny_in_three() -> None:
    parts = cny("100").allocate([1, 1, 1])
    assert [str(p.amount) for p in parts] == ["33.34", "33.33", "33.33"]
    assert Money.sum(parts, "CNY") == cny("100")


def test_allocate_gives_left_over_units_to_largest_remainders() -> None:
    # exact shares 0.0166.., 0.0333.., 0.05 -> floors 1, 3, 5 fen; remainders 2/3, 1/3, 0
    parts = cny("0.10").allocate([1, 2, 3])
    assert [str(p.amount) for p in parts] == ["0.02", "0.03", "0.05"]


def test_allocate_breaks_ties_by_earliest_index() -> None:
    parts = cny("0.05").allocate([1, 1, 1, 1])
    assert [str(p.amount) for p in parts] == ["0.02", "0.01", "0.01", "0.01"]
    parts = cny("0.02").allocate([0, 1, 1, 1])
    assert [str(p.amount) for p in parts] == ["0.00", "0.01", "0.01", "0.00"]


def test_allocate_splits_the_rounded_amount() -> None:
    parts = cny("10.005").allocate([1, 1])
    assert [str(p.amount) for p in parts] == ["5.01", "5.00"]
    assert Money.sum(parts, "CNY") == cny("10.01")


def test_allocate_negative_amount_symmetrically() -> None:
    parts = cny("-100").allocate([1, 1, 1])
    assert [str(p.amount) for p in parts] == ["-33.34", "-33.33", "-33.33"]


def test_allocate_with_decimal_and_mixed_weights() -> None:
    parts = cny("100").allocate([Decimal("0.5"), Decimal("0.25"), 0, Decimal("0.25")])
    assert [str(p.amount) for p in parts] == ["50.00", "25.00", "0.00", "25.00"]
    parts = cny("10").allocate([Decimal("29.99"), 10])
    assert [str(p.amount) for p in parts] == ["7.50", "2.50"]


def test_allocate_in_currencies_with_other_minor_units() -> None:
    assert [str(p.amount) for p in Money.of("100", "JPY").allocate([1, 1, 1])] == ["34", "33", "33"]
    assert [str(p.amount) for p in Money.of("1", "BHD").allocate([1, 1, 1])] == ["0.334", "0.333", "0.333"]


def test_allocate_zero_and_single_weight() -> None:
    assert cny("0").allocate([1, 2]) == [Money.zero("CNY"), Money.zero("CNY")]
    assert cny("12.345").allocate([7]) == [cny("12.35")]


@pytest.mark.parametrize(
    "weights",
    [[], [0], [0, 0, 0], [1, -1], [Decimal("-0.5"), 2], [1, 0.5], [True, 1], [Decimal("NaN")], ["1"], "11"],
)
def test_allocate_refuses_bad_weights(weights: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        cny("100").allocate(weights)
    assert info.value.field == "weights"


def test_allocate_refuses_a_non_sequence() -> None:
    with pytest.raises(InvalidInputError) as info:
        cny("100").allocate(3)  # type: ignore[arg-type]
    assert info.value.field == "weights"


# -- text -----------------------------------------------------------------------------------------


def test_str_uses_the_minor_digits_when_exact() -> None:
    assert str(cny("12.3")) == "12.30 CNY"
    assert str(cny("12.300")) == "12.30 CNY"
    assert str(cny("12.345")) == "12.345 CNY"
    assert str(Money.of("1E+5", "CNY")) == "100000.00 CNY"
    assert str(Money.of("1500", "JPY")) == "1500 JPY"
    assert str(Money.of("1.5", "BHD")) == "1.500 BHD"
    assert str(cny("-0.05")) == "-0.05 CNY"


def test_repr_shows_the_exact_amount_and_round_trips() -> None:
    assert repr(cny("12.30")) == "Money('12.30', 'CNY')"
    assert repr(cny("12.3")) == "Money('12.3', 'CNY')"
    for money in (cny("12.30"), cny("-0.001"), Money.of("1E+5", "JPY")):
        assert eval(repr(money), {"Money": Money}) == money


@pytest.mark.parametrize(
    ("money", "locale", "expected"),
    [
        (cny("1234.5"), "zh_CN", "¥1,234.50"),
        (cny("-1234.5"), "zh_CN", "-¥1,234.50"),
        (cny("0.005"), "zh_CN", "¥0.01"),
        (Money.of("1234.5", "JPY"), "zh_CN", "JP¥1,235"),
        (Money.of("1.2345", "BHD"), "zh_CN", "BHD1.235"),
        (cny("1234.5"), "en_US", "CN¥1,234.50"),
        (Money.of("1234.5", "USD"), "en_US", "$1,234.50"),
        (Money.of("1234.5", "JPY"), "en_US", "¥1,235"),
        (Money.of("1", "CLF"), "en_US", "CLF1.0000"),
        (cny("1234.5"), "zh-CN", "¥1,234.50"),
        (Money.of("1234.5", "EUR"), "de_DE", "1.234,50\xa0€"),
    ],
)
def test_format_uses_the_locale_and_the_iso_minor_digits(money: Money, locale: str, expected: str) -> None:
    assert money.format(locale) == expected


def test_format_defaults_to_zh_cn() -> None:
    assert cny("12.3").format() == "¥12.30"


@pytest.mark.parametrize("locale", ["xx_YY", "", "not a locale", None, 3])
def test_format_refuses_an_unknown_locale(locale: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        cny("1").format(locale)
    assert info.value.field == "locale"
