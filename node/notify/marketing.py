"""Marketing messages (营销短信) to a segment: a campus's named wordings in Chinese and English (a
placeholder the ``marketing`` kind does not provide is refused when saved), and sending one to the
students of a grade or a class, or the leads of a channel or a pool: one outbox row per recipient
address, in each family's language, skipped for a family that opted out of marketing (a lead whose
phone is such a family's too is left out); the worker
keeps quiet hours and the limits per recipient and channel. Each step is an audited use case."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from campus.node.context import NodeWork
from campus.node.crm.leads import normalise_channel
from campus.node.notify.outbox import queue
from campus.node.notify.templates import Channel, check_template
from campus.schema.errors import Invalid, NotFound
from campus.schema.ids import new_id
from campus.schema.tables import (
    classes,
    enrolments,
    guardians,
    leads,
    marketing_templates,
    notification_optouts,
    outbox,
    students,
)
from campus.web.usecase import use_case

KIND = "marketing"
AUDIENCES = ("students", "leads")
STUDYING = ("pending", "admitted")
LEAD_POOLS = ("lead", "private", "invited", "deposit", "returned")  # not signed (a student now) nor invalid
MAX_NAME = 100


@dataclass(frozen=True)
class Segment:
    """Whom a marketing message goes to: ``students`` (of a grade and/or a class; neither: every
    student studying at the campus) or ``leads`` (of a channel and/or a pool; neither: every live lead)."""

    audience: str
    grade: str | None = None
    class_id: str | None = None
    channel: str | None = None
    pool: str | None = None

    def check(self) -> None:
        if self.audience not in AUDIENCES:
            raise Invalid("segment.audience", f"one of {', '.join(AUDIENCES)}")
        if self.audience == "students" and (self.channel or self.pool):
            raise Invalid("segment.channel" if self.channel else "segment.pool", "only for leads")
        if self.audience == "leads" and (self.grade or self.class_id):
            raise Invalid("segment.grade" if self.grade else "segment.class_id", "only for students")
        if self.pool is not None and self.pool not in LEAD_POOLS:
            raise Invalid("segment.pool", f"one of {', '.join(LEAD_POOLS)}")

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("audience", self.audience), ("grade", self.grade), ("class_id", self.class_id),
                                  ("channel", self.channel), ("pool", self.pool)) if v}


def segment_members(conn: Connection, campus_id: str, segment: Segment) -> list[dict[str, Any]]:
    """The segment's people at the campus: {"student_id" | "lead_id", "name", "phone"}."""
    if segment.audience == "students":
        query = select(students.c.id, students.c.name).where(
            students.c.home_campus_id == campus_id, students.c.deleted.is_(False), students.c.status.in_(STUDYING))
        if segment.grade:
            query = query.where(students.c.grade == segment.grade)
        if segment.class_id:
            if conn.execute(select(classes.c.id).where(classes.c.id == segment.class_id,
                                                       classes.c.campus_id == campus_id)).first() is None:
                raise Invalid("segment.class_id", "no such class at this campus")
            query = query.where(students.c.id.in_(select(enrolments.c.student_id).where(
                enrolments.c.class_id == segment.class_id, enrolments.c.status == "active",
                enrolments.c.deleted.is_(False))))
        return [{"student_id": r.id, "name": r.name} for r in conn.execute(query.order_by(students.c.number))]
    where = [leads.c.campus_id == campus_id, leads.c.deleted.is_(False), leads.c.pool.in_(LEAD_POOLS)]
    if segment.channel:
        where.append(leads.c.channel == normalise_channel(segment.channel))
    if segment.pool:
        where.append(leads.c.pool == segment.pool)
    found = conn.execute(select(leads.c.id, leads.c.name, leads.c.phone).where(*where).order_by(leads.c.number)).all()
    refused = phones_opted_out(conn, {r.phone for r in found})
    return [{"lead_id": r.id, "name": r.name, "phone": r.phone, "opted_out": r.phone in refused} for r in found]


def phones_opted_out(conn: Connection, phones: set[str]) -> set[str]:
    """Of ``phones``, those of a family (a student's own or a guardian's) that opted out of marketing:
    a lead who is also such a family is not texted offers either."""
    if not phones:
        return set()
    refusing = select(notification_optouts.c.student_id).where(
        notification_optouts.c.kind == KIND, notification_optouts.c.opted_out.is_(True),
        notification_optouts.c.deleted.is_(False))
    own = conn.execute(select(students.c.phone).where(students.c.id.in_(refusing), students.c.phone.in_(phones)))
    guarded = conn.execute(select(guardians.c.phone).where(guardians.c.student_id.in_(refusing),
                                                           guardians.c.deleted.is_(False), guardians.c.phone.in_(phones)))
    return {str(p) for p in [*own.scalars(), *guarded.scalars()]}


def _checked_text(value: str | None, field: str, limit: int, required: bool) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise Invalid(field, "must not be empty")
    if len(text) > limit:
        raise Invalid(field, f"at most {limit} characters")
    return text or None


@use_case("notifications.manage")
def save_marketing_template(work: NodeWork, template_id: str | None, name: str, subject_zh: str | None,
                            body_zh: str, subject_en: str | None, body_en: str) -> dict[str, Any]:
    """A named marketing wording in Chinese and English (new without ``template_id``); a placeholder
    other than {name} and {campus_name} is refused now, naming body_zh, subject_en...."""
    title = _checked_text(name, "name", MAX_NAME, True)
    check_template(KIND, subject_zh, body_zh, "_zh")
    check_template(KIND, subject_en, body_en, "_en")
    values = {"campus_id": work.ctx.id, "name": title, "subject_zh": (subject_zh or "").strip() or None,
              "body_zh": body_zh.strip(), "subject_en": (subject_en or "").strip() or None, "body_en": body_en.strip(),
              "updated_by": work.actor.user_id, "updated_at": work.ctx.now_text(), "deleted": False}
    if template_id:
        before = marketing_template(work.conn, work.ctx.id, template_id)
        work.uow.update("marketing_templates", template_id, values)
    else:
        before = None
        template_id = work.uow.insert("marketing_templates", {"id": new_id(), **values})
    work.audit("marketing_template_saved", target_table="marketing_templates", target_id=template_id,
               before={"body_zh": before["body_zh"], "body_en": before["body_en"]} if before else None,
               after={"name": title, "body_zh": values["body_zh"], "body_en": values["body_en"]})
    return {"id": template_id, **values}


def marketing_template(conn: Connection, campus_id: str, template_id: str) -> dict[str, Any]:
    row = conn.execute(select(marketing_templates).where(
        marketing_templates.c.id == template_id, marketing_templates.c.campus_id == campus_id,
        marketing_templates.c.deleted.is_(False))).mappings().first()
    if row is None:
        raise NotFound(f"no marketing template {template_id}", template_id=template_id)
    return dict(row)


def marketing_templates_of(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(marketing_templates).where(
        marketing_templates.c.campus_id == campus_id, marketing_templates.c.deleted.is_(False))
        .order_by(marketing_templates.c.name)).mappings()]


@use_case("notifications.manage")
def send_marketing(work: NodeWork, template_id: str, segment: Segment) -> dict[str, Any]:
    """Queue the template for every member of the segment: one outbox row per address (a phone
    shared by siblings gets it once), each family in its language, opted-out families skipped."""
    segment.check()
    template = marketing_template(work.conn, work.ctx.id, template_id)
    texts = {"zh_CN": (template["subject_zh"] or template["name"], template["body_zh"]),
             "en": (template["subject_en"] or template["name"], template["body_en"])}  # an e-mail needs a subject
    send_id = new_id()
    members = segment_members(work.conn, work.ctx.id, segment)
    written: list[str] = []
    for member in members:
        if "student_id" in member:
            written += queue(work.conn, work.ctx, KIND, key=f"marketing:{send_id}", fields={"name": member["name"]},
                             student_id=member["student_id"], texts=texts)
        elif not member["opted_out"]:
            written += queue(work.conn, work.ctx, KIND, key=f"marketing:{send_id}", fields={"name": member["name"]},
                             to=[(Channel.SMS, member["phone"])], texts=texts)
    skipped = len(written) - sum(1 for status in _statuses(work.conn, written) if status == "queued")
    skipped += sum(1 for m in members if m.get("opted_out"))
    done = {"send_id": send_id, "template_id": template_id, "segment": segment.as_dict(), "recipients": len(members),
            "messages": len(written), "skipped": skipped}
    work.audit("marketing_sent", target_table="marketing_templates", target_id=template_id, after=done)
    return done


def _statuses(conn: Connection, ids: list[str]) -> list[str]:
    found: list[str] = []
    for start in range(0, len(ids), 500):
        found += conn.execute(select(outbox.c.status).where(outbox.c.id.in_(ids[start:start + 500]))).scalars().all()
    return found
