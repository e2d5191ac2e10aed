"""``/api/v1`` rooms, courses, classes, enrolments, lessons, schedules, attendance."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from campus.node.teaching import attendance as att
from campus.node.teaching import scheduling as sch
from campus.node.teaching.export import attendance_rows, attendance_workbook
from campus.schema.accounts import record_audit
from campus.schema.tables import classes, courses, enrolments, lessons, rooms
from campus.web.api import Api, Input, json_response, parse_body
from campus.web.auth import client_ip
from campus.web.problems import InvalidInput

DATE = r"^\d{4}-\d{2}-\d{2}$"
TIME = r"^\d{2}:\d{2}$"
Mark = Literal["present", "late", "leave", "absent", "forfeited", "extra"]


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
    category: Literal["regular", "exam", "self_study", "online", "one_on_one"] = "regular"
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
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1, max_length=7)
    start: str = Field(pattern=TIME)
    end: str = Field(pattern=TIME)
    first_date: str = Field(pattern=DATE)
    weeks: int = Field(ge=1, le=104)
    teacher_id: str | None = Field(default=None, max_length=36)
    room_id: str | None = Field(default=None, max_length=36)


class MarkIn(Input):
    student_id: str = Field(min_length=1, max_length=36)
    mark: Mark
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
    mark: Mark
    reason: str = Field(min_length=1, max_length=500)


class TransferIn(Input):
    to_class_id: str = Field(min_length=1, max_length=36)
    on: str = Field(pattern=DATE)
    reason: str | None = Field(default=None, max_length=500)


def _date(text: str | None, field: str) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput([{"field": field, "message": "not a date like 2026-12-01"}]) from None


def _listing(conn, table, campus_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [dict(r) for r in conn.execute(select(table).where(table.c.campus_id == campus_id,
                                                              table.c.deleted.is_(False))).mappings()]


def register(api: Api) -> None:  # noqa: C901 (one route per use case)
    def node_of(request: Request):  # type: ignore[no-untyped-def]
        return request.app.state.node

    @api.route("/rooms", "POST", "Add a room", "teaching.manage", body=RoomIn, tags=["teaching"])
    async def add_room(request: Request) -> Response:
        room_in = await parse_body(request, RoomIn)
        node = node_of(request)
        with node.store.unit_of_work() as uow:
            return json_response(sch.add_room(uow, node.config.campus_id, **room_in.model_dump()), 201)

    @api.route("/rooms", "GET", "This campus's rooms", "teaching.read", tags=["teaching"])
    async def list_rooms(request: Request) -> Response:
        node = node_of(request)
        with node.store.read() as conn:
            return json_response({"items": _listing(conn, rooms, node.config.campus_id)})

    @api.route("/courses", "POST", "Add a course (hours deducted per lesson)", "teaching.manage", body=CourseIn,
               tags=["teaching"])
    async def add_course(request: Request) -> Response:
        course_in = await parse_body(request, CourseIn)
        node = node_of(request)
        with node.store.unit_of_work() as uow:
            return json_response(sch.add_course(uow, node.config.campus_id, **course_in.model_dump()), 201)

    @api.route("/courses", "GET", "This campus's courses", "teaching.read", tags=["teaching"])
    async def list_courses(request: Request) -> Response:
        node = node_of(request)
        with node.store.read() as conn:
            return json_response({"items": _listing(conn, courses, node.config.campus_id)})

    @api.route("/classes", "POST", "Open a class", "teaching.manage", body=ClassIn, tags=["teaching"])
    async def add_class(request: Request) -> Response:
        class_in = await parse_body(request, ClassIn)
        node = node_of(request)
        with node.store.unit_of_work() as uow:
            return json_response(sch.add_class(uow, node.config.campus_id, **class_in.model_dump()), 201)

    @api.route("/classes", "GET", "This campus's classes", "teaching.read", tags=["teaching"])
    async def list_classes(request: Request) -> Response:
        node = node_of(request)
        with node.store.read() as conn:
            return json_response({"items": _listing(conn, classes, node.config.campus_id)})

    @api.route("/classes/{class_id}/enrolments", "POST", "Put a student in a class, paid from a contract line",
               "teaching.manage", body=EnrolmentIn, tags=["teaching"])
    async def enrol(request: Request) -> Response:
        enrolment_in = await parse_body(request, EnrolmentIn)
        node = node_of(request)
        with node.store.unit_of_work() as uow:
            row = sch.enrol(uow, node.config.campus_id, request.path_params["class_id"], enrolment_in.student_id,
                            enrolment_in.line_id, _date(enrolment_in.joined_on, "joined_on"), date.today(),
                            node.config.expiry_policy)
        return json_response(row, 201)

    @api.route("/classes/{class_id}/lessons", "POST", "Book one lesson (409 names a clash)", "teaching.manage",
               body=LessonIn, tags=["teaching"])
    async def book(request: Request) -> Response:
        lesson_in = await parse_body(request, LessonIn)
        node = node_of(request)
        with node.store.unit_of_work() as uow:
            row = sch.book_lesson(
                uow, node.config.campus_id, request.path_params["class_id"],
                sch.parse_instant(lesson_in.starts_at, "starts_at"), sch.parse_instant(lesson_in.ends_at, "ends_at"),
                teacher_id=lesson_in.teacher_id, room_id=lesson_in.room_id, kind=lesson_in.kind,
                today=date.today(), expiry_policy=node.config.expiry_policy)
        return json_response(row, 201)

    @api.route("/classes/{class_id}/schedules", "POST", "Book a recurring run of lessons (all or none)",
               "teaching.manage", body=ScheduleIn, tags=["teaching"])
    async def schedule(request: Request) -> Response:
        schedule_in = await parse_body(request, ScheduleIn)
        node = node_of(request)
        with node.store.unit_of_work() as uow:
            made = sch.schedule_recurring(
                uow, node.config.campus_id, request.path_params["class_id"], list(schedule_in.weekdays),
                schedule_in.start, schedule_in.end, _date(schedule_in.first_date, "first_date"), schedule_in.weeks,
                node.config.timezone, today=date.today(), expiry_policy=node.config.expiry_policy,
                teacher_id=schedule_in.teacher_id, room_id=schedule_in.room_id)
        return json_response({"lessons": made, "count": len(made)}, 201)

    @api.route("/lessons", "GET", "Lessons between ?from= and ?to= (dates)", "teaching.read", tags=["teaching"])
    async def list_lessons(request: Request) -> Response:
        node = node_of(request)
        start = _date(request.query_params.get("from"), "from")
        end = _date(request.query_params.get("to") or start.isoformat(), "to")
        with node.store.read() as conn:
            rows = conn.execute(select(lessons).where(
                lessons.c.campus_id == node.config.campus_id, lessons.c.deleted.is_(False),
                lessons.c.starts_at >= start.isoformat(), lessons.c.starts_at < f"{end.isoformat()}T99")
                .order_by(lessons.c.starts_at)).mappings().all()
        return json_response({"items": [dict(r) for r in rows]})

    @api.route("/lessons/{lesson_id}", "GET", "A lesson with its students and their marks", "teaching.read",
               tags=["teaching"])
    async def show_lesson(request: Request) -> Response:
        with node_of(request).store.read() as conn:
            lesson = sch.lesson_row(conn, request.path_params["lesson_id"])
            return json_response({**lesson, "attendance": att.attendance_of(conn, lesson["id"])})

    @api.route("/lessons/{lesson_id}/cancel", "POST", "Cancel a lesson", "teaching.manage", tags=["teaching"])
    async def cancel(request: Request) -> Response:
        with node_of(request).store.unit_of_work() as uow:
            sch.cancel_lesson(uow, request.path_params["lesson_id"])
            return json_response(sch.lesson_row(uow.conn, request.path_params["lesson_id"]))

    @api.route("/lessons/{lesson_id}/marks", "POST", "Mark a student (teacher or front desk)", "attendance.mark",
               body=MarkIn, tags=["attendance"])
    async def mark(request: Request) -> Response:
        mark_in = await parse_body(request, MarkIn)
        with node_of(request).store.unit_of_work() as uow:
            row = att.record_mark(uow, request.path_params["lesson_id"], mark_in.student_id, mark_in.mark,
                                  mark_in.source, by_user_id=request.state.principal.user_id)
        return json_response(row, 201)

    @api.route("/lessons/{lesson_id}/leave", "POST", "Record a leave request (请假)", "attendance.mark",
               body=LeaveIn, tags=["attendance"])
    async def leave(request: Request) -> Response:
        leave_in = await parse_body(request, LeaveIn)
        with node_of(request).store.unit_of_work() as uow:
            row = sch.request_leave(uow, request.path_params["lesson_id"], leave_in.student_id, leave_in.reason,
                                    request.state.principal.user_id)
        return json_response(row, 201)

    @api.route("/lessons/{lesson_id}/makeups", "POST", "Book a make-up lesson (补课) for a student who missed it",
               "teaching.manage", body=MakeupIn, tags=["teaching"])
    async def makeup(request: Request) -> Response:
        makeup_in = await parse_body(request, MakeupIn)
        node = node_of(request)
        with node.store.unit_of_work() as uow:
            row = sch.book_makeup(uow, request.path_params["lesson_id"], makeup_in.student_id,
                                  sch.parse_instant(makeup_in.starts_at, "starts_at"),
                                  sch.parse_instant(makeup_in.ends_at, "ends_at"), teacher_id=makeup_in.teacher_id,
                                  room_id=makeup_in.room_id, today=date.today(),
                                  expiry_policy=node.config.expiry_policy)
        return json_response(row, 201)

    @api.route("/lessons/{lesson_id}/confirm", "POST", "Confirm attendance and deduct hours (课时确认)",
               "attendance.confirm", tags=["attendance"])
    async def confirm(request: Request) -> Response:
        node = node_of(request)
        with node.store.unit_of_work() as uow:
            made = att.confirm_lesson(uow, request.path_params["lesson_id"], node.config.campus_id,
                                      request.state.principal.user_id, node.teaching_settings)
        return json_response({"confirmed": made}, 201)

    @api.route("/lessons/{lesson_id}/reconfirm", "POST", "Correct a confirmed mark: reverse and post again",
               "attendance.reconfirm", body=ReconfirmIn, tags=["attendance"])
    async def reconfirm(request: Request) -> Response:
        reconfirm_in = await parse_body(request, ReconfirmIn)
        node, principal = node_of(request), request.state.principal
        lesson_id = request.path_params["lesson_id"]
        with node.store.unit_of_work() as uow:
            before = att.live_confirmations(uow.conn, lesson_id).get(reconfirm_in.student_id)
            row = att.reconfirm(uow, lesson_id, reconfirm_in.student_id, reconfirm_in.mark, reconfirm_in.reason,
                                node.config.campus_id, principal.user_id, node.teaching_settings)
            record_audit(uow, "attendance_changed", campus_id=node.config.campus_id, client_ip=client_ip(request),
                         user_id=principal.user_id, username=principal.username, target_table="lessons",
                         target_id=lesson_id, before={"mark": before["mark"] if before else None},
                         after={"mark": row["mark"], "reason": reconfirm_in.reason,
                                "student_id": reconfirm_in.student_id})
        return json_response(row, 201)

    @api.route("/enrolments/{enrolment_id}/transfer", "POST", "Move a student to another class (转班)",
               "teaching.manage", body=TransferIn, tags=["teaching"])
    async def transfer(request: Request) -> Response:
        transfer_in = await parse_body(request, TransferIn)
        node = node_of(request)
        with node.store.unit_of_work() as uow:
            row = sch.transfer_class(uow, request.path_params["enrolment_id"], transfer_in.to_class_id,
                                     _date(transfer_in.on, "on"), transfer_in.reason,
                                     request.state.principal.user_id, date.today(), node.config.expiry_policy)
        return json_response(row, 201)

    @api.route("/enrolments", "GET", "Enrolments of a class (?class_id=) or a student (?student_id=)",
               "teaching.read", tags=["teaching"])
    async def list_enrolments(request: Request) -> Response:
        params = request.query_params
        where = enrolments.c.deleted.is_(False)
        if params.get("class_id"):
            where &= enrolments.c.class_id == params["class_id"]
        if params.get("student_id"):
            where &= enrolments.c.student_id == params["student_id"]
        with node_of(request).store.read() as conn:
            rows = conn.execute(select(enrolments).where(where).order_by(enrolments.c.id)).mappings().all()
        return json_response({"items": [dict(r) for r in rows]})

    @api.route("/attendance/export.xlsx", "GET", "Attendance between ?from= and ?to= as an Excel file",
               "attendance.export", tags=["attendance"])
    async def export(request: Request) -> Response:
        node, principal = node_of(request), request.state.principal
        start = _date(request.query_params.get("from"), "from")
        end = _date(request.query_params.get("to") or start.isoformat(), "to")
        with node.store.read() as conn:
            rows = attendance_rows(conn, node.config.campus_id, start, end, node.config.timezone)
        content = await run_in_threadpool(attendance_workbook, rows)
        with node.store.unit_of_work() as uow:  # personal data left the system: audited
            record_audit(uow, "personal_data_exported", campus_id=node.config.campus_id,
                         client_ip=client_ip(request), user_id=principal.user_id, username=principal.username,
                         after={"what": "attendance", "from": start.isoformat(), "to": end.isoformat(),
                                "rows": len(rows)})
        return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"content-disposition": f'attachment; filename="attendance-{start}-{end}.xlsx"'})

