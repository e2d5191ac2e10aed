"""The report roll-ups of the hub: every campus's report facts per day and per month, kept in step
with the merged facts so that group reports never read the raw tables.

Like the books' keeper (campus.hub.books.rollups), :class:`ReportsKeeper` runs as a background job:
it knows how far it got in each node's log (``hub_report_marks``), reads the changes merged since,
works out which campus-local days those rows can move (a mark moves its lesson's day; a ledger
entry moves its day and the later days where the student's hours may have run low; a lead's move
moves every day of that lead's history, as "first reached a stage" may shift), recomputes exactly
those days with :func:`campus.schema.report_facts.campus_facts` (what a node computes for itself),
replaces their rows in ``hub_report_rollups``, and makes the months they fall in again from their
days, all in one transaction. :func:`verify` recomputes everything and reports any difference.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from campus.hub.store import HubStore
from campus.hub.sync import iter_stored_links
from campus.schema.books.projection import DEFAULT_TIMEZONE
from campus.schema.report_facts import LOW_HOURS_X100, Facts, campus_facts, local_day, weekday_dim
from campus.schema.tables import (
    asset_entries,
    campaigns,
    campus_book_settings,
    campuses,
    contracts,
    expenses,
    hub_nodes,
    hub_report_marks,
    hub_report_rollups,
    lead_history,
    leads,
    lessons,
    metadata,
    payments,
    refunds,
)
from campus.sync.changes import decode_change

log = logging.getLogger("campus.hub.reports")

KEEPER_INTERVAL_SECONDS = 5
CHUNK = 500
SPAN_DAYS = 92  # a rebuild computes a campus's history this many days at a time
RUN_GAP_DAYS = 3  # touched days closer than this are recomputed as one span

REPORT_TABLES = frozenset({"leads", "lead_history", "contracts", "students", "payments", "campaigns", "expenses",
                           "asset_entries", "lessons", "lesson_students", "attendance_marks",
                           "attendance_confirmations", "classes", "rooms", "refunds"})
Touched = dict[str, set[str]]  # campus → local days (YYYY-MM-DD)


def _chunks(items: Iterable[Any]) -> Iterator[list[Any]]:
    ordered = sorted(items)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start:start + CHUNK]


def timezones(conn: Connection) -> dict[str, str]:
    """Each campus's time zone, as its node recorded it (the books' settings); the default otherwise."""
    zones = {row.campus_id: row.timezone for row in conn.execute(
        select(campus_book_settings.c.campus_id, campus_book_settings.c.timezone))}
    return defaultdict(lambda: DEFAULT_TIMEZONE, zones)


# --- which days a merge touched ------------------------------------------------------------------------


def _add(touched: Touched, zones: dict[str, str], campus_id: str | None, instant: str | None) -> None:
    if campus_id and instant:
        touched[campus_id].add(local_day(instant, zones[campus_id]))


def _lesson_days(conn: Connection, where: Any, touched: Touched, zones: dict[str, str]) -> None:
    for row in conn.execute(select(lessons.c.campus_id, lessons.c.starts_at).where(where)):
        _add(touched, zones, row.campus_id, row.starts_at)


def _rolled_days(conn: Connection, metric: str, students: Iterable[str], touched: Touched) -> None:
    """Days on which a student's one-off fact (hours ran low) is held now: it may move."""
    for chunk in _chunks(set(students)):
        for row in conn.execute(select(hub_report_rollups.c.campus_id, hub_report_rollups.c.period).where(
                hub_report_rollups.c.metric == metric, hub_report_rollups.c.dim.in_(chunk),
                func.length(hub_report_rollups.c.period) == 10)):
            touched[row.campus_id].add(row.period)


def touched_days(conn: Connection, changed: dict[str, set[str]], zones: dict[str, str]) -> Touched:
    """The campus-local days whose facts the changed rows (table → row ids) can move."""
    touched: Touched = defaultdict(set)
    for name, ids in changed.items():
        table = metadata.tables[name]
        for chunk in _chunks(ids):
            rows = [dict(r) for r in conn.execute(select(table).where(table.c.id.in_(chunk))).mappings()]
            if name == "leads":
                for row in rows:
                    _add(touched, zones, row["campus_id"], row["created_at"])
                _history_days(conn, [r["id"] for r in rows], touched, zones)
            elif name == "lead_history":
                _history_days(conn, {r["lead_id"] for r in rows}, touched, zones)
            elif name == "contracts":
                for row in rows:
                    _add(touched, zones, row["campus_id"], row["signed_at"])
            elif name == "students":
                for signed in conn.execute(select(contracts.c.campus_id, contracts.c.signed_at).where(
                        contracts.c.student_id.in_([r["id"] for r in rows]))):
                    _add(touched, zones, signed.campus_id, signed.signed_at)
            elif name == "payments":
                for row in rows:
                    _add(touched, zones, row["campus_id"], row["paid_at"])
            elif name == "campaigns":
                for row in rows:
                    _add(touched, zones, row["campus_id"], row["created_at"])
                    if row["campus_id"] and row.get("starts_on"):
                        touched[row["campus_id"]].add(row["starts_on"])
                for spent in conn.execute(select(expenses.c.campus_id, expenses.c.incurred_on).where(
                        expenses.c.campaign_id.in_([r["id"] for r in rows]))):
                    touched[spent.campus_id].add(spent.incurred_on)
            elif name == "expenses":
                for row in rows:
                    touched[row["campus_id"]].add(row["incurred_on"])
            elif name == "asset_entries":
                _ledger_days(conn, rows, touched, zones)
            elif name == "lessons":
                for row in rows:
                    _add(touched, zones, row["campus_id"], row["starts_at"])
            elif name in ("lesson_students", "attendance_marks", "attendance_confirmations"):
                _lesson_days(conn, lessons.c.id.in_({r["lesson_id"] for r in rows if r["lesson_id"]}), touched, zones)
            elif name == "classes":
                _lesson_days(conn, lessons.c.class_id.in_([r["id"] for r in rows]), touched, zones)
            elif name == "rooms":
                _lesson_days(conn, lessons.c.room_id.in_([r["id"] for r in rows]), touched, zones)
            elif name == "refunds":
                for row in rows:
                    _add(touched, zones, row["contract_campus_id"], row["paid_at"])
    return touched


def _history_days(conn: Connection, lead_ids: Iterable[str], touched: Touched, zones: dict[str, str]) -> None:
    for chunk in _chunks(set(lead_ids)):
        for row in conn.execute(select(leads.c.campus_id, lead_history.c.at).select_from(
                lead_history.join(leads, leads.c.id == lead_history.c.lead_id)).where(lead_history.c.lead_id.in_(chunk))):
            _add(touched, zones, row.campus_id, row.at)


def _ledger_days(conn: Connection, rows: list[dict[str, Any]], touched: Touched, zones: dict[str, str]) -> None:
    earliest: dict[tuple[str, str], str] = {}
    for row in rows:
        _add(touched, zones, row["campus_id"], row["at"])
        _add(touched, zones, row["recorded_campus_id"], row["at"])
        key = (row["campus_id"], row["student_id"])
        earliest[key] = min(earliest.get(key, row["at"]), row["at"])
    # an entry changes the hours left on every later day: where they ran low may move
    for (campus_id, student_id), since in earliest.items():
        for at in conn.execute(select(asset_entries.c.at).where(
                asset_entries.c.campus_id == campus_id, asset_entries.c.student_id == student_id,
                asset_entries.c.kind == "consumed", asset_entries.c.at >= since)).scalars():
            _add(touched, zones, campus_id, at)
    _rolled_days(conn, "ran_low", {student for _campus, student in earliest}, touched)


# --- writing the roll-ups --------------------------------------------------------------------------------


def spans(days: Iterable[str], gap: int = RUN_GAP_DAYS) -> list[tuple[date, date]]:
    """Touched days as spans to recompute: days less than ``gap`` apart share one."""
    made: list[tuple[date, date]] = []
    for day in sorted({date.fromisoformat(d) for d in days}):
        if made and (day - made[-1][1]).days <= gap:
            made[-1] = (made[-1][0], day)
        else:
            made.append((day, day))
    return made


def write_days(conn: Connection, campus_id: str, first: date, last: date, facts: Facts) -> None:
    """Replace the campus's day rows of ``first``..``last`` by ``facts``."""
    conn.execute(delete(hub_report_rollups).where(
        hub_report_rollups.c.campus_id == campus_id, hub_report_rollups.c.period >= first.isoformat(),
        hub_report_rollups.c.period <= last.isoformat(), func.length(hub_report_rollups.c.period) == 10))
    rows = [{"campus_id": campus_id, "period": day, "metric": metric, "dim": key[:120], "value": value}
            for (day, metric, key), value in facts.items() if first.isoformat() <= day <= last.isoformat()]
    for start in range(0, len(rows), 5000):
        conn.execute(insert(hub_report_rollups), rows[start:start + 5000])


def write_month(conn: Connection, campus_id: str, month: str) -> None:
    """A month's rows made again from its days (a heatmap's dimensions keep each day's weekday)."""
    rows = conn.execute(select(hub_report_rollups.c.period, hub_report_rollups.c.metric, hub_report_rollups.c.dim,
                               hub_report_rollups.c.value).where(
        hub_report_rollups.c.campus_id == campus_id, hub_report_rollups.c.period >= f"{month}-01",
        hub_report_rollups.c.period <= f"{month}-31"))
    summed: dict[tuple[str, str], int] = defaultdict(int)
    for day, metric, key, value in rows:
        summed[(metric, weekday_dim(day, key) if metric.startswith("heat_") else key)] += int(value)
    conn.execute(delete(hub_report_rollups).where(hub_report_rollups.c.campus_id == campus_id,
                                                  hub_report_rollups.c.period == month))
    made = [{"campus_id": campus_id, "period": month, "metric": metric, "dim": key[:120], "value": value}
            for (metric, key), value in summed.items() if value]
    for start in range(0, len(made), 5000):
        conn.execute(insert(hub_report_rollups), made[start:start + 5000])


def _months(first: date, last: date) -> list[str]:
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def recompute(store: HubStore, campus_days: Touched, zones: dict[str, str] | None = None,
              low_hours_x100: int = LOW_HOURS_X100) -> int:
    """Recompute the given days of each campus (read in one snapshot, written in one transaction)."""
    with store.read(snapshot=True) as conn:
        zones = zones or timezones(conn)
        computed = [(campus_id, first, last, campus_facts(conn, campus_id, zones[campus_id], first, last,
                                                          low_hours_x100=low_hours_x100))
                    for campus_id, days in sorted(campus_days.items()) for first, last in spans(days)]
    _write(store, computed)
    return sum((last - first).days + 1 for _c, first, last, _f in computed)


def _write(store: HubStore, computed: list[tuple[str, date, date, Facts]]) -> None:
    with store.write() as conn:
        months: set[tuple[str, str]] = set()
        for campus_id, first, last, facts in computed:
            write_days(conn, campus_id, first, last, facts)
            months.update((campus_id, month) for month in _months(first, last))
        for campus_id, month in sorted(months):
            write_month(conn, campus_id, month)


def history_span(conn: Connection, campus_id: str, zone: str) -> tuple[date, date] | None:
    """The first and last local day any report fact of the campus falls on."""
    bounds = []
    for column, where in ((leads.c.created_at, leads.c.campus_id == campus_id),
                          (contracts.c.signed_at, contracts.c.campus_id == campus_id),
                          (payments.c.paid_at, payments.c.campus_id == campus_id),
                          (lessons.c.starts_at, lessons.c.campus_id == campus_id),
                          (asset_entries.c.at, asset_entries.c.campus_id == campus_id),
                          (asset_entries.c.at, asset_entries.c.recorded_campus_id == campus_id),
                          (campaigns.c.created_at, campaigns.c.campus_id == campus_id),
                          (refunds.c.paid_at, refunds.c.contract_campus_id == campus_id)):
        low, high = conn.execute(select(func.min(column), func.max(column)).where(where)).one()
        if low:
            bounds += [local_day(low, zone), local_day(high, zone)]
    low, high = conn.execute(select(func.min(expenses.c.incurred_on), func.max(expenses.c.incurred_on)).where(
        expenses.c.campus_id == campus_id)).one()
    if low:
        bounds += [low, high]
    if not bounds:
        return None
    return date.fromisoformat(min(bounds)) - timedelta(days=1), date.fromisoformat(max(bounds)) + timedelta(days=1)


def rebuild_campus(store: HubStore, campus_id: str, low_hours_x100: int = LOW_HOURS_X100) -> int:
    """Every day of one campus's history, a span at a time (each span its own transaction)."""
    with store.read() as conn:
        zone = timezones(conn)[campus_id]
        span = history_span(conn, campus_id, zone)
    with store.write() as conn:
        conn.execute(delete(hub_report_rollups).where(hub_report_rollups.c.campus_id == campus_id))
    if span is None:
        return 0
    first, last = span
    start = first
    while start <= last:  # whole months per span (bar the first), so each month is written once
        next_start = (start.replace(day=1) + timedelta(days=SPAN_DAYS)).replace(day=1)
        end = min(last, next_start - timedelta(days=1))
        with store.read(snapshot=True) as conn:
            facts = campus_facts(conn, campus_id, zone, start, end, low_hours_x100=low_hours_x100)
        _write(store, [(campus_id, start, end, facts)])
        start = end + timedelta(days=1)
    return (last - first).days + 1


# --- the keeper -------------------------------------------------------------------------------------------


@dataclass
class ReportsRun:
    campuses: int = 0
    days: int = 0


SETTINGS_ROW = {"campus_id": "", "period": "settings", "metric": "low_hours_x100", "dim": ""}


def built_line(conn: Connection) -> int | None:
    """The low-hours line the roll-ups were made with (None: never recorded, so the default's)."""
    rollup = hub_report_rollups.c
    return conn.execute(select(rollup.value).where(*(getattr(rollup, k) == v for k, v in SETTINGS_ROW.items()))
                        ).scalar()


class ReportsKeeper:
    """Brings the report roll-ups up to the merged facts; :meth:`run_once` is the job. The roll-ups
    are made with ``low_hours_x100`` (the hub's ``[reports]``); made with another line, they are
    rebuilt from scratch on the next run."""

    def __init__(self, store: HubStore, low_hours_x100: int = LOW_HOURS_X100) -> None:
        self.store = store
        self.low_hours_x100 = low_hours_x100
        self._lock = threading.Lock()

    def pending(self, conn: Connection) -> tuple[Touched | None, dict[str, int]]:
        """The days behind the merged facts (None: everything, on a hub where the keeper never ran,
        or whose roll-ups were made with another low-hours line) and each node's head to record."""
        heads = {row.node_id: int(row.head_seq) for row in conn.execute(select(hub_nodes.c.node_id,
                                                                              hub_nodes.c.head_seq))}
        marks = {row.node_id: int(row.seq) for row in conn.execute(select(hub_report_marks))}
        changed: dict[str, set[str]] = defaultdict(set)
        advanced: dict[str, int] = {}
        # Never run on this hub (new, or upgraded with history), or run with another line: everything.
        # A node enrolled later is read from its first change like any other.
        line = built_line(conn)
        everything = (not marks and any(head > 0 for head in heads.values())) or (
            bool(marks) and (LOW_HOURS_X100 if line is None else line) != self.low_hours_x100)
        for node_id, head in heads.items():
            mark = marks.get(node_id, 0)
            if everything or node_id not in marks:
                advanced[node_id] = head
            if not everything and head > mark:
                for seq, body, _digest in iter_stored_links(conn, node_id, mark + 1, head):
                    if seq > head:
                        break
                    change = decode_change(body)
                    if change.table in REPORT_TABLES:
                        changed[change.table].add(change.row_id)
                advanced[node_id] = head
        if everything:
            return None, advanced
        return touched_days(conn, changed, timezones(conn)), advanced

    def run_once(self) -> ReportsRun:
        with self._lock:
            with self.store.read(snapshot=True) as conn:
                touched, advanced = self.pending(conn)
                campus_ids = list(conn.execute(select(campuses.c.id)).scalars()) if touched is None else []
                line = built_line(conn)
            run = ReportsRun()
            if touched is None:
                for campus_id in campus_ids:
                    run.days += rebuild_campus(self.store, campus_id, self.low_hours_x100)
                run.campuses = len(campus_ids)
            elif touched:
                run.days = recompute(self.store, touched, low_hours_x100=self.low_hours_x100)
                run.campuses = len(touched)
            if advanced or line != self.low_hours_x100:
                with self.store.write() as conn:
                    for node_id, seq in advanced.items():
                        updated = conn.execute(hub_report_marks.update().where(hub_report_marks.c.node_id == node_id)
                                               .values(seq=seq))
                        if updated.rowcount == 0:
                            conn.execute(insert(hub_report_marks).values(node_id=node_id, seq=seq))
                    if line != self.low_hours_x100:
                        conn.execute(delete(hub_report_rollups).where(
                            *(getattr(hub_report_rollups.c, k) == v for k, v in SETTINGS_ROW.items())))
                        conn.execute(insert(hub_report_rollups).values(**SETTINGS_ROW, value=self.low_hours_x100))
            if run.days:
                log.info("reports: %d campus(es), %d day(s) recomputed", run.campuses, run.days)
            return run

    def rebuild(self) -> ReportsRun:
        """Every campus from scratch (and the marks from now)."""
        with self._lock:
            with self.store.write() as conn:
                conn.execute(delete(hub_report_marks))
        return self.run_once()


def verify(store: HubStore, low_hours_x100: int = LOW_HOURS_X100) -> list[str]:
    """Every day row that differs from a recompute from scratch (empty when the roll-ups are right),
    by the low-hours line the hub's [reports] sets."""
    problems = []
    with store.read(snapshot=True) as conn:
        zones = timezones(conn)
        for campus_id in conn.execute(select(campuses.c.id)).scalars():
            span = history_span(conn, campus_id, zones[campus_id])
            wanted: Facts = campus_facts(conn, campus_id, zones[campus_id], *span,
                                         low_hours_x100=low_hours_x100) if span else {}
            held = {(r.period, r.metric, r.dim): int(r.value) for r in conn.execute(
                select(hub_report_rollups).where(hub_report_rollups.c.campus_id == campus_id,
                                                 func.length(hub_report_rollups.c.period) == 10))}
            for key in sorted(set(wanted) | set(held)):
                if wanted.get(key) != held.get(key):
                    problems.append(f"{campus_id} {'/'.join(key)}: holds {held.get(key)}, the facts give "
                                    f"{wanted.get(key)}")
            # and each month is the sum of its days
            summed: dict[tuple[str, str, str], int] = defaultdict(int)
            for (day, metric, part), value in wanted.items():
                summed[(day[:7], metric, weekday_dim(day, part) if metric.startswith("heat_") else part[:120])] += value
            months = {(r.period, r.metric, r.dim): int(r.value) for r in conn.execute(
                select(hub_report_rollups).where(hub_report_rollups.c.campus_id == campus_id,
                                                 func.length(hub_report_rollups.c.period) == 7))}
            for month_key in sorted(set(summed) | set(months)):
                if summed.get(month_key, 0) != months.get(month_key, 0):
                    problems.append(f"{campus_id} {'/'.join(month_key)}: the month holds {months.get(month_key)}, "
                                    f"its days give {summed.get(month_key)}")
    return problems



def run_command(store: HubStore, command: str, low_hours_x100: int = LOW_HOURS_X100) -> tuple[list[str], int]:
    """``campus hub reports verify|rebuild``: the lines to print and the exit code (verify: 1 when
    the roll-ups differ from a recompute; rebuild: made again, then verified)."""
    lines: list[str] = []
    if command == "rebuild":
        run = ReportsKeeper(store, low_hours_x100).rebuild()
        lines.append(f"rebuilt the report roll-ups: {run.campuses} campus(es), {run.days} day(s)")
    elif command != "verify":
        raise ValueError(f"unknown reports command {command!r}: verify or rebuild")
    problems = verify(store, low_hours_x100)
    with store.read() as conn:
        behind = _changes_behind(conn)
    lines += problems
    if behind:
        lines.append(f"the roll-ups are {behind} merged change(s) behind: a running hub catches up within seconds")
    lines.append(f"{len(problems)} difference(s) between the report roll-ups and a recompute from the facts")
    return lines, 1 if problems else 0


def _changes_behind(conn: Connection) -> int:
    heads = {row.node_id: int(row.head_seq) for row in conn.execute(select(hub_nodes.c.node_id, hub_nodes.c.head_seq))}
    marks = {row.node_id: int(row.seq) for row in conn.execute(select(hub_report_marks))}
    return sum(max(head - marks.get(node_id, 0), 0) for node_id, head in heads.items())
