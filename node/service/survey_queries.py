"""Reading surveys and satisfaction: each survey's results, the averages per class, teacher and
campus (lesson ratings and survey scores together), the low scores that remind the class teacher,
and what a family may still answer."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from campus.node.context import NodeContext
from campus.node.service.survey_cases import classes_of, survey_row
from campus.node.service.surveys import stored_target
from campus.schema.tables import (
    classes,
    enrolments,
    lesson_ratings,
    students,
    survey_responses,
    surveys,
    users,
)

SATISFACTION_DAYS = 90
LOW_SCORE_DAYS = 14  # a low score stays on the class teacher's reminders this long


def survey_list(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    counts = {r.survey_id: (r.count, r.mean) for r in conn.execute(
        select(survey_responses.c.survey_id, func.count().label("count"),
               func.avg(survey_responses.c.rating_x100).label("mean"))
        .where(survey_responses.c.campus_id == campus_id).group_by(survey_responses.c.survey_id))}
    return [{**{k: r[k] for k in ("id", "title", "status", "for_families", "created_at", "version", "replaces_id")},
             "target": json.loads(r["target"]) if r["target"] else {"scope": "campus", "ids": []},
             "questions": len(json.loads(r["questions"])), "responses": counts.get(r["id"], (0, None))[0],
             "rating_x100": round(counts[r["id"]][1]) if counts.get(r["id"], (0, None))[1] is not None else None}
            for r in conn.execute(select(surveys).where(surveys.c.campus_id == campus_id, surveys.c.deleted.is_(False))
                                  .order_by(surveys.c.created_at.desc())).mappings()]


def survey_results(conn: Connection, ctx: NodeContext, survey_id: str) -> dict[str, Any]:
    """The survey with, per question, the mean rating, the count of each option, or the latest texts."""
    survey = survey_row(conn, ctx, survey_id)
    answered = [json.loads(a) for a in conn.execute(select(survey_responses.c.answers).where(
        survey_responses.c.survey_id == survey_id).order_by(survey_responses.c.created_at.desc())).scalars()]
    results = []
    for q in survey["questions"]:
        given = [a[q["id"]] for a in answered if q["id"] in a]
        shown: dict[str, Any] = {**q, "answered": len(given)}
        if q["kind"] == "rating":
            shown["rating_x100"] = (200 * sum(given) + len(given)) // (2 * len(given)) if given else None
        elif q["kind"] in ("single", "multiple"):
            chosen = Counter(o for g in given for o in (g if isinstance(g, list) else [g]))
            shown["counts"] = {o: chosen.get(o, 0) for o in q["options"]}
        else:
            shown["texts"] = given[:50]
        results.append(shown)
    return {**survey, "responses": len(answered), "results": results}


def satisfaction(conn: Connection, ctx: NodeContext) -> dict[str, Any]:
    """Mean scores (hundredths of a point, 1–5) of the last 90 days at the campus, per class and per
    teacher: every lesson rating and every survey response's mean rating counts once."""
    since = ctx.day_bounds(ctx.today() - timedelta(days=SATISFACTION_DAYS))[0]
    scores = [(r.class_id, r.teacher_id, r.rating * 100) for r in conn.execute(
        select(lesson_ratings.c.class_id, lesson_ratings.c.teacher_id, lesson_ratings.c.rating).where(
            lesson_ratings.c.campus_id == ctx.id, lesson_ratings.c.created_at >= since))]
    scores += [(r.class_id, r.teacher_id, r.rating_x100) for r in conn.execute(
        select(survey_responses.c.class_id, survey_responses.c.teacher_id, survey_responses.c.rating_x100).where(
            survey_responses.c.campus_id == ctx.id, survey_responses.c.created_at >= since,
            survey_responses.c.rating_x100.is_not(None)))]

    def mean(values: list[int]) -> int | None:
        return (2 * sum(values) + len(values)) // (2 * len(values)) if values else None

    by_class: dict[str, list[int]] = defaultdict(list)
    by_teacher: dict[str, list[int]] = defaultdict(list)
    for class_id, teacher_id, score in scores:
        if class_id:
            by_class[class_id].append(score)
        if teacher_id:
            by_teacher[teacher_id].append(score)
    class_names = dict(conn.execute(select(classes.c.id, classes.c.name).where(classes.c.id.in_(by_class))).all())
    teacher_names = dict(conn.execute(select(users.c.id, users.c.display_name).where(users.c.id.in_(by_teacher))).all())
    return {"days": SATISFACTION_DAYS, "campus": {"count": len(scores), "score_x100": mean([s for *_, s in scores])},
            "classes": sorted(({"class_id": k, "name": class_names.get(k, ""), "count": len(v), "score_x100": mean(v)}
                               for k, v in by_class.items()), key=lambda r: (r["score_x100"] or 0, r["name"])),
            "teachers": sorted(({"teacher_id": k, "name": teacher_names.get(k, ""), "count": len(v),
                                 "score_x100": mean(v)} for k, v in by_teacher.items()),
                               key=lambda r: (r["score_x100"] or 0, r["name"]))}


def low_score_reminders(conn: Connection, ctx: NodeContext, user_id: str) -> list[dict[str, Any]]:
    """Lesson ratings and survey answers at or below the low rating in the last two weeks, for the
    class teacher of the student's class: one reminder each."""
    low, since = ctx.service.low_rating, ctx.day_bounds(ctx.today() - timedelta(days=LOW_SCORE_DAYS))[0]
    mine = select(enrolments.c.student_id).join(classes, classes.c.id == enrolments.c.class_id).where(
        classes.c.class_teacher_id == user_id, classes.c.campus_id == ctx.id, enrolments.c.status == "active",
        enrolments.c.deleted.is_(False))
    found = [{"kind": "low_score", "student_id": r.student_id, "lesson_id": r.lesson_id, "score": r.rating,
              "on": ctx.local_date(r.created_at).isoformat()} for r in conn.execute(
        select(lesson_ratings.c.student_id, lesson_ratings.c.lesson_id, lesson_ratings.c.rating,
               lesson_ratings.c.created_at).where(
            lesson_ratings.c.campus_id == ctx.id, lesson_ratings.c.rating <= low, lesson_ratings.c.created_at >= since,
            lesson_ratings.c.student_id.in_(mine)))]
    found += [{"kind": "low_score", "student_id": r.student_id, "survey_id": r.survey_id, "score": r.lowest_rating,
               "on": ctx.local_date(r.created_at).isoformat()} for r in conn.execute(
        select(survey_responses.c.student_id, survey_responses.c.survey_id, survey_responses.c.lowest_rating,
               survey_responses.c.created_at).where(
            survey_responses.c.campus_id == ctx.id, survey_responses.c.lowest_rating <= low,
            survey_responses.c.created_at >= since, survey_responses.c.student_id.in_(mine)))]
    names = {r.id: (r.number, r.name) for r in conn.execute(select(students.c.id, students.c.number, students.c.name)
                                                            .where(students.c.id.in_({f["student_id"] for f in found})))}
    return [{**f, "number": names.get(f["student_id"], ("", ""))[0], "name": names.get(f["student_id"], ("", ""))[1]}
            for f in found]


def open_for_family(conn: Connection, campus_id: str, student_id: str) -> list[dict[str, Any]]:
    """Open surveys for families at the campus, targeted at this student's family, not answered yet."""
    answered = select(survey_responses.c.survey_id).where(survey_responses.c.student_id == student_id,
                                                         survey_responses.c.source == "portal")
    found = [dict(r) for r in conn.execute(select(surveys.c.id, surveys.c.title, surveys.c.target).where(
        surveys.c.campus_id == campus_id, surveys.c.status == "open", surveys.c.for_families.is_(True),
        surveys.c.deleted.is_(False), surveys.c.id.not_in(answered)).order_by(surveys.c.created_at)).mappings()]
    in_classes = classes_of(conn, student_id, campus_id) if any(f["target"] for f in found) else set()
    return [{"id": f["id"], "title": f["title"]} for f in found
            if stored_target(f["target"]).reaches(student_id, in_classes)]
