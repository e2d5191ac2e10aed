"""Teaching: rooms, courses, classes, scheduling, roll calls; one use case per action
(see ``campus.web.usecase``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from campus.node.context import NodeWork
from campus.node.teaching import attendance as att
from campus.node.teaching import scheduling as sch
from campus.node.teaching.export import attendance_rows
from campus.schema.permissions import PermissionDenied
from campus.web.usecase import use_case


def _audited(work: NodeWork, action: str, table: str, row: dict[str, Any], **after: Any) -> dict[str, Any]:
    work.audit(action, target_table=table, target_id=row.get("id"), after=after or None)
    return row


@use_case("teaching.manage")
def add_room(work: NodeWork, name: str, capacity: int = 0) -> dict[str, Any]:
    return _audited(work, "room_added", "rooms", sch.add_room(work.uow, work.ctx.id, name, capacity), name=name)


@use_case("teaching.manage")
def add_course(work: NodeWork, **fields: Any) -> dict[str, Any]:
    return _audited(work, "course_added", "courses", sch.add_course(work.uow, work.ctx.id, **fields),
                    name=fields.get("name"))


@use_case("teaching.manage")
def add_class(work: NodeWork, **fields: Any) -> dict[str, Any]:
    return _audited(work, "class_opened", "classes", sch.add_class(work.uow, work.ctx.id, **fields),
                    name=fields.get("name"))


@use_case("teaching.manage")
def enrol(work: NodeWork, class_id: str, student_id: str, line_id: str, joined_on: date | None) -> dict[str, Any]:
    row = sch.enrol(work.uow, work.ctx.id, class_id, student_id, line_id, joined_on or work.ctx.today(),
                    work.ctx.today(), work.ctx.expiry_policy)
    return _audited(work, "student_enrolled", "enrolments", row, class_id=class_id, student_id=student_id)


@use_case("teaching.manage")
def book_lesson(work: NodeWork, class_id: str, starts: datetime, ends: datetime, *, teacher_id: str | None = None,
                room_id: str | None = None, kind: str = "regular") -> dict[str, Any]:
    row = sch.book_lesson(work.uow, work.ctx.id, class_id, starts, ends, teacher_id=teacher_id, room_id=room_id,
                          kind=kind, today=work.ctx.today(), expiry_policy=work.ctx.expiry_policy)
    return _audited(work, "lesson_booked", "lessons", row, class_id=class_id, starts_at=row["starts_at"])


@use_case("teaching.manage")
def schedule_recurring(work: NodeWork, class_id: str, weekdays: list[str], start: str, end: str, first_date: date,
                       weeks: int, *, teacher_id: str | None = None, room_id: str | None = None
                       ) -> list[dict[str, Any]]:
    made = sch.schedule_recurring(work.uow, work.ctx.id, class_id, weekdays, start, end, first_date, weeks,
                                  work.ctx.timezone, today=work.ctx.today(), expiry_policy=work.ctx.expiry_policy,
                                  teacher_id=teacher_id, room_id=room_id)
    work.audit("lessons_scheduled", target_table="classes", target_id=class_id,
               after={"weekdays": weekdays, "start": start, "end": end, "first_date": first_date.isoformat(),
                      "weeks": weeks, "lessons": len(made)})
    return made


@use_case("teaching.manage")
def cancel_lesson(work: NodeWork, lesson_id: str) -> dict[str, Any]:
    sch.cancel_lesson(work.uow, lesson_id)
    work.audit("lesson_cancelled", target_table="lessons", target_id=lesson_id)
    return sch.lesson_row(work.conn, lesson_id)


@use_case("attendance.mark")
def record_mark(work: NodeWork, lesson_id: str, student_id: str, mark: str, source: str) -> dict[str, Any]:
    return att.record_mark(work.uow, lesson_id, student_id, mark, source, by_user_id=work.actor.user_id)


@use_case("attendance.mark")
def request_leave(work: NodeWork, lesson_id: str, student_id: str, reason: str | None) -> dict[str, Any]:
    return sch.request_leave(work.uow, lesson_id, student_id, reason, work.actor.user_id)


@use_case("teaching.manage")
def book_makeup(work: NodeWork, lesson_id: str, student_id: str, starts: datetime, ends: datetime, *,
                teacher_id: str | None = None, room_id: str | None = None) -> dict[str, Any]:
    row = sch.book_makeup(work.uow, lesson_id, student_id, starts, ends, teacher_id=teacher_id, room_id=room_id,
                          today=work.ctx.today(), expiry_policy=work.ctx.expiry_policy)
    return _audited(work, "makeup_booked", "lessons", row, missed_lesson_id=lesson_id, student_id=student_id)


@use_case("attendance.confirm")
def confirm_lesson(work: NodeWork, lesson_id: str) -> list[dict[str, Any]]:
    made = att.confirm_lesson(work.uow, lesson_id, work.ctx.id, work.actor.user_id, work.ctx.teaching)
    work.audit("attendance_confirmed", target_table="lessons", target_id=lesson_id, after={"seats": len(made)})
    return made


@use_case("attendance.mark")
def roll_call(work: NodeWork, lesson_id: str, marks: dict[str, str], confirm: bool) -> bool:
    """The teacher's roll call: every changed mark at once and, if asked, the confirmation that
    deducts hours. Asking to confirm without the permission is refused, and nothing is saved."""
    if confirm and not work.can("attendance.confirm"):
        raise PermissionDenied("you may mark attendance but not confirm it; ask an academic advisor or "
                               "the class's teacher to confirm", action="attendance.confirm")
    changed = {}
    for seat in att.attendance_of(work.conn, lesson_id):
        chosen = marks.get(seat["student_id"], "")
        if chosen and chosen != seat["mark"]:
            att.record_mark(work.uow, lesson_id, seat["student_id"], chosen, "teacher", by_user_id=work.actor.user_id)
            changed[seat["student_id"]] = chosen
    if confirm:
        confirmed = att.confirm_lesson(work.uow, lesson_id, work.ctx.id, work.actor.user_id, work.ctx.teaching)
        work.audit("attendance_confirmed", target_table="lessons", target_id=lesson_id,
                   after={"marks": changed, "seats": len(confirmed)})
    return confirm


@use_case("attendance.reconfirm")
def reconfirm(work: NodeWork, lesson_id: str, student_id: str, mark: str, reason: str) -> dict[str, Any]:
    before = att.live_confirmations(work.conn, lesson_id).get(student_id)
    row = att.reconfirm(work.uow, lesson_id, student_id, mark, reason, work.ctx.id, work.actor.user_id,
                        work.ctx.teaching)
    work.audit("attendance_changed", target_table="lessons", target_id=lesson_id,
               before={"mark": before["mark"] if before else None},
               after={"mark": row["mark"], "reason": reason, "student_id": student_id})
    return row


@use_case("teaching.manage")
def transfer_class(work: NodeWork, enrolment_id: str, to_class_id: str, on: date, reason: str | None) -> dict[str, Any]:
    row = sch.transfer_class(work.uow, enrolment_id, to_class_id, on, reason, work.actor.user_id,
                             work.ctx.today(), work.ctx.expiry_policy)
    work.audit("class_transferred", target_table="enrolments", target_id=enrolment_id,
               after={"to_class_id": to_class_id, "on": on.isoformat(), "reason": reason})
    return row


@use_case("attendance.export")
def export_attendance(work: NodeWork, start: date, end: date, what: str) -> list[dict[str, Any]]:
    """The attendance rows of a period, for a spreadsheet or a print: personal data leaving the
    system, so the export is audited with what, the period and how many rows."""
    rows = attendance_rows(work.conn, work.ctx.id, start, end, work.ctx.timezone)
    work.audit("personal_data_exported", after={"what": what, "from": start.isoformat(), "to": end.isoformat(),
                                                "rows": len(rows)})
    return rows
