"""A backup taken with ``campus node backup`` while the node serves 200 kiosk marks a second
(everything real: the node in its own process, kiosks over HTTP, the command as an admin runs it):
it opens, verifies, and holds every mark acknowledged before it began; a restore from it ends with
nothing lost, standalone and enrolled (there the hub gives back what the campus wrote after it)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from campus.hub.app import create_app as create_hub_app
from campus.hub.bootstrap import init_hub
from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.schema.backups import opened
from campus.web.serving import BackgroundServer
from tests.conftest import ADMIN_PASSWORD
from tests.ops.load import KioskLoad, NodeProcess, mark_ids, seed

RATE = 200.0


def campus(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "campus.cli", *args], capture_output=True, text=True, timeout=180)


def _backup_under_load(config: NodeConfig, load: KioskLoad, target: Path) -> set[str]:
    """Mark for a while, back up, mark on; returns the marks acknowledged before the backup began."""
    time.sleep(2.0)
    began = time.monotonic()
    before = load.acked_before(began)
    done = campus("node", "backup", "--dir", str(config.directory), "--to", str(target))
    ended = time.monotonic()
    assert done.returncode == 0, done.stderr
    time.sleep(1.0)
    during = load.acked_between(began, ended) / (ended - began)
    print(f"\nbackup: {ended - began:.2f} s (command included), {target.stat().st_size:,} bytes; "
          f"{len(before)} marks acknowledged before it; {during:.0f} marks/s acknowledged while it ran; "
          f"p99 {load.p99_ms(0, began):.0f} ms before, {load.p99_ms(began, ended):.0f} ms during")
    return before


def test_backup_while_serving_200_marks_a_second_holds_every_acknowledged_mark_and_restores_standalone(
        tmp_path: Path) -> None:
    config, numbers, devices = seed(tmp_path / "bj01", students=100, kiosks=4)
    node = NodeProcess(config)
    node.start()
    load = KioskLoad(node.url, devices, numbers, rate=RATE).start()
    try:
        before = _backup_under_load(config, load, tmp_path / "bj01.campus-backup")
    finally:
        load.stop()
        node.stop()
    assert not load.failures
    assert load.sent >= RATE * 2  # the kiosks really marked at about that rate (printed above)

    verified = campus("node", "verify-backup", str(tmp_path / "bj01.campus-backup"))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    with opened(tmp_path / "bj01.campus-backup", role="node") as (check, store_file, _members):
        assert check.ok, check.problems
        in_backup = mark_ids(store_file)
    assert before <= in_backup
    assert len(in_backup) < len(mark_ids(config.database_path))  # the node marked on after the backup

    restored = campus("node", "restore", "--from-backup", str(tmp_path / "bj01.campus-backup"),
                      "--dir", str(tmp_path / "restored"))
    assert restored.returncode == 0, restored.stderr
    copy = NodeConfig.load(tmp_path / "restored")
    assert (copy.node_id, copy.campus_id) == (config.node_id, config.campus_id)
    assert mark_ids(copy.database_path) == in_backup  # nothing the backup held is lost
    store = NodeStore(copy.database_path, copy.node_id)
    try:
        assert store.verify_log()[0] == check.manifest.head_seq
    finally:
        store.close()


def test_enrolled_campus_restored_from_a_backup_taken_under_load_gets_back_everything_it_synced(
        tmp_path: Path) -> None:
    hub_config = init_hub(tmp_path / "hub", admin_password=ADMIN_PASSWORD)
    with BackgroundServer(create_hub_app(hub_config)) as hub_server:
        hub = hub_server.server.config.app.state.hub  # type: ignore[attr-defined]
        _campus_id, token = hub.sync.add_campus("BJ01", "北京海淀校区")
        config, numbers, devices = seed(tmp_path / "bj01", students=100, kiosks=4, hub_url=hub_server.url,
                                        token=token)
        node = NodeProcess(config)
        node.start()
        load = KioskLoad(node.url, devices, numbers, rate=RATE).start()
        try:
            before = _backup_under_load(config, load, tmp_path / "bj01.campus-backup")
        finally:
            load.stop()
        assert not load.failures
        acknowledged = {mark for _, mark in load.acked}
        node.stop()
        synced = campus("sync", "now", "--dir", str(config.directory))  # the hub has every mark
        assert synced.returncode == 0, synced.stderr
        hub_head = hub.sync.status()[0]["hub_known_head"]

        refused = campus("node", "restore", "--from-backup", str(tmp_path / "bj01.campus-backup"),
                         "--dir", str(config.directory))
        assert refused.returncode == 2 and "--force" in refused.stderr
        restored = campus("node", "restore", "--from-backup", str(tmp_path / "bj01.campus-backup"),
                          "--dir", str(config.directory), "--force")
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert "kept aside" in restored.stdout and "took back" in restored.stdout

        assert before <= acknowledged <= mark_ids(config.database_path)  # nothing lost
        store = NodeStore(config.database_path, config.node_id)
        try:
            assert store.verify_log()[0] == hub_head
        finally:
            store.close()
        aside = list(config.directory.glob("node.sqlite.before-restore-*"))
        assert aside and mark_ids(aside[0]) == mark_ids(config.database_path)

        node.start()  # it serves and writes again, after the hub's head: no fork
        again = KioskLoad(node.url, devices, numbers, rate=50).start()
        time.sleep(1.0)
        again.stop()
        node.stop()
        assert again.acked and not again.failures
        synced = campus("sync", "now", "--dir", str(config.directory))
        assert synced.returncode == 0, synced.stderr
        status = hub.sync.status()[0]
        assert status["quarantined"] is False
        assert status["hub_known_head"] > hub_head
