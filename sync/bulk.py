"""Many rows in one statement. On SQLite the rows go straight to the driver's ``executemany``:
SQLAlchemy's per-row parameter processing costs more than SQLite's own insert, and sync
writes every change's rows this way. Other engines take SQLAlchemy's ``insertmanyvalues``."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, insert, select


@cache
def _insert_sql(table: Table, columns: tuple[str, ...], conflict_keys: tuple[str, ...] | None) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" for _ in columns)})'
    if conflict_keys:
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in conflict_keys)
        sql += f' ON CONFLICT ({", ".join(conflict_keys)}) DO UPDATE SET {updates}'
    return sql


ID_CHUNK = 500


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while a batch is merged. Decoding a batch makes tens of
    thousands of small containers, and each collection then walks the whole heap: a quarter of the
    merge time went there. Merges make no reference cycles; reference counting frees their objects."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def insert_tuples(conn: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` given as value tuples in the order of ``columns``."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    conn.exec_driver_sql(_insert_sql(table, columns, None), rows)


def existing_ids(conn: Connection, table: Table, ids: set[str]) -> set[str]:
    """Which of ``ids`` are stored in ``table``."""
    found: set[str] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), ID_CHUNK):
        chunk = ordered[start:start + ID_CHUNK]
        if conn.dialect.name == "sqlite":
            marks = ", ".join("?" * len(chunk))
            found.update(row[0] for row in conn.exec_driver_sql(
                f'SELECT id FROM "{table.name}" WHERE id IN ({marks})', tuple(chunk)))
        else:
            found.update(conn.execute(select(table.c.id).where(table.c.id.in_(chunk))).scalars())
    return found


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
