"""``campus doctor``: each check failing for its cause and passing once it is put right, and the
exit code (0 only when all is well). Everything real: files, modes, a WAL that grew, a store an
earlier release made, a hub on loopback, an outbox that was never pushed."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import pytest

from campus.cli import main
from campus.hub.config import HubConfig
from campus.hub.ops import doctor as hub_doctor
from campus.node.config import NodeConfig
from campus.node.ops.backup import backup_node
from campus.node.ops.doctor import check_certificate, check_hub, check_outbox, doctor
from campus.node.ops.restore import PENDING_FILE
from campus.node.store import NodeStore
from campus.schema.backups import record_backup
from campus.schema.doctor import Finding
from campus.web.serving import free_port
from tests.e2e.sync_helpers import Group
from tests.ops.stores import unpack_store


def _by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


def test_a_standalone_node_that_was_backed_up_is_all_well_and_exits_0(node_config: NodeConfig,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--dir", str(node_config.directory)]) == 1  # never backed up
    assert "backup" in capsys.readouterr().out.splitlines()[-1]
    backup_node(node_config)
    found = doctor(node_config.directory)
    assert [f.check for f in found] == ["config", "permissions", "disk", "wal", "migrations", "backup"]
    assert all(f.ok for f in found), found
    assert main(["doctor", "--dir", str(node_config.directory)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "all is well"


def test_config(node_config: NodeConfig) -> None:
    toml = node_config.directory / "campus.toml"
    good = toml.read_text()
    toml.write_text(good.replace("[node]", "[node\n"))
    (finding,) = doctor(node_config.directory)
    assert (finding.check, finding.ok) == ("config", False) and "TOML" in finding.detail
    toml.write_text(good)
    assert _by_check(doctor(node_config.directory))["config"].ok


def test_permissions(node_config: NodeConfig) -> None:
    node_config.key_path.chmod(0o644)
    finding = _by_check(doctor(node_config.directory))["permissions"]
    assert not finding.ok and "node.key is 0644" in finding.detail and "chmod 600" in finding.advice
    node_config.key_path.chmod(0o600)
    assert _by_check(doctor(node_config.directory))["permissions"].ok


def test_disk(node_config: NodeConfig) -> None:
    free = shutil.disk_usage(node_config.directory).free
    finding = _by_check(doctor(node_config.directory, min_free_bytes=free * 2))["disk"]
    assert not finding.ok and "free" in finding.detail
    assert _by_check(doctor(node_config.directory, min_free_bytes=1 << 20))["disk"].ok


def test_wal(node_config: NodeConfig) -> None:
    store = NodeStore(node_config.database_path, node_config.node_id, wal_autocheckpoint=False)
    try:
        with store.write() as conn:  # a megabyte of writes no checkpoint has copied into the store
            conn.exec_driver_sql("create table ballast (x blob)")
            conn.exec_driver_sql("insert into ballast values (randomblob(1048576))")
        finding = _by_check(doctor(node_config.directory, max_wal_bytes=512 * 1024))["wal"]
        assert not finding.ok and "write-ahead log is 1." in finding.detail
        with store.write() as conn:
            conn.exec_driver_sql("drop table ballast")
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert _by_check(doctor(node_config.directory, max_wal_bytes=512 * 1024))["wal"].ok
    finally:
        store.close()


def test_migrations(node_config: NodeConfig, tmp_path: Path) -> None:
    """A store an earlier release made (a fixture built from this repository's history) has
    migrations pending until the node opens it."""
    unpack_store("0014", "node", node_config.database_path)
    finding = _by_check(doctor(node_config.directory))["migrations"]
    assert not finding.ok and "schema 14" in finding.detail and "pending" in finding.detail
    NodeStore(node_config.database_path, node_config.node_id).close()  # migrates
    assert _by_check(doctor(node_config.directory))["migrations"].ok


def test_backup(node_config: NodeConfig, node_store: NodeStore) -> None:
    assert "never" in _by_check(doctor(node_config.directory))["backup"].detail
    archive, _ = backup_node(node_config, store=node_store)
    assert _by_check(doctor(node_config.directory))["backup"].ok
    with node_store.write() as conn:
        record_backup(conn, int((time.time() - 3 * 86400) * 1000), archive)
    finding = _by_check(doctor(node_config.directory))["backup"]
    assert not finding.ok and "3.0 days old" in finding.detail


def test_hub_reachability_and_clock(group: Group) -> None:
    bj = group.campuses["BJ01"].config
    hub, clock = check_hub(bj)
    assert hub.ok and clock.ok, (hub, clock)
    hub, clock = check_hub(bj, now=lambda: time.time() + 600)  # this computer's clock ten minutes fast
    assert hub.ok and not clock.ok and "ahead of the hub" in clock.detail
    hub, clock = check_hub(bj, now=lambda: time.time() - 600)
    assert not clock.ok and "behind the hub" in clock.detail
    away = dataclasses.replace(bj, hub_url=f"http://127.0.0.1:{free_port()}")
    hub, clock = check_hub(away)
    assert not hub.ok and "does not answer" in hub.detail and not clock.ok


def test_certificate_of_a_hub_reached_over_plain_http() -> None:
    """(TLS certificates themselves are in test_tls.py.)"""
    base = NodeConfig.new(Path("/nonexistent"), "BJ01", "北京海淀校区")
    assert check_certificate(dataclasses.replace(base, hub_url="http://10.0.0.5:8000")).ok
    public = check_certificate(dataclasses.replace(base, hub_url="http://hq.example.com:8000"))
    assert not public.ok and "plain HTTP" in public.detail and "TLS" in public.advice


def test_outbox(group: Group) -> None:
    bj = group.campuses["BJ01"]
    assert bj.http.post("/api/v1/leads", json={"name": "王小明", "phone": "13800138000"}).status_code == 201
    finding = _by_check(doctor(bj.config.directory))["outbox"]
    assert finding.ok and "wait to be pushed" in finding.detail  # written just now, synced a moment ago
    assert not check_outbox(bj.config, 10, 4, int((time.time() - 7200) * 1000)).ok
    assert "6 change(s)" in check_outbox(bj.config, 10, 4, 0).detail
    bj.sync()
    found = _by_check(doctor(bj.config.directory))
    assert found["outbox"].ok and found["outbox"].detail.startswith("0 change(s)")
    assert found["hub"].ok and found["clock"].ok and found["certificate"].ok
    (bj.config.directory / PENDING_FILE).write_text("{}")
    finding = _by_check(doctor(bj.config.directory))["outbox"]
    assert not finding.ok and "restored from a backup" in finding.detail
    (bj.config.directory / PENDING_FILE).unlink()


def test_a_sqlite_hub(hub_config: HubConfig) -> None:
    found = _by_check(hub_doctor(hub_config.directory))
    assert [f for f in found.values() if not f.ok] == [found["backup"]]
    assert main(["hub", "backup", "--dir", str(hub_config.directory)]) == 0
    assert all(f.ok for f in hub_doctor(hub_config.directory))
    assert main(["doctor", "--dir", str(hub_config.directory)]) == 0


@pytest.mark.postgres
def test_a_postgresql_hub_needs_pg_dump(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from campus.hub.bootstrap import init_hub

    config = init_hub(tmp_path / "hub", database_url=postgres_url, admin_password="admin-password-1")
    found = _by_check(hub_doctor(config.directory))
    assert found["database"].ok and found["migrations"].ok
    if shutil.which("pg_dump"):
        assert found["backup"].ok and "pg_dump" in found["backup"].detail
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without PostgreSQL's client tools
    finding = _by_check(hub_doctor(config.directory))["backup"]
    assert not finding.ok and "pg_dump is not installed" in finding.detail
    away = dataclasses.replace(config, database_url="postgresql+psycopg://postgres@127.0.0.1:1/campus")
    away.save()
    assert not _by_check(hub_doctor(config.directory))["database"].ok
