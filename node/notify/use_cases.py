"""The outbox's use cases: messages caused by facts (a receipt, a reply to a ticket, leave), queued
inside the use case that writes the fact; the campus's job queueing what fell due with time; and
what staff do: a campus's own wording of a message, a family's opt-out, sending again a message
that failed or was interrupted. Each staff step is audited."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select

from campus.node.context import NodeContext, NodeWork
from campus.node.notify import producers
from campus.node.notify.outbox import family_addresses, queue
from campus.node.notify.templates import KINDS, LOCALES, Channel, check_template
from campus.node.notify.worker import requeue
from campus.schema.context import Actor
from campus.schema.errors import Conflict, Invalid
from campus.schema.permissions import mask_phone
from campus.schema.phones import InvalidPhone, normalise_phone
from campus.schema.quantities import Money
from campus.schema.tables import (
    guardians,
    notification_optouts,
    notification_templates,
    staff_addresses,
    students,
)
from campus.schema.times import utc_text
from campus.sync.capture import UnitOfWork
from campus.web.usecase import Store, use_case

MACHINE = "notify"  # the actor of the campus's job
IDS = uuid.UUID("0b6f2a52-3c1e-5d7a-9f61-7c2e4a1d9b30")  # template and opt-out ids: uuid5 under this


# --- messages caused by facts, queued in the fact's own unit of work ---------------------------------

def _student_name(work: NodeWork, student_id: str | None) -> str:
    if not student_id:
        return ""
    return str(work.conn.execute(select(students.c.name).where(students.c.id == student_id)).scalar() or "")


def receipt_issued(work: NodeWork, payment: dict[str, Any]) -> list[str]:
    """The family's receipt for money taken (a payment or a deposit of a student)."""
    if not payment.get("student_id"):
        return []  # a lead's deposit: no family on record yet
    return queue(work.conn, work.ctx, "receipt_issued", key=f"receipt:{payment['id']}",
                 student_id=payment["student_id"], fields={
                     "student_name": _student_name(work, payment["student_id"]),
                     "receipt_number": payment["receipt_number"], "amount": Money(payment["amount_fen"]).decimal_text(),
                     "paid_on": work.ctx.today().isoformat()})


def ticket_replied(uow: UnitOfWork, ctx: NodeContext, ticket: dict[str, Any], event: dict[str, Any]) -> list[str]:
    """A reply the family sees goes to them: to the phone the ticket answers, and to the family's
    e-mail addresses when it is about a student."""
    to = [(Channel.SMS, ticket["contact_phone"])] if ticket.get("contact_phone") else []
    if ticket.get("student_id"):
        to += [a for a in family_addresses(uow.conn, ticket["student_id"]) if a[0] is Channel.EMAIL]
    name = str(uow.conn.execute(select(students.c.name).where(students.c.id == ticket["student_id"])).scalar()
               or "") if ticket.get("student_id") else ""
    return queue(uow.conn, ctx, "ticket_reply", key=f"ticket_reply:{event['id']}", student_id=ticket.get("student_id"),
                 to=to, fields={"student_name": name, "ticket_number": ticket["number"], "subject": ticket["subject"],
                                "reply": event["body"]})


def leave_confirmed(uow: UnitOfWork, ctx: NodeContext, leave: dict[str, Any], student_name: str, course_name: str,
                    starts_at: str) -> list[str]:
    return queue(uow.conn, ctx, "leave_confirmed", key=f"leave:{leave['id']}", student_id=leave["student_id"],
                 fields={"student_name": student_name, "course_name": course_name,
                         "starts_at": producers.lesson_time(ctx, starts_at)})


# --- what fell due with time ---------------------------------------------------------------------------

@use_case("notifications.manage")
def queue_due_messages(work: NodeWork) -> dict[str, int]:
    """Queue every message due now (birthdays, tomorrow's lessons, low hours, contracts expiring,
    absences) not queued before; returns how many facts of each kind were queued."""
    counts: dict[str, int] = {}
    for due in producers.due_messages(work.conn, work.ctx):
        if queue(work.conn, work.ctx, due.kind, key=due.key, student_id=due.student_id, fields=due.fields,
                 to=list(due.to) if due.to is not None else None, locale=due.locale):
            counts[due.kind] = counts.get(due.kind, 0) + 1
    work.audit("notifications_queued", target_table="outbox", after=counts)
    return counts


def queue_due(store: Store, ctx: NodeContext) -> dict[str, int] | None:
    """The campus's job: queue only when something fell due, so a quiet run writes nothing."""
    with store.read() as conn:
        if not producers.due_messages(conn, ctx):
            return None
    return queue_due_messages(store, ctx, Actor.machine(MACHINE))


# --- what staff (and families) do ------------------------------------------------------------------------

def template_id(campus_id: str, kind: str, channel: str, locale: str) -> str:
    return str(uuid.uuid5(IDS, f"template|{campus_id}|{kind}|{channel}|{locale}"))


def _check_choice(value: str, allowed: tuple[str, ...] | list[str], field: str) -> None:
    if value not in allowed:
        raise Invalid(field, f"one of {', '.join(allowed)}")


@use_case("notifications.manage")
def save_template(work: NodeWork, kind: str, channel: str, locale: str, subject: str | None, body: str
                  ) -> dict[str, Any]:
    """The campus's wording of a message; a placeholder the kind does not provide is refused now."""
    _check_choice(kind, [k for k, spec in KINDS.items() if not spec.campaign], "kind")
    _check_choice(channel, [c.value for c in Channel], "channel")
    _check_choice(locale, LOCALES, "locale")
    check_template(kind, subject, body)
    row_id = template_id(work.ctx.id, kind, channel, locale)
    values = {"campus_id": work.ctx.id, "kind": kind, "channel": channel, "locale": locale,
              "subject": subject if channel == Channel.EMAIL.value else None, "body": body,
              "updated_by": work.actor.user_id, "updated_at": work.ctx.now_text(), "deleted": False}
    before = work.conn.execute(select(notification_templates).where(notification_templates.c.id == row_id)
                               ).mappings().first()
    if before is None:
        work.uow.insert("notification_templates", {"id": row_id, **values})
    else:
        work.uow.update("notification_templates", row_id, values)
    work.audit("notification_template_saved", target_table="notification_templates", target_id=row_id,
               before={"body": before["body"]} if before and not before["deleted"] else None,
               after={"kind": kind, "channel": channel, "locale": locale, "body": body})
    return {"id": row_id, **values}


@use_case("notifications.manage")
def reset_template(work: NodeWork, kind: str, channel: str, locale: str) -> dict[str, str]:
    """Back to the default wording."""
    row_id = template_id(work.ctx.id, kind, channel, locale)
    found = work.conn.execute(select(notification_templates.c.deleted).where(
        notification_templates.c.id == row_id)).first()
    if found is not None and not found.deleted:
        work.uow.tombstone("notification_templates", row_id)
    work.audit("notification_template_reset", target_table="notification_templates", target_id=row_id,
               after={"kind": kind, "channel": channel, "locale": locale})
    return {"kind": kind, "channel": channel, "locale": locale}


def write_opt_out(uow: UnitOfWork, ctx: NodeContext, student_id: str, kind: str, opted_out: bool) -> dict[str, Any]:
    """A family's wish for one kind of message (one row per student and kind, whoever sets it)."""
    _check_choice(kind, [k for k, spec in KINDS.items() if not spec.secret and not spec.to_staff], "kind")
    if uow.conn.execute(select(students.c.id).where(students.c.id == student_id,
                                                    students.c.deleted.is_(False))).first() is None:
        raise Invalid("student_id", "no such student")
    row_id = str(uuid.uuid5(IDS, f"optout|{student_id}|{kind}"))
    values = {"campus_id": ctx.id, "student_id": student_id, "kind": kind, "opted_out": opted_out,
              "updated_at": utc_text(ctx.now()), "deleted": False}
    if uow.conn.execute(select(notification_optouts.c.id).where(notification_optouts.c.id == row_id)).first():
        uow.update("notification_optouts", row_id, values)
    else:
        uow.insert("notification_optouts", {"id": row_id, **values})
    return {"id": row_id, **values}


@use_case("students.write")
def set_opt_out(work: NodeWork, student_id: str, kind: str, opted_out: bool) -> dict[str, Any]:
    """Staff record a family's wish (on the phone, at the desk) not to get a kind of message."""
    row = write_opt_out(work.uow, work.ctx, student_id, kind, opted_out)
    work.audit("notification_opt_out", target_table="notification_optouts", target_id=row["id"],
               after={"student_id": student_id, "kind": kind, "opted_out": opted_out})
    return row


@use_case("notifications.manage")
def send_again(work: NodeWork, message_id: str) -> dict[str, Any]:
    """Queue a failed or interrupted message again (staff judged it did not reach the family)."""
    row = requeue(work.uow, message_id, work.ctx.now_text())
    work.audit("notification_sent_again", target_table="outbox", target_id=message_id,
               after={"kind": row["kind"], "channel": row["channel"]})
    return {key: row[key] for key in ("id", "kind", "channel", "status", "attempts", "not_before")}


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _kept_here(uow: UnitOfWork, ctx: NodeContext, student_id: str, elsewhere: str) -> None:
    """A family's details live on the student's record, which only the home campus changes."""
    student = uow.conn.execute(select(students.c.home_campus_id).where(
        students.c.id == student_id, students.c.deleted.is_(False))).first()
    if student is None:
        raise Invalid("student_id", "no such student")
    if student.home_campus_id != ctx.id:
        raise Conflict(elsewhere, field="student_id", home_campus_id=student.home_campus_id)


def write_email(uow: UnitOfWork, ctx: NodeContext, student_id: str, guardian_id: str | None, email: str | None
                ) -> dict[str, Any]:
    """The e-mail address a family gets messages at: a guardian's, or the student's own (None: none)."""
    if email is not None and (len(email) > 200 or not EMAIL.match(email)):
        raise Invalid("email", "an e-mail address like name@example.com")
    _kept_here(uow, ctx, student_id, "a family's addresses are kept by the student's home campus; change them there")
    if guardian_id:
        found = uow.conn.execute(select(guardians.c.id).where(
            guardians.c.id == guardian_id, guardians.c.student_id == student_id,
            guardians.c.deleted.is_(False))).first()
        if found is None:
            raise Invalid("guardian_id", "not a guardian of this student")
        uow.update("guardians", guardian_id, {"email": email})
    else:
        uow.update("students", student_id, {"email": email})
    return {"student_id": student_id, "guardian_id": guardian_id, "email": email}


def write_locale(uow: UnitOfWork, ctx: NodeContext, student_id: str, locale: str | None) -> dict[str, Any]:
    """The language a student's family reads (zh_CN or en; None: the campus's): their messages and
    the portal's default. Kept on the student's record, so by the home campus."""
    if locale is not None:
        _check_choice(locale, LOCALES, "locale")
    _kept_here(uow, ctx, student_id, "a family's language is kept by the student's home campus; change it there")
    uow.update("students", student_id, {"locale": locale})
    return {"student_id": student_id, "locale": locale}


@use_case("students.write")
def set_family_locale(work: NodeWork, student_id: str, locale: str | None) -> dict[str, Any]:
    """Staff record the language a family reads (on the phone, at the desk)."""
    before = work.conn.execute(select(students.c.locale).where(students.c.id == student_id)).scalar()
    done = write_locale(work.uow, work.ctx, student_id, locale)
    work.audit("family_locale_changed", target_table="students", target_id=student_id, before={"locale": before},
               after={"locale": locale})
    return done


@use_case("students.write")
def set_email(work: NodeWork, student_id: str, guardian_id: str | None, email: str | None) -> dict[str, Any]:
    """Staff record where a family gets e-mail (a guardian's address, or the student's own)."""
    done = write_email(work.uow, work.ctx, student_id, guardian_id, email)
    work.audit("family_email_changed", target_table="guardians" if guardian_id else "students",
               target_id=guardian_id or student_id, after={"email": email})
    return done


def staff_address_id(campus_id: str, user_id: str) -> str:
    return str(uuid.uuid5(IDS, f"staff|{campus_id}|{user_id}"))


@use_case("home.view")
def set_staff_address(work: NodeWork, phone: str | None, email: str | None) -> dict[str, Any]:
    """Where the acting member of staff gets the campus's messages to them (a follow-up falling due):
    their phone (SMS) and e-mail address; both None: none."""
    user_id = work.actor.user_id
    if not user_id:
        raise Invalid("user", "only a member of staff has an address here")
    number = None
    if phone:
        try:
            number = normalise_phone(phone)
        except InvalidPhone as exc:
            raise Invalid("phone", exc.reason) from None
    if email is not None and (len(email) > 200 or not EMAIL.match(email)):
        raise Invalid("email", "an e-mail address like name@example.com")
    row_id = staff_address_id(work.ctx.id, user_id)
    values = {"campus_id": work.ctx.id, "user_id": user_id, "phone": number, "email": email,
              "updated_at": work.ctx.now_text(), "deleted": False}
    if work.conn.execute(select(staff_addresses.c.id).where(staff_addresses.c.id == row_id)).first():
        work.uow.update("staff_addresses", row_id, values)
    else:
        work.uow.insert("staff_addresses", {"id": row_id, **values})
    work.audit("staff_address_set", target_table="staff_addresses", target_id=row_id,
               after={"phone": mask_phone(number), "email": email})
    return {"id": row_id, **values}
