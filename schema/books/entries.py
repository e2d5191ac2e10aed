"""Facts only the books know: manual journal entries and approved expenses, with their posting
rules (registered like every other rule), and the readers that bring them and the month closes
out of the store. Refunds and payroll add their facts the same way."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from campus.schema.books import chart
from campus.schema.books.facts import Fact
from campus.schema.books.posting import (
    Book,
    BooksSettings,
    ExpiryTreatment,
    Line,
    Posting,
    lines,
    make_entry,
    register_rule,
)
from campus.schema.books.projection import CLOSE_READERS, DEFAULT_TIMEZONE, FACT_READERS, PeriodClose
from campus.schema.errors import Invalid
from campus.schema.tables import book_closes, campus_book_settings, expenses, manual_entries


class UnbalancedEntry(Invalid):
    """A journal entry's debits and credits differ (422 naming ``lines``)."""


def checked_lines(raw: list[dict[str, Any]], field: str = "lines") -> tuple[Line, ...]:
    """Lines typed by finance, checked: each a known account with one whole, positive debit or
    credit, at least two of them, debits equal to credits. Refusals name the field."""
    if len(raw) < 2:
        raise Invalid(field, "an entry has at least two lines")
    made = []
    for i, item in enumerate(raw):
        account, debit, credit = item.get("account"), item.get("debit_fen", 0), item.get("credit_fen", 0)
        try:
            chart.account(str(account))
        except (KeyError, ValueError, LookupError):
            raise Invalid(f"{field}.{i}.account", f"no account {account!r} in the chart of accounts") from None
        for name, value in (("debit_fen", debit), ("credit_fen", credit)):
            if type(value) is not int or value < 0:
                raise Invalid(f"{field}.{i}.{name}", "a whole, non-negative number of fen")
        if (debit > 0) == (credit > 0):
            raise Invalid(f"{field}.{i}", "each line is either a debit or a credit")
        made.append(Line(str(account), debit, credit))
    debits, credits = sum(x.debit_fen for x in made), sum(x.credit_fen for x in made)
    if debits != credits:
        raise UnbalancedEntry(field, f"debits {debits} fen and credits {credits} fen differ by {debits - credits}",
                              debit_fen=debits, credit_fen=credits)
    return tuple(made)


@dataclass(frozen=True, slots=True)
class ManualEntry(Fact):
    """A journal entry finance posted by hand (a correction, an accrual, an opening balance)."""

    kind: ClassVar[str] = "manual_entry"
    table: ClassVar[str] = "manual_entries"

    campus_id: str
    memo: str
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Expense(Fact):
    """An approved expense: the expense account debited, the fund account it was paid from credited."""

    kind: ClassVar[str] = "expense"
    table: ClassVar[str] = "expenses"

    campus_id: str
    account: str
    fund_account: str
    amount_fen: int
    memo: str = ""


def _manual(fact: Fact, book: Book) -> Posting:
    assert isinstance(fact, ManualEntry)
    entry = make_entry(fact, "manual", fact.campus_id, fact.memo, fact.lines)
    return Posting((entry,) if entry else ())


def _expense(fact: Fact, book: Book) -> Posting:
    assert isinstance(fact, Expense)
    entry = make_entry(fact, "expense", fact.campus_id, fact.memo or "费用",
                       lines((fact.account, fact.amount_fen), (chart.fund_account_code(fact.fund_account),
                                                               -fact.amount_fen)))
    return Posting((entry,) if entry else ())


register_rule(ManualEntry.kind, _manual)
register_rule(Expense.kind, _expense)


def _local(instant: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(zone).date().isoformat()


def read_book_facts(conn: Connection, campus_id: str | None, timezone: str) -> list[Fact]:
    """Manual entries and approved expenses (of one campus, or all)."""
    zone = ZoneInfo(timezone)
    facts: list[Fact] = []
    query = select(manual_entries)
    if campus_id is not None:
        query = query.where(manual_entries.c.campus_id == campus_id)
    for row in conn.execute(query).mappings():
        facts.append(ManualEntry(id=row["id"], at=row["created_at"], date=row["entry_date"],
                                 campus_id=row["campus_id"], memo=row["memo"],
                                 lines=tuple(Line(x["account"], x["debit_fen"], x["credit_fen"])
                                             for x in json.loads(row["lines"]))))
    query = select(expenses).where(expenses.c.status == "approved", expenses.c.deleted.is_(False))
    if campus_id is not None:
        query = query.where(expenses.c.campus_id == campus_id)
    for row in conn.execute(query).mappings():
        # Posted on the day it was approved: an expense is in the books once a manager said yes.
        facts.append(Expense(id=row["id"], at=row["decided_at"], date=_local(row["decided_at"], zone),
                             campus_id=row["campus_id"], account=row["account"], fund_account=row["fund_account"],
                             amount_fen=row["amount_fen"], memo=f"{row['number']} {row['description']}"[:200]))
    return facts


def read_closes(conn: Connection, campus_id: str | None = None) -> list[PeriodClose]:
    query = select(book_closes)
    if campus_id is not None:
        query = query.where(book_closes.c.campus_id == campus_id)
    return [PeriodClose(row["campus_id"], row["period"],
                        frozenset((table, row_id) for table, row_id in json.loads(row["facts"])))
            for row in conn.execute(query).mappings()]


FACT_READERS.append(read_book_facts)
CLOSE_READERS.append(read_closes)


def read_settings(conn: Connection, campus_id: str) -> tuple[BooksSettings, str] | None:
    """The books settings and time zone a campus derives its journal under, as it recorded them."""
    row = conn.execute(select(campus_book_settings).where(campus_book_settings.c.campus_id == campus_id)
                       ).mappings().first()
    if row is None:
        return None
    return (BooksSettings(row["vat_rate_bp"], ExpiryTreatment(row["expiry"]), row["inter_campus_share_bp"]),
            row["timezone"])


def record_settings(uow: Any, campus_id: str, settings: BooksSettings, timezone: str, now: str) -> bool:
    """Keep the campus's settings row equal to what it derives its books under; True if it changed."""
    values = {"campus_id": campus_id, "timezone": timezone, "vat_rate_bp": settings.vat_rate_bp,
              "expiry": str(settings.expiry), "inter_campus_share_bp": settings.inter_campus_share_bp}
    row = uow.conn.execute(select(campus_book_settings).where(campus_book_settings.c.campus_id == campus_id)
                           ).mappings().first()
    if row is None and settings == BooksSettings() and timezone == DEFAULT_TIMEZONE:
        return False  # the defaults need no row: a campus without one is derived under them
    if row is None:
        uow.insert("campus_book_settings", {"id": campus_id, **values, "updated_at": now})
        return True
    if all(row[k] == v for k, v in values.items()):
        return False
    uow.update("campus_book_settings", campus_id, {**values, "updated_at": now})
    return True
