"""Attendance marks and their confirmation (课时确认), which posts the deduction to the
student's asset account; a re-confirmation with a reason reverses it and posts again."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select

from campus.node.finance import ledger
from campus.node.teaching.scheduling import lesson_roster, lesson_row
from campus.schema.errors import Conflict, Invalid
from campus.schema.ids import new_id
from campus.schema.tables import attendance_confirmations, attendance_marks, leave_requests
from campus.schema.times import utc_now_text
from campus.sync.capture import UnitOfWork


class Mark(StrEnum):
    PRESENT = "present"
    LATE = "late"
    LEAVE = "leave"  # 请假: no deduction
    ABSENT = "absent"  # 旷课: deducts per [teaching] absent_deducts
    FORFEITED = "forfeited"  # 损课: deducted
    EXTRA = "extra"  # 加课


MARKS = tuple(Mark)
SOURCES = ("kiosk", "teacher", "desk")


@dataclass(frozen=True)
class TeachingSettings:
    absent_deducts: bool = True  # 旷课 deducts the lesson's hours unless the campus says otherwise
    absence_alert_streak: int = 3
    lesson_change_alert: int = 3  # leave requests, make-ups and transfers in 30 days
    expiry_policy: str = "extension_required"
    timezone: str = "Asia/Shanghai"


def deducts(mark: str, settings: TeachingSettings) -> bool:
    if mark == "leave":
        return False
    if mark == "absent":
        return settings.absent_deducts
    return True


def record_mark(uow: UnitOfWork, lesson_id: str, student_id: str, mark: str, source: str, *,
                by_user_id: str | None = None, mark_id: str | None = None, device_id: str | None = None,
                device_time: str | None = None) -> dict[str, Any]:
    """One mark; the latest mark of a student in a lesson is the one confirmation uses."""
    if mark not in MARKS:
        raise Invalid("mark", f"one of {', '.join(MARKS)}")
    if source not in SOURCES:
        raise Invalid("source", f"one of {', '.join(SOURCES)}")
    lesson = lesson_row(uow.conn, lesson_id)
    if student_id not in {s["student_id"] for s in lesson_roster(uow.conn, lesson_id)}:
        raise Invalid("student_id", "the student is not in this lesson")
    row = {"campus_id": lesson["campus_id"], "lesson_id": lesson_id, "student_id": student_id, "mark": mark,
           "source": source, "device_id": device_id, "device_time": device_time, "recorded_at": utc_now_text(),
           "hlc": uow.timestamp(), "by_user_id": by_user_id}
    if mark_id:
        row["id"] = mark_id
    return {"id": uow.insert("attendance_marks", row), **row}


def current_marks(conn: Connection, lesson_id: str) -> dict[str, dict[str, Any]]:
    """Each student's latest mark in the lesson (by HLC, so marks from anywhere order the same)."""
    latest: dict[str, dict[str, Any]] = {}
    for row in conn.execute(select(attendance_marks).where(attendance_marks.c.lesson_id == lesson_id)
                            .order_by(attendance_marks.c.hlc, attendance_marks.c.id)).mappings():
        latest[row["student_id"]] = dict(row)
    return latest


def live_confirmations(conn: Connection, lesson_id: str) -> dict[str, dict[str, Any]]:
    """Per student, the confirmation no later one supersedes."""
    rows = [dict(r) for r in conn.execute(select(attendance_confirmations).where(
        attendance_confirmations.c.lesson_id == lesson_id).order_by(attendance_confirmations.c.hlc)).mappings()]
    superseded = {r["supersedes_id"] for r in rows if r["supersedes_id"]}
    return {r["student_id"]: r for r in rows if r["id"] not in superseded}


def _post(uow: UnitOfWork, lesson: dict[str, Any], seat: dict[str, Any], mark: str, settings: TeachingSettings,
          recorded_campus_id: str, by_user_id: str | None, reason: str | None,
          supersedes: dict[str, Any] | None) -> dict[str, Any]:
    """Reverse what ``supersedes`` posted, post the deduction for ``mark``, and record both in
    one confirmation (its id is made first so the entries can name it as their cause)."""
    hours = lesson["hours_x100"] if deducts(mark, settings) else 0
    confirmation_id = new_id()
    entry_ids: list[str] = []  # the deduction this confirmation stands for (its reversals name it as cause)
    if supersedes:
        for entry_id in json.loads(supersedes["entry_ids"]):
            ledger.reverse_entry(uow, entry_id, recorded_campus_id=recorded_campus_id, by_user_id=by_user_id,
                                 cause_table="attendance_confirmations", cause_id=confirmation_id)
    if hours:
        try:
            entry_ids += ledger.post_consumption(uow, seat["line_id"], hours, recorded_campus_id=recorded_campus_id,
                                                 cause_table="attendance_confirmations", cause_id=confirmation_id,
                                                 by_user_id=by_user_id)
        except Conflict as exc:
            raise Conflict(f"{seat.get('name', seat['student_id'])}: {exc.detail}; renew or extend the contract "
                           f"first", student_id=seat["student_id"], **exc.facts) from None
    row = {"id": confirmation_id, "campus_id": lesson["campus_id"], "lesson_id": lesson["id"],
           "student_id": seat["student_id"], "line_id": seat["line_id"], "mark": mark, "hours_x100": hours,
           "entry_ids": json.dumps(entry_ids), "supersedes_id": supersedes["id"] if supersedes else None,
           "reason": reason, "by_user_id": by_user_id, "confirmed_at": utc_now_text(), "hlc": uow.timestamp()}
    uow.insert("attendance_confirmations", row)
    return {**row, "entry_ids": entry_ids}


def confirm_lesson(uow: UnitOfWork, lesson_id: str, recorded_campus_id: str, by_user_id: str | None,
                   settings: TeachingSettings) -> list[dict[str, Any]]:
    """Confirm every student of the lesson not yet confirmed: their latest mark, else leave when
    leave was requested, else absent. Confirming again confirms only who was added since."""
    lesson = lesson_row(uow.conn, lesson_id)
    if lesson["status"] != "scheduled":
        raise Conflict(f"the lesson is {lesson['status']}", lesson_status=lesson["status"])
    marks = current_marks(uow.conn, lesson_id)
    on_leave = {r.student_id for r in uow.conn.execute(select(leave_requests.c.student_id).where(
        leave_requests.c.lesson_id == lesson_id))}
    done = live_confirmations(uow.conn, lesson_id)
    made = []
    for seat in lesson_roster(uow.conn, lesson_id):
        if seat["student_id"] in done:
            continue
        mark = marks[seat["student_id"]]["mark"] if seat["student_id"] in marks else (
            "leave" if seat["student_id"] in on_leave else "absent")
        made.append(_post(uow, lesson, seat, mark, settings, recorded_campus_id, by_user_id, None, None))
    return made


def reconfirm(uow: UnitOfWork, lesson_id: str, student_id: str, mark: str, reason: str | None,
              recorded_campus_id: str, by_user_id: str | None, settings: TeachingSettings) -> dict[str, Any]:
    """Correct a confirmed mark: the earlier deduction is reversed and the new one posted."""
    if mark not in MARKS:
        raise Invalid("mark", f"one of {', '.join(MARKS)}")
    if not (reason and reason.strip()):
        raise Invalid("reason", "a re-confirmation needs a reason")
    lesson = lesson_row(uow.conn, lesson_id)
    previous = live_confirmations(uow.conn, lesson_id).get(student_id)
    if previous is None:
        raise Conflict("the student's attendance in this lesson is not confirmed yet", student_id=student_id)
    seat = next((s for s in lesson_roster(uow.conn, lesson_id) if s["student_id"] == student_id),
                {"student_id": student_id, "line_id": previous["line_id"]})
    return _post(uow, lesson, seat, mark, settings, recorded_campus_id, by_user_id, reason.strip(), previous)


def attendance_of(conn: Connection, lesson_id: str) -> list[dict[str, Any]]:
    """The roster with each student's latest mark and confirmed mark."""
    marks, confirmed = current_marks(conn, lesson_id), live_confirmations(conn, lesson_id)
    return [{"student_id": s["student_id"], "name": s["name"], "number": s["number"], "line_id": s["line_id"],
             "mark": marks.get(s["student_id"], {}).get("mark"),
             "confirmed_mark": confirmed.get(s["student_id"], {}).get("mark"),
             "deducted_hours_x100": confirmed.get(s["student_id"], {}).get("hours_x100")}
            for s in lesson_roster(conn, lesson_id)]
