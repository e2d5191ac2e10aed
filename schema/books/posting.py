"""Posting rules: business facts in, balanced journal entries out. Pure functions over values.

A *rule* is registered per fact kind and called as ``rule(fact, book) -> Posting``. ``book``
is a read-only view of what came before (settings, each contract's position, what earlier
facts posted, campus codes); the :class:`Posting` holds the entries and the contract
positions the fact leaves behind. :class:`Ledger` folds facts through the rules in the order
it is given; :mod:`campus.schema.books.projection` decides that order.

Revenue recognition per contract (the *position*, all fen, never negative):

* ``deferred_fen``: received and not yet recognised (合同负债 2204);
* ``receivable_fen``: recognised beyond what was received (应收账款 1122);
* ``write_off_open_fen``: arrears written off as bad debt and not yet matched by consumption;
* ``write_off_matched_fen``: bad debt already expensed (信用减值损失 6702).

Money coming in (a receipt, an applied deposit) first clears the receivable, then adds to
deferred tuition. Value recognised (consumption) is drawn from deferred tuition, then from
open write-offs (expensed as bad debt: nobody will pay for it), then becomes a receivable.
Hence, per contract: received − recognised − refunded + written off = deferred − receivable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from typing import Protocol, TypeVar, cast

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
    Refund,
    Reversal,
)
from campus.schema.quantities import FloatRefused, round_half_up

NAMESPACE = uuid.UUID("5a0c1f6e-3b7d-5c52-9a43-61c0b0f7d215")  # journal entry ids: uuid5 under this


def _whole(value: object, name: str) -> int:
    if isinstance(value, float):
        raise FloatRefused(f"{name} takes integer fen, not the float {value!r}")
    if type(value) is not int:
        raise TypeError(f"{name} takes an int, got {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class Line:
    """One side of one account in an entry: a debit or a credit, a positive whole number of fen."""

    account: str
    debit_fen: int = 0
    credit_fen: int = 0
    contract_id: str | None = None

    def __post_init__(self) -> None:
        _whole(self.debit_fen, "debit_fen")
        _whole(self.credit_fen, "credit_fen")
        if self.debit_fen < 0 or self.credit_fen < 0 or bool(self.debit_fen) == bool(self.credit_fen):
            raise ValueError(f"a line on {self.account} is a positive debit or a positive credit, not both "
                             f"(got {self.debit_fen} / {self.credit_fen})")
        chart.account(self.account)  # an unknown code is refused here

    @property
    def net_fen(self) -> int:
        """Debit positive, credit negative."""
        return self.debit_fen - self.credit_fen

    def negated(self) -> Line:
        return Line(self.account, self.credit_fen, self.debit_fen, self.contract_id)


def line(account: str, net_fen: int, contract_id: str | None = None) -> Line | None:
    """A debit for a positive ``net_fen``, a credit for a negative one, nothing for zero."""
    _whole(net_fen, "net_fen")
    if net_fen == 0:
        return None
    return Line(account, max(net_fen, 0), max(-net_fen, 0), contract_id)


def lines(*amounts: tuple[str, int] | tuple[str, int, str | None]) -> tuple[Line, ...]:
    """Lines from ``(account, net_fen[, contract_id])``, zero amounts left out."""
    made = (line(*amount) for amount in amounts)
    return tuple(made_line for made_line in made if made_line is not None)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced journal entry (凭证) of one campus, derived from one fact."""

    id: str
    campus_id: str
    date: str  # campus-local ISO date it is posted on
    period: str  # YYYY-MM it is posted in
    rule: str
    memo: str
    source_table: str
    source_id: str
    lines: tuple[Line, ...]
    counterpart_campus_id: str | None = None  # set on entries through an inter-campus current account
    origin_period: str | None = None  # a prior-period adjustment: the period its fact belongs to

    def __post_init__(self) -> None:
        if len(self.lines) < 2:
            raise ValueError(f"entry {self.id} needs at least two lines")
        debit, credit = self.debit_fen, sum(ln.credit_fen for ln in self.lines)
        if debit != credit:
            raise ValueError(f"entry {self.id} does not balance: debits {debit}, credits {credit}")
        if self.date[:7] != self.period:
            raise ValueError(f"entry {self.id} is dated {self.date}, outside its period {self.period}")

    @property
    def debit_fen(self) -> int:
        return sum(ln.debit_fen for ln in self.lines)

    @property
    def source(self) -> FactKey:
        return (self.source_table, self.source_id)


def entry_id(rule: str, campus_id: str, source: FactKey) -> str:
    """Deterministic: the same fact posted by the same rule at the same campus, anywhere, has one id."""
    return str(uuid.uuid5(NAMESPACE, f"{rule}|{campus_id}|{source[0]}|{source[1]}"))


def make_entry(fact: Fact, rule: str, campus_id: str, memo: str, entry_lines: Iterable[Line],
               counterpart_campus_id: str | None = None) -> JournalEntry | None:
    """The entry ``rule`` posts for ``fact`` at ``campus_id``, dated as the fact; ``None`` when it moves nothing."""
    entry_lines = tuple(entry_lines)
    if not entry_lines:
        return None
    return JournalEntry(entry_id(rule, campus_id, fact.key), campus_id, fact.date, fact.date[:7], rule, memo,
                        fact.table, fact.id, entry_lines, counterpart_campus_id)


def reversing_entry(fact: Fact, original: JournalEntry) -> JournalEntry:
    """The exact negation of ``original``, posted for ``fact``."""
    return JournalEntry(entry_id(original.rule, original.campus_id, fact.key), original.campus_id, fact.date,
                        fact.date[:7], original.rule, f"冲销 {original.memo}", fact.table, fact.id,
                        tuple(ln.negated() for ln in original.lines), original.counterpart_campus_id)


# --- settings and positions ---------------------------------------------------------------------


class ExpiryTreatment(StrEnum):
    RECOGNISE = "recognise"  # the deferred value left on an expired contract becomes revenue
    KEEP_DEFERRED = "keep_deferred"  # it stays a liability until refunded or the contract is extended


@dataclass(frozen=True, slots=True)
class BooksSettings:
    vat_rate_bp: int = 0  # simplified VAT (简易计税) in basis points, e.g. 300; 0: off
    expiry: ExpiryTreatment = ExpiryTreatment.KEEP_DEFERRED
    inter_campus_share_bp: int = 5000  # the teaching campus's share of the value it teaches for another

    def __post_init__(self) -> None:
        for name in ("vat_rate_bp", "inter_campus_share_bp"):
            value = _whole(getattr(self, name), name)
            if not 0 <= value <= 10_000:
                raise ValueError(f"{name} is between 0 and 10000 basis points")
        object.__setattr__(self, "expiry", ExpiryTreatment(self.expiry))


@dataclass(frozen=True, slots=True)
class Position:
    deferred_fen: int = 0
    receivable_fen: int = 0
    write_off_open_fen: int = 0
    write_off_matched_fen: int = 0

    def __post_init__(self) -> None:
        for name in ("deferred_fen", "receivable_fen", "write_off_open_fen", "write_off_matched_fen"):
            if _whole(getattr(self, name), name) < 0:
                raise ValueError(f"a contract's {name} is never negative")

    @property
    def net_deferred_fen(self) -> int:
        return self.deferred_fen - self.receivable_fen


def vat_split(value_fen: int, rate_bp: int) -> tuple[int, int]:
    """(revenue, tax) of a tax-inclusive value under simplified VAT: revenue = value ÷ (1 + rate),
    rounded half up; tax the rest. Odd in ``value_fen``, so a reversal undoes it exactly."""
    _whole(value_fen, "value_fen")
    revenue = round_half_up(Fraction(value_fen * 10_000, 10_000 + rate_bp))
    return revenue, value_fen - revenue


def money_in(position: Position, amount_fen: int, contract_id: str) -> tuple[list[Line], Position]:
    """Credit lines for money received on a contract: clear the receivable, then defer.
    A negative amount (money going back) draws deferred tuition first, then becomes a receivable."""
    if amount_fen < 0:
        drawn, after = draw(position, -amount_fen, contract_id, bad_debt=False)
        return drawn, after
    cleared = min(amount_fen, position.receivable_fen)
    deferred = amount_fen - cleared
    made = lines((chart.RECEIVABLE, -cleared, contract_id), (chart.DEFERRED_TUITION, -deferred, contract_id))
    return list(made), replace(position, receivable_fen=position.receivable_fen - cleared,
                               deferred_fen=position.deferred_fen + deferred)


def draw(position: Position, value_fen: int, contract_id: str, *, bad_debt: bool = True) -> tuple[list[Line],
                                                                                                Position]:
    """Debit lines for value taken out of a contract: deferred tuition first, then (``bad_debt``)
    arrears already written off, expensed; whatever is left becomes a receivable."""
    from_deferred = min(value_fen, position.deferred_fen)
    from_write_off = min(value_fen - from_deferred, position.write_off_open_fen) if bad_debt else 0
    receivable = value_fen - from_deferred - from_write_off
    made = lines((chart.DEFERRED_TUITION, from_deferred, contract_id), (chart.CREDIT_LOSSES, from_write_off, contract_id),
                 (chart.RECEIVABLE, receivable, contract_id))
    return list(made), Position(position.deferred_fen - from_deferred, position.receivable_fen + receivable,
                                position.write_off_open_fen - from_write_off,
                                position.write_off_matched_fen + from_write_off)


def give_back(position: Position, value_fen: int, contract_id: str) -> tuple[list[Line], Position]:
    """Credit lines undoing recognised value (a reversal), the inverse order of :func:`draw`:
    the receivable first, then bad debt expensed, then back into deferred tuition."""
    to_receivable = min(value_fen, position.receivable_fen)
    to_write_off = min(value_fen - to_receivable, position.write_off_matched_fen)
    deferred = value_fen - to_receivable - to_write_off
    made = lines((chart.RECEIVABLE, -to_receivable, contract_id), (chart.CREDIT_LOSSES, -to_write_off, contract_id),
                 (chart.DEFERRED_TUITION, -deferred, contract_id))
    return list(made), Position(position.deferred_fen + deferred, position.receivable_fen - to_receivable,
                                position.write_off_open_fen + to_write_off,
                                position.write_off_matched_fen - to_write_off)


def revenue_lines(value_fen: int, settings: BooksSettings, contract_id: str | None) -> list[Line]:
    """Credit lines recognising ``value_fen`` (tax included) as tuition revenue and, with VAT on, the tax."""
    revenue, tax = vat_split(value_fen, settings.vat_rate_bp)
    return list(lines((chart.TUITION_REVENUE, -revenue, contract_id), (chart.TAXES_PAYABLE, -tax, contract_id)))


# --- the rule interface and its registry --------------------------------------------------------


class Book(Protocol):
    """What a rule may read: everything posted before the fact it is given."""

    @property
    def settings(self) -> BooksSettings: ...

    def position(self, contract_id: str) -> Position: ...

    def campus_code(self, campus_id: str) -> str: ...

    def posted(self, source: FactKey) -> tuple[JournalEntry, ...]: ...


@dataclass(frozen=True, slots=True)
class Posting:
    """What one fact posts: its entries, and the contract positions it changed."""

    entries: tuple[JournalEntry, ...] = ()
    positions: Mapping[str, Position] = field(default_factory=dict)


Rule = Callable[[Fact, Book], Posting]
F = TypeVar("F", bound=Fact)


class Category(StrEnum):
    """The column of the deferred-tuition roll-forward an entry's movements go to."""

    RECEIVED = "received"
    RECOGNISED = "recognised"
    REFUNDED = "refunded"
    WRITTEN_OFF = "written_off"


RULES: dict[str, Rule] = {}  # fact kind → rule
CATEGORIES: dict[str, Category] = {}  # entry rule name → roll-forward column


def register_rule(kind: str, rule: Rule, *, categories: Mapping[str, Category] | None = None) -> None:
    """Add the rule for facts of ``kind`` (refunds, payroll and expenses add theirs the same way);
    ``categories`` names the roll-forward column of each entry rule name it posts under."""
    if kind in RULES and RULES[kind] is not rule:
        raise ValueError(f"facts of kind {kind!r} already have a rule")
    RULES[kind] = rule
    CATEGORIES.update(categories or {})


def rule_for(kind: str, *, categories: Mapping[str, Category] | None = None
             ) -> Callable[[Callable[[F, Book], Posting]], Callable[[F, Book], Posting]]:
    """Register the decorated rule for facts of ``kind``; it takes that kind's own fact class,
    which is all :func:`post` hands it."""
    def decorate(rule: Callable[[F, Book], Posting]) -> Callable[[F, Book], Posting]:
        register_rule(kind, cast(Rule, rule), categories=categories)
        return rule
    return decorate


def post(fact: Fact, book: Book) -> Posting:
    try:
        rule = RULES[fact.kind]
    except KeyError:
        raise LookupError(f"no posting rule for facts of kind {fact.kind!r}") from None
    return rule(fact, book)


def _posting(*entries: JournalEntry | None, positions: Mapping[str, Position] | None = None) -> Posting:
    return Posting(tuple(e for e in entries if e is not None), dict(positions or {}))


def _between_campuses(fact: Fact, rule: str, holder: str, contract_campus: str, book: Book, memo: str,
                      amount_fen: int, holder_account: str, contract_id: str) -> tuple[JournalEntry | None, str]:
    """When money held at ``holder`` is for a contract of another campus: the holder's entry moving it
    into their current account, and the account the contract campus debits instead of ``holder_account``."""
    if holder == contract_campus:
        return None, holder_account
    entry = make_entry(fact, f"{rule}.transfer", holder, memo,
                       lines((holder_account, amount_fen, contract_id),
                             (chart.inter_campus_code(book.campus_code(contract_campus)), -amount_fen, contract_id)),
                       counterpart_campus_id=contract_campus)
    return entry, chart.inter_campus_code(book.campus_code(holder))


# --- the rules of this issue ----------------------------------------------------------------------


@rule_for("deposit")
def post_deposit(fact: Deposit, book: Book) -> Posting:
    """Dr fund account, Cr 2203 预收账款."""
    return _posting(make_entry(fact, "deposit", fact.campus_id, f"收订金 {fact.reference}".strip(), lines(
        (chart.fund_account_code(fact.fund_account), fact.amount_fen), (chart.DEPOSITS_RECEIVED, -fact.amount_fen))))


@rule_for("receipt", categories={"receipt": Category.RECEIVED})
def post_receipt(fact: Receipt, book: Book) -> Posting:
    """Dr fund account, Cr 1122 (what was owed for hours already taught), Cr 2204 (the rest).
    Taken at another campus than the contract's, the money passes through the current accounts."""
    memo = f"收学费 {fact.reference}".strip()
    transfer, debit_account = _between_campuses(fact, "receipt", fact.campus_id, fact.contract_campus_id, book,
                                                memo, fact.amount_fen,
                                                chart.fund_account_code(fact.fund_account), fact.contract_id)
    credits, after = money_in(book.position(fact.contract_id), fact.amount_fen, fact.contract_id)
    entry = make_entry(fact, "receipt", fact.contract_campus_id, memo,
                       [*lines((debit_account, fact.amount_fen, fact.contract_id)), *credits],
                       counterpart_campus_id=fact.campus_id if transfer else None)
    return _posting(transfer, entry, positions={fact.contract_id: after})


@rule_for("deposit_applied", categories={"deposit_applied": Category.RECEIVED})
def post_deposit_applied(fact: DepositApplied, book: Book) -> Posting:
    """Dr 2203, Cr 1122/2204: the deposit becomes tuition received on the contract."""
    memo = f"订金转学费 {fact.reference}".strip()
    transfer, debit_account = _between_campuses(fact, "deposit_applied", fact.deposit_campus_id,
                                                fact.contract_campus_id, book, memo, fact.amount_fen,
                                                chart.DEPOSITS_RECEIVED, fact.contract_id)
    credits, after = money_in(book.position(fact.contract_id), fact.amount_fen, fact.contract_id)
    entry = make_entry(fact, "deposit_applied", fact.contract_campus_id, memo,
                       [*lines((debit_account, fact.amount_fen, fact.contract_id)), *credits],
                       counterpart_campus_id=fact.deposit_campus_id if transfer else None)
    return _posting(transfer, entry, positions={fact.contract_id: after})


def _settlement(fact: Consumption, book: Book) -> tuple[JournalEntry | None, JournalEntry | None]:
    """The contract campus owes the teaching campus its share of the value taught: the contract
    campus books it as cost of teaching, the teaching campus as its revenue, both through 内部往来."""
    contract_campus, teaching_campus = fact.contract_campus_id, fact.teaching_campus_id
    if contract_campus == teaching_campus:
        return None, None
    share = round_half_up(Fraction(fact.value_fen * book.settings.inter_campus_share_bp, 10_000))
    memo = f"跨校区上课结算 {book.campus_code(teaching_campus)}→{book.campus_code(contract_campus)}"
    payer = make_entry(fact, "teaching_settlement", contract_campus, memo, lines(
        (chart.COST_OF_TEACHING, share, fact.contract_id),
        (chart.inter_campus_code(book.campus_code(teaching_campus)), -share, fact.contract_id)),
        counterpart_campus_id=teaching_campus)
    payee = make_entry(fact, "teaching_settlement", teaching_campus, memo, lines(
        (chart.inter_campus_code(book.campus_code(contract_campus)), share, fact.contract_id),
        (chart.TUITION_REVENUE, -share, fact.contract_id)), counterpart_campus_id=contract_campus)
    return payer, payee


@rule_for("consumption", categories={"consumption": Category.RECOGNISED})
def post_consumption(fact: Consumption, book: Book) -> Posting:
    """Dr 2204 (what was paid), Dr 6702 (arrears already written off), Dr 1122 (the rest);
    Cr 6001 and, with VAT on, Cr 2221. At the contract's campus, wherever the lesson was."""
    debits, after = draw(book.position(fact.contract_id), fact.value_fen, fact.contract_id)
    recognised = make_entry(fact, "consumption", fact.contract_campus_id, "课消确认收入",
                            [*debits, *revenue_lines(fact.value_fen, book.settings, fact.contract_id)])
    return _posting(recognised, *_settlement(fact, book), positions={fact.contract_id: after})


@rule_for("expiry", categories={"expiry": Category.RECOGNISED})
def post_expiry(fact: Expiry, book: Book) -> Posting:
    """Per the setting: recognise the deferred value left on an expired line (never more than was
    paid: unpaid hours that expire are no income), or post nothing and keep it deferred."""
    if book.settings.expiry is ExpiryTreatment.KEEP_DEFERRED:
        return Posting()
    position = book.position(fact.contract_id)
    value = min(fact.value_fen, position.deferred_fen)
    if value <= 0:
        return Posting()
    debits, after = draw(position, value, fact.contract_id, bad_debt=False)
    entry = make_entry(fact, "expiry", fact.contract_campus_id, "合同到期未消课时确认收入",
                       [*debits, *revenue_lines(value, book.settings, fact.contract_id)])
    return _posting(entry, positions={fact.contract_id: after})


def _recognised_value(entry: JournalEntry) -> int:
    return sum(ln.credit_fen - ln.debit_fen for ln in entry.lines
               if ln.account in (chart.TUITION_REVENUE, chart.TAXES_PAYABLE))


@rule_for("reversal", categories={"consumption.reversal": Category.RECOGNISED,
                                  "expiry.reversal": Category.RECOGNISED})
def post_reversal(fact: Reversal, book: Book) -> Posting:
    """Undo what the reversed fact posted: its revenue exactly, its settlement exactly, and the value
    back into the contract (clearing the receivable first, so no balance goes negative)."""
    position = book.position(fact.contract_id)
    made: list[JournalEntry] = []
    for original in book.posted(fact.reverses):
        if original.rule in ("consumption", "expiry"):
            value = _recognised_value(original)
            credits, position = give_back(position, value, fact.contract_id)
            revenue = [ln.negated() for ln in original.lines
                       if ln.account in (chart.TUITION_REVENUE, chart.TAXES_PAYABLE)]
            made.append(JournalEntry(
                entry_id(f"{original.rule}.reversal", original.campus_id, fact.key), original.campus_id,
                fact.date, fact.date[:7], f"{original.rule}.reversal", f"冲销 {original.memo}", fact.table,
                fact.id, (*revenue, *credits)))
        else:
            made.append(reversing_entry(fact, original))
    return _posting(*made, positions={fact.contract_id: position})


@rule_for("contract_change", categories={"contract_change": Category.WRITTEN_OFF})
def post_contract_change(fact: ContractChange, book: Book) -> Posting:
    """Only a bad-debt write-off posts: Dr 6702, Cr 1122 for the receivable it cancels; arrears
    for hours not yet taught are remembered and expensed as those hours are consumed.
    Expand, shrink, extend and exchange move hours and what is owed, not money or revenue:
    a shrink's money goes back through a refund; an exchange stays within the contract."""
    if fact.change != "write_off":
        return Posting()
    amount = -fact.due_delta_fen
    position = book.position(fact.contract_id)
    cleared = min(amount, position.receivable_fen)
    after = Position(position.deferred_fen, position.receivable_fen - cleared,
                     position.write_off_open_fen + amount - cleared, position.write_off_matched_fen + cleared)
    entry = make_entry(fact, "contract_change", fact.contract_campus_id, "坏账核销", lines(
        (chart.CREDIT_LOSSES, cleared, fact.contract_id), (chart.RECEIVABLE, -cleared, fact.contract_id)))
    return _posting(entry, positions={fact.contract_id: after})


@rule_for("refund", categories={"refund": Category.REFUNDED})
def post_refund(fact: Refund, book: Book) -> Posting:
    """Dr 2204 (amount and fee), Cr fund account (amount), Cr 6051 (the handling fee kept)."""
    debits, after = draw(book.position(fact.contract_id), fact.amount_fen + fact.fee_fen, fact.contract_id,
                         bad_debt=False)
    memo = f"退费 {fact.reference}".strip()
    transfer = None
    credit_account = chart.fund_account_code(fact.fund_account)
    if fact.campus_id != fact.contract_campus_id:  # paid out by another campus: it claims the money back
        transfer = make_entry(fact, "refund.transfer", fact.campus_id, memo, lines(
            (chart.inter_campus_code(book.campus_code(fact.contract_campus_id)), fact.amount_fen, fact.contract_id),
            (credit_account, -fact.amount_fen, fact.contract_id)), counterpart_campus_id=fact.contract_campus_id)
        credit_account = chart.inter_campus_code(book.campus_code(fact.campus_id))
    entry = make_entry(fact, "refund", fact.contract_campus_id, memo, [
        *debits, *lines((credit_account, -fact.amount_fen, fact.contract_id),
                        (chart.OTHER_REVENUE, -fact.fee_fen, fact.contract_id))],
        counterpart_campus_id=fact.campus_id if transfer else None)
    return _posting(transfer, entry, positions={fact.contract_id: after})


# --- folding facts into a journal -----------------------------------------------------------------


class Ledger:
    """Folds facts through the rules in the order given; a :class:`Book` for the rules."""

    def __init__(self, settings: BooksSettings | None = None, campus_codes: Mapping[str, str] | None = None) -> None:
        self._settings = settings or BooksSettings()
        self._codes = dict(campus_codes or {})
        self._positions: dict[str, Position] = {}
        self._posted: dict[FactKey, tuple[JournalEntry, ...]] = {}
        self.entries: list[JournalEntry] = []

    @property
    def settings(self) -> BooksSettings:
        return self._settings

    def position(self, contract_id: str) -> Position:
        return self._positions.get(contract_id, Position())

    @property
    def positions(self) -> Mapping[str, Position]:
        return dict(self._positions)

    def campus_code(self, campus_id: str) -> str:
        """The code its current account is named by; a campus not in the directory yet goes by its id."""
        return self._codes.get(campus_id, campus_id)

    def posted(self, source: FactKey) -> tuple[JournalEntry, ...]:
        return self._posted.get(source, ())

    def apply(self, fact: Fact) -> tuple[JournalEntry, ...]:
        if fact.key in self._posted:
            raise ValueError(f"fact {fact.key} was posted already")
        posting = post(fact, self)
        self._positions.update(posting.positions)
        self._posted[fact.key] = posting.entries
        self.entries.extend(posting.entries)
        return posting.entries

    def apply_all(self, facts: Iterable[Fact]) -> list[JournalEntry]:
        return [entry for fact in facts for entry in self.apply(fact)]
