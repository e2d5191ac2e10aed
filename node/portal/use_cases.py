"""What families do in the portal, each a use case under ``family`` (no staff role has it; the
portal acts for the signed-in family as ``family:<phone masked>``) and audited: ask for a sign-in
code, sign in with it or with a student number and password, set that password, where e-mail goes
and which messages they want, ask for leave (the request reaches the class teacher, the student's
academic advisor), open a ticket, rate a lesson. Every id a family names is checked to be theirs;
anything else is answered as if it did not exist (404)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, func, insert, select, update

from campus.node.context import NodeContext, NodeWork
from campus.node.notify.outbox import queue
from campus.node.notify.templates import Channel
from campus.node.notify.use_cases import leave_confirmed, write_email, write_locale, write_opt_out
from campus.node.portal.codes import code_hash, is_locked, matches, new_code, usable, why_no_code
from campus.node.portal.family import Family, language_of, students_of_phone
from campus.node.service.survey_cases import survey_row, targets, write_response
from campus.node.service.ticket_cases import NewTicket, family_reply, ticket_here, write_ticket
from campus.node.teaching.scheduling import request_leave
from campus.schema.errors import Conflict, DomainError, Invalid, NotFound
from campus.schema.ids import new_id
from campus.schema.permissions import mask_phone
from campus.schema.phones import InvalidPhone, normalise_phone
from campus.schema.tables import (
    classes,
    courses,
    enrolments,
    lesson_ratings,
    lesson_students,
    lessons,
    portal_code_requests,
    portal_codes,
    portal_failures,
    portal_passwords,
    students,
    tickets,
)
from campus.schema.times import utc_text
from campus.web.accounts.store import hash_password
from campus.web.usecase import use_case

FAMILY = "family"
RATINGS = uuid.UUID("8d3c5e0a-1f47-5b2e-a6d9-3e7b0c4f1a62")  # lesson rating ids: uuid5(lesson|student)
PASSWORDS = uuid.UUID("2f9b7d14-6a3e-5c81-b0e2-9d4a6c3f8e15")  # portal password ids: uuid5(student)
_hasher = PasswordHasher()


class TooManyAttempts(DomainError):
    """Too many codes asked for, or too many wrong codes or passwords: wait a while (429)."""

    status = 429


def phone_of(typed: str) -> str:
    try:
        return normalise_phone(typed)
    except InvalidPhone as exc:
        raise Invalid("phone", exc.reason) from None


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _failures(conn: Connection, key: str, now: datetime, ctx: NodeContext) -> int:
    since = utc_text(now - ctx.portal.lock_window)
    return int(conn.execute(select(func.count()).where(portal_failures.c.login_key == key,
                                                       portal_failures.c.at >= since)).scalar_one())


def _refuse_if_locked(conn: Connection, key: str, now: datetime, ctx: NodeContext, field: str) -> None:
    if is_locked(_failures(conn, key, now, ctx), ctx.portal):
        raise TooManyAttempts("too many wrong attempts: try again later", field=field,
                              lock_minutes=ctx.portal.lock_minutes)


def _count_address(work: NodeWork, now: datetime) -> None:
    """Count a code request against its client address; refuse it past the address's limit."""
    address = work.actor.client_ip or "unknown"
    since = utc_text(now - work.ctx.portal.address_window)
    asked = work.conn.execute(select(func.count()).where(portal_code_requests.c.client_ip == address,
                                                         portal_code_requests.c.at >= since)).scalar_one()
    if asked >= work.ctx.portal.codes_per_address:
        raise TooManyAttempts("too many codes asked for from this device: try again later", field="phone",
                              window_minutes=work.ctx.portal.address_window_minutes)
    work.conn.execute(insert(portal_code_requests).values(id=new_id(), client_ip=address[:64], at=utc_text(now)))


@use_case(FAMILY)
def send_code(work: NodeWork, typed_phone: str) -> dict[str, Any]:
    """A one-time code by SMS to a phone on record (a number not on record gets the same answer and
    no code, so the portal does not tell who is a customer). The code itself is never stored,
    logged or audited: only its keyed hash is kept."""
    ctx, now = work.ctx, work.ctx.now()
    phone = phone_of(typed_phone)
    _refuse_if_locked(work.conn, f"phone:{phone}", now, ctx, "phone")
    _count_address(work, now)
    sent = work.conn.execute(select(portal_codes.c.created_at).where(
        portal_codes.c.phone == phone, portal_codes.c.created_at >= utc_text(now - timedelta(hours=1)))
        .order_by(portal_codes.c.created_at.desc())).scalars().all()
    why = why_no_code(_instant(sent[0]) if sent else None, len(sent), now, ctx.portal)
    if why == "wait":
        raise TooManyAttempts("a code was just sent: wait a moment before asking again", field="phone",
                              wait_seconds=ctx.portal.code_resend_seconds)
    if why == "hourly":
        raise TooManyAttempts("too many codes for this phone this hour: try again later", field="phone")
    known = bool(students_of_phone(work.conn, phone))
    if known:
        code = new_code()
        work.conn.execute(insert(portal_codes).values(
            id=new_id(), phone=phone, code_hash=code_hash(ctx.portal.code_key, phone, code), created_at=utc_text(now),
            expires_at=utc_text(now + timedelta(seconds=ctx.portal.code_ttl_seconds)), used_at=None))
        queue(work.conn, ctx, "sign_in_code", key=f"code:{phone}:{utc_text(now)}", to=[(Channel.SMS, phone)],
              fields={"code": code, "minutes": str(max(ctx.portal.code_ttl_seconds // 60, 1))},
              locale=language_of(work.conn, students_of_phone(work.conn, phone)))
    work.audit("portal_code_sent", after={"phone": mask_phone(phone), "on_record": known})
    return {"phone": mask_phone(phone), "expires_in_seconds": ctx.portal.code_ttl_seconds}


def _fail(work: NodeWork, key: str, label: str) -> dict[str, Any]:
    now = work.ctx.now()
    work.conn.execute(insert(portal_failures).values(id=new_id(), login_key=key, at=utc_text(now)))
    locked = is_locked(_failures(work.conn, key, now, work.ctx), work.ctx.portal)
    work.audit("portal_sign_in_failed", after={"who": label, "locked": locked})
    return {"signed_in": False, "locked": locked}


@use_case(FAMILY)
def sign_in_with_code(work: NodeWork, typed_phone: str, code: str) -> dict[str, Any]:
    """The latest code sent to the phone, unexpired and unused, signs the family in and is used up.
    A wrong code is recorded (and the attempt kept: this returns, it does not raise); five in the
    lock window lock the phone."""
    ctx, now = work.ctx, work.ctx.now()
    phone = phone_of(typed_phone)
    key = f"phone:{phone}"
    _refuse_if_locked(work.conn, key, now, ctx, "code")
    latest = work.conn.execute(select(portal_codes).where(portal_codes.c.phone == phone)
                               .order_by(portal_codes.c.created_at.desc()).limit(1)).mappings().first()
    if (latest is None or not usable(_instant(latest["expires_at"]), latest["used_at"] is not None, now)
            or not matches(ctx.portal.code_key, phone, code.strip(), latest["code_hash"])):
        return _fail(work, key, mask_phone(phone) or "")
    work.conn.execute(update(portal_codes).where(portal_codes.c.id == latest["id"]).values(used_at=utc_text(now)))
    work.audit("portal_signed_in", after={"who": mask_phone(phone), "by": "code"})
    return {"signed_in": True, "session": {"phone": phone, "at": utc_text(now)}}


@use_case(FAMILY)
def sign_in_with_password(work: NodeWork, number: str, password: str) -> dict[str, Any]:
    """A student number and the password the family set; five wrong ones lock the number."""
    ctx, now = work.ctx, work.ctx.now()
    number = number.strip().upper()
    key = f"student:{number}"
    _refuse_if_locked(work.conn, key, now, ctx, "password")
    row = work.conn.execute(select(students.c.id, portal_passwords.c.password_hash)
                            .join(portal_passwords, portal_passwords.c.student_id == students.c.id)
                            .where(students.c.number == number, students.c.deleted.is_(False),
                                   portal_passwords.c.deleted.is_(False))).first()
    try:
        good = row is not None and _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        good = False
    if not good or row is None:
        return _fail(work, key, number)
    work.audit("portal_signed_in", target_table="students", target_id=row.id, after={"who": number, "by": "password"})
    return {"signed_in": True, "session": {"student_id": row.id, "at": utc_text(now)}}


@use_case(FAMILY)
def set_password(work: NodeWork, family: Family, student_id: str, password: str) -> dict[str, Any]:
    """The family's password for signing in with the student's number; sessions opened with the
    old one end."""
    family.student(student_id)
    row_id = str(uuid.uuid5(PASSWORDS, student_id))
    values = {"campus_id": work.ctx.id, "student_id": student_id, "password_hash": hash_password(password),
              "set_at": utc_text(work.ctx.now()), "deleted": False}
    if work.conn.execute(select(portal_passwords.c.id).where(portal_passwords.c.id == row_id)).first():
        work.uow.update("portal_passwords", row_id, values)
    else:
        work.uow.insert("portal_passwords", {"id": row_id, **values})
    work.audit("portal_password_set", target_table="students", target_id=student_id, after={"who": family.label})
    return {"student_id": student_id, "set_at": values["set_at"]}


@use_case(FAMILY)
def set_preferences(work: NodeWork, family: Family, student_id: str, email: str | None,
                    opted_out: dict[str, bool], locale: str | None = None) -> dict[str, Any]:
    """Where the family gets e-mail, which kinds of message they do not want, and the language they
    read (their messages and the portal; None: the campus's)."""
    family.student(student_id)
    current = work.conn.execute(select(students.c.email, students.c.locale).where(students.c.id == student_id)).one()
    if email != current.email:
        write_email(work.uow, work.ctx, student_id, None, email)
    if locale != current.locale:
        write_locale(work.uow, work.ctx, student_id, locale)
    for kind, out in opted_out.items():
        write_opt_out(work.uow, work.ctx, student_id, kind, out)
    work.audit("portal_preferences_set", target_table="students", target_id=student_id,
               after={"who": family.label, "email_changed": email != current.email, "opted_out": opted_out,
                      "locale": locale})
    return {"student_id": student_id, "email": email, "opted_out": opted_out, "locale": locale}


def _seat(conn: Connection, family: Family, student_id: str, lesson_id: str) -> dict[str, Any]:
    """The lesson, if the family's student has a seat in it; else 404 (it is not theirs to see)."""
    family.student(student_id)
    row = conn.execute(select(lessons.c.id, lessons.c.campus_id, lessons.c.class_id, lessons.c.teacher_id,
                              lessons.c.starts_at, lessons.c.status, courses.c.name.label("course"))
                       .join(lesson_students, lesson_students.c.lesson_id == lessons.c.id)
                       .join(courses, courses.c.id == lessons.c.course_id)
                       .where(lessons.c.id == lesson_id, lessons.c.deleted.is_(False),
                              lesson_students.c.student_id == student_id,
                              lesson_students.c.deleted.is_(False))).mappings().first()
    if row is None:
        raise NotFound(f"no lesson {lesson_id}", lesson_id=lesson_id)
    return dict(row)


@use_case(FAMILY)
def ask_for_leave(work: NodeWork, family: Family, student_id: str, lesson_id: str, reason: str | None
                  ) -> dict[str, Any]:
    """请假 from the portal: a leave request on a lesson still to come, at this campus, which reaches
    the class teacher (the student's academic advisor) on their reminders; the family is told by
    message that it is recorded."""
    lesson = _seat(work.conn, family, student_id, lesson_id)
    if lesson["status"] != "scheduled" or lesson["starts_at"] <= work.ctx.now_text():
        raise Conflict("leave is asked for a lesson still to come", field="lesson_id")
    if lesson["campus_id"] != work.ctx.id:
        raise Conflict("this lesson is at another campus: ask for leave there", field="lesson_id")
    if reason is not None and len(reason) > 500:
        raise Invalid("reason", "at most 500 characters")
    leave = request_leave(work.uow, lesson_id, student_id, reason, None)
    name = str(work.conn.execute(select(students.c.name).where(students.c.id == student_id)).scalar() or "")
    leave_confirmed(work.uow, work.ctx, leave, name, lesson["course"], lesson["starts_at"])
    work.audit("portal_leave_requested", target_table="leave_requests", target_id=leave["id"],
               after={"who": family.label, "lesson_id": lesson_id, "student_id": student_id})
    return leave


def class_teacher_of(conn: Connection, student_id: str, campus_id: str) -> str | None:
    """The student's academic advisor here: the class teacher (班主任) of a class they are in."""
    return conn.execute(select(classes.c.class_teacher_id).join(enrolments, enrolments.c.class_id == classes.c.id)
                        .where(enrolments.c.student_id == student_id, enrolments.c.status == "active",
                               enrolments.c.deleted.is_(False), classes.c.campus_id == campus_id,
                               classes.c.class_teacher_id.is_not(None))
                        .order_by(enrolments.c.joined_on.desc()).limit(1)).scalar()


@use_case(FAMILY)
def open_family_ticket(work: NodeWork, family: Family, student_id: str, category: str, subject: str, body: str
                       ) -> dict[str, Any]:
    """A question, complaint or request from the family, given to the student's class teacher."""
    family.student(student_id)
    if category not in ("question", "complaint", "request"):
        raise Invalid("category", "one of question, complaint, request")
    ticket = write_ticket(work.uow, work.ctx, NewTicket(
        category, subject, body, "normal", student_id, None, "portal", class_teacher_of(work.conn, student_id, work.ctx.id),
        family.phone), None)
    work.audit("portal_ticket_opened", target_table="tickets", target_id=ticket["id"],
               after={"who": family.label, "number": ticket["number"], "category": category})
    return ticket


@use_case(FAMILY)
def reply_to_family_ticket(work: NodeWork, family: Family, ticket_id: str, body: str) -> dict[str, Any]:
    """The family's reply to one of their tickets: it reaches staff in the ticket's thread and marks
    the ticket awaiting staff (a resolved or closed one is reopened)."""
    found = work.conn.execute(select(tickets.c.id).where(
        tickets.c.id == ticket_id, tickets.c.student_id.in_(family.student_ids), tickets.c.deleted.is_(False))).first()
    if found is None:
        raise NotFound(f"no ticket {ticket_id}", ticket_id=ticket_id)
    ticket = ticket_here(work.conn, work.ctx, ticket_id)
    event = family_reply(work.uow, work.ctx, ticket, body)
    work.audit("portal_ticket_replied", target_table="tickets", target_id=ticket_id,
               after={"who": family.label, "number": ticket["number"], "event_id": event["id"]})
    return event


@use_case(FAMILY)
def rate_lesson(work: NodeWork, family: Family, student_id: str, lesson_id: str, rating: int, comment: str | None
                ) -> dict[str, Any]:
    """A 1–5 rating and a comment on a lesson the student had; once per lesson."""
    lesson = _seat(work.conn, family, student_id, lesson_id)
    if type(rating) is not int or not 1 <= rating <= 5:
        raise Invalid("rating", "a whole number from 1 to 5")
    if comment is not None and len(comment) > 1000:
        raise Invalid("comment", "at most 1000 characters")
    if lesson["status"] != "scheduled" or lesson["starts_at"] > work.ctx.now_text():
        raise Conflict("a lesson is rated once it has taken place", field="lesson_id")
    if lesson["campus_id"] != work.ctx.id:
        raise Conflict("this lesson was at another campus: rate it there", field="lesson_id")
    row_id = str(uuid.uuid5(RATINGS, f"{lesson_id}|{student_id}"))
    if work.conn.execute(select(lesson_ratings.c.id).where(lesson_ratings.c.id == row_id)).first():
        raise Conflict("this lesson is already rated", field="lesson_id")
    row = {"id": row_id, "campus_id": lesson["campus_id"], "lesson_id": lesson_id, "student_id": student_id,
           "class_id": lesson["class_id"], "teacher_id": lesson["teacher_id"], "rating": rating,
           "comment": comment, "created_at": utc_text(work.ctx.now())}
    work.uow.insert("lesson_ratings", row)
    work.audit("lesson_rated", target_table="lesson_ratings", target_id=row_id,
               after={"who": family.label, "rating": rating, "lesson_id": lesson_id})
    return row


def family_survey(conn: Connection, ctx: NodeContext, family: Family, student_id: str, survey_id: str
                  ) -> dict[str, Any]:
    """A survey of this campus open to families and targeted at this one of the family's students;
    else 404."""
    family.student(student_id)
    survey = survey_row(conn, ctx, survey_id)
    if not survey["for_families"] or survey["status"] != "open" or not targets(conn, survey, student_id, ctx.id):
        raise NotFound(f"no survey {survey_id}", survey_id=survey_id)
    return survey


@use_case(FAMILY)
def answer_family_survey(work: NodeWork, family: Family, student_id: str, survey_id: str, answers: dict[str, Any]
                         ) -> dict[str, Any]:
    """The family's answers to an open survey, once per student."""
    survey = family_survey(work.conn, work.ctx, family, student_id, survey_id)
    row = write_response(work.uow, work.ctx, survey, student_id, answers, "portal", None)
    work.audit("portal_survey_answered", target_table="survey_responses", target_id=row["id"],
               after={"who": family.label, "survey_id": survey_id, "rating_x100": row["rating_x100"]})
    return row
