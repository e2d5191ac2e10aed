"""Lead and student search at a node with 200,000 of each: a full name, a two-character name, a
phone's last four digits, a fragment from the middle of a phone, and a number, each searched
through the functions the screens and the API call (``list_leads``, ``list_students``: the count
and the first page of 20, newest first) over the trigram indexes of migration 0027.

A fresh node is made with ``init_node`` and seeded by bulk INSERTs straight into SQLite (not
through use cases); the triggers queue every row and the store indexes the queue as it does before
any commit. Names
come from common surnames and given names (张伟 is as common as it is in life), phones are
distinct mobiles, numbers are the campus's ``BJ01-L-000001`` and ``BJ01-S-000001``.

    .venv/bin/python scripts/bench/search.py [--rows 200000] [--runs 50] [--keep DIR]

``--keep DIR`` seeds a node in DIR once and times the searches again on it on later runs.

Prints p50/p99 per kind of search and table; writes bench-results/search.json.
Target: p99 < 100 ms for a name, a phone fragment and a number at 200,000 rows.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from campus.node.bootstrap import init_node
from campus.node.config import CONFIG_FILE, NodeConfig
from campus.node.crm.leads import list_leads
from campus.node.finance.students import list_students
from campus.node.store import NodeStore
from campus.schema.permissions import Principal, Role

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉思远子涵梓轩雨欣浩然一诺"
CHANNELS = ("douyin", "baidu", "referral", "walk-in", "event")
POOLS = ("lead", "private", "invited", "deposit", "signed", "returned")
PAGE = 20


def name_of(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))


def seed(database: Path, campus_id: str, rows: int, rng: random.Random) -> dict[str, list[tuple[str, str, str]]]:
    """``rows`` leads and ``rows`` students; returns (name, phone, number) of each, for picking queries."""
    db = sqlite3.connect(database)
    db.execute("pragma journal_mode=wal")
    phones = rng.sample(range(10**9), 2 * rows)
    made: dict[str, list[tuple[str, str, str]]] = {"leads": [], "students": []}
    for table, kind in (("leads", "L"), ("students", "S")):
        batch = []
        for k in range(rows):
            name, phone = name_of(rng), f"13{phones[(k if table == 'leads' else rows + k)]:09d}"
            number = f"BJ01-{kind}-{k + 1:06d}"
            created = f"2026-{k * 12 // rows + 1:02d}-{k % 28 + 1:02d}T08:00:00Z"
            row_id = f"0192{k:012x}-{'a' if table == 'leads' else 'b'}000-7000-8000-000000000000"
            made[table].append((name, phone, number))
            if table == "leads":
                batch.append((row_id, campus_id, number, name, phone, CHANNELS[k % len(CHANNELS)],
                               POOLS[k % len(POOLS)], created))
            else:
                batch.append((row_id, campus_id, number, name, phone, "active", created))
        sql = ("insert into leads (id, campus_id, number, name, phone, channel, pool, created_at, deleted) "
               "values (?, ?, ?, ?, ?, ?, ?, ?, 0)") if table == "leads" else (
               "insert into students (id, home_campus_id, number, name, phone, status, created_at, deleted) "
               "values (?, ?, ?, ?, ?, ?, ?, 0)")
        with db:
            db.executemany(sql, batch)
    db.execute("analyze")
    db.close()
    return made


def seeded_rows(database: Path) -> dict[str, list[tuple[str, str, str]]]:
    db = sqlite3.connect(database)
    made = {table: [(n, p or "", k) for n, p, k in db.execute(f"select name, phone, number from {table}")]
            for table in ("leads", "students")}
    db.close()
    return made


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def queries(made: list[tuple[str, str, str]], rng: random.Random, runs: int) -> dict[str, list[str]]:
    """Per kind of search, ``runs`` typed queries taken from the seeded rows."""
    picked = [rng.choice(made) for _ in range(runs)]
    full_names = [n for n, _, _ in made if len(n) == 3]
    return {
        "name (3 characters)": [rng.choice(full_names) for _ in range(runs)],
        "name (2 characters)": [name[:2] for name, _, _ in picked],
        "phone: last 4 digits": [phone[-4:] for _, phone, _ in picked],
        "phone: middle 5 digits": [phone[3:8] for _, phone, _ in picked],
        "number": [number for _, _, number in picked],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="leads, and as many students")
    parser.add_argument("--runs", type=int, default=50, help="searches of each kind")
    parser.add_argument("--keep", type=Path, help="seed a node here once, and reuse it on later runs")
    args = parser.parse_args()
    rng = random.Random(19)

    with tempfile.TemporaryDirectory(prefix="search-bench-") as scratch:
        directory = (args.keep or Path(scratch)) / "node"
        seeded_seconds = 0.0
        if (directory / CONFIG_FILE).exists():
            config = NodeConfig.load(directory)
            made = seeded_rows(config.database_path)
            print(f"reusing the node seeded in {directory}", flush=True)
        else:
            config = init_node(directory, "BJ01", "bench", admin_password="bench-password-1")
            started = time.perf_counter()
            made = seed(config.database_path, config.campus_id, args.rows, rng)
            seeding = NodeStore(config.database_path, config.node_id)
            with seeding.write():
                pass  # the store indexes what the triggers queued before it commits
            seeding.close()
            seeded_seconds = time.perf_counter() - started
            print(f"seeded {args.rows:,} leads and {args.rows:,} students (and indexed) "
                  f"in {seeded_seconds:.1f} s", flush=True)
        store = NodeStore(config.database_path, config.node_id)
        manager = Principal("bench", "bench", "bench", {None: frozenset({Role.CAMPUS_MANAGER})})
        searches: dict[str, Callable[[Any, str], tuple[int, list[dict[str, Any]]]]] = {
            "leads": lambda conn, q: list_leads(conn, config.campus_id, PAGE, 0, manager, query=q),
            "students": lambda conn, q: list_students(conn, config.campus_id, PAGE, 0, q),
        }
        results = []
        print(f"{'table':9} {'search':24} {'p50 ms':>8} {'p99 ms':>8} {'found (median)':>15}")
        for table, search in searches.items():
            for kind, typed in queries(made[table], rng, args.runs).items():
                samples, found = [], []
                for query in typed:
                    with store.read() as conn:
                        start = time.perf_counter()
                        total, rows = search(conn, query)
                        samples.append((time.perf_counter() - start) * 1000)
                    if total == 0 or not rows:
                        sys.exit(f"{table}: {query!r} found nothing")
                    found.append(total)
                row = {"table": table, "search": kind, "p50_ms": round(percentile(samples, 0.5), 2),
                       "p99_ms": round(percentile(samples, 0.99), 2), "found_median": percentile(found, 0.5),
                       "runs": len(samples)}
                results.append(row)
                print(f"{table:9} {kind:24} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} {row['found_median']:15,}",
                      flush=True)
        store.close()

    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "search.json").write_text(json.dumps({"rows": len(made["leads"]), "page": PAGE, "seeded_seconds": round(
        seeded_seconds, 1), "searches": results}, ensure_ascii=False, indent=2))
    print(f"wrote {out / 'search.json'}")


if __name__ == "__main__":
    main()
