"""The asset ledger's arithmetic under random sequences of everything that can happen to a line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campus.schema import assets
from campus.schema.assets import Balance, Entry, EntryKind, NotEnoughHours, balance_of

hours = st.integers(min_value=1, max_value=20_000)
money = st.integers(min_value=0, max_value=5_000_000)
unit_prices = st.integers(min_value=1, max_value=100_000)
step = st.one_of(
    st.tuples(st.just("purchase"), hours, money, st.integers(min_value=0, max_value=2000)),
    st.tuples(st.just("consume"), st.integers(0, 1), hours),
    st.tuples(st.just("reverse"), st.integers(0, 1), st.integers(min_value=0, max_value=10_000)),
    st.tuples(st.just("shrink"), st.integers(0, 1), hours),
    st.tuples(st.just("exchange"), st.integers(0, 1), hours, unit_prices),
    st.tuples(st.just("expire"), st.integers(0, 1)),
)


class Books:
    """Two lines' ledgers plus what the outside world put in and took out."""

    def __init__(self) -> None:
        self.ledgers: list[list[Entry]] = [[], []]
        self.reversed: set[tuple[int, int]] = set()
        self.value_in = 0  # purchases
        self.value_out = 0  # consumed, refunded, expired
        self.hours_in = 0  # purchased and gift hours
        self.hours_out = 0

    def balance(self, line: int) -> Balance:
        return balance_of(self.ledgers[line])

    def post(self, line: int, entries: list[Entry]) -> None:
        for entry in entries:
            if entry.kind in (EntryKind.PURCHASED, EntryKind.GIFT):
                self.value_in += entry.value_fen
                self.hours_in += entry.hours_x100
            elif entry.kind in (EntryKind.CONSUMED, EntryKind.REFUNDED, EntryKind.EXPIRED, EntryKind.REVERSAL):
                self.value_out -= entry.value_fen
                self.hours_out -= entry.hours_x100
        self.ledgers[line].extend(entries)


def apply(books: Books, action: tuple) -> None:
    kind, line, *rest = action if action[0] != "purchase" else (action[0], 0, *action[1:])
    balance = books.balance(line)
    try:
        if kind == "purchase":
            bought, value, gift = rest
            books.post(line, assets.purchase(bought, value, gift))
        elif kind == "consume":
            books.post(line, assets.consume(balance, rest[0]))
        elif kind == "reverse":
            candidates = [i for i, e in enumerate(books.ledgers[line])
                          if e.kind is EntryKind.CONSUMED and (line, i) not in books.reversed]
            if candidates:
                index = candidates[rest[0] % len(candidates)]
                books.reversed.add((line, index))
                books.post(line, [books.ledgers[line][index].reversed()])
        elif kind == "shrink":
            books.post(line, [assets.take_paid(balance, rest[0], EntryKind.REFUNDED)])
        elif kind == "exchange":
            out, into = assets.exchange(balance, rest[0], rest[1])
            books.ledgers[line].append(out)
            books.ledgers[1 - line].append(into)
            books.hours_in += into.hours_x100 + out.hours_x100  # hours change at the price ratio
        elif kind == "expire":
            books.post(line, assets.expire(balance))
    except (NotEnoughHours, assets.Invalid):
        pass  # refused: nothing posted


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=40))
def test_value_and_hours_move_only_by_the_events_that_should(actions: list[tuple]) -> None:
    books = Books()
    for action in actions:
        before = [books.balance(0), books.balance(1)]
        apply(books, action)
        after = [books.balance(0), books.balance(1)]
        for balance in after:
            assert balance.value_fen >= 0, "remaining value never negative"
            assert balance.paid_hours_x100 >= 0 and balance.gift_hours_x100 >= 0
            if balance.paid_hours_x100 == 0:
                assert balance.value_fen == 0, "no value lingers without paid hours"
        if action[0] == "exchange":
            assert sum(b.value_fen for b in after) == sum(b.value_fen for b in before), "exchange keeps value"
    total = books.balance(0).value_fen + books.balance(1).value_fen
    assert total == books.value_in - books.value_out, "value is created only by purchases, destroyed only by use"
    total_hours = books.balance(0).hours_x100 + books.balance(1).hours_x100
    assert total_hours == books.hours_in - books.hours_out
    for line in (0, 1):  # the shown balance is the sum of the ledger's entries
        entries = books.ledgers[line]
        assert books.balance(line).hours_x100 == sum(e.hours_x100 for e in entries)
        assert books.balance(line).value_fen == sum(e.value_fen for e in entries)


def test_paid_hours_go_before_gift_hours_and_carry_their_share_of_value() -> None:
    balance = balance_of(assets.purchase(1000, 100_000, 200))
    entries = assets.consume(balance, 1100)
    assert entries == [Entry(EntryKind.CONSUMED, -1000, -100_000), Entry(EntryKind.CONSUMED, -100, 0, gift=True)]


def test_consumption_value_rounds_half_up_and_the_last_hour_takes_the_rest() -> None:
    balance = balance_of(assets.purchase(300, 100))  # three hours for one yuan: 33.33 fen an hour
    first = assets.consume(balance, 100)[0]
    balance = balance.after([first])
    second = assets.consume(balance, 100)[0]
    balance = balance.after([second])
    last = assets.consume(balance, 100)[0]
    assert [first.value_fen, second.value_fen, last.value_fen] == [-33, -34, -33]
    assert balance.after([last]) == Balance(0, 0, 0)


def test_more_hours_than_the_line_holds_are_refused() -> None:
    with pytest.raises(NotEnoughHours):
        assets.consume(balance_of(assets.purchase(100, 1000)), 101)


def test_overdraft_from_an_offline_campus_is_recorded_not_dropped() -> None:
    entries = assets.consume(balance_of(assets.purchase(100, 1000)), 150, allow_overdraft=True)
    assert balance_of([*assets.purchase(100, 1000), *entries]) == Balance(-50, 0, 0)


def test_an_entry_cannot_move_the_balance_against_its_kind_and_floats_are_refused() -> None:
    with pytest.raises(ValueError):
        Entry(EntryKind.CONSUMED, 100, 0)
    with pytest.raises(ValueError):
        Entry(EntryKind.GIFT, 100, 5, gift=True)
    with pytest.raises(TypeError):
        Entry(EntryKind.PURCHASED, 100, 10.0)  # type: ignore[arg-type]
