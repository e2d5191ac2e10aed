"""The campus node's SQLite store and the unit of work every business write goes through."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, func, select

from campus.schema.db import checkpoint, create_store_engine, read_transaction, sqlite_url, write_transaction
from campus.schema.ids import new_id
from campus.schema.migrate import upgrade
from campus.schema.tables import SCHEMA_VERSION, change_log, field_versions, local_state, metadata
from campus.sync.capture import LogTables, UnitOfWork, ensure_log_state, read_clock, read_head
from campus.sync.changes import verify_chain
from campus.sync.hlc import HybridLogicalClock

LOG_TABLES = LogTables(log=change_log, state=local_state, versions=field_versions)


class NodeStore:
    def __init__(self, database_path: Path, node_id: str, wal_autocheckpoint: bool = True) -> None:
        self.node_id = node_id
        self.engine = create_store_engine(sqlite_url(database_path), wal_autocheckpoint)
        upgrade(self.engine)
        with write_transaction(self.engine) as conn:
            ensure_log_state(conn, LOG_TABLES)
        with self.read() as conn:
            self.clock = HybridLogicalClock(last=read_clock(conn, LOG_TABLES))

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """Rows and change-log entries written here commit together, or not at all."""
        with write_transaction(self.engine) as conn, self.capture(conn) as uow:
            yield uow

    @contextmanager
    def capture(self, conn: Connection) -> Iterator[UnitOfWork]:
        """A unit of work inside a write transaction the caller already holds."""
        uow = UnitOfWork(conn, metadata, LOG_TABLES, self.node_id, self.clock, SCHEMA_VERSION, new_id)
        yield uow
        uow.finish()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction without change capture: for sync bookkeeping and applying pulls only."""
        with write_transaction(self.engine) as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with read_transaction(self.engine) as conn:
            yield conn

    def head(self) -> tuple[int, bytes]:
        with self.read() as conn:
            return read_head(conn, LOG_TABLES)

    def change_count(self) -> int:
        with self.read() as conn:
            return conn.execute(select(func.count()).select_from(change_log)).scalar_one()

    def verify_log(self) -> tuple[int, bytes]:
        """Walk the whole change log from seq 1; raises ChainBroken at the first bad link."""
        with self.read() as conn:
            rows = conn.execute(select(change_log.c.seq, change_log.c.body, change_log.c.hash).order_by(change_log.c.seq))
            return verify_chain((seq, body, digest) for seq, body, digest in rows)

    def checkpoint(self) -> tuple[int, int, int]:
        return checkpoint(self.engine)

    def close(self) -> None:
        self.engine.dispose()
