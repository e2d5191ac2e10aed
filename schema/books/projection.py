"""A campus's journal derived from the replicated fact tables, and the figures read off it.

The journal is never stored as truth: :func:`project` orders the facts by what they are (their
period, their instant, their id), never by when they arrived, and folds them through the
posting rules. A node and the hub holding the same facts and the same closes therefore derive
the same entries, with the same ids.

Closed periods are an input (:class:`PeriodClose`): the facts whose entries a campus had in a
month when it closed it; closing a month closes every month before it. A fact dated in a closed month that is not among them arrived late:
its entries post in the first period after it that is open (or whose close took it in), dated
the first day of that period, as a prior-period adjustment naming the month it belongs to.
So a closed month's entries never change, whatever arrives later, and closing needs no hub.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, or_, select

from campus.schema.books import chart
from campus.schema.books.facts import (
    Consumption,
    ContractChange,
    Deposit,
    DepositApplied,
    Expiry,
    Fact,
    FactKey,
    Receipt,
    Reversal,
)
from campus.schema.books.posting import CATEGORIES, BooksSettings, Category, JournalEntry, Ledger, Position
from campus.schema.tables import asset_entries, campuses, contract_events, contracts, payments

DEFAULT_TIMEZONE = "Asia/Shanghai"

# --- periods and closes ---------------------------------------------------------------------------


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


@dataclass(frozen=True, slots=True)
class PeriodClose:
    """A campus's month, closed: the facts whose entries it held then are its entries for good."""

    campus_id: str
    period: str  # YYYY-MM
    facts: frozenset[FactKey] = frozenset()


def close_period(projection: Projection, campus_id: str, period: str) -> PeriodClose:
    """The close of ``period`` at ``campus_id`` as its journal stands now (what a close use case records):
    the facts with entries there, and the facts on its contracts that posted nothing but still
    shape the positions after them (a write-off of nothing yet taught). Months close in order: close
    the earliest open month first, since a month left open before a close is taken as closed empty."""
    posted = {e.source for e in projection.entries if e.campus_id == campus_id and e.period == period}
    placed = {key for key, (campus, placed_in) in projection.placed.items()
              if campus == campus_id and placed_in == period}
    return PeriodClose(campus_id, period, frozenset(posted | placed))


class Closes:
    """Months are closed in order: a campus's books are closed up to its latest close, and a month
    before it with no close of its own was closed empty."""

    def __init__(self, closes: Iterable[PeriodClose]) -> None:
        self._by_campus: dict[str, dict[str, frozenset[FactKey]]] = defaultdict(dict)
        for close in closes:
            self._by_campus[close.campus_id][close.period] = close.facts
        self._last = {campus: max(periods) for campus, periods in self._by_campus.items()}

    def effective_period(self, campus_id: str, period: str, fact: FactKey) -> str:
        """The period ``fact``'s entries at ``campus_id`` post in: its own, unless that was closed without it."""
        closed, last = self._by_campus.get(campus_id, {}), self._last.get(campus_id, "")
        while period <= last and fact not in closed.get(period, frozenset()):
            period = next_period(period)
        return period


def _state_campus(fact: Fact) -> str:
    """The campus whose contract positions the fact changes (its order matters there)."""
    return getattr(fact, "contract_campus_id", "") or getattr(fact, "campus_id", "")


def _order(facts: list[Fact], closes: Closes) -> list[tuple[Fact, str]]:
    """Facts in the order their positions are computed, each with the period it is placed in there:
    by that period, instant, then id. A reversal comes after what it reverses, whatever the clocks
    of the campuses that wrote them said."""
    by_key = {fact.key: fact for fact in facts}
    keys: dict[FactKey, tuple[str, str, int, str, str]] = {}

    def key_of(fact: Fact) -> tuple[str, str, int, str, str]:
        if fact.key in keys:
            return keys[fact.key]
        period = closes.effective_period(_state_campus(fact), fact.date[:7], fact.key)
        at, depth = fact.at, 0
        reversed_fact = by_key.get(fact.reverses) if isinstance(fact, Reversal) else None
        if reversed_fact is not None:
            original = key_of(reversed_fact)
            period, at, depth = max(period, original[0]), max(at, original[1]), original[2] + 1
        keys[fact.key] = (period, at, depth, fact.id, fact.table)  # ids are UUIDv7: time-ordered within a second
        return keys[fact.key]

    return [(fact, key_of(fact)[0]) for fact in sorted(facts, key=key_of)]


def _restamp(entry: JournalEntry, closes: Closes, floor: str) -> JournalEntry:
    """The entry in the period its campus's closes put it in, never before ``floor``."""
    period = closes.effective_period(entry.campus_id, max(entry.period, floor), entry.source)
    if period == entry.period:
        return entry
    return replace(entry, date=f"{period}-01", period=period, origin_period=entry.period,
                   memo=f"{entry.memo}（以前期间调整，原属 {entry.period}）")


@dataclass(frozen=True)
class Projection:
    """The journal of every campus the facts touch, and each contract's position after them all."""

    entries: tuple[JournalEntry, ...]
    positions: Mapping[str, Position] = field(default_factory=dict)
    placed: Mapping[FactKey, tuple[str, str]] = field(default_factory=dict)  # fact → (its campus, period)

    def of_campus(self, campus_id: str) -> list[JournalEntry]:
        return [e for e in self.entries if e.campus_id == campus_id]


def project(facts: Iterable[Fact], *, settings: BooksSettings | None = None,
            campus_codes: Mapping[str, str] | None = None, closes: Iterable[PeriodClose] = ()) -> Projection:
    """Derive the journal from ``facts`` (in any order: the result is the same)."""
    closed = Closes(closes)
    ledger = Ledger(settings, campus_codes)
    periods: dict[tuple[FactKey, str], str] = {}  # where each fact's entries at each campus went
    made: list[JournalEntry] = []
    placed: dict[FactKey, tuple[str, str]] = {}
    for fact, period in _order(list(facts), closed):
        placed[fact.key] = (_state_campus(fact), period)
        reverses = fact.reverses if isinstance(fact, Reversal) else None
        for entry in ledger.apply(fact):
            # A reversal posts no earlier than what it reverses did at that campus.
            posted = _restamp(entry, closed, periods.get((reverses, entry.campus_id), "") if reverses else "")
            periods[(fact.key, posted.campus_id)] = max(posted.period, periods.get((fact.key, posted.campus_id), ""))
            made.append(posted)
    made.sort(key=lambda e: (e.campus_id, e.period, e.date))  # stable: within a day, the order of the facts
    return Projection(tuple(made), ledger.positions, placed)


# --- reading the facts from the store ---------------------------------------------------------------


def _local_date(instant: str, zone: ZoneInfo) -> str:
    moment = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    return moment.astimezone(zone).date().isoformat()


def campus_codes(conn: Connection) -> dict[str, str]:
    return {row.id: row.code for row in conn.execute(select(campuses.c.id, campuses.c.code))}


FactReader = Callable[[Connection, "str | None", str], list[Fact]]
# Readers of facts kept in tables of their own (manual entries, expenses; later refunds, payroll):
# a module that adds a fact kind registers its reader here beside its posting rule.
FACT_READERS: list[FactReader] = []


def read_facts(conn: Connection, campus_id: str | None = None, timezone: str = DEFAULT_TIMEZONE) -> list[Fact]:
    """Every fact the books post, from the replicated tables; with ``campus_id``, those that post at
    that campus (and everything its contracts' positions depend on)."""
    zone = ZoneInfo(timezone)
    contract_campus = {row.id: row.campus_id for row in conn.execute(select(contracts.c.id, contracts.c.campus_id))}
    facts: list[Fact] = []

    money = select(payments)
    if campus_id is not None:
        own_contracts = select(contracts.c.id).where(contracts.c.campus_id == campus_id)
        own_deposits = select(payments.c.id).where(payments.c.campus_id == campus_id, payments.c.kind == "deposit")
        money = money.where(or_(payments.c.campus_id == campus_id, payments.c.contract_id.in_(own_contracts),
                                payments.c.source_payment_id.in_(own_deposits)))
    rows = [dict(r) for r in conn.execute(money).mappings()]
    deposit_campus = {r["id"]: r["campus_id"] for r in conn.execute(
        select(payments.c.id, payments.c.campus_id).where(payments.c.kind == "deposit")).mappings()}
    for row in rows:
        common = {"id": row["id"], "at": row["paid_at"], "date": _local_date(row["paid_at"], zone),
                  "amount_fen": row["amount_fen"], "reference": row["receipt_number"]}
        if row["kind"] == "deposit":
            facts.append(Deposit(campus_id=row["campus_id"], fund_account=row["fund_account"], **common))
        elif row["kind"] == "payment":
            facts.append(Receipt(campus_id=row["campus_id"], contract_id=row["contract_id"],
                                 contract_campus_id=contract_campus.get(row["contract_id"], row["campus_id"]),
                                 fund_account=row["fund_account"], **common))
        elif row["kind"] == "deposit_applied":
            facts.append(DepositApplied(
                contract_id=row["contract_id"],
                contract_campus_id=contract_campus.get(row["contract_id"], row["campus_id"]),
                deposit_campus_id=deposit_campus.get(row["source_payment_id"], row["campus_id"]), **common))

    ledger_rows = select(asset_entries).where(asset_entries.c.gift.is_(False))
    if campus_id is not None:
        ledger_rows = ledger_rows.where(or_(asset_entries.c.campus_id == campus_id,
                                            asset_entries.c.recorded_campus_id == campus_id))
    rows = [dict(r) for r in conn.execute(ledger_rows).mappings()]
    valued: set[str] = set()
    for row in rows:
        common = {"id": row["id"], "at": row["at"], "date": _local_date(row["at"], zone),
                  "contract_id": row["contract_id"], "contract_campus_id": row["campus_id"]}
        if row["kind"] == "consumed" and row["value_fen"] < 0:
            facts.append(Consumption(teaching_campus_id=row["recorded_campus_id"], value_fen=-row["value_fen"],
                                     hours_x100=-row["hours_x100"], **common))
            valued.add(row["id"])
        elif row["kind"] == "expired" and row["value_fen"] < 0:
            facts.append(Expiry(value_fen=-row["value_fen"], **common))
            valued.add(row["id"])
    for row in rows:  # reversals of entries that carried value; undoing anything else moves no money
        if row["kind"] == "reversal" and row["reverses_entry_id"] in valued:
            facts.append(Reversal(id=row["id"], at=row["at"], date=_local_date(row["at"], zone),
                                  contract_id=row["contract_id"], contract_campus_id=row["campus_id"],
                                  reverses=("asset_entries", row["reverses_entry_id"])))

    changes = select(contract_events)
    if campus_id is not None:
        changes = changes.where(contract_events.c.campus_id == campus_id)
    for event in conn.execute(changes).mappings():
        facts.append(ContractChange(id=event["id"], at=event["at"], date=_local_date(event["at"], zone),
                                    contract_id=event["contract_id"], contract_campus_id=event["campus_id"],
                                    change=event["kind"], hours_x100=event["hours_x100"],
                                    due_delta_fen=event["due_delta_fen"]))
    for reader in FACT_READERS:
        facts.extend(reader(conn, campus_id, timezone))
    return facts


CloseReader = Callable[[Connection, "str | None"], list[PeriodClose]]
CLOSE_READERS: list[CloseReader] = []


def journal(conn: Connection, campus_id: str, *, settings: BooksSettings | None = None,
            closes: Iterable[PeriodClose] | None = None, timezone: str = DEFAULT_TIMEZONE) -> list[JournalEntry]:
    """The journal of one campus, derived from the facts in the store ``conn`` reads, with the
    month closes recorded there (or ``closes``)."""
    if closes is None:
        closes = [close for reader in CLOSE_READERS for close in reader(conn, None)]
    projected = project(read_facts(conn, campus_id, timezone), settings=settings, campus_codes=campus_codes(conn),
                        closes=closes)
    return projected.of_campus(campus_id)


# --- figures read off a journal -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    """One account over a range of periods. Balances are debit positive, credit negative."""

    code: str
    name_zh: str
    name_en: str
    kind: chart.Kind
    opening_fen: int
    debit_fen: int
    credit_fen: int
    closing_fen: int


def _within(entry: JournalEntry, start: str, end: str) -> bool:
    return start <= entry.period <= end


def trial_balance(entries: Iterable[JournalEntry], start: str, end: str) -> list[TrialBalanceRow]:
    """科目余额表 for the periods ``start``..``end`` (YYYY-MM, inclusive), one row per account used."""
    opening: dict[str, int] = defaultdict(int)
    debit: dict[str, int] = defaultdict(int)
    credit: dict[str, int] = defaultdict(int)
    for entry in entries:
        if entry.period > end:
            continue
        for ln in entry.lines:
            if entry.period < start:
                opening[ln.account] += ln.net_fen
            else:
                debit[ln.account] += ln.debit_fen
                credit[ln.account] += ln.credit_fen
    rows = []
    for code in sorted(set(opening) | set(debit) | set(credit)):
        account = chart.account(code)
        rows.append(TrialBalanceRow(code, account.name_zh, account.name_en, account.kind, opening[code],
                                    debit[code], credit[code], opening[code] + debit[code] - credit[code]))
    return rows


def _balances(entries: Iterable[JournalEntry], start: str, end: str) -> dict[str, int]:
    """Net movement per account (debit positive) over the periods."""
    moved: dict[str, int] = defaultdict(int)
    for entry in entries:
        if _within(entry, start, end):
            for ln in entry.lines:
                moved[ln.account] += ln.net_fen
    return moved


@dataclass(frozen=True, slots=True)
class IncomeStatement:
    """利润表 figures, revenue and expenses as positive amounts."""

    tuition_revenue_fen: int
    other_revenue_fen: int
    cost_of_teaching_fen: int
    selling_expenses_fen: int
    administrative_expenses_fen: int
    credit_losses_fen: int
    by_account: Mapping[str, int]  # every revenue and expense account, in its normal direction

    @property
    def revenue_fen(self) -> int:
        return self.tuition_revenue_fen + self.other_revenue_fen

    @property
    def expenses_fen(self) -> int:
        return (self.cost_of_teaching_fen + self.selling_expenses_fen + self.administrative_expenses_fen
                + self.credit_losses_fen)

    @property
    def profit_fen(self) -> int:
        return sum(amount if chart.account(code).kind is chart.Kind.REVENUE else -amount
                   for code, amount in self.by_account.items())


def income_statement(entries: Iterable[JournalEntry], start: str, end: str) -> IncomeStatement:
    by_account: dict[str, int] = {}
    for code, net in sorted(_balances(entries, start, end).items()):
        kind = chart.account(code).kind
        if kind is chart.Kind.REVENUE:
            by_account[code] = -net
        elif kind is chart.Kind.EXPENSE:
            by_account[code] = net

    def total(parent: str) -> int:
        return sum(amount for code, amount in by_account.items() if chart.account(code).parent_code == parent)

    return IncomeStatement(total(chart.TUITION_REVENUE), total(chart.OTHER_REVENUE), total(chart.COST_OF_TEACHING),
                           total(chart.SELLING_EXPENSES), total(chart.ADMINISTRATIVE_EXPENSES),
                           total(chart.CREDIT_LOSSES), by_account)


@dataclass(frozen=True, slots=True)
class BalanceSheet:
    """资产负债表 at the end of a period: assets debit positive; liabilities and equity credit positive
    (an inter-campus current account is a liability while it has a credit balance).
    ``profit_fen`` is every period's profit so far, not yet carried to equity by closing entries."""

    period: str
    assets: Mapping[str, int]
    liabilities: Mapping[str, int]
    equity: Mapping[str, int]
    profit_fen: int

    @property
    def total_assets_fen(self) -> int:
        return sum(self.assets.values())

    @property
    def total_liabilities_and_equity_fen(self) -> int:
        return sum(self.liabilities.values()) + sum(self.equity.values()) + self.profit_fen


def sheet_sides(balances: Mapping[str, int]) -> tuple[dict[str, int], dict[str, int], dict[str, int], int]:
    """Net debit balances per account sorted into assets, liabilities and equity (each positive in
    its normal direction), and the profit not yet carried to equity. An inter-campus current
    account with a credit balance is owed to the counterpart campus: a liability."""
    assets: dict[str, int] = {}
    liabilities: dict[str, int] = {}
    equity: dict[str, int] = {}
    profit = 0
    for code, net in sorted(balances.items()):
        if not net:
            continue
        kind = chart.account(code).kind
        if chart.is_inter_campus(code) and net < 0:
            liabilities[code] = -net
        elif kind is chart.Kind.ASSET:
            assets[code] = net
        elif kind is chart.Kind.LIABILITY:
            liabilities[code] = -net
        elif kind is chart.Kind.EQUITY:
            equity[code] = -net
        else:
            profit -= net
    return assets, liabilities, equity, profit


def balance_sheet(entries: Iterable[JournalEntry], period: str) -> BalanceSheet:
    return BalanceSheet(period, *sheet_sides(_balances(entries, "", period)))


@dataclass(frozen=True, slots=True)
class RollForward:
    """预收学费变动表 of one contract (or the total): opening + received − recognised − refunded
    + written off + other = closing, all in net deferred tuition (deferred − receivable)."""

    contract_id: str | None
    opening_fen: int = 0
    received_fen: int = 0
    recognised_fen: int = 0
    refunded_fen: int = 0
    written_off_fen: int = 0
    other_fen: int = 0
    deferred_fen: int = 0  # 2204 at the end
    receivable_fen: int = 0  # 1122 at the end

    @property
    def closing_fen(self) -> int:
        return self.deferred_fen - self.receivable_fen

    def __add__(self, other: RollForward) -> RollForward:
        return RollForward(None, *(getattr(self, n) + getattr(other, n) for n in (
            "opening_fen", "received_fen", "recognised_fen", "refunded_fen", "written_off_fen", "other_fen",
            "deferred_fen", "receivable_fen")))


def _net_deferred(entry: JournalEntry) -> dict[str, tuple[int, int, int]]:
    """Per contract: (2204 credit net, 1122 debit net, 6702 debit net) of one entry."""
    moved: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for ln in entry.lines:
        if ln.contract_id is None:
            continue
        if ln.account == chart.DEFERRED_TUITION:
            moved[ln.contract_id][0] -= ln.net_fen
        elif ln.account == chart.RECEIVABLE:
            moved[ln.contract_id][1] += ln.net_fen
        elif ln.account == chart.CREDIT_LOSSES:
            moved[ln.contract_id][2] += ln.net_fen
    return {contract: (d, r, w) for contract, (d, r, w) in moved.items()}


def deferred_tuition(entries: Iterable[JournalEntry], start: str, end: str) -> tuple[list[RollForward], RollForward]:
    """Each contract's roll-forward over the periods ``start``..``end``, and the total."""
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for entry in entries:
        if entry.period > end:
            continue
        category = CATEGORIES.get(entry.rule)
        for contract, (deferred, receivable, bad_debt) in _net_deferred(entry).items():
            row = rows[contract]
            row["deferred_fen"] += deferred
            row["receivable_fen"] += receivable
            net = deferred - receivable
            if entry.period < start:
                row["opening_fen"] += net
                continue
            row["written_off_fen"] += bad_debt
            if category is Category.RECEIVED:
                row["received_fen"] += net
            elif category is Category.REFUNDED:
                row["refunded_fen"] -= net
            elif category is Category.RECOGNISED:
                row["recognised_fen"] += bad_debt - net
            elif category is not Category.WRITTEN_OFF:
                row["other_fen"] += net - bad_debt
    made = [RollForward(contract, **values) for contract, values in sorted(rows.items())]
    total = RollForward(None)
    for each in made:
        total = total + each
    return made, total

