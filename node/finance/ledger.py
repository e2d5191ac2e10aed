"""Writing and reading the asset ledger; the arithmetic is :mod:`campus.schema.assets`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from campus.schema.assets import Balance, Entry, EntryKind, balance_of, consume, entry_from_row
from campus.schema.errors import Conflict, NotFound
from campus.schema.tables import asset_entries, contract_lines
from campus.schema.times import utc_now_text
from campus.sync.capture import UnitOfWork


class LineNotFound(NotFound):
    pass


class AlreadyReversed(Conflict):
    """A ledger entry is reversed at most once."""


def line_row(conn: Connection, line_id: str) -> dict[str, Any]:
    row = conn.execute(select(contract_lines).where(contract_lines.c.id == line_id)).mappings().first()
    if row is None:
        raise LineNotFound(f"no contract line {line_id}", line_id=line_id)
    return dict(row)


def entries_of(conn: Connection, line_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(asset_entries).where(asset_entries.c.line_id == line_id)
                                          .order_by(asset_entries.c.at, asset_entries.c.id)).mappings()]


def line_balance(conn: Connection, line_id: str) -> Balance:
    return balance_of(entries_of(conn, line_id))


def post(uow: UnitOfWork, line: dict[str, Any], entries: Iterable[Entry], *, recorded_campus_id: str,
         cause_table: str | None, cause_id: str | None, by_user_id: str | None,
         reverses_entry_id: str | None = None, at: str | None = None) -> list[str]:
    """Append entries to a line's ledger; returns their ids."""
    when = at or utc_now_text()
    return [uow.insert("asset_entries", {
        "campus_id": line["campus_id"], "recorded_campus_id": recorded_campus_id, "student_id": line["student_id"],
        "contract_id": line["contract_id"], "line_id": line["id"], "kind": entry.kind.value,
        "hours_x100": entry.hours_x100, "value_fen": entry.value_fen, "gift": entry.gift,
        "cause_table": cause_table, "cause_id": cause_id, "reverses_entry_id": reverses_entry_id,
        "by_user_id": by_user_id, "at": when}) for entry in entries]


def post_consumption(uow: UnitOfWork, line_id: str, hours_x100: int, *, recorded_campus_id: str,
                     cause_table: str, cause_id: str, by_user_id: str | None = None,
                     allow_overdraft: bool = False) -> list[str]:
    """Deduct hours used by a lesson (paid hours first, then gift)."""
    line = line_row(uow.conn, line_id)
    planned = consume(line_balance(uow.conn, line_id), hours_x100, allow_overdraft)
    return post(uow, line, planned, recorded_campus_id=recorded_campus_id, cause_table=cause_table,
                cause_id=cause_id, by_user_id=by_user_id)


def reverse_entry(uow: UnitOfWork, entry_id: str, *, recorded_campus_id: str, by_user_id: str | None,
                  cause_table: str | None = None, cause_id: str | None = None) -> str:
    """Undo one entry with its exact negation (a re-confirmed lesson, a mistaken posting)."""
    row = uow.conn.execute(select(asset_entries).where(asset_entries.c.id == entry_id)).mappings().first()
    if row is None:
        raise NotFound(f"no ledger entry {entry_id}", entry_id=entry_id)
    if row["kind"] == EntryKind.REVERSAL:
        raise Conflict("a reversal is not reversed; post the entry again instead", entry_id=entry_id)
    done = uow.conn.execute(select(asset_entries.c.id).where(asset_entries.c.reverses_entry_id == entry_id)).first()
    if done:
        raise AlreadyReversed(f"entry {entry_id} is already reversed by {done.id}", reversal_id=done.id)
    line = line_row(uow.conn, row["line_id"])
    (reversal_id,) = post(uow, line, [entry_from_row(row).reversed()], recorded_campus_id=recorded_campus_id,
                          cause_table=cause_table or row["cause_table"], cause_id=cause_id or row["cause_id"],
                          by_user_id=by_user_id, reverses_entry_id=entry_id)
    return reversal_id


def student_account(conn: Connection, student_id: str) -> dict[str, Any]:
    """Every line of the student's contracts with its entries and balance, and the totals."""
    lines = [dict(r) for r in conn.execute(select(contract_lines).where(contract_lines.c.student_id == student_id)
                                           .order_by(contract_lines.c.created_at, contract_lines.c.id)).mappings()]
    total = Balance()
    shown = []
    for line in lines:
        entries = entries_of(conn, line["id"])
        balance = balance_of(entries)
        total = Balance(total.paid_hours_x100 + balance.paid_hours_x100,
                        total.gift_hours_x100 + balance.gift_hours_x100, total.value_fen + balance.value_fen)
        shown.append({**line, "balance": balance.as_dict(), "entries": entries})
    return {"student_id": student_id, "lines": shown, "remaining": total.as_dict()}
