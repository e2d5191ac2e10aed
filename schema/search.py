"""The one shape of a searchable, paged list: a filter, a name/phone/number search, a count and
a page, newest first (ids are UUIDv7, so they sort by time)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, func, or_, select


def search_page(conn: Connection, table: Table, where: ColumnElement[bool], query: str | None, limit: int,
                offset: int, searched: tuple[str, ...] = ("name", "phone", "number")) -> tuple[int, list[dict[str, Any]]]:
    """``(total, rows)`` of ``table`` matching ``where`` and, when given, ``query`` anywhere in the
    ``searched`` columns."""
    if query and query.strip():
        pattern = f"%{query.strip()}%"
        where = where & or_(*(table.c[name].like(pattern) for name in searched))
    total = conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()
    rows = conn.execute(select(table).where(where).order_by(table.c.id.desc()).limit(limit).offset(offset))
    return total, [dict(r) for r in rows.mappings()]
