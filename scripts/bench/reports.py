"""Reports at scale: group reports at the hub read the report roll-ups, campus reports at a node
read the campus's own indexed tables; both cost a period, not the history.

A hub store is seeded (by bulk INSERTs straight into SQLite, not through use cases) with 50
campuses and two years of activity: at ``--scale 1`` 2.5 million lesson marks (each with its
roster row, confirmation and ledger entry), 200,000 contracts with their payments, 250,000 leads
with their pool moves and 1 million follow-ups, campaigns and monthly marketing expenses, and a
refund for one contract in a hundred. One campus's share of the same goes into a node store. The
hub's roll-ups are built by :func:`campus.hub.report_rollups.rebuild_campus` (timed). Then each
store is copied and two more years are added before the first (the history doubles), and the
copy's roll-ups are brought up to date for those days by :func:`recompute`, as the keeper would.

Each report (the last whole month of the data) is then run ``--runs`` times at each size, the
two sizes taking turns run by run so that whatever else the machine does falls on both alike:
group reports at the hub, campus reports at the node. p50 and p99 (with 50 runs, the slowest
but one) are printed with the large/small ratio, and written to bench-results/reports.json.

    .venv/bin/python scripts/bench/reports.py [--scale 0.1] [--runs 30] [--keep DIR]

Targets: p99 < 300 ms for the group at the hub, < 200 ms for a campus at its node, and the
doubled history within 1.5× of the two years.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from campus.hub.report_rollups import rebuild_campus, recompute
from campus.hub.report_views import group_report
from campus.hub.store import HubStore
from campus.node.reports.queries import campus_report
from campus.node.store import NodeStore
from campus.schema.context import CampusContext
from campus.schema.db import sqlite_url
from campus.schema.report_rules import month_period

CAMPUSES = 50
CLASSES = 30  # per campus at scale 1
STUDENTS_PER_CLASS = 8
CONTRACTS = 200_000  # over two years, the group, at scale 1
LEADS = 250_000
FOLLOW_UPS_PER_LEAD = 4
YEAR_DAYS = 365
REPORTS = ("marketing", "output", "leaderboard", "heatmap", "dashboard")
CHANNELS = ("douyin", "baidu", "referral", "walk-in", "event", "xiaohongshu", "wechat")
TZ_OFFSET = 8  # Asia/Shanghai, the default zone every seeded campus keeps


def campus_id(number: int) -> str:
    return f"c{number:02d}-bench-campus-00000000000000000"[:36]


def utc(day: date, local_hour: int, minute: int = 0) -> str:
    moment = datetime(day.year, day.month, day.day, local_hour, minute, tzinfo=UTC) - timedelta(hours=TZ_OFFSET)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Seeder:
    """Rows for one block of days at some campuses, inserted with executemany per table."""

    def __init__(self, db: sqlite3.Connection, scale: float, tag: str, seed: int) -> None:
        self.db, self.scale, self.tag = db, scale, tag
        self.random = random.Random(seed)
        self.serial = 0
        self.hlc = 1 << 40
        self.rows: dict[str, list[tuple[Any, ...]]] = {}
        self.columns: dict[str, tuple[str, ...]] = {}
        self.counts: dict[str, int] = {}

    def new_id(self, kind: str) -> str:
        self.serial += 1
        return f"{self.tag}{kind}{self.serial:012d}"

    def add(self, table: str, **values: Any) -> None:
        if table not in self.columns:
            self.columns[table] = tuple(values)
            self.rows[table] = []
        self.rows[table].append(tuple(values.values()))
        if len(self.rows[table]) >= 50_000:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.rows):
            rows = self.rows[name]
            if rows:
                columns = self.columns[name]
                self.db.executemany(f"insert into {name} ({', '.join(columns)}) values "
                                    f"({', '.join('?' * len(columns))})", rows)
                self.counts[name] = self.counts.get(name, 0) + len(rows)
                self.rows[name] = []

    def campus(self, number: int, first: date, days: int, directory: bool) -> None:
        """One campus's activity on ``days`` days from ``first``."""
        cid, code = campus_id(number), f"B{number:02d}"
        stamp = utc(first, 9)
        if directory:
            self.add("campuses", id=cid, code=code, name=f"校区{number:02d}", created_at=stamp, deleted=0)
        teachers = [f"{cid[:8]}-t{k}" for k in range(10)]
        consultants = [f"{cid[:8]}-s{k}" for k in range(5)]
        advisors = [f"{cid[:8]}-a{k}" for k in range(3)]
        if directory:
            for user in teachers + consultants + advisors:
                self.add("users", id=user, username=user, display_name=user[-3:], created_at=stamp, active=1,
                         deleted=0)
            for k in range(6):
                self.add("rooms", id=f"{cid[:8]}-room{k}", campus_id=cid, name=f"{k + 1}01", capacity=12,
                         created_at=stamp, deleted=0)
            self.add("courses", id=f"{cid[:8]}-course", campus_id=cid, name="课程", lesson_hours_x100=150,
                     created_at=stamp, deleted=0)
        classes = max(1, round(CLASSES * self.scale))
        class_ids = [f"{cid[:8]}-{self.tag}class{k}" for k in range(classes)]
        for k, class_id in enumerate(class_ids):
            self.add("classes", id=class_id, campus_id=cid, course_id=f"{cid[:8]}-course", name=f"班{k}",
                     category="regular", teacher_id=teachers[k % 10], class_teacher_id=advisors[k % 3],
                     room_id=f"{cid[:8]}-room{k % 6}", capacity=12, created_at=stamp, deleted=0)
        campaigns = [self.new_id("cp") for _ in range(10)]
        for k, campaign in enumerate(campaigns):
            starts = first + timedelta(days=k * days // 10)
            self.add("campaigns", id=campaign, campus_id=cid, name=f"活动{k}", channel=CHANNELS[k % 7],
                     cost_fen=self.random.randrange(100_000, 2_000_000), created_at=utc(starts, 10), deleted=0,
                     starts_on=starts.isoformat())
        self._teaching(cid, class_ids, first, days)
        self._selling(cid, consultants, campaigns, first, days)

    def _teaching(self, cid: str, class_ids: list[str], first: date, days: int) -> None:
        for block in range(0, days, YEAR_DAYS):  # a new cohort of students each year
            roster: dict[str, list[tuple[str, str, str]]] = {}
            for class_id in class_ids:
                roster[class_id] = []
                for _ in range(STUDENTS_PER_CLASS):
                    student, contract, line = self.new_id("st"), self.new_id("ct"), self.new_id("ln")
                    roster[class_id].append((student, contract, line))
                    self.add("students", id=student, home_campus_id=cid, number=f"{student}N", name="学员",
                             status="admitted", created_at=utc(first + timedelta(days=block), 9), deleted=0)
            for offset in range(block, min(block + YEAR_DAYS, days)):
                day = first + timedelta(days=offset)
                for k, class_id in enumerate(class_ids):
                    if day.weekday() not in (k % 7, (k + 3) % 7):
                        continue
                    hour = 8 + k % 13
                    lesson = self.new_id("ls")
                    self.add("lessons", id=lesson, campus_id=cid, class_id=class_id, course_id=f"{cid[:8]}-course",
                             teacher_id=f"{cid[:8]}-t{k % 10}", room_id=f"{cid[:8]}-room{k % 6}",
                             starts_at=utc(day, hour), ends_at=utc(day, hour + 1, 30), hours_x100=150,
                             kind="regular", status="scheduled", created_at=utc(day, 7), deleted=0)
                    for student, contract, line in roster[class_id]:
                        draw = self.random.random()
                        mark = "present" if draw < 0.88 else "late" if draw < 0.93 else "absent"
                        self.hlc += 1
                        self.add("lesson_students", id=self.new_id("ls"), campus_id=cid, lesson_id=lesson,
                                 student_id=student, line_id=line, created_at=utc(day, 7), deleted=0)
                        self.add("attendance_marks", id=self.new_id("mk"), campus_id=cid, lesson_id=lesson,
                                 student_id=student, mark=mark, source="kiosk", recorded_at=utc(day, hour),
                                 hlc=self.hlc)
                        confirmation, entry = self.new_id("cf"), self.new_id("ae")
                        self.add("attendance_confirmations", id=confirmation, campus_id=cid, lesson_id=lesson,
                                 student_id=student, line_id=line, mark=mark, hours_x100=150,
                                 entry_ids=f'["{entry}"]', confirmed_at=utc(day, hour + 2), hlc=self.hlc)
                        self.add("asset_entries", id=entry, campus_id=cid, recorded_campus_id=cid, student_id=student,
                                 contract_id=contract, line_id=line, kind="consumed", hours_x100=-150,
                                 value_fen=-30000, gift=0, cause_table="attendance_confirmations",
                                 cause_id=confirmation, at=utc(day, hour + 2))

    def _selling(self, cid: str, consultants: list[str], campaigns: list[str], first: date, days: int) -> None:
        share = self.scale / CAMPUSES / (2 * YEAR_DAYS)  # of the group's two-year volumes, per campus-day
        for offset in range(days):
            day = first + timedelta(days=offset)
            for _ in range(self._count(LEADS * share)):
                lead, campaign = self.new_id("ld"), self.random.choice(campaigns)
                consultant = self.random.choice(consultants)
                self.add("leads", id=lead, campus_id=cid, number=f"{lead}N", name="线索", phone="13800000000",
                         channel=CHANNELS[campaigns.index(campaign) % 7], campaign_id=campaign,
                         consultant_id=consultant, pool="lead", created_at=utc(day, 11), deleted=0)
                later = day
                for pool, chance in (("private", 0.6), ("invited", 0.5), ("deposit", 0.5), ("signed", 0.6)):
                    if self.random.random() > chance:
                        break
                    later += timedelta(days=self.random.randrange(0, 4))
                    self.add("lead_history", id=self.new_id("lh"), lead_id=lead, at=utc(later, 14), kind="claim",
                             by_user_id=consultant, to_pool=pool)
                for k in range(FOLLOW_UPS_PER_LEAD):
                    self.add("lead_follow_ups", id=self.new_id("fu"), lead_id=lead, at=utc(day + timedelta(days=k), 15),
                             channel="call", content="跟进", by_user_id=consultant, created_at=utc(day, 15))
            for _ in range(self._count(CONTRACTS * share)):
                contract, student = self.new_id("ct"), self.new_id("st")
                amount = self.random.randrange(300_000, 900_000, 100)
                kind = "renewal" if self.random.random() < 0.3 else "new"
                self.add("contracts", id=contract, campus_id=cid, number=f"{contract}N", student_id=student,
                         kind=kind, signed_at=utc(day, 16), expires_on=(day + timedelta(days=365)).isoformat(),
                         list_fen=amount, amount_fen=amount, consultant_id=self.random.choice(consultants),
                         created_at=utc(day, 16), deleted=0)
                self.add("payments", id=self.new_id("py"), campus_id=cid, receipt_number=self.new_id("rc"),
                         kind="payment", student_id=student, contract_id=contract, amount_fen=amount,
                         fund_account="wechat", paid_at=utc(day, 16, 30), by_user_id=consultants[0],
                         created_at=utc(day, 16, 30))
                if self.random.random() < 0.01:
                    self.add("refunds", id=self.new_id("rf"), campus_id=cid, number=self.new_id("rn"),
                             contract_id=contract, contract_campus_id=cid, student_id=student, lines="[]",
                             calculation="{}", refundable_fen=amount // 2, amount_fen=amount // 2, fee_fen=0,
                             value_fen=amount // 2, kind="partial", stage=kind if kind == "new" else "continuing",
                             reason_category="customer", reason="搬家", status="paid", requested_at=utc(day, 17),
                             paid_at=utc(day + timedelta(days=3), 17), updated_at=utc(day, 17), deleted=0)
            if day.day == 1:
                for campaign in campaigns[:3]:
                    self.add("expenses", id=self.new_id("ex"), campus_id=cid, number=self.new_id("en"),
                             category="marketing", account="6601", amount_fen=self.random.randrange(50_000, 500_000),
                             fund_account="bank", incurred_on=day.isoformat(), campaign_id=campaign,
                             description="投放", status="approved", created_at=utc(day, 12), deleted=0)

    def _count(self, expected: float) -> int:
        whole = int(expected)
        return whole + (1 if self.random.random() < expected - whole else 0)


def seed(path: Path, campuses: list[int], first: date, days: int, scale: float, tag: str, directory: bool) -> dict[str, int]:
    db = sqlite3.connect(path)
    db.execute("pragma journal_mode=off")  # a bulk load into a fresh file: nothing to roll back to
    db.execute("pragma synchronous=off")
    seeder = Seeder(db, scale, tag, seed=len(tag) * 7919 + first.toordinal())
    with db:
        for number in campuses:
            seeder.campus(number, first, days, directory)
        seeder.flush()
    db.execute("pragma journal_mode=wal")  # as the stores keep it in service
    db.close()
    return seeder.counts


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1, help="share of the full volumes (1: 2.5M marks)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--campuses", type=int, default=CAMPUSES)
    parser.add_argument("--keep", type=Path, help="build the stores in this directory and keep them")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="campus-reports-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    last_day = date(2026, 11, 30)
    first_day = last_day - timedelta(days=2 * YEAR_DAYS - 1)
    earlier = first_day - timedelta(days=2 * YEAR_DAYS)
    numbers = list(range(args.campuses))
    result: dict[str, Any] = {"scale": args.scale, "campuses": args.campuses, "runs": args.runs,
                              "history": f"{first_day} – {last_day}", "doubled": f"{earlier} – {last_day}"}
    try:
        hub_path, node_path = workdir / "hub.sqlite", workdir / "node.sqlite"
        HubStore(sqlite_url(hub_path), "bench-hub").engine.dispose()
        NodeStore(node_path, "bench-node").engine.dispose()
        began = time.perf_counter()
        result["rows"] = seed(hub_path, numbers, first_day, 2 * YEAR_DAYS, args.scale, "a", directory=True)
        seed(node_path, [0], first_day, 2 * YEAR_DAYS, args.scale, "a", directory=True)
        result["seed_seconds"] = round(time.perf_counter() - began, 1)
        print(f"seeded in {result['seed_seconds']} s: {result['rows']}", flush=True)
        hub = HubStore(sqlite_url(hub_path), "bench-hub")
        began = time.perf_counter()
        for number in numbers:
            rebuild_campus(hub, campus_id(number))
        result["rollup_build_seconds"] = round(time.perf_counter() - began, 1)
        with hub.read() as conn:
            result["rollup_rows"] = conn.exec_driver_sql("select count(*) from hub_report_rollups").scalar()
        print(f"roll-ups built in {result['rollup_build_seconds']} s ({result['rollup_rows']} rows)", flush=True)
        hub.engine.dispose()
        big_hub_path, big_node_path = workdir / "hub-doubled.sqlite", workdir / "node-doubled.sqlite"
        shutil.copy(hub_path, big_hub_path)
        shutil.copy(node_path, big_node_path)
        seed(big_hub_path, numbers, earlier, 2 * YEAR_DAYS, args.scale, "b", directory=False)
        seed(big_node_path, [0], earlier, 2 * YEAR_DAYS, args.scale, "b", directory=False)
        big_hub = HubStore(sqlite_url(big_hub_path), "bench-hub")
        began = time.perf_counter()
        added = {(earlier + timedelta(days=n)).isoformat() for n in range(-1, 2 * YEAR_DAYS + 1)}
        for number in numbers:
            recompute(big_hub, {campus_id(number): added})
        result["rollup_extend_seconds"] = round(time.perf_counter() - began, 1)
        hub = HubStore(sqlite_url(hub_path), "bench-hub")
        node, big_node = NodeStore(node_path, "bench-node"), NodeStore(big_node_path, "bench-node")
        ctx = CampusContext(id=campus_id(0), code="B00", name="校区00")
        period = month_period(last_day.year, last_day.month)
        result["period"] = period.as_dict()
        rows = []
        for side, stores, run in (
                ("hub: group", (hub, big_hub), lambda store, name: _read(store, group_report, name, period)),
                ("hub: one campus", (hub, big_hub),
                 lambda store, name: _read(store, group_report, name, period, False, campus_id(0))),
                ("node: campus", (node, big_node), lambda store, name: _read(store, campus_report, ctx, name, period))):
            for name in REPORTS:
                samples: dict[int, list[float]] = {0: [], 1: []}
                for _ in range(args.runs):
                    for size, store in enumerate(stores):
                        samples[size].append(timed(partial(run, store, name)))
                row: dict[str, Any] = {"where": side, "report": name, **{
                    f"{label}_{stat}": round(percentile(samples[size], share), 1)
                    for size, label in ((0, "two_years"), (1, "four_years"))
                    for stat, share in (("p50", 0.5), ("p99", 0.99))}}
                row["ratio_p99"] = round(row["four_years_p99"] / row["two_years_p99"], 2)
                rows.append(row)
                print(f"{side:16} {name:12} p50 {row['two_years_p50']:7.1f} ms  p99 {row['two_years_p99']:7.1f} ms"
                      f"   doubled: p50 {row['four_years_p50']:7.1f} ms  p99 {row['four_years_p99']:7.1f} ms"
                      f"   ×{row['ratio_p99']}", flush=True)
        result["reports"] = rows
        for store in (hub, big_hub, node, big_node):
            store.engine.dispose()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "reports.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _read(store: Any, fn: Callable[..., Any], *args: Any) -> Any:
    with store.read() as conn:
        return fn(conn, *args)


if __name__ == "__main__":
    sys.exit(main())
