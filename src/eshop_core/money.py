"""
Money: an exact amount of one ISO 4217 currency.

Design:

* A :class:`Money` is an immutable pair of a :class:`~decimal.Decimal` amount and an
  upper-case ISO 4217 alphabetic currency code. Floats are refused everywhere (amounts,
  operands, factors, allocation weights): binary floating point cannot hold ``0.1``.
* The number of minor-unit digits of a currency comes from the ISO 4217 table (the
  :mod:`iso4217` package): CNY 2, JPY 0, BHD 3, CLF 4. CLDR's "cash" digits used by
  Babel differ for some currencies, so Babel is only used for display
  (:meth:`Money.format`). Codes whose minor unit ISO 4217 gives as "N.A." (precious metals
  such as XAU, fund codes such as XDR, XTS for testing and XXX "no currency") are refused:
  they are not money a shop charges in, and guessing 0 digits for gold would be wrong.
* Arithmetic is exact and independent of the caller's :mod:`decimal` context: results are
  not rounded, and anything that would need more than 200 significant digits is refused
  rather than silently rounded. Rounding happens only when asked for
  (:meth:`Money.rounded`), always ``ROUND_HALF_UP`` at the minor unit.
* :meth:`Money.allocate` splits the rounded amount in minor units by the largest-remainder
  method, so the parts always add up exactly to the whole.

Example:
    >>> from decimal import Decimal
    >>> from eshop_core.money import Money
    >>> price = Money.of("19.99", "CNY")
    >>> price * 3
    Money('59.97', 'CNY')
    >>> tax = price * Decimal("0.13")
    >>> tax, tax.rounded()
    (Money('2.5987', 'CNY'), Money('2.60', 'CNY'))
    >>> [str(part) for part in Money.of(100, "CNY").allocate([1, 1, 1])]
    ['33.34 CNY', '33.33 CNY', '33.33 CNY']
    >>> price + Money.of(1, "USD")
    Traceback (most recent call last):
    ...
    eshop_core.errors.InvalidInputError: invalid currency: cannot combine CNY with USD
"""

from __future__ import annotations

import copy
import decimal
import functools
import math
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Literal, final

import attrs
from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, format_currency
from iso4217 import Currency

from eshop_core.errors import InvalidInputError

__all__ = ["Money", "is_known_currency", "minor_digits"]

#: Significant digits an exact result may have before it is refused.
_PRECISION: Final = 200
#: Amounts given to the constructor must be below ``10 ** _MAX_MAGNITUDE`` in absolute value.
_MAX_MAGNITUDE: Final = 100

# Arithmetic context: exact or an error (Inexact is trapped), never silently rounded.
_EXACT: Final = decimal.Context(
    prec=_PRECISION,
    rounding=ROUND_HALF_UP,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow, decimal.Inexact],
)
# Rounding context: rounds half-up at the requested exponent (quantize).
_ROUNDING: Final = decimal.Context(
    prec=_PRECISION,
    rounding=ROUND_HALF_UP,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
_ADD: Final = _EXACT.add
_SUBTRACT: Final = _EXACT.subtract
_MULTIPLY: Final = _EXACT.multiply
_PLUS: Final = _EXACT.plus
_SCALEB: Final = _EXACT.scaleb
_QUANTIZE: Final = _ROUNDING.quantize

# ISO 4217 tables, built once: dict look-ups are cheaper than any cache wrapper.
_MINOR_DIGITS: Final[dict[str, int]] = {
    str(ccy.value): ccy.exponent for ccy in Currency if ccy.exponent is not None
}
_NO_MINOR_UNIT: Final[frozenset[str]] = frozenset(str(ccy.value) for ccy in Currency if ccy.exponent is None)
_QUANTA: Final[dict[int, Decimal]] = {d: Decimal(1).scaleb(-d) for d in set(_MINOR_DIGITS.values())}
_ZEROS: Final[dict[int, Decimal]] = {d: Decimal(0).scaleb(-d) for d in _QUANTA}


def _shown(value: object) -> str:
    """Return a short ``repr`` of ``value`` for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_currency(value: object) -> str:
    """Return ``value`` as a plain ``str`` if it is a usable currency code, else raise."""
    if type(value) is str and value in _MINOR_DIGITS:
        return value
    if not isinstance(value, str):
        raise InvalidInputError("currency", f"expected an ISO 4217 code as str, got {type(value).__name__}")
    code = str(value)
    if code in _MINOR_DIGITS:
        return code
    if code in _NO_MINOR_UNIT:
        raise InvalidInputError(
            "currency", f"{code!r} has no minor unit in ISO 4217 and is not accepted as money"
        )
    upper = code.strip().upper()
    if upper in _MINOR_DIGITS:
        raise InvalidInputError("currency", f"ISO 4217 codes are upper-case without spaces; use {upper!r}")
    raise InvalidInputError("currency", f"unknown ISO 4217 code {_shown(value)}")


def minor_digits(currency: str) -> int:
    """
    Return the number of minor-unit digits of ``currency`` according to ISO 4217.

    Args:
        currency: An upper-case ISO 4217 alphabetic code.

    Raises:
        InvalidInputError: ``field="currency"``, for an unknown code or one without a minor unit.

    Example:
        >>> from eshop_core.money import minor_digits
        >>> minor_digits("CNY"), minor_digits("JPY"), minor_digits("BHD"), minor_digits("CLF")
        (2, 0, 3, 4)
    """
    return _MINOR_DIGITS[_check_currency(currency)]


def is_known_currency(code: object) -> bool:
    """
    Tell whether :class:`Money` accepts ``code`` as its currency.

    True for the upper-case ISO 4217 codes that have a minor unit; false for anything else,
    including lower-case spellings and the "N.A." codes such as ``XAU`` or ``XXX``.

    Example:
        >>> from eshop_core.money import is_known_currency
        >>> is_known_currency("CNY"), is_known_currency("cny"), is_known_currency("XAU")
        (True, False, False)
    """
    return type(code) is str and code in _MINOR_DIGITS


def _unsigned_zero(value: Decimal) -> Decimal:
    """Return ``value`` with the sign of a negative zero dropped."""
    return value.copy_abs() if not value and value.is_signed() else value


def _too_many_digits(field: str) -> InvalidInputError:
    return InvalidInputError(field, f"needs more than {_PRECISION} significant digits")


def _to_amount(value: Decimal | int | str) -> Decimal:
    """Convert an amount given as ``Decimal``, ``int`` or ``str`` to a finite ``Decimal``."""
    candidate: object = value  # the annotation is a promise callers may break at run time
    if isinstance(candidate, Decimal):
        amount = candidate
    elif isinstance(candidate, bool):
        raise InvalidInputError("amount", "a bool is not an amount")
    elif isinstance(candidate, int | str):
        try:
            amount = Decimal(candidate)
        except decimal.InvalidOperation:
            raise InvalidInputError("amount", f"not a decimal number: {_shown(candidate)}") from None
    elif isinstance(candidate, float):
        raise _float_refused("amount", candidate)
    else:
        raise InvalidInputError("amount", f"expected a Decimal, int or str, got {type(candidate).__name__}")
    if not amount.is_finite():
        raise InvalidInputError("amount", f"not a finite number: {_shown(value)}")
    if amount and amount.adjusted() >= _MAX_MAGNITUDE:
        raise InvalidInputError("amount", f"out of range: magnitude must be below 1E+{_MAX_MAGNITUDE}")
    try:
        return _PLUS(amount)  # plain Decimal, no negative zero, at most _PRECISION digits
    except decimal.Inexact:
        raise _too_many_digits("amount") from None


def _round(amount: Decimal, digits: int) -> Decimal:
    """Round ``amount`` half-up to ``digits`` decimal places."""
    try:
        return _unsigned_zero(_QUANTIZE(amount, _QUANTA[digits]))
    except decimal.InvalidOperation:
        raise _too_many_digits("amount") from None


def _new(amount: Decimal, currency: str) -> Money:
    """Build a Money from an already valid amount and currency, skipping validation."""
    money = _object_new(Money)
    _set_amount(money, amount)
    _set_currency(money, currency)
    return money


def _mismatch(left: str, right: str) -> InvalidInputError:
    return InvalidInputError("currency", f"cannot combine {left} with {right}")


def _float_refused(field: str, value: float) -> InvalidInputError:
    return InvalidInputError(field, f"float {value!r} refused; use Decimal, int or str")


def _refuse_float(field: str, value: object) -> None:
    """Raise :class:`InvalidInputError` naming ``field`` if ``value`` is a float."""
    if isinstance(value, float):
        raise _float_refused(field, value)


def _is_int_zero(value: object) -> bool:
    """Tell whether ``value`` is the int 0 (what the builtin ``sum`` starts from); refuse floats."""
    _refuse_float("amount", value)
    return type(value) is int and value == 0


@functools.cache
def _currency_pattern(locale: str, digits: int) -> tuple[Locale, NumberPattern]:
    """Return Babel's ``(Locale, NumberPattern)`` for currencies with ``digits`` minor digits."""
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise InvalidInputError("locale", f"unknown locale {_shown(locale)}") from None
    pattern = copy.copy(parsed.currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    return parsed, pattern


@final
@attrs.frozen(repr=False)
class Money:
    """
    An exact amount of money in one ISO 4217 currency; immutable and hashable.

    Args:
        amount: The amount, as ``Decimal``, ``int`` or ``str`` (never ``float``); it is kept as
            given, not rounded (``Decimal("12.3")`` stays ``12.3``).
        currency: An upper-case ISO 4217 alphabetic code with a minor unit (``"CNY"``).

    Raises:
        InvalidInputError: ``field="amount"`` for floats, bools, NaN, infinities, text that is
            not a number and magnitudes of ``1E+100`` or more; ``field="currency"`` for anything
            but a known upper-case code.

    Equality compares the amount's value and the currency (``12.3 CNY == 12.30 CNY``); the
    hash agrees. ``+``, ``-`` and ordering need the same currency on both sides; ``*`` takes
    an ``int`` or ``Decimal`` factor. Results are exact and unrounded.

    Example:
        >>> from decimal import Decimal
        >>> from eshop_core.money import Money
        >>> a = Money(Decimal("12.30"), "CNY")
        >>> a == Money.of("12.3", "CNY"), a < Money.of(13, "CNY")
        (True, True)
        >>> str(a + Money.of("0.7", "CNY")), -a, abs(-a) == a
        ('13.00 CNY', Money('-12.30', 'CNY'), True)
        >>> Money.of(0.1, "CNY")
        Traceback (most recent call last):
        ...
        eshop_core.errors.InvalidInputError: invalid amount: float 0.1 refused; use Decimal, int or str
    """

    amount: Decimal = attrs.field(converter=_to_amount)
    currency: str = attrs.field(converter=_check_currency)

    # -- construction -------------------------------------------------------------------

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """
        Build a Money from a ``Decimal``, ``int`` or ``str`` amount.

        Example:
            >>> from eshop_core.money import Money
            >>> Money.of("12.30", "CNY"), Money.of(500, "JPY")
            (Money('12.30', 'CNY'), Money('500', 'JPY'))
        """
        return cls(amount, currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """
        Return zero in ``currency``, written with its minor digits.

        Example:
            >>> from eshop_core.money import Money
            >>> Money.zero("CNY"), Money.zero("JPY")
            (Money('0.00', 'CNY'), Money('0', 'JPY'))
        """
        code = _check_currency(currency)
        return _new(_ZEROS[_MINOR_DIGITS[code]], code)

    @classmethod
    def from_minor_units(cls, units: int, currency: str) -> Money:
        """
        Build a Money from a whole number of minor units (fen, cents, fils...).

        Raises:
            InvalidInputError: ``field="units"`` when ``units`` is not an ``int`` (or is a bool).

        Example:
            >>> from eshop_core.money import Money
            >>> Money.from_minor_units(1230, "CNY"), Money.from_minor_units(1230, "BHD")
            (Money('12.30', 'CNY'), Money('1.230', 'BHD'))
        """
        code = _check_currency(currency)
        if type(units) is not int:
            if isinstance(units, float):
                raise _float_refused("units", units)
            if isinstance(units, bool) or not isinstance(units, int):
                raise InvalidInputError("units", f"expected an int, got {type(units).__name__}")
            units = int(units)
        try:
            amount = _SCALEB(units, -_MINOR_DIGITS[code])
        except decimal.Inexact:
            raise _too_many_digits("units") from None
        return _new(amount, code)

    @classmethod
    def sum(cls, items: Iterable[Money], currency: str) -> Money:
        """
        Add up ``items``, all in ``currency``; an empty iterable gives :meth:`zero`.

        Raises:
            InvalidInputError: ``field="currency"`` if an item has another currency,
                ``field="items"`` if an item is not a Money.

        Example:
            >>> from eshop_core.money import Money
            >>> Money.sum([Money.of("1.10", "CNY"), Money.of("2.20", "CNY")], "CNY")
            Money('3.30', 'CNY')
            >>> Money.sum([], "JPY")
            Money('0', 'JPY')
        """
        code = _check_currency(currency)
        total = _ZEROS[_MINOR_DIGITS[code]]
        try:
            for index, item in enumerate(items):
                if type(item) is not Money:
                    raise InvalidInputError("items", f"item {index} is not a Money: {_shown(item)}")
                if item.currency != code:
                    raise _mismatch(code, item.currency)
                total = _ADD(total, item.amount)
        except decimal.Inexact:
            raise _too_many_digits("amount") from None
        return _new(total, code)

    # -- minor units and rounding ---------------------------------------------------------

    @property
    def minor_digits(self) -> int:
        """
        Number of minor-unit digits of the currency per ISO 4217 (CNY 2, JPY 0, BHD 3).

        Example:
            >>> from eshop_core.money import Money
            >>> Money.of(1, "KWD").minor_digits
            3
        """
        return _MINOR_DIGITS[self.currency]

    @property
    def is_rounded(self) -> bool:
        """
        Whether the amount is a whole number of minor units (``12.300 CNY`` is; ``12.305`` is not).

        Example:
            >>> from eshop_core.money import Money
            >>> Money.of("12.300", "CNY").is_rounded, Money.of("12.305", "CNY").is_rounded
            (True, False)
        """
        return _round(self.amount, _MINOR_DIGITS[self.currency]) == self.amount

    def rounded(self) -> Money:
        """
        Return the amount rounded half-up (away from zero on ties) to the currency's minor unit.

        Example:
            >>> from eshop_core.money import Money
            >>> Money.of("0.005", "CNY").rounded(), Money.of("-0.005", "CNY").rounded()
            (Money('0.01', 'CNY'), Money('-0.01', 'CNY'))
            >>> Money.of("2.5", "JPY").rounded(), Money.of("1.2345", "BHD").rounded()
            (Money('3', 'JPY'), Money('1.235', 'BHD'))
        """
        return _new(_round(self.amount, _MINOR_DIGITS[self.currency]), self.currency)

    def to_minor_units(self) -> int:
        """
        Return the amount as a whole number of minor units.

        The amount must already be exact at the minor unit (see :attr:`is_rounded`); nothing
        is rounded silently: call :meth:`rounded` first to round half-up.

        Raises:
            InvalidInputError: ``field="amount"`` if the amount has digits below the minor unit.

        Example:
            >>> from eshop_core.money import Money
            >>> Money.of("12.30", "CNY").to_minor_units(), Money.of("12.3", "CNY").to_minor_units()
            (1230, 1230)
            >>> Money.of("12.345", "CNY").to_minor_units()
            Traceback (most recent call last):
            ...
            eshop_core.errors.InvalidInputError: invalid amount: 12.345 CNY is finer than the minor unit 0.01
        """
        digits = _MINOR_DIGITS[self.currency]
        scaled = _SCALEB(self.amount, digits)
        if scaled != scaled.to_integral_value():
            raise InvalidInputError(
                "amount",
                f"{self.amount:f} {self.currency} is finer than the minor unit {_QUANTA[digits]}",
            )
        return int(scaled)

    def allocate(self, weights: Sequence[int | Decimal]) -> list[Money]:
        """
        Split the rounded amount in proportion to ``weights``, by the largest-remainder method.

        Works in whole minor units: each part first gets the floor of its exact share, then
        the minor units left over go one each to the parts with the largest remainders, the
        earliest part winning ties. The parts therefore add up exactly to :meth:`rounded`,
        and each differs from its exact share by less than one minor unit. A negative amount
        is split like its absolute value and the parts negated.

        Args:
            weights: Non-negative ``int`` or ``Decimal`` weights, at least one of them positive.

        Returns:
            One Money per weight, in the same order; a zero weight gets zero.

        Raises:
            InvalidInputError: ``field="weights"`` for an empty sequence, all-zero or negative
                weights, floats, bools, NaN or infinities.

        Example:
            >>> from decimal import Decimal
            >>> from eshop_core.money import Money
            >>> [str(p) for p in Money.of(100, "CNY").allocate([1, 1, 1])]
            ['33.34 CNY', '33.33 CNY', '33.33 CNY']
            >>> [str(p) for p in Money.of("-0.05", "CNY").allocate([Decimal("0.5"), 1])]
            ['-0.02 CNY', '-0.03 CNY']
        """
        scaled = _integer_weights(weights)
        total_weight = sum(scaled)
        digits = _MINOR_DIGITS[self.currency]
        rounded = _round(self.amount, digits)
        units = int(_SCALEB(rounded, digits))
        whole = abs(units)
        shares: list[int] = []
        remainders: list[int] = []
        for weight in scaled:
            share, remainder = divmod(whole * weight, total_weight)
            shares.append(share)
            remainders.append(remainder)
        left_over = whole - sum(shares)
        if left_over:
            # sorted() is stable, so equal remainders keep index order: the earliest wins.
            for index in sorted(range(len(shares)), key=remainders.__getitem__, reverse=True)[:left_over]:
                shares[index] += 1
        sign = -1 if units < 0 else 1
        code = self.currency
        return [_new(_SCALEB(sign * share, -digits), code) for share in shares]

    # -- arithmetic ------------------------------------------------------------------------

    def __add__(self, other: Money | Literal[0]) -> Money:
        if type(other) is Money:
            if other.currency != self.currency:
                raise _mismatch(self.currency, other.currency)
            try:
                return _new(_ADD(self.amount, other.amount), self.currency)
            except decimal.Inexact:
                raise _too_many_digits("amount") from None
        return self if _is_int_zero(other) else NotImplemented

    def __radd__(self, other: int) -> Money:
        # Only 0 + money, so that the builtin sum() works; Money + Money never gets here.
        return self if _is_int_zero(other) else NotImplemented

    def __sub__(self, other: Money) -> Money:
        candidate: object = other  # the annotation is a promise callers may break at run time
        if type(candidate) is not Money:
            _refuse_float("amount", candidate)
            return NotImplemented
        if other.currency != self.currency:
            raise _mismatch(self.currency, other.currency)
        try:
            return _new(_SUBTRACT(self.amount, other.amount), self.currency)
        except decimal.Inexact:
            raise _too_many_digits("amount") from None

    def __mul__(self, factor: int | Decimal) -> Money:
        candidate: object = factor  # the annotation is a promise callers may break at run time
        if type(candidate) is not int and type(candidate) is not Decimal:
            _refuse_float("factor", candidate)
            if isinstance(candidate, bool):
                raise InvalidInputError("factor", "a bool is not a factor")
            if not isinstance(candidate, int | Decimal):
                return NotImplemented
        if isinstance(candidate, Decimal) and not candidate.is_finite():
            raise InvalidInputError("factor", f"not a finite number: {candidate!r}")
        try:
            product = _MULTIPLY(self.amount, factor)
        except decimal.Inexact:
            raise _too_many_digits("amount") from None
        return _new(_unsigned_zero(product), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return _new(_EXACT.minus(self.amount), self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return self if not self.amount.is_signed() else _new(self.amount.copy_abs(), self.currency)

    def __bool__(self) -> bool:
        return bool(self.amount)

    # -- ordering (same currency only) -------------------------------------------------------

    def _comparable(self, other: object) -> bool:
        if type(other) is Money:
            if other.currency != self.currency:
                raise _mismatch(self.currency, other.currency)
            return True
        _refuse_float("amount", other)
        return False

    def __lt__(self, other: Money) -> bool:
        return self.amount < other.amount if self._comparable(other) else NotImplemented

    def __le__(self, other: Money) -> bool:
        return self.amount <= other.amount if self._comparable(other) else NotImplemented

    def __gt__(self, other: Money) -> bool:
        return self.amount > other.amount if self._comparable(other) else NotImplemented

    def __ge__(self, other: Money) -> bool:
        return self.amount >= other.amount if self._comparable(other) else NotImplemented

    # -- text -------------------------------------------------------------------------------

    def format(self, locale: str = "zh_CN") -> str:
        r"""
        Format for display in ``locale`` with Babel, rounded half-up to the ISO minor digits.

        The locale's standard currency pattern and symbol are used, but always with the
        ISO 4217 number of decimals (CLDR's own digits differ for some currencies).

        Args:
            locale: A locale identifier such as ``"zh_CN"``, ``"en_US"`` or ``"zh-CN"``.

        Raises:
            InvalidInputError: ``field="locale"`` for an unknown locale.

        Example:
            >>> from eshop_core.money import Money
            >>> Money.of("1234.5", "CNY").format()
            '¥1,234.50'
            >>> Money.of("1234.5", "CNY").format("en_US"), Money.of("1234.5", "JPY").format("en_US")
            ('CN¥1,234.50', '¥1,235')
            >>> Money.of("-1.2345", "BHD").format("de_DE")
            '-1,235\xa0BHD'
        """
        candidate: object = locale  # the annotation is a promise callers may break at run time
        if not isinstance(candidate, str):
            raise InvalidInputError(
                "locale", f"expected a locale identifier as str, got {type(candidate).__name__}"
            )
        digits = _MINOR_DIGITS[self.currency]
        parsed, pattern = _currency_pattern(locale, digits)
        with decimal.localcontext(_ROUNDING):
            return format_currency(
                _round(self.amount, digits),
                self.currency,
                format=pattern,
                locale=parsed,
                currency_digits=False,
            )

    def __str__(self) -> str:
        """``"12.30 CNY"``: written with the minor digits when exact at them, else in full."""
        digits = _MINOR_DIGITS[self.currency]
        exact = _round(self.amount, digits)
        amount = exact if exact == self.amount else self.amount
        return f"{amount:f} {self.currency}"

    def __repr__(self) -> str:
        return f"Money({str(self.amount)!r}, {self.currency!r})"


# The fast constructor writes the slots directly, bypassing the converters of __init__.
_object_new: Final = object.__new__
_set_amount: Final = Money.__dict__["amount"].__set__
_set_currency: Final = Money.__dict__["currency"].__set__


def _integer_weights(weights: Sequence[int | Decimal]) -> list[int]:
    """Validate allocation weights and scale them to integers with the same ratios."""
    try:
        items = list(weights)
    except TypeError:
        raise InvalidInputError(
            "weights", f"expected a sequence of weights, got {type(weights).__name__}"
        ) from None
    if isinstance(weights, str | bytes) or not items:
        raise InvalidInputError("weights", "give at least one weight")
    numerators: list[int] = []
    denominators: list[int] = []
    for index, weight in enumerate(items):
        if type(weight) is int:
            numerator, denominator = weight, 1
        elif isinstance(weight, Decimal) and weight.is_finite():
            numerator, denominator = weight.as_integer_ratio()
        elif isinstance(weight, float):
            raise InvalidInputError("weights", f"weight {index} is a float ({weight!r}); use int or Decimal")
        elif isinstance(weight, int) and not isinstance(weight, bool):
            numerator, denominator = int(weight), 1
        else:
            raise InvalidInputError(
                "weights", f"weight {index} is not an int or finite Decimal: {_shown(weight)}"
            )
        if numerator < 0:
            raise InvalidInputError("weights", f"weight {index} is negative ({weight})")
        numerators.append(numerator)
        denominators.append(denominator)
    if not any(numerators):
        raise InvalidInputError("weights", "all weights are zero")
    common = math.lcm(*denominators)
    if common == 1:
        return numerators
    return [
        numerator * (common // denominator)
        for numerator, denominator in zip(numerators, denominators, strict=True)
    ]
