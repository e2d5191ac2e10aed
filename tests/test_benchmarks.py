"""The benchmarks still run: a small sync bench end to end, so a refactor cannot quietly break
the script whose figures the notes quote. (It proves the bench works, not how fast it is.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_sync_bench_pushes_pulls_and_splits_the_hub_time(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "scripts/bench/sync_bench.py"), "--changes", "3000"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "ratio push+merge/raw-insert:" in run.stdout
    result = json.loads((tmp_path / "bench-results/sync_bench.json").read_text())
    assert result["changes"] == result["pulled"] == 3000
    assert result["push_merge_per_s"] > 0 and result["raw_insert_per_s"] > 0
    # The in-process merge and the replay of its SQL account for the same changes.
    assert 0 < result["of_which_sqlite_us"] < result["hub_us_per_change"]
    assert result["of_which_python_us"] > 0


@pytest.mark.slow
def test_kiosk_load_measures_marks_alone_and_while_a_pull_applies(tmp_path: Path) -> None:
    """The kiosk bench's two runs, small: a hub, two enrolled campus processes, a 300-change pull."""
    run = subprocess.run([sys.executable, str(ROOT / "scripts/bench/kiosk_load.py"), "--kiosks", "5",
                          "--students", "100", "--rate", "60", "--seconds", "3", "--pull", "300"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "ratio p99 with/without pull:" in run.stdout
    result = json.loads((tmp_path / "bench-results/kiosk_load.json").read_text())
    alone, with_pull = result, result["with_pull"]
    for r in (alone, with_pull):
        assert r["sent"] > 0 and r["lost"] == 0 and r["failures"] == 0
        assert r["p50_ms"] <= r["p99_ms"] and r["sync_round_seconds"] is not None
    assert with_pull["pull_changes"] >= 300 and with_pull["pulled_all"]
    assert result["ratio_p99_with_pull"] > 0


@pytest.mark.slow
def test_group_finance_bench_fills_recomputes_and_times_the_group_statements(tmp_path: Path) -> None:
    """The group finance bench, small: a few thousand lines on SQLite, two sizes, five runs each."""
    run = subprocess.run([sys.executable, str(ROOT / "scripts/bench/group_finance.py"), "--lines", "20000",
                          "--small-lines", "5000", "--runs", "5", "--engine", "sqlite"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "sqlite: p99 at" in run.stdout
    result = json.loads((tmp_path / "bench-results/group_finance.json").read_text())
    sqlite = result["engines"]["sqlite"]
    assert 4000 < sqlite["small"]["lines"] < sqlite["large"]["lines"] <= 20000
    for size in ("small", "large"):
        figures = sqlite[size]
        assert 0 < figures["income_statement"]["p50_ms"] <= figures["income_statement"]["p99_ms"]
        assert 0 < figures["trial_balance"]["p50_ms"] <= figures["trial_balance"]["p99_ms"]
        assert figures["recompute_s"] > 0 and figures["raw_group_by_s"] > 0 and figures["rollup_rows"] > 0
