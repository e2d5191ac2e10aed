"""Opening balances (期初余额) of students migrated from another system, as facts for the books.

A migrated position's remaining value was paid to the school before it used Campus: it is a
contract liability from the first day (Cr 2204 合同负债) though no money arrives in Campus's fund
accounts. The debit goes to 4190 期初余额调整 (opening balance equity), a clearing account the
accountant empties when entering the assets that back those balances (Dr 1002 银行存款 / Cr 4190).
Not 4001 实收资本 nor 4101 盈余公积: the owners neither paid it in nor set it aside, and an
opening-balance account says what it is until the asset side is entered.

The fact is the migration's ``opening`` payment row (it replicates with the contract, so node and
hub derive the same entry); it is dated when the old system's figures were taken, so the balance
is an opening balance of the months after. Afterwards the contract's value is consumed, refunded
or expires exactly like one signed in Campus.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from campus.schema.books import chart
from campus.schema.books.facts import Fact
from campus.schema.books.posting import Book, Posting, lines, make_entry, money_in, rule_for
from campus.schema.books.projection import FACT_READERS
from campus.schema.tables import contracts, payments

OPENING_KIND = "opening"  # payments.kind of a migrated opening balance


@dataclass(frozen=True, slots=True)
class OpeningBalance(Fact):
    """The remaining value of a migrated position, held as deferred tuition from ``date`` on."""

    kind: ClassVar[str] = "opening_balance"
    table: ClassVar[str] = "payments"

    contract_id: str
    contract_campus_id: str
    amount_fen: int
    reference: str = ""


@rule_for("opening_balance")
def post_opening_balance(fact: OpeningBalance, book: Book) -> Posting:
    """Dr 4190 期初余额调整, Cr 2204 合同负债 (or 1122, were anything owed on the contract already)."""
    credits, after = money_in(book.position(fact.contract_id), fact.amount_fen, fact.contract_id)
    entry = make_entry(fact, "opening_balance", fact.contract_campus_id, f"期初余额 {fact.reference}".strip(),
                       [*lines((chart.OPENING_BALANCE_EQUITY, fact.amount_fen, fact.contract_id)), *credits])
    return Posting((entry,) if entry else (), {fact.contract_id: after})


def read_opening_balances(conn: Connection, campus_id: str | None, timezone: str) -> list[Fact]:
    """Every migrated opening balance that posts at ``campus_id`` (its contract's campus)."""
    zone = ZoneInfo(timezone)
    query = select(payments.c.id, payments.c.paid_at, payments.c.amount_fen, payments.c.contract_id,
                   payments.c.receipt_number, contracts.c.campus_id).join(
        contracts, contracts.c.id == payments.c.contract_id).where(payments.c.kind == OPENING_KIND)
    if campus_id is not None:
        query = query.where(contracts.c.campus_id == campus_id)
    facts: list[Fact] = []
    for row in conn.execute(query):
        local = datetime.fromisoformat(row.paid_at.replace("Z", "+00:00")).astimezone(zone).date().isoformat()
        facts.append(OpeningBalance(id=row.id, at=row.paid_at, date=local, contract_id=row.contract_id,
                                    contract_campus_id=row.campus_id, amount_fen=row.amount_fen,
                                    reference=row.receipt_number))
    return facts


FACT_READERS.append(read_opening_balances)
