"""Running an import, whatever it imports: every row is checked first, then the valid ones are
written in one transaction, and the report names every row by its line in the spreadsheet.

An :class:`Importer` knows its fields, checks one row (a pure function raising
:class:`~campus.schema.errors.Invalid` naming the field at fault) and writes, or predicts, a chunk
of checked rows. :func:`run` is the body of an import's batched use case:

1. the check pass reads the file once (blank rows counted, totals rows and repeated headers
   skipped and reported, a row with damaged bytes rejected naming its column), and spools each
   row's checked values, or its rejection with the cells as read, to a temporary file;
2. the write pass reads that spool back and writes the valid rows chunk by chunk inside one unit
   of work, which also records the audit event: the file's rows are all written, or none are.
   In ``all`` mode a file with any rejected row writes nothing (the report says what each row
   would have become); in ``rows`` mode the valid rows are written and the rejected ones reported;
3. a failure anywhere (an unreadable file, a broken store) is audited too, in a unit of its own,
   and raised: nothing of the file is written.

Memory stays bounded: rows and results live in :class:`~campus.web.spreadsheets.Spool` files,
not lists, so a 200,000-row file costs what a chunk costs.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection

from campus.schema.errors import Invalid
from campus.sync.capture import UnitOfWork
from campus.web.spreadsheets import (
    Field,
    Layout,
    MappingChoice,
    Sheet,
    Spool,
    SpreadsheetInvalid,
    cell_text,
    data_rows,
    encoding_label,
    find_layout,
    open_sheet,
    parse_mapping,
    rejected_workbook,
)
from campus.web.usecase import Batches

CHUNK = 1000  # checked rows written (or predicted) per statement
OUTCOMES = ("created", "merged", "rejected", "skipped")
MODES = ("rows", "all")  # write the valid rows and report the rest | write nothing unless every row is valid

C = TypeVar("C")
Progress = Callable[[str, int, "int | None"], None]  # (phase, rows done, rows in all when known)


@dataclass(slots=True)
class RowResult:
    """What became of one row: ``created``, ``merged`` (into ``number``, ``how``: ``same_name`` or
    ``other_name``), ``rejected`` (``field`` and ``reason``) or ``skipped`` (a totals row…)."""

    line: int
    name: str
    outcome: str
    number: str | None = None
    record_id: str | None = None
    field: str | None = None
    reason: str | None = None
    how: str | None = None
    cells: tuple[Any, ...] | None = None  # a rejected row as read, for the rejected-rows file


class Importer(Protocol[C]):
    kind: str
    fields: Sequence[Field]
    required: frozenset[str]

    def check(self, values: dict[str, Any], kept: list[tuple[str, str]], line: int) -> C: ...

    def name(self, values: dict[str, Any]) -> str: ...

    def totals(self, checked: C) -> Mapping[str, int]: ...

    def write(self, uow: UnitOfWork, chunk: list[tuple[int, C]]) -> list[RowResult]: ...

    def predict(self, conn: Connection, chunk: list[tuple[int, C]]) -> list[RowResult]: ...

    def verify(self, uow: UnitOfWork, report: ImportReport) -> None: ...


@dataclass
class ImportReport(Generic[C]):
    kind: str
    source: str
    mode: str = "rows"
    dry_run: bool = False
    layout: Layout | None = None
    encoding: str = ""
    sha256: str = ""
    rows: Spool[RowResult] = field(default_factory=Spool)
    tally: Counter[str] = field(default_factory=Counter)
    blank_lines: list[int] = field(default_factory=list)  # the first few
    blank: int = 0
    totals: Counter[str] = field(default_factory=Counter)  # of the valid rows, as the file states them
    written: bool = False
    error: str | None = None

    def counts(self) -> dict[str, int]:
        return {"rows": sum(self.tally[o] for o in OUTCOMES), **{o: self.tally[o] for o in OUTCOMES},
                "blank": self.blank}

    @property
    def refused(self) -> bool:
        """``all`` mode with rejected rows: nothing was written."""
        return self.mode == "all" and self.tally["rejected"] > 0

    def results(self) -> Iterator[RowResult]:
        return iter(self.rows)

    def notable(self, limit: int = 500) -> list[RowResult]:
        """The rows a screen lists first: rejected, skipped and merged before created ones."""
        order = {"rejected": 0, "skipped": 1, "merged": 2, "created": 3}
        picked: list[RowResult] = []
        for wanted in ("rejected", "skipped", "merged", "created"):
            if self.tally[wanted]:
                picked += [r for r in self.rows if r.outcome == wanted][:limit - len(picked)]
            if len(picked) >= limit:
                break
        return sorted(picked, key=lambda r: (order[r.outcome], r.line))

    def rejected_workbook(self) -> bytes:
        headers = list(self.layout.headers) if self.layout else []
        return rejected_workbook(headers, ((r.cells or (), f"{r.field}: {r.reason}" if r.field else r.reason or "")
                                           for r in self.rows if r.outcome == "rejected"))

    def summary(self) -> dict[str, Any]:
        """What the audit trail keeps of the import."""
        return {"file": self.source, "sha256": self.sha256, "mode": self.mode, "written": self.written,
                **self.counts(), **({"totals": dict(self.totals)} if self.totals else {}),
                **({"error": self.error[:500]} if self.error else {})}

    def as_dict(self, id_key: str = "record_id") -> dict[str, Any]:
        def shown(r: RowResult) -> dict[str, Any]:
            return {"row": r.line, "name": r.name, "outcome": r.outcome, "number": r.number, id_key: r.record_id,
                    "field": r.field, "reason": r.reason, "how": r.how}

        return {"source": self.source, "sha256": self.sha256, "encoding": encoding_label(self.encoding),
                "dry_run": self.dry_run, "mode": self.mode, "written": self.written, **self.counts(),
                "blank_lines": self.blank_lines, "totals": dict(self.totals),
                "layout": self.layout.as_dict() if self.layout else None,
                "results": [shown(r) for r in self.rows]}


def file_digest(sheet: Sheet) -> str:
    sheet.stream.seek(0)
    digest = hashlib.sha256()
    while chunk := sheet.stream.read(1 << 20):
        digest.update(chunk)
    sheet.stream.seek(0)
    return digest.hexdigest()


def layout_for(sheet: Sheet, importer: Importer[Any], choice: MappingChoice | None = None) -> Layout:
    """The suggested (or chosen) layout; a file without the required columns is refused naming them."""
    layout = find_layout(sheet, importer.fields, choice)
    missing = layout.missing(importer.required)
    if missing:
        raise SpreadsheetInvalid("file", f"{sheet.filename}: no column found for {', '.join(missing)} (the header "
                                         f"looked for is line {layout.header_line}: "
                                         f"{', '.join(h for h in layout.headers if h) or 'empty'}); "
                                         "map the columns by hand")
    return layout


def _damaged_field(layout: Layout, cells: Sequence[Any]) -> str:
    index = next((i for i, c in enumerate(cells) if isinstance(c, str) and "\ufffd" in c), 0)
    return layout.field_of_column(index)


Entry = tuple[Any, ...]  # ("ok", line, checked) | ("done", RowResult)


def check_pass(sheet: Sheet, layout: Layout, importer: Importer[C], report: ImportReport[C],
               progress: Progress | None = None) -> Spool[Entry]:
    """Read the file once, check every row; the spool holds each row's checked values or its result."""
    spool: Spool[Entry] = Spool()
    done = 0
    for kind, row in data_rows(sheet, layout):
        if kind == "blank":
            report.blank += 1
            if len(report.blank_lines) < 50:
                report.blank_lines.append(row.line)
            continue
        done += 1
        if progress and done % CHUNK == 0:
            progress("checking", done, None)
        if kind != "row":
            label = cell_text(next((c for c in row.cells if cell_text(c).strip()), "")).strip()
            reason = "totals row" if kind == "totals" else "the header repeated"
            spool.append(("done", RowResult(row.line, label, "skipped", reason=reason)))
            continue
        values, kept = layout.values(row.cells)
        name = importer.name(values)
        try:
            if row.damaged:
                raise Invalid(_damaged_field(layout, row.cells),
                              f"line {row.line} has bytes that are not valid {encoding_label(sheet.encoding)} "
                              "(shown as �): retype the row or save the file again")
            checked = importer.check(values, kept, row.line)
        except Invalid as exc:
            spool.append(("done", RowResult(row.line, name, "rejected", field=exc.field, reason=exc.detail,
                                            cells=row.cells)))
            report.tally["rejected"] += 1
            continue
        report.totals.update(importer.totals(checked))
        spool.append(("ok", row.line, checked))
    if progress:
        progress("checking", done, done)
    return spool


def write_pass(importer: Importer[C], spool: Spool[Entry], report: ImportReport[C], *, uow: UnitOfWork | None,
               conn: Connection, progress: Progress | None = None) -> None:
    """Each spooled row's outcome into the report, in file order: the valid rows written through
    ``uow`` chunk by chunk, or (``uow`` None) predicted from what ``conn`` reads."""
    report.tally.clear()
    total, done = len(spool), 0
    buffer: list[Entry] = []

    def settle() -> None:
        nonlocal done
        chunk = [(entry[1], entry[2]) for entry in buffer if entry[0] == "ok"]
        made = iter((importer.write(uow, chunk) if uow is not None else importer.predict(conn, chunk)) if chunk else [])
        for entry in buffer:
            result = next(made) if entry[0] == "ok" else entry[1]
            report.rows.append(result)
            report.tally[result.outcome] += 1
        if uow is not None:
            uow.flush()
        done += len(buffer)
        buffer.clear()
        if progress:
            progress("writing" if uow is not None else "predicting", done, total)

    ok = 0
    for entry in spool:
        buffer.append(entry)
        ok += entry[0] == "ok"
        if ok >= CHUNK:
            settle()
            ok = 0
    settle()


def run(batches: Batches[Any], stream: IO[bytes], filename: str, importer: Importer[C],
        choice: MappingChoice | None = None, *, mode: str = "rows", action: str, failed_action: str,
        progress: Progress | None = None) -> ImportReport[C]:
    """The body of an import's batched use case (see the module's docstring); audits as ``action``,
    or ``failed_action`` when it fails, unreadable file and wrong mapping included."""
    if mode not in MODES:
        raise Invalid("mode", f"one of {', '.join(MODES)}")
    report: ImportReport[C] = ImportReport(importer.kind, filename, mode)
    try:
        sheet = open_sheet(stream, filename)
        report.encoding, report.sha256 = sheet.encoding or "", file_digest(sheet)
        report.layout = layout_for(sheet, importer, choice)
        spool = check_pass(sheet, report.layout, importer, report, progress)
        with batches.unit() as work:
            work.uow.keep_changes = False  # nothing reads a node's changes at commit; the log holds them
            writing = not (mode == "all" and report.tally["rejected"])
            write_pass(importer, spool, report, uow=work.uow if writing else None, conn=work.conn, progress=progress)
            if writing:
                importer.verify(work.uow, report)
            report.written = writing
            work.audit(action, after=report.summary())
        spool.close()
    except Exception as exc:
        report.error = exc.detail if isinstance(exc, Invalid) else f"{type(exc).__name__}: {exc}"
        report.written = False
        with batches.unit() as work:
            work.audit(failed_action, after=report.summary())
        raise
    return report


def dry_run(conn: Connection, stream: IO[bytes], filename: str, importer: Importer[C],
            choice: MappingChoice | None = None, *, mode: str = "rows",
            progress: Progress | None = None) -> ImportReport[C]:
    """What :func:`run` would do with the file, writing nothing: the same checks and each valid
    row's predicted outcome (a read query: the CLI's ``--dry-run`` and the screen's check)."""
    report: ImportReport[C] = ImportReport(importer.kind, filename, mode, dry_run=True)
    sheet = open_sheet(stream, filename)
    report.encoding, report.sha256 = sheet.encoding or "", file_digest(sheet)
    report.layout = layout_for(sheet, importer, choice)
    spool = check_pass(sheet, report.layout, importer, report, progress)
    write_pass(importer, spool, report, uow=None, conn=conn, progress=progress)
    spool.close()
    return report


def preview(sheet: Sheet, layout: Layout, importer: Importer[C], limit: int = 10) -> list[dict[str, Any]]:
    """The first data rows as they will land: each with its line, values by field (as checked) and
    what is kept in notes, or the reason it would be rejected or skipped."""
    shown: list[dict[str, Any]] = []
    for kind, row in data_rows(sheet, layout):
        if kind == "blank":
            continue
        values, kept = layout.values(row.cells)
        item: dict[str, Any] = {"line": row.line, "values": {k: cell_text(v).strip() for k, v in values.items()},
                                "kept": kept}
        if kind != "row":
            item["skipped"] = "totals row" if kind == "totals" else "the header repeated"
        else:
            try:
                if row.damaged:
                    raise Invalid(_damaged_field(layout, row.cells), "damaged bytes (shown as �)")
                checked = importer.check(values, kept, row.line)
                item["checked"] = checked
            except Invalid as exc:
                item["rejected"] = f"{exc.field}: {exc.detail}"
        shown.append(item)
        if len(shown) >= limit:
            break
    return shown


async def import_form(request: Any) -> tuple[Any, MappingChoice | None, str, bool]:
    """An import's multipart form over the API: ``file``, and optionally ``mapping`` (a TOML mapping
    file's text), ``mode`` (rows | all) and ``dry_run``; a 4xx problem naming the field otherwise."""
    from starlette.datastructures import UploadFile

    from campus.web.problems import InvalidInput, Problem

    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Problem(415, "upload the file as multipart/form-data in the field 'file'",
                      errors=[{"field": "file", "message": "missing"}])
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput([{"field": "file", "message": "attach a .csv or .xlsx file"}])
    mode = str(form.get("mode") or "rows")
    if mode not in MODES:
        raise InvalidInput([{"field": "mode", "message": f"one of {', '.join(MODES)}"}])
    dry = str(form.get("dry_run") or "").strip().lower()
    if dry not in ("", "0", "1", "true", "false", "yes", "no"):
        raise InvalidInput([{"field": "dry_run", "message": "true or false"}])
    mapping = form.get("mapping")
    choice = parse_mapping(str(mapping)) if isinstance(mapping, str) and mapping.strip() else None
    return upload, choice, mode, dry in ("1", "true", "yes")


def file_totals(sheet: Sheet, layout: Layout, importer: Importer[C]) -> tuple[dict[str, int], dict[str, int]]:
    """The check pass alone (nothing read from or written to the store): the file's totals over its
    valid rows, and the counts of rows checked and rejected, as a preview shows them before committing."""
    report: ImportReport[C] = ImportReport(importer.kind, sheet.filename)
    spool = check_pass(sheet, layout, importer, report)
    rows = len(spool)
    spool.close()
    return dict(report.totals), {"rows": rows, "rejected": report.tally["rejected"], "blank": report.blank}
