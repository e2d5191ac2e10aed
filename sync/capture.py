"""Change capture: business rows and their change-log rows written in one transaction.

A :class:`UnitOfWork` is opened on a connection that is already inside a transaction. Every
insert, update or tombstone it makes also appends a :class:`~campus.sync.changes.Change` with
the node's next seq and chained hash, so a crash leaves either both or neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, MetaData, Table, insert, select, update

from campus.sync.bulk import insert_rows
from campus.sync.changes import GENESIS_HASH, INSERT, UPDATE, Change, link_hash
from campus.sync.hlc import HybridLogicalClock
from campus.sync.policy import Merge, policy_of
from campus.sync.versions import (
    ROW_VERSION,
    StoredVersion,
    Version,
    effective,
    select_versions,
    upsert_version_tuples,
    write_versions,
)

HEAD_KEY = "log_head"
CLOCK_KEY = "hlc"
TOMBSTONE_COLUMN = "deleted"


class CaptureError(Exception):
    """A write that change capture cannot record (unknown table, append-only update...)."""


class RowNotFound(CaptureError):
    def __init__(self, table: str, row_id: str) -> None:
        super().__init__(f"{table} has no row {row_id}")
        self.table = table
        self.row_id = row_id


@dataclass(frozen=True, slots=True)
class LogTables:
    """The tables change capture writes besides the business rows."""

    log: Table  # seq, hlc, table_name, row_id, body, hash
    state: Table  # key, int_value, blob_value
    versions: Table  # table_name, row_id, field, hlc, node_id, pending_value


def read_head(conn: Connection, tables: LogTables) -> tuple[int, bytes]:
    row = conn.execute(
        select(tables.state.c.int_value, tables.state.c.blob_value)
        .where(tables.state.c.key == HEAD_KEY)
        .with_for_update()
    ).first()
    return (row.int_value, row.blob_value) if row else (0, GENESIS_HASH)


def ensure_log_state(conn: Connection, tables: LogTables) -> None:
    """Create the head row up front, so concurrent writers always have a row to lock."""
    exists = conn.execute(select(tables.state.c.key).where(tables.state.c.key == HEAD_KEY)).first()
    if not exists:
        conn.execute(insert(tables.state).values(key=HEAD_KEY, int_value=0, blob_value=GENESIS_HASH))


def read_clock(conn: Connection, tables: LogTables) -> int:
    value = conn.execute(
        select(tables.state.c.int_value).where(tables.state.c.key == CLOCK_KEY)
    ).scalar()
    return value or 0


def _put_state(conn: Connection, tables: LogTables, key: str, int_value: int, blob: bytes | None) -> None:
    done = conn.execute(
        update(tables.state)
        .where(tables.state.c.key == key)
        .values(int_value=int_value, blob_value=blob)
    ).rowcount
    if not done:
        conn.execute(insert(tables.state).values(key=key, int_value=int_value, blob_value=blob))


def save_clock(conn: Connection, tables: LogTables, clock_value: int) -> None:
    _put_state(conn, tables, CLOCK_KEY, clock_value, None)


class UnitOfWork:
    """Writes rows and their changes together; use inside an open transaction."""

    def __init__(
        self,
        conn: Connection,
        metadata: MetaData,
        tables: LogTables,
        node_id: str,
        clock: HybridLogicalClock,
        schema_version: int,
        new_id: Callable[[], str],
    ) -> None:
        self.conn = conn
        self._metadata = metadata
        self._tables = tables
        self._node_id = node_id
        self._clock = clock
        self._schema_version = schema_version
        self._new_id = new_id
        self.changes: list[Change] = []
        # The hub's feed reads ``changes`` at commit; a long import at a node, which nothing reads them
        # from, turns this off (with :meth:`flush`) so its memory does not grow with its rows.
        self.keep_changes = True
        self._head: tuple[int, bytes] | None = None
        self._log_rows: list[dict[str, Any]] = []  # written in one executemany by finish()
        self._savepoints = 0

    def _table(self, name: str) -> Table:
        table = self._metadata.tables.get(name)
        if table is None or policy_of(table) is None:
            raise CaptureError(f"{name} is not a replicated table")
        return table

    def _start(self) -> None:
        if self._head is None:
            self._head = read_head(self.conn, self._tables)
            self._clock.advance_past(read_clock(self.conn, self._tables))

    def timestamp(self) -> int:
        """An HLC timestamp for a fact recorded in a row (ordering such facts across nodes)."""
        self._start()
        return self._clock.now()

    def _append(self, table: str, row_id: str, op: Literal["insert", "update"], fields: dict[str, Any],
                base: dict[str, tuple[int, str]] | None = None) -> Change:
        self._start()
        assert self._head is not None  # _start read it
        seq, previous_hash = self._head
        change = Change(
            node=self._node_id,
            seq=seq + 1,
            hlc=self._clock.now(),
            table=table,
            row_id=row_id,
            op=op,
            fields=fields,
            schema=self._schema_version,
            base=base,
        )
        encoded = change.encode()
        digest = link_hash(previous_hash, encoded)
        self._log_rows.append(
            {"seq": change.seq, "hlc": change.hlc, "table_name": table, "row_id": row_id, "body": encoded,
             "hash": digest}
        )
        self._head = (change.seq, digest)
        if self.keep_changes:
            self.changes.append(change)
        return change

    def insert(self, table_name: str, values: Mapping[str, Any]) -> str:
        """Insert one row (an id is made if none is given) and record it; returns the id."""
        table = self._table(table_name)
        row = dict(values)
        row.setdefault("id", self._new_id())
        self.conn.execute(insert(table), row)
        fields = {key: value for key, value in row.items() if key != "id"}
        change = self._append(table_name, row["id"], INSERT, fields)
        policy = policy_of(table)
        assert policy is not None  # _table admits only replicated tables
        if policy.merge is Merge.LAST_WRITER_WINS:
            write_versions(self.conn, self._tables.versions, table_name, change.row_id,
                           [(ROW_VERSION, Version(change.hlc, self._node_id), None)])
        return row["id"]

    def insert_many(self, table_name: str, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """Insert rows that all have the same columns in one statement, each recorded as its own
        change exactly as :meth:`insert` records it (a long import: one statement, not one per row)."""
        table = self._table(table_name)
        made = []
        for values in rows:
            row = dict(values)
            row.setdefault("id", self._new_id())
            made.append(row)
        if not made:
            return []
        columns = list(made[0])
        if any(list(row) != columns for row in made):
            raise CaptureError(f"insert_many into {table_name}: every row needs the same columns in the same order")
        insert_rows(self.conn, table, made)
        policy = policy_of(table)
        assert policy is not None  # _table admits only replicated tables
        versions = []
        for row in made:
            change = self._append(table_name, row["id"], INSERT, {k: v for k, v in row.items() if k != "id"})
            if policy.merge is Merge.LAST_WRITER_WINS:
                versions.append((table_name, change.row_id, ROW_VERSION, change.hlc, self._node_id, None))
        if versions:
            upsert_version_tuples(self.conn, self._tables.versions, versions)
        return [row["id"] for row in made]

    def flush(self) -> None:
        """Write the change-log rows gathered so far, still inside the transaction (so a long import
        does not hold them all in memory); not inside a savepoint, whose rollback would undo them."""
        if self._savepoints:
            raise CaptureError("flush inside a savepoint")
        if self._log_rows:
            insert_rows(self.conn, self._tables.log, self._log_rows)
            self._log_rows = []

    def update(self, table_name: str, row_id: str, values: Mapping[str, Any]) -> Change | None:
        """Change some fields of a last-writer-wins row; only fields that differ are recorded."""
        table = self._table(table_name)
        policy = policy_of(table)
        assert policy is not None  # _table admits only replicated tables
        if policy.merge is Merge.APPEND_ONLY:
            raise CaptureError(f"{table_name} is append-only: correct it with a reversing entry")
        if "id" in values:
            raise CaptureError("a row's id cannot change")
        current = self.conn.execute(select(table).where(table.c.id == row_id)).mappings().first()
        if current is None:
            raise RowNotFound(table_name, row_id)
        changed = {key: value for key, value in values.items() if current[key] != value}
        if not changed:
            return None
        self.conn.execute(update(table).where(table.c.id == row_id).values(changed))
        stored = {name: StoredVersion(Version(hlc, node_id), pending) for _row, name, hlc, node_id, pending
                  in select_versions(self.conn, self._tables.versions, table_name, [row_id])}
        base = {name: (version.hlc, version.node_id) for name in changed
                if (version := effective(stored, name)) is not None}
        change = self._append(table_name, row_id, UPDATE, changed, base or None)
        version = Version(change.hlc, self._node_id)
        write_versions(self.conn, self._tables.versions, table_name, row_id, [(f, version, None) for f in changed])
        return change

    def tombstone(self, table_name: str, row_id: str) -> Change | None:
        """Mark a row deleted; rows are never removed, so the deletion replicates."""
        if TOMBSTONE_COLUMN not in self._table(table_name).c:
            raise CaptureError(f"{table_name} has no {TOMBSTONE_COLUMN} column")
        return self.update(table_name, row_id, {TOMBSTONE_COLUMN: True})

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Writes inside are all kept or all undone, without ending the transaction (one import row)."""
        mark = (len(self._log_rows), self._head, len(self.changes))
        nested = self.conn.begin_nested()
        self._savepoints += 1
        try:
            yield
        except BaseException:
            nested.rollback()
            del self._log_rows[mark[0]:]
            self._head = mark[1]
            del self.changes[mark[2]:]
            raise
        finally:
            self._savepoints -= 1
        nested.commit()

    def finish(self) -> None:
        """Persist the log head and clock; call once, just before the commit."""
        if self._log_rows:
            insert_rows(self.conn, self._tables.log, self._log_rows)
            self._log_rows = []
        if self._head is not None:
            _put_state(self.conn, self._tables, HEAD_KEY, *self._head)
            save_clock(self.conn, self._tables, self._clock.last)
