"""The checks ``campus doctor`` runs on a node's or the hub's directory that both share: file
permissions, free disk, the WAL, pending migrations and the last backup. Each returns a
:class:`Finding` that says what it found and, when something is wrong, what to do. They read the
store with plain read-only SQLite connections: a doctor never migrates or writes anything."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from campus.schema.backups import LAST_BACKUP_KEY, revision_of
from campus.schema.migrate import head_revision

MiB = 1 << 20
MIN_FREE_BYTES = 1 << 30  # at least 1 GiB free, and at least twice the store
MAX_WAL_BYTES = 64 * MiB  # a serving store checkpoints every 2 s; a WAL this big means it cannot


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str
    advice: str = ""


def _size(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} TiB"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def check_permissions(paths: list[Path]) -> Finding:
    """The config (it holds the session secret) and the private key: readable by their owner only."""
    loose, missing = [], []
    for path in paths:
        if not path.exists():
            missing.append(path.name)
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            loose.append(f"{path.name} is {mode:04o}")
    if missing:
        return Finding("permissions", False, f"missing: {', '.join(missing)}",
                       "the directory is incomplete: restore it from a backup")
    if loose:
        return Finding("permissions", False, "; ".join(loose) + " (others may read it)",
                       "chmod 600 " + " ".join(str(p) for p in paths))
    return Finding("permissions", True, ", ".join(f"{p.name} 0600" for p in paths))


def check_disk(folder: Path, store_bytes: int, min_free_bytes: int = MIN_FREE_BYTES) -> Finding:
    free = shutil.disk_usage(folder).free
    needed = max(min_free_bytes, 2 * store_bytes)
    if free < needed:
        return Finding("disk", False, f"{_size(free)} free where the store is; it needs at least {_size(needed)}",
                       "free some space (old files, not the store): SQLite stops writing when the disk is full")
    return Finding("disk", True, f"{_size(free)} free (the store takes {_size(store_bytes)})")


def check_wal(database: Path, max_bytes: int = MAX_WAL_BYTES) -> Finding:
    wal = Path(f"{database}-wal")
    size = wal.stat().st_size if wal.exists() else 0
    if size > max_bytes:
        return Finding("wal", False, f"the write-ahead log is {_size(size)} (more than {_size(max_bytes)})",
                       "something keeps a long read open or checkpoints fail: restart the server; it is "
                       "copied into the store at the next checkpoint")
    return Finding("wal", True, f"the write-ahead log is {_size(size)}")


@contextmanager
def read_only(database: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection that never creates, migrates or checkpoints anything."""
    conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        yield conn
    finally:
        conn.close()


def state_value(conn: sqlite3.Connection, key: str) -> int:
    try:
        row = conn.execute("select int_value from local_state where key = ?", (key,)).fetchone()
    except sqlite3.DatabaseError:
        return 0
    return int(row[0]) if row and row[0] is not None else 0


def check_migrations(store_revision: int, code_revision: int) -> Finding:
    if store_revision == code_revision:
        return Finding("migrations", True, f"the store is at schema {store_revision}, as this Campus expects")
    if store_revision < code_revision:
        return Finding("migrations", False, f"the store is at schema {store_revision}; this Campus runs schema "
                       f"{code_revision}: {code_revision - store_revision} migration(s) pending",
                       "they run when the server starts (take a backup first); or is an older Campus still running?")
    return Finding("migrations", False, f"the store is at schema {store_revision}, newer than this Campus's "
                   f"{code_revision}", "upgrade Campus here: an older release must not write a newer store")


def check_backup(last_ms: int, every_hours: int, folder: Path, now: float | None = None) -> Finding:
    """The last backup is recent: within twice the scheduled interval (two days when none is scheduled)."""
    limit = 2 * (every_hours if every_hours > 0 else 24) * 3600
    schedule = f"every {every_hours} h into {folder}" if every_hours > 0 else "no scheduled backups"
    if not last_ms:
        return Finding("backup", False, f"this store was never backed up ({schedule})",
                       "take one now: campus node backup --dir DIR (or campus hub backup); and set [backup] "
                       "every_hours in campus.toml")
    age = (now if now is not None else time.time()) - last_ms / 1000
    if age > limit:
        return Finding("backup", False, f"the last backup is {_age(age)} old ({schedule})",
                       "is the server running? is the backup folder writable and its disk free? take one now")
    if every_hours > 0 and not _writable(folder):
        return Finding("backup", False, f"the backup folder {folder} cannot be written",
                       "create it or point [backup] folder somewhere the server's user may write")
    return Finding("backup", True, f"the last backup is {_age(age)} old ({schedule})")


def _writable(folder: Path) -> bool:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent  # a folder not made yet is made by the first backup
    return probe.is_dir() and os.access(probe, os.W_OK)


def last_backup_of(conn: sqlite3.Connection) -> int:
    return state_value(conn, LAST_BACKUP_KEY)


def check_store(database: Path, backup_every_hours: int, backup_folder: Path, now: float, missing_advice: str,
                min_free_bytes: int = MIN_FREE_BYTES, max_wal_bytes: int = MAX_WAL_BYTES) -> list[Finding]:
    """A SQLite store's checks: it exists, its disk has room, its WAL is small, no migration is
    pending, and its last backup is recent."""
    if not database.exists():
        return [Finding("store", False, f"{database} does not exist", missing_advice)]
    wal = Path(f"{database}-wal")
    store_bytes = database.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    with read_only(database) as conn:
        revision, last = revision_of(conn), last_backup_of(conn)
    return [check_disk(database.parent, store_bytes, min_free_bytes), check_wal(database, max_wal_bytes),
            check_migrations(revision, int(head_revision() or 0)),
            check_backup(last, backup_every_hours, backup_folder, now)]
