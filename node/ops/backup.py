"""Backups of a campus node, taken by ``campus node backup`` or by the serving node on schedule
(``[backup]`` in ``campus.toml``); the archive format is :mod:`campus.schema.backups`."""

from __future__ import annotations

import time
from pathlib import Path

import campus
from campus.node.config import CONFIG_FILE, NodeConfig
from campus.node.store import NodeStore
from campus.schema.backups import (
    CHECK_SECONDS,
    BackupSchedule,
    Manifest,
    back_up,
    backup_folder_in,
    backup_state,
    last_backup_ms,
    prune,
)

__all__ = ["CHECK_SECONDS", "backup_folder", "backup_state", "backup_node", "last_backup", "schedule_for"]


def backup_folder(config: NodeConfig) -> Path:
    return backup_folder_in(config.directory, config.backup_folder)


def backup_node(config: NodeConfig, to: Path | None = None, store: NodeStore | None = None) -> tuple[Path, Manifest]:
    """Back the node up while it serves: into ``to`` (a file, or a folder to name it in), else into
    the ``[backup] folder``; the store records when (its last backup's age is on the sync status,
    ``/metrics`` and ``campus doctor``). ``store``: the serving node's own, if it takes it."""
    identity = {"campus_code": config.campus_code, "campus_id": config.campus_id, "node_id": config.node_id,
                "campus_name": config.campus_name}
    return back_up(config.database_path, to, backup_folder(config), config.campus_code, "node", identity,
                   {CONFIG_FILE: config.directory / CONFIG_FILE, config.key_path.name: config.key_path},
                   campus.__version__, store, lambda: NodeStore(config.database_path, config.node_id))


def last_backup(store: NodeStore) -> int:
    """When the node was last backed up, in ms since the epoch (0: never)."""
    with store.read() as conn:
        return last_backup_ms(conn)


def schedule_for(config: NodeConfig, store: NodeStore) -> BackupSchedule:
    """The serving node's backup job: see :class:`~campus.schema.backups.BackupSchedule`."""
    return BackupSchedule(
        every_hours=config.backup_every_hours, keep=config.backup_keep,
        take=lambda: backup_node(config, store=store)[0], last_ms=lambda: last_backup(store),
        prune=lambda: prune(backup_folder(config), config.campus_code, config.backup_keep),
        started=time.monotonic())
