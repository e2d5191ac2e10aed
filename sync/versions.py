"""Per-field version bookkeeping for last-writer-wins rows.

Each field's last write is remembered as ``(hlc, node id)``. The insert of a row records a
single ``*`` version that stands for every field not written since, so an insert costs one
bookkeeping row, not one per column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, select

from campus.sync.bulk import insert_tuples

ROW_VERSION = "*"


class Version(NamedTuple):
    hlc: int
    node_id: str


class StoredVersion(NamedTuple):
    version: Version
    pending_value: bytes | None


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
    upsert_version_tuples(conn, versions, [(table_name, row_id, field, version.hlc, version.node_id, pending)
                                           for field, version, pending in entries])


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
