"""Teaching screens: the day's lessons, one lesson's roster with marks and confirmation, and
a printable attendance sheet."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from campus.node.screens import TEMPLATES
from campus.node.teaching import attendance as att
from campus.node.teaching import use_cases as cases
from campus.node.teaching.api import ReconfirmIn
from campus.node.teaching.scheduling import lesson_row
from campus.node.teaching.setup_screens import lookups
from campus.node.workbench.labels import labels
from campus.schema.context import CampusContext
from campus.schema.tables import (
    attendance_marks,
    classes,
    kiosk_devices,
    leave_requests,
    lessons,
    rooms,
    students,
    users,
)
from campus.web.auth import actor_of
from campus.web.forms import form_model
from campus.web.i18n import gettext_ as _
from campus.web.templating import form_action, render
from campus.web.usecase import performs


def _day(request: Request, name: str = "day") -> date:
    try:
        return date.fromisoformat(request.query_params.get(name, ""))
    except ValueError:
        return request.app.state.node.ctx.today()


def _local(text: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(zone).strftime("%H:%M")


def day_sheet(conn: Connection, ctx: CampusContext, day: date) -> tuple[list[Any], list[Any]]:
    """The campus's lessons on its day ``day`` and the kiosk check-ins that matched none."""
    bounds = ctx.day_bounds(day)
    found = conn.execute(select(lessons, classes.c.name.label("class_name"), rooms.c.name.label("room_name"),
                                users.c.display_name.label("teacher_name"))
                         .join(classes, classes.c.id == lessons.c.class_id)
                         .outerjoin(rooms, rooms.c.id == lessons.c.room_id)
                         .outerjoin(users, users.c.id == lessons.c.teacher_id)
                         .where(lessons.c.campus_id == ctx.id, lessons.c.deleted.is_(False),
                                lessons.c.starts_at >= bounds[0], lessons.c.starts_at < bounds[1])
                         .order_by(lessons.c.starts_at)).mappings().all()
    # Kiosk check-ins that matched no lesson: the front desk sorts them out by hand.
    stray = conn.execute(select(attendance_marks.c.recorded_at, attendance_marks.c.device_time,
                                students.c.name, students.c.number, kiosk_devices.c.name.label("device"))
                         .join(students, students.c.id == attendance_marks.c.student_id)
                         .outerjoin(kiosk_devices, kiosk_devices.c.id == attendance_marks.c.device_id)
                         .where(attendance_marks.c.campus_id == ctx.id,
                                attendance_marks.c.lesson_id.is_(None),
                                attendance_marks.c.recorded_at >= bounds[0],
                                attendance_marks.c.recorded_at < bounds[1])
                         .order_by(attendance_marks.c.recorded_at)).mappings().all()
    return list(found), list(stray)


async def schedule_page(request: Request) -> Response:
    """The lessons of one day at this campus, in the campus's time."""
    node = request.app.state.node
    ctx = node.ctx
    zone = ctx.zone
    day = _day(request)
    found, stray = await node.query(day_sheet, ctx, day)
    shown = [{**dict(r), "from": _local(r["starts_at"], zone), "to": _local(r["ends_at"], zone)} for r in found]
    return render(TEMPLATES, request, "schedule.html", {
        "app_title": node.config.campus_name, "day": day.isoformat(), "lessons": shown,
        "previous": (day - timedelta(days=1)).isoformat(), "next": (day + timedelta(days=1)).isoformat(),
        "stray": [dict(r) for r in stray]})


async def lesson_page(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal
    zone = node.ctx.zone

    def read(conn: Connection) -> tuple[Any, ...]:
        lesson = lesson_row(conn, request.path_params["lesson_id"])
        roster = att.attendance_of(conn, lesson["id"])
        leaves = set(conn.execute(select(leave_requests.c.student_id).where(
            leave_requests.c.lesson_id == lesson["id"])).scalars())
        names = dict(conn.execute(select(users.c.id, users.c.display_name).where(
            users.c.id == lesson["teacher_id"])).all())
        room = conn.execute(select(rooms.c.name).where(rooms.c.id == lesson["room_id"])).scalar() \
            if lesson["room_id"] else None
        return (lesson, roster, conn.execute(select(classes.c.name).where(classes.c.id == lesson["class_id"])).scalar(),
                leaves, names.get(lesson["teacher_id"]), room, lookups(conn, node.config.campus_id))

    lesson, roster, class_name, leaves, teacher_name, room_name, choices = await node.query(read)
    campus_id = node.config.campus_id
    return render(TEMPLATES, request, "lesson.html", {
        "app_title": node.config.campus_name, "lesson": lesson, "roster": roster, "class_name": class_name,
        "when": f"{_local(lesson['starts_at'], zone)}–{_local(lesson['ends_at'], zone)}",
        "from": _local(lesson["starts_at"], zone), "to": _local(lesson["ends_at"], zone),
        "day": datetime.fromisoformat(lesson["starts_at"].replace("Z", "+00:00")).astimezone(zone).date().isoformat(),
        "marks": att.MARKS, "may_mark": viewer.can("attendance.mark", campus_id),
        "may_confirm": viewer.can("attendance.confirm", campus_id),
        "may_reconfirm": viewer.can("attendance.reconfirm", campus_id),
        "may_manage": viewer.can("teaching.manage", campus_id), "leaves": leaves, "teacher_name": teacher_name,
        "room_name": room_name, "choices": choices, "L": labels()})


@performs(cases.roll_call)
async def lesson_marks(request: Request) -> Response:
    """Mark every student of the lesson at once (the teacher's roll call), and confirm if asked."""
    node = request.app.state.node
    lesson_id = request.path_params["lesson_id"]

    def roll_call(form: FormData) -> str:
        marks = {key[len("mark-"):]: str(value) for key, value in form.items() if key.startswith("mark-")}
        confirmed = cases.roll_call(node.store, node.ctx, actor_of(request), lesson_id, marks, bool(form.get("confirm")))
        return _("Attendance confirmed") if confirmed else _("Marks saved")

    return await form_action(request, f"/lessons/{lesson_id}", roll_call)


@performs(cases.reconfirm)
async def lesson_reconfirm(request: Request) -> Response:
    node = request.app.state.node
    lesson_id = request.path_params["lesson_id"]

    def correct(form: FormData) -> str:
        given = form_model(form, ReconfirmIn)
        cases.reconfirm(node.store, node.ctx, actor_of(request), lesson_id, given.student_id, given.mark,
                        given.reason)
        return _("Attendance corrected")

    return await form_action(request, f"/lessons/{lesson_id}", correct)


@performs(cases.export_attendance)
async def attendance_print(request: Request) -> Response:
    """A printable attendance sheet for a period (the same rows as the Excel export)."""
    node = request.app.state.node
    start, end = _day(request, "from"), _day(request, "to")
    rows: list[dict[str, Any]] = await node.perform(request, cases.export_attendance, start, end, "attendance print")
    return render(TEMPLATES, request, "attendance_print.html", {
        "app_title": node.config.campus_name, "rows": rows, "start": start.isoformat(), "end": end.isoformat()})
