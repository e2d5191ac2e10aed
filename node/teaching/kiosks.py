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
from http import HTTPStatus
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from campus.node.teaching.attendance import MARKS
from campus.schema.errors import DomainError, NotFound
from campus.schema.tables import (
    kiosk_devices,
    kiosk_requests,
)
from campus.schema.times import utc_now_text, utc_text
from campus.sync.capture import UnitOfWork

WINDOW_SECONDS = 300
EARLY_CHECK_IN = timedelta(minutes=60)  # a check-in this long before a lesson counts for it
LATE_AFTER = timedelta(minutes=10)
PRUNE_EVERY_SECONDS = 60
_last_pruned = 0.0


class KioskRefused(DomainError):
    """The request is not from a known kiosk, is stale, tampered with or replayed (401/409)."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail, reason=reason)
        self.status = status
        self.reason = reason
        self.problem_slug = f"kiosk-{reason.replace('_', '-')}"
        self.problem_title = HTTPStatus(status).phrase


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
    global _last_pruned
    if (now or time.time()) - _last_pruned > PRUNE_EVERY_SECONDS:  # requests older than the window can go
        cutoff = datetime.fromtimestamp((now or time.time()) - 2 * WINDOW_SECONDS, UTC).isoformat()
        conn.execute(delete(kiosk_requests).where(kiosk_requests.c.received_at < cutoff))
        _last_pruned = now or time.time()
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


# The hot path of a kiosk request: plain SQL, compiled once by SQLite, not rebuilt per mark.
LESSON_AT = (
    "SELECT lessons.id, lessons.starts_at FROM lessons JOIN lesson_students"
    " ON lesson_students.lesson_id = lessons.id"
    " WHERE lesson_students.student_id = ? AND lesson_students.deleted = 0 AND lessons.campus_id = ?"
    " AND lessons.status = 'scheduled' AND lessons.deleted = 0"
    " AND lessons.starts_at <= ? AND lessons.starts_at >= ? AND lessons.ends_at >= ?"
    " ORDER BY lessons.starts_at LIMIT 1"
)


def _lesson_for(conn: Connection, student_id: str, campus_id: str, at: datetime) -> tuple[str, str] | None:
    """(lesson id, start) of the student's lesson at this campus that the moment ``at`` belongs to."""
    row = conn.exec_driver_sql(LESSON_AT, (student_id, campus_id, utc_text(at + EARLY_CHECK_IN),
                                           utc_text(at - timedelta(hours=12)), utc_text(at))).first()
    return (row[0], row[1]) if row else None


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
        if uow.conn.exec_driver_sql("SELECT 1 FROM attendance_marks WHERE id = ?", (mark_id,)).first():
            results.append(MarkResult(mark_id, "duplicate"))
            continue
        student = uow.conn.exec_driver_sql("SELECT id FROM students WHERE number = ? AND deleted = 0",
                                           (str(item.get("student_number", "")).strip().upper(),)).first()
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
        lesson = _lesson_for(uow.conn, student[0], campus_id, at)
        if lesson is None:
            mark = wanted or "present"
        else:
            starts = datetime.fromisoformat(lesson[1].replace("Z", "+00:00"))
            mark = wanted or ("late" if at > starts + LATE_AFTER else "present")
        uow.insert("attendance_marks", {
            "id": mark_id, "campus_id": campus_id, "lesson_id": lesson[0] if lesson else None,
            "student_id": student[0], "mark": mark, "source": "kiosk", "device_id": device_id,
            "device_time": at.isoformat(), "recorded_at": utc_now_text(), "hlc": uow.timestamp(),
            "by_user_id": None})
        results.append(MarkResult(mark_id, "stored" if lesson else "unmatched", lesson[0] if lesson else None, mark))
    return results
