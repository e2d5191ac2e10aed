"""Punches from the terminals: each kept once, and a student's check-in made into an attendance
mark exactly as a kiosk check-in is (the same matching to the student's lesson at that moment,
or a stray check-in when there is none).

A punch is identified by (terminal serial, PIN, time): its id and its mark's id are made from
them, so a re-sent upload, a ``CHECK`` re-upload or the answer to ``DATA QUERY ATTLOG`` finds
the punch already there and adds nothing. Terminal times are the campus's local time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from campus.node.devices import protocol
from campus.node.devices.people import person_of_pin
from campus.node.teaching.kiosks import accept_marks
from campus.schema.context import CampusContext
from campus.schema.ids import new_id
from campus.schema.tables import device_photos, device_punches, students
from campus.schema.times import utc_text
from campus.sync.capture import UnitOfWork

PUNCH_IDS = uuid.UUID("6d1f0c3e-5a43-4f5e-9c55-0b9a1c7e2a11")
MARK_IDS = uuid.UUID("2c0b7a8e-9f31-4d62-8a4f-5e7d3b1c9a02")


def _key(serial: str, pin: str, local_text: str) -> str:
    return f"{serial}\t{pin}\t{local_text}"


def punch_id(serial: str, pin: str, local_text: str) -> str:
    return str(uuid.uuid5(PUNCH_IDS, _key(serial, pin, local_text)))


def mark_id(serial: str, pin: str, local_text: str) -> str:
    return str(uuid.uuid5(MARK_IDS, _key(serial, pin, local_text)))


@dataclass
class PunchCounts:
    """What an upload's punches became (``OK: n`` counts every line, these say what each did)."""

    marked: int = 0  # a student's check-in matched to their lesson
    unmatched: int = 0  # a student's check-in at a time with no lesson of theirs: a stray check-in
    leaving: int = 0  # a student's check-out: kept, no mark
    staff: int = 0
    stray: int = 0  # a PIN no one at this campus has
    rejected: int = 0  # a student's PIN whose record is gone
    duplicates: int = 0
    malformed: int = 0

    @property
    def new(self) -> int:
        return self.marked + self.unmatched + self.leaving + self.staff + self.stray + self.rejected


def local_instant(ctx: CampusContext, local: datetime) -> datetime:
    """A terminal's zone-less time, read in the campus's time zone."""
    return local.replace(tzinfo=ctx.zone)


def store_punches(uow: UnitOfWork, ctx: CampusContext, device: dict[str, Any], punches: list[protocol.Punch],
                  now: str) -> PunchCounts:
    counts = PunchCounts()
    for punch in punches:
        key = (device["serial"], punch.pin, punch.local_text)
        this_id = punch_id(*key)
        if uow.conn.execute(select(device_punches.c.id).where(device_punches.c.id == this_id)).first():
            counts.duplicates += 1
            continue
        at = local_instant(ctx, punch.time)
        owner = person_of_pin(uow.conn, ctx.id, punch.pin)
        row: dict[str, Any] = {"id": this_id, "campus_id": ctx.id, "device_id": device["id"], "serial": device["serial"],
                               "pin": punch.pin, "punched_at": utc_text(at), "local_time": punch.local_text,
                               "status": punch.status, "verify": punch.verify, "workcode": punch.workcode,
                               "extra": punch.extra_json(), "kind": "stray", "student_id": None, "user_id": None,
                               "mark_id": None, "received_at": now}
        if owner is None:
            counts.stray += 1
        elif owner["kind"] == "staff":
            row.update(kind="staff", user_id=owner["user_id"])  # payroll's records: never a student's hours
            counts.staff += 1
        else:
            row.update(kind="student", student_id=owner["student_id"])
            number = uow.conn.execute(select(students.c.number).where(students.c.id == owner["student_id"])).scalar()
            if not punch.arrives:
                counts.leaving += 1
            elif number is None:
                counts.rejected += 1
            else:
                (result,) = accept_marks(uow, ctx.id, device["id"], [
                    {"id": mark_id(*key), "student_number": number, "device_time": at.isoformat()}])
                if result.outcome in ("stored", "unmatched", "duplicate"):
                    row["mark_id"] = result.id
                    if result.outcome == "stored":
                        counts.marked += 1
                    else:
                        counts.unmatched += 1
                else:
                    counts.rejected += 1
        uow.insert("device_punches", row)
    return counts


def store_photo(conn: Connection, ctx: CampusContext, device: dict[str, Any], photo: protocol.Photo,
                now: str) -> bool:
    """Keep a punch's photo with it (once per file name); False when it was already kept."""
    if conn.execute(select(device_photos.c.id).where(device_photos.c.device_id == device["id"],
                                                     device_photos.c.file_name == photo.file_name)).first():
        return False
    local = photo.taken.strftime("%Y-%m-%d %H:%M:%S") if photo.taken else None
    conn.execute(insert(device_photos).values(
        id=new_id(), device_id=device["id"], pin=photo.pin, file_name=photo.file_name,
        taken_at=utc_text(local_instant(ctx, photo.taken)) if photo.taken else None,
        punch_id=punch_id(device["serial"], photo.pin, local) if photo.pin and local else None,
        content=photo.content, received_at=now))
    return True
