"""Read queries of the books at a campus: the journal projected from facts, and the registers."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from campus.node.books.rules import BooksPolicy, held, releasable
from campus.node.finance.payments import contract_money
from campus.schema.books import chart
from campus.schema.books.entries import read_closes
from campus.schema.books.posting import JournalEntry
from campus.schema.books.projection import (
    Projection,
    campus_codes,
    journal,
    project,
    read_facts,
)
from campus.schema.context import CampusContext
from campus.schema.tables import (
    asset_entries,
    expenses,
    fund_releases,
    invoices,
    payments,
    statement_formats,
    statement_lines,
)


def campus_journal(conn: Connection, ctx: CampusContext, policy: BooksPolicy) -> list[JournalEntry]:
    """The campus's journal, derived from the facts this node holds (the hub derives the same)."""
    return journal(conn, ctx.id, settings=policy.settings, timezone=ctx.timezone)


def campus_projection(conn: Connection, ctx: CampusContext, policy: BooksPolicy) -> Projection:
    return project(read_facts(conn, ctx.id, ctx.timezone), settings=policy.settings, campus_codes=campus_codes(conn),
                   closes=read_closes(conn))


def closed_periods(conn: Connection, campus_id: str) -> set[str]:
    return {close.period for close in read_closes(conn, campus_id)}


def consumed_value(conn: Connection, contract_id: str) -> int:
    """Value taken out of the contract by lessons (paid hours only), net of reversed consumption."""
    consumed = {row.id: row.value_fen for row in conn.execute(select(asset_entries.c.id, asset_entries.c.value_fen)
                .where(asset_entries.c.contract_id == contract_id, asset_entries.c.kind == "consumed"))}
    reversed_ = conn.execute(select(func.coalesce(func.sum(asset_entries.c.value_fen), 0)).where(
        asset_entries.c.contract_id == contract_id, asset_entries.c.kind == "reversal",
        asset_entries.c.reverses_entry_id.in_(list(consumed) or [""]))).scalar_one()
    return -sum(consumed.values()) - int(reversed_)


def invoiced(conn: Connection, contract_id: str) -> int:
    """What the contract's invoices cover now: blue invoices less the red ones that cancel them."""
    rows = conn.execute(select(invoices.c.kind, func.sum(invoices.c.amount_fen)).where(
        invoices.c.contract_id == contract_id).group_by(invoices.c.kind)).all()
    totals = {kind: int(total) for kind, total in rows}
    return totals.get("blue", 0) - totals.get("red", 0)


def invoicing_of(conn: Connection, contract_id: str) -> dict[str, int]:
    return {"consumed_fen": consumed_value(conn, contract_id), "paid_fen": contract_money(conn, contract_id)["paid_fen"],
            "invoiced_fen": invoiced(conn, contract_id)}


def invoice_register(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(invoices).where(invoices.c.campus_id == campus_id)
                                          .order_by(invoices.c.issued_at, invoices.c.number)).mappings()]


def expense_list(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(expenses).where(expenses.c.campus_id == campus_id,
                                                                 expenses.c.deleted.is_(False))
                                          .order_by(expenses.c.created_at.desc())).mappings()]


def supervision(conn: Connection, campus_id: str, fund_account: str) -> dict[str, Any]:
    """A supervised account's figures: received into it, consumed value now releasable, released,
    and held for hours not yet taught, from each contract's money paid into the account."""
    deposit_accounts = {row.id: row.fund_account for row in conn.execute(
        select(payments.c.id, payments.c.fund_account).where(payments.c.kind == "deposit"))}
    paid_in: dict[str, int] = defaultdict(int)
    received = 0
    for row in conn.execute(select(payments).where(payments.c.campus_id == campus_id)).mappings():
        into = row["fund_account"] if row["kind"] != "deposit_applied" else deposit_accounts.get(
            row["source_payment_id"])
        if into != fund_account:
            continue
        if row["kind"] in ("deposit", "payment"):
            received += row["amount_fen"]
        if row["kind"] in ("payment", "deposit_applied") and row["contract_id"]:
            paid_in[row["contract_id"]] += row["amount_fen"]
    per_contract = [(paid, consumed_value(conn, contract_id)) for contract_id, paid in paid_in.items()]
    released = int(conn.execute(select(func.coalesce(func.sum(fund_releases.c.amount_fen), 0)).where(
        fund_releases.c.campus_id == campus_id, fund_releases.c.fund_account == fund_account)).scalar_one())
    return {"fund_account": fund_account, "received_fen": received,
            "consumed_fen": sum(min(p, c) for p, c in per_contract), "released_fen": released,
            "releasable_fen": releasable(per_contract, released), "held_fen": held(per_contract)}


def fund_balance(entries: list[JournalEntry], fund_account: str, through: str) -> int:
    """The books' balance of a fund account at the end of campus day ``through``."""
    code = chart.fund_account_code(fund_account)
    return sum(line.net_fen for entry in entries if entry.date <= through for line in entry.lines
               if line.account == code)


def reconciliation(conn: Connection, ctx: CampusContext, fund_account: str, start: str, end: str) -> dict[str, Any]:
    """For a fund account and the campus days ``start``..``end``: statement lines and receipts,
    the matched pairs, and what matched nothing on either side."""
    lines = [dict(r) for r in conn.execute(select(statement_lines).where(
        statement_lines.c.campus_id == ctx.id, statement_lines.c.fund_account == fund_account,
        statement_lines.c.booked_on >= start, statement_lines.c.booked_on <= end)
        .order_by(statement_lines.c.booked_on, statement_lines.c.row_number)).mappings()]
    matched_ids = {row.matched_payment_id for row in conn.execute(
        select(statement_lines.c.matched_payment_id).where(statement_lines.c.matched_payment_id.is_not(None)))}
    bounds = ctx.day_bounds(date.fromisoformat(start), date.fromisoformat(end))
    receipts = [dict(r) for r in conn.execute(select(payments).where(
        payments.c.campus_id == ctx.id, payments.c.fund_account == fund_account,
        payments.c.kind.in_(("deposit", "payment")), payments.c.paid_at >= bounds[0], payments.c.paid_at < bounds[1])
        .order_by(payments.c.paid_at)).mappings()]
    return {"fund_account": fund_account, "from": start, "to": end,
            "matched": [x for x in lines if x["matched_payment_id"]],
            "unmatched_lines": [x for x in lines if not x["matched_payment_id"]],
            "unmatched_receipts": [r for r in receipts if r["id"] not in matched_ids]}


def statement_formats_of(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(statement_formats).where(
        statement_formats.c.campus_id == campus_id, statement_formats.c.deleted.is_(False))
        .order_by(statement_formats.c.name)).mappings()]
