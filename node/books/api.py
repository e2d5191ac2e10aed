"""``/api/v1/books``: the campus's journal and statements, closes, manual entries, expenses,
invoices, supervised accounts and the daily cash count. Amounts are integer fen."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from campus.node.books import queries
from campus.node.books import use_cases as cases
from campus.node.books.statements import (
    BalanceSheetOut,
    DeferredTuitionOut,
    IncomeStatementOut,
    JournalOut,
    TrialBalanceOut,
    balance_sheet_view,
    deferred_view,
    income_view,
    journal_view,
    statement_rows,
    trial_balance_view,
)
from campus.schema.books.chart import FundAccount
from campus.schema.tables import cash_counts, expenses, invoices, statement_formats
from campus.web.api import (
    Api,
    Input,
    Output,
    items_model,
    json_response,
    parse_body,
    row_model,
    uploaded_file,
)
from campus.web.auth import actor_of
from campus.web.problems import InvalidInput
from campus.web.usecase import performs

DATE = r"^\d{4}-\d{2}-\d{2}$"
PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"
MAX_FEN = 10_000_000_000_000


class CloseIn(Input):
    period: str = Field(pattern=PERIOD)


class LineIn(Input):
    account: str = Field(min_length=4, max_length=16)
    debit_fen: int = Field(default=0, ge=0, le=MAX_FEN)
    credit_fen: int = Field(default=0, ge=0, le=MAX_FEN)


class EntryIn(Input):
    entry_date: str = Field(pattern=DATE)
    memo: str = Field(min_length=1, max_length=500)
    lines: list[LineIn] = Field(min_length=2, max_length=50)


class ExpenseIn(Input):
    category: Literal["rent", "utilities", "salaries", "materials", "marketing", "other"]
    amount_fen: int = Field(gt=0, le=MAX_FEN)
    fund_account: FundAccount = Field(strict=False)
    incurred_on: str = Field(pattern=DATE)
    description: str = Field(min_length=1, max_length=500)
    campaign_id: str | None = Field(default=None, max_length=36)


class InvoiceIn(Input):
    contract_id: str = Field(min_length=1, max_length=36)
    amount_fen: int = Field(gt=0, le=MAX_FEN)
    buyer_name: str = Field(min_length=1, max_length=200)
    buyer_tax_id: str | None = Field(default=None, max_length=32)


class RedIn(Input):
    reason: str = Field(min_length=1, max_length=500)


class ReleaseIn(Input):
    fund_account: FundAccount = Field(strict=False)
    amount_fen: int = Field(gt=0, le=MAX_FEN)
    released_on: str = Field(pattern=DATE)
    note: str | None = Field(default=None, max_length=500)


class CountIn(Input):
    day: str = Field(pattern=DATE)
    fund_account: FundAccount = Field(strict=False)
    counted_fen: int = Field(ge=0, le=MAX_FEN)
    note: str | None = Field(default=None, max_length=500)


class StatementFormatIn(Input):
    name: str = Field(min_length=1, max_length=64)
    fund_account: FundAccount = Field(strict=False)
    date_column: str = Field(min_length=1, max_length=64)
    amount_column: str = Field(min_length=1, max_length=64)
    reference_column: str | None = Field(default=None, max_length=64)
    counterparty_column: str | None = Field(default=None, max_length=64)


def _period(request: Request, name: str, default: str) -> str:
    value = request.query_params.get(name) or default
    if not re.match(PERIOD, value):
        raise InvalidInput([{"field": name, "message": "a month like 2026-12"}])
    return value


ExpenseOut = row_model(expenses, "Expense")
InvoiceOut = row_model(invoices, "Invoice")
StatementFormatOut = row_model(statement_formats, "StatementFormat")


CashCountOut = row_model(cash_counts, "CashCount")


class MonthClosed(Output):
    id: str
    period: str
    entries: int  # the journal entries the close locks
    closed_at: str


class SupervisedAccount(Output):
    """A supervised account's figures (资金监管), from the money paid into it."""

    fund_account: str
    received_fen: int
    consumed_fen: int
    released_fen: int
    releasable_fen: int
    held_fen: int


class ClosedMonths(Output):
    closed: list[str]  # YYYY-MM, oldest first


def register(api: Api) -> None:  # noqa: C901 (one route per action)
    def statement(path: str, summary: str, view: Any, needs: tuple[str, ...], response: type[Output]) -> None:
        @api.route(path, "GET", summary, "books.read", tags=["books"], response=response)
        async def show(request: Request) -> Response:
            node = request.app.state.node
            ctx = node.ctx
            month = ctx.today().isoformat()[:7]
            start = _period(request, "from", month) if "from" in needs else ""
            end = _period(request, "to", start or month) if "to" in needs else ""
            period = _period(request, "period", month) if "period" in needs else ""
            args = {"from": start, "to": end, "period": period}
            if "from" in needs and "to" in needs and start > end:
                raise InvalidInput([{"field": "to", "message": "must not be before from"}])
            entries = await node.query(queries.campus_journal, ctx, ctx.books)
            return json_response(view(entries, *(args[n] for n in needs)))

    statement("/books/journal", "The journal (凭证) of months ?from= to ?to=", journal_view, ("from", "to"), JournalOut)
    statement("/books/trial-balance", "Trial balance (科目余额表): opening, debit, credit, closing per account",
              trial_balance_view, ("from", "to"), TrialBalanceOut)
    statement("/books/income-statement", "Income statement (利润表) of months ?from= to ?to=", income_view,
              ("from", "to"), IncomeStatementOut)
    statement("/books/balance-sheet", "Balance sheet (资产负债表) at the end of ?period=", balance_sheet_view,
              ("period",), BalanceSheetOut)
    statement("/books/deferred-tuition", "Deferred tuition roll-forward (预收学费变动表), per contract",
              deferred_view, ("from", "to"), DeferredTuitionOut)

    @api.route("/books/closes", "GET", "The months this campus has closed", "books.read", tags=["books"],
               response=ClosedMonths)
    async def closes(request: Request) -> Response:
        node = request.app.state.node
        return json_response({"closed": sorted(await node.query(queries.closed_periods, node.ctx.id))})

    @api.route("/books/closes", "POST", "Close a month (its entries are locked)", "books.close", body=CloseIn,
               tags=["books"], response=MonthClosed)
    @performs(cases.close_month)
    async def close(request: Request) -> Response:
        close_in = await parse_body(request, CloseIn)
        return json_response(await request.app.state.node.perform(request, cases.close_month, close_in.period), 201)

    @api.route("/books/entries", "POST", "Post a manual journal entry (balanced, known accounts, open month)",
               "books.write", body=EntryIn, tags=["books"])
    @performs(cases.post_manual_entry)
    async def entry(request: Request) -> Response:
        entry_in = await parse_body(request, EntryIn)
        made = await request.app.state.node.perform(request, cases.post_manual_entry, entry_in.entry_date,
                                                    entry_in.memo, [line.model_dump() for line in entry_in.lines])
        return json_response(made, 201)

    @api.route("/books/expenses", "GET", "Expenses of this campus", "books.read", tags=["books"],
               response=items_model(ExpenseOut, "ExpenseList"))
    async def expense_list(request: Request) -> Response:
        node = request.app.state.node
        return json_response({"items": await node.query(queries.expense_list, node.ctx.id)})

    @api.route("/books/expenses", "POST", "Submit an expense for a manager's approval", "expenses.submit",
               body=ExpenseIn, tags=["books"], response=ExpenseOut)
    @performs(cases.submit_expense)
    async def expense(request: Request) -> Response:
        expense_in = await parse_body(request, ExpenseIn)
        made = await request.app.state.node.perform(request, cases.submit_expense,
                                                    cases.NewExpense(**expense_in.model_dump()))
        return json_response(made, 201)

    @api.route("/books/expenses/{expense_id}/{decision:str}", "POST", "Approve or reject an expense",
               "expenses.approve", tags=["books"], response=ExpenseOut)
    @performs(cases.decide_expense)
    async def decide(request: Request) -> Response:
        decision = request.path_params["decision"]
        if decision not in ("approve", "reject"):
            raise InvalidInput([{"field": "decision", "message": "approve or reject"}])
        return json_response(await request.app.state.node.perform(
            request, cases.decide_expense, request.path_params["expense_id"], decision == "approve"))

    @api.route("/books/invoices", "GET", "The invoice register (发票)", "books.read", tags=["books"],
               response=items_model(InvoiceOut, "InvoiceList"))
    async def invoice_list(request: Request) -> Response:
        node = request.app.state.node
        return json_response({"items": await node.query(queries.invoice_register, node.ctx.id)})

    @api.route("/books/invoices", "POST", "Issue an invoice on a contract (over the limit: 409 naming it)",
               "books.write", body=InvoiceIn, tags=["books"], response=InvoiceOut)
    @performs(cases.issue_invoice)
    async def invoice(request: Request) -> Response:
        invoice_in = await parse_body(request, InvoiceIn)
        return json_response(await request.app.state.node.perform(request, cases.issue_invoice,
                                                                  **invoice_in.model_dump()), 201)

    @api.route("/books/invoices/{invoice_id}/red", "POST", "Cancel an invoice with a red-letter invoice (冲红)",
               "books.write", body=RedIn, tags=["books"], response=InvoiceOut)
    @performs(cases.red_invoice)
    async def red(request: Request) -> Response:
        red_in = await parse_body(request, RedIn)
        return json_response(await request.app.state.node.perform(
            request, cases.red_invoice, request.path_params["invoice_id"], red_in.reason), 201)

    @api.route("/books/supervision", "GET", "Supervised accounts (资金监管): received, releasable, released, held",
               "books.read", tags=["books"], response=items_model(SupervisedAccount, "SupervisedAccounts"))
    async def supervised(request: Request) -> Response:
        node = request.app.state.node
        accounts = node.ctx.books.supervised_accounts

        def read(conn: Any) -> list[dict[str, Any]]:
            return [queries.supervision(conn, node.ctx.id, account) for account in accounts]

        return json_response({"items": await node.query(read)})

    @api.route("/books/releases", "POST", "Release funds from a supervised account (above releasable: 409)",
               "books.write", body=ReleaseIn, tags=["books"])
    @performs(cases.release_funds)
    async def release(request: Request) -> Response:
        release_in = await parse_body(request, ReleaseIn)
        return json_response(await request.app.state.node.perform(request, cases.release_funds,
                                                                  **release_in.model_dump()), 201)

    @api.route("/books/statement-formats", "GET", "Statement formats: the columns of each bank or wallet export",
               "books.read", tags=["books"], response=items_model(StatementFormatOut, "StatementFormatList"))
    async def formats(request: Request) -> Response:
        node = request.app.state.node
        return json_response({"items": await node.query(queries.statement_formats_of, node.ctx.id)})

    @api.route("/books/statement-formats", "POST", "Map a statement export's columns once", "books.write",
               body=StatementFormatIn, tags=["books"], response=StatementFormatOut)
    @performs(cases.add_statement_format)
    async def add_format(request: Request) -> Response:
        format_in = await parse_body(request, StatementFormatIn)
        return json_response(await request.app.state.node.perform(
            request, cases.add_statement_format, cases.StatementFormat(**format_in.model_dump())), 201)

    @api.route("/books/statements", "POST", "Import a statement (?format_id=, multipart field 'file'): lines "
               "matched to receipts by receipt number, or by amount and date", "books.write", tags=["books"])
    @performs(cases.import_statement)
    async def import_statement_file(request: Request) -> Response:
        node = request.app.state.node
        format_id = request.query_params.get("format_id", "")
        upload = await uploaded_file(request)

        def imported() -> dict[str, Any]:
            with node.store.read() as conn:
                fmt = next((f for f in queries.statement_formats_of(conn, node.ctx.id) if f["id"] == format_id), None)
            if fmt is None:
                raise InvalidInput([{"field": "format_id", "message": "a statement format of this campus"}])
            rows = list(statement_rows(upload.file, upload.filename or "", fmt))
            return cases.import_statement(node.store, node.ctx, actor_of(request), format_id, rows,
                                          upload.filename or "statement")

        return json_response(await node.blocking(imported), 201)

    @api.route("/books/reconciliation", "GET", "Statement lines and receipts of a fund account (?fund_account=&"
               "from=&to= dates): matched, and unmatched both ways", "books.read", tags=["books"])
    async def reconcile(request: Request) -> Response:
        node = request.app.state.node
        params = request.query_params
        fund = params.get("fund_account", "bank")
        if fund not in {f.value for f in FundAccount}:
            raise InvalidInput([{"field": "fund_account", "message": "a fund account"}])
        today = node.ctx.today().isoformat()
        start, end = params.get("from") or today[:8] + "01", params.get("to") or today
        for name, value in (("from", start), ("to", end)):
            if not re.match(DATE, value):
                raise InvalidInput([{"field": name, "message": "a date like 2026-12-01"}])
        return json_response(await node.query(queries.reconciliation, node.ctx, fund, start, end))

    @api.route("/books/cash-counts", "POST", "The daily cash count (日结) against the books", "books.count",
               body=CountIn, tags=["books"], response=CashCountOut)
    @performs(cases.count_cash)
    async def count(request: Request) -> Response:
        count_in = await parse_body(request, CountIn)
        return json_response(await request.app.state.node.perform(request, cases.count_cash,
                                                                  **count_in.model_dump()), 201)

