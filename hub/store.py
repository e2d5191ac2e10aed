"""The hub's merged store: SQLite by default, PostgreSQL by URL, through the same Core code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, select

from campus.schema.db import create_store_engine, read_transaction, write_transaction
from campus.schema.ids import new_id
from campus.schema.migrate import upgrade
from campus.schema.tables import SCHEMA_VERSION, campuses, change_log, local_state, metadata
from campus.sync.capture import LogTables, UnitOfWork, read_clock, read_head
from campus.sync.hlc import HybridLogicalClock

LOG_TABLES = LogTables(log=change_log, state=local_state)


class HubStore:
    def __init__(self, url: str, hub_id: str) -> None:
        self.hub_id = hub_id
        self.engine = create_store_engine(url)
        upgrade(self.engine)
        with self.read() as conn:
            self.clock = HybridLogicalClock(last=read_clock(conn, LOG_TABLES))

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """Hub-owned writes (campuses, users, price lists) and their change log, in one transaction."""
        with write_transaction(self.engine) as conn:
            uow = UnitOfWork(conn, metadata, LOG_TABLES, self.hub_id, self.clock, SCHEMA_VERSION, new_id)
            yield uow
            uow.finish()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with read_transaction(self.engine) as conn:
            yield conn

    def head(self) -> tuple[int, bytes]:
        with self.read() as conn:
            return read_head(conn, LOG_TABLES)

    def list_campuses(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(select(campuses).where(campuses.c.deleted.is_(False)).order_by(campuses.c.code))
            return [dict(r) for r in rows.mappings()]

    def close(self) -> None:
        self.engine.dispose()
