"""The hub's group books screen (``/books``, 集团账务) and its Excel export, in Simplified Chinese:
accounts and campuses are shown by name, amounts in yuan; the export keeps fen as whole numbers
so that a spreadsheet adds them exactly."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.hub.books import rollups, statements
from campus.hub.books.api import PERMISSION, month_range, read
from campus.schema.books import chart
from campus.web.auth import guard
from campus.web.spreadsheets import append_safe
from campus.web.templating import make_templates, render

TEMPLATES = make_templates(Path(__file__).parent / "templates")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _figures(conn: Connection, start: str, end: str) -> dict[str, Any]:
    return {"trial": statements.group_trial_balance(conn, start, end),
            "income": statements.group_income_statement(conn, start, end),
            "sheet": statements.group_balance_sheet(conn, end),
            "balance": statements.books_balance(conn, end)}


def _fund_codes(sheet: dict[str, Any]) -> list[str]:
    codes = {code for campus in sheet["campuses"] for code in campus["funds"]}
    return sorted(codes | {chart.CASH, chart.BANK})


async def books_screen(request: Request) -> Response:
    start, end = month_range(request.query_params)
    figures = await read(request, lambda conn: _figures(conn, start, end))
    behind = await anyio.to_thread.run_sync(rollups.behind, request.app.state.hub.store)
    codes = _fund_codes(figures["sheet"])
    return render(TEMPLATES, request, "hub_books.html", {
        "app_title": request.app.state.title, "start": start, "end": end, "behind": behind, **figures,
        "fund_codes": codes, "labels": {code: statements.account_label(code) for code in codes}})


def workbook(figures: dict[str, Any]) -> bytes:
    """科目余额表, 利润表 (by campus and month), 资产负债表 and 资金余额 as sheets; amounts in fen; text that
    starts like a formula (a campus named "=…") written so that it cannot evaluate."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    trial = book.create_sheet("科目余额表")
    append_safe(trial, ["校区", "科目编码", "科目名称", "期初余额（分）", "本期借方（分）", "本期贷方（分）",
                        "期末余额（分）"])
    sections = [(f"{c['campus_name']}（{c['campus_code']}）", c["rows"]) for c in figures["trial"]["campuses"]]
    sections += [("内部抵销", figures["trial"]["eliminations"]["rows"]), ("集团合计", figures["trial"]["group"]["rows"])]
    for label, rows in sections:
        for row in rows:
            append_safe(trial, [label, row["code"], row["name_zh"], row["opening_fen"], row["debit_fen"],
                                row["credit_fen"], row["closing_fen"]])
    income = book.create_sheet("利润表")
    append_safe(income, ["校区", "月份", "营业收入（分）", "成本费用（分）", "利润（分）"])
    parts = [(f"{c['campus_name']}（{c['campus_code']}）", c) for c in figures["income"]["campuses"]]
    parts += [("内部抵销", figures["income"]["eliminations"]), ("集团合计", figures["income"]["group"])]
    for label, part in parts:
        for month in part["months"]:
            append_safe(income, [label, month["period"], month["revenue_fen"], month["expenses_fen"],
                                 month["profit_fen"]])
        append_safe(income, [label, "合计", part["total"]["revenue_fen"], part["total"]["expenses_fen"],
                             part["total"]["profit_fen"]])
    sheet = book.create_sheet("资产负债表")
    append_safe(sheet, ["校区", "类别", "科目编码", "科目名称", "金额（分）"])
    kinds = (("assets", "资产"), ("liabilities", "负债"), ("equity", "所有者权益"))
    balance_parts = [(f"{c['campus_name']}（{c['campus_code']}）", c) for c in figures["sheet"]["campuses"]]
    balance_parts.append(("集团合计", figures["sheet"]["group"]))
    for label, part in balance_parts:
        for key, kind_label in kinds:
            for code, amount in part[key].items():
                append_safe(sheet, [label, kind_label, code, statements.account_label(code), amount])
        append_safe(sheet, [label, "所有者权益", "", "未结转利润", part["profit_fen"]])
    funds = book.create_sheet("资金余额")
    append_safe(funds, ["校区", "科目编码", "科目名称", "余额（分）"])
    for label, part in balance_parts:
        for code, amount in part["funds"].items():
            append_safe(funds, [label, code, statements.account_label(code), amount])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def books_export(request: Request) -> Response:
    start, end = month_range(request.query_params)
    figures = await read(request, lambda conn: _figures(conn, start, end))
    content = await anyio.to_thread.run_sync(workbook, figures)
    return Response(content, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="group-books-{start}-{end}.xlsx"'})


def books_routes() -> list[Route]:
    return [Route("/books", guard(PERMISSION, books_screen, screen=True)),
            Route("/books/export.xlsx", guard(PERMISSION, books_export, screen=True))]
