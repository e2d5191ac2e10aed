"""The workbench home (首页工作台): what waits on the signed-in user today, by the roles they hold
here; the sync page (the node's change log, outbox and rejections) for managers; the reminders
list; and the conflicts a merge found, kept and lost value side by side, with a resolve action."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, func, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.node.api.conflicts import ResolutionIn, resolve_conflict
from campus.node.refunds.queries import refund_reminders
from campus.node.risk.queries import risk_reminders
from campus.node.screens import TEMPLATES
from campus.node.service.ticket_queries import ticket_list
from campus.node.teaching.alerts import teaching_reminders
from campus.node.workbench import queries as q
from campus.node.workbench.labels import labels
from campus.node.workbench.reminders import KINDS, dismissed, mark_reminder_done, reminder_key, reminders_of
from campus.schema.conflicts import CONFLICT_SORTS, conflict_page, list_conflicts
from campus.schema.errors import Invalid
from campus.schema.permissions import MANAGERS, Role
from campus.schema.tables import conflicts, sync_rejections
from campus.web.api import Api, Input, json_response, parse_body
from campus.web.auth import actor_of, guard
from campus.web.forms import form_model
from campus.web.i18n import gettext_ as _
from campus.web.paging import list_view
from campus.web.templating import form_action, render
from campus.web.usecase import performs

SECTIONS = ("manager", "consultant", "advisor", "teacher", "front_desk", "finance", "marketing")


def sections_for(roles: frozenset[Role]) -> list[str]:
    """Which parts of the workbench a user sees: one per role they hold at this campus."""
    wanted = {"manager": bool(roles & MANAGERS), "consultant": Role.CONSULTANT in roles,
              "advisor": Role.ACADEMIC_ADVISOR in roles, "teacher": Role.TEACHER in roles,
              "front_desk": Role.FRONT_DESK in roles, "finance": Role.FINANCE in roles,
              "marketing": Role.MARKETING in roles}
    return [name for name in SECTIONS if wanted[name]]


def _undone(items: list[dict[str, Any]], done: set[str]) -> list[dict[str, Any]]:
    return [item for item in items if reminder_key(item) not in done]


async def workbench(request: Request) -> Response:
    node, principal = request.app.state.node, request.state.principal
    ctx = node.ctx
    today, user_id = ctx.today(), principal.user_id
    sections = sections_for(principal.roles_at(ctx.id))

    def read(conn: Connection) -> dict[str, Any]:
        done = dismissed(conn, user_id)
        board: dict[str, Any] = {"names": q.names_of(conn)}
        if "manager" in sections:
            board["figures"] = q.day_figures(conn, ctx, today)
            board["expenses"] = q.expenses_to_approve(conn, ctx.id)
            board["payroll"] = q.payroll_to_approve(conn, ctx.id)
            board["open_conflicts"] = conn.execute(select(func.count()).where(
                conflicts.c.resolved_at.is_(None), conflicts.c.deleted.is_(False),
                (conflicts.c.campus_id == ctx.id) | conflicts.c.campus_id.is_(None))).scalar_one()
        if "consultant" in sections:
            work = q.consultant_work(conn, ctx, user_id)
            for key in ("due_today", "overdue", "returning"):
                work[key] = _undone(work[key], done)
            board["consultant"] = work
        if "advisor" in sections:
            followed = q.followed_students(conn, ctx.id, user_id)
            absences = _undone(teaching_reminders(conn, user_id, ctx.id, ctx.now(), ctx.teaching), done)
            names = q.student_names(conn, [a["student_id"] for a in absences])
            board["advisor"] = {"scope_all": followed is None,
                                "low_hours": q.low_hours(conn, ctx.id, followed),
                                "expiring": q.expiring_contracts(conn, ctx.id, today, followed),
                                "absences": [{**a, "name": names.get(a["student_id"], "")} for a in absences]}
        if "teacher" in sections:
            board["teacher"] = q.lessons_with_state(conn, ctx, today, today, teacher_id=user_id)
        if "front_desk" in sections:
            board["front_desk"] = {"check_ins": q.check_ins(conn, ctx, today), "arrears": q.arrears(conn, ctx.id),
                                   "receipts": q.receipts_today(conn, ctx, today)}
        if "marketing" in sections:
            board["marketing"] = q.new_leads_by_channel(conn, ctx, today - timedelta(days=6), today)
        if principal.can("tickets.read", ctx.id):  # the desk sees every unresolved ticket, others their own
            board["tickets"] = ticket_list(conn, ctx, unresolved=True, limit=10, assignee_id=None if principal.can(
                "tickets.manage", ctx.id) else user_id)
        board["at_risk"] = _undone(risk_reminders(conn, user_id, ctx.id), done)
        board["refunds_waiting"] = _undone(refund_reminders(
            conn, ctx.id, today, may_approve=principal.can("refunds.approve", ctx.id),
            may_pay=principal.can("refunds.pay", ctx.id)), done)
        return board

    board = await node.query(read)
    return render(TEMPLATES, request, "workbench.html", {
        "app_title": node.config.campus_name, "config": node.config, "today": today.isoformat(),
        "sections": sections, "board": board, "L": labels(), "low_hours_x100": q.LOW_HOURS_X100,
        "may": {action: principal.can(action, ctx.id) for action in (
            "expenses.approve", "payroll.approve", "refunds.approve", "conflicts.read", "leads.read",
            "students.read", "contracts.read", "teaching.manage", "payments.take", "audit.read")}})


def _rejections(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(sync_rejections).where(sync_rejections.c.campus_id == campus_id)
                                          .order_by(sync_rejections.c.created_at.desc()).limit(200)).mappings()]


async def sync_page(request: Request) -> Response:
    """The node's technical state, for managers: the change log's head, what is not yet sent,
    the last sync and its error, and the changes headquarters refused, with why."""
    node = request.app.state.node
    state = await node.blocking(node.sync_state)
    rejections = await node.query(_rejections, node.config.campus_id)
    open_conflicts = len(await node.query(list_conflicts, node.config.campus_id))
    return render(TEMPLATES, request, "sync.html", {
        "app_title": node.config.campus_name, "config": node.config, "sync": state, "rejections": rejections,
        "open_conflicts": open_conflicts, "L": labels()})


async def reminders_page(request: Request) -> Response:
    """The user's reminders, filtered by kind and by open or done, each linking to its record."""
    node, principal = request.app.state.node, request.state.principal
    view = list_view(request, ("on", "kind"), "on", default_descending=False,
                     filters={"kind": KINDS, "state": ("open", "done", "all")})
    if "state" not in view.filters:
        view = replace(view, filters={**view.filters, "state": "open"})
    kind, state = view.filters.get("kind", ""), view.filters["state"]
    # Reminders are derived from many records when asked for, so they are paged here, not in SQL.
    found = await node.query(reminders_of, node.ctx, principal)
    counts = {k: sum(1 for r in found if r["kind"] == k and not r["done"]) for k in KINDS}
    shown = [r for r in found if (not kind or r["kind"] == kind)
             and (state == "all" or r["done"] == (state == "done"))]
    shown.sort(key=lambda r: (r["kind"], r["on"]) if view.sort == "kind" else (r["on"], r["kind"]),
               reverse=view.descending)
    return render(TEMPLATES, request, "reminders.html", {
        "app_title": node.config.campus_name, "reminders": shown[view.offset:view.offset + view.limit],
        "total": len(shown), "view": view, "kind": kind, "state": state,
        "kinds": [(k, _(label), counts[k]) for k, label in KINDS.items()], "today": node.ctx.today().isoformat(),
        "L": labels()})


class ReminderDoneIn(Input):
    key: str


@performs(mark_reminder_done)
async def reminder_done(request: Request) -> Response:
    node = request.app.state.node

    def done(form: FormData) -> str:
        key = str(form.get("key", "")).strip()
        mark_reminder_done(node.store, node.ctx, actor_of(request), key)
        return _("Reminder marked done")

    back = request.query_params.get("back", "/reminders")  # the workbench ticks its items too
    return await form_action(request, back if back in ("/", "/reminders") else "/reminders", done)


def _pretty(value: str | None) -> str:
    if value is None:
        return "—"
    try:
        return json.dumps(json.loads(value), ensure_ascii=False, indent=2)
    except ValueError:
        return value


RECORD_PAGES = {"leads": "/leads/", "students": "/students/", "contracts": "/contracts/", "lessons": "/lessons/",
                "refunds": "/refunds/"}


async def conflicts_page(request: Request) -> Response:
    """Conflicts a merge found: each with the value kept and the value lost side by side."""
    node, principal = request.app.state.node, request.state.principal
    view = list_view(request, CONFLICT_SORTS, "detected", filters={"all": ("1",), "kind": labels()["conflict_kinds"]})
    show_all = view.filters.get("all") == "1"
    total, rows = await node.query(conflict_page, node.config.campus_id, view.limit, view.offset, not show_all,
                                   view.filters.get("kind"), view.sort, view.descending)
    names = await node.query(q.names_of)
    shown = [{**r, "kept": _pretty(r["kept_value"]), "lost": _pretty(r["lost_value"]),
              "record_link": (RECORD_PAGES[r["table_name"]] + r["row_id"]) if r["table_name"] in RECORD_PAGES
              else None, "resolver": names.get(r["resolved_by"] or "", ""),
              "restorable": r["kind"] == "concurrent_edit" and bool(r["field"])}
             for r in rows]
    return render(TEMPLATES, request, "conflicts.html", {
        "app_title": node.config.campus_name, "conflicts": shown, "show_all": show_all, "L": labels(),
        "total": total, "view": view,
        "may_resolve": principal.can("conflicts.resolve", node.config.campus_id)})


@performs(resolve_conflict)
async def conflict_resolve(request: Request) -> Response:
    node = request.app.state.node
    conflict_id = request.path_params["conflict_id"]

    def resolve(form: FormData) -> str:
        if not str(form.get("resolution", "")).strip():
            raise Invalid("resolution", _("Say how the conflict was settled"))
        given = form_model(form, ResolutionIn)
        resolve_conflict(node.store, node.ctx, actor_of(request), conflict_id, given.resolution,
                         bool(form.get("restore_lost_value")))
        return _("Conflict resolved")

    return await form_action(request, "/conflicts", resolve)


def register(api: Api) -> None:
    @api.route("/reminders/done", "POST", "Mark one of the signed-in user's reminders done: its key "
               "is kind:subject:on, the subject its lead_id, refund_id or student_id", "home.view", body=ReminderDoneIn, tags=["leads"])
    @performs(mark_reminder_done)
    async def done(request: Request) -> Response:
        given = await parse_body(request, ReminderDoneIn)
        return json_response(await request.app.state.node.perform(request, mark_reminder_done, given.key), 201)


def routes() -> list[Route]:
    def screen(path: str, action: str, endpoint: Any, methods: tuple[str, ...] = ("GET",)) -> Route:
        return Route(path, guard(action, endpoint, screen=True), methods=list(methods))

    return [
        screen("/", "home.view", workbench),
        screen("/sync", "audit.read", sync_page),
        screen("/reminders", "home.view", reminders_page),
        screen("/reminders/done", "home.view", reminder_done, ("POST",)),
        screen("/conflicts", "conflicts.read", conflicts_page),
        screen("/conflicts/{conflict_id}/resolve", "conflicts.resolve", conflict_resolve, ("POST",)),
    ]
