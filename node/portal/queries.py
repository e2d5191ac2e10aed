"""What a family sees of one of their students: the record, hours left per course, the timetable,
attendance, receipts and invoices, tickets, and the surveys open to them. Every function takes a
student id the caller checked belongs to the family."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from campus.node.context import NodeContext
from campus.schema.errors import NotFound
from campus.schema.tables import (
    asset_entries,
    attendance_confirmations,
    attendance_marks,
    campuses,
    classes,
    contract_lines,
    contracts,
    courses,
    invoices,
    leave_requests,
    lesson_ratings,
    lesson_students,
    lessons,
    payments,
    rooms,
    students,
    ticket_events,
    tickets,
    users,
)

AHEAD_DAYS = 14
BACK_DAYS = 60


def student_names(conn: Connection, ids: tuple[str, ...]) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(students.c.id, students.c.number, students.c.name)
                                          .where(students.c.id.in_(ids)).order_by(students.c.number)).mappings()]


def overview(conn: Connection, student_id: str) -> dict[str, Any]:
    """The student's record and the hours left on each line of their contracts."""
    student = conn.execute(select(students.c.id, students.c.number, students.c.name, students.c.status,
                                  students.c.grade, students.c.email, students.c.locale,
                                  campuses.c.name.label("campus_name"))
                           .outerjoin(campuses, campuses.c.id == students.c.home_campus_id)
                           .where(students.c.id == student_id)).mappings().one()
    lines = conn.execute(
        select(contract_lines.c.id, contract_lines.c.grade, contract_lines.c.subject, contract_lines.c.level,
               contracts.c.number, contracts.c.expires_on,
               func.coalesce(func.sum(asset_entries.c.hours_x100), 0).label("remaining_hours_x100"))
        .join(contracts, contracts.c.id == contract_lines.c.contract_id)
        .outerjoin(asset_entries, asset_entries.c.line_id == contract_lines.c.id)
        .where(contract_lines.c.student_id == student_id, contracts.c.deleted.is_(False))
        .group_by(contract_lines.c.id, contract_lines.c.grade, contract_lines.c.subject, contract_lines.c.level,
                  contracts.c.number, contracts.c.expires_on)
        .order_by(contracts.c.expires_on, contract_lines.c.id)).mappings()
    return {**dict(student), "hours": [{**dict(line), "course": f"{line['grade']}{line['subject']}{line['level']}"}
                                        for line in lines]}


def _seats(conn: Connection, student_id: str, start: str, end: str) -> list[dict[str, Any]]:
    teachers = dict(conn.execute(select(users.c.id, users.c.display_name)).all())
    rows = conn.execute(
        select(lessons.c.id, lessons.c.starts_at, lessons.c.ends_at, lessons.c.status, lessons.c.teacher_id,
               lessons.c.campus_id, courses.c.name.label("course"), rooms.c.name.label("room"))
        .join(lesson_students, lesson_students.c.lesson_id == lessons.c.id)
        .join(courses, courses.c.id == lessons.c.course_id)
        .outerjoin(rooms, rooms.c.id == lessons.c.room_id)
        .where(lesson_students.c.student_id == student_id, lesson_students.c.deleted.is_(False),
               lessons.c.deleted.is_(False), lessons.c.starts_at >= start, lessons.c.starts_at < end)
        .order_by(lessons.c.starts_at)).mappings()
    return [{**dict(r), "teacher": teachers.get(r["teacher_id"], "")} for r in rows]


def timetable(conn: Connection, ctx: NodeContext, student_id: str) -> list[dict[str, Any]]:
    """The next two weeks' lessons, each with whether leave was asked for it."""
    now = ctx.now_text()
    end = ctx.day_bounds(ctx.today() + timedelta(days=AHEAD_DAYS))[1]
    seats = _seats(conn, student_id, now, end)
    asked = set(conn.execute(select(leave_requests.c.lesson_id).where(
        leave_requests.c.student_id == student_id, leave_requests.c.lesson_id.in_([s["id"] for s in seats])
    )).scalars()) if seats else set()
    return [{**s, "on_leave": s["id"] in asked, "here": s["campus_id"] == ctx.id} for s in seats]


def attendance(conn: Connection, ctx: NodeContext, student_id: str) -> list[dict[str, Any]]:
    """The last two months' lessons, newest first, each with its mark (the confirmed one, else the
    latest) and the family's rating, if they gave one."""
    start = ctx.day_bounds(ctx.today() - timedelta(days=BACK_DAYS))[0]
    seats = [s for s in _seats(conn, student_id, start, ctx.now_text()) if s["status"] == "scheduled"]
    ids = [s["id"] for s in seats]
    marks: dict[str, str] = {}
    for lesson_id, mark in conn.execute(select(attendance_marks.c.lesson_id, attendance_marks.c.mark).where(
            attendance_marks.c.student_id == student_id, attendance_marks.c.lesson_id.in_(ids))
            .order_by(attendance_marks.c.hlc)):
        marks[lesson_id] = mark
    confirmations = conn.execute(select(attendance_confirmations.c.id, attendance_confirmations.c.lesson_id,
                                        attendance_confirmations.c.mark, attendance_confirmations.c.supersedes_id)
                                 .where(attendance_confirmations.c.student_id == student_id,
                                        attendance_confirmations.c.lesson_id.in_(ids))).all()
    superseded = {c.supersedes_id for c in confirmations if c.supersedes_id}
    marks |= {c.lesson_id: c.mark for c in confirmations if c.id not in superseded}
    rated = dict(conn.execute(select(lesson_ratings.c.lesson_id, lesson_ratings.c.rating).where(
        lesson_ratings.c.student_id == student_id, lesson_ratings.c.lesson_id.in_(ids))).all())
    return [{**s, "mark": marks.get(s["id"]), "rating": rated.get(s["id"])} for s in reversed(seats)]


def money(conn: Connection, student_id: str) -> dict[str, Any]:
    """Receipts (money taken) and invoices of the student, newest first."""
    receipts = [dict(r) for r in conn.execute(
        select(payments.c.id, payments.c.receipt_number, payments.c.kind, payments.c.amount_fen, payments.c.paid_at,
               payments.c.fund_account)
        .where(payments.c.student_id == student_id, payments.c.kind != "deposit_applied")
        .order_by(payments.c.paid_at.desc())).mappings()]
    issued = [dict(r) for r in conn.execute(
        select(invoices.c.id, invoices.c.number, invoices.c.kind, invoices.c.amount_fen, invoices.c.issued_at,
               invoices.c.buyer_name)
        .where(invoices.c.student_id == student_id).order_by(invoices.c.issued_at.desc())).mappings()]
    return {"receipts": receipts, "invoices": issued}


def receipt(conn: Connection, student_ids: tuple[str, ...], payment_id: str) -> dict[str, Any]:
    row = conn.execute(select(payments, students.c.name.label("student_name"), campuses.c.name.label("campus_name"))
                       .join(students, students.c.id == payments.c.student_id)
                       .outerjoin(campuses, campuses.c.id == payments.c.campus_id)
                       .where(payments.c.id == payment_id, payments.c.student_id.in_(student_ids),
                              payments.c.kind != "deposit_applied")).mappings().first()
    if row is None:
        raise NotFound(f"no receipt {payment_id}", payment_id=payment_id)
    return dict(row)


def family_tickets(conn: Connection, student_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(
        select(tickets.c.id, tickets.c.number, tickets.c.category, tickets.c.subject, tickets.c.status,
               tickets.c.created_at, tickets.c.updated_at)
        .where(tickets.c.student_id == student_id, tickets.c.deleted.is_(False))
        .order_by(tickets.c.created_at.desc())).mappings()]


def family_ticket(conn: Connection, student_ids: tuple[str, ...], ticket_id: str) -> dict[str, Any]:
    """One of the family's tickets with the thread they may see (no internal notes, no staff names)."""
    row = conn.execute(select(tickets).where(tickets.c.id == ticket_id, tickets.c.student_id.in_(student_ids),
                                             tickets.c.deleted.is_(False))).mappings().first()
    if row is None:
        raise NotFound(f"no ticket {ticket_id}", ticket_id=ticket_id)
    thread = [dict(e) for e in conn.execute(
        select(ticket_events.c.kind, ticket_events.c.body, ticket_events.c.from_status, ticket_events.c.to_status,
               ticket_events.c.by_family, ticket_events.c.created_at)
        .where(ticket_events.c.ticket_id == ticket_id, ticket_events.c.kind.in_(("reply", "status")))
        .order_by(ticket_events.c.created_at, ticket_events.c.id)).mappings()]
    return {**{k: row[k] for k in ("id", "number", "student_id", "category", "subject", "body", "status",
                                   "created_at", "responded_at")}, "thread": thread}


def leave_reminders(conn: Connection, ctx: NodeContext, user_id: str) -> list[dict[str, Any]]:
    """Leave a family asked for in the portal (a request with no staff user behind it) on a lesson
    still to come, for the class teacher of the student's class: one reminder per request."""
    rows = conn.execute(
        select(leave_requests.c.id, leave_requests.c.student_id, leave_requests.c.lesson_id,
               leave_requests.c.reason, lessons.c.starts_at, students.c.number, students.c.name)
        .join(lessons, lessons.c.id == leave_requests.c.lesson_id)
        .join(classes, classes.c.id == lessons.c.class_id)
        .join(students, students.c.id == leave_requests.c.student_id)
        .where(leave_requests.c.campus_id == ctx.id, leave_requests.c.by_user_id.is_(None),
               classes.c.class_teacher_id == user_id, lessons.c.starts_at >= ctx.now_text())
        .order_by(lessons.c.starts_at))
    return [{"kind": "leave_requested", "student_id": r.student_id, "lesson_id": r.lesson_id, "number": r.number,
             "name": r.name, "reason": r.reason, "on": ctx.local_date(r.starts_at).isoformat(),
             "starts_at": r.starts_at} for r in rows]
