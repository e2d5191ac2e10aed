"""Messages that fall due with time rather than with a fact written now: birthdays, tomorrow's
lessons, lines running low on hours, contracts about to expire with hours on them, and absences
confirmed. :func:`due_messages` reads what is due and not yet queued (each message is keyed by its
fact, so a run that finds it again queues nothing); the campus's job queues them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from campus.node.context import NodeContext
from campus.node.notify.outbox import Address, dedupe_key, family_addresses
from campus.node.notify.templates import LOCALES, Channel
from campus.schema.quantities import LessonHours
from campus.schema.tables import (
    asset_entries,
    attendance_confirmations,
    contract_lines,
    contracts,
    courses,
    lead_follow_ups,
    leads,
    leave_requests,
    lesson_students,
    lessons,
    outbox,
    rooms,
    staff_addresses,
    students,
    users,
)
from campus.schema.times import utc_text

STUDYING = ("pending", "admitted")
ABSENCE_LOOKBACK = timedelta(days=2)  # absences from lessons this recent are told to the family


@dataclass(frozen=True)
class Due:
    kind: str
    key: str  # the fact it is about: the same key never queues twice
    student_id: str | None
    fields: dict[str, str]
    to: tuple[Address, ...] | None = None  # a member of staff's addresses (else the student's family's)
    locale: str | None = None  # the language the member of staff reads (else the family's)

    def addresses(self, conn: Connection) -> list[Address]:
        if self.to is not None:
            return list(self.to)
        return family_addresses(conn, self.student_id) if self.student_id else []


def lesson_time(ctx: NodeContext, starts_at: str) -> str:
    return ctx.local(starts_at).strftime("%m-%d %H:%M")


def _names(conn: Connection, ids: set[str]) -> dict[str, str]:
    return dict(conn.execute(select(students.c.id, students.c.name).where(students.c.id.in_(ids))).all()) \
        if ids else {}


def birthdays(conn: Connection, ctx: NodeContext, today: date) -> list[Due]:
    days = [today.strftime("-%m-%d")]
    if (today.month, today.day) == (2, 28) and (today + timedelta(days=1)).month == 3:
        days.append("-02-29")  # born on the 29th: greeted on the 28th in a common year
    found = conn.execute(select(students.c.id, students.c.name).where(
        students.c.home_campus_id == ctx.id, students.c.deleted.is_(False), students.c.status.in_(STUDYING),
        func.substr(students.c.birthday, 5, 6).in_(days)))
    return [Due("birthday", f"birthday:{row.id}:{today.year}", row.id, {"student_name": row.name})
            for row in found]


def lesson_reminders(conn: Connection, ctx: NodeContext, today: date) -> list[Due]:
    if ctx.local(ctx.now()).hour < ctx.notify.lesson_reminder_hour:
        return []
    start, end = ctx.day_bounds(today + timedelta(days=1))
    seats = conn.execute(
        select(lessons.c.id, lessons.c.starts_at, courses.c.name.label("course"), rooms.c.name.label("room"),
               lesson_students.c.student_id)
        .join(lesson_students, lesson_students.c.lesson_id == lessons.c.id)
        .join(courses, courses.c.id == lessons.c.course_id)
        .outerjoin(rooms, rooms.c.id == lessons.c.room_id)
        .where(lessons.c.campus_id == ctx.id, lessons.c.deleted.is_(False), lessons.c.status == "scheduled",
               lessons.c.starts_at >= start, lessons.c.starts_at < end, lesson_students.c.deleted.is_(False))).all()
    on_leave = {(row.lesson_id, row.student_id) for row in conn.execute(
        select(leave_requests.c.lesson_id, leave_requests.c.student_id).where(
            leave_requests.c.lesson_id.in_({s.id for s in seats})))} if seats else set()
    names = _names(conn, {s.student_id for s in seats})
    return [Due("lesson_reminder", f"lesson:{s.id}:{s.student_id}", s.student_id,
                {"student_name": names.get(s.student_id, ""), "course_name": s.course,
                 "starts_at": lesson_time(ctx, s.starts_at), "room": s.room or "—"})
            for s in seats if (s.id, s.student_id) not in on_leave]


def _line_balances(conn: Connection, campus_id: str) -> list[Any]:
    return list(conn.execute(
        select(contract_lines.c.id, contract_lines.c.student_id, contract_lines.c.contract_id,
               contract_lines.c.grade, contract_lines.c.subject, contracts.c.number, contracts.c.expires_on,
               func.coalesce(func.sum(asset_entries.c.hours_x100), 0).label("hours"))
        .join(contracts, contracts.c.id == contract_lines.c.contract_id)
        .outerjoin(asset_entries, asset_entries.c.line_id == contract_lines.c.id)
        .where(contract_lines.c.campus_id == campus_id, contracts.c.deleted.is_(False))
        .group_by(contract_lines.c.id, contract_lines.c.student_id, contract_lines.c.contract_id,
                  contract_lines.c.grade, contract_lines.c.subject, contracts.c.number, contracts.c.expires_on)))


def hours_and_expiry(conn: Connection, ctx: NodeContext, today: date) -> list[Due]:
    lines = _line_balances(conn, ctx.id)
    names = _names(conn, {line.student_id for line in lines})
    found = []
    low = ctx.notify.low_hours_x100
    for line in lines:
        if 0 < line.hours <= low:
            found.append(Due("low_hours", f"low_hours:{line.id}", line.student_id, {
                "student_name": names.get(line.student_id, ""), "course_name": f"{line.grade}{line.subject}",
                "remaining_hours": str(LessonHours(int(line.hours)))}))
    horizon = (today + timedelta(days=ctx.notify.expiring_days)).isoformat()
    left: dict[str, int] = {}
    for line in lines:
        if today.isoformat() <= line.expires_on <= horizon:
            left[line.contract_id] = left.get(line.contract_id, 0) + max(int(line.hours), 0)
    for line in {line.contract_id: line for line in lines}.values():
        if left.get(line.contract_id, 0) > 0:
            found.append(Due("contract_expiring", f"expiring:{line.contract_id}:{line.expires_on}", line.student_id, {
                "student_name": names.get(line.student_id, ""), "contract_number": line.number,
                "expires_on": line.expires_on, "remaining_hours": str(LessonHours(left[line.contract_id]))}))
    return found


def absences(conn: Connection, ctx: NodeContext) -> list[Due]:
    since = ctx.now() - ABSENCE_LOOKBACK
    rows = conn.execute(
        select(attendance_confirmations.c.id, attendance_confirmations.c.lesson_id,
               attendance_confirmations.c.student_id, attendance_confirmations.c.mark, lessons.c.starts_at,
               courses.c.name.label("course"))
        .join(lessons, lessons.c.id == attendance_confirmations.c.lesson_id)
        .join(courses, courses.c.id == lessons.c.course_id)
        .where(attendance_confirmations.c.campus_id == ctx.id, lessons.c.starts_at >= utc_text(since),
               lessons.c.starts_at < utc_text(ctx.now()))
        .order_by(attendance_confirmations.c.hlc)).all()
    superseded = set(conn.execute(select(attendance_confirmations.c.supersedes_id).where(
        attendance_confirmations.c.supersedes_id.in_([r.id for r in rows]))).scalars()) if rows else set()
    names = _names(conn, {r.student_id for r in rows})
    return [Due("absence_alert", f"absence:{r.lesson_id}:{r.student_id}", r.student_id, {
        "student_name": names.get(r.student_id, ""), "course_name": r.course,
        "starts_at": lesson_time(ctx, r.starts_at)})
        for r in rows if r.mark == "absent" and r.id not in superseded]


def staff_address(conn: Connection, campus_id: str, user_id: str) -> tuple[Address, ...]:
    """Where a member of staff gets messages at the campus: the phone and e-mail address they gave."""
    row = conn.execute(select(staff_addresses.c.phone, staff_addresses.c.email).where(
        staff_addresses.c.campus_id == campus_id, staff_addresses.c.user_id == user_id,
        staff_addresses.c.deleted.is_(False))).first()
    if row is None:
        return ()
    return tuple(a for a in ((Channel.SMS, row.phone), (Channel.EMAIL, row.email)) if a[1])


def follow_ups_due(conn: Connection, ctx: NodeContext, today: date) -> list[Due]:
    """A lead's next follow-up falling due, to the consultant who holds it (DOMAIN.md §1, §9: only
    they see their private pool, so only they are told, and the lead's phone is not in the message).
    A lead in the shared pool, signed or invalid, or whose consultant gave no address, is nobody's."""
    latest = (select(lead_follow_ups.c.lead_id, func.max(lead_follow_ups.c.next_follow_up_on).label("due_on"))
              .group_by(lead_follow_ups.c.lead_id).subquery())
    rows = conn.execute(
        select(leads.c.id, leads.c.number, leads.c.name, leads.c.consultant_id, latest.c.due_on,
               users.c.display_name, users.c.locale)
        .join(latest, latest.c.lead_id == leads.c.id)
        .join(users, users.c.id == leads.c.consultant_id)
        .where(leads.c.campus_id == ctx.id, leads.c.deleted.is_(False), leads.c.consultant_id.is_not(None),
               leads.c.pool.in_(("private", "invited", "deposit")), latest.c.due_on <= today.isoformat(),
               users.c.active.is_(True))).all()
    found = []
    for row in rows:
        to = staff_address(conn, ctx.id, row.consultant_id)
        if to:
            found.append(Due("follow_up_due", f"follow_up:{row.id}:{row.due_on}", None, {
                "consultant_name": row.display_name, "lead_name": row.name, "lead_number": row.number,
                "due_on": row.due_on}, to, row.locale if row.locale in LOCALES else None))
    return found


def due_messages(conn: Connection, ctx: NodeContext) -> list[Due]:
    """What is due now and not queued yet for any of its addresses."""
    today = ctx.today()
    candidates = (birthdays(conn, ctx, today) + lesson_reminders(conn, ctx, today)
                  + hours_and_expiry(conn, ctx, today) + absences(conn, ctx) + follow_ups_due(conn, ctx, today))
    channels = set(ctx.notify.channels)
    wanted: dict[str, Due] = {}
    for due in candidates:
        for channel, address in due.addresses(conn):
            if channel.value in channels:
                wanted.setdefault(dedupe_key(due.kind, due.key, channel.value, address), due)
    if not wanted:
        return []
    queued: set[str] = set()
    keys = list(wanted)
    for start in range(0, len(keys), 500):
        queued |= set(conn.execute(select(outbox.c.dedupe_key).where(
            outbox.c.dedupe_key.in_(keys[start:start + 500]))).scalars())
    return list({(due.kind, due.key): due for key, due in wanted.items() if key not in queued}.values())
