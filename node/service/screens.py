"""Staff screens of the service desk: the tickets list with what is overdue, a new ticket, one
ticket with its thread, the reply and note forms and the moves its status allows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from campus.node.screens import TEMPLATES
from campus.node.service import ticket_cases as cases
from campus.node.service import ticket_queries as queries
from campus.node.service.labels import translated
from campus.node.service.tickets import NEXT, Category, Status
from campus.schema.errors import DomainError
from campus.schema.tables import role_grants, users
from campus.web.auth import actor_of, check_csrf, guard
from campus.web.i18n import gettext_ as _
from campus.web.templating import flash, form_action, render
from campus.web.usecase import performs

FILTERS = ("unresolved", "overdue", "mine", "all")


def staff_of(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    """Active users with a role at the campus (or every campus): who a ticket can be given to."""
    return [dict(r) for r in conn.execute(
        select(users.c.id, users.c.display_name).distinct().join(role_grants, role_grants.c.user_id == users.c.id)
        .where(users.c.active.is_(True), users.c.deleted.is_(False), role_grants.c.deleted.is_(False),
               (role_grants.c.campus_id == campus_id) | role_grants.c.campus_id.is_(None))
        .order_by(users.c.display_name)).mappings()]


async def tickets_page(request: Request) -> Response:
    node, principal = request.app.state.node, request.state.principal
    shown = request.query_params.get("show", "unresolved")
    shown = shown if shown in FILTERS else "unresolved"
    category = request.query_params.get("category") or None
    category = category if category in {c.value for c in Category} else None
    found = await node.query(queries.ticket_list, node.ctx, unresolved=shown == "unresolved",
                             overdue=shown == "overdue", assignee_id=principal.user_id if shown == "mine" else None,
                             category=category, limit=200)
    counts = await node.query(queries.open_count, node.ctx)
    return render(TEMPLATES, request, "tickets.html", {
        "tickets": found["items"], "total": found["total"], "shown": shown, "category": category,
        "counts": counts, "L": translated(), "may_write": actor_of(request).can("tickets.write", node.ctx.id)})


def _new_ticket(form: Any) -> cases.NewTicket:
    def text(name: str) -> str | None:
        return str(form.get(name, "") or "").strip() or None

    return cases.NewTicket(text("category") or "", text("subject") or "", text("body") or "",
                           text("priority") or "normal", text("student_id"), text("lead_id"),
                           text("source") or "staff", text("assignee_id"))


@performs(cases.open_ticket)
async def new_ticket_page(request: Request) -> Response:
    node = request.app.state.node
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        try:
            made = await node.perform(request, cases.open_ticket, _new_ticket(form))
        except DomainError as exc:
            flash(request, _(exc.detail), "error")
            return RedirectResponse("/tickets/new", status_code=303)
        flash(request, _("Ticket %(number)s opened") % {"number": made["number"]}, "success")
        return RedirectResponse(f"/tickets/{made['id']}", status_code=303)
    return render(TEMPLATES, request, "ticket_new.html", {
        "L": translated(), "staff": await node.query(staff_of, node.ctx.id),
        "student_id": request.query_params.get("student_id", ""), "lead_id": request.query_params.get("lead_id", "")})


async def ticket_page(request: Request) -> Response:
    node = request.app.state.node
    ticket = await node.query(queries.ticket_view, node.ctx, request.path_params["ticket_id"])
    related: list[dict[str, Any]] = []
    return render(TEMPLATES, request, "ticket_detail.html", {
        "ticket": ticket, "L": translated(), "moves": sorted(NEXT[Status(ticket["status"])]),
        "staff": await node.query(staff_of, node.ctx.id), "related": related,
        "may_write": ticket["here"] and actor_of(request).can("tickets.write", node.ctx.id)})


@performs(cases.reply_to_ticket, cases.move_ticket, cases.assign_ticket)
async def ticket_step(request: Request) -> Response:
    node = request.app.state.node
    ticket_id = request.path_params["ticket_id"]
    step = request.url.path.rstrip("/").rsplit("/", 1)[-1]

    def run(form: FormData) -> str:
        actor = actor_of(request)
        if step == "replies":
            internal = str(form.get("internal", "")) == "1"
            cases.reply_to_ticket(node.store, node.ctx, actor, ticket_id, str(form.get("body", "")), internal)
            return _("Note added") if internal else _("Reply sent")
        if step == "status":
            cases.move_ticket(node.store, node.ctx, actor, ticket_id, str(form.get("status", "")))
            return _("Saved.")
        cases.assign_ticket(node.store, node.ctx, actor, ticket_id, str(form.get("assignee_id", "")) or None)
        return _("Saved.")

    return await form_action(request, f"/tickets/{ticket_id}", run)


def routes() -> list[Route]:
    return [
        Route("/tickets", guard("tickets.read", tickets_page, screen=True)),
        Route("/tickets/new", guard("tickets.write", new_ticket_page, screen=True), methods=["GET", "POST"]),
        Route("/tickets/{ticket_id}", guard("tickets.read", ticket_page, screen=True)),
        *(Route(f"/tickets/{{ticket_id}}/{step}", guard("tickets.write", ticket_step, screen=True), methods=["POST"])
          for step in ("replies", "status", "assignee")),
    ]
