"""The campus node's SQLite store and the unit of work every business write goes through."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, func, select

from campus.schema.db import LOG_TABLES, LoggedStore, sqlite_url
from campus.schema.tables import change_log
from campus.sync.capture import UnitOfWork
from campus.sync.changes import verify_chain

__all__ = ["LOG_TABLES", "NodeStore"]


class NodeStore(LoggedStore):
    def __init__(self, database_path: Path, node_id: str, wal_autocheckpoint: bool = True) -> None:
        self.node_id = node_id
        super().__init__(sqlite_url(database_path), node_id, wal_autocheckpoint)

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """Rows and change-log entries written here commit together, or not at all."""
        with self.writing() as conn, self.capture(conn) as uow:
            yield uow

    @contextmanager
    def capture(self, conn: Connection) -> Iterator[UnitOfWork]:
        """A unit of work inside a write transaction the caller already holds."""
        uow = self.capture_on(conn)
        yield uow
        uow.finish()

    def change_count(self) -> int:
        with self.read() as conn:
            return conn.execute(select(func.count()).select_from(change_log)).scalar_one()

    def verify_log(self) -> tuple[int, bytes]:
        """Walk the whole change log from seq 1; raises ChainBroken at the first bad link."""
        with self.read() as conn:
            rows = conn.execute(select(change_log.c.seq, change_log.c.body, change_log.c.hash).order_by(change_log.c.seq))
            return verify_chain((seq, body, digest) for seq, body, digest in rows)
