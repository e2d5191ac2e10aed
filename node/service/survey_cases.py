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
    Target,
    TargetScope,
    check_answers,
    questions_of,
    rating_summary,
    stored_target,
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


def _title(title: str) -> str:
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise Invalid("title", "1 to 200 characters")
    return title


def check_target(conn: Connection, ctx: NodeContext, target: Target) -> Target:
    """Every class named is one of this campus's, every student one on record; else 422 naming target.ids."""
    if target.scope is TargetScope.CLASSES:
        found = set(conn.execute(select(classes.c.id).where(classes.c.id.in_(target.ids), classes.c.campus_id == ctx.id,
                                                            classes.c.deleted.is_(False))).scalars())
    elif target.scope is TargetScope.STUDENTS:
        found = set(conn.execute(select(students.c.id).where(students.c.id.in_(target.ids),
                                                             students.c.deleted.is_(False))).scalars())
    else:
        return target
    missing = [i for i in target.ids if i not in found]
    if missing:
        raise Invalid("target.ids", f"not a {target.scope.value[:-2] if target.scope is TargetScope.CLASSES else 'student'}"
                                    f" here: {', '.join(missing[:5])}", missing=missing[:20])
    return target


def has_answers(conn: Connection, survey_id: str) -> bool:
    return conn.execute(select(survey_responses.c.id).where(survey_responses.c.survey_id == survey_id)
                        .limit(1)).first() is not None


@use_case("surveys.manage")
def create_survey(work: NodeWork, title: str, raw_questions: list[dict[str, Any]], for_families: bool = True,
                  target: Target | None = None) -> dict[str, Any]:
    """A draft survey, shown in the portal (``for_families``) to the families ``target`` names
    (default: every family of the campus)."""
    title = _title(title)
    made = [q.as_dict() for q in questions_of(raw_questions)]
    aimed = check_target(work.conn, work.ctx, target or Target())
    now = work.ctx.now_text()
    row = {"campus_id": work.ctx.id, "title": title, "questions": json.dumps(made, ensure_ascii=False),
           "status": SurveyStatus.DRAFT.value, "for_families": for_families, "created_by": work.actor.user_id,
           "created_at": now, "updated_at": now, "deleted": False, "target": aimed.as_json(), "version": 1,
           "replaces_id": None}
    survey_id = work.uow.insert("surveys", row)
    work.audit("survey_created", target_table="surveys", target_id=survey_id,
               after={"title": title, "questions": len(made), "target": row["target"]})
    return {"id": survey_id, **row, "questions": made}


@use_case("surveys.manage")
def edit_survey(work: NodeWork, survey_id: str, title: str, raw_questions: list[dict[str, Any]],
                for_families: bool = True) -> dict[str, Any]:
    """Change a survey's title and questions: in place while nobody has answered it; once someone
    has, as a new version (same status and target) that replaces it, and the old one is closed, so
    every answer keeps the questions it answered."""
    survey = survey_row(work.conn, work.ctx, survey_id)
    title = _title(title)
    made = [q.as_dict() for q in questions_of(raw_questions)]
    now = work.ctx.now_text()
    changes = {"title": title, "questions": json.dumps(made, ensure_ascii=False), "for_families": for_families,
               "updated_at": now}
    if not has_answers(work.conn, survey_id):
        work.uow.update("surveys", survey_id, changes)
        work.audit("survey_edited", target_table="surveys", target_id=survey_id,
                   before={"title": survey["title"], "questions": len(survey["questions"])},
                   after={"title": title, "questions": len(made), "version": survey["version"]})
        return {**survey, **changes, "questions": made}
    row = {"campus_id": work.ctx.id, **changes, "status": survey["status"], "created_by": work.actor.user_id,
           "created_at": now, "deleted": False, "target": survey["target"], "version": survey["version"] + 1,
           "replaces_id": survey_id}
    new_id_ = work.uow.insert("surveys", row)
    if survey["status"] != SurveyStatus.CLOSED.value:
        work.uow.update("surveys", survey_id, {"status": SurveyStatus.CLOSED.value, "updated_at": now})
    work.audit("survey_versioned", target_table="surveys", target_id=new_id_,
               before={"survey_id": survey_id, "version": survey["version"]},
               after={"title": title, "questions": len(made), "version": row["version"]})
    return {"id": new_id_, **row, "questions": made}


@use_case("surveys.manage")
def target_survey(work: NodeWork, survey_id: str, target: Target) -> dict[str, Any]:
    """Whose families see a survey in the portal: all of the campus's, those of some classes, or
    of some students."""
    survey = survey_row(work.conn, work.ctx, survey_id)
    aimed = check_target(work.conn, work.ctx, target)
    work.uow.update("surveys", survey_id, {"target": aimed.as_json(), "updated_at": work.ctx.now_text()})
    work.audit("survey_targeted", target_table="surveys", target_id=survey_id, before={"target": survey["target"]},
               after={"target": aimed.as_json()})
    return {**survey, "target": aimed.as_json()}


def targets(conn: Connection, survey: dict[str, Any], student_id: str, campus_id: str) -> bool:
    """Whether the survey is shown to this student's family."""
    target = stored_target(survey.get("target"))
    if target.scope is not TargetScope.CLASSES:
        return target.reaches(student_id, set())
    return target.reaches(student_id, classes_of(conn, student_id, campus_id))


def classes_of(conn: Connection, student_id: str, campus_id: str) -> set[str]:
    return set(conn.execute(select(enrolments.c.class_id).join(classes, classes.c.id == enrolments.c.class_id).where(
        enrolments.c.student_id == student_id, enrolments.c.status == "active", enrolments.c.deleted.is_(False),
        classes.c.campus_id == campus_id)).scalars())


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
