"""A writer killed with SIGKILL at random moments leaves rows and change log in step.

Every committed lead has exactly the changes that explain it, seqs run 1..N with no gap, and
the hash chain verifies from seq 1 — after each of many kills, and across restarts.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.sync.changes import Change
from campus.sync.codec import decode

WRITER = Path(__file__).with_name("crash_writer.py")
ROUNDS = 12
SEED = int(os.environ.get("CAMPUS_CRASH_SEED", "20261124"))


def _run_and_kill(config: NodeConfig, rng: random.Random, round_number: int) -> int:
    writer = subprocess.Popen([sys.executable, str(WRITER), str(config.directory), str(SEED + round_number)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    wanted = rng.randint(3, 40)  # commits to let through, then a kill at a random moment after
    for _ in range(wanted):
        line = writer.stdout.readline()
        assert line.startswith("committed"), writer.stderr.read() if writer.stderr else line
    time.sleep(rng.uniform(0, 0.02))
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    return wanted


def _check(config: NodeConfig) -> tuple[int, int]:
    store = NodeStore(config.database_path, config.node_id)
    try:
        head_seq, head_hash = store.verify_log()
        with store.read() as conn:
            seqs = conn.exec_driver_sql("select seq from change_log order by seq").scalars().all()
            bodies = conn.exec_driver_sql(
                "select body from change_log where table_name = 'leads' order by seq").scalars().all()
            rows = {r.id: dict(r._mapping) for r in conn.exec_driver_sql("select * from leads")}
            state = conn.exec_driver_sql(
                "select int_value, blob_value from local_state where key = 'log_head'").one()
    finally:
        store.close()
    assert seqs == list(range(1, len(seqs) + 1))
    assert (head_seq, head_hash) == (seqs[-1], state.blob_value) and state.int_value == head_seq
    replayed: dict[str, dict] = defaultdict(dict)
    inserts: dict[str, int] = defaultdict(int)
    for body in bodies:
        change = Change.from_wire(decode(body))
        inserts[change.row_id] += change.op == "insert"
        replayed[change.row_id].update(change.fields)
    assert set(replayed) == set(rows)  # no change without its row, no row without its changes
    assert all(count == 1 for count in inserts.values())
    for row_id, row in rows.items():
        for field, value in replayed[row_id].items():
            assert row[field] == value, (row_id, field)
    return len(rows), head_seq


@pytest.mark.slow
def test_rows_and_change_log_stay_in_step_through_many_sigkills(node_config: NodeConfig) -> None:
    rng = random.Random(SEED)
    total_commits = 0
    for round_number in range(ROUNDS):
        total_commits += _run_and_kill(node_config, rng, round_number)
        leads, head = _check(node_config)

    assert total_commits >= ROUNDS * 3
    assert leads >= 1000, f"only {leads} leads written (seed {SEED})"  # thousands of rows over the rounds
    assert head > leads
