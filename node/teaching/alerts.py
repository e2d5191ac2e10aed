"""Attendance alerts for the academic advisor (班主任) and the consultant: a run of absences,
or a student whose lessons keep changing (leave, make-ups, transfers)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from campus.node.teaching.attendance import TeachingSettings
from campus.schema.tables import (
    attendance_confirmations,
    class_transfers,
    classes,
    contract_lines,
    contracts,
    leave_requests,
    lesson_students,
    lessons,
    students,
)

CHANGE_WINDOW = timedelta(days=30)


def _watchers(conn: Connection, class_id: str | None, line_id: str) -> set[str]:
    """Who follows this student: the class teacher of the class and the consultant who signed the contract."""
    found = set()
    if class_id:
        advisor = conn.execute(select(classes.c.class_teacher_id).where(classes.c.id == class_id)).scalar()
        if advisor:
            found.add(advisor)
    consultant = conn.execute(select(contracts.c.consultant_id).join(
        contract_lines, contract_lines.c.contract_id == contracts.c.id).where(contract_lines.c.id == line_id)).scalar()
    if consultant:
        found.add(consultant)
    return found


def teaching_reminders(conn: Connection, user_id: str, campus_id: str, now: datetime,
                       settings: TeachingSettings) -> list[dict[str, Any]]:
    rows = conn.execute(select(attendance_confirmations.c.id, attendance_confirmations.c.student_id,
                               attendance_confirmations.c.mark, attendance_confirmations.c.line_id,
                               attendance_confirmations.c.supersedes_id, lessons.c.starts_at, lessons.c.class_id)
                        .join(lessons, lessons.c.id == attendance_confirmations.c.lesson_id)
                        .where(attendance_confirmations.c.campus_id == campus_id)
                        .order_by(lessons.c.starts_at, attendance_confirmations.c.hlc)).all()
    superseded = {r.supersedes_id for r in rows if r.supersedes_id}
    history: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        if row.id not in superseded:
            history[row.student_id].append(row)
    names = dict(conn.execute(select(students.c.id, students.c.number)).all())
    found = []
    streak = settings.absence_alert_streak
    for student_id, confirmed in history.items():
        last = confirmed[-streak:]
        if streak > 0 and len(last) == streak and all(r.mark == "absent" for r in last):
            if user_id in _watchers(conn, last[-1].class_id, last[-1].line_id):
                found.append({"student_id": student_id, "number": names.get(student_id, ""), "kind": "absence_streak",
                              "on": last[-1].starts_at[:10], "count": streak})
    since = (now - CHANGE_WINDOW).isoformat()
    changes: dict[str, int] = defaultdict(int)
    for student_id, count in conn.execute(select(leave_requests.c.student_id, func.count()).where(
            leave_requests.c.campus_id == campus_id, leave_requests.c.created_at >= since)
            .group_by(leave_requests.c.student_id)):
        changes[student_id] += count
    for student_id, count in conn.execute(select(class_transfers.c.student_id, func.count()).where(
            class_transfers.c.campus_id == campus_id, class_transfers.c.created_at >= since)
            .group_by(class_transfers.c.student_id)):
        changes[student_id] += count
    for student_id, count in conn.execute(select(lesson_students.c.student_id, func.count()).join(
            lessons, lessons.c.id == lesson_students.c.lesson_id).where(
            lessons.c.campus_id == campus_id, lessons.c.kind == "makeup", lessons.c.created_at >= since)
            .group_by(lesson_students.c.student_id)):
        changes[student_id] += count
    for student_id, count in changes.items():
        if count < settings.lesson_change_alert:
            continue
        seat = conn.execute(select(lesson_students.c.line_id, lessons.c.class_id).join(
            lessons, lessons.c.id == lesson_students.c.lesson_id).where(lesson_students.c.student_id == student_id)
            .order_by(lessons.c.starts_at.desc())).first()
        if seat and user_id in _watchers(conn, seat.class_id, seat.line_id):
            found.append({"student_id": student_id, "number": names.get(student_id, ""), "kind": "lesson_changes",
                          "on": now.date().isoformat(), "count": count})
    return found
