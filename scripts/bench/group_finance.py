"""Group finance at scale: the hub's group statements read the roll-ups, not the journal, so they
take the same time at 10 million journal lines as at 1 million.

A hub store (SQLite, then PostgreSQL when 127.0.0.1:5432 answers) is filled with balanced journal
lines for 50 campuses over 36 months, straight into ``hub_journal_lines`` by one INSERT … SELECT
per chunk (SQLite counts with a recursive CTE, PostgreSQL with generate_series; no Python per
row): receipts into cash, WeChat Pay and bank, recognised tuition, administrative and marketing
expenses, and settlements for teaching a neighbouring campus's students (four lines: 6401 and
内部往来 at the contract's campus, 内部往来 and 6001 at the teaching campus). The roll-ups are then
recomputed from the lines by the hub's own :func:`campus.hub.books.rollups.regroup` (timed: the
full recompute), and a copy of the store is kept at the small size before it is filled up to the
large one. The group income statement by campus × month and the group trial balance are then
each run 50 times at each size through :mod:`campus.hub.books.statements`, the two sizes taking
turns run by run: whatever else the machine is doing falls on both alike, so the large/small
ratio measures the size and not the minutes between two measurements (the p99 of 50 runs is
their slowest; run one after the other, a few busy seconds at one size decided it). A raw GROUP
BY of the lines, what a statement without roll-ups would cost, is timed beside them.

Statistics as each engine has them in service: the fill analyzes the journal lines it wrote, and
on PostgreSQL the roll-ups are analyzed after each recompute, as autovacuum would; a SQLite hub
never runs ANALYZE, so its roll-ups have none at either size. (Analyzing the whole SQLite file at
the end of each fill left the small store's roll-ups without statistics and the large store's
with them, and different plans at the two sizes.)

    .venv/bin/python scripts/bench/group_finance.py [--lines 10000000] [--small-lines 1000000]

Prints a table and writes bench-results/group_finance.json. Targets: p99 < 100 ms at the large
size, and the large p99 within 1.5× of the small one.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, insert

from campus.hub.books import statements
from campus.hub.books.rollups import regroup
from campus.hub.store import HubStore
from campus.schema.db import sqlite_url
from campus.schema.ids import new_id
from campus.schema.tables import campuses

FIRST_YEAR = 2024
# (pattern, line in entry, 0: own campus / 1: the counterpart, account, D|C, rule, memo). Eight
# patterns; a settlement (pattern 4) is two entries, one at each campus. 'IC' is the current
# account with the other campus of the pair.
PATTERN_LINES = [
    (0, 0, 0, "1001", "D", "receipt", "收学费"), (0, 1, 0, "2204", "C", "receipt", "收学费"),
    (1, 0, 0, "1012.01", "D", "receipt", "收学费"), (1, 1, 0, "2204", "C", "receipt", "收学费"),
    (2, 0, 0, "2204", "D", "consumption", "课消确认收入"), (2, 1, 0, "6001", "C", "consumption", "课消确认收入"),
    (3, 0, 0, "2204", "D", "consumption", "课消确认收入"), (3, 1, 0, "6001", "C", "consumption", "课消确认收入"),
    (4, 0, 0, "6401", "D", "teaching_settlement", "跨校区上课结算"),
    (4, 1, 0, "IC", "C", "teaching_settlement", "跨校区上课结算"),
    (4, 0, 1, "IC", "D", "teaching_settlement", "跨校区上课结算"),
    (4, 1, 1, "6001", "C", "teaching_settlement", "跨校区上课结算"),
    (5, 0, 0, "6602", "D", "expense", "房租"), (5, 1, 0, "1002", "C", "expense", "房租"),
    (6, 0, 0, "6601", "D", "expense", "市场推广"), (6, 1, 0, "1012.02", "C", "expense", "市场推广"),
    (7, 0, 0, "1002", "D", "receipt", "收学费"), (7, 1, 0, "2204", "C", "receipt", "收学费"),
]
LINES_PER_CYCLE = len(PATTERN_LINES)  # lines made by one event of each of the 8 patterns
CHUNK_EVENTS = 500_000
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_STORE = "postgresql+psycopg://postgres@127.0.0.1:5432/{database}"


def campus_id(number: int) -> str:
    return f"00000000-0000-7000-8000-{number:012d}"


def events_for(lines: int) -> int:
    """How many events make about ``lines`` lines (2.25 lines per event on average)."""
    return lines * 8 // LINES_PER_CYCLE


class Dialect:
    """The few expressions the fill needs that SQLite and PostgreSQL spell differently."""

    def __init__(self, name: str) -> None:
        self.name = name

    def pad(self, expr: str, width: int) -> str:
        if self.name == "sqlite":
            return f"printf('%0{width}d', {expr})"
        return f"lpad(({expr})::text, {width}, '0')"

    def counter(self, start: int, end: int) -> str:
        if self.name == "sqlite":
            return (f"n(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {end})")
        return f"n(i) AS (SELECT generate_series({start}::bigint, {end - 1}::bigint))"


def fill_sql(dialect: Dialect, start: int, end: int, campuses_count: int, months: int) -> str:
    """One INSERT … SELECT making the lines of events ``start``..``end``."""
    values = ", ".join(f"({p}, {k}, {o}, '{a}', '{s}', '{r}', '{m}')" for p, k, o, a, s, r, m in PATTERN_LINES)
    c = f"(i % {campuses_count})"
    other = f"((i % {campuses_count}) + 1 + (i / {campuses_count * 8 * months}) % 3) % {campuses_count}"
    at = f"(CASE WHEN pl.o = 0 THEN {c} ELSE {other} END)"
    facing = f"(CASE WHEN pl.o = 0 THEN {other} ELSE {c} END)"
    month = f"((i / {campuses_count * 8}) % {months})"
    amount = "(100 + (i * 7919) % 500000)"
    pad = dialect.pad
    recursive = "RECURSIVE " if dialect.name == "sqlite" else ""
    return f"""
INSERT INTO hub_journal_lines (entry_id, line_no, campus_id, period, entry_date, account, debit_fen, credit_fen,
                               counterpart_campus_id, contract_id, rule, memo, source_table, source_id, origin_period)
WITH {recursive}{dialect.counter(start, end)},
  pl(p, k, o, a, s, r, m) AS (VALUES {values})
SELECT 'e' || {pad('i', 10)} || '-' || pl.o, pl.k,
       '00000000-0000-7000-8000-' || {pad(at, 12)},
       {pad(f'{FIRST_YEAR} + {month} / 12', 4)} || '-' || {pad(f'{month} % 12 + 1', 2)},
       {pad(f'{FIRST_YEAR} + {month} / 12', 4)} || '-' || {pad(f'{month} % 12 + 1', 2)} || '-'
         || {pad('1 + i % 28', 2)},
       CASE WHEN pl.a = 'IC' THEN '1221.C' || {pad(facing, 3)} ELSE pl.a END,
       CASE WHEN pl.s = 'D' THEN {amount} ELSE 0 END,
       CASE WHEN pl.s = 'C' THEN {amount} ELSE 0 END,
       CASE WHEN pl.p = 4 THEN '00000000-0000-7000-8000-' || {pad(facing, 12)} END,
       NULL, pl.r, pl.m, 'bench', 'f' || {pad('i', 10)}, NULL
FROM n JOIN pl ON pl.p = (i / {campuses_count}) % 8
"""


# --- the stores ------------------------------------------------------------------------------------------


class Engine:
    """One hub store to fill and query: SQLite in a temporary directory, or a PostgreSQL database."""

    def __init__(self, name: str, workdir: Path, copy_of: Engine | None = None) -> None:
        """A new, empty store; or, with ``copy_of``, a copy of that store as it stands."""
        self.name = name
        self.dialect = Dialect(name)
        if name == "sqlite":
            self.path = workdir / (f"{copy_of.path.stem}-copy.sqlite" if copy_of else "hub.sqlite")
            self.url = sqlite_url(self.path)
            if copy_of is not None:
                source, target = sqlite3.connect(copy_of.path), sqlite3.connect(self.path)
                try:
                    source.backup(target)  # the pages as committed, the WAL's included
                finally:
                    target.close()
                    source.close()
        else:
            self.database = f"campus_bench_{os.getpid()}_{secrets.token_hex(3)}"
            if copy_of is None:
                self._admin(f'CREATE DATABASE "{self.database}"')
            else:
                copy_of.store.engine.dispose()  # a template database must have no session open
                self._admin(f'CREATE DATABASE "{self.database}" TEMPLATE "{copy_of.database}" STRATEGY FILE_COPY')
            self.url = POSTGRES_STORE.format(database=self.database)
        self.store = HubStore(self.url, new_id())

    @staticmethod
    def _admin(statement: str) -> None:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(statement)

    def raw(self) -> Any:
        """A DB-API connection for the bulk fill (no ORM, no per-row Python)."""
        if self.name == "sqlite":
            conn = sqlite3.connect(self.path, isolation_level=None)
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA cache_size=-262144")
            conn.execute("PRAGMA temp_store=MEMORY")
            return conn
        import psycopg

        conn = psycopg.connect(self.url.replace("+psycopg", ""), autocommit=True)
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        return conn

    def close(self) -> None:
        self.store.close()
        if self.name == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers on 127.0.0.1:5432; otherwise why not."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN, connect_timeout=3) as conn:
            conn.execute("select 1")
        return None
    except Exception as error:  # any failure to connect: say why and go on without it
        return (str(error).strip() or type(error).__name__).splitlines()[0]


def add_campuses(engine: Engine, count: int) -> None:
    with engine.store.write() as conn:
        conn.execute(insert(campuses), [{"id": campus_id(n), "code": f"C{n:03d}", "name": f"校区{n:03d}",
                                         "created_at": "2024-01-01T00:00:00Z", "deleted": False}
                                        for n in range(count)])


def fill(engine: Engine, start_event: int, end_event: int, campuses_count: int, months: int) -> float:
    """Add the lines of events ``start_event``..``end_event``; seconds taken (the secondary index
    is dropped during the fill and built again after it, as any bulk load does)."""
    began = time.perf_counter()
    conn = engine.raw()
    try:
        conn.execute("DROP INDEX IF EXISTS ix_hub_journal_lines_campus_period")
        for chunk_start in range(start_event, end_event, CHUNK_EVENTS):
            chunk_end = min(chunk_start + CHUNK_EVENTS, end_event)
            if engine.name == "sqlite":
                conn.execute("BEGIN")
            conn.execute(fill_sql(engine.dialect, chunk_start, chunk_end, campuses_count, months))
            if engine.name == "sqlite":
                conn.execute("COMMIT")
            print(f"  {engine.name}: events up to {chunk_end:,} ({time.perf_counter() - began:.0f} s)", flush=True)
        conn.execute("CREATE INDEX ix_hub_journal_lines_campus_period ON hub_journal_lines (campus_id, period)")
        if engine.name == "sqlite":
            conn.execute("PRAGMA analysis_limit=1000")  # statistics from a sample, not a scan of every line
        conn.execute("ANALYZE hub_journal_lines")  # what the fill wrote (see the module's docstring)
    finally:
        conn.close()
    return time.perf_counter() - began


def count_lines(engine: Engine) -> int:
    with engine.store.read() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM hub_journal_lines").scalar_one())


def recompute(engine: Engine) -> float:
    """The full recompute: roll-ups and eliminations made again by a GROUP BY of every line (then,
    on PostgreSQL and untimed, analyzed as autovacuum would after rewriting them)."""
    began = time.perf_counter()
    with engine.store.write() as conn:
        regroup(conn)
    taken = time.perf_counter() - began
    if engine.name == "postgresql":
        with engine.store.write() as conn:
            conn.exec_driver_sql("ANALYZE hub_book_rollups, hub_book_eliminations")
    return taken


def raw_group_by(engine: Engine) -> float:
    """What a statement without roll-ups costs: a GROUP BY of the lines by campus, month and account."""
    began = time.perf_counter()
    with engine.store.read() as conn:
        conn.exec_driver_sql("SELECT campus_id, period, account, sum(debit_fen), sum(credit_fen) "
                             "FROM hub_journal_lines GROUP BY campus_id, period, account").all()
    return time.perf_counter() - began


def timed(engines: list[Engine], runs: int, query: Callable[[Connection], Any]) -> list[dict[str, float]]:
    """p50 and p99 of ``query`` on each store, the stores taking turns run by run."""
    samples: list[list[float]] = [[] for _ in engines]
    for _ in range(runs):
        for engine, taken in zip(engines, samples, strict=True):
            began = time.perf_counter()
            with engine.store.read() as conn:
                query(conn)
            taken.append((time.perf_counter() - began) * 1000)
    for taken in samples:
        taken.sort()
    return [{"p50_ms": round(statistics.median(taken), 2),
             "p99_ms": round(taken[min(len(taken) - 1, round(0.99 * (len(taken) - 1)))], 2)} for taken in samples]


def months_shown(months: int) -> tuple[str, str, str]:
    """The first month, the first of the last twelve, and the last month of the fill."""
    last_index = months - 1
    return (f"{FIRST_YEAR}-01", f"{FIRST_YEAR + max(0, months - 12) // 12}-{max(0, months - 12) % 12 + 1:02d}",
            f"{FIRST_YEAR + last_index // 12}-{last_index % 12 + 1:02d}")


def measure_store(engine: Engine, months: int) -> dict[str, Any]:
    """What the statements add up to (a check on the fill, and each store's first, cold run), the
    roll-up rows, the full recompute and the raw GROUP BY, right after a fill."""
    first, year_start, last = months_shown(months)
    with engine.store.read() as conn:
        income = statements.group_income_statement(conn, first, last)
        trial = statements.group_trial_balance(conn, year_start, last)
        rollup_rows = int(conn.exec_driver_sql("SELECT count(*) FROM hub_book_rollups").scalar_one())
    assert trial["group"]["total"]["balanced"], "the group trial balance does not balance"
    assert all(c["total"]["balanced"] for c in trial["campuses"]), "a campus's trial balance does not balance"
    assert income["eliminations"]["total"]["profit_fen"] == 0
    return {
        "lines": count_lines(engine),
        "rollup_rows": rollup_rows,
        "group_profit_fen": income["group"]["total"]["profit_fen"],
        "recompute_s": round(recompute(engine), 3),
        "raw_group_by_s": round(raw_group_by(engine), 3),
    }


def time_statements(engines: list[Engine], runs: int, months: int) -> list[dict[str, Any]]:
    """Each statement ``runs`` times on each store, the stores taking turns."""
    first, year_start, last = months_shown(months)
    for engine in engines:  # warm each store's connection and page cache (the copy's are cold)
        with engine.store.read() as conn:
            statements.group_income_statement(conn, first, last)
            statements.group_trial_balance(conn, year_start, last)
    income = timed(engines, runs, lambda c: statements.group_income_statement(c, first, last))
    trial = timed(engines, runs, lambda c: statements.group_trial_balance(c, year_start, last))
    return [{"income_statement": i, "trial_balance": t} for i, t in zip(income, trial, strict=True)]


def bench_engine(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    print(f"{name}: filling {args.small_lines:,} then {args.lines:,} journal lines", flush=True)
    engine = Engine(name, workdir)
    small_copy: Engine | None = None
    try:
        add_campuses(engine, args.campuses)
        small_events, large_events = events_for(args.small_lines), events_for(args.lines)
        fill_small = fill(engine, 0, small_events, args.campuses, args.months)
        recompute(engine)
        small = measure_store(engine, args.months)
        small_copy = Engine(name, workdir, copy_of=engine)  # the store at the small size, kept
        fill_large = fill(engine, small_events, large_events, args.campuses, args.months)
        recompute(engine)
        large = measure_store(engine, args.months)
        print(f"  {name}: timing the statements at both sizes in turn", flush=True)
        timings = time_statements([small_copy, engine], args.runs, args.months)
        small, large = {**small, **timings[0]}, {**large, **timings[1]}
        return {"small": {**small, "fill_s": round(fill_small, 1)}, "large": {**large, "fill_s": round(fill_large, 1)},
                "ratio_p99_income_statement": round(large["income_statement"]["p99_ms"]
                                                    / max(small["income_statement"]["p99_ms"], 0.01), 2),
                "ratio_p99_trial_balance": round(large["trial_balance"]["p99_ms"]
                                                 / max(small["trial_balance"]["p99_ms"], 0.01), 2)}
    finally:
        if small_copy is not None:
            small_copy.close()
        engine.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10_000_000, help="journal lines at the large size")
    parser.add_argument("--small-lines", type=int, help="journal lines at the small size (default: lines / 10)")
    parser.add_argument("--campuses", type=int, default=50)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--runs", type=int, default=50, help="runs of each statement per size")
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    args.small_lines = args.small_lines or args.lines // 10
    if not 0 < args.small_lines < args.lines or args.campuses < 4 or args.months < 1:
        parser.error("need 0 < --small-lines < --lines, at least 4 campuses and 1 month")

    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    results: dict[str, Any] = {"lines": args.lines, "small_lines": args.small_lines, "campuses": args.campuses,
                               "months": args.months, "runs": args.runs, "engines": {}}
    workdir = Path(tempfile.mkdtemp(prefix="group-finance-"))
    try:
        for name in engines:
            if name == "postgresql":
                why = postgres_reachable()
                if why is not None:
                    print(f"postgresql: skipped, no server on 127.0.0.1:5432 ({why})")
                    results["engines"]["postgresql"] = {"skipped": why}
                    continue
            results["engines"][name] = bench_engine(name, args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    table = Table(title=f"group finance: {args.campuses} campuses × {args.months} months, {args.runs} runs each")
    for column in ("engine", "lines", "roll-up rows", "income stmt p50 / p99 ms", "trial balance p50 / p99 ms",
                   "recompute s", "raw GROUP BY s", "fill s"):
        table.add_column(column, justify="right")
    for name, result in results["engines"].items():
        if "skipped" in result:
            table.add_row(name, "skipped", "", "", "", "", "", "")
            continue
        for size in ("small", "large"):
            r = result[size]
            table.add_row(name, f"{r['lines']:,}", f"{r['rollup_rows']:,}",
                          f"{r['income_statement']['p50_ms']} / {r['income_statement']['p99_ms']}",
                          f"{r['trial_balance']['p50_ms']} / {r['trial_balance']['p99_ms']}",
                          str(r["recompute_s"]), str(r["raw_group_by_s"]), str(r["fill_s"]))
    Console(width=160).print(table)
    ok = True
    for name, result in results["engines"].items():
        if "skipped" in result:
            continue
        large = result["large"]
        worst = max(large["income_statement"]["p99_ms"], large["trial_balance"]["p99_ms"])
        ratio = max(result["ratio_p99_income_statement"], result["ratio_p99_trial_balance"])
        met = worst < 100 and ratio <= 1.5
        ok = ok and met
        print(f"{name}: p99 at {large['lines']:,} lines {worst} ms (target < 100), large/small p99 "
              f"income statement {result['ratio_p99_income_statement']}, trial balance "
              f"{result['ratio_p99_trial_balance']} (target <= 1.5): {'met' if met else 'NOT met'}")
    results["targets_met"] = ok
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "group_finance.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
