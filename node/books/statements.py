"""The statements as plain values for the API, the screens and the spreadsheets: read off the
journal with ``campus.schema.books.projection``; amounts in fen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from campus.schema.books import chart
from campus.schema.books.posting import JournalEntry
from campus.schema.books.projection import balance_sheet, deferred_tuition, income_statement, trial_balance
from campus.web.api import Output


def _name(code: str) -> dict[str, str]:
    account = chart.account(code)
    return {"account": code, "name_zh": account.name_zh, "name_en": account.name_en}


# --- the views' schemas, as the OpenAPI publishes them (``from`` is a keyword: aliased) -------------


class Account(Output):
    account: str  # its code in the chart
    name_zh: str
    name_en: str


class AccountAmount(Account):
    amount_fen: int


class JournalLineOut(Account):
    debit_fen: int
    credit_fen: int
    contract_id: str | None


class JournalEntryOut(Output):
    id: str
    date: str
    period: str
    rule: str
    memo: str
    source_table: str
    source_id: str
    origin_period: str | None
    counterpart_campus_id: str | None
    lines: list[JournalLineOut]


class Span(Output):
    from_: str = Field(alias="from")
    to: str


class JournalOut(Span):
    entries: list[JournalEntryOut]


class TrialBalanceRowOut(Output):
    account: str
    name_zh: str
    name_en: str
    kind: str
    opening_fen: int
    debit_fen: int
    credit_fen: int
    closing_fen: int


class TrialBalanceOut(Span):
    items: list[TrialBalanceRowOut]
    debit_fen: int
    credit_fen: int
    closing_sum_fen: int
    balanced: bool


class IncomeStatementOut(Span):
    tuition_revenue_fen: int
    other_revenue_fen: int
    revenue_fen: int
    cost_of_teaching_fen: int
    selling_expenses_fen: int
    administrative_expenses_fen: int
    credit_losses_fen: int
    expenses_fen: int
    profit_fen: int
    by_account: list[AccountAmount]


class BalanceSheetOut(Output):
    period: str
    assets: list[AccountAmount]
    liabilities: list[AccountAmount]
    equity: list[AccountAmount]
    profit_fen: int
    total_assets_fen: int
    total_liabilities_and_equity_fen: int
    balanced: bool


class RollForwardOut(Output):
    contract_id: str | None
    opening_fen: int
    received_fen: int
    recognised_fen: int
    refunded_fen: int
    written_off_fen: int
    other_fen: int
    deferred_fen: int
    receivable_fen: int
    closing_fen: int


class DeferredTuitionOut(Span):
    items: list[RollForwardOut]
    total: RollForwardOut


def journal_view(entries: Sequence[JournalEntry], start: str, end: str) -> dict[str, Any]:
    shown = [e for e in entries if start <= e.period <= end]
    return {"from": start, "to": end, "entries": [{
        "id": e.id, "date": e.date, "period": e.period, "rule": e.rule, "memo": e.memo,
        "source_table": e.source_table, "source_id": e.source_id, "origin_period": e.origin_period,
        "counterpart_campus_id": e.counterpart_campus_id,
        "lines": [{**_name(x.account), "debit_fen": x.debit_fen, "credit_fen": x.credit_fen,
                   "contract_id": x.contract_id} for x in e.lines]} for e in shown]}


def trial_balance_view(entries: Sequence[JournalEntry], start: str, end: str) -> dict[str, Any]:
    rows = trial_balance(entries, start, end)
    items = [{"account": r.code, "name_zh": r.name_zh, "name_en": r.name_en, "kind": str(r.kind),
              "opening_fen": r.opening_fen, "debit_fen": r.debit_fen, "credit_fen": r.credit_fen,
              "closing_fen": r.closing_fen} for r in rows]
    debit, credit = sum(r.debit_fen for r in rows), sum(r.credit_fen for r in rows)
    return {"from": start, "to": end, "items": items, "debit_fen": debit, "credit_fen": credit,
            "closing_sum_fen": sum(r.closing_fen for r in rows), "balanced": debit == credit}


def income_view(entries: Sequence[JournalEntry], start: str, end: str) -> dict[str, Any]:
    statement = income_statement(entries, start, end)
    return {"from": start, "to": end, "tuition_revenue_fen": statement.tuition_revenue_fen,
            "other_revenue_fen": statement.other_revenue_fen, "revenue_fen": statement.revenue_fen,
            "cost_of_teaching_fen": statement.cost_of_teaching_fen,
            "selling_expenses_fen": statement.selling_expenses_fen,
            "administrative_expenses_fen": statement.administrative_expenses_fen,
            "credit_losses_fen": statement.credit_losses_fen, "expenses_fen": statement.expenses_fen,
            "profit_fen": statement.profit_fen,
            "by_account": [{**_name(code), "amount_fen": amount} for code, amount in sorted(statement.by_account.items())]}


def balance_sheet_view(entries: Sequence[JournalEntry], period: str) -> dict[str, Any]:
    sheet = balance_sheet(entries, period)

    def side(amounts: Any) -> list[dict[str, Any]]:
        return [{**_name(code), "amount_fen": amount} for code, amount in sorted(amounts.items())]

    return {"period": period, "assets": side(sheet.assets), "liabilities": side(sheet.liabilities),
            "equity": side(sheet.equity), "profit_fen": sheet.profit_fen,
            "total_assets_fen": sheet.total_assets_fen,
            "total_liabilities_and_equity_fen": sheet.total_liabilities_and_equity_fen,
            "balanced": sheet.total_assets_fen == sheet.total_liabilities_and_equity_fen}


ROLL_FIELDS = ("opening_fen", "received_fen", "recognised_fen", "refunded_fen", "written_off_fen", "other_fen",
               "deferred_fen", "receivable_fen")


def deferred_view(entries: Sequence[JournalEntry], start: str, end: str) -> dict[str, Any]:
    rows, total = deferred_tuition(entries, start, end)

    def shown(row: Any) -> dict[str, Any]:
        return {"contract_id": row.contract_id, **{f: getattr(row, f) for f in ROLL_FIELDS},
                "closing_fen": row.closing_fen}

    return {"from": start, "to": end, "items": [shown(r) for r in rows], "total": shown(total)}


def statement_rows(stream: Any, filename: str, fmt: dict[str, Any]) -> Any:
    """The rows of a statement export, by the columns its format names (header texts as the bank
    writes them)."""
    from campus.web.spreadsheets import read_rows

    headers = {"date": {fmt["date_column"].strip().lower()}, "amount": {fmt["amount_column"].strip().lower()}}
    for column, key in (("reference", "reference_column"), ("counterparty", "counterparty_column")):
        if fmt.get(key):
            headers[column] = {fmt[key].strip().lower()}
    return read_rows(stream, filename, headers, {"date", "amount"})
