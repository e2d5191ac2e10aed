"""Two seeds of scripts/chaos.py in the suite (it runs hundreds on demand): a day of work at two
campuses while nodes and the hub are killed, the network misbehaves, a clock runs wrong and a
campus is restored from its morning backup; everything converges, nothing is lost or doubled, and
the books balance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("seed", [7, 11])
def test_a_chaos_run_converges_with_nothing_lost_or_doubled_and_balanced_books(seed: int) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "chaos.py"), "--seed", str(seed), "--days", "1",
                           "--ops", "8"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    result = json.loads(done.stdout.split("result: ", 1)[1])
    assert (result["lost"], result["doubled"], result["converged"], result["books_balanced"]) == (0, 0, True, True)
    assert result["facts_written"] > 0
    assert result["faults"]["restores from an old backup"] == 1
