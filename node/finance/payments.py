"""Money received: deposits (订金), instalments on contracts, deposits applied at signing.

Every row is a fact with a campus-prefixed receipt number (unique across campuses without
coordination). What a contract still owes is computed from its amount, its change events
and its payments, here and nowhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from campus.node.crm.leads import CampusRef, get_lead
from campus.node.crm.moves import CrmSettings, move_lead
from campus.node.crm.pools import TRANSITIONS, Move, Pool
from campus.schema.books.chart import FundAccount
from campus.schema.errors import Conflict, Invalid, NotFound
from campus.schema.numbers import next_number
from campus.schema.permissions import Principal
from campus.schema.quantities import Money
from campus.schema.tables import contract_events, contracts, payments, refunds, students
from campus.schema.times import utc_now_text
from campus.sync.capture import UnitOfWork

FUND_ACCOUNTS = tuple(FundAccount)  # 现金, 微信, 支付宝, 银行转账, POS 刷卡


class Overpayment(Conflict):
    """A payment larger than what the contract still owes is refused (nothing is kept as credit)."""


def _fund_account(value: str) -> str:
    if value not in FUND_ACCOUNTS:
        raise Invalid("fund_account", f"one of {', '.join(FUND_ACCOUNTS)}")
    return value


def _amount(value: int) -> int:
    if type(value) is not int or value <= 0:
        raise Invalid("amount_fen", "must be a positive whole number of fen")
    return value


def record(uow: UnitOfWork, campus: CampusRef, kind: str, amount_fen: int, *, fund_account: str | None,
           student_id: str | None = None, lead_id: str | None = None, contract_id: str | None = None,
           source_payment_id: str | None = None, by_user_id: str | None = None,
           note: str | None = None) -> dict[str, Any]:
    now = utc_now_text()
    row = {"campus_id": campus.id, "receipt_number": next_number(uow.conn, campus.code, "receipt"), "kind": kind,
           "student_id": student_id, "lead_id": lead_id, "contract_id": contract_id, "amount_fen": amount_fen,
           "fund_account": fund_account, "source_payment_id": source_payment_id, "paid_at": now,
           "by_user_id": by_user_id, "note": note, "created_at": now}
    return {"id": uow.insert("payments", row), **row}


def take_deposit(uow: UnitOfWork, campus: CampusRef, amount_fen: int, fund_account: str, *,
                 student_id: str | None = None, lead_id: str | None = None, by_user_id: str | None = None,
                 note: str | None = None, crm: CrmSettings | None = None, actor: Principal | None = None,
                 now: datetime | None = None) -> dict[str, Any]:
    """A deposit without a contract, from a lead or a student; applied when a contract is signed.
    A lead in a consultant's pool moves to the deposit pool, by ``actor`` (who must be allowed
    to move it: another consultant's private lead is refused)."""
    _amount(amount_fen)
    _fund_account(fund_account)
    if bool(student_id) == bool(lead_id):
        raise Invalid("student_id", "a deposit is taken from one student or one lead")
    if student_id:
        exists = uow.conn.execute(select(students.c.id).where(students.c.id == student_id)).first()
        if not exists:
            raise NotFound(f"no student {student_id}", student_id=student_id)
    if lead_id:
        lead = get_lead(uow.conn, lead_id)
        if crm and Pool(lead["pool"]) in TRANSITIONS[Move.DEPOSIT][0]:
            move_lead(uow, lead_id, Move.DEPOSIT, actor, campus.id, now or datetime.now(UTC), crm,
                      reason=f"deposit {Money(amount_fen)}")
    return record(uow, campus, "deposit", amount_fen, fund_account=fund_account, student_id=student_id,
                  lead_id=lead_id, by_user_id=by_user_id, note=note)


def deposit_remaining(conn: Connection, deposit_id: str) -> int:
    deposit = conn.execute(select(payments).where(payments.c.id == deposit_id, payments.c.kind == "deposit")
                           ).mappings().first()
    if deposit is None:
        raise Invalid("deposit_ids", f"no deposit {deposit_id}")
    applied = conn.execute(select(func.coalesce(func.sum(payments.c.amount_fen), 0)).where(
        payments.c.source_payment_id == deposit_id, payments.c.kind == "deposit_applied")).scalar_one()
    return deposit["amount_fen"] - applied


def open_deposits(conn: Connection, student_id: str, lead_id: str | None) -> list[dict[str, Any]]:
    """Deposits of this student (or of the lead they came from) with something left to apply."""
    owner = payments.c.student_id == student_id
    if lead_id:
        owner |= payments.c.lead_id == lead_id
    rows = conn.execute(select(payments).where(payments.c.kind == "deposit", owner).order_by(payments.c.id)).mappings()
    found = [{**dict(r), "remaining_fen": deposit_remaining(conn, r["id"])} for r in rows]
    return [d for d in found if d["remaining_fen"] > 0]


def contract_money(conn: Connection, contract_id: str) -> dict[str, int]:
    """What the contract costs now (as signed plus its changes), what was paid, what is owed."""
    signed = conn.execute(select(contracts.c.amount_fen).where(contracts.c.id == contract_id)).scalar()
    if signed is None:
        raise NotFound(f"no contract {contract_id}", contract_id=contract_id)
    changes = conn.execute(select(func.coalesce(func.sum(contract_events.c.due_delta_fen), 0)).where(
        contract_events.c.contract_id == contract_id)).scalar_one()
    paid = conn.execute(select(func.coalesce(func.sum(payments.c.amount_fen), 0)).where(
        # "opening": a migrated position's remaining value, paid before Campus (node/finance/migration.py)
        payments.c.contract_id == contract_id, payments.c.kind.in_(("payment", "deposit_applied", "opening")))).scalar_one()
    # A paid refund gives money back and takes hours off: what is owed falls by the value of those
    # hours less what the school kept (fee, materials), so arrears for hours never taught go too.
    refunded, cancelled = conn.execute(select(
        func.coalesce(func.sum(refunds.c.amount_fen), 0),
        func.coalesce(func.sum(refunds.c.value_fen - refunds.c.fee_fen - refunds.c.materials_fen), 0)).where(
        refunds.c.contract_id == contract_id, refunds.c.status == "paid", refunds.c.deleted.is_(False))).one()
    due = int(signed + changes - cancelled)
    paid = int(paid - refunded)
    return {"due_fen": due, "paid_fen": paid, "arrears_fen": due - paid, "refunded_fen": int(refunded)}


def take_payment(uow: UnitOfWork, campus: CampusRef, contract_id: str, amount_fen: int, fund_account: str, *,
                 by_user_id: str | None = None, note: str | None = None) -> dict[str, Any]:
    """An instalment on a contract. More than the contract owes is refused: overpaid money
    would have to be refunded, so the desk takes only what is owed."""
    _amount(amount_fen)
    _fund_account(fund_account)
    money = contract_money(uow.conn, contract_id)
    if amount_fen > money["arrears_fen"]:
        raise Overpayment(f"the contract owes {Money(max(money['arrears_fen'], 0))}; "
                          f"{Money(amount_fen)} is more than that", field="amount_fen", **money)
    student_id = uow.conn.execute(select(contracts.c.student_id).where(contracts.c.id == contract_id)).scalar()
    return record(uow, campus, "payment", amount_fen, fund_account=fund_account, student_id=student_id,
                  contract_id=contract_id, by_user_id=by_user_id, note=note)


def apply_deposit(uow: UnitOfWork, campus: CampusRef, deposit_id: str, contract_id: str, student_id: str,
                  lead_id: str | None, by_user_id: str | None) -> dict[str, Any] | None:
    """Apply what is left of a deposit (at most what the contract owes) to the contract."""
    deposit = uow.conn.execute(select(payments).where(payments.c.id == deposit_id)).mappings().first()
    if deposit is None or deposit["kind"] != "deposit":
        raise Invalid("deposit_ids", f"no deposit {deposit_id}")
    if deposit["student_id"] != student_id and (lead_id is None or deposit["lead_id"] != lead_id):
        raise Invalid("deposit_ids", f"deposit {deposit['receipt_number']} belongs to someone else")
    amount = min(deposit_remaining(uow.conn, deposit_id), contract_money(uow.conn, contract_id)["arrears_fen"])
    if amount <= 0:
        return None
    return record(uow, campus, "deposit_applied", amount, fund_account=None, student_id=student_id,
                  contract_id=contract_id, source_payment_id=deposit_id, by_user_id=by_user_id,
                  note=f"deposit {deposit['receipt_number']}")


def payments_of(conn: Connection, contract_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(payments).where(payments.c.contract_id == contract_id)
                                          .order_by(payments.c.id)).mappings()]


def get_payment(conn: Connection, payment_id: str) -> dict[str, Any]:
    row = conn.execute(select(payments).where(payments.c.id == payment_id)).mappings().first()
    if row is None:
        raise NotFound(f"no payment {payment_id}", payment_id=payment_id)
    return dict(row)
