"""The search bench still runs, small: it seeds leads and students, and every kind of search finds
what it looks for (it proves the bench works, not how fast the searches are)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_search_bench_seeds_and_times_each_kind_of_search(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "scripts/bench/search.py"), "--rows", "3000", "--runs", "5"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads((tmp_path / "bench-results/search.json").read_text())
    assert result["rows"] == 3000
    assert {(r["table"], r["search"]) for r in result["searches"]} == {
        (table, kind) for table in ("leads", "students")
        for kind in ("name (3 characters)", "name (2 characters)", "phone: last 4 digits", "phone: middle 5 digits",
                     "number")}
    assert all(0 < r["p50_ms"] <= r["p99_ms"] and r["found_median"] >= 1 for r in result["searches"])
