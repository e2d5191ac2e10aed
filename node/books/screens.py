"""Books screens (凭证, 科目余额表, 利润表, 资产负债表, 预收学费变动表, 发票, 费用, 监管账户, 日结),
each exportable to Excel; for finance, campus managers and headquarters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from campus.node.books import queries
from campus.node.books import use_cases as cases
from campus.node.books.api import CloseIn, CountIn, ExpenseIn, ReleaseIn
from campus.node.books.export import workbook
from campus.node.books.statements import (
    balance_sheet_view,
    deferred_view,
    income_view,
    journal_view,
    statement_rows,
    trial_balance_view,
)
from campus.node.finance.payments import FUND_ACCOUNTS
from campus.node.finance.screens import FUND_LABELS, form_fen
from campus.node.screens import TEMPLATES
from campus.schema.errors import Invalid
from campus.schema.tables import cash_counts, contracts, payments, students
from campus.web.auth import actor_of
from campus.web.forms import form_model
from campus.web.i18n import current_locale
from campus.web.i18n import gettext_ as _
from campus.web.templating import form_action, render
from campus.web.usecase import performs


@dataclass(frozen=True)
class Money:
    """A cell holding an amount in fen: shown as yuan, exported as a number of yuan."""

    fen: int


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]]
    total: list[Any] | None = None


def _account_name(item: dict[str, Any]) -> str:
    return item["name_zh"] if str(current_locale.get()).startswith("zh") else item["name_en"]


def _journal(data: dict[str, Any]) -> Table:
    rows = []
    for entry in data["entries"]:
        memo = entry["memo"] + (f" ({_('prior-period adjustment')} {entry['origin_period']})"
                                if entry["origin_period"] else "")
        for i, line in enumerate(entry["lines"]):
            rows.append([entry["date"] if i == 0 else "", memo if i == 0 else "", line["account"], _account_name(line),
                         Money(line["debit_fen"]) if line["debit_fen"] else "",
                         Money(line["credit_fen"]) if line["credit_fen"] else ""])
    return Table([_("Date"), _("Memo"), _("Account code"), _("Account"), _("Debit"), _("Credit")], rows)


def _trial(data: dict[str, Any]) -> Table:
    return Table([_("Account code"), _("Account"), _("Opening"), _("Debit"), _("Credit"), _("Closing")],
                 [[r["account"], _account_name(r), Money(r["opening_fen"]), Money(r["debit_fen"]),
                   Money(r["credit_fen"]), Money(r["closing_fen"])] for r in data["items"]],
                 [_("Total"), "", "", Money(data["debit_fen"]), Money(data["credit_fen"]), Money(data["closing_sum_fen"])])


def _income(data: dict[str, Any]) -> Table:
    lines = [(_("Tuition revenue"), "tuition_revenue_fen"), (_("Other revenue"), "other_revenue_fen"),
             (_("Cost of teaching"), "cost_of_teaching_fen"), (_("Selling expenses"), "selling_expenses_fen"),
             (_("Administrative expenses"), "administrative_expenses_fen"), (_("Credit losses"), "credit_losses_fen")]
    return Table([_("Item"), _("Amount")], [[label, Money(data[key])] for label, key in lines],
                 [_("Profit"), Money(data["profit_fen"])])


def _sheet(data: dict[str, Any]) -> Table:
    rows: list[list[Any]] = []
    for side, label in (("assets", _("Assets")), ("liabilities", _("Liabilities")), ("equity", _("Equity"))):
        rows += [[label, item["account"], _account_name(item), Money(item["amount_fen"])] for item in data[side]]
    rows.append([_("Equity"), "", _("Profit not yet carried to equity"), Money(data["profit_fen"])])
    return Table([_("Side"), _("Account code"), _("Account"), _("Amount")], rows,
                 [_("Total assets"), "", _("Total liabilities and equity"),
                  Money(data["total_assets_fen"] - data["total_liabilities_and_equity_fen"])])


def _deferred(data: dict[str, Any], numbers: dict[str, str]) -> Table:
    def row(item: dict[str, Any], label: str) -> list[Any]:
        return [label, *(Money(item[k]) for k in ("opening_fen", "received_fen", "recognised_fen", "refunded_fen",
                                                  "written_off_fen", "closing_fen"))]

    return Table([_("Contract"), _("Opening"), _("Received"), _("Recognised"), _("Refunded"), _("Written off"),
                  _("Closing")], [row(i, numbers.get(i["contract_id"] or "", i["contract_id"] or "")) for i in data["items"]],
                 row(data["total"], _("Total")))


@dataclass(frozen=True)
class Report:
    title: str  # a msgid
    build: Callable[..., Table]
    needs: tuple[str, ...]


def _contract_numbers(conn: Connection) -> dict[str, str]:
    return dict(conn.execute(select(contracts.c.id, contracts.c.number)).all())


STATEMENTS: dict[str, Report] = {
    "journal": Report("Journal", lambda e, a, n: _journal(journal_view(e, a["from"], a["to"])), ("from", "to")),
    "trial-balance": Report("Trial balance", lambda e, a, n: _trial(trial_balance_view(e, a["from"], a["to"])),
                            ("from", "to")),
    "income-statement": Report("Income statement",
                               lambda e, a, n: _income(income_view(e, a["from"], a["to"])), ("from", "to")),
    "balance-sheet": Report("Balance sheet", lambda e, a, n: _sheet(balance_sheet_view(e, a["period"])), ("period",)),
    "deferred-tuition": Report("Deferred tuition", lambda e, a, n: _deferred(deferred_view(e, a["from"], a["to"]), n),
                               ("from", "to")),
}
REGISTERS = {"invoices": "Invoices", "expenses": "Expenses", "supervision": "Supervised accounts",
             "cash-counts": "Daily cash count", "reconciliation": "Reconciliation"}


def _month(request: Request, name: str, default: str) -> str:
    value = request.query_params.get(name, "")
    return value if len(value) == 7 and value[4] == "-" and value[:4].isdigit() and value[5:].isdigit() else default


def _register(conn: Connection, ctx: Any, name: str) -> Table:
    fund = {f: _(FUND_LABELS[f]) for f in FUND_ACCOUNTS}
    if name == "invoices":
        numbers = _contract_numbers(conn)
        kinds = {"blue": _("Invoice"), "red": _("Red-letter invoice")}
        return Table([_("Number"), _("Kind"), _("Contract"), _("Buyer"), _("Tax ID"), _("Issued"), _("Amount")],
                     [[i["number"], kinds[i["kind"]], numbers.get(i["contract_id"], ""), i["buyer_name"],
                       i["buyer_tax_id"] or "", i["issued_at"][:10], Money(i["amount_fen"] if i["kind"] == "blue"
                                                                           else -i["amount_fen"])]
                      for i in queries.invoice_register(conn, ctx.id)])
    if name == "expenses":
        states = {"submitted": _("Awaiting approval"), "approved": _("Approved"), "rejected": _("Rejected")}
        return Table([_("Number"), _("Category"), _("Description"), _("Paid from"), _("Incurred on"), _("Status"),
                      _("Amount")],
                     [[x["number"], _(x["category"].capitalize()), x["description"], fund[x["fund_account"]],
                       x["incurred_on"], states[x["status"]], Money(x["amount_fen"])]
                      for x in queries.expense_list(conn, ctx.id)])
    if name == "supervision":
        rows = [queries.supervision(conn, ctx.id, account) for account in ctx.books.supervised_accounts]
        return Table([_("Fund account"), _("Received"), _("Consumed"), _("Released"), _("Releasable"), _("Held")],
                     [[fund[r["fund_account"]], *(Money(r[k]) for k in ("received_fen", "consumed_fen", "released_fen",
                                                                         "releasable_fen", "held_fen"))] for r in rows])
    if name == "reconciliation":
        today = ctx.today()
        receipts = {r.id: r.receipt_number for r in conn.execute(select(payments.c.id, payments.c.receipt_number))}
        found: list[list[Any]] = []
        for account in FUND_ACCOUNTS:
            shown = queries.reconciliation(conn, ctx, account, today.replace(day=1).isoformat(), today.isoformat())
            for line in shown["matched"] + shown["unmatched_lines"]:
                found.append([line["booked_on"], fund[account], line["reference"] or "", line["counterparty"] or "",
                             receipts.get(line["matched_payment_id"], _("Not matched")), Money(line["amount_fen"])])
            for receipt in shown["unmatched_receipts"]:
                found.append([ctx.local_date(receipt["paid_at"]).isoformat(), fund[account], receipt["receipt_number"],
                             "", _("In the books only"), Money(receipt["amount_fen"])])
        return Table([_("Day"), _("Fund account"), _("Reference"), _("Counterparty"), _("Receipt"), _("Amount")],
                     sorted(found, key=lambda r: (r[0], r[1])))
    counts = conn.execute(select(cash_counts).where(cash_counts.c.campus_id == ctx.id)
                          .order_by(cash_counts.c.day.desc(), cash_counts.c.counted_at.desc())).mappings().all()
    return Table([_("Day"), _("Fund account"), _("Counted"), _("Books"), _("Difference"), _("Note")],
                 [[c["day"], fund[c["fund_account"]], Money(c["counted_fen"]), Money(c["book_fen"]),
                   Money(c["difference_fen"]), c["note"] or ""] for c in counts])


def _export_value(cell: Any) -> Any:
    return Decimal(cell.fen).scaleb(-2) if isinstance(cell, Money) else cell


async def books_page(request: Request) -> Response:
    """One statement or register; ``?format=xlsx`` downloads it as a spreadsheet."""
    node = request.app.state.node
    ctx = node.ctx
    name = request.path_params.get("report", "trial-balance")
    month = ctx.today().isoformat()[:7]
    args = {"from": _month(request, "from", month), "period": _month(request, "period", month)}
    args["to"] = max(_month(request, "to", args["from"]), args["from"])
    if name in STATEMENTS:
        report = STATEMENTS[name]
        title = report.title

        def read(conn: Connection) -> Table:
            return report.build(queries.campus_journal(conn, ctx, ctx.books), args, _contract_numbers(conn))
    elif name in REGISTERS:
        title = REGISTERS[name]

        def read(conn: Connection) -> Table:
            return _register(conn, ctx, name)
    else:
        return RedirectResponse("/books/trial-balance", status_code=303)
    table: Table = await node.query(read)
    if request.query_params.get("format") == "xlsx":
        rows = [[_export_value(c) for c in row] for row in table.rows + ([table.total] if table.total else [])]
        content = await node.blocking(workbook, _(title), table.headers, rows)
        return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"content-disposition": f'attachment; filename="{name}-{args["from"]}.xlsx"'})
    closed = sorted(await node.query(queries.closed_periods, ctx.id))
    viewer = request.state.principal
    return render(TEMPLATES, request, "books.html", {
        "app_title": node.config.campus_name, "name": name, "title": _(title), "table": table, "args": args,
        "needs": STATEMENTS[name].needs if name in STATEMENTS else (), "closed": closed,
        "reports": [(k, _(r.title)) for k, r in STATEMENTS.items()] + [(k, _(t)) for k, t in REGISTERS.items()],
        "fund_accounts": [(f, _(FUND_LABELS[f])) for f in FUND_ACCOUNTS],
        "supervised": [(f, _(FUND_LABELS[f])) for f in ctx.books.supervised_accounts],
        "pending": [row for row in (await node.query(queries.expense_list, ctx.id)) if row["status"] == "submitted"]
        if name == "expenses" else [],
        "may_write": viewer.can("books.write", ctx.id), "may_close": viewer.can("books.close", ctx.id),
        "may_approve": viewer.can("expenses.approve", ctx.id), "may_count": viewer.can("books.count", ctx.id),
        "today": ctx.today().isoformat(),
        "formats": await node.query(queries.statement_formats_of, ctx.id) if name == "reconciliation" else []})


def _back(request: Request, report: str) -> str:
    return f"/books/{report}"


@performs(cases.close_month)
async def close_month(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        done = cases.close_month(node.store, node.ctx, actor_of(request), form_model(form, CloseIn).period)
        return _("Month %(period)s closed") % {"period": done["period"]}

    return await form_action(request, _back(request, "trial-balance"), run)


@performs(cases.submit_expense)
async def submit_expense(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        given = form_model(form, ExpenseIn)
        made = cases.submit_expense(node.store, node.ctx, actor_of(request), cases.NewExpense(**given.model_dump()))
        return _("Expense %(number)s submitted") % {"number": made["number"]}

    return await form_action(request, _back(request, "expenses"), run)


@performs(cases.decide_expense)
async def decide_expense(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        decision = str(form.get("decision", ""))
        if decision not in ("approve", "reject"):
            raise Invalid("decision", "approve or reject")
        cases.decide_expense(node.store, node.ctx, actor_of(request), request.path_params["expense_id"],
                             decision == "approve")
        return _("Approved") if decision == "approve" else _("Rejected")

    return await form_action(request, _back(request, "expenses"), run)


@performs(cases.issue_invoice)
async def issue_invoice(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        number = str(form.get("contract_number", "")).strip()
        with node.store.read() as conn:
            contract_id = conn.execute(select(contracts.c.id).where(contracts.c.number == number)).scalar()
            if contract_id is None:
                raise Invalid("contract_number", f"no contract {number}")
            buyer = str(form.get("buyer_name", "")).strip() or conn.execute(
                select(students.c.name).join(contracts, contracts.c.student_id == students.c.id)
                .where(contracts.c.id == contract_id)).scalar()
        made = cases.issue_invoice(node.store, node.ctx, actor_of(request), contract_id,
                                   form_fen(str(form.get("amount", "")), "amount"), buyer,
                                   str(form.get("buyer_tax_id", "")).strip() or None)
        return _("Invoice %(number)s issued") % {"number": made["number"]}

    return await form_action(request, _back(request, "invoices"), run)


@performs(cases.release_funds)
async def release_funds(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        given = form_model(form, ReleaseIn, released_on=node.ctx.today().isoformat())
        cases.release_funds(node.store, node.ctx, actor_of(request), **given.model_dump())
        return _("Released")

    return await form_action(request, _back(request, "supervision"), run)


@performs(cases.count_cash)
async def count_cash(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        made = cases.count_cash(node.store, node.ctx, actor_of(request), **form_model(form, CountIn).model_dump())
        return _("Counted: difference %(fen)s fen") % {"fen": made["difference_fen"]}

    return await form_action(request, _back(request, "cash-counts"), run)


@performs(cases.import_statement)
async def import_statement(request: Request) -> Response:
    node = request.app.state.node
    form = await request.form(max_files=1)
    upload = form.get("file")

    def run(form: FormData) -> str:
        format_id = str(form.get("format_id", ""))
        with node.store.read() as conn:
            fmt = next((f for f in queries.statement_formats_of(conn, node.ctx.id) if f["id"] == format_id), None)
        if fmt is None:
            raise Invalid("format_id", _("Choose a statement format"))
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Invalid("file", _("Choose a .csv or .xlsx file"))
        rows = list(statement_rows(upload.file, upload.filename, fmt))
        done = cases.import_statement(node.store, node.ctx, actor_of(request), format_id, rows, upload.filename)
        return _("%(lines)s lines, %(matched)s matched") % {"lines": done["lines"], "matched": done["matched"]}

    return await form_action(request, "/books/reconciliation", run)
