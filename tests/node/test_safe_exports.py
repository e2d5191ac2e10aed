"""Every spreadsheet the product writes keeps a formula-looking name as text (OWASP's CSV-injection
guidance) and numbers as numbers: one test per export."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook

from campus.hub.books.screens import workbook as group_books_workbook
from campus.node.books.export import safe_cell
from campus.node.books.export import workbook as books_workbook
from campus.node.payroll.export import run_workbook
from campus.node.teaching.export import attendance_workbook
from campus.web.imports import ImportReport, RowResult
from campus.web.spreadsheets import Layout

EVIL = '=HYPERLINK("http://evil.example","点我")'


def _cells(content: bytes) -> list:  # type: ignore[type-arg]
    return [cell for sheet in load_workbook(io.BytesIO(content)).worksheets for row in sheet.iter_rows()
            for cell in row]


def _assert_text(content: bytes, text: str = EVIL) -> None:
    found = [cell for cell in _cells(content) if cell.value == text]
    assert found and all(cell.data_type == "s" and cell.quotePrefix for cell in found)
    assert not [cell for cell in _cells(content) if cell.data_type == "f"]


def test_the_attendance_export_writes_a_formula_looking_name_as_text() -> None:
    rows = [{"date": "2026-11-24", "time": "18:00–19:30", "class": "-数学班", "number": "BJ01-S-000001",
             "name": EVIL, "mark": "出勤", "confirmed": "出勤", "hours": "1.50"}]

    content = attendance_workbook(rows)

    _assert_text(content)
    _assert_text(content, "-数学班")


def test_the_payroll_export_writes_a_formula_looking_name_as_text_and_amounts_as_numbers() -> None:
    slip = {"name": EVIL, "positions": "teacher", "lines": [
        {"category": "lesson_fee", "ref": "+L-1", "source_period": "2026-11", "late": False, "source_table": "lessons",
         "source_id": "x", "amount_fen": 12345}], **{c: 100 for c in (
            "base_fen", "commission_fen", "lesson_fee_fen", "bonus_fen", "clawback_fen", "adjustment_fen",
            "carry_out_fen", "total_fen")}}

    content = run_workbook({"period": "2026-11", "payslips": [slip]}, str, str)

    _assert_text(content)
    _assert_text(content, "+L-1")
    assert Decimal("123.45") in [cell.value for cell in _cells(content)] or 123.45 in [c.value for c in _cells(content)]


def test_the_books_table_export_writes_a_formula_looking_name_as_text() -> None:
    content = books_workbook("科目余额表", ["科目", "名称", "余额（分）"], [["1002", EVIL, -1500]])

    _assert_text(content)
    assert -1500 in [cell.value for cell in _cells(content)]
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)" and safe_cell(-3) == -3  # the CSV form


def test_the_group_books_export_writes_a_formula_looking_campus_name_as_text() -> None:
    campus = {"campus_name": EVIL, "campus_code": "BJ01"}
    total = {"revenue_fen": 100, "expenses_fen": 40, "profit_fen": 60}
    figures = {
        "trial": {"campuses": [{**campus, "rows": [{"code": "1002", "name_zh": "银行存款", "opening_fen": 0,
                                                    "debit_fen": 100, "credit_fen": 0, "closing_fen": 100}]}],
                  "eliminations": {"rows": []}, "group": {"rows": []}},
        "income": {"campuses": [{**campus, "months": [{"period": "2026-11", **total}], "total": total}],
                   "eliminations": {"months": [], "total": total}, "group": {"months": [], "total": total}},
        "sheet": {"campuses": [{**campus, "assets": {"1002": 100}, "liabilities": {}, "equity": {}, "profit_fen": 60,
                                "funds": {"1002": 100}}],
                  "group": {"assets": {}, "liabilities": {}, "equity": {}, "profit_fen": 0, "funds": {}}}}

    content = group_books_workbook(figures)

    _assert_text(content, f"{EVIL}（BJ01）")


def test_the_rejected_rows_file_writes_a_formula_looking_name_as_text() -> None:
    report: ImportReport[object] = ImportReport("leads", "x.csv", layout=Layout(1, ("姓名", "手机"), ("name", "phone")))
    report.rows.append(RowResult(2, EVIL, "rejected", field="phone", reason="empty", cells=(EVIL, None)))

    _assert_text(report.rejected_workbook())
