"""Backups: what one holds and how a damaged one is caught; the schedule and its retention; the
last backup's age on the sync status and in /metrics; the hub's backups."""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
import zipfile
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from campus.cli import main
from campus.hub.app import create_app as create_hub_app
from campus.hub.config import HubConfig
from campus.hub.ops import backup_hub
from campus.node.config import NodeConfig
from campus.node.context import NodeContext
from campus.node.crm.leads import create_lead
from campus.node.ops.backup import backup_folder, backup_node, schedule_for
from campus.node.store import NodeStore
from campus.schema.backups import (
    MANIFEST,
    STORE_MEMBER,
    BackupError,
    Manifest,
    backups_in,
    read_manifest,
    record_backup,
    verify_backup,
)
from campus.schema.tables import SCHEMA_VERSION


def _leads(store: NodeStore, config: NodeConfig, count: int) -> None:
    with store.unit_of_work() as uow:
        for k in range(count):
            create_lead(uow, NodeContext.of(config), f"学员{k}", f"1380000{k:04d}")


def _rewrite(archive: Path, target: Path, store_bytes: bytes | None = None, fix_checksum: bool = False) -> None:
    """A copy of ``archive`` whose store is ``store_bytes`` (the manifest's checksum updated or not)."""
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        manifest = Manifest.from_json(source.read(MANIFEST).decode())
        for item in source.infolist():
            if item.filename == STORE_MEMBER and store_bytes is not None:
                copy.writestr(STORE_MEMBER, store_bytes)
                if fix_checksum:
                    manifest = dataclasses.replace(manifest, store_sha256=hashlib.sha256(store_bytes).hexdigest())
            elif item.filename != MANIFEST:
                copy.writestr(item, source.read(item.filename))
        copy.writestr(MANIFEST, manifest.to_json())


def test_a_backup_holds_the_store_config_and_key_and_verifies_whole(node_config: NodeConfig,
                                                                    node_store: NodeStore) -> None:
    _leads(node_store, node_config, 5)
    target, manifest = backup_node(node_config, store=node_store)

    assert target.parent == backup_folder(node_config) and target.name.startswith("BJ01-")
    assert target.stat().st_mode & 0o077 == 0
    assert (manifest.role, manifest.identity["campus_id"]) == ("node", node_config.campus_id)
    assert (manifest.schema_version, manifest.head_seq) == (SCHEMA_VERSION, node_store.head()[0])
    assert manifest.head_hash == node_store.head()[1].hex()
    assert set(manifest.files) == {"campus.toml", "node.key"}
    verified = verify_backup(target)
    assert verified.ok, verified.problems
    assert verified.tables["leads"] == 5
    assert read_manifest(target) == manifest


def test_verify_names_a_damaged_store_a_broken_change_log_and_a_file_that_is_no_backup(
        node_config: NodeConfig, node_store: NodeStore, tmp_path: Path) -> None:
    _leads(node_store, node_config, 3)
    target, _manifest = backup_node(node_config, store=node_store)
    with zipfile.ZipFile(target) as archive:
        store_bytes = archive.read(STORE_MEMBER)

    flipped = bytearray(store_bytes)
    flipped[len(flipped) // 2] ^= 0xFF
    _rewrite(target, tmp_path / "damaged.campus-backup", bytes(flipped))
    assert any("checksum" in p for p in verify_backup(tmp_path / "damaged.campus-backup").problems)

    # A change rewritten in the log, the checksum made to match: the chain still gives it away.
    (tmp_path / "edited.sqlite").write_bytes(store_bytes)
    db = sqlite3.connect(tmp_path / "edited.sqlite")
    seq, body = next((s, b) for s, b in db.execute("select seq, body from change_log") if "学员1".encode() in b)
    db.execute("update change_log set body = ? where seq = ?", (body.replace("学员1".encode(), "学员9".encode()), seq))
    db.commit()
    db.close()
    _rewrite(target, tmp_path / "edited.campus-backup", (tmp_path / "edited.sqlite").read_bytes(), fix_checksum=True)
    problems = verify_backup(tmp_path / "edited.campus-backup").problems
    assert any("change log is broken" in p for p in problems), problems

    (tmp_path / "notes.campus-backup").write_text("not a zip")
    with pytest.raises(BackupError):
        verify_backup(tmp_path / "notes.campus-backup")
    assert main(["node", "verify-backup", str(tmp_path / "edited.campus-backup")]) == 1
    assert main(["node", "verify-backup", str(target)]) == 0


def test_scheduled_backups_run_when_due_and_only_the_newest_are_kept(node_config: NodeConfig,
                                                                      node_store: NodeStore) -> None:
    config = dataclasses.replace(node_config, backup_every_hours=6, backup_keep=2)
    schedule = schedule_for(config, node_store)
    schedule.first_delay_seconds = 3600
    assert schedule.tick() is None  # never backed up, but the node only just started
    schedule.first_delay_seconds = 0

    taken = [schedule.tick()]
    assert taken[0] is not None and schedule.tick() is None  # the last one is not six hours old
    for _ in range(2):
        with node_store.write() as conn:  # as if the last one were seven hours old
            record_backup(conn, int((schedule.last_ms() / 1000 - 7 * 3600) * 1000), taken[-1])
        taken.append(schedule.tick())
    assert all(taken)
    assert backups_in(backup_folder(config), "BJ01") == taken[1:]  # keep = 2
    assert not taken[0].exists()

    off = schedule_for(dataclasses.replace(config, backup_every_hours=0), node_store)
    off.first_delay_seconds = 0
    with node_store.write() as conn:
        record_backup(conn, 1, taken[-1])
    assert off.tick() is None


def test_the_last_backups_age_is_on_the_sync_status_and_in_metrics(node_client: TestClient,
                                                                     node_config: NodeConfig) -> None:
    status = node_client.get("/api/v1/sync/status").json()
    assert (status["last_backup_at"], status["last_backup_age_seconds"]) == (None, None)
    metrics = node_client.get("/metrics").text
    assert "campus_backup_last_timestamp_seconds 0.0" in metrics and "campus_backup_age_seconds" not in metrics

    assert main(["node", "backup", "--dir", str(node_config.directory)]) == 0

    status = node_client.get("/api/v1/sync/status").json()
    assert status["last_backup_at"].endswith("Z") and 0 <= status["last_backup_age_seconds"] < 60
    metrics = node_client.get("/metrics").text
    age = next(line for line in metrics.splitlines() if line.startswith("campus_backup_age_seconds "))
    assert 0 <= float(age.split()[1]) < 60
    assert "campus_outbox_changes" in metrics and "campus_log_head_seq" in metrics


def test_a_sqlite_hub_is_backed_up_and_a_postgresql_hub_is_pointed_to_pg_dump(hub_config: HubConfig,
                                                                                tmp_path: Path) -> None:
    with TestClient(create_hub_app(hub_config)) as hub:
        assert "campus_backup_age_seconds" not in hub.get("/metrics").text
        assert main(["hub", "backup", "--dir", str(hub_config.directory), "--to", str(tmp_path)]) == 0
        assert "campus_backup_age_seconds" in hub.get("/metrics").text
        assert "campus_sync_changes_ingested" in hub.get("/metrics").text
    (archive,) = tmp_path.glob("hub-*.campus-backup")
    verified = verify_backup(archive)
    assert verified.ok and verified.manifest.role == "hub"
    assert verified.manifest.identity == {"hub_id": hub_config.hub_id} and verified.tables["users"] == 1

    on_postgres = dataclasses.replace(hub_config, database_url="postgresql+psycopg://postgres@127.0.0.1/campus")
    with pytest.raises(BackupError, match="pg_dump"):
        backup_hub(on_postgres)
