"""Attendance kiosks: devices registered at the node, each with its own secret.

A kiosk signs every request: ``X-Kiosk-Device`` (its id), ``X-Kiosk-Timestamp`` (Unix
seconds) and ``X-Kiosk-Signature`` = hex HMAC-SHA256(secret, timestamp + "\\n" + body). The
node refuses an unknown or revoked device, a timestamp more than five minutes off, a bad
signature, and a request it has already seen. Each mark carries its own id, so a kiosk that
lost the answer re-sends the same marks in a new request and nothing is counted twice.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from campus.node.teaching.attendance import MARKS
from campus.schema.errors import DomainError, NotFound
from campus.schema.tables import (
    attendance_marks,
    kiosk_devices,
    kiosk_requests,
    lesson_students,
    lessons,
    students,
)
from campus.schema.times import utc_now_text
from campus.sync.capture import UnitOfWork

WINDOW_SECONDS = 300
EARLY_CHECK_IN = timedelta(minutes=60)  # a check-in this long before a lesson counts for it
LATE_AFTER = timedelta(minutes=10)


class KioskRefused(DomainError):
    """The request is not from a known kiosk, is stale, tampered with or replayed (401/409)."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail, reason=reason)
        self.status = status
        self.reason = reason


def add_device(conn: Connection, name: str, device_id: str) -> dict[str, str]:
    secret = secrets.token_hex(32)
    conn.execute(insert(kiosk_devices).values(id=device_id, name=name, secret=secret, created_at=utc_now_text()))
    return {"id": device_id, "name": name, "secret": secret}


def revoke_device(conn: Connection, device_id: str) -> None:
    done = conn.execute(kiosk_devices.update().where(kiosk_devices.c.id == device_id)
                        .values(revoked_at=utc_now_text())).rowcount
    if not done:
        raise NotFound(f"no kiosk {device_id}", device_id=device_id)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(bytes.fromhex(secret), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def device_secret(conn: Connection, device_id: str) -> str | None:
    row = conn.execute(select(kiosk_devices.c.secret, kiosk_devices.c.revoked_at).where(
        kiosk_devices.c.id == device_id)).first()
    return row.secret if row and not row.revoked_at else None


def authenticate(conn: Connection, headers: Any, body: bytes, now: float | None = None) -> str:
    """The device id, after checking device, freshness, signature and replay; records the request
    (in the caller's transaction, so a refused batch leaves no trace)."""
    device_id = headers.get("x-kiosk-device", "")
    stamp = headers.get("x-kiosk-timestamp", "")
    given = headers.get("x-kiosk-signature", "")
    secret = device_secret(conn, device_id) if device_id else None
    if secret is None:
        raise KioskRefused(401, "unknown_device", "not a registered kiosk of this campus (or revoked)")
    if not stamp.isdigit() or abs((now or time.time()) - int(stamp)) > WINDOW_SECONDS:
        raise KioskRefused(401, "stale", f"the timestamp must be within {WINDOW_SECONDS} s of the node's clock")
    if not hmac.compare_digest(signature(secret, stamp, body), given.lower()):
        raise KioskRefused(401, "bad_signature", "the signature does not match the body")
    cutoff = datetime.fromtimestamp((now or time.time()) - 2 * WINDOW_SECONDS, UTC).isoformat()
    conn.execute(delete(kiosk_requests).where(kiosk_requests.c.received_at < cutoff))
    try:
        with conn.begin_nested():
            conn.execute(insert(kiosk_requests).values(signature=given.lower(), device_id=device_id,
                                                       received_at=datetime.now(UTC).isoformat()))
    except IntegrityError:
        raise KioskRefused(409, "replayed", "this exact request was already received") from None
    return device_id


@dataclass
class MarkResult:
    id: str
    outcome: str  # stored | duplicate | unmatched | rejected
    lesson_id: str | None = None
    mark: str | None = None
    reason: str | None = None


def _lesson_for(conn: Connection, student_id: str, campus_id: str, at: datetime) -> dict[str, Any] | None:
    moment = at.astimezone(UTC)
    earliest = (moment - timedelta(hours=12)).isoformat(timespec="seconds").replace("+00:00", "Z")
    latest = (moment + EARLY_CHECK_IN).isoformat(timespec="seconds").replace("+00:00", "Z")
    now_text = moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    row = conn.execute(select(lessons).join(lesson_students, lesson_students.c.lesson_id == lessons.c.id).where(
        lesson_students.c.student_id == student_id, lesson_students.c.deleted.is_(False),
        lessons.c.campus_id == campus_id, lessons.c.status == "scheduled", lessons.c.deleted.is_(False),
        lessons.c.starts_at <= latest, lessons.c.starts_at >= earliest, lessons.c.ends_at >= now_text,
    ).order_by(lessons.c.starts_at)).mappings().first()
    return dict(row) if row else None


def accept_marks(uow: UnitOfWork, campus_id: str, device_id: str, marks: list[dict[str, Any]]) -> list[MarkResult]:
    """Store a batch of kiosk marks; each is matched to the student's lesson at that moment."""
    results = []
    for item in marks:
        mark_id = str(item.get("id", ""))
        try:
            uuid.UUID(mark_id)
        except ValueError:
            results.append(MarkResult(mark_id, "rejected", reason="id must be a UUID the kiosk made"))
            continue
        if uow.conn.execute(select(attendance_marks.c.id).where(attendance_marks.c.id == mark_id)).first():
            results.append(MarkResult(mark_id, "duplicate"))
            continue
        student = uow.conn.execute(select(students.c.id).where(
            students.c.number == str(item.get("student_number", "")).strip(), students.c.deleted.is_(False))).first()
        if student is None:
            results.append(MarkResult(mark_id, "rejected", reason="unknown student number"))
            continue
        try:
            at = datetime.fromisoformat(str(item.get("device_time", "")).replace("Z", "+00:00"))
            if at.tzinfo is None:
                raise ValueError
        except ValueError:
            results.append(MarkResult(mark_id, "rejected", reason="device_time must be ISO-8601 with an offset"))
            continue
        wanted = item.get("mark")
        if wanted is not None and wanted not in MARKS:
            results.append(MarkResult(mark_id, "rejected", reason=f"mark must be one of {', '.join(MARKS)}"))
            continue
        lesson = _lesson_for(uow.conn, student.id, campus_id, at)
        if lesson is None:
            mark = wanted or "present"
        else:
            starts = datetime.fromisoformat(lesson["starts_at"].replace("Z", "+00:00"))
            mark = wanted or ("late" if at > starts + LATE_AFTER else "present")
        uow.insert("attendance_marks", {
            "id": mark_id, "campus_id": campus_id, "lesson_id": lesson["id"] if lesson else None,
            "student_id": student.id, "mark": mark, "source": "kiosk", "device_id": device_id,
            "device_time": at.isoformat(), "recorded_at": utc_now_text(), "hlc": uow.timestamp(),
            "by_user_id": None})
        results.append(MarkResult(mark_id, "stored" if lesson else "unmatched",
                                  lesson["id"] if lesson else None, mark))
    return results
