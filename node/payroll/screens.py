"""Payroll screens (工资): runs and their payslips for finance and managers, each employee's own
payslips (printable), staff records, and the Excel export of a run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from campus.node.finance.payments import FUND_ACCOUNTS
from campus.node.finance.screens import FUND_LABELS
from campus.node.payroll import queries
from campus.node.payroll import use_cases as cases
from campus.node.payroll.api import AdjustmentIn, RunIn, StaffIn
from campus.node.payroll.export import export_response
from campus.node.payroll.labels import translated
from campus.node.screens import TEMPLATES
from campus.schema.errors import DomainError, Invalid
from campus.schema.tables import users
from campus.web.auth import actor_of, check_csrf, guard
from campus.web.forms import form_model
from campus.web.i18n import gettext_ as _
from campus.web.payroll.plans import POSITIONS
from campus.web.templating import flash, form_action, render
from campus.web.usecase import UseCase, performs


async def payroll_page(request: Request) -> Response:
    """Finance and managers: the runs and a form to draft a month; everyone: their own payslips."""
    node = request.app.state.node
    ctx, viewer = node.ctx, request.state.principal
    may_read = viewer.can("payroll.read", ctx.id)
    return render(TEMPLATES, request, "payroll.html", {
        "app_title": node.config.campus_name, **translated(),
        "runs": await node.query(queries.run_list, ctx.id) if may_read else [],
        "mine": await node.query(queries.payslips_of, ctx.id, viewer.user_id),
        "may_read": may_read, "may_manage": viewer.can("payroll.manage", ctx.id),
        "this_month": ctx.today().isoformat()[:7]})


async def run_page(request: Request) -> Response:
    node = request.app.state.node
    ctx, viewer = node.ctx, request.state.principal
    run = await node.query(queries.run_view, ctx.id, request.path_params["run_id"])
    return render(TEMPLATES, request, "payroll_run.html", {
        "app_title": node.config.campus_name, "run": run, **translated(),
        "may_manage": viewer.can("payroll.manage", ctx.id), "may_approve": viewer.can("payroll.approve", ctx.id),
        "fund_accounts": [(f, _(FUND_LABELS[f])) for f in FUND_ACCOUNTS]})


async def payslip_page(request: Request) -> Response:
    """One payslip, printable: every line with the fact it came from."""
    node = request.app.state.node
    slip = await node.query(queries.payslip_for, node.ctx, actor_of(request), request.path_params["payslip_id"])
    return render(TEMPLATES, request, "payroll_payslip.html", {
        "app_title": node.config.campus_name, "campus_name": node.config.campus_name, "slip": slip, **translated()})


def _users(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(users.c.id, users.c.username, users.c.display_name).where(
        users.c.deleted.is_(False)).order_by(users.c.username)).mappings()]


async def staff_page(request: Request) -> Response:
    node = request.app.state.node
    ctx, viewer = node.ctx, request.state.principal
    return render(TEMPLATES, request, "payroll_staff.html", {
        "app_title": node.config.campus_name, **translated(), "positions_order": POSITIONS,
        "staff": await node.query(queries.staff_list, ctx, actor_of(request), ctx.today()),
        "users": await node.query(_users), "may_edit": viewer.can("payroll.staff", ctx.id),
        "today": ctx.today().isoformat()})


async def export_run(request: Request) -> Response:
    return await export_response(request)


@performs(cases.draft_run)
async def draft_run(request: Request) -> Response:
    """The draft form: compute the month, then show its run (or the refusal on the runs page)."""
    node = request.app.state.node
    form = await request.form()
    check_csrf(request, form)
    try:
        made = await node.perform(request, cases.draft_run, form_model(form, RunIn).period)
    except DomainError as exc:
        flash(request, _(exc.detail), "error")
        return RedirectResponse("/payroll", status_code=303)
    flash(request, _("Payroll of %(period)s computed") % {"period": made["period"]}, "success")
    return RedirectResponse(f"/payroll/runs/{made['id']}", status_code=303)


def _run_back(request: Request) -> str:
    return f"/payroll/runs/{request.path_params['run_id']}"


@performs(cases.adjust_pay)
async def adjust_pay(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        given = form_model(form, AdjustmentIn)
        cases.adjust_pay(node.store, node.ctx, actor_of(request), request.path_params["run_id"], given.user_id,
                         given.amount_fen, given.reason)
        return _("Adjustment recorded")

    return await form_action(request, _run_back(request), run)


def _step(case: UseCase[..., Any], done: str, *fields: str) -> Any:
    """The screen's button for one step of a run (its form's ``fields`` are required)."""
    @performs(case)
    async def endpoint(request: Request) -> Response:
        node = request.app.state.node

        def run(form: FormData) -> str:
            values = [str(form.get(name, "")).strip() for name in fields]
            for name, value in zip(fields, values, strict=True):
                if not value:
                    raise Invalid(name, _("Fill in %(field)s") % {"field": name})
            case(node.store, node.ctx, actor_of(request), request.path_params["run_id"], *values)
            return _(done)

        return await form_action(request, _run_back(request), run)

    endpoint.__name__ = f"run_{case.name.rsplit('.', 1)[-1]}"
    return endpoint


recompute_run = _step(cases.recompute_run, "Recomputed")
submit_run = _step(cases.submit_run, "Sent for review")
return_run = _step(cases.return_run, "Returned to draft", "reason")
approve_run = _step(cases.approve_run, "Approved")
pay_run = _step(cases.pay_run, "Recorded as paid", "fund_account")


@performs(cases.add_staff)
async def add_staff(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        given = form_model(form, StaffIn)
        cases.add_staff(node.store, node.ctx, actor_of(request), cases.StaffRecord(**given.model_dump()))
        return _("Staff record saved")

    return await form_action(request, "/payroll/staff", run)


def routes() -> list[Route]:
    """The payroll screens, each behind its action (node/app.py mounts them)."""
    def screen(path: str, action: str, endpoint: Any, methods: tuple[str, ...] = ("GET",)) -> Route:
        return Route(path, guard(action, endpoint, screen=True), methods=list(methods))

    return [
        screen("/payroll", "payroll.read_own", payroll_page),
        screen("/payroll/runs", "payroll.manage", draft_run, ("POST",)),
        screen("/payroll/runs/{run_id}", "payroll.read", run_page),
        screen("/payroll/runs/{run_id}/export.xlsx", "payroll.read", export_run),
        screen("/payroll/runs/{run_id}/adjustments", "payroll.manage", adjust_pay, ("POST",)),
        screen("/payroll/runs/{run_id}/recompute", "payroll.manage", recompute_run, ("POST",)),
        screen("/payroll/runs/{run_id}/submit", "payroll.manage", submit_run, ("POST",)),
        screen("/payroll/runs/{run_id}/return", "payroll.approve", return_run, ("POST",)),
        screen("/payroll/runs/{run_id}/approve", "payroll.approve", approve_run, ("POST",)),
        screen("/payroll/runs/{run_id}/pay", "payroll.manage", pay_run, ("POST",)),
        screen("/payroll/payslips/{payslip_id}", "payroll.read_own", payslip_page),
        screen("/payroll/staff", "payroll.read", staff_page),
        screen("/payroll/staff/new", "payroll.staff", add_staff, ("POST",)),
    ]
