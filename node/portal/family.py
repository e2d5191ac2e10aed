"""Who a family signed in to the portal is, and which students are theirs: every student whose own
phone or whose guardian's phone is the phone they signed in with, or the one student whose number
and family password they gave. Worked out again on every request, so a phone taken off a record
or a password changed ends what it opened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, or_, select

from campus.schema.context import Actor
from campus.schema.errors import NotFound
from campus.schema.permissions import mask_phone
from campus.schema.tables import guardians, portal_passwords, students

LOCALES = ("zh_CN", "en")

SESSION_KEY = "portal"


@dataclass(frozen=True)
class Family:
    label: str  # what the audit trail names: the masked phone, or the student number
    student_ids: tuple[str, ...]
    phone: str | None = None
    locale: str | None = None  # the language they chose (zh_CN | en), or None: the campus's

    def actor(self, client_ip: str | None) -> Actor:
        """The family acts as the portal on their own behalf (no staff user behind it)."""
        return Actor(None, client_ip, f"family:{self.label}")

    def student(self, student_id: str) -> str:
        """``student_id`` if it is one of theirs; any other id is answered as if it did not exist."""
        if student_id not in self.student_ids:
            raise NotFound(f"no student {student_id}", student_id=student_id)
        return student_id


def students_of_phone(conn: Connection, phone: str) -> tuple[str, ...]:
    guarded = select(guardians.c.student_id).where(guardians.c.phone == phone, guardians.c.deleted.is_(False))
    return tuple(conn.execute(select(students.c.id).where(
        students.c.deleted.is_(False), or_(students.c.phone == phone, students.c.id.in_(guarded)))
        .order_by(students.c.number)).scalars())


def language_of(conn: Connection, student_ids: tuple[str, ...]) -> str | None:
    """The language a family chose on the first of their students' records that names one."""
    if not student_ids:
        return None
    chosen = conn.execute(select(students.c.locale).where(students.c.id.in_(student_ids),
                                                          students.c.locale.in_(LOCALES))
                          .order_by(students.c.number).limit(1)).scalar()
    return str(chosen) if chosen else None


def family_of(conn: Connection, signed_in: dict[str, Any] | None) -> Family | None:
    """The family a portal session names, or None when it names nobody (any more)."""
    if not signed_in:
        return None
    phone = signed_in.get("phone")
    if phone:
        ids = students_of_phone(conn, str(phone))
        return Family(mask_phone(str(phone)) or "", ids, str(phone), language_of(conn, ids)) if ids else None
    student_id = str(signed_in.get("student_id") or "")
    row = conn.execute(select(students.c.number, portal_passwords.c.set_at)
                       .join(portal_passwords, portal_passwords.c.student_id == students.c.id)
                       .where(students.c.id == student_id, students.c.deleted.is_(False),
                              portal_passwords.c.deleted.is_(False))).first()
    if row is None or row.set_at > str(signed_in.get("at") or ""):
        return None  # the password was changed (or removed) since they signed in
    return Family(row.number, (student_id,), None, language_of(conn, (student_id,)))
