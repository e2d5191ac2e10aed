"""Many rows in one statement. On SQLite the rows go straight to the driver's ``executemany``:
SQLAlchemy's per-row parameter processing costs more than SQLite's own insert, and sync
writes every change's rows this way. Other engines take SQLAlchemy's ``insertmanyvalues``."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, insert


@cache
def _insert_sql(table: Table, columns: tuple[str, ...], conflict_keys: tuple[str, ...] | None) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" for _ in columns)})'
    if conflict_keys:
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in conflict_keys)
        sql += f' ON CONFLICT ({", ".join(conflict_keys)}) DO UPDATE SET {updates}'
    return sql


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
                conflict_keys: tuple[str, ...] | None = None) -> None:
    """Insert ``rows`` (all with the same keys); with ``conflict_keys``, update rows that exist."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        statement = insert(table)
        if conflict_keys:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            upsert = pg_insert(table)
            statement = upsert.on_conflict_do_update(
                index_elements=list(conflict_keys),
                set_={c: upsert.excluded[c] for c in rows[0] if c not in conflict_keys})
        conn.execute(statement, list(rows))
        return
    columns = tuple(rows[0])
    pick = itemgetter(*columns)
    values = [pick(row) for row in rows] if len(columns) > 1 else [(pick(row),) for row in rows]
    conn.exec_driver_sql(_insert_sql(table, columns, conflict_keys), values)
