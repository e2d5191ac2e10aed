"""Teaching set-up screens: rooms, courses, classes, a class's enrolments (each paid from a contract
line), recurring schedules with a live clash preview, single lessons, and on a lesson: moving it,
leave and make-up, cancelling; and class transfers. Each form is read into the JSON API's own
input model and calls the use case the API calls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, func, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.node.finance.students import list_students
from campus.node.screens import TEMPLATES
from campus.node.teaching import scheduling as sch
from campus.node.teaching import use_cases as cases
from campus.node.teaching.api import ClassIn, CourseIn, EnrolmentIn, LeaveIn, RoomIn, ScheduleIn, TransferIn
from campus.node.teaching.moves import describe_clashes, move_lesson
from campus.node.workbench.labels import labels
from campus.node.workbench.queries import lessons_with_state
from campus.node.workbench.refusals import Refused, refusal
from campus.schema.errors import DomainError, Invalid, NotFound
from campus.schema.permissions import Role
from campus.schema.tables import (
    asset_entries,
    classes,
    contract_lines,
    contracts,
    courses,
    enrolments,
    role_grants,
    rooms,
    students,
    users,
)
from campus.web.auth import actor_of, guard
from campus.web.forms import form_model
from campus.web.i18n import gettext_ as _
from campus.web.prices.store import price_list
from campus.web.templating import form_action, render
from campus.web.usecase import performs

TEACHING_ROLES = (Role.TEACHER, Role.ACADEMIC_ADVISOR, Role.CAMPUS_MANAGER, Role.HQ_ADMIN)  # who may teach
ADVISOR_ROLES = (Role.ACADEMIC_ADVISOR, Role.CAMPUS_MANAGER)  # who may be a class teacher (班主任)
CLASS_LESSONS = 120  # a class page lists its lessons from two weeks ago, this many


# --- reading -----------------------------------------------------------------------------


def staff_with(conn: Connection, campus_id: str, roles: tuple[Role, ...]) -> list[dict[str, str]]:
    """Active users holding one of ``roles`` here (or everywhere), by name."""
    rows = conn.execute(select(users.c.id, users.c.display_name).distinct()
                        .join(role_grants, role_grants.c.user_id == users.c.id)
                        .where(role_grants.c.role.in_([r.value for r in roles]), role_grants.c.deleted.is_(False),
                               (role_grants.c.campus_id == campus_id) | role_grants.c.campus_id.is_(None),
                               users.c.active.is_(True), users.c.deleted.is_(False))
                        .order_by(users.c.display_name))
    return [{"id": r.id, "name": r.display_name} for r in rows]


def _live(table: Any, campus_id: str) -> Any:
    return (table.c.campus_id == campus_id) & table.c.deleted.is_(False)


def lookups(conn: Connection, campus_id: str) -> dict[str, Any]:
    """What the set-up forms choose from: rooms, courses, classes, teachers and class teachers."""
    return {
        "rooms": [dict(r) for r in conn.execute(select(rooms).where(_live(rooms, campus_id)).order_by(rooms.c.name))
                  .mappings()],
        "courses": [dict(r) for r in conn.execute(select(courses).where(_live(courses, campus_id))
                                                  .order_by(courses.c.name)).mappings()],
        "classes": [dict(r) for r in conn.execute(select(classes).where(_live(classes, campus_id))
                                                  .order_by(classes.c.name)).mappings()],
        "teachers": staff_with(conn, campus_id, TEACHING_ROLES),
        "advisors": staff_with(conn, campus_id, ADVISOR_ROLES),
    }


def class_rows(conn: Connection, campus_id: str, category: str | None, teacher_id: str | None,
               search: str | None) -> list[dict[str, Any]]:
    """The campus's classes with course, teacher, class teacher, room and how many are in each."""
    size = (select(func.count()).where(enrolments.c.class_id == classes.c.id, enrolments.c.status == "active",
                                       enrolments.c.deleted.is_(False)).scalar_subquery())
    query = (select(classes, courses.c.name.label("course_name"), rooms.c.name.label("room_name"),
                    size.label("size"))
             .join(courses, courses.c.id == classes.c.course_id)
             .outerjoin(rooms, rooms.c.id == classes.c.room_id)
             .where(_live(classes, campus_id)).order_by(classes.c.name))
    if category:
        query = query.where(classes.c.category == category)
    if teacher_id:
        query = query.where(classes.c.teacher_id == teacher_id)
    if search:
        query = query.where(classes.c.name.like(f"%{search}%"))
    return [dict(r) for r in conn.execute(query.limit(500)).mappings()]


def lines_left(conn: Connection, line_ids: list[str]) -> dict[str, int]:
    if not line_ids:
        return {}
    return {r[0]: int(r[1]) for r in conn.execute(select(asset_entries.c.line_id, func.sum(asset_entries.c.hours_x100))
                                                  .where(asset_entries.c.line_id.in_(line_ids))
                                                  .group_by(asset_entries.c.line_id))}


def candidate_lines(conn: Connection, campus_id: str, search: str) -> list[dict[str, Any]]:
    """For the enrolment form: the contract lines of the students a search finds, each with the
    hours left on it (the line pays for the class's lessons)."""
    _, found = list_students(conn, campus_id, 10, 0, search)
    ids = [s["id"] for s in found]
    if not ids:
        return []
    lines = [dict(r) for r in conn.execute(
        select(contract_lines, contracts.c.number.label("contract_number"), contracts.c.expires_on)
        .join(contracts, contracts.c.id == contract_lines.c.contract_id)
        .where(contract_lines.c.student_id.in_(ids), contracts.c.deleted.is_(False))
        .order_by(contract_lines.c.created_at)).mappings()]
    left = lines_left(conn, [line["id"] for line in lines])
    names = {s["id"]: s for s in found}
    return [{**line, "hours_left_x100": left.get(line["id"], 0), "student_name": names[line["student_id"]]["name"],
             "student_number": names[line["student_id"]]["number"]} for line in lines]


def class_view(conn: Connection, campus_id: str, class_id: str) -> dict[str, Any]:
    klass = conn.execute(select(classes).where(classes.c.id == class_id, classes.c.deleted.is_(False))
                         ).mappings().first()
    if klass is None:
        raise NotFound(f"no class {class_id}", class_id=class_id)
    course = conn.execute(select(courses).where(courses.c.id == klass["course_id"])).mappings().one()
    members = [dict(r) for r in conn.execute(
        select(enrolments, students.c.name, students.c.number, contract_lines.c.grade, contract_lines.c.subject,
               contract_lines.c.level, contract_lines.c.delivery, contracts.c.number.label("contract_number"))
        .join(students, students.c.id == enrolments.c.student_id)
        .join(contract_lines, contract_lines.c.id == enrolments.c.line_id)
        .join(contracts, contracts.c.id == contract_lines.c.contract_id)
        .where(enrolments.c.class_id == class_id, enrolments.c.deleted.is_(False))
        .order_by(enrolments.c.status, students.c.number)).mappings()]
    left = lines_left(conn, [m["line_id"] for m in members])
    return {"class": dict(klass), "course": dict(course),
            "members": [{**m, "hours_left_x100": left.get(m["line_id"], 0)} for m in members]}


# --- parsing -------------------------------------------------------------------------------


def local_instant(form: FormData, day_field: str, time_field: str, zone: Any) -> datetime:
    """A date and a time typed on a form, as an instant in the campus's zone."""
    try:
        day = date.fromisoformat(str(form.get(day_field, "")).strip())
    except ValueError:
        raise Invalid(day_field, "not a date like 2026-12-01") from None
    try:
        moment = time.fromisoformat(str(form.get(time_field, "")).strip())
    except ValueError:
        raise Invalid(time_field, "times look like 19:00") from None
    return datetime.combine(day, moment, zone)


def _optional(form: FormData, name: str) -> str | None:
    return str(form.get(name, "")).strip() or None


def said(node: Any, work: Callable[[], str], fields: dict[str, str] | None = None) -> str:
    """Run ``work``; a refusal comes back in the screen's language, a clash naming who and when
    (``fields``: labels of this form's fields where they differ from the usual ones)."""
    try:
        return work()
    except sch.Clash as exc:
        with node.store.read() as conn:
            described = describe_clashes(conn, node.ctx, list(exc.facts.get("clashes", [])))
        raise Refused(refusal(DomainError(exc.detail, clashes=described))) from None
    except DomainError as exc:
        raise Refused(refusal(exc, fields=fields)) from None


# --- screens ---------------------------------------------------------------------------------


def _context(node: Any, **values: Any) -> dict[str, Any]:
    return {"app_title": node.config.campus_name, "L": labels(), "today": node.ctx.today().isoformat(), **values}


async def rooms_page(request: Request) -> Response:
    node = request.app.state.node
    campus_id = node.config.campus_id

    def read(conn: Connection) -> list[dict[str, Any]]:
        used: dict[str | None, int] = dict(conn.execute(select(classes.c.room_id, func.count()).where(_live(classes, campus_id))
                                 .group_by(classes.c.room_id)).all())
        return [{**dict(r), "classes": used.get(r["id"], 0)} for r in conn.execute(
            select(rooms).where(_live(rooms, campus_id)).order_by(rooms.c.name)).mappings()]

    return render(TEMPLATES, request, "setup_rooms.html", _context(node, rooms=await node.query(read)))


@performs(cases.add_room)
async def room_add(request: Request) -> Response:
    node = request.app.state.node

    def add(form: FormData) -> str:
        def work() -> str:
            given = form_model(form, RoomIn)
            room = cases.add_room(node.store, node.ctx, actor_of(request), **given.model_dump())
            return _("Room %(name)s added") % {"name": room["name"]}
        return said(node, work, {"name": "Name of the room"})

    return await form_action(request, "/rooms", add)


async def courses_page(request: Request) -> Response:
    node = request.app.state.node
    campus_id = node.config.campus_id

    def read(conn: Connection) -> tuple[Any, ...]:
        items = {i["id"]: i for i in price_list(conn)["items"]}
        counted: dict[str, int] = dict(conn.execute(select(classes.c.course_id, func.count()).where(_live(classes, campus_id))
                                    .group_by(classes.c.course_id)).all())
        found = [{**dict(r), "classes": counted.get(r["id"], 0), "item": items.get(r["price_item_id"] or "")}
                 for r in conn.execute(select(courses).where(_live(courses, campus_id))
                                       .order_by(courses.c.name)).mappings()]
        return found, list(items.values())

    found, items = await node.query(read)
    return render(TEMPLATES, request, "setup_courses.html", _context(node, courses=found, items=items))


@performs(cases.add_course)
async def course_add(request: Request) -> Response:
    node = request.app.state.node

    def add(form: FormData) -> str:
        def work() -> str:
            given = form_model(form, CourseIn)
            course = cases.add_course(node.store, node.ctx, actor_of(request), **given.model_dump())
            return _("Course %(name)s added") % {"name": course["name"]}
        return said(node, work, {"name": "Name of the course"})

    return await form_action(request, "/courses", add)


async def classes_page(request: Request) -> Response:
    node = request.app.state.node
    params = request.query_params
    category = params.get("category") if params.get("category") in {c.value for c in sch.ClassCategory} else None
    teacher_id = params.get("teacher") or None
    search = params.get("q", "").strip() or None

    def read(conn: Connection) -> tuple[Any, ...]:
        return class_rows(conn, node.config.campus_id, category, teacher_id, search), lookups(conn, node.config.campus_id)

    rows, choices = await node.query(read)
    names = {t["id"]: t["name"] for t in [*choices["teachers"], *choices["advisors"]]}
    return render(TEMPLATES, request, "setup_classes.html", _context(
        node, classes=rows, choices=choices, names=names, category=category or "", teacher=teacher_id or "",
        q=search or "", categories=[c.value for c in sch.ClassCategory],
        may_manage=request.state.principal.can("teaching.manage", node.config.campus_id)))


@performs(cases.add_class)
async def class_add(request: Request) -> Response:
    node = request.app.state.node

    def add(form: FormData) -> str:
        def work() -> str:
            given = form_model(form, ClassIn)
            klass = cases.add_class(node.store, node.ctx, actor_of(request), **given.model_dump())
            return _("Class %(name)s opened") % {"name": klass["name"]}
        return said(node, work, {"name": "Name of the class"})

    return await form_action(request, "/classes", add)


async def class_page(request: Request) -> Response:
    node = request.app.state.node
    ctx = node.ctx
    class_id = request.path_params["class_id"]
    search = request.query_params.get("q", "").strip()
    today = ctx.today()

    def read(conn: Connection) -> tuple[Any, ...]:
        view = class_view(conn, ctx.id, class_id)
        found = lessons_with_state(conn, ctx, today - timedelta(days=14), today + timedelta(days=3660),
                                   class_id=class_id, limit=CLASS_LESSONS)
        return view, found, lookups(conn, ctx.id), candidate_lines(conn, ctx.id, search) if search else []

    view, found, choices, candidates = await node.query(read)
    names = {t["id"]: t["name"] for t in [*choices["teachers"], *choices["advisors"]]}
    room_names = {r["id"]: r["name"] for r in choices["rooms"]}
    return render(TEMPLATES, request, "setup_class.html", _context(
        node, **view, lessons=found, choices=choices, names=names, room_names=room_names, q=search,
        candidates=candidates, weekdays=list(sch.WEEKDAYS),
        others=[c for c in choices["classes"] if c["id"] != class_id],
        may_manage=request.state.principal.can("teaching.manage", ctx.id)))


@performs(cases.enrol)
async def class_enrol(request: Request) -> Response:
    node = request.app.state.node
    class_id = request.path_params["class_id"]

    def enrol(form: FormData) -> str:
        def work() -> str:
            student_id, _sep, line_id = str(form.get("seat", "")).partition("|")
            if not line_id:
                raise Invalid("line_id", "choose the contract line that pays for the class")
            given = form_model(form, EnrolmentIn, student_id=student_id, line_id=line_id)
            joined = date.fromisoformat(given.joined_on) if given.joined_on else None
            cases.enrol(node.store, node.ctx, actor_of(request), class_id, given.student_id, given.line_id, joined)
            return _("Student enrolled")
        return said(node, work)

    return await form_action(request, f"/classes/{class_id}", enrol)


@performs(cases.schedule_recurring)
async def class_schedule(request: Request) -> Response:
    node = request.app.state.node
    class_id = request.path_params["class_id"]

    def schedule(form: FormData) -> str:
        def work() -> str:
            given = form_model(form, ScheduleIn)
            try:
                first = date.fromisoformat(given.first_date)
            except ValueError:
                raise Invalid("first_date", "not a date like 2026-12-01") from None
            made = cases.schedule_recurring(node.store, node.ctx, actor_of(request), class_id,
                                            [str(w) for w in given.weekdays], given.start, given.end, first,
                                            given.weeks, teacher_id=given.teacher_id, room_id=given.room_id)
            return _("%(count)s lessons scheduled") % {"count": len(made)}
        return said(node, work)

    return await form_action(request, f"/classes/{class_id}", schedule)


@performs(cases.book_lesson)
async def class_lesson(request: Request) -> Response:
    node = request.app.state.node
    class_id = request.path_params["class_id"]

    def book(form: FormData) -> str:
        def work() -> str:
            starts = local_instant(form, "date", "start", node.ctx.zone)
            ends = local_instant(form, "date", "end", node.ctx.zone)
            kind = str(form.get("kind", "regular"))
            if kind not in ("regular", "extra"):
                raise Invalid("kind", "one of regular, extra")
            cases.book_lesson(node.store, node.ctx, actor_of(request), class_id, starts, ends,
                              teacher_id=_optional(form, "teacher_id"), room_id=_optional(form, "room_id"), kind=kind)
            return _("Lesson booked")
        return said(node, work)

    return await form_action(request, f"/classes/{class_id}", book)


@performs(cases.transfer_class)
async def enrolment_transfer(request: Request) -> Response:
    node = request.app.state.node
    enrolment_id = request.path_params["enrolment_id"]
    back = request.query_params.get("class", "")

    def transfer(form: FormData) -> str:
        def work() -> str:
            given = form_model(form, TransferIn)
            try:
                on = date.fromisoformat(given.on)
            except ValueError:
                raise Invalid("on", "not a date like 2026-12-01") from None
            cases.transfer_class(node.store, node.ctx, actor_of(request), enrolment_id, given.to_class_id, on,
                                 given.reason)
            return _("Student transferred to the other class")
        return said(node, work)

    return await form_action(request, f"/classes/{back}" if back.replace("-", "").isalnum() else "/classes",
                             transfer)


@performs(move_lesson)
async def lesson_move(request: Request) -> Response:
    node = request.app.state.node
    lesson_id = request.path_params["lesson_id"]
    moved: dict[str, str] = {}

    def move(form: FormData) -> str:
        def work() -> str:
            starts = local_instant(form, "date", "start", node.ctx.zone)
            ends = local_instant(form, "date", "end", node.ctx.zone)
            new = move_lesson(node.store, node.ctx, actor_of(request), lesson_id, starts, ends,
                              teacher_id=_optional(form, "teacher_id"), room_id=_optional(form, "room_id"))
            moved["id"] = new["id"]
            return _("Lesson moved")
        return said(node, work)

    response = await form_action(request, f"/lessons/{lesson_id}", move)
    if moved:  # the lesson now lives under its new id
        response.headers["location"] = f"/lessons/{moved['id']}"
    return response


@performs(cases.cancel_lesson)
async def lesson_cancel(request: Request) -> Response:
    node = request.app.state.node
    lesson_id = request.path_params["lesson_id"]

    def cancel(form: FormData) -> str:
        def work() -> str:
            cases.cancel_lesson(node.store, node.ctx, actor_of(request), lesson_id)
            return _("Lesson cancelled")
        return said(node, work)

    return await form_action(request, f"/lessons/{lesson_id}", cancel)


@performs(cases.request_leave)
async def lesson_leave(request: Request) -> Response:
    node = request.app.state.node
    lesson_id = request.path_params["lesson_id"]

    def leave(form: FormData) -> str:
        def work() -> str:
            given = form_model(form, LeaveIn)
            cases.request_leave(node.store, node.ctx, actor_of(request), lesson_id, given.student_id, given.reason)
            return _("Leave recorded")
        return said(node, work)

    return await form_action(request, f"/lessons/{lesson_id}", leave)


@performs(cases.book_makeup)
async def lesson_makeup(request: Request) -> Response:
    node = request.app.state.node
    lesson_id = request.path_params["lesson_id"]

    def makeup(form: FormData) -> str:
        def work() -> str:
            student_id = _optional(form, "student_id")
            if not student_id:
                raise Invalid("student_id", "choose the student")
            starts = local_instant(form, "date", "start", node.ctx.zone)
            ends = local_instant(form, "date", "end", node.ctx.zone)
            cases.book_makeup(node.store, node.ctx, actor_of(request), lesson_id, student_id, starts, ends,
                              teacher_id=_optional(form, "teacher_id"), room_id=_optional(form, "room_id"))
            return _("Make-up lesson booked")
        return said(node, work)

    return await form_action(request, f"/lessons/{lesson_id}", makeup)


def routes() -> list[Route]:
    def screen(path: str, action: str, endpoint: Any, methods: tuple[str, ...] = ("GET",)) -> Route:
        return Route(path, guard(action, endpoint, screen=True), methods=list(methods))

    return [
        screen("/rooms", "teaching.read", rooms_page),
        screen("/rooms", "teaching.manage", room_add, ("POST",)),
        screen("/courses", "teaching.read", courses_page),
        screen("/courses", "teaching.manage", course_add, ("POST",)),
        screen("/classes", "teaching.read", classes_page),
        screen("/classes", "teaching.manage", class_add, ("POST",)),
        screen("/classes/{class_id}", "teaching.read", class_page),
        screen("/classes/{class_id}/enrolments", "teaching.manage", class_enrol, ("POST",)),
        screen("/classes/{class_id}/schedules", "teaching.manage", class_schedule, ("POST",)),
        screen("/classes/{class_id}/lessons", "teaching.manage", class_lesson, ("POST",)),
        screen("/enrolments/{enrolment_id}/transfer", "teaching.manage", enrolment_transfer, ("POST",)),
        screen("/lessons/{lesson_id}/move", "teaching.manage", lesson_move, ("POST",)),
        screen("/lessons/{lesson_id}/cancel", "teaching.manage", lesson_cancel, ("POST",)),
        screen("/lessons/{lesson_id}/leave", "attendance.mark", lesson_leave, ("POST",)),
        screen("/lessons/{lesson_id}/makeups", "teaching.manage", lesson_makeup, ("POST",)),
    ]
