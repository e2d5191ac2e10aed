"""Tickets at a campus: open one, reply (the family sees it) or note (staff only), move its status,
assign it. Each is a use case (``tickets.write``), audited; the portal opens tickets for families
through :func:`write_ticket` inside its own use case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from campus.node.context import NodeContext, NodeWork
from campus.node.notify.use_cases import ticket_replied
from campus.node.service.tickets import (
    Category,
    Priority,
    Source,
    Status,
    after_reply,
    check_move,
    respond_by,
)
from campus.schema.errors import Conflict, Invalid, NotFound
from campus.schema.numbers import next_number
from campus.schema.tables import guardians, leads, role_grants, students, tickets, users
from campus.schema.times import utc_text
from campus.sync.capture import UnitOfWork
from campus.web.usecase import use_case

MAX_SUBJECT = 200
MAX_BODY = 5000


class OtherCampusTicket(Conflict):
    """A ticket is handled by the campus where it was opened."""


@dataclass(frozen=True)
class NewTicket:
    category: str
    subject: str
    body: str
    priority: str = Priority.NORMAL.value
    student_id: str | None = None
    lead_id: str | None = None
    source: str = Source.STAFF.value
    assignee_id: str | None = None
    contact_phone: str | None = None


def _choice(enum: Any, value: str, field: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise Invalid(field, f"one of {', '.join(e.value for e in enum)}") from None


def _text(value: str, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid(field, "must not be empty")
    if len(text) > limit:
        raise Invalid(field, f"at most {limit} characters")
    return text


def family_phone(conn: Connection, student_id: str) -> str | None:
    """The number a family is answered on: the first guardian's, else the student's own."""
    phone = conn.execute(select(guardians.c.phone).where(guardians.c.student_id == student_id,
                                                         guardians.c.deleted.is_(False))
                         .order_by(guardians.c.created_at, guardians.c.id).limit(1)).scalar()
    if phone:
        return str(phone)
    own = conn.execute(select(students.c.phone).where(students.c.id == student_id)).scalar()
    return str(own) if own else None


def check_staff(conn: Connection, user_id: str, campus_id: str) -> None:
    """``user_id`` is an active user with a role at this campus (or at every campus)."""
    found = conn.execute(select(users.c.id).join(role_grants, role_grants.c.user_id == users.c.id).where(
        users.c.id == user_id, users.c.active.is_(True), users.c.deleted.is_(False),
        role_grants.c.deleted.is_(False),
        (role_grants.c.campus_id == campus_id) | role_grants.c.campus_id.is_(None))).first()
    if found is None:
        raise Invalid("assignee_id", "not a member of staff at this campus")


def write_ticket(uow: UnitOfWork, ctx: NodeContext, new: NewTicket, opened_by: str | None) -> dict[str, Any]:
    """Check and write a new ticket (with its number and response deadline); returns the row."""
    category = _choice(Category, new.category, "category")
    priority = _choice(Priority, new.priority, "priority")
    source = _choice(Source, new.source, "source")
    subject = _text(new.subject, "subject", MAX_SUBJECT)
    body = _text(new.body, "body", MAX_BODY)
    if not new.student_id and not new.lead_id:
        raise Invalid("student_id", "a ticket is about a student or a lead: give student_id or lead_id")
    contact = new.contact_phone
    if new.student_id:
        found = uow.conn.execute(select(students.c.id).where(students.c.id == new.student_id,
                                                             students.c.deleted.is_(False))).first()
        if found is None:
            raise Invalid("student_id", "no such student")
        contact = contact or family_phone(uow.conn, new.student_id)
    if new.lead_id:
        phone = uow.conn.execute(select(leads.c.phone).where(leads.c.id == new.lead_id,
                                                             leads.c.deleted.is_(False))).scalar()
        if phone is None:
            raise Invalid("lead_id", "no such lead")
        contact = contact or phone
    if new.assignee_id:
        check_staff(uow.conn, new.assignee_id, ctx.id)
    now = ctx.now()
    row = {"campus_id": ctx.id, "number": next_number(uow.conn, ctx.code, "ticket"), "student_id": new.student_id,
           "lead_id": new.lead_id, "category": category.value, "priority": priority.value, "subject": subject,
           "body": body, "source": source.value, "status": Status.OPEN.value, "assignee_id": new.assignee_id,
           "opened_by": opened_by, "contact_phone": contact,
           "respond_by": utc_text(respond_by(now, category, ctx.service)), "responded_at": None,
           "resolved_at": None, "closed_at": None, "created_at": utc_text(now), "updated_at": utc_text(now),
           "deleted": False}
    return {"id": uow.insert("tickets", row), **row}


def ticket_here(conn: Connection, ctx: NodeContext, ticket_id: str) -> dict[str, Any]:
    row = conn.execute(select(tickets).where(tickets.c.id == ticket_id, tickets.c.deleted.is_(False))).mappings().first()
    if row is None:
        raise NotFound(f"no ticket {ticket_id}", ticket_id=ticket_id)
    if row["campus_id"] != ctx.id:
        raise OtherCampusTicket("this ticket is handled by the campus where it was opened",
                                campus_id=row["campus_id"])
    return dict(row)


def add_event(uow: UnitOfWork, ticket: dict[str, Any], kind: str, at: datetime, *, body: str | None = None,
              by_user_id: str | None = None, by_family: bool = False, from_status: str | None = None,
              to_status: str | None = None, assignee_id: str | None = None) -> dict[str, Any]:
    row = {"campus_id": ticket["campus_id"], "ticket_id": ticket["id"], "student_id": ticket["student_id"],
           "kind": kind, "body": body, "from_status": from_status, "to_status": to_status,
           "assignee_id": assignee_id, "by_user_id": by_user_id, "by_family": by_family, "created_at": utc_text(at)}
    return {"id": uow.insert("ticket_events", row), **row}


def _set_status(uow: UnitOfWork, ctx: NodeContext, ticket: dict[str, Any], wanted: Status, at: datetime,
                by_user_id: str | None, by_family: bool = False) -> dict[str, Any]:
    current = Status(ticket["status"])
    check_move(current, wanted)
    now = utc_text(at)
    changes: dict[str, Any] = {"status": wanted.value, "updated_at": now}
    if wanted is Status.RESOLVED:
        changes["resolved_at"] = now
    elif wanted is Status.CLOSED:
        changes["closed_at"] = now
    elif wanted is Status.REOPENED:  # a new response is due
        changes.update(respond_by=utc_text(respond_by(at, Category(ticket["category"]), ctx.service)),
                       responded_at=None, resolved_at=None, closed_at=None)
    uow.update("tickets", ticket["id"], changes)
    add_event(uow, ticket, "status", at, by_user_id=by_user_id, by_family=by_family, from_status=current.value,
              to_status=wanted.value)
    return {**ticket, **changes}


def reply(uow: UnitOfWork, ctx: NodeContext, ticket: dict[str, Any], body: str, by_user_id: str | None
          ) -> dict[str, Any]:
    """A reply the family sees: the first one answers the ticket, and an open one moves in progress."""
    at = ctx.now()
    event = add_event(uow, ticket, "reply", at, body=_text(body, "body", MAX_BODY), by_user_id=by_user_id)
    ticket_replied(uow, ctx, ticket, event)  # to the family, with the reply
    if ticket["responded_at"] is None or ticket.get("awaiting_staff_since"):
        answered = {"responded_at": ticket["responded_at"] or utc_text(at), "awaiting_staff_since": None}
        uow.update("tickets", ticket["id"], {**answered, "updated_at": utc_text(at)})
        ticket = {**ticket, **answered}
    status = Status(ticket["status"])
    if after_reply(status) is not status:
        _set_status(uow, ctx, ticket, after_reply(status), at, by_user_id)
    return event


def family_reply(uow: UnitOfWork, ctx: NodeContext, ticket: dict[str, Any], body: str) -> dict[str, Any]:
    """A family's reply from the portal: in the thread, and the ticket awaits staff (a resolved or
    closed one is reopened, with a new response deadline)."""
    at = ctx.now()
    event = add_event(uow, ticket, "reply", at, body=_text(body, "body", MAX_BODY), by_family=True)
    waiting = {"awaiting_staff_since": utc_text(at), "updated_at": utc_text(at)}
    uow.update("tickets", ticket["id"], waiting)
    ticket = {**ticket, **waiting}
    if Status(ticket["status"]) in (Status.RESOLVED, Status.CLOSED):
        _set_status(uow, ctx, ticket, Status.REOPENED, at, None, by_family=True)
    return event


@use_case("tickets.write")
def open_ticket(work: NodeWork, new: NewTicket) -> dict[str, Any]:
    ticket = write_ticket(work.uow, work.ctx, new, work.actor.user_id)
    work.audit("ticket_opened", target_table="tickets", target_id=ticket["id"],
               after={"number": ticket["number"], "category": ticket["category"], "priority": ticket["priority"],
                      "student_id": ticket["student_id"], "lead_id": ticket["lead_id"]})
    return ticket


@use_case("tickets.write")
def reply_to_ticket(work: NodeWork, ticket_id: str, body: str, internal: bool = False) -> dict[str, Any]:
    """A reply the family sees (``internal``: a note only staff see)."""
    ticket = ticket_here(work.conn, work.ctx, ticket_id)
    if internal:
        event = add_event(work.uow, ticket, "note", work.ctx.now(), body=_text(body, "body", MAX_BODY),
                          by_user_id=work.actor.user_id)
    else:
        event = reply(work.uow, work.ctx, ticket, body, work.actor.user_id)
    work.audit("ticket_noted" if internal else "ticket_replied", target_table="tickets", target_id=ticket_id,
               after={"event_id": event["id"], "number": ticket["number"]})
    return event


@use_case("tickets.write")
def move_ticket(work: NodeWork, ticket_id: str, status: str) -> dict[str, Any]:
    """Start, resolve, close or reopen a ticket, as its current status allows."""
    ticket = ticket_here(work.conn, work.ctx, ticket_id)
    wanted = _choice(Status, status, "status")
    moved = _set_status(work.uow, work.ctx, ticket, wanted, work.ctx.now(), work.actor.user_id)
    work.audit("ticket_status_changed", target_table="tickets", target_id=ticket_id,
               before={"status": ticket["status"]}, after={"status": moved["status"], "number": ticket["number"]})
    return moved


@use_case("tickets.write")
def assign_ticket(work: NodeWork, ticket_id: str, assignee_id: str | None) -> dict[str, Any]:
    """Give a ticket to a member of staff at the campus (None: nobody)."""
    ticket = ticket_here(work.conn, work.ctx, ticket_id)
    if assignee_id:
        check_staff(work.conn, assignee_id, work.ctx.id)
    if assignee_id == ticket["assignee_id"]:
        return ticket
    at = work.ctx.now()
    work.uow.update("tickets", ticket_id, {"assignee_id": assignee_id, "updated_at": utc_text(at)})
    add_event(work.uow, ticket, "assign", at, by_user_id=work.actor.user_id, assignee_id=assignee_id)
    work.audit("ticket_assigned", target_table="tickets", target_id=ticket_id,
               before={"assignee_id": ticket["assignee_id"]}, after={"assignee_id": assignee_id})
    return {**ticket, "assignee_id": assignee_id}
