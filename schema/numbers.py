"""Campus-prefixed human numbers (``BJ01-R-000123``), counted locally with no coordination."""

from __future__ import annotations

from sqlalchemy import Column, Connection, func, insert, select, update

from campus.schema.ids import NUMBER_KINDS, human_number
from campus.schema.tables import (
    contracts,
    expenses,
    invoices,
    leads,
    manual_entries,
    number_counters,
    payments,
    refunds,
    students,
    tickets,
)

# Where the numbers of each kind are kept, so a counter that is missing (a campus restored
# from the hub starts with none) resumes after the highest number its campus already issued.
NUMBERED: dict[str, Column] = {"lead": leads.c.number, "student": students.c.number,
                               "contract": contracts.c.number, "receipt": payments.c.receipt_number,
                               "journal": manual_entries.c.number, "expense": expenses.c.number,
                               "invoice": invoices.c.number, "refund": refunds.c.number,
                               "ticket": tickets.c.number}


def _highest_issued(conn: Connection, campus_code: str, kind: str) -> int:
    column = NUMBERED.get(kind)
    if column is None:
        return 0
    prefix = f"{campus_code}-{NUMBER_KINDS[kind]}-"
    last = conn.execute(select(column).where(column.like(f"{prefix}%"))
                        .order_by(func.length(column).desc(), column.desc()).limit(1)).scalar()
    tail = last[len(prefix):] if last else ""
    return int(tail) if tail.isdigit() else 0


def next_number(conn: Connection, campus_code: str, kind: str) -> str:
    """The next number of ``kind`` at this campus; call inside the write transaction that uses it."""
    where = (number_counters.c.campus_code == campus_code) & (number_counters.c.kind == kind)
    last = conn.execute(select(number_counters.c.last_value).where(where)).scalar()
    if last is None:
        counter = _highest_issued(conn, campus_code, kind) + 1
        conn.execute(insert(number_counters).values(campus_code=campus_code, kind=kind, last_value=counter))
    else:
        counter = last + 1
        conn.execute(update(number_counters).where(where).values(last_value=counter))
    return human_number(campus_code, kind, counter)


def reserve_numbers(conn: Connection, campus_code: str, kind: str, count: int) -> list[str]:
    """The next ``count`` numbers of ``kind`` at this campus in one step (a long import)."""
    if count <= 0:
        return []
    first = int(next_number(conn, campus_code, kind).rsplit("-", 1)[1])
    if count > 1:
        where = (number_counters.c.campus_code == campus_code) & (number_counters.c.kind == kind)
        conn.execute(update(number_counters).where(where).values(last_value=first + count - 1))
    return [human_number(campus_code, kind, first + k) for k in range(count)]
