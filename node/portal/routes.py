"""The family portal's pages under /portal/: sign in (a code by SMS, or a student number and the
family's password), then each of the family's students: the record and hours left, the timetable
with leave, attendance with ratings, receipts and invoices, tickets, surveys, settings.

Every page but signing in is behind :func:`family_page`, which finds the family the session names
(on a worker thread) or sends the browser to sign in; its routes are marked with the ``family``
action, which no staff role has. Forms carry the session's CSRF token. Ids in paths and forms are
checked to be the family's by the queries and use cases; any other is a 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from campus.node.notify.queries import opt_outs
from campus.node.notify.templates import KINDS
from campus.node.portal import queries
from campus.node.portal import use_cases as cases
from campus.node.portal.family import SESSION_KEY, Family, family_of
from campus.node.screens import TEMPLATES
from campus.node.service.labels import translated
from campus.node.service.screens import answers_from
from campus.node.service.survey_queries import open_for_family
from campus.schema.errors import DomainError
from campus.web.auth import PUBLIC, check_csrf, client_ip, guard
from campus.web.i18n import LOCALE_COOKIE, LOCALES, current_locale
from campus.web.i18n import gettext_ as _
from campus.web.templating import flash, render
from campus.web.usecase import UseCase, off_loop, performs, writes_nothing

Endpoint = Callable[[Request], Awaitable[Response]]
HOME = "/portal/"
SIGN_IN = "/portal/sign-in"
PENDING_PHONE = "portal_phone"  # the phone a code was asked for, until it is used
MESSAGE_KINDS = {k: v for k, v in (("receipt_issued", "Receipts"), ("ticket_reply", "Replies to our questions"),
                                   ("birthday", "Birthday wishes"), ("lesson_reminder", "Lesson reminders"),
                                   ("low_hours", "Few hours left"), ("contract_expiring", "Contract expiring"),
                                   ("absence_alert", "Absences"), ("leave_confirmed", "Leave recorded"),
                                   ("marketing", "Offers and news"))}
MARKS = {"present": "present", "late": "late", "leave": "leave", "absent": "absent", "forfeited": "forfeited",
         "extra": "extra"}


def family_page(endpoint: Endpoint) -> Endpoint:
    """``endpoint`` for a signed-in family only (``request.state.family``); others go to sign in."""

    async def guarded(request: Request) -> Response:
        node = request.app.state.node
        family = await node.query(family_of, request.session.get(SESSION_KEY))
        if family is None:
            request.session.pop(SESSION_KEY, None)
            return RedirectResponse(SIGN_IN, status_code=303)
        request.state.family = family
        if family.locale is None or request.query_params.get("lang") in LOCALES \
                or request.cookies.get(LOCALE_COOKIE) in LOCALES:
            return await endpoint(request)
        token = current_locale.set(family.locale)  # the family's language, unless this browser chose one
        request.scope.setdefault("state", {})["locale"] = family.locale
        try:
            return await endpoint(request)
        finally:
            current_locale.reset(token)

    guarded.campus_action = cases.FAMILY  # type: ignore[attr-defined]
    guarded.use_cases = getattr(endpoint, "use_cases", ())  # type: ignore[attr-defined]
    guarded.writes_nothing = getattr(endpoint, "writes_nothing", False)  # type: ignore[attr-defined]
    guarded.__name__ = getattr(endpoint, "__name__", "endpoint")
    return guarded


async def run_family(request: Request, case: UseCase[..., Any], *args: Any) -> Any:
    """A family's use case, off the event loop, as the signed-in family (or, signing in, the portal)."""
    node = request.app.state.node
    family: Family | None = getattr(request.state, "family", None)
    actor = family.actor(client_ip(request)) if family else Family("portal", ()).actor(client_ip(request))
    return await off_loop(case, node.store, node.ctx, actor, *args)


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    family: Family | None = getattr(request.state, "family", None)
    return render(TEMPLATES, request, name, {"family": family, "campus_name": request.app.state.title, **context},
                  status=status)


async def _form(request: Request) -> FormData:
    form = await request.form()
    check_csrf(request, form)
    return form


def _text(form: FormData, name: str) -> str:
    return str(form.get(name, "") or "").strip()


# --- signing in ------------------------------------------------------------------------------------

async def sign_in_page(request: Request) -> Response:
    step = "code" if request.query_params.get("step") == "code" and request.session.get(PENDING_PHONE) else "phone"
    return page(request, "portal_sign_in.html", {"step": step, "problem": None})


@performs(cases.send_code)
async def send_code(request: Request) -> Response:
    form = await _form(request)
    try:
        sent = await run_family(request, cases.send_code, _text(form, "phone"))
    except DomainError as exc:
        if "json" in request.headers.get("accept", ""):
            raise  # a client asking for JSON gets the problem (429, naming the field) as problem+json
        return page(request, "portal_sign_in.html", {"step": "phone", "problem": _(exc.detail)}, exc.status)
    request.session[PENDING_PHONE] = cases.phone_of(_text(form, "phone"))
    flash(request, _("If %(phone)s is on record, a code is on its way.") % {"phone": sent["phone"]}, "success")
    return RedirectResponse(f"{SIGN_IN}?step=code", status_code=303)


@performs(cases.sign_in_with_code)
async def sign_in_with_code(request: Request) -> Response:
    form = await _form(request)
    phone = str(request.session.get(PENDING_PHONE) or _text(form, "phone"))
    try:
        done = await run_family(request, cases.sign_in_with_code, phone, _text(form, "code"))
    except DomainError as exc:
        return page(request, "portal_sign_in.html", {"step": "code", "problem": _(exc.detail)}, exc.status)
    if not done["signed_in"]:
        problem = _("Too many wrong codes: this phone is locked for a while.") if done["locked"] else \
            _("That code is wrong, used or expired.")
        return page(request, "portal_sign_in.html", {"step": "code", "problem": problem}, 429 if done["locked"] else 401)
    request.session.pop(PENDING_PHONE, None)
    request.session[SESSION_KEY] = done["session"]
    return RedirectResponse(HOME, status_code=303)


@performs(cases.sign_in_with_password)
async def sign_in_with_password(request: Request) -> Response:
    form = await _form(request)
    try:
        done = await run_family(request, cases.sign_in_with_password, _text(form, "number"),
                                str(form.get("password", "")))
    except DomainError as exc:
        return page(request, "portal_sign_in.html", {"step": "phone", "problem": _(exc.detail)}, exc.status)
    if not done["signed_in"]:
        problem = _("Too many wrong passwords: this student number is locked for a while.") if done["locked"] else \
            _("Wrong student number or password.")
        return page(request, "portal_sign_in.html", {"step": "phone", "problem": problem},
                    429 if done["locked"] else 401)
    request.session[SESSION_KEY] = done["session"]
    return RedirectResponse(HOME, status_code=303)


@writes_nothing  # the session cookie is all it changes
async def sign_out(request: Request) -> Response:
    await _form(request)
    request.session.pop(SESSION_KEY, None)
    return RedirectResponse(SIGN_IN, status_code=303)


# --- the family's pages --------------------------------------------------------------------------------

async def home(request: Request) -> Response:
    family: Family = request.state.family
    if len(family.student_ids) == 1:
        return RedirectResponse(f"/portal/students/{family.student_ids[0]}", status_code=303)
    node = request.app.state.node
    return page(request, "portal_home.html", {"students": await node.query(queries.student_names, family.student_ids)})


async def student_page(request: Request) -> Response:
    family: Family = request.state.family
    node = request.app.state.node
    student_id = family.student(request.path_params["student_id"])

    def read(conn: Any) -> dict[str, Any]:
        return {"student": queries.overview(conn, student_id), "lessons": queries.timetable(conn, node.ctx, student_id),
                "attendance": queries.attendance(conn, node.ctx, student_id), **queries.money(conn, student_id),
                "tickets": queries.family_tickets(conn, student_id),
                "surveys": open_for_family(conn, node.ctx.id, student_id)}

    return page(request, "portal_student.html", {**await node.query(read), "L": translated(), "marks": MARKS,
                                                 "campus_id": node.ctx.id})


def _back(student_id: str, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/portal/students/{student_id}#{anchor}", status_code=303)


async def _act(request: Request, anchor: str, done: str, case: UseCase[..., Any],
               arguments: Callable[[FormData], tuple[Any, ...]]) -> Response:
    """A family's form: run ``case`` for the student in the path, flash what happened, go back."""
    family: Family = request.state.family
    student_id = family.student(request.path_params["student_id"])
    form = await _form(request)
    try:
        await run_family(request, case, family, student_id, *arguments(form))
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(request, _(exc.detail), "error")
    else:
        flash(request, done, "success")
    return _back(student_id, anchor)


@performs(cases.ask_for_leave)
async def ask_for_leave(request: Request) -> Response:
    return await _act(request, "lessons", _("Leave asked for: the class teacher is told."), cases.ask_for_leave,
                      lambda form: (_text(form, "lesson_id"), _text(form, "reason") or None))


def _rating(form: FormData) -> tuple[Any, ...]:
    typed = _text(form, "rating")
    return _text(form, "lesson_id"), int(typed) if typed.isdigit() else 0, _text(form, "comment") or None


@performs(cases.rate_lesson)
async def rate_lesson(request: Request) -> Response:
    return await _act(request, "attendance", _("Thank you for your rating."), cases.rate_lesson, _rating)


@performs(cases.open_family_ticket)
async def open_ticket(request: Request) -> Response:
    return await _act(request, "tickets", _("Sent: we will answer soon."), cases.open_family_ticket,
                      lambda form: (_text(form, "category"), _text(form, "subject"), _text(form, "body")))


async def ticket_page(request: Request) -> Response:
    family: Family = request.state.family
    node = request.app.state.node
    ticket = await node.query(queries.family_ticket, family.student_ids, request.path_params["ticket_id"])
    return page(request, "portal_ticket.html", {"ticket": ticket, "L": translated()})


@performs(cases.reply_to_family_ticket)
async def reply_to_ticket(request: Request) -> Response:
    family: Family = request.state.family
    ticket_id = request.path_params["ticket_id"]
    node = request.app.state.node
    await node.query(queries.family_ticket, family.student_ids, ticket_id)  # another family's: 404 before the form
    form = await _form(request)
    try:
        await run_family(request, cases.reply_to_family_ticket, family, ticket_id, _text(form, "body"))
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(request, _(exc.detail), "error")
    else:
        flash(request, _("Sent: we will answer soon."), "success")
    return RedirectResponse(f"/portal/tickets/{ticket_id}", status_code=303)


async def receipt_page(request: Request) -> Response:
    family: Family = request.state.family
    node = request.app.state.node
    found = await node.query(queries.receipt, family.student_ids, request.path_params["payment_id"])
    return page(request, "portal_receipt.html", {"receipt": found})


async def settings_page(request: Request) -> Response:
    family: Family = request.state.family
    node = request.app.state.node
    student_id = family.student(request.path_params["student_id"])

    def read(conn: Any) -> dict[str, Any]:
        return {"student": queries.overview(conn, student_id), "opted_out": opt_outs(conn, student_id)}

    return page(request, "portal_settings.html", {**await node.query(read), "locales": LOCALES,
                                                  "kinds": {k: _(v) for k, v in MESSAGE_KINDS.items()}})


@performs(cases.set_password)
async def set_password(request: Request) -> Response:
    family: Family = request.state.family
    student_id = family.student(request.path_params["student_id"])
    form = await _form(request)
    try:
        await run_family(request, cases.set_password, family, student_id, str(form.get("password", "")))
    except DomainError as exc:
        flash(request, _(exc.detail), "error")
    else:
        flash(request, _("Password set: sign in with the student number and it."), "success")
    return RedirectResponse(f"/portal/students/{student_id}/settings", status_code=303)


@performs(cases.set_preferences)
async def set_preferences(request: Request) -> Response:
    family: Family = request.state.family
    student_id = family.student(request.path_params["student_id"])
    form = await _form(request)
    wanted = {str(k) for k in form.getlist("wanted")}
    choices = {kind: kind not in wanted for kind in MESSAGE_KINDS}
    try:
        await run_family(request, cases.set_preferences, family, student_id, _text(form, "email") or None, choices,
                         _text(form, "locale") or None)
    except DomainError as exc:
        flash(request, _(exc.detail), "error")
    else:
        flash(request, _("Saved."), "success")
    return RedirectResponse(f"/portal/students/{student_id}/settings", status_code=303)


async def survey_page(request: Request) -> Response:
    family: Family = request.state.family
    node = request.app.state.node
    student_id = request.path_params["student_id"]
    survey = await node.query(cases.family_survey, node.ctx, family, student_id, request.path_params["survey_id"])
    return page(request, "portal_survey.html", {"survey": survey, "student_id": student_id})


@performs(cases.answer_family_survey)
async def answer_survey(request: Request) -> Response:
    family: Family = request.state.family
    node = request.app.state.node
    student_id, survey_id = request.path_params["student_id"], request.path_params["survey_id"]
    survey = await node.query(cases.family_survey, node.ctx, family, student_id, survey_id)
    form = await _form(request)
    try:
        await run_family(request, cases.answer_family_survey, family, student_id, survey_id, answers_from(form, survey))
    except DomainError as exc:
        flash(request, _(exc.detail), "error")
        return RedirectResponse(f"/portal/students/{student_id}/surveys/{survey_id}", status_code=303)
    flash(request, _("Thank you for your answers."), "success")
    return _back(student_id, "surveys")


def routes() -> list[Route]:
    assert set(MESSAGE_KINDS) == {k for k, spec in KINDS.items() if not spec.secret and not spec.to_staff}
    family_routes: list[tuple[str, Endpoint, list[str]]] = [
        ("/portal/", home, ["GET"]),
        ("/portal/sign-out", sign_out, ["POST"]),
        ("/portal/students/{student_id}", student_page, ["GET"]),
        ("/portal/students/{student_id}/leave", ask_for_leave, ["POST"]),
        ("/portal/students/{student_id}/ratings", rate_lesson, ["POST"]),
        ("/portal/students/{student_id}/tickets", open_ticket, ["POST"]),
        ("/portal/students/{student_id}/settings", settings_page, ["GET"]),
        ("/portal/students/{student_id}/password", set_password, ["POST"]),
        ("/portal/students/{student_id}/preferences", set_preferences, ["POST"]),
        ("/portal/students/{student_id}/surveys/{survey_id}", survey_page, ["GET"]),
        ("/portal/students/{student_id}/surveys/{survey_id}", answer_survey, ["POST"]),
        ("/portal/tickets/{ticket_id}", ticket_page, ["GET"]),
        ("/portal/tickets/{ticket_id}/replies", reply_to_ticket, ["POST"]),
        ("/portal/receipts/{payment_id}", receipt_page, ["GET"]),
    ]
    return [
        Route(SIGN_IN, guard(PUBLIC, sign_in_page)),
        Route(f"{SIGN_IN}/code", guard(PUBLIC, send_code), methods=["POST"]),
        Route(SIGN_IN, guard(PUBLIC, sign_in_with_code), methods=["POST"]),
        Route(f"{SIGN_IN}/password", guard(PUBLIC, sign_in_with_password), methods=["POST"]),
        *(Route(path, family_page(endpoint), methods=methods) for path, endpoint, methods in family_routes),
    ]
