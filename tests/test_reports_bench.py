"""The reports bench still runs, small: a few campuses, both history sizes, every report at the hub
and at a node (it proves the bench works, not how fast the reports are)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_reports_bench_seeds_builds_roll_ups_and_times_every_report(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "scripts/bench/reports.py"), "--scale", "0.03", "--campuses",
                          "3", "--runs", "3"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads((tmp_path / "bench-results/reports.json").read_text())
    assert result["rows"]["attendance_marks"] > 0 and result["rollup_rows"] > 0
    assert {(r["where"], r["report"]) for r in result["reports"]} == {
        (where, report) for where in ("hub: group", "hub: one campus", "node: campus")
        for report in ("marketing", "output", "leaderboard", "heatmap", "dashboard")}
    assert all(0 < r["two_years_p50"] <= r["two_years_p99"] for r in result["reports"])
