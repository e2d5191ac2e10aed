"""Engines for the stores: SQLite (nodes, small hubs) and PostgreSQL (large hubs), same Core code;
and :class:`LoggedStore`, the start-up and transactions every store (node or hub) shares."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from campus.schema.ids import new_id
from campus.schema.migrate import upgrade
from campus.schema.search import flush_search_queue
from campus.schema.tables import SCHEMA_VERSION, change_log, field_versions, local_state, metadata
from campus.sync.capture import LogTables, UnitOfWork, ensure_log_state, read_clock, read_head
from campus.sync.hlc import HybridLogicalClock

WRITE_OPTION = "campus_write"
BUSY_TIMEOUT_MS = 10_000
DEFAULT_CACHE_MIB = 16
# Every store logs its own writes to the same tables: the change log, its head and clock, field versions.
LOG_TABLES = LogTables(log=change_log, state=local_state, versions=field_versions)


def sqlite_url(path: Path | str) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def create_store_engine(url: str, wal_autocheckpoint: bool = True, cache_mib: int = DEFAULT_CACHE_MIB) -> Engine:
    """An engine with the pragmas Campus relies on; SQLite write transactions take the lock up front.

    Without ``wal_autocheckpoint`` no commit ever stops to copy the WAL into the database (a
    pause of tens of milliseconds on a slow disk); the owner must then call :func:`checkpoint`
    regularly, as a serving node does from a background job. ``cache_mib`` is SQLite's page cache
    per connection (its default, 2 MiB, makes every merge into a large store wait on reads)."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not wal_autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of deadlocking.
        if connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
        with connection.begin():
            yield connection
            flush_search_queue(connection)  # derived indexes commit with the rows they index


@contextmanager
def read_transaction(engine: Engine, snapshot: bool = False) -> Iterator[Connection]:
    """A read transaction. With ``snapshot``, every statement in it sees the same committed state
    (SQLite's read transactions always do; PostgreSQL needs REPEATABLE READ for it)."""
    with engine.connect() as connection:
        if snapshot and engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection


CHECKPOINT_INTERVAL_SECONDS = 2  # how often a serving store copies its WAL into the database


def checkpoint(engine: Engine) -> tuple[int, int, int]:
    """Copy what the WAL holds into the database without blocking writers (SQLite's PASSIVE mode);
    returns (busy, WAL pages, pages copied)."""
    with engine.connect() as connection:
        row = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        return int(row[0]), int(row[1]), int(row[2])


class LoggedStore:
    """A store whose writes are logged: at start it opens the engine, brings the schema up to date,
    makes sure the change log's state row exists and starts the clock from the last time it holds.
    ``writer_id`` is the node (or hub) id its changes are stamped with."""

    def __init__(self, url: str, writer_id: str, wal_autocheckpoint: bool = True,
                 cache_mib: int = DEFAULT_CACHE_MIB) -> None:
        self.writer_id = writer_id
        self.engine = create_store_engine(url, wal_autocheckpoint, cache_mib=cache_mib)
        # SQLite takes one writer at a time, and a writer that finds the lock taken sleeps in steps
        # of up to 100 ms before it looks again: behind a long pull a kiosk's check-in could sleep
        # past every gap between the pull's transactions. Writers of this process queue on a lock
        # instead and are woken the moment the one before commits. (PostgreSQL needs none.)
        self._writers: Any = threading.RLock() if self.engine.dialect.name == "sqlite" else nullcontext()
        upgrade(self.engine)
        with write_transaction(self.engine) as conn:
            ensure_log_state(conn, LOG_TABLES)
        with self.read() as conn:
            self.clock = HybridLogicalClock(last=read_clock(conn, LOG_TABLES))

    def capture_on(self, conn: Connection) -> UnitOfWork:
        """A unit of work inside a write transaction the caller holds; the caller finishes it."""
        return UnitOfWork(conn, metadata, LOG_TABLES, self.writer_id, self.clock, SCHEMA_VERSION, new_id)

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction, taken in turn with this process's other writers."""
        with self._writers, write_transaction(self.engine) as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction with no change capture (bookkeeping tables, applying what was pulled)."""
        with self.writing() as conn:
            yield conn

    @contextmanager
    def read(self, snapshot: bool = False) -> Iterator[Connection]:
        with read_transaction(self.engine, snapshot) as conn:
            yield conn

    def head(self) -> tuple[int, bytes]:
        with self.read() as conn:
            return read_head(conn, LOG_TABLES)

    def checkpoint(self) -> tuple[int, int, int] | None:
        """Copy the WAL into the database (SQLite); PostgreSQL needs nothing of the kind."""
        if self.engine.dialect.name != "sqlite":
            return None
        return checkpoint(self.engine)

    def close(self) -> None:
        self.engine.dispose()
