"""Staff screens of the service desk: the tickets list with what is overdue, a new ticket, one
ticket with its thread, the reply and note forms and the moves its status allows."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from campus.node.screens import TEMPLATES
from campus.node.service import survey_cases, survey_queries
from campus.node.service import ticket_cases as cases
from campus.node.service import ticket_queries as queries
from campus.node.service.labels import translated
from campus.node.service.surveys import stored_target, target_of
from campus.node.service.tickets import NEXT, Category, Status
from campus.schema.errors import DomainError
from campus.schema.tables import classes, role_grants, students, users
from campus.web.auth import actor_of, check_csrf, guard
from campus.web.i18n import gettext_ as _
from campus.web.kb.search import prepare
from campus.web.kb.search import related as related_articles
from campus.web.paging import list_view
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
    view = list_view(request, ("urgency", *queries.TICKET_SORTS), "urgency",
                     filters={"show": FILTERS, "category": [c.value for c in Category]})
    if "show" not in view.filters:
        view = replace(view, filters={"show": "unresolved", **view.filters})
    shown, category = view.filters["show"], view.filters.get("category")
    found = await node.query(queries.ticket_list, node.ctx, unresolved=shown == "unresolved",
                             overdue=shown == "overdue", assignee_id=principal.user_id if shown == "mine" else None,
                             category=category, limit=view.limit, offset=view.offset, sort=view.sort,
                             descending=view.descending, search=view.q or None)
    counts = await node.query(queries.open_count, node.ctx)
    return render(TEMPLATES, request, "tickets.html", {
        "tickets": found["items"], "total": found["total"], "shown": shown, "category": category, "view": view,
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
    await node.blocking(prepare, node.store)  # the knowledge base beside the ticket
    related = await node.query(related_articles, f"{ticket['subject']} {ticket['body']}", 5)
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


def parse_questions(text: str) -> list[dict[str, Any]]:
    """One question a line, ``kind | question | option | option...`` (kind: single, multiple,
    rating, text), as the survey form takes them."""
    made = []
    for line in text.splitlines():
        parts = [part.strip() for part in line.split("|")]
        if len(parts) >= 2 and parts[1]:
            made.append({"kind": parts[0], "text": parts[1], "options": parts[2:]})
    return made


def answers_from(form: Any, survey: dict[str, Any]) -> dict[str, Any]:
    """A survey's answers as its form posts them: ``q1`` ... (a multiple choice: several values)."""
    answers: dict[str, Any] = {}
    for q in survey["questions"]:
        if q["kind"] == "multiple":
            answers[q["id"]] = [str(v) for v in form.getlist(q["id"])]
        else:
            value = str(form.get(q["id"], "") or "").strip()
            answers[q["id"]] = int(value) if q["kind"] == "rating" and value.isdigit() else value
    return answers


async def surveys_page(request: Request) -> Response:
    node = request.app.state.node

    def read(conn: Connection) -> dict[str, Any]:
        return {"surveys": survey_queries.survey_list(conn, node.ctx.id),
                "satisfaction": survey_queries.satisfaction(conn, node.ctx)}

    return render(TEMPLATES, request, "surveys.html", {
        **await node.query(read), "L": translated(),
        "may_manage": actor_of(request).can("surveys.manage", node.ctx.id)})


@performs(survey_cases.create_survey)
async def new_survey(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        made = survey_cases.create_survey(node.store, node.ctx, actor_of(request), str(form.get("title", "")),
                                          parse_questions(str(form.get("questions", ""))),
                                          str(form.get("for_families", "")) == "1")
        return _("Survey %(title)s written: open it to collect answers") % {"title": made["title"]}

    return await form_action(request, "/surveys", run)


def campus_classes(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(classes.c.id, classes.c.name).where(
        classes.c.campus_id == campus_id, classes.c.deleted.is_(False)).order_by(classes.c.name)).mappings()]


def student_numbers(conn: Connection, ids: tuple[str, ...]) -> list[str]:
    return list(conn.execute(select(students.c.number).where(students.c.id.in_(ids)).order_by(students.c.number))
                .scalars())


def student_ids(conn: Connection, numbers: list[str]) -> list[str]:
    """The ids of the students with these numbers; a number not on record stays as typed (refused by the use case)."""
    found = dict(conn.execute(select(students.c.number, students.c.id).where(students.c.number.in_(numbers))).all())
    return [found.get(n, n) for n in numbers]


async def survey_page(request: Request) -> Response:
    node = request.app.state.node

    def read(conn: Connection) -> dict[str, Any]:
        survey = survey_queries.survey_results(conn, node.ctx, request.path_params["survey_id"])
        target = stored_target(survey["target"])
        return {"survey": survey, "classes": campus_classes(conn, node.ctx.id), "target": target,
                "target_numbers": student_numbers(conn, target.ids) if target.scope.value == "students" else [],
                "questions_text": "\n".join(" | ".join([q["kind"], q["text"], *q["options"]])
                                            for q in survey["questions"])}

    return render(TEMPLATES, request, "survey_detail.html", {
        **await node.query(read), "L": translated(), "student_id": request.query_params.get("student_id", ""),
        "may_manage": actor_of(request).can("surveys.manage", node.ctx.id),
        "may_answer": actor_of(request).can("surveys.answer", node.ctx.id)})


@performs(survey_cases.move_survey, survey_cases.answer_survey, survey_cases.edit_survey,
          survey_cases.target_survey)
async def survey_step(request: Request) -> Response:
    node = request.app.state.node
    survey_id = request.path_params["survey_id"]
    step = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    back = f"/surveys/{survey_id}"

    def run(form: FormData) -> str:
        nonlocal back
        actor = actor_of(request)
        if step == "status":
            survey_cases.move_survey(node.store, node.ctx, actor, survey_id, str(form.get("status", "")))
            return _("Saved.")
        if step == "edit":
            made = survey_cases.edit_survey(node.store, node.ctx, actor, survey_id, str(form.get("title", "")),
                                            parse_questions(str(form.get("questions", ""))),
                                            str(form.get("for_families", "")) == "1")
            if made["id"] != survey_id:
                back = f"/surveys/{made['id']}"
                return _("It had answers: saved as version %(version)s, and the earlier one is closed.") % made
            return _("Saved.")
        if step == "target":
            scope = str(form.get("scope", ""))
            ids = [str(v) for v in form.getlist("class_ids")] if scope == "classes" else []
            if scope == "students":
                typed = [n.strip().upper() for n in str(form.get("numbers", "")).replace("，", ",").replace("\n", ",")
                         .split(",") if n.strip()]
                with node.store.read() as conn:
                    ids = student_ids(conn, typed)
            survey_cases.target_survey(node.store, node.ctx, actor, survey_id, target_of(scope, ids))
            return _("Saved.")
        with node.store.read() as conn:
            survey = survey_cases.survey_row(conn, node.ctx, survey_id)
        survey_cases.answer_survey(node.store, node.ctx, actor, survey_id, str(form.get("student_id", "")).strip(),
                                   answers_from(form, survey), str(form.get("class_id", "")).strip() or None)
        return _("Answers recorded")

    response = await form_action(request, back, run)
    if back != f"/surveys/{survey_id}":
        response.headers["location"] = back  # the new version
    return response


def routes() -> list[Route]:
    return [
        Route("/surveys", guard("surveys.read", surveys_page, screen=True)),
        Route("/surveys", guard("surveys.manage", new_survey, screen=True), methods=["POST"]),
        Route("/surveys/{survey_id}", guard("surveys.read", survey_page, screen=True)),
        Route("/surveys/{survey_id}/status", guard("surveys.manage", survey_step, screen=True), methods=["POST"]),
        Route("/surveys/{survey_id}/responses", guard("surveys.answer", survey_step, screen=True), methods=["POST"]),
        Route("/surveys/{survey_id}/edit", guard("surveys.manage", survey_step, screen=True), methods=["POST"]),
        Route("/surveys/{survey_id}/target", guard("surveys.manage", survey_step, screen=True), methods=["POST"]),
        Route("/tickets", guard("tickets.read", tickets_page, screen=True)),
        Route("/tickets/new", guard("tickets.write", new_ticket_page, screen=True), methods=["GET", "POST"]),
        Route("/tickets/{ticket_id}", guard("tickets.read", ticket_page, screen=True)),
        *(Route(f"/tickets/{{ticket_id}}/{step}", guard("tickets.write", ticket_step, screen=True), methods=["POST"])
          for step in ("replies", "status", "assignee")),
    ]
