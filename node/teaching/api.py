"""``/api/v1`` rooms, courses, classes, enrolments, lessons, schedules, attendance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import ColumnElement, Connection, select
from starlette.requests import Request
from starlette.responses import Response

from campus.node.teaching import attendance as att
from campus.node.teaching import scheduling as sch
from campus.node.teaching import use_cases as cases
from campus.node.teaching.attendance import Mark
from campus.node.teaching.export import attendance_workbook
from campus.node.teaching.scheduling import ClassCategory, Weekday
from campus.schema.context import CampusContext
from campus.schema.tables import (
    attendance_confirmations,
    attendance_marks,
    classes,
    courses,
    enrolments,
    leave_requests,
    lessons,
    rooms,
)
from campus.web.api import Api, Input, Output, items_model, json_response, parse_body, row_model
from campus.web.problems import InvalidInput
from campus.web.usecase import UseCase, performs

DATE = r"^\d{4}-\d{2}-\d{2}$"
TIME = r"^\d{2}:\d{2}$"


class RoomIn(Input):
    name: str = Field(min_length=1, max_length=64)
    capacity: int = Field(default=0, ge=0, le=1000)


class CourseIn(Input):
    name: str = Field(min_length=1, max_length=100)
    lesson_hours_x100: int = Field(gt=0, le=2400)
    price_item_id: str | None = Field(default=None, max_length=36)
    grade: str | None = Field(default=None, max_length=32)
    subject: str | None = Field(default=None, max_length=32)
    level: str | None = Field(default=None, max_length=32)
    delivery: str | None = Field(default=None, max_length=16)


class ClassIn(Input):
    course_id: str = Field(min_length=1, max_length=36)
    name: str = Field(min_length=1, max_length=100)
    category: ClassCategory = Field(default=ClassCategory.REGULAR, strict=False)
    teacher_id: str | None = Field(default=None, max_length=36)
    class_teacher_id: str | None = Field(default=None, max_length=36)
    room_id: str | None = Field(default=None, max_length=36)
    capacity: int | None = Field(default=None, ge=1, le=1000)


class EnrolmentIn(Input):
    student_id: str = Field(min_length=1, max_length=36)
    line_id: str = Field(min_length=1, max_length=36)
    joined_on: str | None = Field(default=None, pattern=DATE)


class LessonIn(Input):
    starts_at: str = Field(min_length=16, max_length=40)
    ends_at: str = Field(min_length=16, max_length=40)
    teacher_id: str | None = Field(default=None, max_length=36)
    room_id: str | None = Field(default=None, max_length=36)
    kind: Literal["regular", "extra"] = "regular"


class ScheduleIn(Input):
    weekdays: list[Annotated[Weekday, Field(strict=False)]] = Field(min_length=1, max_length=7)
    start: str = Field(pattern=TIME)
    end: str = Field(pattern=TIME)
    first_date: str = Field(pattern=DATE)
    weeks: int = Field(ge=1, le=104)
    teacher_id: str | None = Field(default=None, max_length=36)
    room_id: str | None = Field(default=None, max_length=36)


class MarkIn(Input):
    student_id: str = Field(min_length=1, max_length=36)
    mark: Mark = Field(strict=False)
    source: Literal["teacher", "desk"] = "teacher"


class LeaveIn(Input):
    student_id: str = Field(min_length=1, max_length=36)
    reason: str | None = Field(default=None, max_length=500)


class MakeupIn(Input):
    student_id: str = Field(min_length=1, max_length=36)
    starts_at: str = Field(min_length=16, max_length=40)
    ends_at: str = Field(min_length=16, max_length=40)
    teacher_id: str | None = Field(default=None, max_length=36)
    room_id: str | None = Field(default=None, max_length=36)


class ReconfirmIn(Input):
    student_id: str = Field(min_length=1, max_length=36)
    mark: Mark = Field(strict=False)
    reason: str = Field(min_length=1, max_length=500)


class TransferIn(Input):
    to_class_id: str = Field(min_length=1, max_length=36)
    on: str = Field(pattern=DATE)
    reason: str | None = Field(default=None, max_length=500)


def _date(text: str | None, field: str, default: date | None = None) -> date:
    if text is None and default is not None:
        return default
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        raise InvalidInput([{"field": field, "message": "not a date like 2026-12-01"}]) from None


def _listing(table: Any) -> Callable[[Connection, str], list[dict[str, Any]]]:
    def read(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in conn.execute(select(table).where(table.c.campus_id == campus_id,
                                                                  table.c.deleted.is_(False))).mappings()]
    return read


def lessons_between(conn: Connection, ctx: CampusContext, start: date, end: date) -> list[dict[str, Any]]:
    """The campus's lessons that start on its days ``start`` to ``end`` (its own time zone)."""
    bounds = ctx.day_bounds(start, end)
    return [dict(r) for r in conn.execute(select(lessons).where(
        lessons.c.campus_id == ctx.id, lessons.c.deleted.is_(False),
        lessons.c.starts_at >= bounds[0], lessons.c.starts_at < bounds[1]).order_by(lessons.c.starts_at)).mappings()]


def _enrolments(conn: Connection, class_id: str | None, student_id: str | None) -> list[dict[str, Any]]:
    where: ColumnElement[bool] = enrolments.c.deleted.is_(False)
    if class_id:
        where &= enrolments.c.class_id == class_id
    if student_id:
        where &= enrolments.c.student_id == student_id
    return [dict(r) for r in conn.execute(select(enrolments).where(where).order_by(enrolments.c.id)).mappings()]


def _lesson_with_attendance(conn: Connection, lesson_id: str) -> dict[str, Any]:
    lesson = sch.lesson_row(conn, lesson_id)
    return {**lesson, "attendance": att.attendance_of(conn, lesson["id"])}


RoomOut = row_model(rooms, "Room")
CourseOut = row_model(courses, "Course")
ClassOut = row_model(classes, "Class")
EnrolmentOut = row_model(enrolments, "Enrolment")
LessonOut = row_model(lessons, "Lesson")
MarkOut = row_model(attendance_marks, "AttendanceMark")
ConfirmationOut = row_model(attendance_confirmations, "AttendanceConfirmation", entry_ids=list[str])
LeaveOut = row_model(leave_requests, "LeaveRequest")


class RosterEntry(Output):
    """A student of a lesson with their latest mark, confirmed mark and the hours it deducted."""

    student_id: str
    name: str
    number: str
    line_id: str
    mark: str | None
    confirmed_mark: str | None
    deducted_hours_x100: int | None


LessonDetailOut = row_model(lessons, "LessonDetail", attendance=list[RosterEntry])


class ScheduledOut(Output):
    lessons: list[LessonOut]  # type: ignore[valid-type]
    count: int


class ConfirmedOut(Output):
    confirmed: list[ConfirmationOut]  # type: ignore[valid-type]


def register(api: Api) -> None:
    def listing(path: str, summary: str, table: Any, item: type[Output]) -> None:
        @api.route(path, "GET", summary, "teaching.read", tags=["teaching"],
                   response=items_model(item, f"{item.__name__}List"))
        async def index(request: Request) -> Response:
            node = request.app.state.node
            return json_response({"items": await node.query(_listing(table), node.config.campus_id)})

    def creating(path: str, summary: str, action: str, body: type[Input], case: UseCase[..., Any],
                 tags: list[str], call: Callable[[Request, Any], tuple[tuple[Any, ...], dict[str, Any]]],
                 shape: Callable[[Any], Any] = lambda row: row, response: Any = None) -> None:
        """A POST route: parse the body, run the use case, answer 201 with what it returns."""
        @api.route(path, "POST", summary, action, body=body, tags=tags, response=response)
        @performs(case)
        async def create(request: Request) -> Response:
            args, kwargs = call(request, await parse_body(request, body))
            return json_response(shape(await request.app.state.node.perform(request, case, *args, **kwargs)), 201)

    creating("/rooms", "Add a room", "teaching.manage", RoomIn, cases.add_room, ["teaching"],
             lambda r, i: ((), i.model_dump()), response=RoomOut)
    listing("/rooms", "This campus's rooms", rooms, RoomOut)
    creating("/courses", "Add a course (hours deducted per lesson)", "teaching.manage", CourseIn, cases.add_course,
             ["teaching"], lambda r, i: ((), i.model_dump()), response=CourseOut)
    listing("/courses", "This campus's courses", courses, CourseOut)
    creating("/classes", "Open a class", "teaching.manage", ClassIn, cases.add_class, ["teaching"],
             lambda r, i: ((), i.model_dump()), response=ClassOut)
    listing("/classes", "This campus's classes", classes, ClassOut)
    creating("/classes/{class_id}/enrolments", "Put a student in a class, paid from a contract line",
             "teaching.manage", EnrolmentIn, cases.enrol, ["teaching"],
             lambda r, i: ((r.path_params["class_id"], i.student_id, i.line_id,
                            _date(i.joined_on, "joined_on") if i.joined_on else None), {}), response=EnrolmentOut)
    creating("/classes/{class_id}/lessons", "Book one lesson (409 names a clash)", "teaching.manage", LessonIn,
             cases.book_lesson, ["teaching"],
             lambda r, i: ((r.path_params["class_id"], sch.parse_instant(i.starts_at, "starts_at"),
                            sch.parse_instant(i.ends_at, "ends_at")),
                           {"teacher_id": i.teacher_id, "room_id": i.room_id, "kind": i.kind}), response=LessonOut)
    creating("/classes/{class_id}/schedules", "Book a recurring run of lessons (all or none)", "teaching.manage",
             ScheduleIn, cases.schedule_recurring, ["teaching"],
             lambda r, i: ((r.path_params["class_id"], list(i.weekdays), i.start, i.end,
                            _date(i.first_date, "first_date"), i.weeks),
                           {"teacher_id": i.teacher_id, "room_id": i.room_id}),
             shape=lambda made: {"lessons": made, "count": len(made)}, response=ScheduledOut)

    @api.route("/lessons", "GET", "Lessons on the campus's days ?from= to ?to= (dates; default today)",
               "teaching.read", tags=["teaching"], response=items_model(LessonOut, "LessonList"))
    async def list_lessons(request: Request) -> Response:
        node = request.app.state.node
        ctx = node.ctx
        start = _date(request.query_params.get("from") or request.query_params.get("date"), "from", ctx.today())
        end = _date(request.query_params.get("to"), "to", start)
        return json_response({"items": await node.query(lessons_between, ctx, start, end)})

    @api.route("/lessons/{lesson_id}", "GET", "A lesson with its students and their marks", "teaching.read",
               tags=["teaching"], response=LessonDetailOut)
    async def show_lesson(request: Request) -> Response:
        return json_response(await request.app.state.node.query(_lesson_with_attendance,
                                                                request.path_params["lesson_id"]))

    @api.route("/lessons/{lesson_id}/cancel", "POST", "Cancel a lesson", "teaching.manage", tags=["teaching"],
               response=LessonOut)
    @performs(cases.cancel_lesson)
    async def cancel(request: Request) -> Response:
        return json_response(await request.app.state.node.perform(request, cases.cancel_lesson,
                                                                  request.path_params["lesson_id"]))

    creating("/lessons/{lesson_id}/marks", "Mark a student (teacher or front desk)", "attendance.mark", MarkIn,
             cases.record_mark, ["attendance"],
             lambda r, i: ((r.path_params["lesson_id"], i.student_id, i.mark, i.source), {}), response=MarkOut)
    creating("/lessons/{lesson_id}/leave", "Record a leave request (请假)", "attendance.mark", LeaveIn,
             cases.request_leave, ["attendance"],
             lambda r, i: ((r.path_params["lesson_id"], i.student_id, i.reason), {}), response=LeaveOut)
    creating("/lessons/{lesson_id}/makeups", "Book a make-up lesson (补课) for a student who missed it",
             "teaching.manage", MakeupIn, cases.book_makeup, ["teaching"],
             lambda r, i: ((r.path_params["lesson_id"], i.student_id, sch.parse_instant(i.starts_at, "starts_at"),
                            sch.parse_instant(i.ends_at, "ends_at")),
                           {"teacher_id": i.teacher_id, "room_id": i.room_id}), response=LessonOut)

    @api.route("/lessons/{lesson_id}/confirm", "POST", "Confirm attendance and deduct hours (课时确认)",
               "attendance.confirm", tags=["attendance"], response=ConfirmedOut)
    @performs(cases.confirm_lesson)
    async def confirm(request: Request) -> Response:
        made = await request.app.state.node.perform(request, cases.confirm_lesson, request.path_params["lesson_id"])
        return json_response({"confirmed": made}, 201)

    creating("/lessons/{lesson_id}/reconfirm", "Correct a confirmed mark: reverse and post again",
             "attendance.reconfirm", ReconfirmIn, cases.reconfirm, ["attendance"],
             lambda r, i: ((r.path_params["lesson_id"], i.student_id, i.mark, i.reason), {}),
             response=ConfirmationOut)
    creating("/enrolments/{enrolment_id}/transfer", "Move a student to another class (转班)", "teaching.manage",
             TransferIn, cases.transfer_class, ["teaching"],
             lambda r, i: ((r.path_params["enrolment_id"], i.to_class_id, _date(i.on, "on"), i.reason), {}),
             response=EnrolmentOut)

    @api.route("/enrolments", "GET", "Enrolments of a class (?class_id=) or a student (?student_id=)",
               "teaching.read", tags=["teaching"], response=items_model(EnrolmentOut, "EnrolmentList"))
    async def list_enrolments(request: Request) -> Response:
        params = request.query_params
        rows = await request.app.state.node.query(_enrolments, params.get("class_id"), params.get("student_id"))
        return json_response({"items": rows})

    @api.route("/attendance/export.xlsx", "GET", "Attendance between ?from= and ?to= as an Excel file",
               "attendance.export", tags=["attendance"])
    @performs(cases.export_attendance)
    async def export(request: Request) -> Response:
        node = request.app.state.node
        start = _date(request.query_params.get("from"), "from", node.ctx.today())
        end = _date(request.query_params.get("to"), "to", start)
        rows = await node.perform(request, cases.export_attendance, start, end, "attendance")
        content = await node.blocking(attendance_workbook, rows)
        return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"content-disposition": f'attachment; filename="attendance-{start}-{end}.xlsx"'})
