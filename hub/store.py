"""The hub's merged store: SQLite by default, PostgreSQL by URL, through the same Core code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, select

from campus.hub import feed
from campus.schema.db import LoggedStore
from campus.schema.tables import campuses
from campus.sync.capture import UnitOfWork

HUB_CACHE_MIB = 64  # the hub's store holds every campus; its page cache is sized for that


class HubStore(LoggedStore):
    def __init__(self, url: str, hub_id: str, wal_autocheckpoint: bool = True) -> None:
        self.hub_id = hub_id
        super().__init__(url, hub_id, wal_autocheckpoint, cache_mib=HUB_CACHE_MIB)

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """Hub-owned writes (campuses, users, price lists) and their change log, in one transaction."""
        with self.writing() as conn:
            uow = self.unit_of_work_on(conn)
            yield uow
            self.finish(uow)

    def unit_of_work_on(self, conn: Connection) -> UnitOfWork:
        """A unit of work inside a transaction the caller already holds; end it with :meth:`finish`."""
        return self.capture_on(conn)

    def finish(self, uow: UnitOfWork) -> None:
        """Close the unit of work and publish its changes to the feed nodes pull from."""
        uow.finish()
        feed.publish(uow.conn, feed.group(feed.entries_for(uow.conn, uow.changes)))

    def list_campuses(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(select(campuses).where(campuses.c.deleted.is_(False)).order_by(campuses.c.code))
            return [dict(r) for r in rows.mappings()]
