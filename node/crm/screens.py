"""CRM staff screens: pool tabs, lead detail with history and follow-ups, moves (imports: campus.node.imports)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from campus.node.crm import use_cases as cases
from campus.node.crm.api import FollowUpIn, LeadIn, MoveIn
from campus.node.crm.campaigns import campaign_choices
from campus.node.crm.leads import (
    CHANNEL_LABELS,
    FOLLOW_UP_LABELS,
    LEAD_SORTS,
    DuplicatePhone,
    get_lead,
    list_leads,
    pool_counts,
)
from campus.node.crm.moves import active_consultants, lead_history_of
from campus.node.crm.pools import Move, Pool, allowed_moves
from campus.node.finance import use_cases as money
from campus.node.finance.payments import FUND_ACCOUNTS
from campus.node.finance.screens import FUND_LABELS, deposit_form
from campus.node.privacy import audit_lead_view
from campus.node.screens import TEMPLATES
from campus.schema.errors import Invalid
from campus.schema.tables import lead_follow_ups, students, users
from campus.web.auth import actor_of, check_csrf
from campus.web.forms import form_model
from campus.web.i18n import gettext_ as _
from campus.web.paging import list_view
from campus.web.templating import flash, form_action, render
from campus.web.usecase import performs

POOL_LABELS = {Pool.LEAD: "Lead pool", Pool.PRIVATE: "Private pool", Pool.INVITED: "Invited pool",
               Pool.DEPOSIT: "Deposit pool", Pool.SIGNED: "Signed pool", Pool.RETURNED: "Returned pool",
               Pool.INVALID: "Invalid pool"}
MOVE_LABELS = {Move.CLAIM: "Claim", Move.ASSIGN: "Assign", Move.RELEASE: "Release", Move.INVITE: "Invite to trial",
               Move.DEPOSIT: "Deposit paid", Move.SIGN: "Signed", Move.RETURN: "Give up",
               Move.CONFIRM_INVALID: "Confirm invalid", Move.REVIVE: "Revive"}


def _labels() -> dict[str, Any]:
    """Codes stored in leads, as the screen shows them in its language."""
    return {"channel_labels": {c.value: _(label) for c, label in CHANNEL_LABELS.items()},
            "follow_up_labels": {c.value: _(label) for c, label in FOLLOW_UP_LABELS.items()},
            "pool_labels": {p.value: _(label) for p, label in POOL_LABELS.items()},
            "move_labels": {**{m.value: _(label) for m, label in MOVE_LABELS.items()},
                            Move.AUTO_RETURN.value: _("Returned automatically"),
                            "import_merge": _("Merged from an import")}}


def _names(conn: Connection) -> dict[str, str]:
    return dict(conn.execute(select(users.c.id, users.c.display_name)).all())


async def lead_list(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal
    view = list_view(request, LEAD_SORTS, "created",
                     filters={"pool": [p.value for p in Pool], "channel": [c.value for c in CHANNEL_LABELS],
                              "consultant": None})
    if "pool" not in view.filters:
        view = replace(view, filters={"pool": Pool.LEAD.value, **view.filters})
    pool = view.filters["pool"]

    def read(conn: Connection) -> tuple[Any, ...]:
        return (pool_counts(conn, node.config.campus_id, viewer),
                *list_leads(conn, node.config.campus_id, view.limit, view.offset, viewer, pool=pool,
                            query=view.q or None, sort=view.sort, descending=view.descending,
                            channel=view.filters.get("channel"), consultant_id=view.filters.get("consultant")),
                _names(conn), active_consultants(conn, node.config.campus_id))

    counts, total, rows, names, consultants = await node.query(read)
    tabs = [{"pool": p.value, "label": _(POOL_LABELS[p]), "count": counts.get(p.value, 0),
             "url": view.url(pool=p.value)} for p in Pool]
    labels = _labels()
    return render(TEMPLATES, request, "leads.html", {
        "app_title": node.config.campus_name, "tabs": tabs, "pool": pool, "leads": rows, "total": total,
        "q": view.q, "view": view, "names": names,
        "channel_choices": sorted(labels["channel_labels"].items(), key=lambda item: item[1]),
        "consultant_choices": [(c, names.get(c, c)) for c in consultants], **labels})


async def lead_detail(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal
    lead_id = request.path_params["lead_id"]
    campus_id = node.config.campus_id

    def read(conn: Connection) -> tuple[Any, ...]:
        lead = get_lead(conn, lead_id, viewer, campus_id)
        follow_ups = [dict(r) for r in conn.execute(select(lead_follow_ups).where(
            lead_follow_ups.c.lead_id == lead_id).order_by(lead_follow_ups.c.at.desc())).mappings()]
        student_id = conn.execute(select(students.c.id).where(students.c.lead_id == lead_id)).scalar()
        consultants = active_consultants(conn, campus_id)
        return (lead, lead_history_of(conn, lead_id), follow_ups, student_id, consultants, _names(conn),
                campaign_choices(conn, campus_id))

    lead, history, follow_ups, student_id, consultants, names, campaigns = await node.query(read)
    await audit_lead_view(request, lead)
    # A deposit and a signing move the lead as a side effect of taking the money or admitting the
    # student; the screen offers those instead of bare moves.
    allowed = allowed_moves(Pool(lead["pool"]))
    moves = [{"move": m.value, "label": _(MOVE_LABELS[m]), "needs_reason": m in (Move.RETURN, Move.CONFIRM_INVALID)}
             for m in allowed if m not in (Move.DEPOSIT, Move.SIGN)]
    consultants = consultants if Move.ASSIGN in allowed else []
    return render(TEMPLATES, request, "lead_detail.html", {
        "app_title": node.config.campus_name, "lead": lead, "history": history, "follow_ups": follow_ups,
        "moves": moves, "pool_label": _(POOL_LABELS[Pool(lead["pool"])]), "names": names,
        "consultants": consultants,
        "may_deposit": Move.DEPOSIT in allowed and viewer.can("payments.take", campus_id),
        "may_admit": student_id is None and viewer.can("students.write", campus_id)
        and lead["pool"] not in (Pool.INVALID, Pool.RETURNED), "student_id": student_id,
        "fund_accounts": [(f, _(FUND_LABELS[f])) for f in FUND_ACCOUNTS], "campaigns": campaigns,
        "may_edit": viewer.can("leads.write", campus_id), **_labels()})


@performs(money.take_deposit)
async def lead_deposit(request: Request) -> Response:
    """Take a deposit from a lead: the money is recorded with a receipt, the lead moves to the deposit pool."""
    lead_id = request.path_params["lead_id"]
    return await deposit_form(request, f"/leads/{lead_id}", lead_id=lead_id)


@performs(cases.move_lead)
async def lead_move(request: Request) -> Response:
    node = request.app.state.node
    lead_id = request.path_params["lead_id"]

    def move(form: FormData) -> str:
        try:
            chosen = Move(str(form.get("move", "")))
        except ValueError:
            raise Invalid("move", _("Unknown action")) from None
        given = form_model(form, MoveIn)  # no consultant_id: round-robin
        cases.move_lead(node.store, node.ctx, actor_of(request), lead_id, chosen, reason=given.reason,
                        consultant_id=given.consultant_id)
        return _("Done: %(move)s") % {"move": _(MOVE_LABELS[chosen])}

    return await form_action(request, f"/leads/{lead_id}", move)


@performs(cases.add_follow_up)
async def lead_follow_up(request: Request) -> Response:
    node = request.app.state.node
    lead_id = request.path_params["lead_id"]

    def record(form: FormData) -> str:
        if not str(form.get("content", "")).strip():
            raise Invalid("content", _("Write what was said"))
        cases.add_follow_up(node.store, node.ctx, actor_of(request), lead_id,
                            **form_model(form, FollowUpIn).model_dump())
        return _("Follow-up saved")

    return await form_action(request, f"/leads/{lead_id}", record)


@performs(cases.create_lead)
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
                given = form_model(form, LeadIn)
                lead = await node.perform(request, cases.create_lead, **given.model_dump())
            except Invalid as exc:
                errors[exc.field] = (_("Not a valid mainland mobile or landline number") if exc.field == "phone"
                                     else exc.detail)
            except DuplicatePhone as exc:
                errors["phone"] = _("Lead %(number)s already has this phone") % {"number": exc.facts["number"]}
            else:
                flash(request, _("Lead %(number)s created") % {"number": lead["number"]}, "success")
                return RedirectResponse("/", status_code=303)
    status = 422 if errors else 200
    return render(TEMPLATES, request, "lead_new.html",
                  {"app_title": node.config.campus_name, "values": values, "errors": errors}, status)
