"""The hub's feed: every change the hub accepted or wrote, in one order, for nodes to pull."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, select

from campus.schema.tables import hub_feed, metadata
from campus.sync.bulk import insert_rows
from campus.sync.changes import Change
from campus.sync.policy import policy_of, scope_of
from campus.sync.visits import campuses_of_student, student_of, visits_of


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


def append(conn: Connection, entries: list[dict[str, Any]]) -> None:
    """Entries: origin_node, origin_seq, table_name, campus_id, body; stamped with the time taken in."""
    now_ms = time.time_ns() // 1_000_000
    insert_rows(conn, hub_feed, [{**entry, "accepted_at_ms": now_ms} for entry in entries])


def entry_for(conn: Connection, change: Change, body: bytes) -> dict[str, Any]:
    return {
        "origin_node": change.node,
        "origin_seq": change.seq,
        "table_name": change.table,
        "row_id": change.row_id,
        "campus_id": scope_campus(conn, change),
        "body": body,
    }


def also_to(conn: Connection, change: Change, scope: str | None) -> list[str]:
    """Campuses besides ``scope`` that get this change because its student studies there."""
    if scope is None:
        return []  # every node has it already
    table = metadata.tables[change.table]
    student = student_of(conn, table, change.row_id, change.fields)
    if student is None:
        return []
    return sorted(campuses_of_student(conn, metadata, student) - {scope})


def students_touched(conn: Connection, changes: list[Change]) -> set[str]:
    """Students whose study campuses a batch may change (it writes rows of the visits table)."""
    visits = visits_of(metadata)
    if visits is None:
        return set()
    table = metadata.tables[visits.table]
    return {s for c in changes if c.table == visits.table
            for s in [student_of(conn, table, c.row_id, c.fields)] if s}


def history_for(conn: Connection, student_id: str, campus_id: str) -> list[dict[str, Any]]:
    """Copies, scoped to ``campus_id``, of every feed entry about the student's rows (in feed order),
    for a campus where the student has just started to study."""
    wanted: list[tuple[int, dict[str, Any]]] = []
    seen: set[tuple[str, int]] = set()
    for table in metadata.sorted_tables:
        policy = policy_of(table)
        if policy is None or policy.student_column is None:
            continue
        column = table.c[policy.student_column]
        row_ids = select(table.c.id).where(column == student_id)
        rows = conn.execute(select(hub_feed).where(hub_feed.c.table_name == table.name,
                                                   hub_feed.c.row_id.in_(row_ids))).mappings().all()
        seen |= {(r["origin_node"], r["origin_seq"]) for r in rows if r["campus_id"] in (campus_id, None)}
        for row in rows:
            key = (row["origin_node"], row["origin_seq"])
            if key in seen:
                continue
            seen.add(key)
            wanted.append((row["feed_seq"], {"origin_node": row["origin_node"], "origin_seq": row["origin_seq"],
                                             "table_name": row["table_name"], "row_id": row["row_id"],
                                             "campus_id": campus_id, "body": row["body"]}))
    return [entry for _, entry in sorted(wanted, key=lambda pair: pair[0])]
