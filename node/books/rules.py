"""Pure rules of the books at a campus: what may be invoiced, what a supervised account may
release, which month may close. Functions over values, tested by tables of cases."""

from __future__ import annotations

from dataclasses import dataclass, field

from campus.schema.books.posting import BooksSettings, ExpiryTreatment
from campus.schema.errors import Conflict


@dataclass(frozen=True)
class BooksPolicy:
    """The campus's book settings (campus.toml [books])."""

    settings: BooksSettings = field(default_factory=BooksSettings)
    invoice_limit: str = "consumed"  # "consumed": up to the value taught; "paid": up to the money received
    supervised_accounts: tuple[str, ...] = ()
    supervised_receipts: str = "off"  # off | warn | refuse


def policy_of(vat_rate_bp: int, expiry: str, share_bp: int, invoice_limit: str,
              supervised_accounts: tuple[str, ...], supervised_receipts: str) -> BooksPolicy:
    return BooksPolicy(BooksSettings(vat_rate_bp, ExpiryTreatment(expiry), share_bp), invoice_limit,
                       tuple(supervised_accounts), supervised_receipts)


class OverInvoicing(Conflict):
    """An invoice above what the contract may be invoiced for (409 naming the limit)."""


class AboveReleasable(Conflict):
    """A release from a supervised account above what consumption has made releasable (409)."""


class PeriodClosed(Conflict):
    """A posting into a month the campus has closed (409 naming the date)."""


class CloseOutOfOrder(Conflict):
    """Months close in order: an earlier month with entries is still open (409)."""


def invoice_room(limit: str, consumed_fen: int, paid_fen: int, invoiced_fen: int) -> int:
    """What may still be invoiced on a contract: up to the value consumed (or paid), less what
    invoices already cover (blue minus red)."""
    ceiling = consumed_fen if limit == "consumed" else paid_fen
    return max(ceiling - invoiced_fen, 0)


def check_invoice(amount_fen: int, limit: str, consumed_fen: int, paid_fen: int, invoiced_fen: int) -> None:
    room = invoice_room(limit, consumed_fen, paid_fen, invoiced_fen)
    if amount_fen > room:
        raise OverInvoicing(f"at most {room} fen may be invoiced on this contract now "
                            f"({'value consumed' if limit == 'consumed' else 'amount paid'} "
                            f"{consumed_fen if limit == 'consumed' else paid_fen}, already invoiced {invoiced_fen})",
                            field="amount_fen", limit_fen=room, basis=limit, invoiced_fen=invoiced_fen)


def releasable(per_contract: list[tuple[int, int]], released_fen: int) -> int:
    """What a supervised account may release (消拨同步): for each contract paid into it, the value
    consumed up to what was paid into the account (``(paid_in_fen, consumed_fen)``), less what
    was released already. Never negative."""
    return max(sum(min(paid, consumed) for paid, consumed in per_contract) - released_fen, 0)


def held(per_contract: list[tuple[int, int]]) -> int:
    """What stays held for hours not yet taught."""
    return sum(max(paid - consumed, 0) for paid, consumed in per_contract)


def check_release(amount_fen: int, room_fen: int) -> None:
    if amount_fen > room_fen:
        raise AboveReleasable(f"at most {room_fen} fen is releasable now", field="amount_fen",
                              releasable_fen=room_fen)


def previous_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"


def check_close(period: str, today_period: str, closed: set[str], periods_with_entries: set[str]) -> None:
    """A month closes once it is over, once, and after every earlier month that has entries."""
    if period >= today_period:
        raise CloseOutOfOrder(f"{period} is not over yet", field="period")
    if period in closed:
        raise CloseOutOfOrder(f"{period} is already closed", field="period")
    open_before = sorted(p for p in periods_with_entries if p < period and p not in closed)
    if open_before:
        raise CloseOutOfOrder(f"close {open_before[0]} first: months close in order", field="period",
                              open_periods=open_before)


def check_open(entry_date: str, closed: set[str]) -> None:
    if entry_date[:7] in closed or (closed and entry_date[:7] < max(closed)):
        raise PeriodClosed(f"{entry_date[:7]} is closed: post the correction in an open month",
                           field="entry_date", closed_through=max(closed))


@dataclass(frozen=True)
class StatementLine:
    row: int
    booked_on: str  # ISO date
    amount_fen: int
    reference: str = ""


@dataclass(frozen=True)
class Receipt:
    payment_id: str
    paid_on: str  # the campus-local ISO date
    amount_fen: int
    receipt_number: str = ""


def _days_apart(a: str, b: str) -> int:
    from datetime import date

    return abs((date.fromisoformat(a) - date.fromisoformat(b)).days)


def match_statement(lines: list[StatementLine], receipts: list[Receipt],
                    window_days: int = 2) -> dict[int, str]:
    """Which receipt each statement line is (row → payment id): a line naming a receipt number
    in its reference is that receipt; otherwise the receipt of the same amount nearest in date
    within ``window_days`` (the bank may book a day or two later), earliest first. Each receipt
    matches at most one line; the result does not depend on the order of either list."""
    free = {r.payment_id: r for r in receipts}
    matched: dict[int, str] = {}
    ordered = sorted(lines, key=lambda x: (x.booked_on, x.row))
    for line in ordered:
        named = [r for r in free.values() if r.receipt_number and r.receipt_number in line.reference
                 and r.amount_fen == line.amount_fen]
        if named:
            chosen = min(named, key=lambda r: r.payment_id)
            matched[line.row] = chosen.payment_id
            del free[chosen.payment_id]
    for line in ordered:
        if line.row in matched or line.amount_fen <= 0:
            continue
        near = [r for r in free.values() if r.amount_fen == line.amount_fen
                and _days_apart(r.paid_on, line.booked_on) <= window_days]
        if near:
            chosen = min(near, key=lambda r: (_days_apart(r.paid_on, line.booked_on), r.paid_on, r.payment_id))
            matched[line.row] = chosen.payment_id
            del free[chosen.payment_id]
    return matched


class InvoicedValue(Conflict):
    """A refund would return money an invoice still covers: cancel it with a red-letter invoice first."""


def check_refund_against_invoices(refund_fen: int, paid_fen: int, invoiced_fen: int) -> None:
    """For the refunds issue to call before a payout: what stays paid after the refund must still
    cover what the contract's invoices (blue less red) say was paid for."""
    if paid_fen - refund_fen < invoiced_fen:
        raise InvoicedValue(f"invoices cover {invoiced_fen} fen of this contract; after refunding {refund_fen} fen "
                            f"only {paid_fen - refund_fen} fen would stay paid: issue a red-letter invoice first",
                            field="amount_fen", invoiced_fen=invoiced_fen, paid_fen=paid_fen)
