"""What the campus's store says about its students' refund risk: the facts each factor is
measured on, read for many students at once, plus who follows each student and the alerts open.

The campus watches its own students (home campus, pending or admitted, with a contract). Their
consultant is the one who signed each contract (``contracts.consultant_id``); their academic
advisor is the class teacher (班主任, ``classes.class_teacher_id``) of each class they are
enrolled in: the schema's one record of who follows an enrolled student.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from campus.node.context import NodeContext
from campus.node.finance.payments import contract_money
from campus.node.risk.rules import ContractHours, RiskFacts, RiskScore, score
from campus.node.service.figures import WINDOW_DAYS, complaint_counts, low_rating_counts
from campus.schema.errors import NotFound
from campus.schema.tables import (
    asset_entries,
    attendance_confirmations,
    attendance_marks,
    class_transfers,
    classes,
    contracts,
    enrolments,
    leave_requests,
    lesson_students,
    lessons,
    risk_alerts,
    students,
)
from campus.schema.times import utc_text

WATCHED_STATUSES = ("pending", "admitted")
ATTENDED = frozenset({"present", "late", "extra"})
MISSED = frozenset({"absent", "forfeited"})
CHANGE_WINDOW = timedelta(days=30)  # as the teaching alerts count lesson changes
HISTORY_DAYS = 180  # attendance read back this far: streaks and silence are about recent lessons
CHUNK = 500  # ids per IN (...), well inside SQLite's limit on bound parameters


@dataclass
class StudentFacts:
    """One student: who, the facts the score is measured on, the contracts at stake, who to remind."""

    student_id: str
    number: str
    name: str
    facts: RiskFacts = field(default_factory=RiskFacts)
    contracts: list[dict[str, Any]] = field(default_factory=list)
    watchers: tuple[str, ...] = ()


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start:start + CHUNK])


def watched_students(conn: Connection, campus_id: str) -> list[str]:
    """The campus's own students who are studying or about to, and hold a contract."""
    return list(conn.execute(select(students.c.id).where(
        students.c.home_campus_id == campus_id, students.c.deleted.is_(False),
        students.c.status.in_(WATCHED_STATUSES),
        students.c.id.in_(select(contracts.c.student_id).where(contracts.c.deleted.is_(False))))
        .order_by(students.c.number)).scalars())


def _seat_marks(conn: Connection, ids: list[str], since: str) -> dict[str, list[tuple[str, str | None]]]:
    """Per student, their seats in lessons since ``since`` in order, each with its mark: the
    confirmed one, else the latest mark, else leave if leave was requested, else none yet."""
    seats = conn.execute(select(lesson_students.c.student_id, lessons.c.id, lessons.c.starts_at)
                         .join(lessons, lessons.c.id == lesson_students.c.lesson_id)
                         .where(lesson_students.c.student_id.in_(ids), lesson_students.c.deleted.is_(False),
                                lessons.c.deleted.is_(False), lessons.c.status == "scheduled",
                                lessons.c.starts_at >= since)
                         .order_by(lessons.c.starts_at, lessons.c.id)).all()
    marked: dict[tuple[str, str], str] = {}
    recent = select(lessons.c.id).where(lessons.c.starts_at >= since).scalar_subquery()
    for lesson_id, student_id, mark in conn.execute(
            select(attendance_marks.c.lesson_id, attendance_marks.c.student_id, attendance_marks.c.mark)
            .where(attendance_marks.c.student_id.in_(ids), attendance_marks.c.lesson_id.in_(recent))
            .order_by(attendance_marks.c.hlc, attendance_marks.c.id)):
        marked[(lesson_id, student_id)] = mark
    confirmations = conn.execute(select(attendance_confirmations.c.id, attendance_confirmations.c.lesson_id,
                                        attendance_confirmations.c.student_id, attendance_confirmations.c.mark,
                                        attendance_confirmations.c.supersedes_id)
                                 .where(attendance_confirmations.c.student_id.in_(ids),
                                        attendance_confirmations.c.lesson_id.in_(recent))
                                 .order_by(attendance_confirmations.c.hlc)).all()
    superseded = {row.supersedes_id for row in confirmations if row.supersedes_id}
    confirmed = {(row.lesson_id, row.student_id): row.mark for row in confirmations if row.id not in superseded}
    on_leave = {(lesson_id, student_id) for lesson_id, student_id in conn.execute(
        select(leave_requests.c.lesson_id, leave_requests.c.student_id)
        .where(leave_requests.c.student_id.in_(ids), leave_requests.c.lesson_id.in_(recent)))}
    history: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for student_id, lesson_id, starts_at in seats:
        key = (lesson_id, student_id)
        mark = confirmed.get(key) or marked.get(key) or ("leave" if key in on_leave else None)
        history[student_id].append((starts_at, mark))
    return history


def _streak(marks: list[str], kinds: frozenset[str]) -> int:
    count = 0
    for mark in reversed(marks):
        if mark not in kinds:
            break
        count += 1
    return count


def _lesson_changes(conn: Connection, ids: list[str], since: str) -> dict[str, int]:
    changes: dict[str, int] = defaultdict(int)
    for query in (
        select(leave_requests.c.student_id, func.count()).where(
            leave_requests.c.student_id.in_(ids), leave_requests.c.created_at >= since)
        .group_by(leave_requests.c.student_id),
        select(class_transfers.c.student_id, func.count()).where(
            class_transfers.c.student_id.in_(ids), class_transfers.c.created_at >= since)
        .group_by(class_transfers.c.student_id),
        select(lesson_students.c.student_id, func.count()).join(lessons, lessons.c.id == lesson_students.c.lesson_id)
        .where(lesson_students.c.student_id.in_(ids), lessons.c.kind == "makeup", lessons.c.created_at >= since)
        .group_by(lesson_students.c.student_id),
    ):
        for student_id, count in conn.execute(query):
            changes[student_id] += count
    return changes


def _advisors(conn: Connection, ids: list[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for student_id, advisor in conn.execute(
            select(enrolments.c.student_id, classes.c.class_teacher_id)
            .join(classes, classes.c.id == enrolments.c.class_id)
            .where(enrolments.c.student_id.in_(ids), enrolments.c.status == "active",
                   enrolments.c.deleted.is_(False), classes.c.deleted.is_(False),
                   classes.c.class_teacher_id.is_not(None))):
        found[student_id].add(advisor)
    return found


def _facts_of(conn: Connection, ctx: NodeContext, ids: list[str]) -> list[StudentFacts]:
    now, today = ctx.now(), ctx.today()
    now_text = utc_text(now)
    window_start = today - timedelta(days=HISTORY_DAYS)
    since = ctx.day_bounds(window_start)[0]
    people = {row.id: row for row in conn.execute(select(students.c.id, students.c.number, students.c.name)
                                                  .where(students.c.id.in_(ids)))}
    history = _seat_marks(conn, ids, since)
    changes = _lesson_changes(conn, ids, utc_text(now - CHANGE_WINDOW))
    advisors = _advisors(conn, ids)
    service_since = utc_text(now - timedelta(days=WINDOW_DAYS))
    complaints = complaint_counts(conn, ids, service_since)
    low_ratings = low_rating_counts(conn, ids, service_since, ctx.service.low_rating)
    ahead: dict[str, int] = {student_id: count for student_id, count in conn.execute(
        select(lesson_students.c.student_id, func.count())
        .join(lessons, lessons.c.id == lesson_students.c.lesson_id)
        .where(lesson_students.c.student_id.in_(ids), lesson_students.c.deleted.is_(False),
               lessons.c.deleted.is_(False), lessons.c.status == "scheduled", lessons.c.starts_at >= now_text)
        .group_by(lesson_students.c.student_id))}
    balances = {contract_id: (int(hours), int(value)) for contract_id, hours, value in conn.execute(
        select(asset_entries.c.contract_id, func.sum(asset_entries.c.hours_x100), func.sum(asset_entries.c.value_fen))
        .where(asset_entries.c.student_id.in_(ids)).group_by(asset_entries.c.contract_id))}
    owned: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for contract in conn.execute(select(contracts.c.id, contracts.c.number, contracts.c.student_id,
                                        contracts.c.signed_at, contracts.c.expires_on, contracts.c.consultant_id)
                                 .where(contracts.c.student_id.in_(ids), contracts.c.deleted.is_(False))
                                 .order_by(contracts.c.signed_at, contracts.c.id)).mappings():
        hours, value = balances.get(contract["id"], (0, 0))
        owned[contract["student_id"]].append({
            **dict(contract), "remaining_hours_x100": hours, "remaining_value_fen": value,
            "arrears_fen": contract_money(conn, contract["id"])["arrears_fen"],
            "days_left": (date.fromisoformat(contract["expires_on"]) - today).days})
    found = []
    for student_id in ids:
        person = people.get(student_id)
        if person is None:
            continue
        seats = [(starts_at, mark) for starts_at, mark in history.get(student_id, []) if starts_at < now_text]
        marks = [mark for _, mark in seats if mark is not None]
        attended = [starts_at for starts_at, mark in seats if mark in ATTENDED]
        mine = owned.get(student_id, [])
        holding = [c for c in mine if c["remaining_hours_x100"] > 0]
        if attended:
            quiet_since = ctx.local_date(attended[-1])
        elif holding:
            quiet_since = max(min(ctx.local_date(c["signed_at"]) for c in holding), window_start)
        else:
            quiet_since = today
        facts = RiskFacts(
            absence_streak=_streak(marks, MISSED), leave_streak=_streak(marks, frozenset({"leave"})),
            lesson_changes=changes.get(student_id, 0), days_since_attended=max((today - quiet_since).days, 0),
            remaining_hours_x100=sum(c["remaining_hours_x100"] for c in mine), lessons_ahead=ahead.get(student_id, 0),
            arrears_fen=sum(max(c["arrears_fen"], 0) for c in mine),
            contracts=tuple(ContractHours(c["days_left"], c["remaining_hours_x100"]) for c in holding),
            complaints=complaints.get(student_id, 0), low_ratings=low_ratings.get(student_id, 0))
        watchers = {c["consultant_id"] for c in mine if c["consultant_id"]} | advisors.get(student_id, set())
        at_stake = [{key: c[key] for key in ("id", "number", "expires_on", "days_left", "remaining_hours_x100",
                                             "remaining_value_fen", "arrears_fen")}
                    for c in mine if c["remaining_hours_x100"] > 0 or c["arrears_fen"] > 0]
        found.append(StudentFacts(student_id, person.number, person.name, facts, at_stake, tuple(sorted(watchers))))
    return found


def students_facts(conn: Connection, ctx: NodeContext, ids: Sequence[str]) -> list[StudentFacts]:
    """The facts of ``ids`` (in that order), read a few hundred students per query."""
    return [found for chunk in _chunks(ids) for found in _facts_of(conn, ctx, chunk)]


def student_facts(conn: Connection, ctx: NodeContext, student_id: str) -> StudentFacts:
    exists = conn.execute(select(students.c.id).where(students.c.id == student_id,
                                                      students.c.deleted.is_(False))).first()
    if exists is None:
        raise NotFound(f"no student {student_id}", student_id=student_id)
    return students_facts(conn, ctx, [student_id])[0]


def open_alerts(conn: Connection, campus_id: str, student_ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Per student, the campus's alert not yet cleared (at most one is open at a time)."""
    query = select(risk_alerts).where(risk_alerts.c.campus_id == campus_id, risk_alerts.c.cleared_at.is_(None),
                                      risk_alerts.c.deleted.is_(False))
    if student_ids is not None:
        query = query.where(risk_alerts.c.student_id.in_(list(student_ids)))
    return {row["student_id"]: {**dict(row), "factors": json.loads(row["factors"]),
                                "notified": json.loads(row["notified"] or "[]")}
            for row in conn.execute(query.order_by(risk_alerts.c.raised_at)).mappings()}


def risk_reminders(conn: Connection, user_id: str, campus_id: str) -> list[dict[str, Any]]:
    """The open alerts that named ``user_id`` (the student's consultant or academic advisor) when
    raised: one reminder per alert, dated the day it was raised, however long it stays open."""
    found = []
    alerts = open_alerts(conn, campus_id)
    names = {row.id: row for row in conn.execute(select(students.c.id, students.c.number, students.c.name)
                                                 .where(students.c.id.in_(list(alerts))))}
    for student_id, alert in alerts.items():
        if user_id in alert["notified"] and student_id in names:
            found.append({"student_id": student_id, "number": names[student_id].number,
                          "name": names[student_id].name, "kind": "refund_risk", "on": alert["raised_on"],
                          "score": alert["score"], "alert_id": alert["id"]})
    return sorted(found, key=lambda r: (r["on"], r["number"]))


def risk_view(found: StudentFacts, result: RiskScore, alert: dict[str, Any] | None) -> dict[str, Any]:
    """One student's score as the API and the screens show it: every factor's contribution, the
    contracts at stake (hours and value left, arrears) and the open alert, if any."""
    return {"student_id": found.student_id, "number": found.number, "name": found.name, "score": result.total,
            "alert_threshold": result.alert_threshold, "at_risk": result.at_risk, "factors": result.factors(),
            "contracts": found.contracts,
            "remaining_value_fen": sum(c["remaining_value_fen"] for c in found.contracts),
            "watchers": list(found.watchers),
            "alert": {key: alert[key] for key in ("id", "score", "raised_on", "raised_at", "notified")}
            if alert else None}


def student_risk(conn: Connection, ctx: NodeContext, student_id: str) -> dict[str, Any]:
    found = student_facts(conn, ctx, student_id)
    return risk_view(found, score(found.facts, ctx.risk), open_alerts(conn, ctx.id, [student_id]).get(student_id))


def campus_risk(conn: Connection, ctx: NodeContext, min_score: int, limit: int, offset: int,
                sort: str = "score", descending: bool = True) -> dict[str, Any]:
    """The campus's students scoring ``min_score`` or more, highest first (or by ``sort``: score,
    number, name), with their contracts."""
    alerts = open_alerts(conn, ctx.id)
    shown = []
    for found in students_facts(conn, ctx, watched_students(conn, ctx.id)):
        result = score(found.facts, ctx.risk)
        if result.total >= min_score:
            shown.append(risk_view(found, result, alerts.get(found.student_id)))
    # Scores are computed from the facts when asked for, so they are sorted and paged here.
    if sort in ("number", "name"):
        shown.sort(key=lambda v: (v[sort], v["number"]), reverse=descending)
    else:
        shown.sort(key=lambda v: (-v["score"], v["number"]) if descending else (v["score"], v["number"]))
    return {"min_score": min_score, "alert_threshold": ctx.risk.alert_threshold, "total": len(shown),
            "remaining_value_fen": sum(v["remaining_value_fen"] for v in shown),
            "items": shown[offset:offset + limit]}
