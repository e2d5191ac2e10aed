"""Backups of a SQLite store (a node's, or a hub's on SQLite), shared by node and hub.

A backup is one zip file, ``<prefix>-<UTC time>.campus-backup``: the store copied through SQLite's
online backup API (one read transaction, so it is the committed state at one instant while the
server keeps writing; never a file copy of a live database), deflated, with the directory's
``campus.toml`` and private key, and ``manifest.json`` naming what it holds: who it is of, the
schema version, the change log's head (seq and hash) and each member's size and SHA-256.
:func:`verify_backup` opens one read-only and checks all of it, down to every link of the log.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from campus.sync.changes import ChainBroken, verify_chain

log = logging.getLogger("campus.backups")

FORMAT = "campus-backup"
FORMAT_VERSION = 1
SUFFIX = ".campus-backup"
MANIFEST = "manifest.json"
STORE_MEMBER = "store.sqlite"
LAST_BACKUP_KEY = "last_backup_ms"  # local_state: when the last backup of this store was taken
HEAD_KEY = "log_head"
CHUNK = 1 << 20
BUSY_TIMEOUT_SECONDS = 30
TEMP_MAX_AGE_SECONDS = 3600  # a temporary file this old is left over from a backup that crashed


class BackupError(Exception):
    """A backup cannot be taken, read or restored; the message says why."""


@dataclass(frozen=True)
class Manifest:
    role: str  # node | hub
    identity: dict[str, str]  # campus_code, campus_id, node_id (node) or hub_id (hub)
    created_at: str  # UTC, ISO 8601
    schema_version: int  # the store's migration revision
    head_seq: int
    head_hash: str  # hex
    store_bytes: int
    store_sha256: str
    files: dict[str, str] = field(default_factory=dict)  # member name -> SHA-256 of its bytes
    took_ms: int = 0
    campus_version: str = ""
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            raw = json.loads(text)
            if raw.get("format") != FORMAT:
                raise BackupError("not a Campus backup (its manifest names another format)")
            if int(raw.get("format_version", 0)) > FORMAT_VERSION:
                raise BackupError(f"backup format {raw['format_version']} is newer than this Campus reads "
                                  f"({FORMAT_VERSION}): upgrade Campus")
            known = set(cls.__dataclass_fields__)
            return cls(**{k: v for k, v in raw.items() if k in known})
        except (ValueError, TypeError, KeyError) as exc:
            raise BackupError(f"the backup's manifest cannot be read: {exc}") from None

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.created_at.replace("Z", "+00:00"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def backup_name(prefix: str, moment: datetime, folder: Path) -> Path:
    """``<prefix>-20261202T084138Z.campus-backup`` in ``folder``, with ``-2``, ``-3``… if taken."""
    stem = f"{prefix}-{moment.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    candidate, n = folder / f"{stem}{SUFFIX}", 1
    while candidate.exists():
        n += 1
        candidate = folder / f"{stem}-{n}{SUFFIX}"
    return candidate


def _connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    if read_only:  # immutable: no -wal or -shm is created next to a file being verified
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True,
                               timeout=BUSY_TIMEOUT_SECONDS)
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)


def revision_of(conn: sqlite3.Connection) -> int:
    """The schema revision a SQLite store is at (0: none, or not a store)."""
    try:
        row = conn.execute("select version_num from alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return 0
    return int(row[0]) if row and str(row[0]).isdigit() else 0


def _head(conn: sqlite3.Connection) -> tuple[int, bytes]:
    row = conn.execute("select int_value, blob_value from local_state where key = ?", (HEAD_KEY,)).fetchone()
    return (int(row[0]), bytes(row[1])) if row else (0, bytes(32))


def copy_store(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite store through the online backup API, in one step: one
    read transaction, so the copy is the committed state of one instant (every write acknowledged
    before the copy began is in it); writers go on meanwhile (WAL). The copy is a single file."""
    src = _connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")  # self-contained: no -wal beside it
        finally:
            dst.close()
    finally:
        src.close()


def take_backup(source: Path, target: Path, role: str, identity: dict[str, str],
                files: dict[str, Path], campus_version: str = "",
                now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Manifest:
    """Back ``source`` up into the archive ``target`` (written aside, then renamed: a crash never
    leaves a half archive under the final name) with ``files`` (member name -> path)."""
    began = time.monotonic()
    target.parent.mkdir(parents=True, exist_ok=True)
    created = now()
    with tempfile.TemporaryDirectory(prefix=".campus-backup-", dir=target.parent) as work:
        copy = Path(work) / STORE_MEMBER
        copy_store(source, copy)
        conn = _connect(copy, read_only=True)
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"the copy of {source} fails SQLite's check: {check}")
            revision, (head_seq, head_hash) = revision_of(conn), _head(conn)
        finally:
            conn.close()
        manifest = Manifest(role=role, identity=identity, created_at=_utc_text(created), schema_version=revision,
                            head_seq=head_seq, head_hash=head_hash.hex(), store_bytes=copy.stat().st_size,
                            store_sha256=_sha256(copy),
                            files={name: _sha256(path) for name, path in files.items() if path.exists()},
                            campus_version=campus_version)
        partial = Path(work) / "archive.zip"
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            archive.write(copy, STORE_MEMBER)
            for name, path in files.items():
                if path.exists():
                    archive.write(path, name)
            took = int((time.monotonic() - began) * 1000)
            manifest = Manifest(**{**asdict(manifest), "took_ms": took})
            archive.writestr(MANIFEST, manifest.to_json())
        os.chmod(partial, 0o600)  # it holds personal data and the directory's private key
        with partial.open("rb") as stream:
            os.fsync(stream.fileno())
        os.replace(partial, target)
    return manifest


def read_manifest(archive: Path) -> Manifest:
    try:
        with zipfile.ZipFile(archive) as zipped:
            return Manifest.from_json(zipped.read(MANIFEST).decode("utf-8"))
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise BackupError(f"{archive} is not a readable Campus backup: {exc}") from None


@dataclass
class Verified:
    manifest: Manifest
    problems: list[str]
    tables: dict[str, int]  # rows per table

    @property
    def ok(self) -> bool:
        return not self.problems


def _extract(zipped: zipfile.ZipFile, member: str, target: Path) -> str:
    digest = hashlib.sha256()
    with zipped.open(member) as source, target.open("wb") as sink:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            digest.update(chunk)
            sink.write(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def opened(archive: Path, role: str | None = None) -> Iterator[tuple[Verified, Path, Path]]:
    """Verify ``archive`` and yield (the verification, the extracted store, the folder of the other
    members); the extracted files go when the ``with`` ends."""
    manifest = read_manifest(archive)
    near = archive.resolve().parent  # the same disk as the backup, unless it cannot be written
    with tempfile.TemporaryDirectory(prefix=".campus-restore-", dir=near if os.access(near, os.W_OK) else None) as work:
        folder = Path(work)
        verified = _verify_into(archive, manifest, folder)
        if role and manifest.role != role:
            verified.problems.append(f"this is a backup of a {manifest.role}, not of a {role}")
        yield verified, folder / STORE_MEMBER, folder


def verify_backup(archive: Path) -> Verified:
    """Open a backup read-only and check it whole: every member's checksum, SQLite's integrity
    check, the schema revision, every link of the change log and its head against the manifest."""
    with opened(archive) as (verified, _store, _folder):
        return verified


def _verify_into(archive: Path, manifest: Manifest, folder: Path) -> Verified:
    problems: list[str] = []
    tables: dict[str, int] = {}
    try:
        with zipfile.ZipFile(archive) as zipped:
            names = set(zipped.namelist())
            for member, expected in [(STORE_MEMBER, manifest.store_sha256), *manifest.files.items()]:
                if member not in names:
                    problems.append(f"{member} is missing from the backup")
                    continue
                if _extract(zipped, member, folder / member) != expected:
                    problems.append(f"{member} does not match its checksum: the backup is damaged")
    except (OSError, zipfile.BadZipFile) as exc:
        return Verified(manifest, [f"the backup cannot be read: {exc}"], tables)
    store = folder / STORE_MEMBER
    if not store.exists():
        return Verified(manifest, problems, tables)
    try:
        conn = _connect(store, read_only=True)
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                problems.append(f"SQLite's integrity check fails: {check}")
            revision = revision_of(conn)
            if revision != manifest.schema_version:
                problems.append(f"the store is at schema {revision}, the manifest says {manifest.schema_version}")
            head_seq, head_hash = _head(conn)
            if (head_seq, head_hash.hex()) != (manifest.head_seq, manifest.head_hash):
                problems.append(f"the store's log head is {head_seq}, the manifest says {manifest.head_seq}")
            links = conn.execute("select seq, body, hash from change_log order by seq")
            try:
                reached = verify_chain((int(s), bytes(b), bytes(h)) for s, b, h in links)
                if reached != (head_seq, head_hash):
                    problems.append(f"the change log ends at seq {reached[0]}, its recorded head is {head_seq}")
            except ChainBroken as broken:
                problems.append(f"the change log is broken: {broken}")
            for (name,) in conn.execute("select name from sqlite_master where type = 'table' "
                                        "and name not like 'sqlite_%' order by name").fetchall():
                tables[name] = conn.execute(f'select count(*) from "{name}"').fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        problems.append(f"the store cannot be opened: {exc}")
    return Verified(manifest, problems, tables)


def backups_in(folder: Path, prefix: str) -> list[Path]:
    """This store's backups in ``folder`` (named as :func:`backup_name` names them), oldest first."""
    pattern = re.compile(rf"^{re.escape(prefix)}-\d{{8}}T\d{{6}}Z(-\d+)?{re.escape(SUFFIX)}$")
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if pattern.match(p.name)]
    return sorted(found, key=lambda p: (p.name[len(prefix) + 1:len(prefix) + 17], p.stat().st_mtime))


def prune(folder: Path, prefix: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups of this store in ``folder`` (and what crashed
    backups left behind); returns what was deleted. ``keep`` below 1 keeps everything."""
    removed: list[Path] = []
    if keep >= 1:
        for old in backups_in(folder, prefix)[:-keep]:
            old.unlink(missing_ok=True)
            removed.append(old)
    if folder.is_dir():
        for leftover in folder.glob(".campus-backup-*"):
            if time.time() - leftover.stat().st_mtime > TEMP_MAX_AGE_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
                removed.append(leftover)
    return removed


def last_backup_ms(conn: Any) -> int:
    """When this store's last backup was taken (ms since the epoch), 0 for never; ``conn`` is a
    SQLAlchemy connection to the store."""
    row = conn.exec_driver_sql("select int_value from local_state where key = ?", (LAST_BACKUP_KEY,)).first()
    return int(row[0]) if row and row[0] is not None else 0


def record_backup(conn: Any, at_ms: int, archive: Path) -> None:
    """Remember in the store (``local_state``, never replicated) when it was last backed up, and where."""
    path = str(archive.resolve()).encode("utf-8")
    done = conn.exec_driver_sql("update local_state set int_value = ?, blob_value = ? where key = ?",
                                (at_ms, path, LAST_BACKUP_KEY)).rowcount
    if not done:
        conn.exec_driver_sql("insert into local_state (key, int_value, blob_value) values (?, ?, ?)",
                             (LAST_BACKUP_KEY, at_ms, path))


def backup_folder_in(directory: Path, folder: str) -> Path:
    """``[backup] folder`` as campus.toml gives it: absolute, or relative to the directory."""
    path = Path(folder).expanduser()
    return path if path.is_absolute() else directory / path


class Store(Protocol):
    def write(self) -> AbstractContextManager[Any]: ...

    def close(self) -> None: ...


def back_up(database: Path, to: Path | None, folder: Path, prefix: str, role: str, identity: dict[str, str],
            files: dict[str, Path], version: str, store: Store | None, open_store: Callable[[], Store],
            ) -> tuple[Path, Manifest]:
    """Back a store up while it serves: into ``to`` (a file, or a folder to name it in), else into
    ``folder``; the store records when (``store``: the serving process's own, else one opened with
    ``open_store`` for the moment)."""
    now = datetime.now(UTC)
    target = backup_name(prefix, now, to) if to is not None and to.is_dir() else to or backup_name(prefix, now, folder)
    manifest = take_backup(database, target, role, identity, files, version, now=lambda: now)
    own = store or open_store()
    try:
        with own.write() as conn:
            record_backup(conn, int(manifest.created.timestamp() * 1000), target)
    finally:
        if store is None:
            own.close()
    return target, manifest


def age_seconds(last_ms: int, now: float | None = None) -> float | None:
    if not last_ms:
        return None
    return max(0.0, (now if now is not None else time.time()) - last_ms / 1000)


def backup_state(last_ms: int, now: float | None = None) -> dict[str, Any]:
    """The last backup as a status page shows it: when (UTC) and how many seconds ago."""
    age = age_seconds(last_ms, now)
    return {"last_backup_at": _utc_text(datetime.fromtimestamp(last_ms / 1000, UTC)) if last_ms else None,
            "last_backup_age_seconds": None if age is None else int(age)}


FIRST_BACKUP_DELAY_SECONDS = 600  # a store never backed up is first backed up this long after the start
CHECK_SECONDS = 300  # how often a serving process looks whether a backup is due


@dataclass
class BackupSchedule:
    """``[backup] every_hours``, ``keep``, ``folder``, run by the serving process: a backup is due
    when the last (as the store records it, across restarts) is ``every_hours`` old; a store never
    backed up gets its first a few minutes after the server starts. Each is pruned to ``keep``."""

    every_hours: int  # as campus.toml gives it; 0 turns the schedule off
    keep: int
    take: Callable[[], Path]  # takes one backup into the folder, records it, returns the archive
    last_ms: Callable[[], int]
    prune: Callable[[], list[Path]]
    first_delay_seconds: float = FIRST_BACKUP_DELAY_SECONDS
    started: float = field(default_factory=time.monotonic)

    def due(self, now: float | None = None) -> bool:
        if self.every_hours <= 0:
            return False
        last = self.last_ms()
        if not last:
            return time.monotonic() - self.started >= self.first_delay_seconds
        return (now if now is not None else time.time()) - last / 1000 >= self.every_hours * 3600

    def tick(self) -> Path | None:
        if not self.due():
            return None
        archive = self.take()
        log.info("scheduled backup taken: %s", archive)
        for removed in self.prune():
            log.info("backup %s removed by the retention rule (keep %d)", removed.name, self.keep)
        return archive
