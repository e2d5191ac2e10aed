"""The hub's merged store: SQLite by default, PostgreSQL by URL, through the same Core code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, select

from campus.hub import feed
from campus.schema.db import checkpoint, create_store_engine, read_transaction, write_transaction
from campus.schema.ids import new_id
from campus.schema.migrate import upgrade
from campus.schema.tables import SCHEMA_VERSION, campuses, change_log, field_versions, local_state, metadata
from campus.sync.capture import LogTables, UnitOfWork, ensure_log_state, read_clock, read_head
from campus.sync.hlc import HybridLogicalClock

HUB_CACHE_MIB = 64  # the hub's store holds every campus; its page cache is sized for that
LOG_TABLES = LogTables(log=change_log, state=local_state, versions=field_versions)


class HubStore:
    def __init__(self, url: str, hub_id: str, wal_autocheckpoint: bool = True) -> None:
        self.hub_id = hub_id
        self.engine = create_store_engine(url, wal_autocheckpoint, cache_mib=HUB_CACHE_MIB)
        upgrade(self.engine)
        with write_transaction(self.engine) as conn:
            ensure_log_state(conn, LOG_TABLES)
        with self.read() as conn:
            self.clock = HybridLogicalClock(last=read_clock(conn, LOG_TABLES))

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """Hub-owned writes (campuses, users, price lists) and their change log, in one transaction."""
        with write_transaction(self.engine) as conn:
            uow = self.unit_of_work_on(conn)
            yield uow
            self.finish(uow)

    def unit_of_work_on(self, conn: Connection) -> UnitOfWork:
        """A unit of work inside a transaction the caller already holds; end it with :meth:`finish`."""
        return UnitOfWork(conn, metadata, LOG_TABLES, self.hub_id, self.clock, SCHEMA_VERSION, new_id)

    def finish(self, uow: UnitOfWork) -> None:
        """Close the unit of work and publish its changes to the feed nodes pull from."""
        uow.finish()
        feed.publish(uow.conn, feed.group(feed.entries_for(uow.conn, uow.changes)))

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction with no change capture, for the hub's own bookkeeping tables."""
        with write_transaction(self.engine) as conn:
            yield conn

    @contextmanager
    def read(self, snapshot: bool = False) -> Iterator[Connection]:
        with read_transaction(self.engine, snapshot) as conn:
            yield conn

    def head(self) -> tuple[int, bytes]:
        with self.read() as conn:
            return read_head(conn, LOG_TABLES)

    def list_campuses(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(select(campuses).where(campuses.c.deleted.is_(False)).order_by(campuses.c.code))
            return [dict(r) for r in rows.mappings()]

    def checkpoint(self) -> tuple[int, int, int] | None:
        """Copy the WAL into the database (SQLite); PostgreSQL needs nothing of the kind."""
        if self.engine.dialect.name != "sqlite":
            return None
        return checkpoint(self.engine)

    def close(self) -> None:
        self.engine.dispose()
