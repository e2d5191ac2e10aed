"""Staff screens of the node (server-rendered). Business rules stay in the use cases."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from campus.node.crm.leads import Campus, DuplicatePhone, create_lead
from campus.schema.errors import Invalid
from campus.web.auth import check_csrf
from campus.web.i18n import gettext_ as _
from campus.web.templating import flash, make_templates, render

TEMPLATES = make_templates(Path(__file__).parent / "templates")


async def new_lead(request: Request) -> Response:
    node = request.app.state.node
    values = {"name": "", "phone": "", "channel": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        values = {key: str(form.get(key, "")).strip() for key in values}
        if not values["name"]:
            errors["name"] = _("Required")
        if not values["phone"]:
            errors["phone"] = _("Required")
        if not errors:
            try:
                with node.store.unit_of_work() as uow:
                    lead = create_lead(uow, Campus(node.config.campus_id, node.config.campus_code),
                                       values["name"], values["phone"], values["channel"] or None)
            except Invalid as exc:
                errors[exc.field] = _("Not a valid mainland mobile or landline number")
            except DuplicatePhone as exc:
                errors["phone"] = _("Lead %(number)s already has this phone") % {"number": exc.facts["number"]}
            else:
                flash(request, _("Lead %(number)s created") % {"number": lead["number"]}, "success")
                return RedirectResponse("/", status_code=303)
    status = 422 if errors else 200
    return render(TEMPLATES, request, "lead_new.html",
                  {"app_title": node.config.campus_name, "values": values, "errors": errors}, status)
