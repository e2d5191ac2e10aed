"""Many rows in one statement. On SQLite the rows go straight to the driver's ``executemany``:
SQLAlchemy's per-row parameter processing costs more than SQLite's own insert, and sync
writes every change's rows this way. Other engines take SQLAlchemy's ``insertmanyvalues``."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect, Table, bindparam, insert, select, update


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


def insert_tuples(conn: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]],
                  conflict_keys: tuple[str, ...] | None = None) -> None:
    """Insert ``rows`` given as value tuples in the order of ``columns``; with ``conflict_keys``,
    update rows that exist."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        _insert_dicts(conn, table, [dict(zip(columns, row, strict=True)) for row in rows], conflict_keys)
        return
    conn.exec_driver_sql(_insert_sql(table, columns, conflict_keys), rows)


@cache
def _update_sql(table: Table, columns: tuple[str, ...]) -> str:
    sets = ", ".join(f'"{c}" = ?' for c in columns)
    return f'UPDATE "{table.name}" SET {sets} WHERE id = ?'


def update_tuples(conn: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
    """Update rows by id; each row is ``(*values of columns, id)``."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        statement = (update(table).where(table.c.id == bindparam("_id"))
                     .values({c: bindparam(f"_{c}") for c in columns}))
        conn.execute(statement, [{"_id": row[-1], **{f"_{c}": v for c, v in zip(columns, row, strict=False)}}
                                 for row in rows])
        return
    conn.exec_driver_sql(_update_sql(table, columns), rows)


@cache
def _processors(table: Table, dialect: Dialect, columns: tuple[str, ...] | None
                ) -> tuple[tuple[str, ...], tuple[tuple[int, Callable[[Any], Any]], ...]]:
    chosen = [table.c.id, *(table.c[name] for name in columns)] if columns is not None else list(table.c)
    processors = ((i, column.type._cached_result_processor(dialect, None)) for i, column in enumerate(chosen))
    return tuple(column.name for column in chosen), tuple((i, p) for i, p in processors if p is not None)


def select_rows(conn: Connection, table: Table, ids: Sequence[str],
                columns: tuple[str, ...] | None = None) -> dict[str, dict[str, Any]]:
    """The stored rows among ``ids``, each as ``{column: value}`` without its id; all columns, or
    those named."""
    names, converting = _processors(table, conn.dialect, columns)
    if conn.dialect.name != "sqlite":
        query = select(*(table.c[name] for name in names)).where(table.c.id.in_(ids))
        return {row["id"]: {str(k): v for k, v in row.items() if k != "id"}
                for row in conn.execute(query).mappings()}
    listed = ", ".join(f'"{name}"' for name in names)
    marks = ", ".join("?" * len(ids))
    found = {}
    for raw in conn.exec_driver_sql(f'SELECT {listed} FROM "{table.name}" WHERE id IN ({marks})', tuple(ids)):
        row = list(raw)
        for i, process in converting:
            row[i] = process(row[i])
        found[row[0]] = dict(zip(names[1:], row[1:], strict=True))
    return found


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


def _insert_dicts(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
                  conflict_keys: tuple[str, ...] | None) -> None:
    statement = insert(table)
    if conflict_keys:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        upsert = pg_insert(table)
        statement = upsert.on_conflict_do_update(
            index_elements=list(conflict_keys), set_={c: upsert.excluded[c] for c in rows[0] if c not in conflict_keys})
    conn.execute(statement, list(rows))


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
                conflict_keys: tuple[str, ...] | None = None) -> None:
    """Insert ``rows`` (all with the same keys); with ``conflict_keys``, update rows that exist."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        _insert_dicts(conn, table, rows, conflict_keys)
        return
    columns = tuple(rows[0])
    pick = itemgetter(*columns)
    insert_tuples(conn, table, columns, [pick(row) for row in rows] if len(columns) > 1 else
                  [(pick(row),) for row in rows], conflict_keys)
