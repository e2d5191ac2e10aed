"""Refund screens: the list with what waits on whom, a quote-and-request form on a contract, one
refund with its calculation and the step the signed-in user may take, the printable refund form
(退费单), and the refund report."""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from campus.node.finance.contracts import contract_view
from campus.node.finance.payments import FUND_ACCOUNTS
from campus.node.finance.screens import FUND_LABELS, form_fen
from campus.node.refunds import queries
from campus.node.refunds import use_cases as cases
from campus.node.screens import TEMPLATES
from campus.schema.errors import DomainError, Invalid
from campus.schema.quantities import LessonHours
from campus.web.auth import actor_of, check_csrf
from campus.web.i18n import gettext_ as _
from campus.web.paging import list_view
from campus.web.templating import flash, form_action, render
from campus.web.usecase import performs

STATUS_LABELS = {"requested": "Awaiting approval", "approved": "Approved, awaiting payout", "rejected": "Rejected",
                 "paid": "Paid"}
REASON_LABELS = {"school": "School's reason", "customer": "Customer's reason", "other": "Other reason"}
KIND_LABELS = {"full": "Full refund", "partial": "Partial refund"}
STAGE_LABELS = {"new": "New signing", "continuing": "Continuing (renewal)"}
LABELS = {"statuses": STATUS_LABELS, "reasons": REASON_LABELS, "kinds": KIND_LABELS, "stages": STAGE_LABELS,
          "funds": FUND_LABELS}


async def refunds_page(request: Request) -> Response:
    node = request.app.state.node
    view = list_view(request, queries.REFUND_SORTS, "requested", filters={"status": queries.STATUSES})
    status = view.filters.get("status")
    total, items = await node.query(queries.refund_page, node.ctx.id, view.limit, view.offset, status, view.sort,
                                    view.descending, view.q or None)
    overdue = await node.query(queries.overdue, node.ctx.id, node.ctx.today())
    return render(TEMPLATES, request, "refunds.html", {
        "items": items, "total": total, "view": view, "status": status, "overdue": overdue,
        "today": node.ctx.today().isoformat(), "labels": LABELS})


def _ask_from(form: Any, contract_id: str) -> cases.RefundAsk:
    line_ids = [str(x) for x in form.getlist("line_id")] if hasattr(form, "getlist") else []
    hours_text = str(form.get("hours", "") or "").strip()
    hours = None
    if hours_text:
        try:
            hours = LessonHours.parse(hours_text).x100
        except ValueError:
            raise Invalid("hours_x100", f"{hours_text!r} is not a number of hours") from None
    materials = form_fen(str(form.get("materials", "") or ""), "materials_fen")
    amount_text = str(form.get("amount", "") or "").strip()
    amount = form_fen(amount_text, "amount_fen") if amount_text else None
    return cases.RefundAsk(contract_id, line_ids or None, hours, materials, amount)


async def new_refund_page(request: Request) -> Response:
    """A contract's lines with the quote for what is ticked (GET: ?line_id=&hours=&materials=)."""
    node = request.app.state.node
    contract_id = request.path_params["contract_id"]
    contract = await node.query(contract_view, contract_id)
    quote, problem = None, None
    if request.query_params.get("quote"):
        try:
            ask = _ask_from(request.query_params, contract_id)
            quote = await node.query(cases.quote, node.ctx, ask)
        except DomainError as exc:
            problem = _(exc.detail)
    return render(TEMPLATES, request, "refund_new.html", {
        "contract": contract, "quote": quote, "problem": problem, "labels": LABELS,
        "ticked": request.query_params.getlist("line_id"), "params": request.query_params,
        "may_request": actor_of(request).can("refunds.request", node.ctx.id)})


@performs(cases.request_refund)
async def request_refund(request: Request) -> Response:
    node = request.app.state.node
    contract_id = request.path_params["contract_id"]
    form = await request.form()
    check_csrf(request, form)
    try:
        ask = _ask_from(form, contract_id)
        made = await node.perform(request, cases.request_refund, cases.RefundRequest(
            ask, str(form.get("reason_category", "")), str(form.get("reason", "")),
            str(form.get("notes", "")).strip() or None))
    except DomainError as exc:
        flash(request, _(exc.detail), "error")
        return RedirectResponse(f"/contracts/{contract_id}/refund", status_code=303)
    flash(request, _("Refund %(number)s requested") % {"number": made["number"]}, "success")
    return RedirectResponse(f"/refunds/{made['id']}", status_code=303)


async def refund_page(request: Request) -> Response:
    node = request.app.state.node
    refund = await node.query(queries.refund_view, request.path_params["refund_id"])
    template = "refund_print.html" if request.url.path.endswith("/print") else "refund_detail.html"
    return render(TEMPLATES, request, template, {
        "refund": refund, "labels": LABELS, "campus_name": node.ctx.name, "here": refund["campus_id"] == node.ctx.id,
        "fund_accounts": [(f, _(FUND_LABELS[f])) for f in FUND_ACCOUNTS],
        "may": {step: actor_of(request).can(f"refunds.{step}", node.ctx.id) for step in ("approve", "pay")}})


@performs(cases.approve_refund, cases.reject_refund, cases.pay_refund)
async def refund_step(request: Request) -> Response:
    node = request.app.state.node
    refund_id = request.path_params["refund_id"]
    step = request.url.path.rstrip("/").rsplit("/", 1)[-1]

    def run(form: FormData) -> str:
        actor = actor_of(request)
        if step == "approve":
            cases.approve_refund(node.store, node.ctx, actor, refund_id, str(form.get("note", "")).strip() or None)
            return _("Approved")
        if step == "reject":
            cases.reject_refund(node.store, node.ctx, actor, refund_id, str(form.get("reason", "")))
            return _("Rejected")
        if step == "pay":
            cases.pay_refund(node.store, node.ctx, actor, refund_id, str(form.get("fund_account", "")) or None)
            return _("Paid")
        raise Invalid("step", "approve, reject or pay")

    return await form_action(request, f"/refunds/{refund_id}", run)


async def refund_report_page(request: Request) -> Response:
    node = request.app.state.node
    month = node.ctx.today().isoformat()[:7]
    start = request.query_params.get("from") or month
    end = request.query_params.get("to") or start
    if not (re.match(r"^\d{4}-\d{2}$", start) and re.match(r"^\d{4}-\d{2}$", end)):
        start = end = month
    end = max(start, end)
    report = await node.query(queries.refund_report, node.ctx.id, start, end)
    return render(TEMPLATES, request, "refund_report.html", {"report": report, "labels": LABELS})
