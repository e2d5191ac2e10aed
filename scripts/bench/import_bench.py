"""Lead import throughput: a 200,000-row export imported into a fresh node, end to end through
the use case (read, check every row, write them in one transaction with the change log, audit).

The file is what the issue names: a CSV in UTF-8 with a BOM, with the columns a CRM export has (two
the importer does not know, kept in the notes), 5% of the phones a row above already has (merged),
1% wrong (rejected). It is imported once as CSV, once as .xlsx, and the CSV again at a tenth of the
size: each run in its own process, whose peak resident memory is measured, so the two CSV sizes
show whether memory grows with the file (it should not, much: rows and results are spooled).

    .venv/bin/python scripts/bench/import_bench.py [--rows 200000] [--no-xlsx]

Prints a table and ``csv rows/s: N``; writes JSON to bench-results/import_bench.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = ["姓名", "手机号", "渠道来源", "意向课程", "创建时间", "备注"]


def rows(count: int) -> list[list[str]]:
    made = []
    for k in range(count):
        if k % 100 == 7:
            phone = f"139{k:07d}"  # a digit short: rejected
        elif k % 20 == 3:
            phone = f"139{k // 2:08d}"  # a phone a row above has: merged
        else:
            phone = f"139{k:08d}"
        made.append([f"学员{k}", phone, "抖音" if k % 3 else "百度", "编程" if k % 2 else "数学",
                     f"2026-10-{k % 28 + 1:02d}", "" if k % 5 else "想周末上课"])
    return made


def write_files(directory: Path, count: int, xlsx: bool) -> dict[str, Path]:
    made = rows(count)
    csv_path = directory / f"leads-{count}.csv"
    with csv_path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write(",".join(HEADER) + "\r\n")
        for row in made:
            out.write(",".join(row) + "\r\n")
    files = {"csv": csv_path}
    if xlsx:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("线索")
        sheet.append(HEADER)
        for row in made:
            sheet.append([row[0], int(row[1]), *row[2:]])  # phones as numbers, as Excel keeps them
        files["xlsx"] = directory / f"leads-{count}.xlsx"
        book.save(files["xlsx"])
    return files


def child(path: Path, directory: Path) -> None:
    """Import ``path`` into a fresh node in ``directory``; print the figures as JSON."""
    from campus.node.bootstrap import init_node
    from campus.node.context import NodeContext
    from campus.node.crm.use_cases import import_leads
    from campus.node.store import NodeStore
    from campus.schema.context import Actor

    config = init_node(directory / "node", "BJ01", "bench", admin_password="bench-password-1")
    store = NodeStore(config.database_path, config.node_id)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with path.open("rb") as stream:
        report = import_leads(store, NodeContext.of(config), Actor.machine("bench"), stream, path.name)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    store.close()
    counts = report.counts()
    print(json.dumps({"file": path.name, "bytes": path.stat().st_size, "seconds": round(seconds, 2),
                      "rows_per_s": round(counts["rows"] / seconds), "peak_rss_mib": round(peak / 1024, 1),
                      "rss_growth_mib": round((peak - before) / 1024, 1), **counts}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--no-xlsx", action="store_true", help="time the CSV only")
    parser.add_argument("--child", nargs=2, metavar=("FILE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return 0

    from rich.console import Console
    from rich.table import Table

    results = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        runs = [("csv", args.rows), ("csv", max(args.rows // 10, 1))]
        if not args.no_xlsx:
            runs.insert(1, ("xlsx", args.rows))
        files: dict[int, dict[str, Path]] = {}
        for kind, count in runs:
            if count not in files:
                files[count] = write_files(work, count, xlsx=not args.no_xlsx and count == args.rows)
            target = work / f"run-{kind}-{count}"
            target.mkdir()
            done = subprocess.run([sys.executable, __file__, "--child", str(files[count][kind]), str(target)],
                                  capture_output=True, text=True, check=True)
            results.append({"kind": kind, **json.loads(done.stdout.strip().splitlines()[-1])})

    table = Table("file", "rows", "created", "merged", "rejected", "seconds", "rows/s", "peak RSS MiB",
                  title="Lead import (use case, end to end)")
    for r in results:
        table.add_row(r["kind"], str(r["rows"]), str(r["created"]), str(r["merged"]), str(r["rejected"]),
                      str(r["seconds"]), f"{r['rows_per_s']:,}", str(r["peak_rss_mib"]))
    Console().print(table)
    main_csv = results[0]
    print(f"csv rows/s: {main_csv['rows_per_s']}")
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "import_bench.json").write_text(json.dumps({"rows": args.rows, "runs": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
