"""Overdraft after a merge: two campuses consumed one contract line's hours while offline and,
together, more than it held. Nothing is dropped: the entries stay, the balance shows below
zero, and a conflict record says so. Every store that sees the same entries writes the same
conflict (its id and content come from the entry that first took the line below zero)."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import Connection, func, select

from campus.node.finance.ledger import entries_of, line_row
from campus.schema.assets import Balance, entry_from_row
from campus.schema.quantities import LessonHours
from campus.schema.tables import asset_entries, conflicts
from campus.sync.capture import UnitOfWork

CONFLICT_NAMESPACE = uuid.UUID("5d0f3c2a-8e4b-4f6e-9a1c-2b7d9e0f4a31")
OVERDRAFT = "overdraft"
CHUNK = 500


def _below_zero(conn: Connection, line_ids: set[str]) -> set[str]:
    """The lines among ``line_ids`` whose hours now sum below zero: only those are looked at entry
    by entry."""
    ids = sorted(line_ids)
    found: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        found.update(conn.execute(
            select(asset_entries.c.line_id).where(asset_entries.c.line_id.in_(ids[start:start + CHUNK]))
            .group_by(asset_entries.c.line_id).having(func.sum(asset_entries.c.hours_x100) < 0)).scalars())
    return found


def record_overdrafts(uow: UnitOfWork, line_ids: set[str]) -> int:
    recorded = 0
    for line_id in sorted(_below_zero(uow.conn, line_ids)):
        entries = entries_of(uow.conn, line_id)  # in (at, id) order: the same on every store
        if not entries:
            continue
        running, first_below = Balance(), None
        for entry in entries:
            running = running.after([entry_from_row(entry)])
            if running.hours_x100 < 0 and first_below is None:
                first_below = (entry, running)
        if first_below is None or running.hours_x100 >= 0:
            continue
        entry, at_that_point = first_below
        if entry["kind"] == "refunded":
            continue  # refunds paid at two campuses: an over-refund, recorded as such (node.refunds.detectors)
        conflict_id = str(uuid.uuid5(CONFLICT_NAMESPACE, f"{OVERDRAFT}:{line_id}:{entry['id']}"))
        if uow.conn.execute(select(conflicts.c.id).where(conflicts.c.id == conflict_id)).first():
            continue
        line = line_row(uow.conn, line_id)
        uow.insert("conflicts", {
            "id": conflict_id, "campus_id": line["campus_id"], "kind": OVERDRAFT, "table_name": "contract_lines",
            "row_id": line_id, "field": "hours_x100", "kept_value": json.dumps(at_that_point.hours_x100),
            "lost_value": None, "lost_node_id": None, "lost_hlc": None, "kept_node_id": None, "kept_hlc": None,
            "detail": f"lessons confirmed at more than one campus while offline took this line to "
                      f"{LessonHours(at_that_point.hours_x100)} hours; every deduction is kept: renew, or "
                      f"reverse a confirmation",
            "detected_at": entry["at"], "deleted": False})
        recorded += 1
    return recorded
