"""The hub's feed: every change the hub accepted or wrote, in one order, for nodes to pull.

The feed is kept in segments: the bodies of consecutive changes from one origin node for one
scope (a campus, or every node), packed into one row of at most :data:`SEGMENT_BYTES`. A push
of thousands of changes becomes a handful of rows, and a pull reads whole segments.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from sqlalchemy import Connection, func, insert, or_, select

from campus.schema.tables import hub_feed, hub_feed_students, metadata
from campus.sync import codec
from campus.sync.bulk import insert_rows
from campus.sync.changes import Change
from campus.sync.policy import policy_of, scope_of
from campus.sync.visits import campuses_of_student, student_of, visits_of

SEGMENT_BYTES = 256 << 10
# Tables whose rows are about a student, and so also go where the student studies.
STUDENT_TABLES = frozenset(table.name for table in metadata.sorted_tables
                           if (policy := policy_of(table)) is not None and policy.student_column is not None)


class Entry(NamedTuple):
    """One change body bound for one scope; ``student`` is the student its row is about, if any."""

    origin: str
    seq: int
    scope: str | None
    body: bytes
    student: str | None = None


def scope_campus(conn: Connection, change: Change) -> str | None:
    """The campus whose nodes subscribe to this change's row, or None for every node."""
    table = metadata.tables[change.table]
    policy = policy_of(table)
    assert policy is not None
    column = policy.campus_column
    if column is None:
        return None
    if column in change.fields:
        return scope_of(policy, change.fields[column])
    return scope_of(policy, conn.execute(select(table.c[column]).where(table.c.id == change.row_id)).scalar())


def entries_for(conn: Connection, changes: Iterable[Change]) -> list[Entry]:
    """Feed entries for changes the hub itself wrote."""
    return [Entry(change.node, change.seq, scope_campus(conn, change), change.encode(),
                  student_of(conn, metadata.tables[change.table], change.row_id, change.fields))
            for change in changes]


Groups = dict[tuple[str, str | None], list[tuple[int, bytes, str | None]]]  # (origin, scope) -> (seq, body, student)


def group(entries: Iterable[Entry], into: Groups | None = None) -> Groups:
    """Entries by (origin, scope), each group in the order given."""
    groups: Groups = into if into is not None else {}
    for entry in entries:
        groups.setdefault((entry.origin, entry.scope), []).append((entry.seq, entry.body, entry.student))
    return groups


def publish(conn: Connection, groups: Groups) -> None:
    """Append each group to the feed as segments of at most :data:`SEGMENT_BYTES`, stamped with
    the time the hub took them in."""
    if not groups:
        return
    if conn.dialect.name == "postgresql":
        # feed_seq comes from a sequence: without this, a later number could commit before an
        # earlier one, and a pull that saw the later one would move a node's cursor past the
        # earlier. Held to commit; readers are not blocked. (SQLite writers queue anyway.)
        conn.exec_driver_sql("LOCK TABLE hub_feed IN EXCLUSIVE MODE")
    now_ms = time.time_ns() // 1_000_000
    index: list[dict[str, Any]] = []
    for (origin, scope), items in groups.items():
        start = 0
        while start < len(items):
            end, size = start + 1, len(items[start][1])
            while end < len(items) and size + len(items[end][1]) <= SEGMENT_BYTES:
                size += len(items[end][1])
                end += 1
            segment = items[start:end]
            primary_key = conn.execute(insert(hub_feed).values(
                origin_node=origin, first_origin_seq=segment[0][0], last_origin_seq=segment[-1][0], campus_id=scope,
                count=len(segment), bodies=codec.pack([body for _, body, _ in segment]),
                accepted_at_ms=now_ms)).inserted_primary_key
            assert primary_key is not None  # a one-row insert
            feed_seq = primary_key[0]
            index += [{"student_id": s, "feed_seq": feed_seq} for s in sorted({s for _, _, s in segment if s})]
            start = end
    insert_rows(conn, hub_feed_students, index)


def unpack(bodies: bytes) -> list[bytes]:
    return codec.unpack(bodies)


def segments_for(conn: Connection, node_id: str, campus_id: str, after: int, upto: int,
                 page: int = 16) -> Iterator[tuple[int, bytes]]:
    """``(feed_seq, packed bodies)`` of the segments a node subscribes to in ``(after, upto]``,
    read a few at a time so that a reader stopping early never fetches the rest."""
    while True:
        rows = conn.execute(select(hub_feed.c.feed_seq, hub_feed.c.bodies).where(
            hub_feed.c.feed_seq > after, hub_feed.c.feed_seq <= upto, hub_feed.c.origin_node != node_id,
            or_(hub_feed.c.campus_id.is_(None), hub_feed.c.campus_id == campus_id))
            .order_by(hub_feed.c.feed_seq).limit(page)).all()
        yield from ((feed_seq, packed) for feed_seq, packed in rows)
        if len(rows) < page:
            return
        after = rows[-1][0]


def head(conn: Connection) -> int:
    return conn.execute(select(func.max(hub_feed.c.feed_seq))).scalar() or 0


def listing(conn: Connection) -> list[tuple[int, str | None, str, int]]:
    """``(feed_seq, scope, origin node, origin seq)`` of every change in the feed, in feed order."""
    return [(feed_seq, scope, origin, codec.decode(body)["seq"])
            for feed_seq, scope, origin, packed in conn.execute(select(
                hub_feed.c.feed_seq, hub_feed.c.campus_id, hub_feed.c.origin_node, hub_feed.c.bodies)
                .order_by(hub_feed.c.feed_seq))
            for body in unpack(packed)]


class Routing:
    """Where a batch's changes go besides their own scope: to every campus their student studies
    at. Answers are remembered for the batch (ask after the batch is merged)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._campuses: dict[str, frozenset[str]] = {}
        self._students: dict[tuple[str, str], str | None] = {}

    def student(self, change: Change) -> str | None:
        if change.table not in STUDENT_TABLES:
            return None
        key = (change.table, change.row_id)
        if key not in self._students:
            self._students[key] = student_of(self.conn, metadata.tables[change.table], change.row_id, change.fields)
        return self._students[key]

    def campuses(self, student: str) -> frozenset[str]:
        if student not in self._campuses:
            self._campuses[student] = frozenset(campuses_of_student(self.conn, metadata, student))
        return self._campuses[student]

    def also_to(self, student: str | None, scope: str | None) -> list[str]:
        """Campuses besides ``scope`` that get a change about ``student``."""
        if scope is None or student is None:
            return []  # every node has it already, or it is nobody's student row
        return sorted(self.campuses(student) - {scope})


def students_touched(conn: Connection, changes: list[Change]) -> set[str]:
    """Students whose study campuses a batch may change (it writes rows of the visits table)."""
    visits = visits_of(metadata)
    if visits is None:
        return set()
    table = metadata.tables[visits.table]
    return {s for c in changes if c.table == visits.table
            for s in [student_of(conn, table, c.row_id, c.fields)] if s}


def _rows_of_student(conn: Connection, student_id: str) -> set[tuple[str, str]]:
    rows: set[tuple[str, str]] = set()
    for name in STUDENT_TABLES:
        table = metadata.tables[name]
        column = table.c[policy_of(table).student_column]  # type: ignore[union-attr,index]
        rows |= {(name, row_id) for row_id in conn.execute(select(table.c.id).where(column == student_id)).scalars()}
    return rows


def history_for(conn: Connection, student_id: str, campus_id: str) -> list[Entry]:
    """Copies, scoped to ``campus_id``, of every change to the student's rows that campus has not
    been sent (in feed order), for a campus where the student has just started to study."""
    rows = _rows_of_student(conn, student_id)
    segments = conn.execute(select(hub_feed.c.origin_node, hub_feed.c.campus_id, hub_feed.c.bodies).where(
        hub_feed.c.feed_seq.in_(select(hub_feed_students.c.feed_seq).where(
            hub_feed_students.c.student_id == student_id))).order_by(hub_feed.c.feed_seq)).all()
    found: list[tuple[str | None, str, int, bytes]] = []
    for origin, scope, packed in segments:
        for body in unpack(packed):
            wire = codec.decode(body)
            if (wire["table"], wire["id"]) in rows:
                found.append((scope, origin, wire["seq"], body))
    sent = {(origin, seq) for scope, origin, seq, _ in found if scope in (campus_id, None)}
    history: list[Entry] = []
    for _scope, origin, seq, body in found:
        if (origin, seq) not in sent:
            sent.add((origin, seq))
            history.append(Entry(origin, seq, campus_id, body, student_id))
    return history
