"""The additive facts every report is made of, derived from the replicated tables for one campus
and a span of its local days: ``(day, metric, dimension) → value``.

A node sums them over the period it is asked for; the hub keeps them per day and per month in
``hub_report_rollups`` (campus.hub.report_rollups) and sums those. Both then build the report with
the same code (campus.schema.reports), so a campus's report is the same figure on either side.

Metrics and their dimensions (``|`` joins the parts of a dimension; an empty part is "none"):

=================  ==============================  =================================================
metric             dimension                       value
=================  ==============================  =================================================
leads              channel|campaign                leads created
funnel             stage|channel                   leads reaching a stage (claimed, invited, deposit,
                                                   signed) for the first time
claims             user                            leads a consultant claimed first
signed_fen         kind|consultant|channel|camp.   contract amounts as signed (new or renewal)
signed_n           kind|consultant|channel|camp.   contracts signed
renewed            student                         renewal contracts signed
cash_fen           user                            deposits and instalments received
cost_fen           channel|campaign                campaign costs (on the day the campaign starts)
                                                   and approved marketing expenses
consumed_fen       (none)                          课消: value recognised as the books recognise it
                                                   (consumption less its reversals, gift hours aside)
taught_fen         class teacher                   value of lessons confirmed here, by 班主任
hours_scheduled    teacher                         hours of lessons not cancelled
hours_taught       teacher                         hours of those where a student attended
roster             (none)                          students on lessons whose attendance was taken
                                                   (a mark or a confirmation, the latest counting)
attended           (none)                          of those, present, late or extra
taught_student     student                         lessons the student attended
ran_low            student                         1 on the day a lesson took the student's hours at
                                                   this campus to [reports] low_hours_x100 or less
seats_taken        (none)                          students on lessons of classes with a capacity
seats_offered      (none)                          those lessons' capacity
refund_fen         category|reason|stage           refunds paid (at the contract's campus)
refund_n           category|reason|stage           refunds paid
heat_attend        hour                            attendances by the lesson's local starting hour
heat_lessons       hour                            lessons occupying each local hour
heat_room          room|hour                       lessons occupying each room and local hour
=================  ==============================  =================================================
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select, union_all

from campus.schema.report_rules import ReportSettings
from campus.schema.tables import (
    asset_entries,
    attendance_confirmations,
    attendance_marks,
    campaigns,
    classes,
    contracts,
    expenses,
    lead_history,
    leads,
    lesson_students,
    lessons,
    payments,
    refunds,
    rooms,
    students,
)
from campus.schema.times import local_days_utc

Facts = dict[tuple[str, str, str], int]  # (YYYY-MM-DD, metric, dimension) → value

LOW_HOURS_X100 = ReportSettings().low_hours_x100  # "hours ran low": 10 lesson hours or fewer left, by default
ATTENDED = frozenset({"present", "late", "extra"})
STAGE_POOLS = {"private": "claimed", "invited": "invited", "deposit": "deposit", "signed": "signed"}
CHUNK = 500

# Groups of metrics a caller may ask for (all by default).
MARKETING = "marketing"  # leads, funnel, claims, signed_*, renewed, cash_fen, cost_fen
TEACHING = "teaching"  # hours, roster, attended, taught_student, seats, heat_*
MONEY = "money"  # consumed_fen, taught_fen, refund_*
RAN_LOW = "ran_low"
ALL_GROUPS = frozenset({MARKETING, TEACHING, MONEY, RAN_LOW})


def dim(*parts: str | None) -> str:
    return "|".join(part or "" for part in parts)


@lru_cache(maxsize=8)
def _zone(timezone: str) -> ZoneInfo:
    return ZoneInfo(timezone)


@lru_cache(maxsize=65536)
def _local(instant: str, timezone: str) -> datetime:
    moment = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_zone(timezone))


def local_day(instant: str, timezone: str) -> str:
    return _local(instant, timezone).date().isoformat()


def occupied_hours(starts_at: str, ends_at: str, timezone: str) -> list[tuple[str, int]]:
    """The local (day, hour) slots a lesson from ``starts_at`` to ``ends_at`` occupies."""
    start, end = _local(starts_at, timezone), _local(ends_at, timezone)
    slot = start.replace(minute=0, second=0, microsecond=0)
    made: list[tuple[str, int]] = []
    while slot < end and len(made) < 24:
        made.append((slot.date().isoformat(), slot.hour))
        slot += timedelta(hours=1)
    return made or [(start.date().isoformat(), start.hour)]


def _chunks(items: Collection[Any]) -> Iterator[list[Any]]:
    ordered = sorted(items)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start:start + CHUNK]


def campus_facts(conn: Connection, campus_id: str, timezone: str, first: date, last: date,
                 groups: Collection[str] = ALL_GROUPS, low_hours_x100: int = LOW_HOURS_X100) -> Facts:
    """The facts of ``campus_id`` on its local days ``first``..``last`` (``low_hours_x100``: the
    line below which a student's hours have run low, ``[reports] low_hours_x100``)."""
    lo, hi = local_days_utc(first, last, timezone)
    facts: Facts = defaultdict(int)
    if MARKETING in groups:
        _marketing(conn, campus_id, timezone, lo, hi, first, last, facts)
    if TEACHING in groups:
        _teaching(conn, campus_id, timezone, lo, hi, facts)
    if MONEY in groups:
        _money(conn, campus_id, timezone, lo, hi, facts)
    if RAN_LOW in groups:
        _ran_low(conn, campus_id, timezone, lo, hi, facts, low_hours_x100)
    return {key: value for key, value in facts.items() if value}


def _marketing(conn: Connection, campus_id: str, tz: str, lo: str, hi: str, first: date, last: date,
               facts: Facts) -> None:
    for row in conn.execute(select(leads.c.channel, leads.c.campaign_id, leads.c.created_at).where(
            leads.c.campus_id == campus_id, leads.c.deleted.is_(False), leads.c.created_at >= lo,
            leads.c.created_at < hi)):
        facts[(local_day(row.created_at, tz), "leads", dim(row.channel, row.campaign_id))] += 1
    # the first time each lead reached each stage (over its whole history), counted on that day
    moved = set(conn.execute(select(lead_history.c.lead_id).distinct().where(
        lead_history.c.at >= lo, lead_history.c.at < hi, lead_history.c.to_pool.in_(tuple(STAGE_POOLS)))).scalars())
    firsts: dict[tuple[str, str], tuple[str, str | None, str | None]] = {}
    for chunk in _chunks(moved):
        moves = (select(lead_history.c.lead_id, lead_history.c.to_pool, lead_history.c.at, lead_history.c.by_user_id,
                        leads.c.channel)
                 .select_from(lead_history.join(leads, leads.c.id == lead_history.c.lead_id))
                 .where(lead_history.c.lead_id.in_(chunk), leads.c.campus_id == campus_id, leads.c.deleted.is_(False),
                        lead_history.c.to_pool.in_(tuple(STAGE_POOLS)), lead_history.c.at < hi))
        for move in conn.execute(moves):
            key = (move.lead_id, move.to_pool)
            held = firsts.get(key)
            if held is None or move.at < held[0]:
                firsts[key] = (move.at, move.by_user_id, move.channel)
    for (_lead_id, pool), (at, by_user, channel) in firsts.items():
        if at < lo:
            continue
        day = local_day(at, tz)
        facts[(day, "funnel", dim(STAGE_POOLS[pool], channel))] += 1
        if pool == "private":
            facts[(day, "claims", dim(by_user))] += 1
    signed = (select(contracts.c.kind, contracts.c.amount_fen, contracts.c.consultant_id, contracts.c.signed_at,
                     contracts.c.student_id, leads.c.channel, leads.c.campaign_id)
              .select_from(contracts.outerjoin(students, students.c.id == contracts.c.student_id)
                           .outerjoin(leads, leads.c.id == students.c.lead_id))
              .where(contracts.c.campus_id == campus_id, contracts.c.deleted.is_(False),
                     contracts.c.signed_at >= lo, contracts.c.signed_at < hi))
    for contract in conn.execute(signed):
        day = local_day(contract.signed_at, tz)
        signed_key = dim(contract.kind, contract.consultant_id, contract.channel, contract.campaign_id)
        facts[(day, "signed_fen", signed_key)] += int(contract.amount_fen)
        facts[(day, "signed_n", signed_key)] += 1
        if contract.kind == "renewal":
            facts[(day, "renewed", dim(contract.student_id))] += 1
    for row in conn.execute(select(payments.c.amount_fen, payments.c.paid_at, payments.c.by_user_id).where(
            payments.c.campus_id == campus_id, payments.c.kind.in_(("deposit", "payment")),
            payments.c.paid_at >= lo, payments.c.paid_at < hi)):
        facts[(local_day(row.paid_at, tz), "cash_fen", dim(row.by_user_id))] += int(row.amount_fen)
    for campaign in conn.execute(select(campaigns.c.id, campaigns.c.channel, campaigns.c.cost_fen, campaigns.c.created_at,
                                   campaigns.c.starts_on)
                            .where(campaigns.c.campus_id == campus_id, campaigns.c.deleted.is_(False))):
        launched = campaign.starts_on or local_day(campaign.created_at, tz)  # a campaign's cost counts the day it starts
        if first.isoformat() <= launched <= last.isoformat():
            facts[(launched, "cost_fen", dim(campaign.channel, campaign.id))] += int(campaign.cost_fen)
    spent = (select(expenses.c.amount_fen, expenses.c.incurred_on, expenses.c.campaign_id, campaigns.c.channel)
             .select_from(expenses.outerjoin(campaigns, campaigns.c.id == expenses.c.campaign_id))
             .where(expenses.c.campus_id == campus_id, expenses.c.category == "marketing",
                    expenses.c.status == "approved", expenses.c.deleted.is_(False),
                    expenses.c.incurred_on >= first.isoformat(), expenses.c.incurred_on <= last.isoformat()))
    for expense in conn.execute(spent):
        facts[(expense.incurred_on, "cost_fen", dim(expense.channel, expense.campaign_id))] += int(expense.amount_fen)


MARKED = (attendance_marks, attendance_confirmations)  # a confirmation (or re-confirmation) also says who came


def _latest_marks(conn: Connection, lesson_ids: Collection[str]) -> dict[tuple[str, str], str]:
    """The mark that counts for each (lesson, student): the latest by HLC of its marks and confirmations."""
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    for chunk in _chunks(lesson_ids):
        for table in MARKED:
            for row in conn.execute(select(table.c.lesson_id, table.c.student_id, table.c.mark, table.c.hlc)
                                    .where(table.c.lesson_id.in_(chunk))):
                key = (row.lesson_id, row.student_id)
                if key not in latest or row.hlc > latest[key][0]:
                    latest[key] = (row.hlc, row.mark)
    return {key: mark for key, (_hlc, mark) in latest.items()}


def _teaching(conn: Connection, campus_id: str, tz: str, lo: str, hi: str, facts: Facts) -> None:
    held = [row for row in conn.execute(select(
        lessons.c.id, lessons.c.class_id, lessons.c.teacher_id, lessons.c.room_id, lessons.c.starts_at,
        lessons.c.ends_at, lessons.c.hours_x100).where(
        lessons.c.campus_id == campus_id, lessons.c.starts_at >= lo, lessons.c.starts_at < hi,
        lessons.c.deleted.is_(False), lessons.c.status != "cancelled"))]
    ids = [row.id for row in held]
    roster: dict[str, list[str]] = defaultdict(list)
    for chunk in _chunks(ids):
        for row in conn.execute(select(lesson_students.c.lesson_id, lesson_students.c.student_id).where(
                lesson_students.c.lesson_id.in_(chunk), lesson_students.c.deleted.is_(False))):
            roster[row.lesson_id].append(row.student_id)
    marks = _latest_marks(conn, ids)
    attendees: dict[str, set[str]] = defaultdict(set)
    for (lesson_id, student_id), mark in marks.items():
        if mark in ATTENDED:
            attendees[lesson_id].add(student_id)
    capacity: dict[str, int] = {}
    class_ids = {row.class_id for row in held if row.class_id}
    room_ids = {row.room_id for row in held if row.room_id}
    room_capacity = {}
    for chunk in _chunks(room_ids):
        room_capacity.update({r.id: int(r.capacity or 0) for r in conn.execute(
            select(rooms.c.id, rooms.c.capacity).where(rooms.c.id.in_(chunk)))})
    for chunk in _chunks(class_ids):
        for r in conn.execute(select(classes.c.id, classes.c.capacity, classes.c.room_id)
                              .where(classes.c.id.in_(chunk))):
            capacity[r.id] = int(r.capacity or 0) or room_capacity.get(r.room_id, 0)
    for lesson in held:
        start = _local(lesson.starts_at, tz)
        day = start.date().isoformat()
        present = attendees.get(lesson.id, set())
        listed = roster.get(lesson.id, [])
        hours = int(lesson.hours_x100)
        facts[(day, "hours_scheduled", dim(lesson.teacher_id))] += hours
        if present:
            facts[(day, "hours_taught", dim(lesson.teacher_id))] += hours
        if any((lesson.id, s) in marks for s in listed) or present:
            facts[(day, "roster", "")] += len(listed)
            facts[(day, "attended", "")] += sum(1 for s in listed if s in present)
        for student_id in present:
            facts[(day, "taught_student", dim(student_id))] += 1
        facts[(day, "heat_attend", f"{start.hour:02d}")] += len(present)
        seats = capacity.get(lesson.class_id or "", 0)
        if seats:
            facts[(day, "seats_offered", "")] += seats
            facts[(day, "seats_taken", "")] += len(listed)
        for slot_day, hour in occupied_hours(lesson.starts_at, lesson.ends_at, tz):
            facts[(slot_day, "heat_lessons", f"{hour:02d}")] += 1
            if lesson.room_id:
                facts[(slot_day, "heat_room", dim(lesson.room_id, f"{hour:02d}"))] += 1


def _money(conn: Connection, campus_id: str, tz: str, lo: str, hi: str, facts: Facts) -> None:
    valued = (select(asset_entries.c.id, asset_entries.c.kind, asset_entries.c.value_fen, asset_entries.c.at,
                     asset_entries.c.reverses_entry_id)
              .where(asset_entries.c.campus_id == campus_id, asset_entries.c.gift.is_(False),
                     asset_entries.c.kind.in_(("consumed", "reversal")), asset_entries.c.at >= lo,
                     asset_entries.c.at < hi))
    rows = list(conn.execute(valued))
    reversed_ids = {row.reverses_entry_id for row in rows if row.kind == "reversal" and row.reverses_entry_id}
    consumed_ids: set[str] = set()
    for chunk in _chunks(reversed_ids):  # a reversal moves 课消 only when what it undoes was consumption
        consumed_ids.update(conn.execute(select(asset_entries.c.id).where(
            asset_entries.c.id.in_(chunk), asset_entries.c.kind == "consumed", asset_entries.c.value_fen < 0)
        ).scalars())
    for row in rows:
        if (row.kind == "consumed" and row.value_fen < 0) or (row.kind == "reversal"
                                                                and row.reverses_entry_id in consumed_ids):
            facts[(local_day(row.at, tz), "consumed_fen", "")] -= int(row.value_fen)
    taught = (select(asset_entries.c.value_fen, asset_entries.c.at, classes.c.class_teacher_id)
              .select_from(asset_entries
                           .join(attendance_confirmations, attendance_confirmations.c.id == asset_entries.c.cause_id)
                           .join(lessons, lessons.c.id == attendance_confirmations.c.lesson_id)
                           .outerjoin(classes, classes.c.id == lessons.c.class_id))
              .where(asset_entries.c.recorded_campus_id == campus_id, asset_entries.c.kind == "consumed",
                     asset_entries.c.gift.is_(False), asset_entries.c.cause_table == "attendance_confirmations",
                     asset_entries.c.at >= lo, asset_entries.c.at < hi))
    for taught_row in conn.execute(taught):
        facts[(local_day(taught_row.at, tz), "taught_fen", dim(taught_row.class_teacher_id))] -= int(taught_row.value_fen)
    for row in conn.execute(select(refunds.c.amount_fen, refunds.c.paid_at, refunds.c.reason_category,
                                   refunds.c.reason, refunds.c.stage).where(
            refunds.c.contract_campus_id == campus_id, refunds.c.status == "paid", refunds.c.deleted.is_(False),
            refunds.c.paid_at >= lo, refunds.c.paid_at < hi)):
        key = dim(row.reason_category, row.reason, row.stage)
        day = local_day(row.paid_at, tz)
        facts[(day, "refund_fen", key)] += int(row.amount_fen)
        facts[(day, "refund_n", key)] += 1


def _ran_low(conn: Connection, campus_id: str, tz: str, lo: str, hi: str, facts: Facts,
             low_hours_x100: int = LOW_HOURS_X100) -> None:
    # The hours each consuming student had left here when the span began (summed by the database
    # over their own ledger), then their entries in the span one by one.
    in_span = [row for row in conn.execute(select(
        asset_entries.c.student_id, asset_entries.c.id, asset_entries.c.kind, asset_entries.c.hours_x100,
        asset_entries.c.at).where(asset_entries.c.campus_id == campus_id, asset_entries.c.at >= lo,
                                  asset_entries.c.at < hi))]
    consuming = {row.student_id for row in in_span if row.kind == "consumed"}
    left: dict[str, int] = defaultdict(int)
    for chunk in _chunks(consuming):
        for student_id, hours in conn.execute(
                select(asset_entries.c.student_id, func.sum(asset_entries.c.hours_x100))
                # by the students' own entries (coalesce keeps the planner off the campus's whole history)
                .where(asset_entries.c.student_id.in_(chunk), func.coalesce(asset_entries.c.campus_id, "") == campus_id,
                       asset_entries.c.at < lo).group_by(asset_entries.c.student_id)):
            left[student_id] = int(hours)
    for entry in sorted((row for row in in_span if row.student_id in consuming), key=lambda e: (e.at, e.id)):
        before = left[entry.student_id]
        left[entry.student_id] = before + int(entry.hours_x100)
        if entry.kind == "consumed" and before > low_hours_x100 >= left[entry.student_id]:
            facts[(local_day(entry.at, tz), "ran_low", dim(entry.student_id))] = 1


def last_attended(conn: Connection, campus_id: str, tz: str, first: date, last: date) -> dict[str, str]:
    """Each student who attended a lesson here on local days ``first``..``last`` (the latest of a
    lesson's marks and confirmations counting), with the start of the last such lesson (UTC text);
    worked out by the database."""
    lo, hi = local_days_utc(first, last, tz)
    marked = union_all(*(
        select(table.c.lesson_id, table.c.student_id, table.c.mark, table.c.hlc, lessons.c.starts_at)
        .select_from(lessons.join(table, lessons.c.id == table.c.lesson_id))
        .where(lessons.c.campus_id == campus_id, lessons.c.starts_at >= lo, lessons.c.starts_at < hi,
               lessons.c.deleted.is_(False), lessons.c.status != "cancelled") for table in MARKED)).subquery()
    latest = select(marked.c.student_id, marked.c.mark, marked.c.starts_at, func.row_number().over(
        partition_by=(marked.c.lesson_id, marked.c.student_id), order_by=marked.c.hlc.desc()).label("nth")).subquery()
    return {student_id: at for student_id, at in conn.execute(
        select(latest.c.student_id, func.max(latest.c.starts_at)).where(
            latest.c.nth == 1, latest.c.mark.in_(tuple(ATTENDED))).group_by(latest.c.student_id))}


def days_of(conn: Connection, table: Any, column: Any, where: Any, tz: str) -> set[str]:
    """The local days of ``column`` (UTC text) over the rows ``where`` selects."""
    return {local_day(value, tz) for value in conn.execute(select(column).where(where)).scalars() if value}


def weekday_dim(day: str, key: str) -> str:
    """A heatmap dimension with its day's weekday (0 Monday) in front: what survives summing days."""
    return f"{date.fromisoformat(day).weekday()}|{key}"


def sum_over_days(facts: Iterable[tuple[tuple[str, str, str], int]]) -> dict[tuple[str, str], int]:
    """``(metric, dimension) → value`` over every day; a heatmap's dimensions keep the weekday."""
    summed: dict[tuple[str, str], int] = defaultdict(int)
    for (day, metric, key), value in facts:
        summed[(metric, weekday_dim(day, key) if metric.startswith("heat_") else key)] += value
    return dict(summed)


def facts_between(facts: Iterable[tuple[tuple[str, str, str], int]], first: str, last: str) -> Facts:
    return {key: value for key, value in facts if first <= key[0] <= last}

