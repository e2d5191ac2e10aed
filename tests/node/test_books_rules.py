"""The books' pure rules at a campus, as tables of cases."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campus.node.books.rules import (
    AboveReleasable,
    CloseOutOfOrder,
    OverInvoicing,
    PeriodClosed,
    Receipt,
    StatementLine,
    check_close,
    check_invoice,
    check_open,
    check_release,
    held,
    invoice_room,
    match_statement,
    previous_period,
    releasable,
)


@pytest.mark.parametrize(("limit", "consumed", "paid", "invoiced", "room"), [
    ("consumed", 30000, 300000, 0, 30000),
    ("consumed", 30000, 300000, 30000, 0),
    ("paid", 30000, 300000, 30000, 270000),
    ("paid", 30000, 10000, 0, 10000),  # taught beyond what was paid: at most what was paid
    ("consumed", 0, 0, 0, 0),
    ("consumed", 100, 100, 150, 0),  # never negative
])
def test_invoice_room(limit: str, consumed: int, paid: int, invoiced: int, room: int) -> None:
    assert invoice_room(limit, consumed, paid, invoiced) == room


def test_over_invoicing_names_the_limit() -> None:
    with pytest.raises(OverInvoicing) as refused:
        check_invoice(30001, "consumed", 30000, 300000, 0)
    assert refused.value.facts["limit_fen"] == 30000 and refused.value.facts["field"] == "amount_fen"


@pytest.mark.parametrize(("contracts", "released", "room", "kept"), [
    ([(300000, 30000)], 0, 30000, 270000),
    ([(300000, 30000)], 30000, 0, 270000),
    ([(10000, 30000)], 0, 10000, 0),  # consumed beyond what came in here: only what came in
    ([(300000, 30000), (50000, 60000)], 20000, 60000, 270000),
    ([], 0, 0, 0),
])
def test_releasable_and_held(contracts: list[tuple[int, int]], released: int, room: int, kept: int) -> None:
    assert (releasable(contracts, released), held(contracts)) == (room, kept)


def test_a_release_above_the_releasable_is_refused() -> None:
    with pytest.raises(AboveReleasable):
        check_release(30001, 30000)
    check_release(30000, 30000)


@pytest.mark.parametrize(("period", "today", "closed", "with_entries", "refused"), [
    ("2026-11", "2026-12", set(), {"2026-11"}, False),
    ("2026-12", "2026-12", set(), {"2026-12"}, True),  # not over yet
    ("2026-11", "2026-12", {"2026-11"}, {"2026-11"}, True),  # already closed
    ("2026-11", "2026-12", set(), {"2026-10", "2026-11"}, True),  # October first
    ("2026-11", "2026-12", {"2026-10"}, {"2026-10", "2026-11"}, False),
    ("2026-11", "2027-01", set(), set(), False),  # an empty month closes too
])
def test_months_close_in_order_once_they_are_over(period: str, today: str, closed: set[str],
                                                  with_entries: set[str], refused: bool) -> None:
    if refused:
        with pytest.raises(CloseOutOfOrder):
            check_close(period, today, closed, with_entries)
    else:
        check_close(period, today, closed, with_entries)


@pytest.mark.parametrize(("date", "closed", "refused"), [
    ("2026-11-30", {"2026-11"}, True), ("2026-10-01", {"2026-11"}, True), ("2026-12-01", {"2026-11"}, False),
    ("2026-11-30", set(), False),
])
def test_a_posting_into_a_closed_month_is_refused(date: str, closed: set[str], refused: bool) -> None:
    if refused:
        with pytest.raises(PeriodClosed) as error:
            check_open(date, closed)
        assert error.value.facts["field"] == "entry_date"
    else:
        check_open(date, closed)


@pytest.mark.parametrize(("period", "before"), [("2026-01", "2025-12"), ("2026-12", "2026-11"), ("2026-10", "2026-09")])
def test_previous_period(period: str, before: str) -> None:
    assert previous_period(period) == before


RECEIPTS = [Receipt("p1", "2026-12-01", 50000, "BJ01-R-000001"), Receipt("p2", "2026-12-01", 50000, "BJ01-R-000002"),
            Receipt("p3", "2026-12-03", 120000, "BJ01-R-000003")]


@pytest.mark.parametrize(("lines", "expected"), [
    ([StatementLine(1, "2026-12-02", 50000, "转账 BJ01-R-000002")], {1: "p2"}),  # by the receipt number
    ([StatementLine(1, "2026-12-02", 50000, "")], {1: "p1"}),  # by amount, nearest date, then earliest
    ([StatementLine(1, "2026-12-02", 50000), StatementLine(2, "2026-12-02", 50000)], {1: "p1", 2: "p2"}),
    ([StatementLine(1, "2026-12-09", 50000)], {}),  # too far from any receipt
    ([StatementLine(1, "2026-12-03", 120001)], {}),  # no receipt of that amount
    ([StatementLine(1, "2026-12-03", -120000)], {}),  # money going out is no receipt
    ([StatementLine(1, "2026-12-02", 50000, "BJ01-R-000003")], {1: "p1"}),  # a number with another amount: no
])
def test_statement_lines_match_receipts(lines: list[StatementLine], expected: dict[int, str]) -> None:
    assert match_statement(lines, RECEIPTS) == expected


@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from([50000, 120000, 7000])), max_size=12),
       st.randoms(use_true_random=False))
def test_matching_uses_each_receipt_once_whatever_the_order(raw: list[tuple[int, int]], rnd: random.Random) -> None:
    lines = [StatementLine(i, f"2026-12-{day + 1:02d}", amount) for i, (day, amount) in enumerate(raw)]
    shuffled_lines, shuffled_receipts = lines[:], RECEIPTS[:]
    rnd.shuffle(shuffled_lines), rnd.shuffle(shuffled_receipts)

    matched = match_statement(lines, RECEIPTS)

    assert matched == match_statement(shuffled_lines, shuffled_receipts)
    assert len(set(matched.values())) == len(matched)
    amounts = {r.payment_id: r.amount_fen for r in RECEIPTS}
    assert all(amounts[pid] == next(x.amount_fen for x in lines if x.row == row) for row, pid in matched.items())


@pytest.mark.parametrize(("refund", "paid", "invoiced", "refused"), [
    (100000, 300000, 0, False), (270000, 300000, 30000, False), (270001, 300000, 30000, True),
    (300000, 300000, 30000, True), (0, 0, 0, False),
])
def test_a_refund_of_invoiced_value_needs_a_red_letter_invoice_first(refund: int, paid: int, invoiced: int,
                                                                     refused: bool) -> None:
    from campus.node.books.rules import InvoicedValue, check_refund_against_invoices

    if refused:
        with pytest.raises(InvoicedValue):
            check_refund_against_invoices(refund, paid, invoiced)
    else:
        check_refund_against_invoices(refund, paid, invoiced)
