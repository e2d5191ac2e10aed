"""``campus node export --to DIR [--format csv|xlsx|json]``: every business table of the campus's
store, so a school can leave with its data.

One file per table (the tables sync replicates: every fact and record the school keeps, without
the sync machinery's own bookkeeping), all read in one snapshot; columns under readable names
(``amount_fen`` is "Amount (yuan)", its values in yuan to the fen; ``gift_hours_x100`` is "Gift
hours", to the hundredth; ``vat_rate_bp`` is "VAT rate (%)"), password hashes left out, and text
a spreadsheet would take for a formula written as text. ``export.json`` beside them lists every table with its file,
row count and each column's readable name, original name and unit. The export is audited
(``data_exported``: who, where, which format, how many rows), also when it stops part way.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, select

from campus.node.context import NodeBatches
from campus.schema.tables import SCHEMA_VERSION, metadata
from campus.sync.policy import policy_of
from campus.web.spreadsheets import append_safe, safe_csv_value
from campus.web.usecase import use_case

FORMATS = ("csv", "xlsx", "json")
LEFT_OUT = {("users", "password_hash")}  # secrets are not the school's data to carry away
XLSX_ROWS_PER_SHEET = 1_000_000  # Excel's limit is 1,048,576 rows a sheet
UNITS = (("_x100", "hours"), ("_fen", "yuan"), ("_bp", "%"))  # every _x100 column holds lesson hours
CENTS = Decimal("0.01")
ACRONYMS = {"id": "ID", "ip": "IP", "hlc": "HLC", "vat": "VAT", "url": "URL", "pin": "PIN", "qr": "QR"}


@dataclass(frozen=True)
class Column:
    name: str  # readable
    column: str  # in the store
    unit: str | None  # yuan | hours | % (the store keeps hundredths of it as an integer)


@dataclass
class ExportReport:
    folder: Path
    format: str
    tables: dict[str, int] = field(default_factory=dict)  # rows per table

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def business_tables() -> list[Table]:
    return sorted((t for t in metadata.sorted_tables if policy_of(t) is not None), key=lambda t: t.name)


def readable(column: str) -> Column:
    """``amount_fen`` → "Amount (yuan)", ``gift_hours_x100`` → "Gift hours", ``student_id`` → "Student ID"."""
    base, unit = column, None
    for suffix, name in UNITS:
        if column.endswith(suffix):
            base, unit = column.removesuffix(suffix), name
            break
    words = [ACRONYMS.get(word, word) for word in base.split("_") if word]
    text = " ".join(words)
    text = text[:1].upper() + text[1:] if text else column
    return Column(f"{text} ({unit})" if unit and not text.lower().endswith(unit) else text, column, unit)


def columns_of(table: Table) -> list[Column]:
    return [readable(c.name) for c in table.columns if (table.name, c.name) not in LEFT_OUT]


def _value(value: Any, unit: str | None) -> Any:
    """Integers in hundredths become exact decimals; bytes become hex; the rest stays as stored."""
    if unit and isinstance(value, int) and not isinstance(value, bool):
        return (Decimal(value) / 100).quantize(CENTS)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def _rows(conn: Connection, table: Table, columns: list[Column]) -> Iterator[list[Any]]:
    chosen = [table.c[c.column] for c in columns]
    query = select(*chosen).order_by(*table.primary_key.columns)
    for row in conn.execution_options(yield_per=2000).execute(query):
        yield [_value(v, c.unit) for v, c in zip(row, columns, strict=True)]


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return safe_csv_value(value)  # "" for None; a formula-looking text gets a leading apostrophe


def _write_csv(path: Path, columns: list[Column], rows: Iterator[list[Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as stream:  # the BOM: Excel reads the Chinese right
        writer = csv.writer(stream)
        writer.writerow([c.name for c in columns])
        for row in rows:
            writer.writerow([_csv_cell(v) for v in row])
            count += 1
    return count


def _write_xlsx(path: Path, title: str, columns: list[Column], rows: Iterator[list[Any]]) -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    count, sheet = 0, None
    for row in rows:
        if count % XLSX_ROWS_PER_SHEET == 0:
            part = count // XLSX_ROWS_PER_SHEET
            sheet = book.create_sheet(title[:31] if not part else f"{title[:27]} {part + 1}")
            append_safe(sheet, [c.name for c in columns])
        assert sheet is not None
        append_safe(sheet, row)  # formula-looking text is a quoted text cell, shown as typed
        count += 1
    if sheet is None:
        append_safe(book.create_sheet(title[:31]), [c.name for c in columns])
    book.save(path)
    return count


def _write_json(path: Path, columns: list[Column], rows: Iterator[list[Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as stream:
        stream.write("[")
        for row in rows:
            record = {c.name: (str(v) if isinstance(v, Decimal) else v) for c, v in zip(columns, row, strict=True)}
            stream.write(("\n" if not count else ",\n") + json.dumps(record, ensure_ascii=False))
            count += 1
        stream.write("\n]\n")
    return count


def write_export(conn: Connection, folder: Path, fmt: str, report: ExportReport, campus: dict[str, str]) -> None:
    """Every business table into ``folder``, read in the one transaction ``conn`` holds."""
    listing = []
    for table in business_tables():
        columns = columns_of(table)
        path = folder / f"{table.name}.{fmt}"
        rows = _rows(conn, table, columns)
        if fmt == "csv":
            count = _write_csv(path, columns, rows)
        elif fmt == "xlsx":
            count = _write_xlsx(path, table.name, columns, rows)
        else:
            count = _write_json(path, columns, rows)
        report.tables[table.name] = count
        listing.append({"table": table.name, "file": path.name, "rows": count,
                        "columns": [{"name": c.name, "column": c.column, "unit": c.unit} for c in columns]})
    head = conn.exec_driver_sql("select int_value from local_state where key = 'log_head'").scalar() or 0
    (folder / "export.json").write_text(json.dumps({
        **campus, "exported_at": datetime.now(UTC).isoformat(timespec="seconds"), "format": fmt,
        "schema_version": SCHEMA_VERSION, "log_head_seq": head, "tables": listing,
        "units": {"yuan": "money, exact to the fen", "hours": "lesson hours, exact to the hundredth",
                  "%": "a rate, exact to the hundredth of a percent"}}, ensure_ascii=False, indent=2),
        encoding="utf-8")


@use_case("data.export", batched=True)
def export_data(batches: NodeBatches, folder: Path, fmt: str) -> ExportReport:
    """Export the store into ``folder`` (new or empty), audited with what left and where."""
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if folder.exists() and any(folder.iterdir()):
        raise ValueError(f"{folder} is not empty: export into a new or empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    report = ExportReport(folder, fmt)
    campus = {"campus_code": batches.ctx.code, "campus_id": batches.ctx.id}
    try:
        with batches.store.read() as conn:  # one snapshot: the tables agree with one another
            write_export(conn, folder, fmt, report, campus)
    except Exception as exc:
        with batches.unit() as work:
            work.audit("data_exported", after={"folder": str(folder.resolve()), "format": fmt,
                                               "tables": len(report.tables), "rows": report.rows,
                                               "stopped": str(exc)[:500]})
        raise
    with batches.unit() as work:
        work.audit("data_exported", after={"folder": str(folder.resolve()), "format": fmt,
                                           "tables": len(report.tables), "rows": report.rows})
    return report
