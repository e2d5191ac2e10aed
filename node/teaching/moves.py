"""Moving one lesson to another time, teacher or room (调课), and the clash preview a schedule form
shows while it is typed: which of the lessons a recurring schedule would book clash, and with
whom (a teacher, a room or a student already in a lesson then), before anything is saved."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import Connection, select
from starlette.requests import Request
from starlette.responses import Response

from campus.node.context import NodeContext, NodeWork
from campus.node.teaching import scheduling as sch
from campus.node.teaching.api import ScheduleIn
from campus.schema.errors import Conflict, Invalid
from campus.schema.tables import (
    attendance_confirmations,
    attendance_marks,
    classes,
    enrolments,
    leave_requests,
    lesson_students,
    lessons,
    rooms,
    students,
    users,
)
from campus.schema.times import utc_text
from campus.web.api import Api, Input, json_response, parse_body, row_model
from campus.web.forms import form_model
from campus.web.usecase import performs, use_case


class LessonMoveIn(Input):
    starts_at: str = Field(min_length=16, max_length=40)
    ends_at: str = Field(min_length=16, max_length=40)
    teacher_id: str | None = Field(default=None, max_length=36)
    room_id: str | None = Field(default=None, max_length=36)


@use_case("teaching.manage")
def move_lesson(work: NodeWork, lesson_id: str, starts: datetime, ends: datetime, *, teacher_id: str | None = None,
                room_id: str | None = None) -> dict[str, Any]:
    """Move a lesson not yet held: it is cancelled and the same students are booked at the new time
    (checked for clashes like any booking), with its kind, schedule and leave requests; a lesson
    with attendance marked or confirmed has happened and stays where it was."""
    old = sch.lesson_row(work.conn, lesson_id)
    if old["status"] != "scheduled":
        raise Conflict(f"the lesson is {old['status']}", lesson_status=old["status"])
    for table in (attendance_confirmations, attendance_marks):
        if work.conn.execute(select(table.c.id).where(table.c.lesson_id == lesson_id)).first():
            raise Conflict("the lesson already has attendance: it took place and does not move",
                           lesson_id=lesson_id)
    seats = [(r.student_id, r.enrolment_id, r.line_id) for r in work.conn.execute(
        select(lesson_students.c.student_id, lesson_students.c.enrolment_id, lesson_students.c.line_id).where(
            lesson_students.c.lesson_id == lesson_id, lesson_students.c.deleted.is_(False)))]
    sch.cancel_lesson(work.uow, lesson_id)
    new = sch.book_lesson(work.uow, work.ctx.id, old["class_id"], starts, ends,
                          teacher_id=teacher_id or old["teacher_id"], room_id=room_id or old["room_id"],
                          kind=old["kind"], makeup_for_lesson_id=old["makeup_for_lesson_id"],
                          schedule_id=old["schedule_id"], today=work.ctx.today(),
                          expiry_policy=work.ctx.expiry_policy, seats=seats)
    for leave in work.conn.execute(select(leave_requests).where(leave_requests.c.lesson_id == lesson_id)).mappings():
        work.uow.insert("leave_requests", {"campus_id": leave["campus_id"], "lesson_id": new["id"],
                                           "student_id": leave["student_id"], "reason": leave["reason"],
                                           "by_user_id": leave["by_user_id"], "created_at": work.ctx.now_text()})
    work.audit("lesson_moved", target_table="lessons", target_id=lesson_id,
               before={k: old[k] for k in ("starts_at", "ends_at", "teacher_id", "room_id")},
               after={"lesson_id": new["id"], **{k: new[k] for k in ("starts_at", "ends_at", "teacher_id", "room_id")}})
    return new


def schedule_dates(weekdays: list[str], first_date: date, weeks: int) -> list[date]:
    """The days a recurring schedule books, as :func:`~campus.node.teaching.scheduling.schedule_recurring`
    counts them."""
    days = {sch.WEEKDAYS[name.lower()[:3]] for name in weekdays if name.lower()[:3] in sch.WEEKDAYS}
    try:
        return [first_date + timedelta(days=d) for d in range(weeks * 7)
                if (first_date + timedelta(days=d)).weekday() in days]
    except OverflowError:
        raise Invalid("first_date", "too far in the future") from None


def preview_schedule(conn: Connection, ctx: NodeContext, class_id: str, given: ScheduleIn) -> dict[str, Any]:
    """Each lesson the schedule would book, with what it clashes with: the same check the booking
    makes (a teacher, a room or a student already in a lesson at that time), read only."""
    klass = conn.execute(select(classes).where(classes.c.id == class_id, classes.c.deleted.is_(False))
                         ).mappings().first()
    if klass is None:
        raise Invalid("class_id", f"no class {class_id}")
    try:
        local_start, local_end = time.fromisoformat(given.start), time.fromisoformat(given.end)
    except ValueError:
        raise Invalid("start", "times look like 19:00") from None
    if local_end <= local_start:
        raise Invalid("end", "a lesson ends after it starts")
    try:
        first = date.fromisoformat(given.first_date)
    except ValueError:
        raise Invalid("first_date", f"{given.first_date!r} is not a date") from None
    dates = schedule_dates([str(w) for w in given.weekdays], first, given.weeks)
    if len(dates) > sch.MAX_OCCURRENCES:
        raise Invalid("weeks", f"at most {sch.MAX_OCCURRENCES} lessons at once")
    teacher_id = given.teacher_id or klass["teacher_id"]
    room_id = given.room_id or klass["room_id"]
    student_ids = list(conn.execute(select(enrolments.c.student_id).where(
        enrolments.c.class_id == class_id, enrolments.c.status == "active", enrolments.c.deleted.is_(False))).scalars())
    found: list[dict[str, Any]] = []
    for day in dates:
        starts = datetime.combine(day, local_start, ctx.zone)
        ends = datetime.combine(day, local_end, ctx.zone)
        clashes: list[dict[str, Any]] = []
        try:
            # the booking's own check, so the preview and the save cannot disagree
            sch._clashes(conn, sch.Slot(utc_text(starts), utc_text(ends)), teacher_id, room_id, student_ids)
        except sch.Clash as exc:
            clashes = list(exc.facts.get("clashes", []))
        found.append({"date": day.isoformat(), "weekday": list(sch.WEEKDAYS)[day.weekday()], "from": given.start,
                      "to": given.end, "starts_at": utc_text(starts), "ends_at": utc_text(ends), "clashes": clashes})
    for lesson in found:
        lesson["clashes"] = describe_clashes(conn, ctx, lesson["clashes"])
    return {"class_id": class_id, "teacher_id": teacher_id, "room_id": room_id, "count": len(found),
            "clashing": sum(1 for lesson in found if lesson["clashes"]), "lessons": found}


def describe_clashes(conn: Connection, ctx: NodeContext, clashes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each clash with who it is about by name (the teacher, room or student) and the class and local
    time of the lesson already booked then."""
    if not clashes:
        return []
    booked = {r.id: r for r in conn.execute(select(lessons.c.id, lessons.c.starts_at, lessons.c.ends_at,
                                                   classes.c.name).outerjoin(classes, classes.c.id == lessons.c.class_id)
                                            .where(lessons.c.id.in_({c["lesson_id"] for c in clashes})))}
    who: dict[str, dict[str, str]] = {}
    for kind, table, column in (("teacher", users, users.c.display_name), ("room", rooms, rooms.c.name),
                                ("student", students, students.c.name)):
        ids = {c["id"] for c in clashes if c["kind"] == kind}
        who[kind] = dict(conn.execute(select(table.c.id, column).where(table.c.id.in_(ids))).all()) if ids else {}
    described = []
    for clash in clashes:
        other = booked.get(clash["lesson_id"])
        described.append({**clash, "name": who[clash["kind"]].get(clash["id"], clash["id"]),
                          "class_name": other.name if other else "",
                          "at": (f"{ctx.local(other.starts_at):%Y-%m-%d %H:%M}–{ctx.local(other.ends_at):%H:%M}"
                                 if other else clash.get("starts_at", ""))})
    return described


def register(api: Api) -> None:
    @api.route("/lessons/{lesson_id}/move", "POST", "Move a lesson not yet held to another time, teacher or room "
               "(调课; 409 names a clash)", "teaching.manage", body=LessonMoveIn, tags=["teaching"],
               response=row_model(lessons, "Lesson"))
    @performs(move_lesson)
    async def move(request: Request) -> Response:
        given = await parse_body(request, LessonMoveIn)
        row = await request.app.state.node.perform(
            request, move_lesson, request.path_params["lesson_id"], sch.parse_instant(given.starts_at, "starts_at"),
            sch.parse_instant(given.ends_at, "ends_at"), teacher_id=given.teacher_id, room_id=given.room_id)
        return json_response(row, 201)

    @api.route("/classes/{class_id}/schedules/preview", "GET", "The lessons a recurring schedule would book "
               "(?weekdays=mon&weekdays=thu&start=19:00&end=20:30&first_date=&weeks=&teacher_id=&room_id=), "
               "each with its clashes; writes nothing", "teaching.manage", tags=["teaching"])
    async def preview(request: Request) -> Response:
        node = request.app.state.node
        given = form_model(request.query_params, ScheduleIn)  # type: ignore[arg-type]  # a query reads like a form
        return json_response(await node.query(preview_schedule, node.ctx, request.path_params["class_id"], given))
