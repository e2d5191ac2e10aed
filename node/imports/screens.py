"""The import screens, the same for every kind of file (leads, students with their balances):

1. upload: the file is kept in the node directory's ``imports/`` folder under an unguessable token;
2. preview: the encoding and header line found, each column's mapping (a field, kept in notes or
   ignored; the suggestion preselected, every choice the user's) and the first rows as they will
   land, refreshed on request;
3. import: a file up to :data:`SYNC_BYTES` imports within the request; a larger one on a worker
   thread, the page showing its progress (refreshing itself, no script needed) until the report;
4. the report: counts, totals, every row that was not simply created (by its line in the file),
   and the rejected rows as an .xlsx to fix and import again.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from campus.node.imports.kinds import KINDS, ImportKind
from campus.node.screens import TEMPLATES
from campus.schema.errors import DomainError, Invalid
from campus.web.auth import actor_of, check_csrf, guard
from campus.web.i18n import gettext_ as _
from campus.web.imports import MODES, ImportReport, file_totals
from campus.web.spreadsheets import (
    IGNORE,
    KEEP,
    XLSX_MEDIA_TYPE,
    Layout,
    MappingChoice,
    SpreadsheetInvalid,
    column_letter,
    encoding_label,
    open_sheet,
)
from campus.web.templating import render
from campus.web.usecase import performs, writes_nothing

log = logging.getLogger("campus.imports")
SYNC_BYTES = 256 * 1024  # larger files import on a worker thread, with a progress page
KEEP_JOBS_SECONDS = 24 * 3600
RUNNING = ("checking", "predicting", "writing")
HOW_LABELS = {"same_name": "same name", "other_name": "different name"}
MODE_LABELS = {"rows": "Import the valid rows and report the rest",
               "all": "All or nothing: import only if every row is valid"}


@dataclass
class Job:
    """One uploaded file, from its preview to its report."""

    token: str
    kind: ImportKind
    filename: str
    path: Path
    user_id: str | None
    options: dict[str, Any]
    created: float = field(default_factory=time.time)
    phase: str = "ready"
    done: int = 0
    total: int | None = None
    report: ImportReport[Any] | None = None
    error: str | None = None

    def progress(self, phase: str, done: int, total: int | None) -> None:
        self.phase, self.done, self.total = phase, done, total


class Staging:
    """The files uploaded for import at this node, and what became of them (kept a day)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()

    def stage(self, kind: ImportKind, upload: UploadFile, user_id: str | None, options: dict[str, Any]) -> Job:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._forget_old()
        token = secrets.token_urlsafe(18)
        path = self.directory / token
        with path.open("wb") as out:
            upload.file.seek(0)
            shutil.copyfileobj(upload.file, out)
        job = Job(token, kind, upload.filename or "upload", path, user_id, options)
        with self.lock:
            self.jobs[token] = job
        return job

    def get(self, token: str, kind: ImportKind, user_id: str | None) -> Job:
        with self.lock:
            job = self.jobs.get(token)
        if job is None or job.kind is not kind or job.user_id != user_id:
            from campus.schema.errors import NotFound

            raise NotFound("no such import (they are kept for a day)", token=token)
        return job

    def _forget_old(self) -> None:
        cutoff = time.time() - KEEP_JOBS_SECONDS
        with self.lock:
            for token in [t for t, job in self.jobs.items() if job.created < cutoff and job.phase not in RUNNING]:
                job = self.jobs.pop(token)
                job.path.unlink(missing_ok=True)
                if job.report is not None:
                    job.report.rows.close()


def _staging(request: Request) -> Staging:
    state = request.app.state
    if not hasattr(state, "imports"):
        state.imports = Staging(state.node.config.directory / "imports")
    staging: Staging = state.imports
    return staging


def _user(request: Request) -> str | None:
    return request.state.principal.user_id


def _choice(form: FormData, layout_line: int | None) -> MappingChoice:
    """The mapping chosen on the preview: each column's select, and the header line (a new header
    line starts from the suggestion again)."""
    line_text = str(form.get("header_line", "")).strip()
    line = int(line_text) if line_text.isdigit() and int(line_text) > 0 else None
    if line is not None and line != layout_line:
        return MappingChoice(header_line=line)
    columns = {key[4:]: str(value) for key, value in form.multi_items() if key.startswith("col_") and str(value)}
    return MappingChoice(columns, KEEP, line)


def _context(request: Request, kind: ImportKind, **values: Any) -> dict[str, Any]:
    node = request.app.state.node
    return {"app_title": node.config.campus_name, "kind": kind, "title": _(kind.title), "path": kind.path,
            "field_labels": {f.key: _(f.label) for f in kind.fields}, "how_labels": {k: _(v) for k, v in HOW_LABELS.items()},
            "mode_labels": {k: _(v) for k, v in MODE_LABELS.items()}, "KEEP": KEEP, "IGNORE": IGNORE, **values}


def _preview(request: Request, kind: ImportKind, job: Job, choice: MappingChoice | None, error: str | None = None,
             mode: str | None = None) -> dict[str, Any]:
    """Everything the preview shows (read on a worker thread)."""
    node = request.app.state.node
    layout: Layout | None = None
    rows: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    checked: dict[str, int] = {}
    encoding = ""
    try:
        with job.path.open("rb") as stream:
            sheet = open_sheet(stream, job.filename)
            encoding = encoding_label(sheet.encoding)
            try:
                layout = kind.layout(sheet, choice)
            except SpreadsheetInvalid as exc:
                if exc.field != "mapping":
                    raise
                error = error or exc.detail
                layout = kind.layout(sheet, MappingChoice(header_line=choice.header_line if choice else None))
            rows = kind.preview(node.ctx, job.options, sheet, layout)
            if kind.name == "students" and not kind.missing(layout):  # the totals, before committing
                totals, checked = file_totals(sheet, layout, kind.make(None, node.ctx, job.filename, job.options))
    except SpreadsheetInvalid as exc:
        error = error or exc.detail
    columns = [{"letter": column_letter(i), "header": header, "target": layout.targets[i]}
               for i, header in enumerate(layout.headers)] if layout else []
    return {"job": job, "layout": layout, "columns": columns, "rows": rows, "encoding": encoding, "error": error,
            "missing": [_(kind.label(key)) for key in kind.missing(layout)] if layout else [],
            "mapped": [f.key for f in kind.fields if layout and f.key in layout.targets],
            "mode": mode or kind.default_mode, "modes": MODES, "totals": totals, "checked": checked}


def _report_context(kind: ImportKind, job: Job) -> dict[str, Any]:
    report = job.report
    assert report is not None
    return {"job": job, "report": report, "counts": report.counts(), "rows": report.notable(),
            "totals": {key: value for key, value in report.totals.items()}}


def routes(kind: ImportKind) -> list[Route]:
    """The import screens of one kind of file, under ``kind.path``."""

    async def upload_page(request: Request) -> Response:
        node = request.app.state.node
        error = None
        if request.method == "POST":
            form = await request.form(max_files=1)
            check_csrf(request, form)
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                error = _("Choose a .csv or .xlsx file")
            else:
                try:
                    as_of = str(form.get("as_of", "")).strip()
                    options = kind.options(node.ctx, _date(as_of) if as_of else None)
                    job = await node.blocking(_staging(request).stage, kind, upload, _user(request), options)
                    with job.path.open("rb") as stream:  # refuse what is no spreadsheet at once
                        await node.blocking(open_sheet, stream, job.filename)
                except (SpreadsheetInvalid, Invalid) as exc:
                    error = exc.detail
                else:
                    return RedirectResponse(f"{kind.path}/{job.token}", status_code=303)
        default_as_of = kind.options(node.ctx).get("as_of")
        return render(TEMPLATES, request, "lead_import.html",
                      _context(request, kind, error=error, as_of=default_as_of), 422 if error else 200)

    @performs(kind.use_case)
    async def job_page(request: Request) -> Response:
        node = request.app.state.node
        job = _staging(request).get(request.path_params["token"], kind, _user(request))
        if request.method == "GET":
            if job.phase in RUNNING:  # the browser asks again every two seconds (no script needed)
                page = render(TEMPLATES, request, "import_report.html", _context(request, kind, job=job, running=True))
                page.headers["refresh"] = "2"
                return page
            if job.report is not None:
                return render(TEMPLATES, request, "import_report.html",
                              _context(request, kind, **_report_context(kind, job)))
            shown = await node.blocking(_preview, request, kind, job, None, job.error)
            return render(TEMPLATES, request, "import_preview.html", _context(request, kind, **shown))
        form = await request.form()
        check_csrf(request, form)
        shown_line = str(form.get("shown_line", "")).strip()
        choice = _choice(form, int(shown_line) if shown_line.isdigit() else None)
        mode = str(form.get("mode") or kind.default_mode)
        if str(form.get("action")) != "import" or mode not in MODES or job.phase in RUNNING:
            shown = await node.blocking(_preview, request, kind, job, choice, None, mode if mode in MODES else None)
            return render(TEMPLATES, request, "import_preview.html", _context(request, kind, **shown))
        actor = actor_of(request)
        job.report, job.error = None, None
        job.progress("checking", 0, None)

        def work() -> None:
            try:
                with job.path.open("rb") as stream:
                    job.report = kind.use_case(node.store, node.ctx, actor, stream, job.filename, choice, mode=mode,
                                               progress=job.progress, **job.options)
                job.phase = "done"
            except DomainError as exc:  # audited by the use case; shown on the preview
                job.error, job.phase = str(getattr(exc, "detail", exc)), "failed"
            except Exception as exc:  # the use case audited it; the log keeps the trace
                log.exception("import of %s failed", job.filename)
                job.error, job.phase = f"{type(exc).__name__}: {exc}", "failed"

        if job.path.stat().st_size > SYNC_BYTES:
            threading.Thread(target=work, name=f"import:{job.token[:6]}", daemon=True).start()
            return RedirectResponse(f"{kind.path}/{job.token}", status_code=303)
        await node.blocking(work)
        if job.report is None:
            shown = await node.blocking(_preview, request, kind, job, choice, job.error, mode)
            return render(TEMPLATES, request, "import_preview.html", _context(request, kind, **shown), 422)
        return render(TEMPLATES, request, "import_report.html", _context(request, kind, **_report_context(kind, job)))

    async def rejected_file(request: Request) -> Response:
        node = request.app.state.node
        job = _staging(request).get(request.path_params["token"], kind, _user(request))
        if job.report is None:
            return RedirectResponse(f"{kind.path}/{job.token}", status_code=303)
        content = await node.blocking(job.report.rejected_workbook)
        stem = job.filename.rsplit(".", 1)[0]
        return Response(content, media_type=XLSX_MEDIA_TYPE, headers={
            "content-disposition": f"attachment; filename*=UTF-8''{_quoted(stem)}-rejected.xlsx"})

    upload_page.__name__ = f"{kind.name}_import_upload"
    job_page.__name__ = f"{kind.name}_import_job"
    rejected_file.__name__ = f"{kind.name}_import_rejected"
    upload_endpoint = writes_nothing(upload_page)  # it keeps the file in imports/, the store is untouched
    return [Route(kind.path, guard(kind.permission, upload_endpoint, screen=True), methods=["GET", "POST"]),
            Route(f"{kind.path}/{{token}}", guard(kind.permission, job_page, screen=True), methods=["GET", "POST"]),
            Route(f"{kind.path}/{{token}}/rejected.xlsx", guard(kind.permission, rejected_file, screen=True))]


def _date(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid("as_of", f"{text!r} is not a date like 2026-10-31") from None


def _quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def import_routes() -> list[Route]:
    return [route for kind in KINDS.values() for route in routes(kind)]
