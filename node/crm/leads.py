"""Lead use cases. The pool state machine, import and assignment arrive with the CRM issue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from campus.schema.errors import Conflict, Invalid, NotFound
from campus.schema.numbers import next_number
from campus.schema.phones import InvalidPhone, normalise_phone
from campus.schema.tables import leads
from campus.schema.times import utc_now_text
from campus.sync.capture import UnitOfWork


class DuplicatePhone(Conflict):
    """The institution already has a lead with this phone number."""


class LeadNotFound(NotFound):
    pass


@dataclass(frozen=True)
class Campus:
    id: str
    code: str


def create_lead(
    uow: UnitOfWork, campus: Campus, name: str, phone: str, channel: str | None = None, notes: str | None = None
) -> dict[str, Any]:
    try:
        normalised = normalise_phone(phone)
    except InvalidPhone as exc:
        raise Invalid("phone", str(exc)) from None
    existing = uow.conn.execute(
        select(leads.c.id, leads.c.number).where(leads.c.phone == normalised, leads.c.deleted.is_(False))
    ).first()
    if existing:
        raise DuplicatePhone(
            f"lead {existing.number} already has phone {normalised}", lead_id=existing.id, number=existing.number
        )
    row = {
        "campus_id": campus.id,
        "number": next_number(uow.conn, campus.code, "lead"),
        "name": name,
        "phone": normalised,
        "channel": channel,
        "notes": notes,
        "pool": "lead",
        "created_at": utc_now_text(),
        "deleted": False,
    }
    row_id = uow.insert("leads", row)
    return {"id": row_id, **row}


def get_lead(conn: Connection, lead_id: str) -> dict[str, Any]:
    row = conn.execute(select(leads).where(leads.c.id == lead_id)).mappings().first()
    if row is None:
        raise LeadNotFound(f"no lead {lead_id}", lead_id=lead_id)
    return dict(row)


def list_leads(conn: Connection, campus_id: str, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    where = (leads.c.campus_id == campus_id) & leads.c.deleted.is_(False)
    total = conn.execute(select(func.count()).select_from(leads).where(where)).scalar_one()
    rows = conn.execute(select(leads).where(where).order_by(leads.c.id).limit(limit).offset(offset)).mappings()
    return total, [dict(r) for r in rows]
