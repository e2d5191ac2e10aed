"""The business facts the books post, as small frozen values read from the replicated tables.

Every fact has the id and table of the row it comes from (its ``key``), the instant it
happened (``at``, stored UTC text, which orders facts) and the campus-local ``date`` its
entries are posted on. Money is integer fen and hours integer hundredths: a float, or a
bool, in any ``*_fen``/``*_x100`` field is refused as the fact is made.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from campus.schema.quantities import FloatRefused

FactKey = tuple[str, str]  # (source table, source row id)


@dataclass(frozen=True, slots=True)
class Fact:
    kind: ClassVar[str]
    table: ClassVar[str]

    id: str
    at: str  # the instant, ISO-8601 UTC text
    date: str  # the campus-local date, ISO-8601

    def __post_init__(self) -> None:
        for field in fields(self):
            if field.name.endswith(("_fen", "_x100")):
                value = getattr(self, field.name)
                if isinstance(value, float):
                    raise FloatRefused(f"{type(self).__name__}.{field.name} takes integer units, not {value!r}")
                if type(value) is not int:
                    raise TypeError(f"{type(self).__name__}.{field.name} takes an int, got {type(value).__name__}")

    @property
    def key(self) -> FactKey:
        return (self.table, self.id)


@dataclass(frozen=True, slots=True)
class Deposit(Fact):
    """A deposit (订金) taken without a contract, by ``campus_id`` into ``fund_account``."""

    kind: ClassVar[str] = "deposit"
    table: ClassVar[str] = "payments"

    campus_id: str
    amount_fen: int
    fund_account: str
    reference: str = ""  # the receipt number


@dataclass(frozen=True, slots=True)
class Receipt(Fact):
    """Money received on a contract by ``campus_id``; negative when a mistaken receipt is reversed."""

    kind: ClassVar[str] = "receipt"
    table: ClassVar[str] = "payments"

    campus_id: str
    contract_id: str
    contract_campus_id: str
    amount_fen: int
    fund_account: str
    reference: str = ""


@dataclass(frozen=True, slots=True)
class DepositApplied(Fact):
    """Part of a deposit held by ``deposit_campus_id`` applied to a contract."""

    kind: ClassVar[str] = "deposit_applied"
    table: ClassVar[str] = "payments"

    contract_id: str
    contract_campus_id: str
    deposit_campus_id: str
    amount_fen: int
    reference: str = ""


@dataclass(frozen=True, slots=True)
class Consumption(Fact):
    """Confirmed consumption (课消) of paid hours worth ``value_fen``, taught at ``teaching_campus_id``.

    Gift hours carry no value and are no fact for the books."""

    kind: ClassVar[str] = "consumption"
    table: ClassVar[str] = "asset_entries"

    contract_id: str
    contract_campus_id: str
    teaching_campus_id: str
    value_fen: int
    hours_x100: int


@dataclass(frozen=True, slots=True)
class Expiry(Fact):
    """What was left of a line's paid value when its contract expired."""

    kind: ClassVar[str] = "expiry"
    table: ClassVar[str] = "asset_entries"

    contract_id: str
    contract_campus_id: str
    value_fen: int


@dataclass(frozen=True, slots=True)
class Reversal(Fact):
    """The exact undoing of an earlier fact (a re-confirmed lesson reverses its consumption)."""

    kind: ClassVar[str] = "reversal"
    table: ClassVar[str] = "asset_entries"

    contract_id: str
    contract_campus_id: str
    reverses: FactKey


@dataclass(frozen=True, slots=True)
class ContractChange(Fact):
    """A contract change event: expand, shrink, write_off, extend or exchange."""

    kind: ClassVar[str] = "contract_change"
    table: ClassVar[str] = "contract_events"

    contract_id: str
    contract_campus_id: str
    change: str
    hours_x100: int = 0
    due_delta_fen: int = 0


@dataclass(frozen=True, slots=True)
class Refund(Fact):
    """Money paid back on a contract (the refunds issue records these): ``amount_fen`` leaves
    ``fund_account`` and ``fee_fen`` of the prepaid balance is kept as a handling fee."""

    kind: ClassVar[str] = "refund"
    table: ClassVar[str] = "refunds"

    campus_id: str
    contract_id: str
    contract_campus_id: str
    amount_fen: int
    fee_fen: int
    fund_account: str
    reference: str = ""
