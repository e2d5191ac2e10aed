"""What each role's workbench reads: the day's work of a consultant, an academic advisor, a
teacher, the front desk and a manager, each item naming the record it is about.

Every function takes the campus context and the day from it (``ctx.today()``, ``ctx.now()``),
never the server's date, and reads in the caller's one read transaction.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, literal, select

from campus.node.context import NodeContext
from campus.node.crm.pools import Pool
from campus.node.crm.reminders import reminders_for
from campus.schema.tables import (
    asset_entries,
    attendance_confirmations,
    attendance_marks,
    classes,
    contract_events,
    contracts,
    enrolments,
    expenses,
    lead_follow_ups,
    lead_history,
    leads,
    lesson_students,
    lessons,
    payments,
    payroll_runs,
    refunds,
    rooms,
    students,
    users,
)

LOW_HOURS_X100 = 600  # a line with 6 hours or fewer left: time to talk about renewing
EXPIRY_WINDOW_DAYS = 30  # contracts that expire within a month, with hours still on them
NEW_LEAD_DAYS = 7  # a lead assigned this recently, not yet followed up, is new to its consultant
LIMIT = 50  # a workbench list shows the first fifty; its page lists the rest


def names_of(conn: Connection) -> dict[str, str]:
    return dict(conn.execute(select(users.c.id, users.c.display_name)).all())


# --- consultant -------------------------------------------------------------------------


def consultant_work(conn: Connection, ctx: NodeContext, user_id: str) -> dict[str, Any]:
    """Follow-ups due today and overdue, own leads about to return to the pool, leads newly
    assigned and not yet followed up, and deposits waiting for a contract."""
    today = ctx.today().isoformat()
    mine = reminders_for(conn, user_id, ctx.id, ctx.now(), ctx.crm)
    due = [r for r in mine if r["kind"] == "follow_up_due"]
    since = (ctx.now() - timedelta(days=NEW_LEAD_DAYS)).isoformat()
    assigned = conn.execute(
        select(leads.c.id, leads.c.number, leads.c.name, leads.c.channel, func.max(lead_history.c.at).label("at"))
        .join(lead_history, lead_history.c.lead_id == leads.c.id)
        .where(leads.c.campus_id == ctx.id, leads.c.consultant_id == user_id, leads.c.deleted.is_(False),
               leads.c.pool == Pool.PRIVATE.value, lead_history.c.kind == "assign", lead_history.c.at >= since)
        .group_by(leads.c.id, leads.c.number, leads.c.name, leads.c.channel)).mappings().all()
    followed = dict(conn.execute(select(lead_follow_ups.c.lead_id, func.max(lead_follow_ups.c.at)).where(
        lead_follow_ups.c.lead_id.in_([a["id"] for a in assigned])).group_by(lead_follow_ups.c.lead_id)).all())
    deposits = conn.execute(
        select(leads.c.id, leads.c.number, leads.c.name, func.coalesce(func.sum(payments.c.amount_fen), 0)
               .label("amount_fen"), func.max(payments.c.paid_at).label("paid_at"))
        .outerjoin(payments, and_(payments.c.lead_id == leads.c.id, payments.c.kind == "deposit"))
        .where(leads.c.campus_id == ctx.id, leads.c.consultant_id == user_id, leads.c.deleted.is_(False),
               leads.c.pool == Pool.DEPOSIT.value)
        .group_by(leads.c.id, leads.c.number, leads.c.name).order_by(leads.c.number).limit(LIMIT)).mappings().all()
    return {
        "due_today": [r for r in due if r["on"] == today],
        "overdue": [r for r in due if r["on"] < today],
        "returning": [r for r in mine if r["kind"] == "about_to_return"],
        "assigned": sorted(({**dict(a)} for a in assigned if not followed.get(a["id"]) or followed[a["id"]] < a["at"]),
                           key=lambda a: a["at"], reverse=True)[:LIMIT],
        "deposits": [dict(d) for d in deposits],
    }


# --- academic advisor -------------------------------------------------------------------


def followed_students(conn: Connection, campus_id: str, user_id: str) -> list[str] | None:
    """The students in the classes this advisor is class teacher (班主任) of; None when they are
    class teacher of none (then the workbench shows the campus's students)."""
    mine = conn.execute(select(classes.c.id).where(classes.c.campus_id == campus_id,
                                                   classes.c.class_teacher_id == user_id,
                                                   classes.c.deleted.is_(False))).scalars().all()
    if not mine:
        return None
    return list(conn.execute(select(enrolments.c.student_id).distinct().where(
        enrolments.c.class_id.in_(mine), enrolments.c.status == "active", enrolments.c.deleted.is_(False))).scalars())


def low_hours(conn: Connection, campus_id: str, student_ids: list[str] | None) -> list[dict[str, Any]]:
    """Students in a class here whose contract line paying for it has few hours left."""
    left = func.coalesce(func.sum(asset_entries.c.hours_x100), 0)
    query = (select(enrolments.c.student_id, students.c.number, students.c.name, classes.c.name.label("class_name"),
                    enrolments.c.line_id, left.label("hours_x100"))
             .join(students, students.c.id == enrolments.c.student_id)
             .join(classes, classes.c.id == enrolments.c.class_id)
             .outerjoin(asset_entries, asset_entries.c.line_id == enrolments.c.line_id)
             .where(enrolments.c.campus_id == campus_id, enrolments.c.status == "active",
                    enrolments.c.deleted.is_(False))
             .group_by(enrolments.c.id, enrolments.c.student_id, students.c.number, students.c.name, classes.c.name,
                       enrolments.c.line_id)
             .having(left <= LOW_HOURS_X100).order_by(left, students.c.number).limit(LIMIT))
    if student_ids is not None:
        query = query.where(enrolments.c.student_id.in_(student_ids))
    return [dict(r) for r in conn.execute(query).mappings()]


def expiring_contracts(conn: Connection, campus_id: str, today: date,
                       student_ids: list[str] | None) -> list[dict[str, Any]]:
    """Contracts of this campus that expire within the window and still hold hours."""
    left = func.coalesce(func.sum(asset_entries.c.hours_x100), 0)
    query = (select(contracts.c.id, contracts.c.number, contracts.c.expires_on, contracts.c.student_id,
                    students.c.name, students.c.number.label("student_number"), left.label("hours_x100"))
             .join(students, students.c.id == contracts.c.student_id)
             .outerjoin(asset_entries, asset_entries.c.contract_id == contracts.c.id)
             .where(contracts.c.campus_id == campus_id, contracts.c.deleted.is_(False),
                    contracts.c.expires_on >= today.isoformat(),
                    contracts.c.expires_on <= (today + timedelta(days=EXPIRY_WINDOW_DAYS)).isoformat())
             .group_by(contracts.c.id, contracts.c.number, contracts.c.expires_on, contracts.c.student_id,
                       students.c.name, students.c.number)
             .having(left > 0).order_by(contracts.c.expires_on).limit(LIMIT))
    if student_ids is not None:
        query = query.where(contracts.c.student_id.in_(student_ids))
    return [dict(r) for r in conn.execute(query).mappings()]


def student_names(conn: Connection, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    return dict(conn.execute(select(students.c.id, students.c.name).where(students.c.id.in_(ids))).all())


# --- teacher ------------------------------------------------------------------------------


def lessons_with_state(conn: Connection, ctx: NodeContext, first: date, last: date, *,
                       teacher_id: str | None = None, room_id: str | None = None,
                       class_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """The campus's lessons on its days ``first`` to ``last`` with class, teacher and room names
    and their roll-call state: how many seats, how many marked, how many confirmed."""
    low, high = ctx.day_bounds(first, last)
    query = (select(lessons, classes.c.name.label("class_name"), rooms.c.name.label("room_name"),
                    users.c.display_name.label("teacher_name"))
             .outerjoin(classes, classes.c.id == lessons.c.class_id)
             .outerjoin(rooms, rooms.c.id == lessons.c.room_id)
             .outerjoin(users, users.c.id == lessons.c.teacher_id)
             .where(lessons.c.campus_id == ctx.id, lessons.c.deleted.is_(False),
                    lessons.c.starts_at >= low, lessons.c.starts_at < high)
             .order_by(lessons.c.starts_at, classes.c.name))
    if teacher_id:
        query = query.where(lessons.c.teacher_id == teacher_id)
    if room_id:
        query = query.where(lessons.c.room_id == room_id)
    if class_id:
        query = query.where(lessons.c.class_id == class_id)
    if limit:
        query = query.limit(limit)
    found = [dict(r) for r in conn.execute(query).mappings()]
    ids = [lesson["id"] for lesson in found]
    if not ids:
        return found
    seats: dict[str, int] = dict(conn.execute(select(lesson_students.c.lesson_id, func.count()).where(
        lesson_students.c.lesson_id.in_(ids), lesson_students.c.deleted.is_(False))
        .group_by(lesson_students.c.lesson_id)).all())
    marked: dict[str, int] = dict(conn.execute(select(attendance_marks.c.lesson_id, func.count(attendance_marks.c.student_id.distinct()))
                               .where(attendance_marks.c.lesson_id.in_(ids)).group_by(attendance_marks.c.lesson_id)).all())
    confirmed: dict[str, int] = dict(conn.execute(select(attendance_confirmations.c.lesson_id,
                                         func.count(attendance_confirmations.c.student_id.distinct()))
                                  .where(attendance_confirmations.c.lesson_id.in_(ids))
                                  .group_by(attendance_confirmations.c.lesson_id)).all())
    for lesson in found:
        lesson["seats"] = seats.get(lesson["id"], 0)
        lesson["marked"] = marked.get(lesson["id"], 0)
        lesson["confirmed"] = confirmed.get(lesson["id"], 0)
        lesson["roll_call"] = roll_call_state(lesson)
        local_start, local_end = ctx.local(lesson["starts_at"]), ctx.local(lesson["ends_at"])
        lesson["day"] = local_start.date().isoformat()
        lesson["from"], lesson["to"] = local_start.strftime("%H:%M"), local_end.strftime("%H:%M")
        lesson["hour"] = local_start.hour
    return found


def roll_call_state(lesson: dict[str, Any]) -> str:
    """cancelled | confirmed | marked (some or all marked, not confirmed) | not_marked | no_students."""
    if lesson["status"] == "cancelled":
        return "cancelled"
    if lesson["seats"] and lesson["confirmed"] >= lesson["seats"]:
        return "confirmed"
    if lesson["marked"]:
        return "marked"
    return "not_marked" if lesson["seats"] else "no_students"


# --- front desk ---------------------------------------------------------------------------


def check_ins(conn: Connection, ctx: NodeContext, day: date) -> list[dict[str, Any]]:
    """Marks from the kiosks and the desk today, newest first, with the class they matched."""
    low, high = ctx.day_bounds(day)
    return [dict(r) for r in conn.execute(
        select(attendance_marks.c.id, attendance_marks.c.recorded_at, attendance_marks.c.mark,
               attendance_marks.c.source, attendance_marks.c.lesson_id, students.c.id.label("student_id"),
               students.c.number, students.c.name, classes.c.name.label("class_name"))
        .join(students, students.c.id == attendance_marks.c.student_id)
        .outerjoin(lessons, lessons.c.id == attendance_marks.c.lesson_id)
        .outerjoin(classes, classes.c.id == lessons.c.class_id)
        .where(attendance_marks.c.campus_id == ctx.id, attendance_marks.c.source.in_(("kiosk", "desk")),
               attendance_marks.c.recorded_at >= low, attendance_marks.c.recorded_at < high)
        .order_by(attendance_marks.c.recorded_at.desc()).limit(LIMIT)).mappings()]


def arrears(conn: Connection, campus_id: str, limit: int = LIMIT) -> list[dict[str, Any]]:
    """Contracts of this campus that owe money, most owed first: what the contract costs now (as
    signed plus its changes, less the value a paid refund cancelled) less what was paid (less
    what was refunded), as :func:`campus.node.finance.payments.contract_money` counts it."""
    changes = (select(func.coalesce(func.sum(contract_events.c.due_delta_fen), 0))
               .where(contract_events.c.contract_id == contracts.c.id).scalar_subquery())
    paid = (select(func.coalesce(func.sum(payments.c.amount_fen), 0))
            .where(payments.c.contract_id == contracts.c.id, payments.c.kind.in_(("payment", "deposit_applied")))
            .scalar_subquery())
    paid_refunds = and_(refunds.c.contract_id == contracts.c.id, refunds.c.status == "paid",
                        refunds.c.deleted.is_(False))
    refunded = select(func.coalesce(func.sum(refunds.c.amount_fen), 0)).where(paid_refunds).scalar_subquery()
    cancelled = (select(func.coalesce(func.sum(refunds.c.value_fen - refunds.c.fee_fen - refunds.c.materials_fen), 0))
                 .where(paid_refunds).scalar_subquery())
    owed = (contracts.c.amount_fen + changes - cancelled) - (paid - refunded)
    rows = conn.execute(
        select(contracts.c.id, contracts.c.number, contracts.c.student_id, students.c.name,
               students.c.number.label("student_number"), owed.label("arrears_fen"))
        .join(students, students.c.id == contracts.c.student_id)
        .where(contracts.c.campus_id == campus_id, contracts.c.deleted.is_(False), owed > literal(0))
        .order_by(owed.desc(), contracts.c.number).limit(limit)).mappings()
    return [dict(r) for r in rows]


def receipts_today(conn: Connection, ctx: NodeContext, day: date) -> list[dict[str, Any]]:
    low, high = ctx.day_bounds(day)
    return [dict(r) for r in conn.execute(
        select(payments.c.id, payments.c.receipt_number, payments.c.kind, payments.c.amount_fen,
               payments.c.fund_account, payments.c.paid_at, students.c.name.label("student_name"),
               leads.c.name.label("lead_name"))
        .outerjoin(students, students.c.id == payments.c.student_id)
        .outerjoin(leads, leads.c.id == payments.c.lead_id)
        .where(payments.c.campus_id == ctx.id, payments.c.paid_at >= low, payments.c.paid_at < high)
        .order_by(payments.c.paid_at.desc()).limit(LIMIT)).mappings()]


# --- manager ------------------------------------------------------------------------------


def day_figures(conn: Connection, ctx: NodeContext, day: date) -> dict[str, int]:
    """The day's figures at this campus: new leads, contracts signed and their value, money taken,
    lessons held and confirmed, hours deducted, check-ins."""
    low, high = ctx.day_bounds(day)
    new_leads = conn.execute(select(func.count()).where(leads.c.campus_id == ctx.id, leads.c.created_at >= low,
                                                        leads.c.created_at < high)).scalar_one()
    signed, signed_fen = conn.execute(select(func.count(), func.coalesce(func.sum(contracts.c.amount_fen), 0)).where(
        contracts.c.campus_id == ctx.id, contracts.c.deleted.is_(False), contracts.c.signed_at >= low,
        contracts.c.signed_at < high)).one()
    received = conn.execute(select(func.coalesce(func.sum(payments.c.amount_fen), 0)).where(
        payments.c.campus_id == ctx.id, payments.c.kind.in_(("deposit", "payment")), payments.c.paid_at >= low,
        payments.c.paid_at < high)).scalar_one()
    held = conn.execute(select(func.count()).where(
        lessons.c.campus_id == ctx.id, lessons.c.deleted.is_(False), lessons.c.status == "scheduled",
        lessons.c.starts_at >= low, lessons.c.starts_at < high)).scalar_one()
    confirmed_lessons, deducted = conn.execute(
        select(func.count(attendance_confirmations.c.lesson_id.distinct()),
               func.coalesce(func.sum(attendance_confirmations.c.hours_x100), 0))
        .join(lessons, lessons.c.id == attendance_confirmations.c.lesson_id)
        .where(lessons.c.campus_id == ctx.id, lessons.c.starts_at >= low, lessons.c.starts_at < high)).one()
    checked_in = conn.execute(select(func.count()).where(
        attendance_marks.c.campus_id == ctx.id, attendance_marks.c.source.in_(("kiosk", "desk")),
        attendance_marks.c.recorded_at >= low, attendance_marks.c.recorded_at < high)).scalar_one()
    return {"new_leads": new_leads, "contracts_signed": signed, "signed_fen": int(signed_fen),
            "received_fen": int(received), "lessons": held, "lessons_confirmed": confirmed_lessons,
            "hours_deducted_x100": int(deducted), "check_ins": checked_in}


def expenses_to_approve(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(
        select(expenses.c.id, expenses.c.number, expenses.c.category, expenses.c.amount_fen, expenses.c.description,
               expenses.c.incurred_on)
        .where(expenses.c.campus_id == campus_id, expenses.c.status == "submitted", expenses.c.deleted.is_(False))
        .order_by(expenses.c.created_at).limit(LIMIT)).mappings()]


def payroll_to_approve(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(
        select(payroll_runs.c.id, payroll_runs.c.period, payroll_runs.c.total_fen, payroll_runs.c.submitted_at)
        .where(payroll_runs.c.campus_id == campus_id, payroll_runs.c.status == "review",
               payroll_runs.c.deleted.is_(False)).order_by(payroll_runs.c.period)).mappings()]


# --- marketing ----------------------------------------------------------------------------


def new_leads_by_channel(conn: Connection, ctx: NodeContext, first: date, last: date) -> list[tuple[str | None, int]]:
    low, high = ctx.day_bounds(first, last)
    counts: dict[str | None, int] = defaultdict(int)
    for channel, count in conn.execute(select(leads.c.channel, func.count()).where(
            leads.c.campus_id == ctx.id, leads.c.created_at >= low, leads.c.created_at < high,
            leads.c.deleted.is_(False)).group_by(leads.c.channel)):
        counts[channel] += count
    return sorted(counts.items(), key=lambda item: -item[1])
