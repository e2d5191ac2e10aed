"""Surveys at a campus: write one (draft), open and close it, record a family's answers (staff during
a call, or the family in the portal through :func:`write_response`). Audited use cases."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Connection, select

from campus.node.context import NodeContext, NodeWork
from campus.node.service.surveys import (
    NEXT,
    Question,
    QuestionKind,
    SurveyNotOpen,
    SurveyStatus,
    check_answers,
    questions_of,
    rating_summary,
)
from campus.schema.errors import Conflict, Invalid, NotFound
from campus.schema.ids import new_id
from campus.schema.tables import classes, enrolments, students, survey_responses, surveys
from campus.schema.times import utc_text
from campus.sync.capture import UnitOfWork
from campus.web.usecase import use_case

PORTAL_ANSWERS = uuid.UUID("c41e0b6a-7d25-5f83-9a1c-2b6e8d4f0a97")  # one portal answer per survey and student


def survey_row(conn: Connection, ctx: NodeContext, survey_id: str) -> dict[str, Any]:
    row = conn.execute(select(surveys).where(surveys.c.id == survey_id, surveys.c.campus_id == ctx.id,
                                             surveys.c.deleted.is_(False))).mappings().first()
    if row is None:
        raise NotFound(f"no survey {survey_id}", survey_id=survey_id)
    return {**dict(row), "questions": json.loads(row["questions"])}


def questions(survey: dict[str, Any]) -> list[Question]:
    return [Question(q["id"], QuestionKind(q["kind"]), q["text"], tuple(q["options"])) for q in survey["questions"]]


def class_of(conn: Connection, student_id: str, campus_id: str) -> tuple[str | None, str | None]:
    """The student's class here (the latest they joined) and its teacher: what a response is about."""
    row = conn.execute(select(classes.c.id, classes.c.teacher_id).join(enrolments, enrolments.c.class_id == classes.c.id)
                       .where(enrolments.c.student_id == student_id, enrolments.c.status == "active",
                              enrolments.c.deleted.is_(False), classes.c.campus_id == campus_id)
                       .order_by(enrolments.c.joined_on.desc()).limit(1)).first()
    return (row.id, row.teacher_id) if row else (None, None)


def write_response(uow: UnitOfWork, ctx: NodeContext, survey: dict[str, Any], student_id: str,
                   answers: dict[str, Any], source: str, by_user_id: str | None, class_id: str | None = None
                   ) -> dict[str, Any]:
    if survey["status"] != SurveyStatus.OPEN.value:
        raise SurveyNotOpen("this survey is not open", field="survey_id", status=survey["status"])
    if uow.conn.execute(select(students.c.id).where(students.c.id == student_id,
                                                    students.c.deleted.is_(False))).first() is None:
        raise Invalid("student_id", "no such student")
    asked = questions(survey)
    kept = check_answers(asked, answers)
    if class_id:
        teacher_id = uow.conn.execute(select(classes.c.teacher_id).where(
            classes.c.id == class_id, classes.c.campus_id == ctx.id, classes.c.deleted.is_(False))).scalar()
        if teacher_id is None and uow.conn.execute(select(classes.c.id).where(classes.c.id == class_id)).first() is None:
            raise Invalid("class_id", "no such class at this campus")
    else:
        class_id, teacher_id = class_of(uow.conn, student_id, ctx.id)
    mean, lowest = rating_summary(asked, kept)
    row_id = str(uuid.uuid5(PORTAL_ANSWERS, f"{survey['id']}|{student_id}")) if source == "portal" else new_id()
    if source == "portal" and uow.conn.execute(select(survey_responses.c.id).where(
            survey_responses.c.id == row_id)).first():
        raise Conflict("this survey is already answered for this student", field="survey_id")
    row = {"id": row_id, "campus_id": ctx.id, "survey_id": survey["id"], "student_id": student_id,
           "class_id": class_id, "teacher_id": teacher_id, "answers": json.dumps(kept, ensure_ascii=False),
           "rating_x100": mean, "lowest_rating": lowest, "source": source, "by_user_id": by_user_id,
           "created_at": utc_text(ctx.now())}
    uow.insert("survey_responses", row)
    return row


@use_case("surveys.manage")
def create_survey(work: NodeWork, title: str, raw_questions: list[dict[str, Any]], for_families: bool = True
                  ) -> dict[str, Any]:
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise Invalid("title", "1 to 200 characters")
    made = [q.as_dict() for q in questions_of(raw_questions)]
    now = work.ctx.now_text()
    row = {"campus_id": work.ctx.id, "title": title, "questions": json.dumps(made, ensure_ascii=False),
           "status": SurveyStatus.DRAFT.value, "for_families": for_families, "created_by": work.actor.user_id,
           "created_at": now, "updated_at": now, "deleted": False}
    survey_id = work.uow.insert("surveys", row)
    work.audit("survey_created", target_table="surveys", target_id=survey_id,
               after={"title": title, "questions": len(made)})
    return {"id": survey_id, **row, "questions": made}


@use_case("surveys.manage")
def move_survey(work: NodeWork, survey_id: str, status: str) -> dict[str, Any]:
    """Open a draft (or a closed survey again), or close an open one."""
    survey = survey_row(work.conn, work.ctx, survey_id)
    try:
        wanted = SurveyStatus(status)
    except ValueError:
        raise Invalid("status", "open or closed") from None
    if wanted not in NEXT[SurveyStatus(survey["status"])]:
        raise Conflict(f"a {survey['status']} survey cannot become {status}", field="status")
    work.uow.update("surveys", survey_id, {"status": wanted.value, "updated_at": work.ctx.now_text()})
    work.audit("survey_status_changed", target_table="surveys", target_id=survey_id,
               before={"status": survey["status"]}, after={"status": wanted.value})
    return {**survey, "status": wanted.value}


@use_case("surveys.answer")
def answer_survey(work: NodeWork, survey_id: str, student_id: str, answers: dict[str, Any],
                  class_id: str | None = None) -> dict[str, Any]:
    """Staff record a family's answers during a call (回访)."""
    survey = survey_row(work.conn, work.ctx, survey_id)
    row = write_response(work.uow, work.ctx, survey, student_id, answers, "call", work.actor.user_id, class_id)
    work.audit("survey_answered", target_table="survey_responses", target_id=row["id"],
               after={"survey_id": survey_id, "student_id": student_id, "rating_x100": row["rating_x100"]})
    return row
