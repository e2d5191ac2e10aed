"""Operating the hub: backups of a SQLite hub (a PostgreSQL hub is backed up with ``pg_dump``),
its ``/metrics`` with the last backup's age, and ``campus doctor`` for a hub directory."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from prometheus_client.core import Metric
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response

import campus
from campus.hub.config import CONFIG_FILE, HubConfig
from campus.hub.metrics import SyncCollector
from campus.hub.store import HubStore
from campus.hub.sync import HubSync
from campus.schema.backups import (
    BackupError,
    BackupSchedule,
    Manifest,
    back_up,
    backup_folder_in,
    last_backup_ms,
    prune,
)
from campus.schema.config import ConfigError
from campus.schema.doctor import (
    MAX_WAL_BYTES,
    MIN_FREE_BYTES,
    Finding,
    check_disk,
    check_migrations,
    check_permissions,
    check_store,
)
from campus.schema.migrate import current_revision, head_revision
from campus.web.metrics import FunctionCollector, backup_gauges, metrics_route

PREFIX = "hub"
PG_DUMP_HINT = ("a PostgreSQL hub is backed up with PostgreSQL's own tools: "
                "pg_dump --format=custom --file=hub-$(date +%Y%m%d).dump DATABASE_URL (see the README)")


def sqlite_path(config: HubConfig) -> Path | None:
    """The hub's SQLite file, or None when it runs on PostgreSQL."""
    url = make_url(config.store_url)
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def backup_folder(config: HubConfig) -> Path:
    return backup_folder_in(config.directory, config.backup_folder)


def backup_hub(config: HubConfig, to: Path | None = None, store: HubStore | None = None) -> tuple[Path, Manifest]:
    """Back a SQLite hub up while it serves, as :func:`campus.node.ops.backup.backup_node` does a node."""
    database = sqlite_path(config)
    if database is None:
        raise BackupError(PG_DUMP_HINT)
    return back_up(database, to, backup_folder(config), PREFIX, "hub", {"hub_id": config.hub_id},
                   {CONFIG_FILE: config.directory / CONFIG_FILE, config.key_path.name: config.key_path},
                   campus.__version__, store, lambda: HubStore(config.store_url, config.hub_id))


def last_backup(store: HubStore) -> int:
    with store.read() as conn:
        return last_backup_ms(conn)


def schedule_for(config: HubConfig, store: HubStore) -> BackupSchedule | None:
    """The serving hub's backup job, on SQLite; None on PostgreSQL (pg_dump's, outside the hub)."""
    if sqlite_path(config) is None:
        return None
    return BackupSchedule(
        every_hours=config.backup_every_hours, keep=config.backup_keep,
        take=lambda: backup_hub(config, store=store)[0], last_ms=lambda: last_backup(store),
        prune=lambda: prune(backup_folder(config), PREFIX, config.backup_keep), started=time.monotonic())


def hub_metrics(sync: HubSync, store: HubStore, config: HubConfig) -> Callable[[Request], Awaitable[Response]]:
    """The hub's ``/metrics``: sync counts and lags, and on SQLite the last backup's age."""

    def backups() -> Iterator[Metric]:
        if sqlite_path(config) is not None:
            yield from backup_gauges(last_backup(store))

    return metrics_route(SyncCollector(sync), FunctionCollector(backups))


def _pg_dump() -> Finding:
    found = shutil.which("pg_dump")
    if not found:
        return Finding("backup", False, "pg_dump is not installed: this PostgreSQL hub cannot be backed up from here",
                       "install PostgreSQL's client tools (apt install postgresql-client) and schedule pg_dump "
                       "(see the README)")
    try:
        version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return Finding("backup", False, f"{found} does not run: {exc}", "reinstall PostgreSQL's client tools")
    return Finding("backup", True, f"{version} at {found}; back the database up with it (see the README)")


def doctor(directory: Path, now: Callable[[], float] = time.time, min_free_bytes: int = MIN_FREE_BYTES,
           max_wal_bytes: int = MAX_WAL_BYTES) -> list[Finding]:
    """Every check of a hub directory; all is well when every finding is ok."""
    try:
        config = HubConfig.load(directory)
    except (ConfigError, KeyError, ValueError, TypeError) as exc:
        return [Finding("config", False, f"{directory / CONFIG_FILE}: {exc}", "fix or restore campus.toml")]
    database = sqlite_path(config)
    found = [Finding("config", True, f"hub {config.hub_id} on {'SQLite' if database else 'PostgreSQL'}"),
             check_permissions([directory / CONFIG_FILE, config.key_path])]
    expected = int(head_revision() or 0)
    if database is None:
        found.append(check_disk(directory, 0, min_free_bytes))
        engine = create_engine(config.store_url, pool_pre_ping=True)
        try:
            with engine.connect() as conn:
                on_postgres = current_revision(conn)
            found.append(Finding("database", True, f"{engine.url.render_as_string(hide_password=True)} answers"))
            found.append(check_migrations(int(on_postgres or 0), expected))
        except SQLAlchemyError as exc:
            found.append(Finding("database", False, f"the database does not answer: {str(exc).splitlines()[0]}",
                                 "is PostgreSQL running, and [hub] database_url right?"))
        finally:
            engine.dispose()
        found.append(_pg_dump())
        return found
    found += check_store(database, config.backup_every_hours, backup_folder(config), now(), "restore it from a backup",
                         min_free_bytes, max_wal_bytes)
    return found
