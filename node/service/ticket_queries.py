"""Reading tickets: the desk's list (filtered, most urgent first), one ticket with its thread, the
overdue ones, and the reminders they raise."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from campus.node.context import NodeContext
from campus.node.service.tickets import PRIORITY_RANK, UNRESOLVED, Priority, Status, is_overdue
from campus.schema.errors import NotFound
from campus.schema.search import contains_pattern, ordered, paged
from campus.schema.tables import leads, students, ticket_events, tickets, users
from campus.schema.times import utc_text

LIST_COLUMNS = (tickets.c.id, tickets.c.number, tickets.c.campus_id, tickets.c.student_id, tickets.c.lead_id,
                tickets.c.category, tickets.c.priority, tickets.c.subject, tickets.c.source, tickets.c.status,
                tickets.c.assignee_id, tickets.c.respond_by, tickets.c.responded_at, tickets.c.created_at,
                tickets.c.updated_at, tickets.c.awaiting_staff_since)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def with_state(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A ticket row with ``overdue`` (unanswered past its deadline) and ``unresolved``."""
    status = Status(row["status"])
    return {**row, "unresolved": status in UNRESOLVED,
            "overdue": is_overdue(status, _instant(row["respond_by"]), row["responded_at"] is not None, now)}


def _about(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with the name and number of the student or lead it is about, and its assignee's name."""
    student_ids = {r["student_id"] for r in rows if r.get("student_id")}
    lead_ids = {r["lead_id"] for r in rows if r.get("lead_id")}
    people = {r.id: (r.number, r.name) for r in conn.execute(
        select(students.c.id, students.c.number, students.c.name).where(students.c.id.in_(student_ids)))}
    people |= {r.id: (r.number, r.name) for r in conn.execute(
        select(leads.c.id, leads.c.number, leads.c.name).where(leads.c.id.in_(lead_ids)))}
    staff = dict(conn.execute(select(users.c.id, users.c.display_name)).all())
    shown = []
    for row in rows:
        number, name = people.get(row.get("student_id") or row.get("lead_id") or "", (None, None))
        shown.append({**row, "about_number": number, "about_name": name,
                      "assignee_name": staff.get(row.get("assignee_id") or "")})
    return shown


TICKET_SORTS = {"number": tickets.c.number, "created": tickets.c.created_at, "respond_by": tickets.c.respond_by,
                "status": tickets.c.status, "category": tickets.c.category}


def ticket_list(conn: Connection, ctx: NodeContext, *, status: str | None = None, assignee_id: str | None = None,
                student_id: str | None = None, category: str | None = None, overdue: bool = False,
                unresolved: bool = False, limit: int = 50, offset: int = 0, sort: str | None = None,
                descending: bool = True, search: str | None = None) -> dict[str, Any]:
    """The campus's tickets, unresolved and most urgent first, then the newest; or in the order of
    one of ``TICKET_SORTS``; optionally those whose number or title holds ``search``."""
    query = select(*LIST_COLUMNS).where(tickets.c.campus_id == ctx.id, tickets.c.deleted.is_(False))
    if search:
        pattern = contains_pattern(search)
        query = query.where(tickets.c.number.like(pattern, escape="\\") | tickets.c.subject.like(pattern, escape="\\"))
    if status:
        query = query.where(tickets.c.status == status)
    if unresolved or overdue:
        query = query.where(tickets.c.status.in_([s.value for s in UNRESOLVED]))
    if overdue:
        query = query.where(tickets.c.responded_at.is_(None), tickets.c.respond_by < ctx.now_text())
    if assignee_id:
        query = query.where(tickets.c.assignee_id == assignee_id)
    if student_id:
        query = query.where(tickets.c.student_id == student_id)
    if category:
        query = query.where(tickets.c.category == category)
    now = ctx.now()
    if sort in TICKET_SORTS:
        total, page = paged(conn, query, ordered(TICKET_SORTS[sort], descending, tickets.c.id), limit, offset)
        return {"total": total, "items": _about(conn, [with_state(row, now) for row in page])}
    rows = [with_state(dict(r), now) for r in conn.execute(query).mappings()]
    rows.sort(key=lambda r: (not r["unresolved"], not r["overdue"], PRIORITY_RANK[Priority(r["priority"])],
                             r["respond_by"] if r["unresolved"] else "", -_instant(r["created_at"]).timestamp()))
    return {"total": len(rows), "items": _about(conn, rows[offset:offset + limit])}


def ticket_view(conn: Connection, ctx: NodeContext, ticket_id: str, *, internal: bool = True) -> dict[str, Any]:
    """One ticket and its thread, oldest first (``internal``: with the notes only staff see)."""
    row = conn.execute(select(tickets).where(tickets.c.id == ticket_id, tickets.c.deleted.is_(False))
                       ).mappings().first()
    if row is None:
        raise NotFound(f"no ticket {ticket_id}", ticket_id=ticket_id)
    query = select(ticket_events).where(ticket_events.c.ticket_id == ticket_id)
    if not internal:
        query = query.where(ticket_events.c.kind != "note")
    staff = dict(conn.execute(select(users.c.id, users.c.display_name)).all())
    thread = [{**dict(e), "by_name": staff.get(e["by_user_id"] or "")}
              for e in conn.execute(query.order_by(ticket_events.c.created_at, ticket_events.c.id)).mappings()]
    return {**_about(conn, [with_state(dict(row), ctx.now())])[0], "thread": thread,
            "here": row["campus_id"] == ctx.id}


def ticket_reminders(conn: Connection, ctx: NodeContext, user_id: str, *, may_manage: bool) -> list[dict[str, Any]]:
    """Overdue tickets (unanswered past their deadline), dated the campus day the response was due,
    and tickets the family replied to in the portal, dated the day they wrote: the assignee's own,
    and for managers every one nobody was given."""
    columns = (tickets.c.id, tickets.c.number, tickets.c.student_id, tickets.c.lead_id, tickets.c.respond_by,
               tickets.c.subject, tickets.c.awaiting_staff_since)
    unresolved = (tickets.c.campus_id == ctx.id, tickets.c.deleted.is_(False),
                  tickets.c.status.in_([s.value for s in UNRESOLVED]))
    mine = tickets.c.assignee_id == user_id
    whose = or_(mine, tickets.c.assignee_id.is_(None)) if may_manage else mine
    overdue = conn.execute(select(*columns).where(*unresolved, whose, tickets.c.responded_at.is_(None),
                                                  tickets.c.respond_by < ctx.now_text()).order_by(tickets.c.respond_by))
    replied = conn.execute(select(*columns).where(  # an overdue one is reminded of as such, once
        *unresolved, whose, tickets.c.awaiting_staff_since.is_not(None),
        or_(tickets.c.responded_at.is_not(None), tickets.c.respond_by >= ctx.now_text()))
                           .order_by(tickets.c.awaiting_staff_since))
    return [{"kind": kind, "ticket_id": row.id, "number": row.number, "student_id": row.student_id,
             "subject": row.subject, "on": ctx.local_date(row.respond_by if kind == "ticket_overdue"
                                                          else row.awaiting_staff_since).isoformat()}
            for kind, rows in (("ticket_overdue", overdue), ("ticket_replied", replied)) for row in rows]


def open_count(conn: Connection, ctx: NodeContext) -> dict[str, int]:
    """Unresolved and overdue tickets at the campus, for the desk's header."""
    base = select(func.count()).where(tickets.c.campus_id == ctx.id, tickets.c.deleted.is_(False),
                                      tickets.c.status.in_([s.value for s in UNRESOLVED]))
    return {"unresolved": conn.execute(base).scalar_one(),
            "overdue": conn.execute(base.where(tickets.c.responded_at.is_(None),
                                               tickets.c.respond_by < utc_text(ctx.now()))).scalar_one()}
