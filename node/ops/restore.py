"""Restoring a campus node from a backup (``campus node restore --from-backup FILE --dir D``).

Standalone, the backup is the campus: its store (migrated if an older release made it), and its
``campus.toml`` and key where the directory has none. An enrolled campus then goes through the
fork-safe path sync already has: the hub holds the campus's log past the backup, so before the
node writes anything it takes its own later changes back (``SyncClient.sync_once`` pulls them
with ``own_after``) and only then goes on from the hub's head; it never writes a change under a
seq the hub holds (that would be a fork, and the hub quarantines a forked node). The number
counters (receipts, students, contracts… are numbered locally) are dropped, so each resumes after
the highest number the store then holds, those taken back included. Until that first
sync has happened the directory holds ``restore-pending.json`` and ``campus node serve`` refuses
to start.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import delete

from campus.node.config import CONFIG_FILE, NodeConfig
from campus.node.store import NodeStore
from campus.node.sync import client_for
from campus.schema.backups import BackupError, Manifest, opened
from campus.schema.config import ConfigError
from campus.schema.tables import number_counters
from campus.sync.client import HubUnreachable, SyncRefused, SyncReport
from campus.sync.replica import SchemaTooNew

PENDING_FILE = "restore-pending.json"


@dataclass
class Restored:
    config: NodeConfig
    manifest: Manifest
    kept_aside: list[Path] = field(default_factory=list)
    report: SyncReport | None = None  # the first sync of an enrolled campus
    sync_error: str | None = None  # why it did not happen (the node must sync before it serves)

    @property
    def pending(self) -> bool:
        return (self.config.directory / PENDING_FILE).exists()


def serving(config: NodeConfig) -> bool:
    """Whether this campus's node answers on its configured address (a restore must wait for it to stop)."""
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
    scheme = "https" if config.certfile else "http"
    try:
        answer = httpx.get(f"{scheme}://{host}:{config.port}/healthz", timeout=1.0, verify=False)
        return answer.status_code == 200 and answer.json().get("campus") == config.campus_code
    except (httpx.HTTPError, ValueError):
        return False


def _keep_aside(database: Path) -> list[Path]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    moved = []
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if path.exists():
            aside = path.with_name(f"{path.name}.before-restore-{stamp}")
            os.replace(path, aside)
            moved.append(aside)
    return moved


def _place(source: Path, target: Path) -> None:
    partial = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(source, partial)
    partial.chmod(0o600)
    with partial.open("rb") as stream:
        os.fsync(stream.fileno())
    os.replace(partial, target)


def restore_from_backup(archive: Path, directory: Path, force: bool = False, sync: bool = True) -> Restored:
    """Restore ``archive`` into ``directory``; see the module's documentation."""
    with opened(archive, role="node") as (verified, store_file, members):
        if not verified.ok:
            raise BackupError(f"{archive} fails its checks, nothing was restored: {'; '.join(verified.problems)}")
        manifest = verified.manifest
        if (directory / CONFIG_FILE).exists():
            config = NodeConfig.load(directory)  # the directory's own: its key may be newer than the backup's
            theirs = (manifest.identity.get("campus_code"), manifest.identity.get("node_id"))
            if (config.campus_code, config.node_id) != theirs:
                raise BackupError(f"{directory} is campus {config.campus_code}'s node {config.node_id}; the backup "
                                  f"is of campus {theirs[0]}'s node {theirs[1]}: nothing was restored")
        else:
            for name in (CONFIG_FILE, "node.key"):
                if not (members / name).exists():
                    raise BackupError(f"the backup holds no {name} and {directory} has none: restore into the "
                                      "campus's directory, or rebuild it from the hub (campus node restore --hub)")
            directory.mkdir(parents=True, exist_ok=True)
            for name in (CONFIG_FILE, "node.key"):
                _place(members / name, directory / name)
            config = NodeConfig.load(directory)
        database = config.database_path
        kept: list[Path] = []
        if database.exists():
            if not force:
                raise BackupError(f"{directory} holds a live store ({database.name}): restoring would replace it. "
                                  "Run again with --force to restore and keep the current store aside")
            if serving(config):
                raise BackupError(f"campus {config.campus_code}'s node is serving on port {config.port}: stop it "
                                  "before restoring")
            kept = _keep_aside(database)
        else:
            for stale in (Path(f"{database}-wal"), Path(f"{database}-shm")):
                stale.unlink(missing_ok=True)  # a WAL without its database belongs to no store
        if config.hub_url:  # before the store exists: nothing may serve it until it has synced
            (directory / PENDING_FILE).write_text(json.dumps({
                "backup": str(archive.resolve()), "backup_head_seq": manifest.head_seq,
                "restored_at": datetime.now(UTC).isoformat(timespec="seconds")}), encoding="utf-8")
        _place(store_file, database)
    store = NodeStore(database, config.node_id)  # migrates a backup an earlier release made
    restored = Restored(config, manifest, kept)
    try:
        with store.write() as conn:  # each counter resumes after the highest number the store holds,
            conn.execute(delete(number_counters))  # also those the hub gives back (no number twice)
        if config.hub_url and sync:
            client = client_for(config, store)
            try:
                restored.report = client.sync_once()
                finish_pending_restore(directory)
            except (HubUnreachable, SyncRefused, SchemaTooNew) as exc:
                restored.sync_error = str(exc)
            finally:
                client.close()
    finally:
        store.close()
    return restored


def check_no_pending_restore(config: NodeConfig) -> None:
    """``campus node serve`` refuses a restored enrolled node that has not yet synced."""
    if (config.directory / PENDING_FILE).exists():
        raise ConfigError(f"{config.directory} was restored from a backup and has not yet taken its later changes "
                          f"back from the hub: run 'campus sync now --dir {config.directory}' (the hub must be "
                          "reachable) before serving; a node that writes first forks its log and is quarantined")


def finish_pending_restore(directory: Path) -> bool:
    """After a successful sync: the restored node is whole again and may serve."""
    marker = directory / PENDING_FILE
    if marker.exists():
        marker.unlink()
        return True
    return False
