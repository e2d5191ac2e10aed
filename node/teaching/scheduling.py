"""Rooms, courses, classes, enrolments and lessons; booking refuses double-booked teachers,
rooms and students (back-to-back lessons are fine), and expired contracts follow the
campus's expiry policy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from campus.node.finance.contracts import schedulable
from campus.schema.errors import Conflict, Invalid, NotFound
from campus.schema.permissions import Role
from campus.schema.tables import (
    classes,
    contract_lines,
    contracts,
    courses,
    enrolments,
    lesson_students,
    lessons,
    role_grants,
    rooms,
    students,
)
from campus.schema.times import utc_now_text, utc_text
from campus.sync.capture import UnitOfWork


class ClassCategory(StrEnum):
    REGULAR = "regular"
    EXAM = "exam"  # 考试班
    SELF_STUDY = "self_study"  # 自习班
    ONLINE = "online"
    ONE_ON_ONE = "one_on_one"


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


CATEGORIES = tuple(ClassCategory)
WEEKDAYS = {day.value: i for i, day in enumerate(Weekday)}
MAX_OCCURRENCES = 200


class Clash(Conflict):
    """A teacher, room or student would be in two lessons at once."""


@dataclass(frozen=True)
class Slot:
    starts_at: str  # UTC ISO text
    ends_at: str


def parse_instant(text: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(field, f"{text!r} is not an ISO-8601 time like 2026-12-01T19:00:00+08:00") from None
    if moment.tzinfo is None:
        raise Invalid(field, "give the time with its offset (+08:00) or Z")
    return moment


def _row(conn: Connection, table: Any, row_id: str, what: str) -> dict[str, Any]:
    row = conn.execute(select(table).where(table.c.id == row_id)).mappings().first()
    if row is None or row.get("deleted"):
        raise NotFound(f"no {what} {row_id}", **{f"{what}_id": row_id})
    return dict(row)


def add_room(uow: UnitOfWork, campus_id: str, name: str, capacity: int = 0) -> dict[str, Any]:
    row = {"campus_id": campus_id, "name": name, "capacity": capacity, "created_at": utc_now_text(), "deleted": False}
    return {"id": uow.insert("rooms", row), **row}


def add_course(uow: UnitOfWork, campus_id: str, name: str, lesson_hours_x100: int,
               price_item_id: str | None = None, grade: str | None = None, subject: str | None = None,
               level: str | None = None, delivery: str | None = None) -> dict[str, Any]:
    if type(lesson_hours_x100) is not int or lesson_hours_x100 <= 0:
        raise Invalid("lesson_hours_x100", "must be a positive whole number of hundredths")
    row = {"campus_id": campus_id, "name": name, "price_item_id": price_item_id, "grade": grade,
           "subject": subject, "level": level, "delivery": delivery, "lesson_hours_x100": lesson_hours_x100,
           "created_at": utc_now_text(), "deleted": False}
    return {"id": uow.insert("courses", row), **row}


def _is_teacher(conn: Connection, user_id: str, campus_id: str) -> bool:
    return conn.execute(select(role_grants.c.id).where(
        role_grants.c.user_id == user_id, role_grants.c.deleted.is_(False),
        role_grants.c.role.in_((Role.TEACHER.value, Role.ACADEMIC_ADVISOR.value, Role.CAMPUS_MANAGER.value,
                                Role.HQ_ADMIN.value)),
        (role_grants.c.campus_id == campus_id) | role_grants.c.campus_id.is_(None))).first() is not None


def add_class(uow: UnitOfWork, campus_id: str, course_id: str, name: str, category: str = "regular",
              teacher_id: str | None = None, class_teacher_id: str | None = None, room_id: str | None = None,
              capacity: int | None = None) -> dict[str, Any]:
    _row(uow.conn, courses, course_id, "course")
    if category not in CATEGORIES:
        raise Invalid("category", f"one of {', '.join(CATEGORIES)}")
    if teacher_id and not _is_teacher(uow.conn, teacher_id, campus_id):
        raise Invalid("teacher_id", "not a teacher at this campus")
    if room_id:
        _row(uow.conn, rooms, room_id, "room")
    row = {"campus_id": campus_id, "course_id": course_id, "name": name, "category": category,
           "teacher_id": teacher_id, "class_teacher_id": class_teacher_id, "room_id": room_id,
           "capacity": capacity, "created_at": utc_now_text(), "deleted": False}
    return {"id": uow.insert("classes", row), **row}


def enrol(uow: UnitOfWork, campus_id: str, class_id: str, student_id: str, line_id: str,
          joined_on: date, today: date, expiry_policy: str) -> dict[str, Any]:
    """Put a student in a class, paid from one of their contract lines; they join the class's
    lessons from ``joined_on`` on (each checked for clashes)."""
    klass = _row(uow.conn, classes, class_id, "class")
    _row(uow.conn, students, student_id, "student")
    line = uow.conn.execute(select(contract_lines).where(contract_lines.c.id == line_id)).mappings().first()
    if line is None or line["student_id"] != student_id:
        raise Invalid("line_id", "not a contract line of this student")
    active = uow.conn.execute(select(enrolments.c.id).where(
        enrolments.c.class_id == class_id, enrolments.c.student_id == student_id,
        enrolments.c.status == "active", enrolments.c.deleted.is_(False))).first()
    if active:
        raise Conflict("the student is already in this class", enrolment_id=active.id)
    if klass["capacity"]:
        size = len(uow.conn.execute(select(enrolments.c.id).where(
            enrolments.c.class_id == class_id, enrolments.c.status == "active",
            enrolments.c.deleted.is_(False))).all())
        if size >= klass["capacity"]:
            raise Conflict(f"the class is full ({klass['capacity']})", capacity=klass["capacity"])
    _check_contract(uow.conn, line_id, today, expiry_policy)
    row: dict[str, Any]  # column values of mixed types
    row = {"campus_id": campus_id, "class_id": class_id, "student_id": student_id, "line_id": line_id,
           "joined_on": joined_on.isoformat(), "left_on": None, "status": "active", "transferred_to": None,
           "created_at": utc_now_text(), "deleted": False}
    row["id"] = uow.insert("enrolments", row)
    for lesson in _future_lessons(uow.conn, class_id, joined_on):
        _clashes(uow.conn, Slot(lesson["starts_at"], lesson["ends_at"]), None, None, [student_id], lesson["id"])
        _seat(uow, lesson, student_id, row["id"], line_id)
    return row


def _check_contract(conn: Connection, line_id: str, today: date, expiry_policy: str) -> None:
    contract = conn.execute(select(contracts).join(contract_lines, contract_lines.c.contract_id == contracts.c.id)
                            .where(contract_lines.c.id == line_id)).mappings().first()
    if contract is None:
        raise Invalid("line_id", "the line has no contract")
    allowed, why = schedulable(dict(contract), today, expiry_policy)
    if not allowed:
        raise Conflict(why or "contract expired", contract_id=contract["id"], expires_on=contract["expires_on"])


def _future_lessons(conn: Connection, class_id: str, since: date) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(lessons).where(
        lessons.c.class_id == class_id, lessons.c.status == "scheduled", lessons.c.deleted.is_(False),
        lessons.c.starts_at >= since.isoformat())).mappings()]


def _seat(uow: UnitOfWork, lesson: dict[str, Any], student_id: str, enrolment_id: str | None, line_id: str) -> str:
    return uow.insert("lesson_students", {
        "campus_id": lesson["campus_id"], "lesson_id": lesson["id"], "student_id": student_id,
        "enrolment_id": enrolment_id, "line_id": line_id, "created_at": utc_now_text(), "deleted": False})


def _overlapping(slot: Slot) -> Any:
    # Half-open intervals: a lesson ending at 19:00 and one starting at 19:00 do not clash.
    return (lessons.c.starts_at < slot.ends_at) & (lessons.c.ends_at > slot.starts_at) & \
        (lessons.c.status == "scheduled") & lessons.c.deleted.is_(False)


def _clashes(conn: Connection, slot: Slot, teacher_id: str | None, room_id: str | None,
             student_ids: list[str], ignore_lesson: str | None = None) -> None:
    found: list[dict[str, Any]] = []
    overlapping = _overlapping(slot)
    if ignore_lesson:
        overlapping &= lessons.c.id != ignore_lesson
    if teacher_id:
        found += [{"kind": "teacher", "id": teacher_id, "lesson_id": r.id, "starts_at": r.starts_at}
                  for r in conn.execute(select(lessons.c.id, lessons.c.starts_at).where(
                      overlapping, lessons.c.teacher_id == teacher_id))]
    if room_id:
        found += [{"kind": "room", "id": room_id, "lesson_id": r.id, "starts_at": r.starts_at}
                  for r in conn.execute(select(lessons.c.id, lessons.c.starts_at).where(
                      overlapping, lessons.c.room_id == room_id))]
    if student_ids:
        found += [{"kind": "student", "id": r.student_id, "lesson_id": r.id, "starts_at": r.starts_at}
                  for r in conn.execute(select(lessons.c.id, lessons.c.starts_at, lesson_students.c.student_id)
                                        .join(lesson_students, lesson_students.c.lesson_id == lessons.c.id).where(
                      overlapping, lesson_students.c.student_id.in_(student_ids),
                      lesson_students.c.deleted.is_(False)))]
    if found:
        first = found[0]
        raise Clash(f"the {first['kind']} {first['id']} already has a lesson at {first['starts_at']}",
                    clashes=found)


def _validate_slot(starts: datetime, ends: datetime) -> Slot:
    if ends <= starts:
        raise Invalid("ends_at", "a lesson ends after it starts")
    if ends - starts > timedelta(hours=12):
        raise Invalid("ends_at", "a lesson lasts at most 12 hours")
    return Slot(utc_text(starts), utc_text(ends))


def book_lesson(uow: UnitOfWork, campus_id: str, class_id: str, starts: datetime, ends: datetime, *,
                teacher_id: str | None = None, room_id: str | None = None, kind: str = "regular",
                makeup_for_lesson_id: str | None = None, schedule_id: str | None = None,
                today: date, expiry_policy: str, seats: list[tuple[str, str | None, str]] | None = None
                ) -> dict[str, Any]:
    """One lesson of a class; its students are the class's active enrolments (or ``seats``:
    (student, enrolment, line) for a make-up lesson)."""
    klass = _row(uow.conn, classes, class_id, "class")
    course = _row(uow.conn, courses, klass["course_id"], "course")
    teacher_id = teacher_id or klass["teacher_id"]
    room_id = room_id or klass["room_id"]
    if not teacher_id:
        raise Invalid("teacher_id", "the lesson needs a teacher")
    if kind not in ("regular", "makeup", "extra"):
        raise Invalid("kind", "one of regular, makeup, extra")
    slot = _validate_slot(starts, ends)
    if seats is None:
        seats = [(r.student_id, r.id, r.line_id) for r in uow.conn.execute(
            select(enrolments.c.id, enrolments.c.student_id, enrolments.c.line_id).where(
                enrolments.c.class_id == class_id, enrolments.c.status == "active",
                enrolments.c.deleted.is_(False), enrolments.c.joined_on <= slot.starts_at[:10]))]
    for _, _, line_id in seats:
        _check_contract(uow.conn, line_id, today, expiry_policy)
    _clashes(uow.conn, slot, teacher_id, room_id, [s for s, _, _ in seats])
    row = {"campus_id": campus_id, "class_id": class_id, "course_id": course["id"], "teacher_id": teacher_id,
           "room_id": room_id, "starts_at": slot.starts_at, "ends_at": slot.ends_at,
           "hours_x100": course["lesson_hours_x100"], "kind": kind, "makeup_for_lesson_id": makeup_for_lesson_id,
           "schedule_id": schedule_id, "status": "scheduled", "created_at": utc_now_text(), "deleted": False}
    row["id"] = uow.insert("lessons", row)
    for student_id, enrolment_id, line_id in seats:
        _seat(uow, row, student_id, enrolment_id, line_id)
    return row


def schedule_recurring(uow: UnitOfWork, campus_id: str, class_id: str, weekdays: list[str], start: str, end: str,
                       first_date: date, weeks: int, timezone: str, *, today: date, expiry_policy: str,
                       teacher_id: str | None = None, room_id: str | None = None) -> list[dict[str, Any]]:
    """"Every Tue and Thu 19:00–20:30 for 12 weeks": all the lessons, or none if any clashes."""
    days = []
    for name in weekdays:
        if name.lower()[:3] not in WEEKDAYS:
            raise Invalid("weekdays", f"{name!r}: use mon, tue, wed, thu, fri, sat, sun")
        days.append(WEEKDAYS[name.lower()[:3]])
    if not days:
        raise Invalid("weekdays", "name at least one weekday")
    try:
        local_start, local_end = time.fromisoformat(start), time.fromisoformat(end)
    except ValueError:
        raise Invalid("start", "times look like 19:00") from None
    if not 1 <= weeks <= 104:
        raise Invalid("weeks", "from 1 to 104")
    zone = ZoneInfo(timezone)
    dates = [first_date + timedelta(days=d) for d in range(weeks * 7)
             if (first_date + timedelta(days=d)).weekday() in days]
    if len(dates) > MAX_OCCURRENCES:
        raise Invalid("weeks", f"at most {MAX_OCCURRENCES} lessons at once")
    schedule_id = uow.insert("schedules", {"campus_id": campus_id, "class_id": class_id, "rule": json.dumps({
        "weekdays": sorted(set(weekdays)), "start": start, "end": end, "first_date": first_date.isoformat(),
        "weeks": weeks, "timezone": timezone}), "created_at": utc_now_text()})
    made = []
    for day in dates:
        starts = datetime.combine(day, local_start, zone)
        ends = datetime.combine(day, local_end, zone)
        made.append(book_lesson(uow, campus_id, class_id, starts, ends, teacher_id=teacher_id, room_id=room_id,
                                schedule_id=schedule_id, today=today, expiry_policy=expiry_policy))
    return made


def lesson_row(conn: Connection, lesson_id: str) -> dict[str, Any]:
    return _row(conn, lessons, lesson_id, "lesson")


def lesson_roster(conn: Connection, lesson_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(lesson_students, students.c.name, students.c.number).join(
        students, students.c.id == lesson_students.c.student_id).where(
        lesson_students.c.lesson_id == lesson_id, lesson_students.c.deleted.is_(False))
        .order_by(students.c.number)).mappings()]


def cancel_lesson(uow: UnitOfWork, lesson_id: str) -> None:
    lesson_row(uow.conn, lesson_id)
    uow.update("lessons", lesson_id, {"status": "cancelled"})


def request_leave(uow: UnitOfWork, lesson_id: str, student_id: str, reason: str | None,
                  by_user_id: str | None) -> dict[str, Any]:
    """请假: recorded against the lesson; confirming the lesson marks the student on leave (no deduction)."""
    lesson = lesson_row(uow.conn, lesson_id)
    seat = uow.conn.execute(select(lesson_students.c.id).where(
        lesson_students.c.lesson_id == lesson_id, lesson_students.c.student_id == student_id,
        lesson_students.c.deleted.is_(False))).first()
    if seat is None:
        raise Invalid("student_id", "the student is not in this lesson")
    row = {"campus_id": lesson["campus_id"], "lesson_id": lesson_id, "student_id": student_id, "reason": reason,
           "by_user_id": by_user_id, "created_at": utc_now_text()}
    return {"id": uow.insert("leave_requests", row), **row}


def book_makeup(uow: UnitOfWork, missed_lesson_id: str, student_id: str, starts: datetime, ends: datetime, *,
                teacher_id: str | None, room_id: str | None, today: date, expiry_policy: str) -> dict[str, Any]:
    """补课: a lesson for a student who missed one, paid from the same contract line."""
    missed = lesson_row(uow.conn, missed_lesson_id)
    seat = uow.conn.execute(select(lesson_students).where(
        lesson_students.c.lesson_id == missed_lesson_id, lesson_students.c.student_id == student_id,
        lesson_students.c.deleted.is_(False))).mappings().first()
    if seat is None:
        raise Invalid("student_id", "the student was not in that lesson")
    return book_lesson(uow, missed["campus_id"], missed["class_id"], starts, ends, teacher_id=teacher_id,
                       room_id=room_id, kind="makeup", makeup_for_lesson_id=missed_lesson_id, today=today,
                       expiry_policy=expiry_policy, seats=[(student_id, seat["enrolment_id"], seat["line_id"])])


def transfer_class(uow: UnitOfWork, enrolment_id: str, to_class_id: str, on: date, reason: str | None,
                   by_user_id: str | None, today: date, expiry_policy: str) -> dict[str, Any]:
    """转班: leave one class from ``on`` (its later lessons drop the student) and join another;
    the old enrolment stays, marked transferred, and a transfer record links the two."""
    old = _row(uow.conn, enrolments, enrolment_id, "enrolment")
    if old["status"] != "active":
        raise Conflict(f"the enrolment is {old['status']}", enrolment_status=old["status"])
    if old["class_id"] == to_class_id:
        raise Invalid("to_class_id", "the student is already in this class")
    with uow.savepoint():
        for seat in uow.conn.execute(select(lesson_students.c.id).join(
                lessons, lessons.c.id == lesson_students.c.lesson_id).where(
                lesson_students.c.enrolment_id == enrolment_id, lesson_students.c.deleted.is_(False),
                lessons.c.starts_at >= on.isoformat())).all():
            uow.tombstone("lesson_students", seat.id)
        uow.update("enrolments", enrolment_id, {"status": "transferred", "left_on": on.isoformat()})
        new = enrol(uow, old["campus_id"], to_class_id, old["student_id"], old["line_id"], on, today,
                    expiry_policy)
        uow.update("enrolments", enrolment_id, {"transferred_to": new["id"]})
        uow.insert("class_transfers", {
            "campus_id": old["campus_id"], "student_id": old["student_id"], "from_enrolment_id": enrolment_id,
            "to_enrolment_id": new["id"], "on_date": on.isoformat(), "reason": reason, "by_user_id": by_user_id,
            "created_at": utc_now_text()})
    return new
