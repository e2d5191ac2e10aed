"""Posting rules, case by case: which accounts each fact moves, and by how much."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from campus.schema import assets
from campus.schema.books import chart
from campus.schema.books.facts import Fact, Receipt
from campus.schema.books.posting import (
    RULES,
    Book,
    BooksSettings,
    ExpiryTreatment,
    JournalEntry,
    Ledger,
    Line,
    Position,
    Posting,
    lines,
    make_entry,
    register_rule,
    vat_split,
)
from campus.schema.quantities import FloatRefused
from tests.schema.books.builders import CODES, A, B, Facts, balances


def ledger(**settings: object) -> Ledger:
    return Ledger(BooksSettings(**settings), CODES)  # type: ignore[arg-type]


@pytest.mark.parametrize(("fund", "code"), [("cash", "1001"), ("bank", "1002"), ("wechat", "1012.01"),
                                            ("alipay", "1012.02"), ("pos", "1012.03")])
def test_a_receipt_debits_its_fund_account_and_defers_the_tuition(fund: str, code: str) -> None:
    books, facts = ledger(), Facts()

    (entry,) = books.apply(facts.receipt("c1", 300_00, fund=fund))

    assert [(ln.account, ln.debit_fen, ln.credit_fen) for ln in entry.lines] == [(code, 300_00, 0),
                                                                                  ("2204", 0, 300_00)]
    assert (entry.campus_id, entry.date, entry.period, entry.memo) == (A, "2026-01-05", "2026-01", "收学费")


def test_discounted_hours_are_recognised_at_the_discounted_value_and_gift_hours_at_nothing() -> None:
    # 10 hours at ¥200 less ¥200 discount, 2 gift hours; all paid, then all 12 hours taught in 4 lessons.
    books, facts = ledger(), Facts()
    balance = assets.balance_of(assets.purchase(1000, 1800_00, gift_hours_x100=200))
    books.apply(facts.receipt("c1", 1800_00))
    recognised = []
    for _ in range(4):
        taken = assets.consume(balance, 300)
        balance = balance.after(taken)
        for entry in taken:
            if entry.value_fen:  # gift hours carry no value: the asset ledger has no fact for the books
                recognised.append(books.apply(facts.consumption("c1", -entry.value_fen, hours_x100=300)))

    assert [e[0].lines[-1].credit_fen for e in recognised] == [540_00, 540_00, 540_00, 180_00]
    assert balances(books.entries) == {"1001": 1800_00, "6001": -1800_00}


@pytest.mark.parametrize(("steps", "expected"), [
    ("pay 300, consume 500", {"1001": 300_00, "1122": 200_00, "6001": -500_00}),
    ("pay 300, consume 500, pay 700", {"1001": 1000_00, "2204": -500_00, "6001": -500_00}),
    ("consume 500, pay 200", {"1001": 200_00, "1122": 300_00, "6001": -500_00}),
    ("pay 1000, consume 400, consume 400", {"1001": 1000_00, "2204": -200_00, "6001": -800_00}),
])
def test_consumption_beyond_what_was_paid_is_a_receivable_and_receipts_clear_it_first(
        steps: str, expected: dict[str, int]) -> None:
    books, facts = ledger(), Facts()
    for step in steps.split(", "):
        verb, amount = step.split()
        books.apply(facts.receipt("c1", int(amount) * 100) if verb == "pay"
                    else facts.consumption("c1", int(amount) * 100))

    assert balances(books.entries) == expected
    position = books.position("c1")
    assert position.deferred_fen == -expected.get("2204", 0)
    assert position.receivable_fen == expected.get("1122", 0)


def test_consumption_partly_paid_splits_one_entry_between_deferred_tuition_and_receivable() -> None:
    books, facts = ledger(), Facts()
    books.apply(facts.receipt("c1", 300_00))

    (entry,) = books.apply(facts.consumption("c1", 500_00))

    assert [(ln.account, ln.debit_fen, ln.credit_fen) for ln in entry.lines] == [
        ("2204", 300_00, 0), ("1122", 200_00, 0), ("6001", 0, 500_00)]


@pytest.mark.parametrize(("treatment", "expected"), [
    (ExpiryTreatment.KEEP_DEFERRED, {"1001": 1000_00, "2204": -600_00, "6001": -400_00}),
    (ExpiryTreatment.RECOGNISE, {"1001": 1000_00, "6001": -1000_00}),
])
def test_expiry_of_unused_hours_recognises_what_is_left_or_keeps_it_deferred(
        treatment: ExpiryTreatment, expected: dict[str, int]) -> None:
    books, facts = ledger(expiry=treatment), Facts()
    books.apply(facts.receipt("c1", 1000_00))
    books.apply(facts.consumption("c1", 400_00))

    books.apply(facts.expiry("c1", 600_00))

    assert balances(books.entries) == expected


def test_expiry_recognises_no_more_than_was_paid() -> None:
    books, facts = ledger(expiry=ExpiryTreatment.RECOGNISE), Facts()
    books.apply(facts.receipt("c1", 500_00))
    books.apply(facts.consumption("c1", 400_00))

    books.apply(facts.expiry("c1", 600_00))  # ¥600 of hours left, only ¥100 of them paid

    assert balances(books.entries) == {"1001": 500_00, "6001": -500_00}


@pytest.mark.parametrize(("rate_bp", "revenue", "tax"), [(0, 103_00, 0), (300, 100_00, 3_00), (300, 97, 3), (300, 16, 0),
                                                         (600, 100_00, 6_00)])
def test_vat_off_recognises_everything_as_revenue_and_a_simplified_rate_splits_out_the_tax(
        rate_bp: int, revenue: int, tax: int) -> None:
    books, facts = ledger(vat_rate_bp=rate_bp), Facts()
    books.apply(facts.receipt("c1", revenue + tax))

    books.apply(facts.consumption("c1", revenue + tax))

    assert balances(books.entries) == {"1001": revenue + tax, "6001": -revenue, **({"2221": -tax} if tax else {})}


def test_vat_split_rounds_half_up_and_is_odd_so_reversals_undo_it_exactly() -> None:
    assert vat_split(10_300, 300) == (10_000, 300)
    assert vat_split(1_545, 300) == (1_500, 45)  # 1500.0 exactly
    assert vat_split(103, 300) == (100, 3)
    assert vat_split(52, 300) == (50, 2)  # 50.49 → 50
    for value in range(-500, 500):
        assert vat_split(-value, 300) == tuple(-part for part in vat_split(value, 300))


def test_a_lesson_taught_at_b_on_a_contract_of_a_is_revenue_at_a_and_a_settlement_between_them() -> None:
    books, facts = ledger(inter_campus_share_bp=6000), Facts()
    books.apply(facts.receipt("c1", 1000_00))

    made = books.apply(facts.consumption("c1", 200_00, taught_at=B))

    assert balances(made, A) == {"1221.SH01": -120_00, "2204": 200_00, "6001": -200_00, "6401": 120_00}
    assert balances(made, B) == {"1221.BJ01": 120_00, "6001": -120_00}
    assert {e.campus_id: e.counterpart_campus_id for e in made if e.rule == "teaching_settlement"} == {A: B, B: A}


def test_a_lesson_taught_at_home_settles_nothing() -> None:
    books, facts = ledger(), Facts()
    books.apply(facts.receipt("c1", 1000_00))

    made = books.apply(facts.consumption("c1", 200_00))

    assert [e.rule for e in made] == ["consumption"]


def test_a_deposit_is_a_deposit_received_until_it_is_applied_to_a_contract() -> None:
    books, facts = ledger(), Facts()
    deposit = facts.deposit(500_00, fund="wechat")
    books.apply(deposit)
    assert balances(books.entries) == {"1012.01": 500_00, "2203": -500_00}

    books.apply(facts.deposit_applied(deposit, "c1", 500_00))

    assert balances(books.entries) == {"1012.01": 500_00, "2204": -500_00}


def test_a_deposit_taken_at_b_and_applied_to_a_contract_of_a_passes_through_the_current_accounts() -> None:
    books, facts = ledger(), Facts()
    deposit = facts.deposit(500_00, campus=B)
    books.apply(deposit)

    books.apply(facts.deposit_applied(deposit, "c1", 300_00))

    assert balances(books.entries, B) == {"1001": 500_00, "1221.BJ01": -300_00, "2203": -200_00}
    assert balances(books.entries, A) == {"1221.SH01": 300_00, "2204": -300_00}


def test_money_taken_at_b_for_a_contract_of_a_is_owed_to_a() -> None:
    books, facts = ledger(), Facts()

    books.apply(facts.receipt("c1", 800_00, campus=B, fund="pos"))

    assert balances(books.entries, B) == {"1012.03": 800_00, "1221.BJ01": -800_00}
    assert balances(books.entries, A) == {"1221.SH01": 800_00, "2204": -800_00}


def test_a_reversed_consumption_gives_the_value_back_without_any_negative_balance() -> None:
    # Taught before paid (a receivable), then paid (clears it), then the lesson is re-confirmed as leave.
    books, facts = ledger(vat_rate_bp=300), Facts()
    lesson = facts.consumption("c1", 103_00)
    books.apply(lesson)
    books.apply(facts.receipt("c1", 103_00))

    (reversal,) = books.apply(facts.reversal(lesson))

    assert [(ln.account, ln.debit_fen, ln.credit_fen) for ln in reversal.lines] == [
        ("6001", 100_00, 0), ("2221", 3_00, 0), ("2204", 0, 103_00)]
    assert books.position("c1") == Position(deferred_fen=103_00)
    assert balances(books.entries) == {"1001": 103_00, "2204": -103_00}


def test_reversing_a_lesson_taught_at_b_reverses_both_campuses_settlement() -> None:
    books, facts = ledger(), Facts()
    books.apply(facts.receipt("c1", 1000_00))
    lesson = facts.consumption("c1", 200_00, taught_at=B)
    books.apply(lesson)

    books.apply(facts.reversal(lesson))

    assert balances(books.entries, A) == {"1001": 1000_00, "2204": -1000_00}
    assert balances(books.entries, B) == {}


def test_a_write_off_expenses_the_receivable_and_the_arrears_for_hours_not_yet_taught_as_they_are() -> None:
    # ¥1000 contract, ¥300 paid, ¥500 taught (¥200 receivable), then the ¥700 still owed is written off.
    books, facts = ledger(), Facts()
    books.apply(facts.receipt("c1", 300_00))
    books.apply(facts.consumption("c1", 500_00))

    books.apply(facts.write_off("c1", 700_00))
    assert balances(books.entries) == {"1001": 300_00, "6001": -500_00, "6702": 200_00}

    books.apply(facts.consumption("c1", 500_00))
    assert balances(books.entries) == {"1001": 300_00, "6001": -1000_00, "6702": 700_00}
    assert books.position("c1") == Position(write_off_matched_fen=700_00)


@pytest.mark.parametrize("change", ["expand", "shrink", "extend", "exchange"])
def test_contract_changes_other_than_a_write_off_move_no_money(change: str) -> None:
    books, facts = ledger(), Facts()

    assert books.apply(facts.change("c1", change, hours_x100=500, due_delta_fen=-100_00)) == ()


def test_a_refund_pays_back_deferred_tuition_and_keeps_the_fee_as_other_revenue() -> None:
    books, facts = ledger(), Facts()
    books.apply(facts.receipt("c1", 1000_00, fund="bank"))
    books.apply(facts.consumption("c1", 400_00))

    books.apply(facts.refund("c1", 540_00, fee_fen=60_00))

    assert balances(books.entries) == {"1002": 460_00, "6001": -400_00, "6051": -60_00}


def test_entry_ids_come_from_the_fact_and_rule_so_every_store_derives_the_same() -> None:
    facts = Facts()
    receipt = facts.receipt("c1", 100_00)

    first, second = ledger().apply(receipt), ledger().apply(receipt)

    assert [e.id for e in first] == [e.id for e in second]
    assert ledger().apply(facts.receipt("c1", 100_00))[0].id != first[0].id


def test_a_float_amount_is_refused_wherever_it_appears() -> None:
    with pytest.raises(FloatRefused):
        Receipt("r1", "2026-01-05T01:00:00Z", "2026-01-05", A, "c1", A, 100.0, "cash")  # type: ignore[arg-type]
    with pytest.raises(FloatRefused):
        Line("1001", debit_fen=1.5)  # type: ignore[arg-type]
    with pytest.raises(FloatRefused):
        BooksSettings(vat_rate_bp=3.0)  # type: ignore[arg-type]
    with pytest.raises(FloatRefused):
        vat_split(10.0, 300)  # type: ignore[arg-type]


@pytest.mark.parametrize(("entry_lines", "message"), [
    ((Line("1001", debit_fen=100), Line("2204", credit_fen=99)), "does not balance"),
    ((Line("1001", debit_fen=100),), "at least two lines"),
])
def test_an_unbalanced_entry_cannot_be_made(entry_lines: tuple[Line, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        JournalEntry("e1", A, "2026-01-05", "2026-01", "manual", "", "manual", "m1", entry_lines)


@pytest.mark.parametrize(("account", "debit", "credit"), [("9999", 100, 0), ("1001", 0, 0), ("1001", 5, 5),
                                                          ("1001", -5, 0)])
def test_a_line_is_one_positive_amount_on_a_known_account(account: str, debit: int, credit: int) -> None:
    with pytest.raises(ValueError):
        Line(account, debit, credit)


def test_the_chart_names_its_sub_accounts_and_current_accounts() -> None:
    assert chart.account("2204").name_zh == "合同负债"
    assert chart.account("1221.SH01").name_zh == "内部往来—SH01"
    assert chart.account("6602.03").kind is chart.Kind.EXPENSE
    assert chart.account("2204").normal_side is chart.Side.CREDIT
    assert {chart.fund_account_code(f) for f in ("cash", "wechat", "alipay", "bank", "pos")} == {
        "1001", "1002", "1012.01", "1012.02", "1012.03"}


@dataclass(frozen=True, slots=True)
class PayrollAccrued(Fact):
    kind: ClassVar[str] = "test_payroll_accrued"
    table: ClassVar[str] = "payroll_runs"

    campus_id: str
    teaching_fen: int
    admin_fen: int


def post_payroll(fact: PayrollAccrued, book: Book) -> Posting:
    entry = make_entry(fact, "test_payroll_accrued", fact.campus_id, "计提工资", lines(
        (chart.COST_OF_TEACHING, fact.teaching_fen), (chart.ADMINISTRATIVE_EXPENSES, fact.admin_fen),
        (chart.PAYROLL_PAYABLE, -(fact.teaching_fen + fact.admin_fen))))
    return Posting((entry,) if entry else ())


def test_a_later_issue_adds_its_rule_by_fact_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("campus.schema.books.posting.RULES", dict(RULES))
    register_rule(PayrollAccrued.kind, post_payroll)
    books = ledger()

    books.apply(PayrollAccrued("p1", "2026-01-31T10:00:00Z", "2026-01-31", A, 8000_00, 5000_00))

    assert balances(books.entries) == {"2211": -13000_00, "6401": 8000_00, "6602": 5000_00}
    with pytest.raises(ValueError, match="already"):
        register_rule(PayrollAccrued.kind, lambda fact, book: Posting())
