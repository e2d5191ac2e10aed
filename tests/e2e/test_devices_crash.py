"""A campus node killed with SIGKILL while terminals upload punches: after it restarts, the
terminals shake hands, send again what it never confirmed, and every punch is stored exactly once
(scripts/device_sim.py --crash: ``campus node serve`` in its own process, terminals on its
[devices] port, one of them mid-body when the node dies)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_a_node_killed_while_a_terminal_uploads_stores_every_punch_exactly_once_after_the_re_send() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "device_sim.py"), "--crash", "--terminals", "3",
                           "--students", "30", "--punches", "450", "--seconds", "3"],
                          capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stdout + done.stderr
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    assert "killed with SIGKILL while CNSIM0000 was uploading" in done.stdout
    assert lines["in flight at the kill"] == "failed"  # the node died with a body half received
    waiting = done.stdout.split(" punches not yet confirmed")[0].rsplit("; ", 1)[1]
    assert int(waiting) > 0  # so some were sent again
    assert (lines["punches"], lines["stored"], lines["marks"], lines["duplicates"], lines["lost"]) == (
        "450", "450", "450", "0", "0")
