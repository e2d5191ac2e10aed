"""A user's reminders in one list, as ``GET /api/v1/reminders`` answers them, each with a key
that names it (kind, subject, day), and marking one done: it stays off that user's list and
workbench; a new date for the same subject (a later follow-up due) is a new reminder."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from campus.node.context import NodeContext, NodeWork
from campus.node.crm.reminders import reminders_for
from campus.node.portal.queries import leave_reminders
from campus.node.refunds.queries import refund_reminders
from campus.node.risk.queries import risk_reminders
from campus.node.service.survey_queries import low_score_reminders
from campus.node.service.ticket_queries import ticket_reminders
from campus.node.teaching.alerts import teaching_reminders
from campus.schema.errors import Invalid
from campus.schema.ids import new_id
from campus.schema.permissions import Principal
from campus.schema.tables import reminder_dismissals, students
from campus.web.usecase import use_case

# Each kind, its label and the record it is about (the page where it is acted on).
KINDS: dict[str, str] = {
    "follow_up_due": "Follow-up due",
    "birthday": "Birthday coming",
    "about_to_return": "About to return to the pool",
    "claim_lost": "Claim lost to an earlier one",
    "absence_streak": "Absent several times in a row",
    "lesson_changes": "Many lesson changes",
    "refund_risk": "Refund risk",
    "refund_to_approve": "Refund to approve",
    "refund_to_pay": "Refund to pay",
    "refund_overdue": "Refund payout overdue",
    "ticket_overdue": "Ticket overdue",
    "ticket_replied": "The family replied to a ticket",
    "leave_requested": "Leave asked for in the portal",
    "low_score": "Low rating",
}


def subject_of(reminder: dict[str, Any]) -> str:
    return str(reminder.get("lead_id") or reminder.get("refund_id") or reminder.get("ticket_id")
               or reminder.get("student_id") or "")


def reminder_key(reminder: dict[str, Any]) -> str:
    return f"{reminder['kind']}:{subject_of(reminder)}:{reminder['on']}"


def link_of(reminder: dict[str, Any]) -> str:
    if reminder.get("lead_id"):
        return f"/leads/{reminder['lead_id']}"
    if reminder.get("refund_id"):
        return f"/refunds/{reminder['refund_id']}"
    if reminder.get("ticket_id"):
        return f"/tickets/{reminder['ticket_id']}"
    if reminder.get("lesson_id"):
        return f"/lessons/{reminder['lesson_id']}"
    if reminder["kind"] == "refund_risk":
        return f"/students/{reminder['student_id']}/risk"
    return f"/students/{reminder['student_id']}"


def dismissed(conn: Connection, user_id: str) -> set[str]:
    return set(conn.execute(select(reminder_dismissals.c.reminder_key).where(
        reminder_dismissals.c.user_id == user_id)).scalars())


def reminders_of(conn: Connection, ctx: NodeContext, principal: Principal) -> list[dict[str, Any]]:
    """Every reminder of the user at this campus, oldest first, each with its key, label, link
    and whether it was marked done."""
    user_id, now = principal.user_id, ctx.now()
    found = (reminders_for(conn, user_id, ctx.id, now, ctx.crm)
             + teaching_reminders(conn, user_id, ctx.id, now, ctx.teaching)
             + risk_reminders(conn, user_id, ctx.id)
             + refund_reminders(conn, ctx.id, ctx.today(), may_approve=principal.can("refunds.approve", ctx.id),
                                may_pay=principal.can("refunds.pay", ctx.id))
             + ticket_reminders(conn, ctx, user_id, may_manage=principal.can("tickets.manage", ctx.id))
             + leave_reminders(conn, ctx, user_id) + low_score_reminders(conn, ctx, user_id))
    nameless = [r["student_id"] for r in found if r.get("student_id") and not r.get("name")]
    names = dict(conn.execute(select(students.c.id, students.c.name).where(students.c.id.in_(nameless))).all()) \
        if nameless else {}
    done = dismissed(conn, user_id)
    shown = []
    for reminder in found:
        key = reminder_key(reminder)
        shown.append({**reminder, "key": key, "done": key in done, "link": link_of(reminder),
                      "name": reminder.get("name") or names.get(reminder.get("student_id", ""), "")})
    return sorted(shown, key=lambda r: (r["on"], r["kind"], r.get("number") or ""))


@use_case("home.view")
def mark_reminder_done(work: NodeWork, key: str) -> dict[str, Any]:
    """Take one of the actor's own reminders off their list (a to-do ticked, not a business fact:
    nothing else changes, and the reminder comes back if its facts give it a new date)."""
    kind = key.split(":", 1)[0]
    if kind not in KINDS or key.count(":") != 2 or len(key) > 120:
        raise Invalid("key", "not a reminder of this list")
    user_id = work.actor.user_id
    if user_id is None:
        raise Invalid("key", "only a signed-in user has reminders")
    row = {"id": new_id(), "campus_id": work.ctx.id, "user_id": user_id, "reminder_key": key,
           "done_at": work.ctx.now_text()}
    if key not in dismissed(work.conn, user_id):
        work.conn.execute(insert(reminder_dismissals).values(**row))  # the node's own: never replicated
    return {"key": key, "done_at": row["done_at"]}
