"""Per-field version bookkeeping for last-writer-wins rows.

Each field's last write is remembered as ``(hlc, node id)``. The insert of a row records a
single ``*`` version that stands for every field not written since, so an insert costs one
bookkeeping row, not one per column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, select

from campus.sync.bulk import insert_rows, insert_tuples

ROW_VERSION = "*"


class Version(NamedTuple):
    hlc: int
    node_id: str


class StoredVersion(NamedTuple):
    version: Version
    pending_value: bytes | None


def read_versions(conn: Connection, versions: Table, table_name: str, row_id: str) -> dict[str, StoredVersion]:
    rows = conn.execute(
        select(versions.c.field, versions.c.hlc, versions.c.node_id, versions.c.pending_value).where(
            versions.c.table_name == table_name, versions.c.row_id == row_id
        )
    )
    return {r.field: StoredVersion(Version(r.hlc, r.node_id), r.pending_value) for r in rows}


def effective(stored: dict[str, StoredVersion], field: str) -> Version | None:
    entry = stored.get(field) or stored.get(ROW_VERSION)
    return entry.version if entry else None


def write_versions(
    conn: Connection,
    versions: Table,
    table_name: str,
    row_id: str,
    entries: Iterable[tuple[str, Version, bytes | None]],
) -> None:
    """Upsert ``(field, version, pending value)`` entries for one row."""
    rows = [
        {"table_name": table_name, "row_id": row_id, "field": field, "hlc": version.hlc,
         "node_id": version.node_id, "pending_value": pending}
        for field, version, pending in entries
    ]
    upsert_versions(conn, versions, rows)


def select_versions(conn: Connection, versions: Table, table_name: str,
                    row_ids: Sequence[str]) -> list[tuple[str, str, int, str, bytes | None]]:
    """``(row id, field, hlc, node id, pending value)`` of every version kept for those rows."""
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" * len(row_ids))
        return conn.exec_driver_sql(
            f"SELECT row_id, field, hlc, node_id, pending_value FROM {versions.name} "
            f"WHERE table_name = ? AND row_id IN ({marks})", (table_name, *row_ids)).all()  # type: ignore[return-value]
    return conn.execute(select(versions.c.row_id, versions.c.field, versions.c.hlc, versions.c.node_id,
                               versions.c.pending_value).where(
        versions.c.table_name == table_name, versions.c.row_id.in_(row_ids))).all()  # type: ignore[return-value]


VERSION_COLUMNS = ("table_name", "row_id", "field", "hlc", "node_id", "pending_value")


def upsert_version_tuples(conn: Connection, versions: Table, rows: list[tuple[Any, ...]]) -> None:
    """Write version rows given as tuples in the order of :data:`VERSION_COLUMNS`."""
    insert_tuples(conn, versions, VERSION_COLUMNS, rows, conflict_keys=("table_name", "row_id", "field"))


def upsert_versions(conn: Connection, versions: Table, rows: list[dict[str, Any]]) -> None:
    """Write version rows (table_name, row_id, field, hlc, node_id, pending_value) in one executemany."""
    insert_rows(conn, versions, rows, conflict_keys=("table_name", "row_id", "field"))
