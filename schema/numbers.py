"""Campus-prefixed human numbers (``BJ01-R-000123``), counted locally with no coordination."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from campus.schema.ids import human_number
from campus.schema.tables import number_counters


def next_number(conn: Connection, campus_code: str, kind: str) -> str:
    """The next number of ``kind`` at this campus; call inside the write transaction that uses it."""
    where = (number_counters.c.campus_code == campus_code) & (number_counters.c.kind == kind)
    last = conn.execute(select(number_counters.c.last_value).where(where)).scalar()
    if last is None:
        conn.execute(insert(number_counters).values(campus_code=campus_code, kind=kind, last_value=1))
        counter = 1
    else:
        counter = last + 1
        conn.execute(update(number_counters).where(where).values(last_value=counter))
    return human_number(campus_code, kind, counter)
