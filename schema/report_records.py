"""The records behind a person's figures in a report (the last step of a drill from the group to a
campus to a person): the contracts they signed, the lessons they taught, the money they took."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from campus.schema.report_rules import Period
from campus.schema.tables import contracts, lessons, payments, students
from campus.schema.times import local_days_utc

KINDS = ("signings", "renewals", "lessons", "cash")
LIMIT = 500


def records(conn: Connection, campus_id: str, timezone: str, kind: str, person: str | None, period: Period,
            limit: int = LIMIT) -> list[dict[str, Any]]:
    """Up to ``limit`` records of ``kind`` at the campus in the period, by ``person`` (anyone: None)."""
    lo, hi = local_days_utc(period.first, period.last, timezone)
    query: Any
    if kind in ("signings", "renewals"):
        query = (select(contracts.c.id, contracts.c.number, contracts.c.kind, contracts.c.signed_at,
                        contracts.c.amount_fen, contracts.c.consultant_id, students.c.name.label("student_name"))
                 .select_from(contracts.outerjoin(students, students.c.id == contracts.c.student_id))
                 .where(contracts.c.campus_id == campus_id, contracts.c.deleted.is_(False),
                        contracts.c.kind == ("new" if kind == "signings" else "renewal"),
                        contracts.c.signed_at >= lo, contracts.c.signed_at < hi)
                 .order_by(contracts.c.signed_at))
        if person:
            query = query.where(contracts.c.consultant_id == person)
        return [{**dict(r), "href": f"/contracts/{r.id}"} for r in conn.execute(query.limit(limit)).mappings()]
    if kind == "lessons":
        query = (select(lessons.c.id, lessons.c.starts_at, lessons.c.ends_at, lessons.c.hours_x100,
                        lessons.c.teacher_id, lessons.c.status)
                 .where(lessons.c.campus_id == campus_id, lessons.c.deleted.is_(False), lessons.c.starts_at >= lo,
                        lessons.c.starts_at < hi).order_by(lessons.c.starts_at))
        if person:
            query = query.where(lessons.c.teacher_id == person)
        return [{**dict(r), "href": f"/lessons/{r.id}"} for r in conn.execute(query.limit(limit)).mappings()]
    query = (select(payments.c.id, payments.c.receipt_number, payments.c.kind, payments.c.paid_at,
                    payments.c.amount_fen, payments.c.by_user_id)
             .where(payments.c.campus_id == campus_id, payments.c.kind.in_(("deposit", "payment")),
                    payments.c.paid_at >= lo, payments.c.paid_at < hi).order_by(payments.c.paid_at))
    if person:
        query = query.where(payments.c.by_user_id == person)
    return [{**dict(r), "href": f"/receipts/{r.id}"} for r in conn.execute(query.limit(limit)).mappings()]
