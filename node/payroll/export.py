"""A payroll run as a workbook: one sheet of payslips (one row per employee, totals last), one of
every line with the fact it came from. Amounts are written as yuan numbers."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from campus.node.payroll import queries
from campus.node.payroll.labels import category_label, column_label
from campus.web.spreadsheets import append_safe

SUMMARY_COLUMNS = ("base_fen", "commission_fen", "lesson_fee_fen", "bonus_fen", "clawback_fen", "adjustment_fen",
                   "carry_out_fen", "total_fen")


def yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def run_workbook(run: Mapping[str, Any], label: Callable[[str], str], category: Callable[[str], str]) -> bytes:
    """``label`` translates a column heading, ``category`` names a line's category."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    summary = book.create_sheet(f"{label('Payroll')} {run['period']}"[:31])
    append_safe(summary, [label("Employee"), label("Positions"), *(label(c) for c in SUMMARY_COLUMNS)])
    for slip in run["payslips"]:
        append_safe(summary, [slip["name"], slip["positions"], *(yuan(slip[c]) for c in SUMMARY_COLUMNS)])
    append_safe(summary, [label("Total"), "", *(yuan(sum(s[c] for s in run["payslips"])) for c in SUMMARY_COLUMNS)])
    detail = book.create_sheet(label("Pay lines")[:31])
    append_safe(detail, [label("Employee"), label("Category"), label("Source"), label("Month of the fact"),
                         label("Late fact"), label("Source table"), label("Source id"), label("Amount")])
    for slip in run["payslips"]:
        for line in slip["lines"]:
            append_safe(detail, [slip["name"], category(line["category"]), line["ref"], line["source_period"],
                                 label("Yes") if line["late"] else "", line["source_table"], line["source_id"],
                                 yuan(line["amount_fen"])])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def export_response(request: Request) -> Response:
    """The run named in the path as an .xlsx download, headings in the viewer's language."""
    node = request.app.state.node
    run = await node.query(queries.run_view, node.ctx.id, request.path_params["run_id"])
    content = await node.blocking(run_workbook, run, column_label, category_label)
    return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"content-disposition": f'attachment; filename="payroll-{node.config.campus_code}-'
                                                    f'{run["period"]}.xlsx"'})
