"""Conflicts found after a merge: listing them and resolving them, the same at node and hub."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from campus.schema.errors import Conflict, Invalid, NotFound
from campus.schema.search import ordered, paged
from campus.schema.tables import conflicts
from campus.schema.times import utc_now_text
from campus.sync.capture import UnitOfWork


class ConflictNotFound(NotFound):
    pass


class ConflictAlreadyResolved(Conflict):
    pass


def list_conflicts(conn: Connection, campus_id: str | None = None, open_only: bool = True) -> list[dict[str, Any]]:
    query = select(conflicts).order_by(conflicts.c.id)
    if campus_id is not None:
        query = query.where((conflicts.c.campus_id == campus_id) | conflicts.c.campus_id.is_(None))
    if open_only:
        query = query.where(conflicts.c.resolved_at.is_(None))
    return [dict(row) for row in conn.execute(query).mappings()]


CONFLICT_SORTS = {"detected": conflicts.c.detected_at, "kind": conflicts.c.kind, "table": conflicts.c.table_name}


def conflict_page(conn: Connection, campus_id: str | None, limit: int, offset: int, open_only: bool = True,
                  kind: str | None = None, sort: str = "detected", descending: bool = True
                  ) -> tuple[int, list[dict[str, Any]]]:
    """One page of :func:`list_conflicts` (optionally of one kind) and its count, in the order of
    one of ``CONFLICT_SORTS``."""
    query = select(conflicts)
    if campus_id is not None:
        query = query.where((conflicts.c.campus_id == campus_id) | conflicts.c.campus_id.is_(None))
    if open_only:
        query = query.where(conflicts.c.resolved_at.is_(None))
    if kind:
        query = query.where(conflicts.c.kind == kind)
    return paged(conn, query, ordered(CONFLICT_SORTS.get(sort, conflicts.c.detected_at), descending, conflicts.c.id),
                 limit, offset)


def resolve_conflict(uow: UnitOfWork, conflict_id: str, resolution: str, restore_lost_value: bool,
                     resolved_by: str | None = None) -> dict[str, Any]:
    """Close a conflict; with ``restore_lost_value``, write the losing value back as a new edit."""
    row = uow.conn.execute(select(conflicts).where(conflicts.c.id == conflict_id)).mappings().first()
    if row is None:
        raise ConflictNotFound(f"no conflict {conflict_id}", conflict_id=conflict_id)
    if row["resolved_at"] is not None:
        raise ConflictAlreadyResolved(f"conflict {conflict_id} was resolved at {row['resolved_at']}",
                                      conflict_id=conflict_id)
    if restore_lost_value:
        if row["kind"] != "concurrent_edit" or not row["field"]:
            raise Invalid("restore_lost_value", "only a lost edit of one field can be restored")
        uow.update(row["table_name"], row["row_id"], {row["field"]: json.loads(row["lost_value"])})
    uow.update("conflicts", conflict_id, {"resolved_at": utc_now_text(), "resolved_by": resolved_by,
                                          "resolution": resolution})
    return dict(uow.conn.execute(select(conflicts).where(conflicts.c.id == conflict_id)).mappings().one())
