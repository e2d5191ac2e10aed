"""Pricing a contract from the price list: hours × unit price − discounts, all in integer fen.

Pure: the caller looks up unit prices, the promo code and how often it was used, and the
signer's roles; this module does the arithmetic and says exactly why a price is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from campus.schema.errors import Conflict, Invalid
from campus.schema.permissions import Role
from campus.schema.quantities import Money, round_half_up

if TYPE_CHECKING:
    from sqlalchemy import RowMapping


class Delivery(StrEnum):
    ONE_ON_ONE = "one_on_one"  # 一对一
    SMALL_CLASS = "small_class"  # 小班
    LARGE_CLASS = "large_class"  # 大班
    ONLINE = "online"  # 网课


# The largest manual discount (basis points of the list price) each role may give at signing.
MANUAL_DISCOUNT_LIMIT_BP: dict[Role, int] = {
    Role.HQ_ADMIN: 10_000,
    Role.CAMPUS_MANAGER: 2_000,
    Role.CONSULTANT: 500,
}


def _percent(bp: int) -> str:
    return f"{Decimal(bp).scaleb(-2).normalize():f}%"


def manual_discount_limit_bp(roles: Iterable[Role]) -> int:
    return max((MANUAL_DISCOUNT_LIMIT_BP.get(role, 0) for role in roles), default=0)


def list_price(hours_x100: int, unit_price_fen: int) -> int:
    """Hours (hundredths) × price per hour (fen), rounded half up to the fen."""
    return round_half_up(Fraction(hours_x100 * unit_price_fen, 100))


class PromoRefused(Conflict):
    """The promo code cannot be used for this contract (expired, not yet valid, used up...)."""


@dataclass(frozen=True)
class Promo:
    code: str
    kind: str  # "amount" (fen off) or "percent" (basis points off)
    amount_fen: int
    percent_bp: int
    valid_from: str | None
    valid_until: str | None
    max_uses: int | None
    min_subtotal_fen: int
    active: bool = True

    @classmethod
    def from_row(cls, row: Mapping[str, Any] | RowMapping) -> Promo:
        return cls(row["code"], row["kind"], row["amount_fen"] or 0, row["percent_bp"] or 0, row["valid_from"],
                   row["valid_until"], row["max_uses"], row["min_subtotal_fen"] or 0, bool(row["active"]))

    def discount(self, subtotal_fen: int, on: date, uses: int) -> int:
        """The discount this code gives on ``subtotal_fen`` on day ``on`` after ``uses`` earlier uses."""
        today = on.isoformat()
        if not self.active:
            raise PromoRefused(f"promo code {self.code} is withdrawn", code=self.code, why="inactive")
        if self.valid_from and today < self.valid_from:
            raise PromoRefused(f"promo code {self.code} is valid from {self.valid_from}", code=self.code,
                               why="not_yet_valid")
        if self.valid_until and today > self.valid_until:
            raise PromoRefused(f"promo code {self.code} expired on {self.valid_until}", code=self.code,
                               why="expired")
        if self.max_uses is not None and uses >= self.max_uses:
            raise PromoRefused(f"promo code {self.code} has been used {uses} of {self.max_uses} times",
                               code=self.code, why="exhausted")
        if subtotal_fen < self.min_subtotal_fen:
            raise PromoRefused(f"promo code {self.code} needs a subtotal of at least "
                               f"{Money(self.min_subtotal_fen)}", code=self.code, why="below_minimum")
        if self.kind == "percent":
            return round_half_up(Fraction(subtotal_fen * self.percent_bp, 10_000))
        return min(self.amount_fen, subtotal_fen)


@dataclass(frozen=True)
class LineRequest:
    hours_x100: int
    gift_hours_x100: int
    unit_price_fen: int


@dataclass(frozen=True)
class PricedLine:
    hours_x100: int
    gift_hours_x100: int
    unit_price_fen: int
    list_fen: int
    discount_fen: int

    @property
    def amount_fen(self) -> int:
        return self.list_fen - self.discount_fen


@dataclass(frozen=True)
class Quote:
    lines: list[PricedLine]
    promo_discount_fen: int
    manual_discount_fen: int

    @property
    def list_fen(self) -> int:
        return sum(line.list_fen for line in self.lines)

    @property
    def discount_fen(self) -> int:
        return self.promo_discount_fen + self.manual_discount_fen

    @property
    def amount_fen(self) -> int:
        return self.list_fen - self.discount_fen


def quote(lines: Sequence[LineRequest], promo: Promo | None = None, promo_uses: int = 0,
          on: date | None = None, manual_discount_fen: int = 0, roles: Iterable[Role] = ()) -> Quote:
    """Price the lines, take off the promo code and the manual discount, and spread the
    discounts over the lines in proportion to their list prices (so each line knows the value
    of its hours, which refunds and exchanges need)."""
    if not lines:
        raise Invalid("lines", "a contract needs at least one line")
    for i, line in enumerate(lines):
        if type(line.hours_x100) is not int or line.hours_x100 <= 0:
            raise Invalid(f"lines.{i}.hours_x100", "must be a positive whole number of hundredths")
        if type(line.gift_hours_x100) is not int or line.gift_hours_x100 < 0:
            raise Invalid(f"lines.{i}.gift_hours_x100", "must be a whole number of hundredths, not negative")
    list_prices = [list_price(line.hours_x100, line.unit_price_fen) for line in lines]
    subtotal = sum(list_prices)
    if promo is not None and on is None:
        raise ValueError("a promo code is priced on a day: pass the campus's day as `on`")
    promo_fen = promo.discount(subtotal, on, promo_uses) if promo is not None and on is not None else 0
    if type(manual_discount_fen) is not int or manual_discount_fen < 0:
        raise Invalid("manual_discount_fen", "must be a whole number of fen, not negative")
    limit_bp = manual_discount_limit_bp(roles)
    limit_fen = subtotal * limit_bp // 10_000
    if manual_discount_fen > limit_fen:
        raise Invalid("manual_discount_fen", f"your roles allow a manual discount of at most {_percent(limit_bp)} "
                      f"({Money(limit_fen)})", limit_fen=limit_fen)
    if promo_fen + manual_discount_fen > subtotal:
        raise Invalid("manual_discount_fen", "discounts exceed the list price")
    total_discount = promo_fen + manual_discount_fen
    if subtotal and total_discount:
        shares = [m.fen for m in Money(total_discount).allocate(list_prices)]
    else:
        shares = [0] * len(lines)
    priced = [PricedLine(line.hours_x100, line.gift_hours_x100, line.unit_price_fen, lp, share)
              for line, lp, share in zip(lines, list_prices, shares, strict=True)]
    return Quote(priced, promo_fen, manual_discount_fen)
