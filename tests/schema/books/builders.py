"""Facts made by hand for the books' tests: each a second after the last, at two campuses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from campus.schema.books.facts import (
    Consumption,
    ContractChange,
    Deposit,
    DepositApplied,
    Expiry,
    Receipt,
    Refund,
    Reversal,
)
from campus.schema.books.posting import JournalEntry

A, B = "campus-a", "campus-b"
CODES = {A: "BJ01", B: "SH01"}


class Facts:
    """Makes facts with unique ids and increasing instants; ``day`` is the date they happen on."""

    def __init__(self, day: str = "2026-01-05") -> None:
        self.day = day
        self.count = 0

    def _stamp(self, day: str | None) -> dict[str, str]:
        self.count += 1
        date = day or self.day
        seconds = self.count
        return {"id": f"fact-{self.count:05d}", "date": date,
                "at": f"{date}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z"}

    def receipt(self, contract: str, amount_fen: int, *, campus: str = A, contract_campus: str = A,
                fund: str = "cash", day: str | None = None) -> Receipt:
        return Receipt(**self._stamp(day), campus_id=campus, contract_id=contract,
                       contract_campus_id=contract_campus, amount_fen=amount_fen, fund_account=fund)

    def deposit(self, amount_fen: int, *, campus: str = A, fund: str = "cash", day: str | None = None) -> Deposit:
        return Deposit(**self._stamp(day), campus_id=campus, amount_fen=amount_fen, fund_account=fund)

    def deposit_applied(self, deposit: Deposit, contract: str, amount_fen: int, *, contract_campus: str = A,
                        day: str | None = None) -> DepositApplied:
        return DepositApplied(**self._stamp(day), contract_id=contract, contract_campus_id=contract_campus,
                              deposit_campus_id=deposit.campus_id, amount_fen=amount_fen)

    def consumption(self, contract: str, value_fen: int, *, taught_at: str = A, contract_campus: str = A,
                    hours_x100: int = 100, day: str | None = None) -> Consumption:
        return Consumption(**self._stamp(day), contract_id=contract, contract_campus_id=contract_campus,
                           teaching_campus_id=taught_at, value_fen=value_fen, hours_x100=hours_x100)

    def expiry(self, contract: str, value_fen: int, *, contract_campus: str = A, day: str | None = None) -> Expiry:
        return Expiry(**self._stamp(day), contract_id=contract, contract_campus_id=contract_campus,
                      value_fen=value_fen)

    def reversal(self, of: Consumption | Expiry, *, day: str | None = None) -> Reversal:
        return Reversal(**self._stamp(day), contract_id=of.contract_id, contract_campus_id=of.contract_campus_id,
                        reverses=of.key)

    def write_off(self, contract: str, amount_fen: int, *, contract_campus: str = A,
                  day: str | None = None) -> ContractChange:
        return ContractChange(**self._stamp(day), contract_id=contract, contract_campus_id=contract_campus,
                              change="write_off", due_delta_fen=-amount_fen)

    def change(self, contract: str, change: str, *, hours_x100: int = 0, due_delta_fen: int = 0,
               day: str | None = None) -> ContractChange:
        return ContractChange(**self._stamp(day), contract_id=contract, contract_campus_id=A, change=change,
                              hours_x100=hours_x100, due_delta_fen=due_delta_fen)

    def refund(self, contract: str, amount_fen: int, fee_fen: int = 0, *, campus: str = A,
               contract_campus: str = A, fund: str = "bank", day: str | None = None) -> Refund:
        return Refund(**self._stamp(day), campus_id=campus, contract_id=contract, contract_campus_id=contract_campus,
                      amount_fen=amount_fen, fee_fen=fee_fen, fund_account=fund)


def balances(entries: Iterable[JournalEntry], campus: str | None = None) -> dict[str, int]:
    """Net balance per account (debit positive), zero balances left out."""
    found: dict[str, int] = defaultdict(int)
    for entry in entries:
        if campus is None or entry.campus_id == campus:
            for line in entry.lines:
                found[line.account] += line.net_fen
    return {code: amount for code, amount in sorted(found.items()) if amount}

