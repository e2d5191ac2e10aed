"""Kiosks keep marking while their node is killed, buffer, and upload on return: nothing lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_kiosks_buffer_through_a_node_outage_and_lose_no_mark() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "kiosk_sim.py"), "--kiosks", "3", "--students",
                           "60", "--seconds", "4", "--outage", "2"], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    assert int(lines["sent"]) > 0
    assert lines["lost"] == "0"
    assert "were buffered" in done.stdout and not done.stdout.split("node back; ")[1].startswith("0 ")
