"""Reading spreadsheet exports people actually send: CSV (UTF-8 with or without BOM, or GBK) and .xlsx.

Rows stream one at a time; a header row names the columns, matched against the names
each import accepts (Chinese or English), so column order and extra columns do not matter.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from campus.schema.errors import Invalid

SNIFF_BYTES = 64 * 1024


class SpreadsheetInvalid(Invalid):
    """The file as a whole cannot be read (unknown type, no header, a required column missing)."""


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # a phone typed into a numeric Excel cell
        return str(int(value))
    return str(value)


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as such, else GB18030 (a superset of GBK)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _csv_rows(stream: IO[bytes]) -> Iterator[list[Any]]:
    head = stream.read(SNIFF_BYTES)
    encoding = detect_encoding(head)
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    yield from csv.reader(text)


def _xlsx_rows(stream: IO[bytes]) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    workbook = load_workbook(stream, read_only=True, data_only=True)
    try:
        for values in workbook.active.iter_rows(values_only=True):
            yield list(values)
    finally:
        workbook.close()


def read_rows(stream: IO[bytes], filename: str, headers: Mapping[str, set[str]],
              required: set[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(row number, {column: value})`` for each non-empty data row, numbered from 1.

    ``headers`` maps each column to the header texts that name it (compared lower-cased)."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        raw_rows: Iterable[list[Any]] = _csv_rows(stream)
    elif suffix in (".xlsx", ".xlsm"):
        raw_rows = _xlsx_rows(stream)
    else:
        raise SpreadsheetInvalid("file", f"{filename}: import takes .csv or .xlsx files")

    def column_for(header: str) -> str | None:
        cleaned = header.strip().lower()
        return next((column for column, names in headers.items() if cleaned in names), None)

    columns: list[str | None] | None = None
    number = 0
    for raw in raw_rows:
        if not any(cell_text(value).strip() for value in raw):
            continue
        if columns is None:
            columns = [column_for(cell_text(value)) for value in raw]
            missing = required - set(columns)
            if missing:
                raise SpreadsheetInvalid("file", f"{filename}: the header has no column for "
                                                 f"{', '.join(sorted(missing))}")
            continue
        number += 1
        yield number, {column: value for column, value in zip(columns, raw, strict=False) if column}
    if columns is None:
        raise SpreadsheetInvalid("file", f"{filename} has no header row")
