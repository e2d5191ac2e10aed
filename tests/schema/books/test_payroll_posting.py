"""An approved payroll run in the books: approval accrues the month's pay against 2211, payment
settles it from a fund account; one fact, two entries, each on its own day."""

from __future__ import annotations

from campus.schema.books.payroll import PayrollRun
from campus.schema.books.projection import PeriodClose, project

RUN = dict(id="01900000-0000-7000-8000-000000000001", at="2026-12-03T02:00:00Z", date="2026-12-03",
           campus_id="bj", period="2026-11", lesson_fees_fen=14100, commissions_fen=45500, other_pay_fen=750000)


def _lines(entry) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    return [(x.account, x.debit_fen, x.credit_fen) for x in entry.lines]


def test_approval_accrues_lesson_fees_commissions_and_other_pay_against_payroll_payable() -> None:
    entries = project([PayrollRun(**RUN)]).entries

    assert [(e.rule, e.date) for e in entries] == [("payroll_approval", "2026-12-03")]
    assert _lines(entries[0]) == [("6401", 14100, 0), ("6601", 45500, 0), ("6602", 750000, 0), ("2211", 0, 809600)]


def test_payment_settles_payroll_payable_from_the_fund_account_on_its_own_day() -> None:
    entries = project([PayrollRun(**RUN, paid_on="2027-01-10", fund_account="bank")]).entries

    assert [(e.rule, e.period) for e in entries] == [("payroll_approval", "2026-12"), ("payroll_payment", "2027-01")]
    assert _lines(entries[1]) == [("2211", 809600, 0), ("1002", 0, 809600)]
    assert len({e.id for e in entries}) == 2


def test_clawbacks_beyond_commissions_credit_the_selling_expenses() -> None:
    entry = project([PayrollRun(**{**RUN, "commissions_fen": -5000})]).entries[0]

    assert _lines(entry) == [("6401", 14100, 0), ("6601", 0, 5000), ("6602", 750000, 0), ("2211", 0, 759100)]


def test_a_payment_into_a_closed_month_moves_to_the_next_open_one() -> None:
    fact = PayrollRun(**RUN, paid_on="2027-01-10", fund_account="cash")
    closes = [PeriodClose("bj", "2027-01", frozenset())]

    payment = project([fact], closes=closes).entries[1]

    assert (payment.period, payment.origin_period) == ("2027-02", "2027-01")
