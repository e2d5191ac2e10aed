"""The hub's feed: every change the hub accepted or wrote, in one order, for nodes to pull."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, select

from campus.schema.tables import hub_feed, metadata
from campus.sync.bulk import insert_rows
from campus.sync.changes import Change
from campus.sync.policy import policy_of, scope_of


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
        "campus_id": scope_campus(conn, change),
        "body": body,
    }
