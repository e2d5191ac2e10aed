"""Approved payroll runs as facts for the books, with their posting rule.

Approval accrues the month's pay on the day it is approved: Dr 6401 lesson fees (主营业务成本),
Dr 6601 commissions net of clawbacks (销售费用), Dr 6602 base pay and adjustments (管理费用),
Cr 2211 payroll payable (应付职工薪酬). Payment, on the day it is recorded, settles the liability:
Dr 2211, Cr the fund account it was paid from. One run is one fact (its key is the run's row), so
both entries are derived from it, each on its own date; node and hub derive the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from campus.schema.books import chart
from campus.schema.books.facts import Fact
from campus.schema.books.posting import Book, JournalEntry, Posting, entry_id, lines, make_entry, rule_for
from campus.schema.books.projection import FACT_READERS
from campus.schema.tables import payroll_runs


@dataclass(frozen=True, slots=True)
class PayrollRun(Fact):
    """A campus's approved payroll run for ``period`` (``date``: the day it was approved), and its
    payment when it was paid (``paid_on``, the campus-local day, and the fund account)."""

    kind: ClassVar[str] = "payroll_run"
    table: ClassVar[str] = "payroll_runs"

    campus_id: str
    period: str
    lesson_fees_fen: int
    commissions_fen: int
    other_pay_fen: int
    paid_on: str | None = None
    fund_account: str | None = None

    @property
    def total_fen(self) -> int:
        return self.lesson_fees_fen + self.commissions_fen + self.other_pay_fen


@rule_for("payroll_run")
def post_payroll_run(fact: PayrollRun, book: Book) -> Posting:
    accrued = make_entry(fact, "payroll_approval", fact.campus_id, f"{fact.period} 工资计提",
                         lines((chart.COST_OF_TEACHING, fact.lesson_fees_fen),
                               (chart.SELLING_EXPENSES, fact.commissions_fen),
                               (chart.ADMINISTRATIVE_EXPENSES, fact.other_pay_fen),
                               (chart.PAYROLL_PAYABLE, -fact.total_fen)))
    paid = None
    payment_lines = lines((chart.PAYROLL_PAYABLE, fact.total_fen),
                          (chart.fund_account_code(fact.fund_account or ""), -fact.total_fen)) \
        if fact.paid_on and fact.total_fen else ()
    if payment_lines and fact.paid_on:
        paid = JournalEntry(entry_id("payroll_payment", fact.campus_id, fact.key), fact.campus_id, fact.paid_on,
                            fact.paid_on[:7], "payroll_payment", f"{fact.period} 工资发放", fact.table, fact.id,
                            payment_lines)
    return Posting(tuple(e for e in (accrued, paid) if e is not None))


def _local(instant: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(zone).date().isoformat()


def read_payroll_runs(conn: Connection, campus_id: str | None, timezone: str) -> list[Fact]:
    """Every approved (or paid) payroll run, of one campus or all."""
    zone = ZoneInfo(timezone)
    query = select(payroll_runs).where(payroll_runs.c.status.in_(("approved", "paid")),
                                       payroll_runs.c.approved_at.is_not(None), payroll_runs.c.deleted.is_(False))
    if campus_id is not None:
        query = query.where(payroll_runs.c.campus_id == campus_id)
    facts: list[Fact] = []
    for row in conn.execute(query).mappings():
        paid = row["status"] == "paid" and row["paid_at"] is not None
        facts.append(PayrollRun(id=row["id"], at=row["approved_at"], date=_local(row["approved_at"], zone),
                                campus_id=row["campus_id"], period=row["period"],
                                lesson_fees_fen=row["lesson_fees_fen"], commissions_fen=row["commissions_fen"],
                                other_pay_fen=row["other_pay_fen"],
                                paid_on=_local(row["paid_at"], zone) if paid else None,
                                fund_account=row["fund_account"] if paid else None))
    return facts


FACT_READERS.append(read_payroll_runs)
