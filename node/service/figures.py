"""What the service desk adds to a student's refund-risk facts: complaints and low ratings over a
recent window, read for many students at once (any campus's, as replication brings them)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, func, select

from campus.node.service.tickets import Category
from campus.schema.tables import lesson_ratings, survey_responses, tickets

WINDOW_DAYS = 90


def complaint_counts(conn: Connection, student_ids: list[str], since: str) -> dict[str, int]:
    """Per student, complaint tickets written since ``since`` (UTC text)."""
    return {student_id: int(count) for student_id, count in conn.execute(
        select(tickets.c.student_id, func.count()).where(
            tickets.c.student_id.in_(student_ids), tickets.c.category == Category.COMPLAINT.value,
            tickets.c.deleted.is_(False), tickets.c.created_at >= since).group_by(tickets.c.student_id))}


def low_rating_counts(conn: Connection, student_ids: list[str], since: str, low_rating: int) -> dict[str, int]:
    """Per student, lesson ratings and survey responses since ``since`` scoring ``low_rating`` or
    less (a survey response counts once, by its lowest 1–5 answer)."""
    counts: dict[str, int] = defaultdict(int)
    for query in (
        select(lesson_ratings.c.student_id, func.count()).where(
            lesson_ratings.c.student_id.in_(student_ids), lesson_ratings.c.rating <= low_rating,
            lesson_ratings.c.created_at >= since).group_by(lesson_ratings.c.student_id),
        select(survey_responses.c.student_id, func.count()).where(
            survey_responses.c.student_id.in_(student_ids), survey_responses.c.lowest_rating <= low_rating,
            survey_responses.c.created_at >= since).group_by(survey_responses.c.student_id),
    ):
        for student_id, count in conn.execute(query):
            counts[student_id] += int(count)
    return dict(counts)
