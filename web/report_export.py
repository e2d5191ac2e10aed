"""A report as an Excel workbook, written from the same JSON the screen shows: a sheet of its
figures (with the previous period's, when compared), then one sheet per table. Money is written
in yuan, rates as percentages and hours as hours, each from its integer, so the workbook says
what the screen says."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from starlette.responses import Response

from campus.web.api import XLSX
from campus.web.spreadsheets import append_safe

FORMATS = {"fen": "#,##0.00", "bp": "0.00", "hours": "0.00"}


def cell_value(value: Any, unit: str) -> Any:
    """A figure as a spreadsheet number: yuan for fen, percent for basis points, hours for hundredths."""
    if value is None:
        return None
    if unit in FORMATS and isinstance(value, int):
        return Decimal(value).scaleb(-2)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):  # never a formula from a name
        return "'" + value
    return value


def unit_suffix(unit: str, translate: Callable[[str], str]) -> str:
    return {"fen": f" ({translate('yuan')})", "bp": " (%)", "hours": f" ({translate('hours')})"}.get(unit, "")


def _unit(row: Mapping[str, Any], column: Mapping[str, str]) -> str:
    """A column's unit; ``unit``: each row says (a KPI's target is money or a count)."""
    return str(row.get("unit", "count")) if column["unit"] == "unit" else column["unit"]


def _shown(row: Mapping[str, Any], column: Mapping[str, str], translate: Callable[[str], str]) -> Any:
    value = row.get(column["key"])
    return translate(value) if column["key"].endswith("_label") and value else value


def report_workbook(report: Mapping[str, Any], translate: Callable[[str], str] = lambda text: text) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = translate("Figures")[:31]
    period = report["period"]
    append_safe(sheet, [translate(report["title"]), f"{period['from']} – {period['to']}"])
    compared = report.get("previous") is not None
    append_safe(sheet, [translate("Figure"), translate("Value"), *([translate("Previous period")] if compared else [])])
    for figure in report["figures"]:
        row = [translate(figure["label"]) + unit_suffix(figure["unit"], translate),
               cell_value(figure["value"], figure["unit"])]
        if compared:
            row.append(cell_value(figure.get("previous"), figure["unit"]))
        append_safe(sheet, row)
    used = {sheet.title}
    for table in report["tables"]:
        title = translate(table["title"])[:31]
        while title in used:
            title = title[:28] + f"~{len(used)}"
        used.add(title)
        out = book.create_sheet(title)
        columns = table["columns"]
        append_safe(out, [translate(c["label"]) + unit_suffix(c["unit"], translate) for c in columns])
        for row in table["rows"]:
            append_safe(out, [cell_value(_shown(row, column, translate), _unit(row, column)) for column in columns])  # text stays text
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def workbook_response(content: bytes, filename: str) -> Response:
    return Response(content, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{filename}"'})
