"""CRM staff screens: pool tabs, lead detail with history and follow-ups, moves, import."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from campus.node.crm.lead_import import ImportFileInvalid, import_leads, read_lead_rows
from campus.node.crm.leads import Campus, add_follow_up, get_lead, list_leads, pool_counts
from campus.node.crm.moves import active_consultants, lead_history_of, move_lead
from campus.node.crm.pools import Move, Pool, allowed_moves
from campus.node.finance.payments import FUND_ACCOUNTS, take_deposit
from campus.node.finance_screens import FUND_LABELS, form_fen
from campus.node.screens import TEMPLATES
from campus.schema.accounts import record_audit
from campus.schema.errors import Invalid
from campus.schema.tables import lead_follow_ups, students, users
from campus.web.auth import check_csrf, client_ip
from campus.web.i18n import gettext_ as _
from campus.web.templating import form_action, render

POOL_LABELS = {Pool.LEAD: "Lead pool", Pool.PRIVATE: "Private pool", Pool.INVITED: "Invited pool",
               Pool.DEPOSIT: "Deposit pool", Pool.SIGNED: "Signed pool", Pool.RETURNED: "Returned pool",
               Pool.INVALID: "Invalid pool"}
MOVE_LABELS = {Move.CLAIM: "Claim", Move.ASSIGN: "Assign", Move.RELEASE: "Release", Move.INVITE: "Invite to trial",
               Move.DEPOSIT: "Deposit paid", Move.SIGN: "Signed", Move.RETURN: "Give up",
               Move.CONFIRM_INVALID: "Confirm invalid", Move.REVIVE: "Revive"}


def _names(request: Request) -> dict[str, str]:
    with request.app.state.node.store.read() as conn:
        return dict(conn.execute(select(users.c.id, users.c.display_name)).all())


async def lead_list(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal
    pool = request.query_params.get("pool", Pool.LEAD.value)
    if pool not in {p.value for p in Pool}:
        pool = Pool.LEAD.value
    search = request.query_params.get("q", "").strip()
    with node.store.read() as conn:
        counts = pool_counts(conn, node.config.campus_id, viewer)
        total, rows = list_leads(conn, node.config.campus_id, 200, 0, viewer, pool=pool, query=search or None)
    tabs = [{"pool": p.value, "label": _(POOL_LABELS[p]), "count": counts.get(p.value, 0)} for p in Pool]
    return render(TEMPLATES, request, "leads.html", {"app_title": node.config.campus_name, "tabs": tabs,
                                                    "pool": pool, "leads": rows, "total": total, "q": search,
                                                    "names": _names(request)})


async def lead_detail(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal
    lead_id = request.path_params["lead_id"]
    with node.store.read() as conn:
        lead = get_lead(conn, lead_id, viewer, node.config.campus_id)
        history = lead_history_of(conn, lead_id)
        follow_ups = [dict(r) for r in conn.execute(select(lead_follow_ups).where(
            lead_follow_ups.c.lead_id == lead_id).order_by(lead_follow_ups.c.at.desc())).mappings()]
    # A deposit and a signing move the lead as a side effect of taking the money or admitting the
    # student; the screen offers those instead of bare moves.
    allowed = allowed_moves(Pool(lead["pool"]))
    moves = [{"move": m.value, "label": _(MOVE_LABELS[m]), "needs_reason": m in (Move.RETURN, Move.CONFIRM_INVALID)}
             for m in allowed if m not in (Move.DEPOSIT, Move.SIGN)]
    campus_id = node.config.campus_id
    with node.store.read() as conn:
        student_id = conn.execute(select(students.c.id).where(students.c.lead_id == lead_id)).scalar()
        consultants = active_consultants(conn, campus_id) if Move.ASSIGN in allowed else []
    return render(TEMPLATES, request, "lead_detail.html", {
        "app_title": node.config.campus_name, "lead": lead, "history": history, "follow_ups": follow_ups,
        "moves": moves, "pool_label": _(POOL_LABELS[Pool(lead["pool"])]), "names": _names(request),
        "consultants": consultants,
        "may_deposit": Move.DEPOSIT in allowed and viewer.can("payments.take", campus_id),
        "may_admit": student_id is None and viewer.can("students.write", campus_id)
        and lead["pool"] not in (Pool.INVALID, Pool.RETURNED), "student_id": student_id,
        "fund_accounts": [(f, _(FUND_LABELS[f])) for f in FUND_ACCOUNTS]})


async def lead_deposit(request: Request) -> Response:
    """Take a deposit from a lead: the money is recorded with a receipt, the lead moves to the deposit pool."""
    node, viewer = request.app.state.node, request.state.principal
    lead_id = request.path_params["lead_id"]

    def take(form: FormData) -> str:
        with node.store.unit_of_work() as uow:
            get_lead(uow.conn, lead_id, viewer, node.config.campus_id)
            payment = take_deposit(uow, Campus(node.config.campus_id, node.config.campus_code),
                                   form_fen(str(form.get("amount", "")), "amount"), str(form.get("fund_account", "")),
                                   lead_id=lead_id, by_user_id=viewer.user_id, crm=node.crm_settings)
        return _("Deposit received: receipt %(number)s") % {"number": payment["receipt_number"]}

    return await form_action(request, f"/leads/{lead_id}", take)


async def lead_move(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal
    lead_id = request.path_params["lead_id"]

    def move(form: FormData) -> str:
        try:
            chosen = Move(str(form.get("move", "")))
        except ValueError:
            raise Invalid("move", _("Unknown action")) from None
        with node.store.unit_of_work() as uow:
            move_lead(uow, lead_id, chosen, viewer, node.config.campus_id, datetime.now(UTC), node.crm_settings,
                      reason=str(form.get("reason", "")).strip() or None,
                      consultant_id=str(form.get("consultant_id", "")) or None)  # none: round-robin
        return _("Done: %(move)s") % {"move": _(MOVE_LABELS[chosen])}

    return await form_action(request, f"/leads/{lead_id}", move)


async def lead_follow_up(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal
    lead_id = request.path_params["lead_id"]

    def record(form: FormData) -> str:
        content = str(form.get("content", "")).strip()
        if not content:
            raise Invalid("content", _("Write what was said"))
        with node.store.unit_of_work() as uow:
            get_lead(uow.conn, lead_id, viewer, node.config.campus_id)
            add_follow_up(uow, lead_id, str(form.get("channel", "call")), content,
                          str(form.get("next_follow_up_on", "")).strip() or None)
        return _("Follow-up saved")

    return await form_action(request, f"/leads/{lead_id}", record)


async def lead_import(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal
    report, error = None, None
    if request.method == "POST":
        form = await request.form(max_files=1)
        check_csrf(request, form)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            error = _("Choose a .csv or .xlsx file")
        else:
            campus = Campus(node.config.campus_id, node.config.campus_code)
            try:
                report = await run_in_threadpool(lambda: import_leads(
                    node.store, campus, read_lead_rows(upload.file, upload.filename), upload.filename))
            except (ImportFileInvalid, Invalid) as exc:
                error = exc.detail
            else:
                with node.store.unit_of_work() as uow:
                    record_audit(uow, "leads_imported", campus_id=campus.id, client_ip=client_ip(request),
                                 user_id=viewer.user_id, username=viewer.username,
                                 after={"file": upload.filename, **report.counts()})
    return render(TEMPLATES, request, "lead_import.html",
                  {"app_title": node.config.campus_name, "report": report, "error": error},
                  422 if error else 200)
