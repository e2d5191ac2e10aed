"""People on the terminals: a numeric PIN per student (and per staff member given one) unique at
the campus, and each approved terminal's user list kept equal to who should be on it.

Who should be: the campus's students who have not finished or withdrawn (those whose home it is
and those with a contract line to study here), and the staff given a PIN. The node remembers
what it put on each terminal (``device_users``), so keeping a terminal up to date queues only the
difference: ``DATA UPDATE USERINFO`` for someone new or renamed, ``DATA DELETE USERINFO`` for
someone gone. It never touches a user that was made on the terminal itself under a PIN the
node does not give out (its administrator, say), and never gives out a PIN a terminal already
uses for such a user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, text, update

from campus.node.devices import protocol, registry
from campus.schema.errors import Conflict, Invalid, NotFound
from campus.schema.tables import device_pins, device_users, users
from campus.sync.capture import UnitOfWork

FIRST_PIN = 1001  # below it, the PINs a terminal's own administrator usually has

STUDENTS_HERE = (
    "SELECT s.id, s.name FROM students s WHERE s.deleted = 0 AND s.status IN ('pending', 'admitted')"
    " AND (s.home_campus_id = :campus OR EXISTS (SELECT 1 FROM contract_lines l"
    " WHERE l.student_id = s.id AND l.study_campus_id = :campus))"
)


@dataclass(frozen=True)
class Person:
    kind: str  # student | staff
    person_id: str
    name: str


def pin_of(conn: Connection, campus_id: str, student_id: str) -> int | None:
    """The student's PIN on this campus's terminals (None until the node gives one)."""
    return conn.execute(select(device_pins.c.pin).where(device_pins.c.campus_id == campus_id,
                                                        device_pins.c.student_id == student_id)).scalar()


def _taken_on_terminals(conn: Connection) -> set[str]:
    return set(conn.execute(select(device_users.c.pin).where(device_users.c.kind == "other")).scalars())


def _next_pin(conn: Connection, campus_id: str, taken: set[str]) -> int:
    last = conn.execute(select(func.max(device_pins.c.pin)).where(device_pins.c.campus_id == campus_id)).scalar()
    pin = max(FIRST_PIN, (last or 0) + 1)
    while str(pin) in taken:
        pin += 1
    return pin


def give_pins(uow: UnitOfWork, campus_id: str, now: str, student_ids: list[str] | None = None) -> int:
    """A PIN for each current student of the campus who has none (or for ``student_ids``); a PIN is
    never given twice, even after its student leaves. Returns how many were given."""
    wanted = [r.id for r in uow.conn.execute(text(STUDENTS_HERE), {"campus": campus_id})] \
        if student_ids is None else student_ids
    have = set(uow.conn.execute(select(device_pins.c.student_id).where(
        device_pins.c.campus_id == campus_id, device_pins.c.student_id.is_not(None))).scalars())
    missing = [s for s in dict.fromkeys(wanted) if s not in have]
    if not missing:
        return 0
    taken = _taken_on_terminals(uow.conn)
    pin = _next_pin(uow.conn, campus_id, taken)
    for student_id in missing:
        while str(pin) in taken:
            pin += 1
        uow.insert("device_pins", {"campus_id": campus_id, "pin": pin, "kind": "student", "student_id": student_id,
                                   "user_id": None, "created_at": now, "deleted": False})
        pin += 1
    return len(missing)


def add_staff_pin(uow: UnitOfWork, campus_id: str, user_id: str, now: str) -> int:
    """A PIN for a staff member's clock-ins (payroll's records; never a student's hours)."""
    user = uow.conn.execute(select(users.c.id).where(users.c.id == user_id, users.c.deleted.is_(False))).first()
    if user is None:
        raise NotFound(f"no user {user_id}", user_id=user_id)
    row = uow.conn.execute(select(device_pins).where(device_pins.c.campus_id == campus_id,
                                                     device_pins.c.user_id == user_id)).mappings().first()
    if row is not None:
        if not row["deleted"]:
            raise Conflict(f"this staff member already has PIN {row['pin']}", pin=row["pin"])
        uow.update("device_pins", row["id"], {"deleted": False})  # the same PIN as before
        return int(row["pin"])
    pin = _next_pin(uow.conn, campus_id, _taken_on_terminals(uow.conn))
    uow.insert("device_pins", {"campus_id": campus_id, "pin": pin, "kind": "staff", "student_id": None,
                               "user_id": user_id, "created_at": now, "deleted": False})
    return pin


def remove_staff_pin(uow: UnitOfWork, campus_id: str, user_id: str) -> int:
    row = uow.conn.execute(select(device_pins).where(device_pins.c.campus_id == campus_id,
                                                     device_pins.c.user_id == user_id,
                                                     device_pins.c.deleted.is_(False))).mappings().first()
    if row is None:
        raise NotFound("this staff member has no PIN here", user_id=user_id)
    uow.tombstone("device_pins", row["id"])
    return int(row["pin"])


def wanted_people(conn: Connection, campus_id: str) -> dict[str, Person]:
    """PIN → who should be on every approved terminal of the campus now."""
    here = {r.id: r.name for r in conn.execute(text(STUDENTS_HERE), {"campus": campus_id})}
    wanted: dict[str, Person] = {}
    for row in conn.execute(select(device_pins.c.pin, device_pins.c.kind, device_pins.c.student_id,
                                   device_pins.c.user_id, users.c.display_name, users.c.active)
                            .outerjoin(users, (users.c.id == device_pins.c.user_id) & users.c.deleted.is_(False))
                            .where(device_pins.c.campus_id == campus_id, device_pins.c.deleted.is_(False))):
        if row.kind == "student" and row.student_id in here:
            wanted[str(row.pin)] = Person("student", row.student_id, here[row.student_id])
        elif row.kind == "staff" and row.display_name is not None and row.active:
            wanted[str(row.pin)] = Person("staff", row.user_id, row.display_name)
    return wanted


def person_of_pin(conn: Connection, campus_id: str, pin: str) -> dict[str, Any] | None:
    """Whose PIN this is at the campus (kept after a student leaves, so old punches still name them)."""
    if not pin.isdigit() or len(pin) > 9:
        return None
    row = conn.execute(select(device_pins.c.kind, device_pins.c.student_id, device_pins.c.user_id).where(
        device_pins.c.campus_id == campus_id, device_pins.c.pin == int(pin))).first()
    return row._asdict() if row else None


def held_by(conn: Connection, device_id: str) -> dict[str, dict[str, Any]]:
    return {r["pin"]: dict(r) for r in conn.execute(select(device_users).where(
        device_users.c.device_id == device_id)).mappings()}


def plan(wanted: dict[str, Person], held: dict[str, dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(PINs to put on the terminal, PINs to take off it), from who should be there and what the
    node knows the terminal holds. A failed command is not repeated until someone retries it or
    the person's name changes."""
    updates = []
    for pin, person in wanted.items():
        row = held.get(pin)
        if row is None:
            updates.append(pin)
        elif row["kind"] == "other":
            continue  # a user made on the terminal under this PIN: never overwritten
        elif row["state"] in ("queued", "present", "failed") and row["name"] == person.name:
            continue
        elif row["state"] == "reported" and row["reported_name"] == person.name:
            continue
        else:
            updates.append(pin)
    deletes = [pin for pin, row in held.items()
               if pin not in wanted and row["kind"] in ("student", "staff") and row["state"] not in ("deleted", "deleting")]
    return updates, deletes


def bring_up_to_date(conn: Connection, device: dict[str, Any], wanted: dict[str, Person], now: str,
                     by: str | None) -> tuple[int, int]:
    """Queue what the terminal needs to hold exactly ``wanted``; returns (updates, deletions) queued."""
    held = held_by(conn, device["id"])
    updates, deletes = plan(wanted, held)
    for pin in updates:
        person = wanted[pin]
        command_id = registry.queue(conn, device["id"], protocol.user_update(pin, person.name), "user_update", now,
                                    pin=pin, by=by)
        _hold(conn, device["id"], pin, held.get(pin), kind=person.kind, person_id=person.person_id, name=person.name,
              state="queued", origin="node", command_id=command_id, updated_at=now)
    for pin in deletes:
        command_id = registry.queue(conn, device["id"], protocol.user_delete(pin), "user_delete", now, pin=pin, by=by)
        _hold(conn, device["id"], pin, held[pin], state="deleting", command_id=command_id, updated_at=now)
    return len(updates), len(deletes)


def _hold(conn: Connection, device_id: str, pin: str, before: dict[str, Any] | None, **values: Any) -> None:
    if before is None:
        conn.execute(insert(device_users).values(device_id=device_id, pin=pin, **values))
    else:
        conn.execute(update(device_users).where(device_users.c.device_id == device_id,
                                                device_users.c.pin == pin).values(values))


def command_answered(conn: Connection, device_id: str, command: dict[str, Any], now: str) -> None:
    """A user command's result: the person is on the terminal, off it, or the command failed."""
    if command.get("kind") not in ("user_update", "user_delete") or not command.get("pin"):
        return
    row = conn.execute(select(device_users).where(device_users.c.device_id == device_id,
                                                  device_users.c.pin == command["pin"])).mappings().first()
    if row is None or row["command_id"] != command["id"]:
        return  # a later command for the same person decides
    if command["state"] == "failed":
        state = "failed"
    else:
        state = "present" if command["kind"] == "user_update" else "deleted"
    conn.execute(update(device_users).where(device_users.c.device_id == device_id,
                                            device_users.c.pin == command["pin"]).values(state=state, updated_at=now))


def reported(conn: Connection, campus_id: str, device_id: str, record: protocol.UserOnDevice | protocol.Biometric,
             now: str) -> None:
    """What the terminal says it holds (OPERLOG): a user's name and privilege, or that a
    fingerprint or face was enrolled for a PIN. A PIN the node does not give out is someone made
    on the terminal itself."""
    row = conn.execute(select(device_users).where(device_users.c.device_id == device_id,
                                                  device_users.c.pin == record.pin)).mappings().first()
    if row is None:
        owner = person_of_pin(conn, campus_id, record.pin)
        conn.execute(insert(device_users).values(
            device_id=device_id, pin=record.pin, kind=owner["kind"] if owner else "other",
            person_id=(owner["student_id"] or owner["user_id"]) if owner else None, state="reported",
            origin="device", updated_at=now))
        row = conn.execute(select(device_users).where(device_users.c.device_id == device_id,
                                                      device_users.c.pin == record.pin)).mappings().first()
        assert row is not None
    values: dict[str, Any] = {"updated_at": now}
    if isinstance(record, protocol.UserOnDevice):
        values.update(reported_name=record.name, privilege=record.privilege)
        if row["state"] == "deleted":
            values["state"] = "reported"
    elif record.kind == "fingerprint":
        values["fingerprints"] = row["fingerprints"] + 1
    elif record.kind == "face":
        values["faces"] = row["faces"] + 1
    conn.execute(update(device_users).where(device_users.c.device_id == device_id,
                                            device_users.c.pin == record.pin).values(values))


def current_student(conn: Connection, campus_id: str, student_id: str) -> str:
    """The student's name, if they are a current student of this campus (else a refusal)."""
    row = conn.execute(text(STUDENTS_HERE + " AND s.id = :student"), {"campus": campus_id, "student": student_id}).first()
    if row is None:
        raise Invalid("student_id", "not a current student of this campus (finished, withdrawn or elsewhere)")
    return str(row.name)
