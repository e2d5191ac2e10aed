"""Students (学籍): the record, its status, guardians, and the lead it came from."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select

from campus.node.crm.leads import CampusRef, get_lead
from campus.schema.errors import Conflict, Invalid, NotFound
from campus.schema.numbers import next_number
from campus.schema.permissions import Principal, mask_id_number, mask_phone
from campus.schema.phones import InvalidPhone, normalise_phone
from campus.schema.search import search_page
from campus.schema.tables import guardians, students
from campus.schema.times import utc_now_text
from campus.sync.capture import UnitOfWork


class Status(StrEnum):
    PENDING = "pending"  # 待入学
    ADMITTED = "admitted"  # 在读
    FINISHED = "finished"  # 结业
    WITHDRAWN = "withdrawn"  # 退学


STATUS_MOVES: dict[str, tuple[frozenset[Status], Status]] = {
    "admit": (frozenset({Status.PENDING}), Status.ADMITTED),
    "finish": (frozenset({Status.ADMITTED}), Status.FINISHED),
    "withdraw": (frozenset({Status.PENDING, Status.ADMITTED}), Status.WITHDRAWN),
    "readmit": (frozenset({Status.FINISHED, Status.WITHDRAWN}), Status.ADMITTED),
}


class StudentNotFound(NotFound):
    pass


class IllegalStatusMove(Conflict):
    pass


def _phone(value: str | None, field: str) -> str | None:
    if not value:
        return None
    try:
        return normalise_phone(value)
    except InvalidPhone as exc:
        raise Invalid(field, str(exc)) from None


def create_student(uow: UnitOfWork, campus: CampusRef, name: str | None = None, phone: str | None = None, *,
                   lead_id: str | None = None, birthday: str | None = None, grade: str | None = None,
                   id_number: str | None = None, partner_institution: str | None = None,
                   notes: str | None = None, guardian_list: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A new student at this campus (its home); from a lead, the lead's name, phone and birthday
    are taken unless given, and the lead's history stays reachable through ``lead_id``."""
    if lead_id:
        lead = get_lead(uow.conn, lead_id)
        taken = uow.conn.execute(select(students.c.number).where(students.c.lead_id == lead_id)).scalar()
        if taken:
            raise Conflict(f"lead {lead['number']} is already student {taken}", lead_id=lead_id, number=taken)
        name = name or lead["name"]
        phone = phone or lead["phone"]
        birthday = birthday or lead["birthday"]
    if not name or not name.strip():
        raise Invalid("name", "a student needs a name")
    row = {"home_campus_id": campus.id, "number": next_number(uow.conn, campus.code, "student"),
           "name": name.strip(), "phone": _phone(phone, "phone"), "status": Status.PENDING.value,
           "lead_id": lead_id, "birthday": birthday, "grade": grade, "id_number": id_number,
           "partner_institution": partner_institution, "notes": notes, "created_at": utc_now_text(),
           "deleted": False}
    student_id = uow.insert("students", row)
    for i, guardian in enumerate(guardian_list or []):
        uow.insert("guardians", {"student_id": student_id, "home_campus_id": campus.id,
                                 "name": guardian["name"], "relation": guardian["relation"],
                                 "phone": _phone(guardian["phone"], f"guardians.{i}.phone"),
                                 "created_at": row["created_at"], "deleted": False})
    return get_student(uow.conn, student_id)


def get_student(conn: Connection, student_id: str) -> dict[str, Any]:
    row = conn.execute(select(students).where(students.c.id == student_id, students.c.deleted.is_(False))
                       ).mappings().first()
    if row is None:
        raise StudentNotFound(f"no student {student_id}", student_id=student_id)
    kin = [dict(r) for r in conn.execute(select(guardians).where(
        guardians.c.student_id == student_id, guardians.c.deleted.is_(False)).order_by(guardians.c.id)).mappings()]
    return {**dict(row), "guardians": kin}


def present_student(student: dict[str, Any], viewer: Principal, campus_id: str) -> dict[str, Any]:
    """Phones masked (138****5678), and the ID number (110105********1234), for roles without the
    right to read them."""
    if not viewer.can("students.id_number.read", campus_id):
        student = {**student, "id_number": mask_id_number(student.get("id_number"))}
    if viewer.can("students.phone.read", campus_id):
        return student
    return {**student, "phone": mask_phone(student.get("phone")),
            "guardians": [{**g, "phone": mask_phone(g["phone"])} for g in student.get("guardians", [])]}


STUDENT_SORTS = {"created": students.c.created_at, "number": students.c.number, "name": students.c.name,
                 "grade": students.c.grade, "status": students.c.status}


def list_students(conn: Connection, campus_id: str, limit: int, offset: int, query: str | None = None,
                  status: str | None = None, sort: str = "created", descending: bool = True,
                  grade: str | None = None) -> tuple[int, list[dict[str, Any]]]:
    """This campus's students, optionally by status, grade or a name/phone/number search, in the
    order of one of ``STUDENT_SORTS``."""
    where = (students.c.home_campus_id == campus_id) & students.c.deleted.is_(False)
    if status:
        where &= students.c.status == status
    if grade:
        where &= students.c.grade == grade
    column = STUDENT_SORTS.get(sort, students.c.created_at)
    return search_page(conn, students, where, query, limit, offset,
                       order=[column.desc() if descending else column.asc()])


def move_status(uow: UnitOfWork, student_id: str, move: str) -> dict[str, Any]:
    if move not in STATUS_MOVES:
        raise Invalid("move", f"one of {', '.join(STATUS_MOVES)}")
    student = get_student(uow.conn, student_id)
    sources, target = STATUS_MOVES[move]
    if Status(student["status"]) not in sources:
        allowed = [m for m, (s, _) in STATUS_MOVES.items() if Status(student["status"]) in s]
        raise IllegalStatusMove(f"cannot {move} a student who is {student['status']}; allowed: "
                                f"{', '.join(allowed) or 'none'}", student_status=student["status"], allowed_moves=allowed)
    uow.update("students", student_id, {"status": target.value})
    return get_student(uow.conn, student_id)
