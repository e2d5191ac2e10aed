"""A node's store as sync sees it: what to push, where pulls resume, and applying what arrives."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy import Connection, MetaData, insert, select, update

from campus.sync.bulk import gc_paused
from campus.sync.capture import HEAD_KEY, LogTables, read_head, save_clock
from campus.sync.changes import ChainBroken, Change, decode_change, verify_chain
from campus.sync.digest import subscription_digests
from campus.sync.hlc import HybridLogicalClock
from campus.sync.merge import Merger

PUSHED_KEY = "pushed_seq"
CURSOR_KEY = "pull_cursor"
LAST_SYNC_KEY = "last_sync_ms"
DIVERGENT_KEY = "divergent_tables"


class SchemaTooNew(Exception):
    def __init__(self, change_schema: int, local_schema: int) -> None:
        super().__init__(f"the hub sent changes written under schema {change_schema}; this node runs schema "
                         f"{local_schema}: upgrade Campus on this node, nothing was applied")
        self.change_schema = change_schema


class Store(Protocol):
    node_id: str
    clock: HybridLogicalClock

    def read(self) -> AbstractContextManager[Connection]: ...

    def write(self) -> AbstractContextManager[Connection]: ...


# Changes applied per transaction when a pulled page is applied: about ten milliseconds of work,
# so a kiosk's check-in waits at most about that long behind a large pull. After each chunk the
# pull rests twice as long as the chunk took: a background sync uses a third of a core, and the
# requests it held up (and Python's lock) go first.
APPLY_CHUNK_CHANGES = 250
APPLY_DUTY = 0.33  # the share of the time a pull may spend applying


class NodeReplica:
    def __init__(self, store: Store, metadata: MetaData, tables: LogTables, campus_id: str | None = None,
                 schema_version: int = 1 << 30,
                 after_apply: Callable[[Connection, list[Change]], object] | None = None) -> None:
        self.store = store
        # Domain rules checked once pulled changes are in, in the same transaction: a crash cannot
        # move the cursor past changes no rule has looked at.
        self.after_apply = after_apply
        self.schema_version = schema_version
        self.metadata = metadata
        self.campus_id = campus_id
        self.tables = tables
        self.merger = Merger(metadata, tables.versions)

    def _get(self, conn: Connection, key: str) -> int:
        value = conn.execute(select(self.tables.state.c.int_value).where(self.tables.state.c.key == key)).scalar()
        return value or 0

    def _put(self, conn: Connection, key: str, value: int) -> None:
        state = self.tables.state
        if not conn.execute(update(state).where(state.c.key == key).values(int_value=value)).rowcount:
            conn.execute(insert(state).values(key=key, int_value=value))

    def head(self) -> tuple[int, bytes]:
        with self.store.read() as conn:
            return read_head(conn, self.tables)

    def digest_at(self, seq: int) -> bytes | None:
        """The hash of this node's change ``seq``, if its log holds it."""
        log = self.tables.log
        with self.store.read() as conn:
            return conn.execute(select(log.c.hash).where(log.c.seq == seq)).scalar()

    def pushed_seq(self) -> int:
        with self.store.read() as conn:
            return self._get(conn, PUSHED_KEY)

    def pull_cursor(self) -> int:
        with self.store.read() as conn:
            return self._get(conn, CURSOR_KEY)

    def last_sync_ms(self) -> int:
        with self.store.read() as conn:
            return self._get(conn, LAST_SYNC_KEY)

    def mark_pushed(self, seq: int) -> None:
        with self.store.write() as conn:
            self._put(conn, PUSHED_KEY, seq)

    def mark_synced(self, at_ms: int) -> None:
        with self.store.write() as conn:
            self._put(conn, LAST_SYNC_KEY, at_ms)

    def compare_checkpoint(self, hub_digests: dict[str, str]) -> list[str]:
        """Tables whose contents here differ from the hub's; recorded so the node can show them."""
        if self.campus_id is None:
            raise ValueError("comparing a checkpoint needs the node's campus id")
        with self.store.read() as conn:
            mine = subscription_digests(conn, self.metadata, self.campus_id)
        divergent = sorted(name for name, digest in hub_digests.items() if mine.get(name) != digest)
        with self.store.write() as conn:
            self._put(conn, DIVERGENT_KEY, len(divergent))
        return divergent

    def divergent_table_count(self) -> int:
        with self.store.read() as conn:
            return self._get(conn, DIVERGENT_KEY)

    def outgoing(self, after_seq: int, max_bytes: int) -> list[tuple[int, bytes, bytes]]:
        """The next links of this node's log after ``after_seq``, at most ``max_bytes`` (at least one)."""
        log = self.tables.log
        batch: list[tuple[int, bytes, bytes]] = []
        size = 0
        with self.store.read() as conn:
            rows = conn.execute(select(log.c.seq, log.c.body, log.c.hash).where(log.c.seq > after_seq)
                                .order_by(log.c.seq).limit(20_000))
            for seq, body, digest in rows:
                if batch and size + len(body) + 48 > max_bytes:
                    break
                batch.append((seq, body, digest))
                size += len(body) + 48
        return batch

    def apply_pulled_entries(self, entries: list[tuple[int, bytes]], cursor: int,
                             chunk_changes: int = APPLY_CHUNK_CHANGES) -> int:
        """Apply a pulled page in transactions of about ``chunk_changes`` changes, each moving the
        cursor to the last feed entry it holds whole, so other writers (a kiosk's check-in) get the
        store between them instead of waiting for the whole page; a crash resumes after the last."""
        applied, start = 0, 0  # a chunk from a newer schema stops here: the cursor stays before it
        while start < len(entries):
            end = min(start + chunk_changes, len(entries))
            while end < len(entries) and entries[end][0] == entries[end - 1][0]:
                end += 1  # never split one feed entry's changes between two transactions
            through = cursor if end == len(entries) else entries[end - 1][0]
            began = time.perf_counter()
            applied += self.apply_pulled([body for _seq, body in entries[start:end]], through)
            start = end
            if start < len(entries):
                time.sleep((time.perf_counter() - began) * (1 - APPLY_DUTY) / APPLY_DUTY)
        if not entries:
            self.apply_pulled([], cursor)
        return applied

    def apply_pulled(self, bodies: list[bytes], cursor: int) -> int:
        """Apply changes the hub sent (already signature-checked) and move the cursor, atomically."""
        changes = [decode_change(body) for body in bodies]
        newer = [change for change in changes if change.schema > self.schema_version]
        if newer:
            # Applying part of a newer schema's changes would lose the rest when the cursor moves on.
            raise SchemaTooNew(newer[0].schema, self.schema_version)
        with gc_paused(), self.store.write() as conn:
            self.merger.apply_batch(conn, changes)
            newest = max((change.hlc for change in changes), default=0)
            if newest:
                self.store.clock.observe(newest)
                save_clock(conn, self.tables, self.store.clock.last)
            if changes and self.after_apply is not None:
                self.after_apply(conn, changes)
            self._put(conn, CURSOR_KEY, cursor)
        return len(bodies)

    def restore_own(self, links: list[tuple[int, bytes, bytes]]) -> int:
        """Take back this node's own changes the hub holds beyond the local head (restore from backup)."""
        with self.store.write() as conn:
            head_seq, head_hash = read_head(conn, self.tables)
            fresh = [link for link in links if link[0] > head_seq]
            if not fresh:
                return 0
            new_head = verify_chain(fresh, head_seq, head_hash)
            changes = [decode_change(body) for _seq, body, _digest in fresh]
            for (seq, _body, _digest), change in zip(fresh, changes, strict=True):
                if change.node != self.store.node_id:
                    raise ChainBroken(seq, "the hub sent another node's change as this node's own")
            conn.execute(insert(self.tables.log), [
                {"seq": seq, "hlc": change.hlc, "table_name": change.table, "row_id": change.row_id,
                 "body": body, "hash": digest} for (seq, body, digest), change in zip(fresh, changes, strict=True)])
            self.merger.apply_batch(conn, changes)
            newest = max(change.hlc for change in changes)
            state = self.tables.state
            conn.execute(update(state).where(state.c.key == HEAD_KEY).values(int_value=new_head[0],
                                                                             blob_value=new_head[1]))
            self.store.clock.observe(newest)
            save_clock(conn, self.tables, self.store.clock.last)
            self._put(conn, PUSHED_KEY, new_head[0])
            return len(fresh)
