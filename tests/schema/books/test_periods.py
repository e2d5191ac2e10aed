"""Closed periods and late facts; the order facts arrive in; figures read off the journal."""

from __future__ import annotations

from campus.schema.books.posting import BooksSettings
from campus.schema.books.projection import (
    PeriodClose,
    balance_sheet,
    close_period,
    deferred_tuition,
    income_statement,
    next_period,
    project,
    trial_balance,
)
from tests.schema.books.builders import CODES, A, B, Facts, balances


def test_periods_follow_each_other_across_a_year_end() -> None:
    assert [next_period(p) for p in ("2026-01", "2026-11", "2026-12")] == ["2026-02", "2026-12", "2027-01"]


def test_a_fact_that_arrives_after_its_month_was_closed_posts_in_the_next_open_month_naming_its_origin() -> None:
    facts = Facts()
    paid = facts.receipt("c1", 1000_00, day="2026-01-10")
    january = project([paid], campus_codes=CODES)
    closes = [close_period(january, A, "2026-01")]
    late = facts.consumption("c1", 300_00, taught_at=B, day="2026-01-20")  # B taught offline, synced in February

    journal = project([paid, late], campus_codes=CODES, closes=closes).entries

    assert [e for e in journal if e.period == "2026-01" and e.campus_id == A] == list(january.entries)
    moved = [e for e in journal if e.campus_id == A and e.source_id == late.id]
    assert {(e.rule, e.date, e.period, e.origin_period) for e in moved} == {
        ("consumption", "2026-02-01", "2026-02", "2026-01"), ("teaching_settlement", "2026-02-01", "2026-02", "2026-01")}
    assert all("以前期间调整，原属 2026-01" in e.memo for e in moved)
    # B never closed January: its side of the settlement stays on the day it taught.
    assert [(e.date, e.origin_period) for e in journal if e.campus_id == B] == [("2026-01-20", None)]


def test_a_late_fact_taken_in_by_a_later_close_stays_where_that_close_saw_it() -> None:
    facts = Facts()
    paid = facts.receipt("c1", 1000_00, day="2026-01-10")
    closes = [close_period(project([paid]), A, "2026-01")]
    late = facts.consumption("c1", 300_00, day="2026-01-20")
    february = project([paid, late], closes=closes)
    closes.append(close_period(february, A, "2026-02"))
    later = facts.consumption("c1", 100_00, day="2026-01-25")

    journal = project([paid, late, later], closes=closes).entries

    assert [(e.source_id, e.period) for e in journal] == [(paid.id, "2026-01"), (late.id, "2026-02"),
                                                          (later.id, "2026-03")]


def test_closed_months_keep_their_amounts_when_an_earlier_fact_arrives_late() -> None:
    # The receipt on the 5th reaches the books after January closed: January's lesson stays a receivable.
    facts = Facts()
    lesson = facts.consumption("c1", 300_00, day="2026-01-20")
    closes = [close_period(project([lesson]), A, "2026-01")]
    early_receipt = facts.receipt("c1", 1000_00, day="2026-01-05")

    journal = project([early_receipt, lesson], closes=closes).entries

    assert balances(e for e in journal if e.period == "2026-01") == {"1122": 300_00, "6001": -300_00}
    assert balances(e for e in journal if e.period == "2026-02") == {"1001": 1000_00, "1122": -300_00,
                                                                     "2204": -700_00}


def test_a_reversal_posts_no_earlier_than_what_it_reverses() -> None:
    facts = Facts()
    lesson = facts.consumption("c1", 300_00, day="2026-01-20")
    reversal = facts.reversal(lesson, day="2026-01-21")
    closes = [PeriodClose(A, "2026-01", frozenset({reversal.key}))]  # the reversal was seen, its lesson not

    journal = project([lesson, reversal], closes=closes).entries

    assert {(e.rule, e.period) for e in journal} == {("consumption", "2026-02"), ("consumption.reversal", "2026-02")}
    assert balances(journal) == {}


def test_the_journal_does_not_depend_on_the_order_facts_arrive_in() -> None:
    facts = Facts()
    made = [facts.consumption("c1", 500_00), facts.receipt("c1", 300_00), facts.receipt("c1", 400_00),
            facts.consumption("c1", 100_00, taught_at=B)]

    forward = project(made, campus_codes=CODES)
    backward = project(reversed(made), campus_codes=CODES)

    assert forward == backward


def test_trial_balance_shows_opening_movements_and_closing_per_account() -> None:
    facts = Facts()
    journal = project([facts.receipt("c1", 1000_00, day="2026-01-10"),
                       facts.consumption("c1", 300_00, day="2026-02-10"),
                       facts.consumption("c1", 200_00, day="2026-03-10")]).entries

    rows = trial_balance(journal, "2026-02", "2026-02")

    assert [(r.code, r.name_zh, r.opening_fen, r.debit_fen, r.credit_fen, r.closing_fen) for r in rows] == [
        ("1001", "库存现金", 1000_00, 0, 0, 1000_00),
        ("2204", "合同负债", -1000_00, 300_00, 0, -700_00),
        ("6001", "主营业务收入", 0, 0, 300_00, -300_00),
    ]
    assert sum(r.closing_fen for r in rows) == 0


def test_income_statement_and_balance_sheet_read_the_same_journal() -> None:
    facts = Facts()
    journal = project([facts.receipt("c1", 1030_00), facts.consumption("c1", 515_00),
                       facts.receipt("c2", 100_00), facts.consumption("c2", 300_00),
                       facts.consumption("c3", 200_00, taught_at=B)],
                      settings=BooksSettings(vat_rate_bp=300, inter_campus_share_bp=5000), campus_codes=CODES).entries
    at_a = [e for e in journal if e.campus_id == A]

    income = income_statement(at_a, "2026-01", "2026-01")
    sheet = balance_sheet(at_a, "2026-01")

    # 515 + 300 + 200 taught, tax-inclusive at 3%: 500 + 291.26 + 194.17 revenue.
    assert (income.tuition_revenue_fen, income.cost_of_teaching_fen) == (985_43, 100_00)
    assert income.profit_fen == 885_43
    assert sheet.assets == {"1001": 1130_00, "1122": 400_00}
    # What A owes B for teaching its student is a liability, though 1221 is an asset account.
    assert sheet.liabilities == {"1221.SH01": 100_00, "2204": 515_00, "2221": 29_57}
    assert sheet.total_assets_fen == sheet.total_liabilities_and_equity_fen
    assert sheet.profit_fen == income.profit_fen


def test_deferred_tuition_rolls_forward_per_contract() -> None:
    facts = Facts()
    journal = project([facts.receipt("c1", 1000_00, day="2026-01-10"),
                       facts.consumption("c1", 300_00, day="2026-01-20"),
                       facts.consumption("c1", 200_00, day="2026-02-10"),
                       facts.refund("c1", 400_00, fee_fen=50_00, day="2026-02-20"),
                       facts.consumption("c2", 100_00, day="2026-02-11")]).entries

    rows, total = deferred_tuition(journal, "2026-02", "2026-02")

    assert [(r.contract_id, r.opening_fen, r.received_fen, r.recognised_fen, r.refunded_fen, r.closing_fen)
            for r in rows] == [("c1", 700_00, 0, 200_00, 450_00, 50_00), ("c2", 0, 0, 100_00, 0, -100_00)]
    assert (total.deferred_fen, total.receivable_fen) == (50_00, 100_00)
    assert total.opening_fen + total.received_fen - total.recognised_fen - total.refunded_fen == total.closing_fen
