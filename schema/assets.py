"""The student's asset account (学生个人资产账户): ledger arithmetic shared by node and hub.

Each contract line has an append-only ledger. An entry moves hours (in hundredths) and value
(in fen), both signed; an entry is either on the paid hours or on the gift hours of the line.
Remaining hours and remaining value are sums of the entries, computed here and nowhere else.

Rules kept by every function that plans entries:

* Paid hours are used before gift hours (gift hours carry no value and are never refunded).
* Taking paid hours takes value in proportion (remaining value × hours / remaining paid
  hours, rounded half up to the fen), and taking the last paid hour takes all the value
  that is left, so value never goes negative and never lingers without hours.
* A reversal is the exact negation of the entry it reverses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from campus.schema.errors import Conflict, Invalid
from campus.schema.quantities import round_half_up

if TYPE_CHECKING:
    from sqlalchemy import RowMapping


class EntryKind(StrEnum):
    PURCHASED = "purchased"  # + paid hours and their value (signing, expansion)
    GIFT = "gift"  # + gift hours at zero value
    CONSUMED = "consumed"  # − hours used by a confirmed lesson
    REVERSAL = "reversal"  # ± the exact negation of an earlier entry
    REFUNDED = "refunded"  # − paid hours and their value given back (shrink, refund)
    EXCHANGED_OUT = "exchanged_out"  # − value moved to another line
    EXCHANGED_IN = "exchanged_in"  # + value received from another line, in its hours
    EXPIRED = "expired"  # − what was left when the contract expired


# Which way each kind may move a balance (a reversal goes either way).
SIGN = {EntryKind.PURCHASED: 1, EntryKind.GIFT: 1, EntryKind.EXCHANGED_IN: 1, EntryKind.CONSUMED: -1,
        EntryKind.REFUNDED: -1, EntryKind.EXCHANGED_OUT: -1, EntryKind.EXPIRED: -1}


@dataclass(frozen=True, slots=True)
class Entry:
    """The numbers of one ledger entry."""

    kind: EntryKind
    hours_x100: int
    value_fen: int
    gift: bool = False

    def __post_init__(self) -> None:
        if type(self.hours_x100) is not int or type(self.value_fen) is not int:
            raise TypeError("ledger entries hold integer hundredths and integer fen")
        if self.gift and self.value_fen:
            raise ValueError("gift hours carry no value")
        sign = SIGN.get(self.kind)
        if sign is not None and (self.hours_x100 * sign < 0 or self.value_fen * sign < 0):
            raise ValueError(f"a {self.kind.value} entry cannot move the balance the other way")

    def reversed(self) -> Entry:
        return Entry(EntryKind.REVERSAL, -self.hours_x100, -self.value_fen, self.gift)


@dataclass(frozen=True, slots=True)
class Balance:
    paid_hours_x100: int = 0
    gift_hours_x100: int = 0
    value_fen: int = 0

    @property
    def hours_x100(self) -> int:
        return self.paid_hours_x100 + self.gift_hours_x100

    def after(self, entries: Iterable[Entry]) -> Balance:
        paid, gift, value = self.paid_hours_x100, self.gift_hours_x100, self.value_fen
        for entry in entries:
            if entry.gift:
                gift += entry.hours_x100
            else:
                paid += entry.hours_x100
            value += entry.value_fen
        return Balance(paid, gift, value)

    def as_dict(self) -> dict[str, int]:
        return {"hours_x100": self.hours_x100, "paid_hours_x100": self.paid_hours_x100,
                "gift_hours_x100": self.gift_hours_x100, "value_fen": self.value_fen}


def entry_from_row(row: Mapping[str, Any] | RowMapping) -> Entry:
    return Entry(EntryKind(row["kind"]), row["hours_x100"], row["value_fen"], bool(row["gift"]))


def balance_of(entries: Iterable[Entry | Mapping[str, Any]]) -> Balance:
    """The balance a ledger shows: the sums of its entries."""
    return Balance().after(e if isinstance(e, Entry) else entry_from_row(e) for e in entries)


class NotEnoughHours(Conflict):
    """The line does not hold the hours asked for."""


def _positive(hours_x100: int, field: str = "hours_x100") -> None:
    if type(hours_x100) is not int or hours_x100 <= 0:
        raise Invalid(field, "must be a positive whole number of hundredths of an hour")


def value_of_paid_hours(balance: Balance, hours_x100: int) -> int:
    """The value that goes with ``hours_x100`` of the remaining paid hours."""
    if hours_x100 == balance.paid_hours_x100:
        return balance.value_fen
    return round_half_up(Fraction(balance.value_fen * hours_x100, balance.paid_hours_x100))


def purchase(hours_x100: int, value_fen: int, gift_hours_x100: int = 0) -> list[Entry]:
    """Entries for hours bought (signing or expansion) and the gift hours that came with them."""
    _positive(hours_x100)
    if type(value_fen) is not int or value_fen < 0:
        raise Invalid("amount_fen", "must be a whole number of fen, not negative")
    if type(gift_hours_x100) is not int or gift_hours_x100 < 0:
        raise Invalid("gift_hours_x100", "must be a whole number of hundredths, not negative")
    entries = [Entry(EntryKind.PURCHASED, hours_x100, value_fen)]
    if gift_hours_x100:
        entries.append(Entry(EntryKind.GIFT, gift_hours_x100, 0, gift=True))
    return entries


def consume(balance: Balance, hours_x100: int, allow_overdraft: bool = False) -> list[Entry]:
    """Entries for using ``hours_x100``: paid hours first, then gift hours.

    With ``allow_overdraft`` (a lesson another campus already confirmed offline), hours beyond
    the balance are still recorded, on the paid hours at no value, so nothing is dropped."""
    _positive(hours_x100)
    if hours_x100 > balance.hours_x100 and not allow_overdraft:
        raise NotEnoughHours(f"the line holds {balance.hours_x100} hundredths of an hour, "
                             f"{hours_x100} asked for", remaining_hours_x100=balance.hours_x100)
    paid = min(hours_x100, max(balance.paid_hours_x100, 0))
    gift = min(hours_x100 - paid, max(balance.gift_hours_x100, 0))
    over = hours_x100 - paid - gift
    entries = []
    if paid:
        entries.append(Entry(EntryKind.CONSUMED, -paid, -value_of_paid_hours(balance, paid)))
    if gift:
        entries.append(Entry(EntryKind.CONSUMED, -gift, 0, gift=True))
    if over:
        entries.append(Entry(EntryKind.CONSUMED, -over, 0))
    return entries


def take_paid(balance: Balance, hours_x100: int, kind: EntryKind) -> Entry:
    """An entry taking paid hours and their value out (refund, shrink, exchange out)."""
    _positive(hours_x100)
    if hours_x100 > balance.paid_hours_x100:
        raise NotEnoughHours(f"the line holds {balance.paid_hours_x100} paid hundredths of an hour, "
                             f"{hours_x100} asked for", remaining_paid_hours_x100=balance.paid_hours_x100)
    return Entry(kind, -hours_x100, -value_of_paid_hours(balance, hours_x100))


def exchange(source: Balance, hours_x100: int, target_unit_price_fen: int) -> tuple[Entry, Entry]:
    """Move paid hours to another line at the price ratio: the value moves whole, and the
    target receives as many hundredths as that value buys at its unit price (rounded down)."""
    out = take_paid(source, hours_x100, EntryKind.EXCHANGED_OUT)
    if type(target_unit_price_fen) is not int or target_unit_price_fen <= 0:
        raise Invalid("unit_price_fen", "the target course needs a positive unit price")
    hours_in = -out.value_fen * 100 // target_unit_price_fen
    if hours_in <= 0:
        raise Invalid("hours_x100", "the value exchanged does not buy a hundredth of an hour of the target course")
    return out, Entry(EntryKind.EXCHANGED_IN, hours_in, -out.value_fen)


def expire(balance: Balance) -> list[Entry]:
    """Entries removing everything left on a line whose contract expired."""
    entries = []
    if balance.paid_hours_x100 > 0:
        entries.append(Entry(EntryKind.EXPIRED, -balance.paid_hours_x100, -balance.value_fen))
    if balance.gift_hours_x100 > 0:
        entries.append(Entry(EntryKind.EXPIRED, -balance.gift_hours_x100, 0, gift=True))
    return entries
