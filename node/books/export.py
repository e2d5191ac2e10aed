"""Spreadsheets of the books' tables: one sheet, a header row, values as they are; text that a
spreadsheet would take for a formula is written as text."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from campus.web.spreadsheets import FORMULA_STARTS, append_safe, safe_csv_value

__all__ = ["FORMULA_STARTS", "safe_cell", "workbook"]


def safe_cell(value: Any) -> Any:
    """A value as a CSV cell: text that starts like a formula gets a leading apostrophe (an .xlsx is
    written with :func:`campus.web.spreadsheets.append_safe`, which keeps the text as typed)."""
    return safe_csv_value(value) if value is not None else None


def workbook(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    append_safe(sheet, headers)
    for row in rows:
        append_safe(sheet, row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
