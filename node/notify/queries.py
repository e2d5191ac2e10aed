"""Reading the outbox (a secret message's text is never shown), the campus's message wording next
to the defaults, and a family's opt-outs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from campus.node.notify.templates import KINDS, LOCALES, Channel, wording
from campus.node.notify.worker import SECRET_SENT
from campus.schema.permissions import mask_phone
from campus.schema.tables import notification_optouts, notification_templates, outbox, students

STATUSES = ("queued", "sending", "sent", "failed", "skipped", "interrupted")


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    shown = {key: row[key] for key in ("id", "kind", "channel", "recipient", "student_id", "locale", "subject", "body",
                                       "status", "attempts", "not_before", "last_error", "provider_ref", "created_at",
                                       "sent_at")}
    if row["secret"]:
        shown["body"] = SECRET_SENT  # a sign-in code is for the family's eyes only
    if row["channel"] == Channel.SMS.value:
        shown["recipient"] = mask_phone(row["recipient"])
    return shown


def outbox_list(conn: Connection, campus_id: str, *, status: str | None = None, kind: str | None = None,
                student_id: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """The campus's messages, newest first, with each one's delivery status and counts by status."""
    where = [outbox.c.campus_id == campus_id]
    if status:
        where.append(outbox.c.status == status)
    if kind:
        where.append(outbox.c.kind == kind)
    if student_id:
        where.append(outbox.c.student_id == student_id)
    rows = conn.execute(select(outbox).where(*where).order_by(outbox.c.created_at.desc(), outbox.c.id.desc())
                        .limit(limit).offset(offset)).mappings()
    counts: dict[str, int] = dict(conn.execute(select(outbox.c.status, func.count()).where(outbox.c.campus_id == campus_id)
                               .group_by(outbox.c.status)).all())
    total = conn.execute(select(func.count()).where(*where)).scalar_one()
    return {"total": total, "counts": {s: counts.get(s, 0) for s in STATUSES}, "items": [_shown(dict(r)) for r in rows]}


def template_table(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    """Every kind × channel × locale: the wording used (the campus's own or the default) and its fields."""
    saved = {(r.kind, r.channel, r.locale): r for r in conn.execute(select(notification_templates).where(
        notification_templates.c.campus_id == campus_id, notification_templates.c.deleted.is_(False)))}
    table = []
    for kind, spec in KINDS.items():
        if spec.campaign:
            continue  # worded by the marketing templates
        for channel in Channel:
            for locale in LOCALES:
                own = saved.get((kind, channel.value, locale))
                subject, body = wording(kind, locale, (own.subject, own.body) if own else None)
                table.append({"kind": kind, "channel": channel.value, "locale": locale,
                              "subject": subject if channel is Channel.EMAIL else None, "body": body,
                              "own": own is not None, "fields": list(spec.fields)})
    return table


def opt_outs(conn: Connection, student_id: str) -> dict[str, bool]:
    """Per kind, whether the student's family opted out (kinds never set are absent)."""
    return {r.kind: bool(r.opted_out) for r in conn.execute(
        select(notification_optouts.c.kind, notification_optouts.c.opted_out).where(
            notification_optouts.c.student_id == student_id, notification_optouts.c.deleted.is_(False)))}


def student_exists(conn: Connection, student_id: str) -> bool:
    return conn.execute(select(students.c.id).where(students.c.id == student_id,
                                                    students.c.deleted.is_(False))).first() is not None
