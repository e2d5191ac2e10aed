"""The demo runs end to end: offline day, heal, sync, report, and every store equal to the hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from campus.demo import run_demo


@pytest.mark.slow
def test_demo_ends_with_every_campus_identical_to_the_hub(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(tmp_path) == 0
    out = capsys.readouterr().out
    assert out.count("identical to the hub") == 2 and "DIFFERS" not in out
    assert "hub unreachable" in out and "kiosk checked in 2" in out
    assert " ".join(out.split()).count("got 2 students from the node and checked in 2") == 2  # the terminal
    assert "¥17280.00" in out  # the group's tuition, once both campuses synced
