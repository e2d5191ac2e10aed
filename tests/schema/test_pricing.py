"""Contract pricing from a table of cases: list price, promo codes, manual discounts, gift hours."""

from __future__ import annotations

from datetime import date

import pytest

from campus.schema.errors import Invalid
from campus.schema.permissions import Role
from campus.schema.pricing import LineRequest, Promo, PromoRefused, list_price, quote

TODAY = date(2026, 11, 25)


def promo(kind: str = "amount", amount_fen: int = 0, percent_bp: int = 0, valid_from: str | None = None,
          valid_until: str | None = None, max_uses: int | None = None, min_subtotal_fen: int = 0,
          active: bool = True) -> Promo:
    return Promo("P", kind, amount_fen, percent_bp, valid_from, valid_until, max_uses, min_subtotal_fen, active)


# (grade × subject × level × delivery is looked up by the caller: each case gives the unit price found)
CASES = [
    # lines (hours_x100, gift_x100, unit price fen), promo, uses, manual, roles -> amount, line amounts
    ("1-on-1 maths, 20 hours at ¥300", [(2000, 0, 30000)], None, 0, 0, (), 600000, [600000]),
    ("small class, 1.5 hours at ¥180", [(150, 0, 18000)], None, 0, 0, (), 27000, [27000]),
    ("online, 0.25 hours at ¥99.99 rounds half up", [(25, 0, 9999)], None, 0, 0, (), 2500, [2500]),
    ("gift hours are free", [(4800, 400, 18000)], None, 0, 0, (), 864000, [864000]),
    ("¥500 off", [(1000, 0, 10000)], promo(amount_fen=50000), 0, 0, (), 50000, [50000]),
    ("10% off two lines, spread by list price", [(1000, 0, 10000), (500, 0, 20000)],
     promo(kind="percent", percent_bp=1000), 0, 0, (), 180000, [90000, 90000]),
    ("amount off larger than the price stops at zero", [(100, 0, 10000)], promo(amount_fen=99999), 0, 0, (),
     0, [0]),
    ("on its last valid day", [(100, 0, 10000)], promo(amount_fen=1000, valid_until="2026-11-25"), 0, 0, (),
     9000, [9000]),
    ("one use left", [(100, 0, 10000)], promo(amount_fen=1000, max_uses=3), 2, 0, (), 9000, [9000]),
    ("consultant gives 5%", [(1000, 0, 10000)], None, 0, 5000, (Role.CONSULTANT,), 95000, [95000]),
    ("manager gives 20% on top of a promo", [(1000, 0, 10000)], promo(amount_fen=1000), 0, 20000,
     (Role.CAMPUS_MANAGER,), 79000, [79000]),
    ("discount split with remainders adds up", [(100, 0, 100), (100, 0, 100), (100, 0, 100)],
     promo(amount_fen=100), 0, 0, (), 200, [66, 67, 67]),
]


@pytest.mark.parametrize(("case", "lines", "code", "uses", "manual", "roles", "amount", "line_amounts"), CASES,
                         ids=[c[0] for c in CASES])
def test_contract_price(case: str, lines: list, code: Promo | None, uses: int, manual: int, roles: tuple,
                        amount: int, line_amounts: list[int]) -> None:
    priced = quote([LineRequest(*line) for line in lines], code, uses, TODAY, manual, roles)
    assert priced.amount_fen == amount
    assert sorted(line.amount_fen for line in priced.lines) == sorted(line_amounts)
    assert sum(line.amount_fen for line in priced.lines) == priced.amount_fen
    assert all(line.discount_fen >= 0 for line in priced.lines)


REFUSED = [
    ("expired yesterday", promo(amount_fen=100, valid_until="2026-11-24"), 0, "expired"),
    ("not valid yet", promo(amount_fen=100, valid_from="2026-12-01"), 0, "not_yet_valid"),
    ("used up", promo(amount_fen=100, max_uses=3), 3, "exhausted"),
    ("withdrawn", promo(amount_fen=100, active=False), 0, "inactive"),
    ("below its minimum", promo(amount_fen=100, min_subtotal_fen=1_000_000), 0, "below_minimum"),
]


@pytest.mark.parametrize(("case", "code", "uses", "why"), REFUSED, ids=[c[0] for c in REFUSED])
def test_promo_code_refused(case: str, code: Promo, uses: int, why: str) -> None:
    with pytest.raises(PromoRefused) as refused:
        quote([LineRequest(1000, 0, 10000)], code, uses, TODAY)
    assert refused.value.facts["why"] == why


@pytest.mark.parametrize(("roles", "manual"), [((Role.CONSULTANT,), 5001), ((), 1), ((Role.FINANCE,), 1),
                                               ((Role.CAMPUS_MANAGER,), 20001)])
def test_manual_discount_beyond_the_role_limit_is_refused(roles: tuple, manual: int) -> None:
    with pytest.raises(Invalid) as refused:
        quote([LineRequest(1000, 0, 10000)], None, 0, TODAY, manual, roles)
    assert refused.value.field == "manual_discount_fen"


@pytest.mark.parametrize(("line", "field"), [((0, 0, 100), "lines.0.hours_x100"), ((-100, 0, 100), "lines.0.hours_x100"),
                                             ((100, -1, 100), "lines.0.gift_hours_x100")])
def test_bad_hours_are_refused(line: tuple, field: str) -> None:
    with pytest.raises(Invalid) as refused:
        quote([LineRequest(*line)], None, 0, TODAY)
    assert refused.value.field == field


def test_list_price_is_exact_in_fen() -> None:
    assert list_price(333, 10000) == 33300
    assert list_price(1, 50) == 1  # half a fen rounds up
    assert list_price(1, 49) == 0
