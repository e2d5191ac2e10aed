"""Attendance records out: rows for a period, as an Excel workbook or a printable page."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from campus.node.teaching.attendance import attendance_of
from campus.schema.quantities import LessonHours
from campus.schema.tables import classes, lessons
from campus.schema.times import local_days_utc
from campus.web.spreadsheets import append_safe

HEADERS = ["日期", "时间", "班级", "学号", "姓名", "考勤", "确认考勤", "扣课时"]
MARK_NAMES = {"present": "出勤", "late": "迟到", "leave": "请假", "absent": "旷课", "forfeited": "损课",
              "extra": "加课", None: ""}


def attendance_rows(conn: Connection, campus_id: str, start: date, end: date, timezone: str) -> list[dict[str, Any]]:
    zone = ZoneInfo(timezone)
    first, last = local_days_utc(start, end, timezone)
    found = conn.execute(select(lessons.c.id, lessons.c.starts_at, lessons.c.ends_at, classes.c.name).join(
        classes, classes.c.id == lessons.c.class_id).where(
        lessons.c.campus_id == campus_id, lessons.c.deleted.is_(False), lessons.c.status == "scheduled",
        lessons.c.starts_at >= first, lessons.c.starts_at < last).order_by(lessons.c.starts_at)).all()
    rows = []
    for lesson_id, starts_at, ends_at, class_name in found:
        begins = datetime.fromisoformat(starts_at.replace("Z", "+00:00")).astimezone(zone)
        ends = datetime.fromisoformat(ends_at.replace("Z", "+00:00")).astimezone(zone)
        for student in attendance_of(conn, lesson_id):
            rows.append({"date": begins.date().isoformat(), "time": f"{begins:%H:%M}–{ends:%H:%M}",
                         "class": class_name, "number": student["number"], "name": student["name"],
                         "mark": MARK_NAMES[student["mark"]], "confirmed": MARK_NAMES[student["confirmed_mark"]],
                         "hours": str(LessonHours(student["deducted_hours_x100"]))
                         if student["deducted_hours_x100"] is not None else ""})
    return rows


def attendance_workbook(rows: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("考勤")
    append_safe(sheet, HEADERS)
    for row in rows:  # a name such as "=HYPERLINK(...)" is written as text, never as a live formula
        append_safe(sheet, [row["date"], row["time"], row["class"], row["number"], row["name"], row["mark"],
                            row["confirmed"], row["hours"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
