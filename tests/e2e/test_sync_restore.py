"""A campus whose disk died, or that went back to an old backup, is rebuilt from the hub."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from campus.node.bootstrap import restore_node
from campus.node.store import NodeStore
from campus.node.sync import client_for
from campus.sync.client import SyncRefused
from tests.e2e.sync_helpers import Campus, Group

pytestmark = pytest.mark.campuses("BJ01")


def _leads(campus: Campus, count: int, start: int) -> None:
    for k in range(start, start + count):
        response = campus.http.post("/api/v1/leads", json={"name": f"学员{k}", "phone": f"1380000{k:04d}"})
        assert response.status_code == 201, response.text


def _back_to_an_old_backup(campus: Campus, tmp_path: Path) -> None:
    """Three leads synced and backed up, four more synced after the backup (four changes the
    hub holds beyond it); then the campus's server stops and its store goes back to the backup."""
    _leads(campus, 3, 0)
    campus.sync()
    backup = tmp_path / "backup.sqlite"
    live, copy = sqlite3.connect(campus.config.database_path), sqlite3.connect(backup)
    live.backup(copy)  # an online backup, as an admin would take it
    live.close(), copy.close()
    _leads(campus, 4, 3)
    campus.sync()
    campus.server.stop()
    shutil.copy(backup, campus.config.database_path)
    for suffix in ("-wal", "-shm"):
        Path(f"{campus.config.database_path}{suffix}").unlink(missing_ok=True)


def test_node_restored_from_an_old_backup_takes_its_log_back_and_continues_without_forking(
    group: Group, tmp_path: Path
) -> None:
    bj = group.campuses["BJ01"]
    _back_to_an_old_backup(bj, tmp_path)
    hub_head = group.hub.sync.status()[0]["hub_known_head"]

    store = NodeStore(bj.config.database_path, bj.config.node_id)
    client = client_for(bj.config, store)
    report = client.sync_once()
    with store.unit_of_work() as uow:  # the campus writes again after the restore
        uow.update("leads", _lead_ids(store)[0], {"notes": "恢复后第一次跟进"})
    second = client.sync_once()
    client.close()

    assert report.restored == 4
    assert store.verify_log()[0] == hub_head + 1
    assert second.pushed == 1
    status = group.hub.sync.status()[0]
    assert (status["quarantined"], status["hub_known_head"]) == (False, hub_head + 1)
    assert len(_lead_ids(store)) == 7
    store.close()


@pytest.mark.parametrize("written", [2, 4, 6], ids=["fewer", "as_many", "more"])
def test_node_written_to_after_an_old_backup_before_it_synced_is_a_fork_and_quarantined(
    group: Group, tmp_path: Path, written: int
) -> None:
    bj = group.campuses["BJ01"]
    _back_to_an_old_backup(bj, tmp_path)
    with group.hub_store.read() as conn:
        hub_leads = conn.exec_driver_sql("select count(*) from leads").scalar_one()
    store = NodeStore(bj.config.database_path, bj.config.node_id)
    with store.unit_of_work() as uow:  # the campus works on the old copy before it syncs
        for k in range(written):
            uow.update("leads", _lead_ids(store)[0], {"notes": f"恢复后的跟进 {k}"})

    client = client_for(bj.config, store)
    with pytest.raises(SyncRefused) as refused:
        client.sync_once()
    client.close()
    store.close()

    assert refused.value.reason == "fork"
    status = group.hub.sync.status()[0]
    assert status["quarantined"] is True and "fork" in status["last_error"]
    with group.hub_store.read() as conn:
        assert conn.exec_driver_sql("select count(*) from leads").scalar_one() == hub_leads
        assert conn.exec_driver_sql("select count(*) from leads where notes is not null").scalar_one() == 0


def test_campus_whose_disk_died_is_rebuilt_with_a_new_key_and_keeps_writing(group: Group, tmp_path: Path) -> None:
    bj = group.campuses["BJ01"]
    _leads(bj, 5, 0)
    bj.sync()
    before = bj.digests()
    bj.server.stop()
    old_key = bj.config.key_path.read_bytes()
    token = group.hub.sync.issue_restore_token("BJ01")

    config = restore_node(tmp_path / "bj01-new", group.hub_server.url, token)
    store = NodeStore(config.database_path, config.node_id)
    client = client_for(config, store)
    report = client.sync_once()
    rebuilt = _digests(store)
    with store.unit_of_work() as uow:
        uow.update("leads", _lead_ids(store)[0], {"notes": "新机器上的跟进"})
    after_write = client.sync_once()
    client.close()

    assert (config.node_id, config.campus_id) == (bj.config.node_id, bj.config.campus_id)
    assert config.key_path.read_bytes() != old_key
    assert report.restored == 6  # five leads and the audit event of the sign-in that made them
    assert rebuilt == before
    assert after_write.pushed == 1
    status = group.hub.sync.status()[0]
    assert (status["hub_known_head"], status["quarantined"], status["key_status"]) == (7, False, "active")
    store.close()


def _digests(store: NodeStore) -> dict[str, str]:
    from campus.schema.tables import metadata
    from campus.sync.digest import replicated_tables, store_digests

    with store.read() as conn:
        return store_digests(conn, replicated_tables(metadata))


def _lead_ids(store: NodeStore) -> list[str]:
    with store.read() as conn:
        return list(conn.exec_driver_sql("select id from leads order by number").scalars())
