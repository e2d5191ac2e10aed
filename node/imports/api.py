"""``/api/v1/students/import``: the students migration over the API (leads: ``/api/v1/leads/import``)."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import Response

from campus.node.imports import use_cases as cases
from campus.node.imports.kinds import STUDENTS
from campus.web.api import Api, json_response
from campus.web.imports import import_form
from campus.web.problems import InvalidInput
from campus.web.usecase import performs


def register(api: Api) -> None:
    @api.route("/students/import", "POST", "Migrate students with their remaining hours and value from an old "
               "system (multipart: 'file'; optional 'as_of' YYYY-MM-DD, the balances' day; 'mapping' as a TOML "
               "mapping file; 'mode' all|rows, all by default; 'dry_run' true to write nothing)", "students.migrate",
               tags=["students"])
    @performs(cases.migrate_students)
    async def migrate(request: Request) -> Response:
        node = request.app.state.node
        upload, choice, mode, dry = await import_form(request)
        assert upload.filename  # import_form refuses a file without a name
        form = await request.form()
        as_of_text = str(form.get("as_of") or "").strip()
        try:
            as_of = date.fromisoformat(as_of_text) if as_of_text else None
        except ValueError:
            raise InvalidInput([{"field": "as_of", "message": "a date like 2026-10-31"}]) from None
        mode = mode if "mode" in form else STUDENTS.default_mode
        if dry:
            options = STUDENTS.options(node.ctx, as_of)
            report = await node.query(STUDENTS.dry_run, node.ctx, options, upload.file, upload.filename, choice,
                                      mode=mode)
        else:
            report = await node.perform(request, cases.migrate_students, upload.file, upload.filename, choice,
                                        mode=mode, as_of=as_of)
        return json_response(await node.blocking(report.as_dict, "student_id"), 201 if report.written else 200)
