"""The books at a campus: one use case per action (see ``campus.web.usecase``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from campus.node.books import queries
from campus.node.books.rules import (
    Receipt,
    StatementLine,
    check_close,
    check_invoice,
    check_open,
    check_release,
    match_statement,
)
from campus.node.context import NodeWork
from campus.node.finance.payments import FUND_ACCOUNTS
from campus.schema.books import chart
from campus.schema.books.entries import checked_lines
from campus.schema.books.projection import close_period
from campus.schema.errors import Conflict, Invalid, NotFound
from campus.schema.numbers import next_number
from campus.schema.quantities import Money
from campus.schema.tables import (
    campaigns,
    contracts,
    expenses,
    invoices,
    payments,
    statement_formats,
    statement_lines,
)
from campus.web.spreadsheets import cell_text
from campus.web.usecase import use_case

# What each kind of expense posts to (企业会计准则 codes); marketing may name its campaign.
EXPENSE_ACCOUNTS = {"rent": chart.ADMINISTRATIVE_EXPENSES, "utilities": chart.ADMINISTRATIVE_EXPENSES,
                    "salaries": chart.ADMINISTRATIVE_EXPENSES, "other": chart.ADMINISTRATIVE_EXPENSES,
                    "materials": chart.COST_OF_TEACHING, "marketing": chart.SELLING_EXPENSES}


def _fund(value: str, field: str = "fund_account") -> str:
    if value not in FUND_ACCOUNTS:
        raise Invalid(field, f"one of {', '.join(FUND_ACCOUNTS)}")
    return value


@use_case("books.close")
def close_month(work: NodeWork, period: str) -> dict[str, Any]:
    """Lock a month: the entries it holds now are its entries for good; later facts dated in it
    post in the next open month as prior-period adjustments. Works offline."""
    projection = queries.campus_projection(work.conn, work.ctx, work.ctx.books)
    mine = projection.of_campus(work.ctx.id)
    closed = queries.closed_periods(work.conn, work.ctx.id)
    check_close(period, work.ctx.today().isoformat()[:7], closed, {e.period for e in mine})
    close = close_period(projection, work.ctx.id, period)
    row = {"campus_id": work.ctx.id, "period": period, "facts": json.dumps(sorted(close.facts)),
           "closed_at": work.ctx.now_text(), "by_user_id": work.actor.user_id}
    row["id"] = work.uow.insert("book_closes", row)
    entries = [e for e in mine if e.period == period]
    work.audit("books_month_closed", target_table="book_closes", target_id=row["id"],
               after={"period": period, "entries": len(entries), "facts": len(close.facts)})
    return {"id": row["id"], "period": period, "entries": len(entries), "closed_at": row["closed_at"]}


@use_case("books.write")
def post_manual_entry(work: NodeWork, entry_date: str, memo: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """A journal entry typed by finance: balanced, on known accounts, into an open month."""
    checked = checked_lines(lines)
    check_open(entry_date, queries.closed_periods(work.conn, work.ctx.id))
    row: dict[str, Any]  # column values of mixed types
    row = {"campus_id": work.ctx.id, "number": next_number(work.conn, work.ctx.code, "journal"),
           "entry_date": entry_date, "memo": memo,
           "lines": json.dumps([{"account": x.account, "debit_fen": x.debit_fen, "credit_fen": x.credit_fen}
                                for x in checked]),
           "by_user_id": work.actor.user_id, "created_at": work.ctx.now_text()}
    row["id"] = work.uow.insert("manual_entries", row)
    work.audit("journal_entry_posted", target_table="manual_entries", target_id=row["id"],
               after={"number": row["number"], "entry_date": entry_date, "memo": memo,
                      "debit_fen": sum(x.debit_fen for x in checked)})
    return {**row, "lines": json.loads(row["lines"])}


@dataclass(frozen=True)
class NewExpense:
    category: str
    amount_fen: int
    fund_account: str
    incurred_on: str
    description: str
    campaign_id: str | None = None


@use_case("expenses.submit")
def submit_expense(work: NodeWork, new: NewExpense) -> dict[str, Any]:
    if new.category not in EXPENSE_ACCOUNTS:
        raise Invalid("category", f"one of {', '.join(EXPENSE_ACCOUNTS)}")
    if type(new.amount_fen) is not int or new.amount_fen <= 0:
        raise Invalid("amount_fen", "a positive whole number of fen")
    _fund(new.fund_account)
    if new.campaign_id:
        if new.category != "marketing":
            raise Invalid("campaign_id", "only a marketing expense names a campaign")
        if work.conn.execute(select(campaigns.c.id).where(campaigns.c.id == new.campaign_id)).first() is None:
            raise Invalid("campaign_id", f"no campaign {new.campaign_id}")
    row: dict[str, Any]  # column values of mixed types
    row = {"campus_id": work.ctx.id, "number": next_number(work.conn, work.ctx.code, "expense"),
           "category": new.category, "account": EXPENSE_ACCOUNTS[new.category], "amount_fen": new.amount_fen,
           "fund_account": new.fund_account, "incurred_on": new.incurred_on, "campaign_id": new.campaign_id,
           "description": new.description, "status": "submitted", "submitted_by": work.actor.user_id,
           "created_at": work.ctx.now_text(), "deleted": False}
    row["id"] = work.uow.insert("expenses", row)
    work.audit("expense_submitted", target_table="expenses", target_id=row["id"],
               after={"number": row["number"], "amount_fen": new.amount_fen, "category": new.category})
    return row


@use_case("expenses.approve")
def decide_expense(work: NodeWork, expense_id: str, approve: bool) -> dict[str, Any]:
    """A campus manager approves (it posts on the day approved) or rejects a submitted expense."""
    row = work.conn.execute(select(expenses).where(expenses.c.id == expense_id,
                                                   expenses.c.campus_id == work.ctx.id)).mappings().first()
    if row is None:
        raise NotFound(f"no expense {expense_id}", expense_id=expense_id)
    if row["status"] != "submitted":
        raise Conflict(f"expense {row['number']} is already {row['status']}", expense_status=row["status"])
    status = "approved" if approve else "rejected"
    work.uow.update("expenses", expense_id, {"status": status, "decided_by": work.actor.user_id,
                                             "decided_at": work.ctx.now_text()})
    work.audit(f"expense_{status}", target_table="expenses", target_id=expense_id,
               before={"status": "submitted"}, after={"status": status, "amount_fen": row["amount_fen"]})
    return {**dict(row), "status": status}


@use_case("books.write")
def issue_invoice(work: NodeWork, contract_id: str, amount_fen: int, buyer_name: str,
                  buyer_tax_id: str | None = None) -> dict[str, Any]:
    """An invoice (发票 register) against a contract, up to what the campus setting allows."""
    contract = work.conn.execute(select(contracts.c.id, contracts.c.student_id, contracts.c.campus_id)
                                 .where(contracts.c.id == contract_id)).first()
    if contract is None:
        raise NotFound(f"no contract {contract_id}", contract_id=contract_id)
    if contract.campus_id != work.ctx.id:
        raise Conflict("invoices are issued by the contract's campus", contract_campus_id=contract.campus_id)
    if type(amount_fen) is not int or amount_fen <= 0:
        raise Invalid("amount_fen", "a positive whole number of fen")
    figures = queries.invoicing_of(work.conn, contract_id)
    check_invoice(amount_fen, work.ctx.books.invoice_limit, **figures)
    row = {"campus_id": work.ctx.id, "number": next_number(work.conn, work.ctx.code, "invoice"), "kind": "blue",
           "contract_id": contract_id, "student_id": contract.student_id, "amount_fen": amount_fen,
           "red_of_id": None, "buyer_name": buyer_name, "buyer_tax_id": buyer_tax_id,
           "issued_at": work.ctx.now_text(), "by_user_id": work.actor.user_id}
    row["id"] = work.uow.insert("invoices", row)
    work.audit("invoice_issued", target_table="invoices", target_id=row["id"],
               after={"number": row["number"], "contract_id": contract_id, "amount_fen": amount_fen})
    return row


@use_case("books.write")
def red_invoice(work: NodeWork, invoice_id: str, reason: str) -> dict[str, Any]:
    """A red-letter invoice (冲红) cancelling a blue one whole, as a refund of invoiced value needs."""
    blue = work.conn.execute(select(invoices).where(invoices.c.id == invoice_id)).mappings().first()
    if blue is None or blue["kind"] != "blue":
        raise NotFound(f"no invoice {invoice_id} to cancel", invoice_id=invoice_id)
    if work.conn.execute(select(invoices.c.id).where(invoices.c.red_of_id == invoice_id)).first():
        raise Conflict(f"invoice {blue['number']} is already cancelled")
    row = {**{k: blue[k] for k in ("campus_id", "contract_id", "student_id", "amount_fen", "buyer_name",
                                   "buyer_tax_id")},
           "number": next_number(work.conn, work.ctx.code, "invoice"), "kind": "red", "red_of_id": invoice_id,
           "issued_at": work.ctx.now_text(), "by_user_id": work.actor.user_id}
    row["id"] = work.uow.insert("invoices", row)
    work.audit("invoice_cancelled", target_table="invoices", target_id=row["id"],
               after={"number": row["number"], "cancels": blue["number"], "reason": reason})
    return row


@use_case("books.write")
def release_funds(work: NodeWork, fund_account: str, amount_fen: int, released_on: str,
                  note: str | None = None) -> dict[str, Any]:
    """A transfer out of a supervised account (资金监管), never above what consumption released."""
    _fund(fund_account)
    if fund_account not in work.ctx.books.supervised_accounts:
        raise Invalid("fund_account", f"{fund_account} is not a supervised account at this campus")
    if type(amount_fen) is not int or amount_fen <= 0:
        raise Invalid("amount_fen", "a positive whole number of fen")
    check_release(amount_fen, queries.supervision(work.conn, work.ctx.id, fund_account)["releasable_fen"])
    row: dict[str, Any]  # column values of mixed types
    row = {"campus_id": work.ctx.id, "fund_account": fund_account, "amount_fen": amount_fen,
           "released_on": released_on, "note": note, "by_user_id": work.actor.user_id,
           "created_at": work.ctx.now_text()}
    row["id"] = work.uow.insert("fund_releases", row)
    work.audit("supervised_funds_released", target_table="fund_releases", target_id=row["id"],
               after={"fund_account": fund_account, "amount_fen": amount_fen})
    return row


@use_case("books.count")
def count_cash(work: NodeWork, day: str, fund_account: str, counted_fen: int, note: str | None = None) -> dict[str, Any]:
    """The front desk's daily close (日结): what was counted against what the books say."""
    _fund(fund_account)
    if type(counted_fen) is not int or counted_fen < 0:
        raise Invalid("counted_fen", "a whole, non-negative number of fen")
    entries = queries.campus_journal(work.conn, work.ctx, work.ctx.books)
    book = queries.fund_balance(entries, fund_account, day)
    row: dict[str, Any]  # column values of mixed types
    row = {"campus_id": work.ctx.id, "day": day, "fund_account": fund_account, "counted_fen": counted_fen,
           "book_fen": book, "difference_fen": counted_fen - book, "note": note, "by_user_id": work.actor.user_id,
           "counted_at": work.ctx.now_text()}
    row["id"] = work.uow.insert("cash_counts", row)
    work.audit("cash_counted", target_table="cash_counts", target_id=row["id"],
               after={"day": day, "fund_account": fund_account, "counted_fen": counted_fen, "book_fen": book})
    return row


@dataclass(frozen=True)
class StatementFormat:
    name: str
    fund_account: str
    date_column: str
    amount_column: str
    reference_column: str | None = None
    counterparty_column: str | None = None


@use_case("books.write")
def add_statement_format(work: NodeWork, fmt: StatementFormat) -> dict[str, Any]:
    """How one kind of statement export names its columns; mapped once, used for every import."""
    _fund(fmt.fund_account)
    row = {"campus_id": work.ctx.id, **vars(fmt), "created_at": work.ctx.now_text(), "deleted": False}
    row["id"] = work.uow.insert("statement_formats", row)
    work.audit("statement_format_added", target_table="statement_formats", target_id=row["id"],
               after={"name": fmt.name, "fund_account": fmt.fund_account})
    return row


@use_case("books.write")
def import_statement(work: NodeWork, format_id: str, rows: Iterable[tuple[int, dict[str, Any]]],
                     source: str) -> dict[str, Any]:
    """A statement's lines, each matched to a receipt of the format's fund account (by receipt
    number in its reference, or by amount and date); all the file or nothing, with every row's
    fault named. Lines and matches are recorded; what matched nothing is reported both ways."""
    fmt = work.conn.execute(select(statement_formats).where(statement_formats.c.id == format_id,
                                                            statement_formats.c.campus_id == work.ctx.id,
                                                            statement_formats.c.deleted.is_(False))
                            ).mappings().first()
    if fmt is None:
        raise Invalid("format_id", f"no statement format {format_id}")
    lines: list[StatementLine] = []
    extra: dict[int, dict[str, str | None]] = {}
    for number, values in rows:
        booked = _statement_date(values.get("date"), number)
        try:
            amount = Money.parse(cell_text(values.get("amount")).replace("¥", "").replace("￥", "").strip()).fen
        except ValueError:
            raise Invalid(f"rows.{number}.amount", f"row {number}: {values.get('amount')!r} is not an amount") from None
        reference = cell_text(values.get("reference")).strip()
        lines.append(StatementLine(number, booked, amount, reference))
        extra[number] = {"reference": reference or None,
                         "counterparty": cell_text(values.get("counterparty")).strip() or None}
    if not lines:
        raise Invalid("file", "the statement has no lines")
    taken = {row.matched_payment_id for row in work.conn.execute(
        select(statement_lines.c.matched_payment_id).where(statement_lines.c.matched_payment_id.is_not(None)))}
    receipts = [Receipt(p["id"], work.ctx.local_date(p["paid_at"]).isoformat(), p["amount_fen"], p["receipt_number"])
                for p in work.conn.execute(select(payments).where(
                    payments.c.campus_id == work.ctx.id, payments.c.fund_account == fmt["fund_account"],
                    payments.c.kind.in_(("deposit", "payment")))).mappings() if p["id"] not in taken]
    matched = match_statement(lines, receipts)
    now = work.ctx.now_text()
    for line in lines:
        work.uow.insert("statement_lines", {
            "campus_id": work.ctx.id, "format_id": format_id, "fund_account": fmt["fund_account"], "source": source,
            "row_number": line.row, "booked_on": line.booked_on, "amount_fen": line.amount_fen,
            **extra[line.row], "matched_payment_id": matched.get(line.row), "imported_at": now,
            "by_user_id": work.actor.user_id})
    report = {"source": source, "lines": len(lines), "matched": len(matched),
              "unmatched_lines": [vars(x) for x in lines if x.row not in matched]}
    work.audit("statement_imported", target_table="statement_formats", target_id=format_id,
               after={"source": source, "lines": len(lines), "matched": len(matched)})
    return report


def _statement_date(value: Any, number: int) -> str:
    """A booking date as exports write it: a spreadsheet date, 2026-12-01, 2026/12/01 or 20261201,
    possibly with a time after it."""
    from datetime import date, datetime

    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = cell_text(value).strip().split(" ")[0].split("T")[0].replace("/", "-").replace(".", "-")
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return date.fromisoformat("-".join(part.zfill(2) for part in text.split("-"))).isoformat()
    except ValueError:
        raise Invalid(f"rows.{number}.date", f"row {number}: {value!r} is not a date") from None
