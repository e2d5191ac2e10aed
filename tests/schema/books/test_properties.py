"""The books under random sequences of facts at three campuses, arriving in random order."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from campus.schema.books import chart
from campus.schema.books.facts import Consumption, Expiry, Fact, Receipt
from campus.schema.books.posting import BooksSettings, ExpiryTreatment, JournalEntry
from campus.schema.books.projection import (
    PeriodClose,
    RollForward,
    close_period,
    deferred_tuition,
    next_period,
    project,
    trial_balance,
)
from tests.schema.books.builders import A, B, Facts

C = "campus-c"
CODES = {A: "BJ01", B: "SH01", C: "GZ01"}
CAMPUSES = [A, B, C]
CONTRACTS = {"c1": A, "c2": A, "c3": B, "c4": C}

amounts = st.integers(min_value=1, max_value=200_000)
days = st.integers(min_value=0, max_value=150)
contracts = st.sampled_from(sorted(CONTRACTS))
campuses = st.sampled_from(CAMPUSES)
steps = st.lists(st.one_of(
    st.tuples(st.just("pay"), days, contracts, amounts, campuses),
    st.tuples(st.just("teach"), days, contracts, amounts, campuses),
    st.tuples(st.just("teach"), days, contracts, amounts, campuses),
    st.tuples(st.just("reverse"), days, st.integers(min_value=0, max_value=1000)),
    st.tuples(st.just("expire"), days, contracts, amounts),
    st.tuples(st.just("write_off"), days, contracts, amounts),
    st.tuples(st.just("refund"), days, contracts, amounts, st.integers(min_value=0, max_value=5000), campuses),
    st.tuples(st.just("deposit"), days, amounts, campuses),
    st.tuples(st.just("apply"), days, st.integers(min_value=0, max_value=1000), contracts),
    st.tuples(st.just("change"), days, contracts, st.sampled_from(["expand", "shrink", "extend", "exchange"])),
), max_size=40)
book_settings = st.builds(BooksSettings, vat_rate_bp=st.sampled_from([0, 300, 600]),
                          expiry=st.sampled_from(list(ExpiryTreatment)),
                          inter_campus_share_bp=st.integers(min_value=0, max_value=10_000))


def _day(offset: int) -> str:
    return (date(2026, 1, 1) + timedelta(days=offset)).isoformat()


def make_facts(plan: list[tuple]) -> list[Fact]:
    """The facts a plan of steps describes; a reversal or an application picks an earlier fact."""
    facts, made = Facts(), []
    reversible: list[Consumption | Expiry] = []
    deposits = []
    for kind, offset, *args in plan:
        day = _day(offset)
        if kind == "pay":
            contract, amount, campus = args
            made.append(facts.receipt(contract, amount, campus=campus, contract_campus=CONTRACTS[contract],
                                      fund=random.Random(amount).choice(sorted(chart.FUND_ACCOUNT_CODES)), day=day))
        elif kind == "teach":
            contract, amount, campus = args
            reversible.append(facts.consumption(contract, amount, taught_at=campus,
                                                contract_campus=CONTRACTS[contract], day=day))
            made.append(reversible[-1])
        elif kind == "reverse" and reversible:
            original = reversible.pop(args[0] % len(reversible))
            made.append(facts.reversal(original, day=max(day, original.date)))
        elif kind == "expire":
            contract, amount = args
            reversible.append(facts.expiry(contract, amount, contract_campus=CONTRACTS[contract], day=day))
            made.append(reversible[-1])
        elif kind == "write_off":
            contract, amount = args
            made.append(facts.write_off(contract, amount, contract_campus=CONTRACTS[contract], day=day))
        elif kind == "refund":
            contract, amount, fee, campus = args
            made.append(facts.refund(contract, amount, fee, campus=campus, contract_campus=CONTRACTS[contract],
                                     day=day))
        elif kind == "deposit":
            amount, campus = args
            deposits.append(facts.deposit(amount, campus=campus, day=day))
            made.append(deposits[-1])
        elif kind == "apply" and deposits:
            deposit = deposits.pop(args[0] % len(deposits))
            made.append(facts.deposit_applied(deposit, args[1], deposit.amount_fen,
                                              contract_campus=CONTRACTS[args[1]], day=max(day, deposit.date)))
        elif kind == "change":
            contract, change = args
            made.append(facts.change(contract, change, hours_x100=100, day=day))
    return made


def _periods(entries: list[JournalEntry]) -> list[str]:
    return sorted({e.period for e in entries})


@settings(max_examples=150, deadline=None)
@given(steps, book_settings)
def test_every_entry_balances_and_each_campus_trial_balance_sums_to_zero(plan: list[tuple],
                                                                      books: BooksSettings) -> None:
    journal = project(make_facts(plan), settings=books, campus_codes=CODES)

    for entry in journal.entries:
        assert entry.debit_fen == sum(line.credit_fen for line in entry.lines) > 0
        assert all(type(line.debit_fen) is int and type(line.credit_fen) is int for line in entry.lines)
    for campus in CAMPUSES:
        entries = journal.of_campus(campus)
        for period in _periods(entries):
            assert sum(row.closing_fen for row in trial_balance(entries, period, period)) == 0


@settings(max_examples=150, deadline=None)
@given(steps, book_settings)
def test_each_contract_rolls_forward_to_its_deferred_tuition_net_of_receivables(plan: list[tuple],
                                                                                books: BooksSettings) -> None:
    facts = make_facts(plan)
    journal = project(facts, settings=books, campus_codes=CODES)

    rows, total = deferred_tuition(journal.entries, "2026-01", "2099-12")

    by_contract = {row.contract_id: row for row in rows}
    for contract, position in journal.positions.items():
        row = by_contract.get(contract, RollForward(contract))  # a write-off of nothing yet owed posts nothing
        assert (row.deferred_fen, row.receivable_fen) == (position.deferred_fen, position.receivable_fen)
        assert row.other_fen == 0
        assert row.received_fen - row.recognised_fen - row.refunded_fen + row.written_off_fen == row.closing_fen
        if not row.written_off_fen:
            assert row.received_fen - row.recognised_fen - row.refunded_fen == row.closing_fen
        received = sum(f.amount_fen for f in facts if getattr(f, "contract_id", None) == contract
                       and f.kind in ("receipt", "deposit_applied"))
        assert row.received_fen == received
    for campus in CAMPUSES:  # a campus's 2204 is the sum over its contracts
        deferred = -sum(line.net_fen for e in journal.of_campus(campus) for line in e.lines
                        if line.account == chart.DEFERRED_TUITION)
        assert deferred == sum(p.deferred_fen for c, p in journal.positions.items() if CONTRACTS[c] == campus)
    assert total.deferred_fen == sum(p.deferred_fen for p in journal.positions.values())


@settings(max_examples=100, deadline=None)
@given(steps)
def test_kept_deferred_the_revenue_recognised_is_the_value_taught_and_not_reversed(plan: list[tuple]) -> None:
    facts = make_facts(plan)
    reversed_keys = {f.reverses for f in facts if f.kind == "reversal"}

    journal = project(facts, settings=BooksSettings(inter_campus_share_bp=0), campus_codes=CODES)

    _, total = deferred_tuition(journal.entries, "2026-01", "2099-12")
    assert total.recognised_fen == sum(f.value_fen for f in facts
                                       if isinstance(f, Consumption) and f.key not in reversed_keys)


@settings(max_examples=100, deadline=None)
@given(steps, book_settings)
def test_the_current_accounts_of_the_campuses_cancel_out_on_consolidation(plan: list[tuple],
                                                                         books: BooksSettings) -> None:
    journal = project(make_facts(plan), settings=books, campus_codes=CODES)

    pairs: dict[frozenset[str], int] = defaultdict(int)
    for entry in journal.entries:
        for line in entry.lines:
            if chart.is_inter_campus(line.account):
                counterpart = next(c for c, code in CODES.items() if line.account == f"1221.{code}")
                assert entry.counterpart_campus_id == counterpart != entry.campus_id
                pairs[frozenset({entry.campus_id, counterpart})] += line.net_fen
    assert all(amount == 0 for amount in pairs.values())
    internal = [line for e in journal.entries if e.rule == "teaching_settlement" for line in e.lines]
    assert sum(ln.net_fen for ln in internal if ln.account == chart.TUITION_REVENUE) == -sum(
        ln.net_fen for ln in internal if ln.account == chart.COST_OF_TEACHING)


@settings(max_examples=100, deadline=None)
@given(steps, book_settings, st.randoms(use_true_random=False))
def test_the_order_facts_arrive_in_does_not_change_the_journal(plan: list[tuple], books: BooksSettings,
                                                               shuffler: random.Random) -> None:
    facts = make_facts(plan)
    shuffled = list(facts)
    shuffler.shuffle(shuffled)

    assert project(shuffled, settings=books, campus_codes=CODES) == project(facts, settings=books,
                                                                            campus_codes=CODES)


@settings(max_examples=150, deadline=None)
@given(steps, book_settings, st.randoms(use_true_random=False), st.lists(campuses, min_size=1, max_size=4))
def test_a_closed_month_never_changes_whatever_arrives_after_it_closed(
        plan: list[tuple], books: BooksSettings, arrival: random.Random, closing: list[str]) -> None:
    facts = make_facts(plan)
    arrival.shuffle(facts)  # the order facts reach this store in, in rounds
    cut = sorted(arrival.randrange(len(facts) + 1) for _ in closing)
    closes: list[PeriodClose] = []
    frozen: dict[tuple[str, str], list[JournalEntry]] = {}
    for campus, upto in zip(closing, cut, strict=True):
        journal = project(facts[:upto], settings=books, campus_codes=CODES, closes=closes)
        closed = [c.period for c in closes if c.campus_id == campus]
        known = [e.period for e in journal.entries if e.campus_id == campus] + [
            placed_in for placed_at, placed_in in journal.placed.values() if placed_at == campus]
        period = next_period(max(closed)) if closed else min(known, default="2026-01")  # months close in order
        closes.append(close_period(journal, campus, period))
        frozen[(campus, period)] = [e for e in journal.entries if e.campus_id == campus and e.period == period]

    final = project(facts, settings=books, campus_codes=CODES, closes=closes)

    for (campus, period), entries in frozen.items():
        assert [e for e in final.entries if e.campus_id == campus and e.period == period] == entries
    assert all(e.origin_period is None or e.origin_period < e.period for e in final.entries)
    assert sum(f.amount_fen for f in facts if isinstance(f, Receipt)) == sum(
        ln.debit_fen - ln.credit_fen for e in final.entries if e.rule in ("receipt", "receipt.transfer")
        for ln in e.lines if ln.account in chart.FUND_ACCOUNT_CODES.values())
