"""Money in integer fen and lesson hours in integer hundredths. No float ever gets in."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import total_ordering
from typing import Self


class FloatRefused(TypeError):
    """A float was offered where an exact integer amount is required."""


def round_half_up(value: Fraction | Decimal | int) -> int:
    """Round an exact value to the nearest integer, halves away from zero (四舍五入)."""
    if isinstance(value, float):
        raise FloatRefused("round_half_up takes exact values (int, Decimal, Fraction), not float")
    exact = Fraction(value)
    magnitude = abs(exact)
    whole, remainder = divmod(magnitude.numerator, magnitude.denominator)
    if 2 * remainder >= magnitude.denominator:
        whole += 1
    return whole if exact >= 0 else -whole


@total_ordering
class _Quantity:
    """An exact amount counted in integer minor units (fen, hundredths of an hour)."""

    __slots__ = ("units",)
    UNIT_NAME = "units"
    SCALE = 100  # minor units per major unit
    units: int

    def __init__(self, units: int) -> None:
        if isinstance(units, float):
            raise FloatRefused(
                f"{type(self).__name__} takes integer {self.UNIT_NAME}, got the float {units!r}; "
                f"use {type(self).__name__}.parse('{units}') for a decimal amount"
            )
        if isinstance(units, bool) or not isinstance(units, int):
            raise TypeError(f"{type(self).__name__} takes integer {self.UNIT_NAME}, got {type(units).__name__}")
        object.__setattr__(self, "units", int(units))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @classmethod
    def parse(cls, text: str | Decimal | int) -> Self:
        """From a decimal amount in major units ("12.34"); more than two decimals is an error."""
        if isinstance(text, float):
            raise FloatRefused(f"{cls.__name__}.parse takes a string or Decimal, not the float {text!r}")
        try:
            amount = Decimal(str(text).strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a decimal amount") from None
        if not amount.is_finite():
            raise ValueError(f"{text!r} is not a finite amount")
        units = amount * cls.SCALE
        if units != units.to_integral_value():
            raise ValueError(f"{text!r} has more than two decimal places; round explicitly first")
        return cls(int(units))

    @classmethod
    def from_exact(cls, major_units: Fraction | Decimal | int) -> Self:
        """From an exact amount in major units, rounded half up to the minor unit."""
        return cls(round_half_up(Fraction(major_units) * cls.SCALE))

    def _same(self, other: object) -> _Quantity:
        if type(other) is not type(self):
            raise TypeError(f"cannot combine {type(self).__name__} with {type(other).__name__}")
        return other

    def __add__(self, other: Self) -> Self:
        return type(self)(self.units + self._same(other).units)

    def __sub__(self, other: Self) -> Self:
        return type(self)(self.units - self._same(other).units)

    def __neg__(self) -> Self:
        return type(self)(-self.units)

    def __abs__(self) -> Self:
        return type(self)(abs(self.units))

    def __mul__(self, factor: int) -> Self:
        if isinstance(factor, float):
            raise FloatRefused(f"multiply {type(self).__name__} by an int or use .scaled(Fraction)")
        if isinstance(factor, bool) or not isinstance(factor, int):
            return NotImplemented
        return type(self)(self.units * factor)

    __rmul__ = __mul__

    def scaled(self, ratio: Fraction | Decimal | int) -> Self:
        """This amount times an exact ratio, rounded half up to the minor unit."""
        if isinstance(ratio, float):
            raise FloatRefused("scale by a Fraction or Decimal, not a float")
        return type(self)(round_half_up(Fraction(self.units) * Fraction(ratio)))

    def allocate(self, weights: list[int]) -> list[Self]:
        """Split into parts proportional to ``weights`` that add up exactly to this amount."""
        if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
            raise ValueError("weights must be non-negative integers with a positive sum")
        total = sum(weights)
        parts = [self.units * w // total for w in weights]
        remainders = sorted(range(len(weights)), key=lambda i: -(self.units * weights[i] % total))
        for i in remainders[: self.units - sum(parts)]:
            parts[i] += 1
        return [type(self)(p) for p in parts]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.units == self.units

    def __lt__(self, other: Self) -> bool:
        return self.units < self._same(other).units

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.units))

    def __bool__(self) -> bool:
        return self.units != 0

    def decimal_text(self) -> str:
        sign = "-" if self.units < 0 else ""
        whole, minor = divmod(abs(self.units), self.SCALE)
        return f"{sign}{whole}.{minor:02d}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.units})"


class Money(_Quantity):
    """An amount of renminbi in integer fen (分)."""

    __slots__ = ()
    UNIT_NAME = "fen"

    @property
    def fen(self) -> int:
        return self.units

    def __str__(self) -> str:
        return f"¥{self.decimal_text()}"


class LessonHours(_Quantity):
    """Lesson hours (课时) in integer hundredths: 1.5 hours is 150."""

    __slots__ = ()
    UNIT_NAME = "hundredths of an hour"

    @property
    def x100(self) -> int:
        return self.units

    def __str__(self) -> str:
        return self.decimal_text()


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ["", "拾", "佰", "仟"]
_BIG_UNITS = ["", "万", "亿", "兆"]


def _four_digits(value: int) -> str:
    text, zero = "", False
    for position in range(3, -1, -1):
        digit = value // 10**position % 10
        if digit == 0:
            zero = bool(text)
        else:
            text += ("零" if zero else "") + _DIGITS[digit] + _SMALL_UNITS[position]
            zero = False
    return text


def yuan_in_words(fen: int) -> str:
    """The amount in Chinese capitals as receipts write it: 1234.50 → 人民币壹仟贰佰叁拾肆元伍角整."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("yuan_in_words takes integer fen")
    sign, fen = ("负", -fen) if fen < 0 else ("", fen)
    yuan, jiao, cents = fen // 100, fen // 10 % 10, fen % 10
    groups, words = [], ""
    while yuan:
        groups.append(yuan % 10000)
        yuan //= 10000
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        if words and group < 1000:
            words += "零"
        words += _four_digits(group) + _BIG_UNITS[index]
    if words:
        words += "元"
    if jiao:
        words += _DIGITS[jiao] + "角"
    elif words and cents:
        words += "零"
    if cents:
        words += _DIGITS[cents] + "分"
    if not cents:
        words = (words or "零元") + "整"
    return f"人民币{sign}{words}"
