"""The import bench still runs (small): the script whose 200,000-row figure the notes quote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_import_bench_times_csv_and_xlsx_and_writes_its_json(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "scripts/bench/import_bench.py"), "--rows", "2000"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert run.returncode == 0, run.stderr[-2000:]
    assert "csv rows/s:" in run.stdout
    result = json.loads((tmp_path / "bench-results/import_bench.json").read_text())
    assert [(r["kind"], r["rows"]) for r in result["runs"]] == [("csv", 2000), ("xlsx", 2000), ("csv", 200)]
    assert all(r["created"] + r["merged"] + r["rejected"] == r["rows"] and r["rows_per_s"] > 0 for r in result["runs"])
