"""Queueing messages: called inside the unit of work that writes the fact causing them, so the fact
and its messages commit together or not at all. A message is one outbox row per recipient address
(the family's phones by SMS, their e-mail addresses by e-mail), rendered from the campus's wording
or the default; writing the same message twice (same dedupe key) writes it once. A family that
opted out of the kind gets a row marked ``skipped``, so staff can see why nothing went out."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.sqlite import insert

from campus.node.context import NodeContext
from campus.node.notify.templates import KINDS, LOCALES, Channel, render, wording
from campus.schema.ids import new_id
from campus.schema.tables import guardians, notification_optouts, notification_templates, outbox, students
from campus.schema.times import utc_text

Address = tuple[Channel, str]


def family_addresses(conn: Connection, student_id: str) -> list[Address]:
    """Where a student's family is reached: each guardian's and the student's own phone and
    e-mail address, each once, phones first."""
    rows = [*conn.execute(select(guardians.c.phone, guardians.c.email).where(
        guardians.c.student_id == student_id, guardians.c.deleted.is_(False))
        .order_by(guardians.c.created_at, guardians.c.id)),
        *conn.execute(select(students.c.phone, students.c.email).where(students.c.id == student_id))]
    phones = [(Channel.SMS, phone) for phone, _ in rows if phone]
    emails = [(Channel.EMAIL, email) for _, email in rows if email]
    return list(dict.fromkeys(phones + emails))


def opted_out(conn: Connection, student_id: str | None, kind: str) -> bool:
    if not student_id:
        return False
    return bool(conn.execute(select(notification_optouts.c.opted_out).where(
        notification_optouts.c.student_id == student_id, notification_optouts.c.kind == kind,
        notification_optouts.c.deleted.is_(False))).scalar())


def saved_wording(conn: Connection, campus_id: str, kind: str, channel: str, locale: str
                  ) -> tuple[str | None, str] | None:
    row = conn.execute(select(notification_templates.c.subject, notification_templates.c.body).where(
        notification_templates.c.campus_id == campus_id, notification_templates.c.kind == kind,
        notification_templates.c.channel == channel, notification_templates.c.locale == locale,
        notification_templates.c.deleted.is_(False))).first()
    return (row.subject, row.body) if row else None


def dedupe_key(kind: str, key: str, channel: str, address: str) -> str:
    digest = hashlib.sha256(f"{key}|{channel}|{address}".encode()).hexdigest()
    return f"{kind}:{digest}"


def family_locale(conn: Connection, student_id: str | None) -> str | None:
    """The language a student's family chose (zh_CN or en), or None: the campus's."""
    if not student_id:
        return None
    chosen = conn.execute(select(students.c.locale).where(students.c.id == student_id)).scalar()
    return str(chosen) if chosen in LOCALES else None


def queue(conn: Connection, ctx: NodeContext, kind: str, *, key: str, fields: dict[str, Any],
          student_id: str | None = None, to: list[Address] | None = None,
          not_before: datetime | None = None, locale: str | None = None,
          texts: dict[str, tuple[str | None, str]] | None = None) -> list[str]:
    """Write the messages of ``kind`` for a student's family (or to the addresses ``to``) in the
    caller's transaction; ``key`` names the fact (a receipt, a lesson and student...) so the same
    fact never queues a message twice. They are written in ``locale``, else the family's language,
    else the campus's; ``texts`` (locale → subject, body) words a campaign. Returns the ids of the
    rows written now."""
    spec = KINDS[kind]
    settings = ctx.notify
    addresses = to if to is not None else (family_addresses(conn, student_id) if student_id else [])
    skipped = opted_out(conn, student_id, kind)
    language = locale or family_locale(conn, student_id) or settings.locale
    values = {**{name: str(value) for name, value in fields.items()}, "campus_name": ctx.name}
    now = utc_text(ctx.now())
    written: list[str] = []
    for channel, address in addresses:
        if channel.value not in settings.channels:
            continue  # the campus has no such channel set up
        if texts is not None:
            subject, text = texts.get(language) or texts["zh_CN"]
            subject = subject or ""
        else:
            subject, text = wording(kind, language, saved_wording(conn, ctx.id, kind, channel.value, language))
        body = render(text, values)
        if channel is Channel.SMS and not body.startswith("【"):
            body = f"【{ctx.name}】{body}"  # an SMS names its sender, as Chinese carriers require
        row: dict[str, Any] = {"id": new_id(), "campus_id": ctx.id, "kind": kind, "channel": channel.value, "recipient": address,
               "student_id": student_id, "locale": language,
               "subject": render(subject, values) if channel is Channel.EMAIL else None, "body": body,
               "secret": spec.secret, "dedupe_key": dedupe_key(kind, key, channel.value, address),
               "status": "skipped" if skipped else "queued", "attempts": 0,
               "not_before": utc_text(not_before) if not_before else now,
               "last_error": "the family opted out of this kind" if skipped else None, "provider_ref": None,
               "created_at": now, "sent_at": None}
        done = conn.execute(insert(outbox).values(**row).on_conflict_do_nothing(index_elements=["dedupe_key"]))
        if done.rowcount:
            written.append(str(row["id"]))
    return written
