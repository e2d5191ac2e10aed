"""``campus node restore --from-backup``: what it refuses, what it keeps aside, and an enrolled
campus that cannot reach the hub: it does not serve until it has taken its later changes back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from campus.cli import main
from campus.hub.app import create_app as create_hub_app
from campus.node.app import create_app as create_node_app
from campus.node.bootstrap import init_node
from campus.node.config import NodeConfig
from campus.node.ops.backup import backup_node
from campus.node.ops.restore import PENDING_FILE
from campus.node.store import NodeStore
from campus.web.serving import BackgroundServer, free_port
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.sync_helpers import Group, signed_in_client

BJ = "BJ01"


def _lead_count(config: NodeConfig) -> int:
    store = NodeStore(config.database_path, config.node_id)
    try:
        with store.read() as conn:
            return conn.exec_driver_sql("select count(*) from leads").scalar_one()
    finally:
        store.close()


def test_restore_refuses_a_live_store_another_campuss_backup_a_damaged_one_and_a_serving_node(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = init_node(tmp_path / "bj01", BJ, "北京海淀校区", admin_password=ADMIN_PASSWORD, port=free_port())
    other = init_node(tmp_path / "sh01", "SH01", "上海徐汇校区", admin_password=ADMIN_PASSWORD)
    mine, _ = backup_node(config, tmp_path)
    theirs, _ = backup_node(other, tmp_path)
    before = config.database_path.read_bytes()

    assert main(["node", "restore", "--from-backup", str(mine), "--dir", str(config.directory)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["node", "restore", "--from-backup", str(theirs), "--dir", str(config.directory), "--force"]) == 2
    assert "SH01" in capsys.readouterr().err
    damaged = tmp_path / "damaged.campus-backup"
    damaged.write_bytes(mine.read_bytes()[:-200])
    assert main(["node", "restore", "--from-backup", str(damaged), "--dir", str(tmp_path / "new")]) == 2
    assert not (tmp_path / "new").exists()

    with BackgroundServer(create_node_app(config), port=config.port):
        assert main(["node", "restore", "--from-backup", str(mine), "--dir", str(config.directory), "--force"]) == 2
        assert "stop it" in capsys.readouterr().err
    assert config.database_path.read_bytes() == before and not list(config.directory.glob("*.before-restore-*"))


def test_an_enrolled_campus_restored_while_the_hub_is_away_waits_for_its_first_sync_before_it_serves(
        group: Group, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bj = group.campuses[BJ]
    for k in range(3):
        assert bj.http.post("/api/v1/leads", json={"name": f"学员{k}", "phone": f"1380000{k:04d}"}).status_code == 201
    archive, _ = backup_node(bj.config, tmp_path, store=bj.store())
    for k in range(3, 5):  # written after the backup, and synced: only the hub holds them now
        assert bj.http.post("/api/v1/leads", json={"name": f"学员{k}", "phone": f"1380000{k:04d}"}).status_code == 201
    bj.sync()
    bj.server.stop()
    shutil.rmtree(bj.config.directory)  # the disk died; the backup was kept elsewhere
    hub_port = group.hub_server.port
    group.hub_server.stop()

    assert main(["node", "restore", "--from-backup", str(archive), "--dir", str(bj.config.directory)]) == 1
    assert "not yet synced" in capsys.readouterr().err
    assert (bj.config.directory / PENDING_FILE).exists()
    assert _lead_count(bj.config) == 3
    assert main(["node", "serve", "--dir", str(bj.config.directory)]) == 2
    assert "campus sync now" in capsys.readouterr().err

    group.hub_server = BackgroundServer(create_hub_app(group.hub_config), port=hub_port).start()
    assert main(["sync", "now", "--dir", str(bj.config.directory)]) == 0
    assert "may serve again" in capsys.readouterr().out
    assert not (bj.config.directory / PENDING_FILE).exists()
    assert _lead_count(bj.config) == 5
    status = group.hub.sync.status()[0]
    assert status["quarantined"] is False
    bj.server = BackgroundServer(create_node_app(bj.config, background_sync=False)).start()
    bj.http = signed_in_client(bj.server.url)  # the campus numbers on after what the hub gave back
    made = bj.http.post("/api/v1/leads", json={"name": "学员5", "phone": "13800000005"})
    assert made.status_code == 201, made.text
    assert made.json()["number"].endswith("000006")
