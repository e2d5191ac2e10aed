"""Money in fen and lesson hours in hundredths: exact, and never a float."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campus.schema.quantities import FloatRefused, LessonHours, Money, round_half_up, yuan_in_words


@pytest.mark.parametrize("bad", [12.5, 0.0, float("inf")])
def test_money_refuses_a_float_and_says_what_to_do(bad: float) -> None:
    with pytest.raises(FloatRefused, match=r"integer fen.*Money.parse"):
        Money(bad)


@pytest.mark.parametrize("bad", ["12", True, None, Decimal("1")])
def test_money_refuses_anything_but_an_integer(bad: object) -> None:
    with pytest.raises(TypeError):
        Money(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "fen"), [("12.34", 1234), ("0.5", 50), ("-3", -300), ("1,280.00", 128000),
                                           (Decimal("9.99"), 999), (7, 700)])
def test_decimal_amounts_parse_exactly(text: object, fen: int) -> None:
    assert Money.parse(text).fen == fen  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["1.005", "abc", "", "NaN", 1.5])
def test_amounts_that_are_not_exact_fen_are_refused(bad: object) -> None:
    with pytest.raises((ValueError, FloatRefused)):
        Money.parse(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "rounded"), [(Fraction(1, 2), 1), (Fraction(-1, 2), -1), (Decimal("2.4999"), 2),
                                                (Fraction(5, 2), 3), (Decimal("100.5"), 101), (Fraction(-5, 2), -3),
                                                (Decimal("-2.4"), -2), (7, 7)])
def test_rounding_is_half_up_away_from_zero(value: object, rounded: int) -> None:
    assert round_half_up(value) == rounded  # type: ignore[arg-type]


def test_rounding_refuses_a_float() -> None:
    with pytest.raises(FloatRefused):
        round_half_up(2.5)  # type: ignore[arg-type]


def test_scaling_by_an_exact_ratio_rounds_half_up_to_the_fen() -> None:
    # 30 hours at 150.00 per hour, 7 of them consumed: 45000 * 7/30 = 10500 fen exactly
    assert Money(45000).scaled(Fraction(7, 30)) == Money(10500)
    assert Money(100).scaled(Fraction(1, 3)) == Money(33)
    assert Money(5).scaled(Fraction(1, 2)) == Money(3)


@given(st.integers(min_value=-10**12, max_value=10**12),
       st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(lambda w: sum(w) > 0))
def test_allocation_adds_up_exactly_and_stays_within_a_fen_of_the_exact_share(fen: int, weights: list[int]) -> None:
    parts = Money(fen).allocate(weights)

    assert sum(p.fen for p in parts) == fen
    for part, weight in zip(parts, weights, strict=True):
        assert abs(Fraction(part.fen) - Fraction(fen * weight, sum(weights))) < 1


def test_arithmetic_and_comparison() -> None:
    assert Money(150) + Money(250) == Money(400)
    assert Money(150) - Money(250) == Money(-100)
    assert -Money(5) == Money(-5) and abs(Money(-5)) == Money(5)
    assert Money(150) * 3 == 3 * Money(150) == Money(450)
    assert Money(1) < Money(2) and max(Money(3), Money(2)) == Money(3)
    assert str(Money(123456)) == "¥1234.56" and Money(-5).decimal_text() == "-0.05"
    assert str(LessonHours(150)) == "1.50" and LessonHours.parse("1.5").x100 == 150


def test_money_and_hours_do_not_mix_and_floats_do_not_multiply() -> None:
    with pytest.raises(TypeError):
        Money(100) + LessonHours(100)  # type: ignore[operator]
    with pytest.raises(FloatRefused):
        Money(100) * 1.5  # type: ignore[operator]
    assert Money(100) != LessonHours(100)


def test_an_amount_cannot_be_changed_in_place() -> None:
    amount = Money(100)
    with pytest.raises(AttributeError):
        amount.units = 5  # type: ignore[misc]


@pytest.mark.parametrize(("fen", "words"), [
    (0, "人民币零元整"), (1, "人民币壹分"), (50, "人民币伍角整"), (105, "人民币壹元零伍分"),
    (80000, "人民币捌佰元整"), (123450, "人民币壹仟贰佰叁拾肆元伍角整"), (1001001, "人民币壹万零壹拾元零壹分"),
    (100000005, "人民币壹佰万元零伍分"), (1000010000, "人民币壹仟万零壹佰元整"), (10000000000, "人民币壹亿元整"),
    (-30000, "人民币负叁佰元整"),
])
def test_amount_in_chinese_capitals_as_receipts_write_it(fen: int, words: str) -> None:
    assert yuan_in_words(fen) == words
