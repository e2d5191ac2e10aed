"""Bracket tiers (阶梯提成): progressive (超额累计) against whole-amount (全额累计). Pure functions.

Progressive prices each part of the month's volume at its bracket's rate; whole-amount prices
the whole volume at the rate of the bracket reached (a bracket is reached once the volume goes
past its start, so exactly 40 hours is still the 0–40 bracket). Each fact's share is the
difference of the rounded running total, so the shares add up to the month's figure exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from campus.node.payroll.facts import whole
from campus.schema.quantities import round_half_up
from campus.web.payroll.plans import Bracket, TierMode


def rate_at(brackets: Sequence[Bracket], volume: int) -> int:
    """The rate of the bracket ``volume`` reaches: the first whose end it does not pass."""
    whole(volume, "volume")
    for bracket in brackets:
        if bracket.end is None or volume <= bracket.end:
            return bracket.rate
    return brackets[-1].rate


def _progressive(start: int, stop: int, brackets: Sequence[Bracket]) -> Fraction:
    """Σ volume × rate over ``[start, stop)``, each part at its own bracket's rate."""
    if stop < start:
        return -_progressive(stop, start, brackets)
    total = Fraction(0)
    for bracket in brackets:
        low, high = max(start, bracket.start), min(stop, bracket.end if bracket.end is not None else stop)
        if high > low:
            total += (high - low) * bracket.rate
    if start < 0:  # a month that went below zero (reversed receipts) at the first bracket's rate
        total += (min(stop, 0) - start) * brackets[0].rate
    return total


def tiered_total(volume: int, brackets: Sequence[Bracket], mode: TierMode, scale: int) -> int:
    """The month's figure for ``volume``: ``volume × rate / scale`` by ``mode``, rounded half up."""
    return sum(tiered_shares([(volume, brackets)], mode, scale))


def tiered_shares(items: Sequence[tuple[int, Sequence[Bracket]]], mode: TierMode, scale: int) -> list[int]:
    """Each item's share of the month's figure, items in the order they happened, each with its own
    schedule: progressive prices item *i* over the part of the month's volume it adds; whole-amount
    at the rate its schedule reaches at the month's total. The shares add up exactly to the rounded
    total (each is the difference of the rounded running total)."""
    total = sum(whole(volume, "volume") for volume, _ in items)
    shares, done, exact, rounded = [], 0, Fraction(0), 0
    for volume, brackets in items:
        if mode is TierMode.PROGRESSIVE:
            exact += _progressive(done, done + volume, brackets)
        else:
            exact += volume * rate_at(brackets, total)
        done += volume
        running = round_half_up(exact / scale)
        shares.append(running - rounded)
        rounded = running
    return shares
