"""What the refund use cases and screens read: a contract's position for the calculation, the
policy of each line, open and paid refunds, and the refund report."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import Connection, Select, and_, func, or_, select

from campus.node.finance import ledger
from campus.node.finance.contracts import contract_row
from campus.schema.errors import NotFound
from campus.schema.refund_report import refund_report as refund_report
from campus.schema.refunds import ContractState, LineState, Policy, policy_from_row
from campus.schema.search import contains_pattern, ordered, paged
from campus.schema.tables import (
    asset_entries,
    contract_lines,
    payments,
    products,
    refund_policies,
    refunds,
    students,
    users,
)

OPEN = ("requested", "approved")
STATUSES = ("requested", "approved", "rejected", "paid")
REASON_CATEGORIES = ("school", "customer", "other")  # 校方 / 客户 / 其他


class RefundNotFound(NotFound):
    pass


def line_label(line: dict[str, Any]) -> str:
    return " ".join(str(line[k]) for k in ("subject", "grade", "level") if line.get(k))


def line_state(conn: Connection, line: dict[str, Any]) -> LineState:
    entries = ledger.entries_of(conn, line["id"])
    kinds = {e["id"]: e["kind"] for e in entries}
    consumed = 0
    for entry in entries:
        if entry["gift"]:
            continue
        if entry["kind"] == "consumed":
            consumed -= entry["hours_x100"]
        elif entry["kind"] == "reversal" and kinds.get(entry["reverses_entry_id"]) == "consumed":
            consumed -= entry["hours_x100"]
    balance = ledger.line_balance(conn, line["id"])
    return LineState(line["id"], line_label(line), consumed, balance.paid_hours_x100, balance.gift_hours_x100,
                     balance.value_fen)


def settled_fen(conn: Connection, contract_id: str, excluding: str | None = None) -> int:
    """What paid refunds already took from the contract's money: paid back, fees and materials kept."""
    query = select(func.coalesce(func.sum(refunds.c.amount_fen + refunds.c.fee_fen + refunds.c.materials_fen), 0)
                   ).where(refunds.c.contract_id == contract_id, refunds.c.status == "paid",
                           refunds.c.deleted.is_(False))
    if excluding:
        query = query.where(refunds.c.id != excluding)
    return int(conn.execute(query).scalar_one())


def contract_state(conn: Connection, contract_id: str) -> ContractState:
    """The contract as the calculation sees it (the ledger and the money, now)."""
    from campus.node.finance.payments import contract_money

    contract = contract_row(conn, contract_id)
    lines = {row["id"]: line_state(conn, dict(row)) for row in conn.execute(
        select(contract_lines).where(contract_lines.c.contract_id == contract_id)
        .order_by(contract_lines.c.created_at, contract_lines.c.id)).mappings()}
    received = int(conn.execute(select(func.coalesce(func.sum(payments.c.amount_fen), 0)).where(  # opening: migrated
        payments.c.contract_id == contract_id, payments.c.kind.in_(("payment", "deposit_applied", "opening")))).scalar_one())
    consumed_value = 0
    rows = conn.execute(select(asset_entries.c.id, asset_entries.c.kind, asset_entries.c.value_fen,
                               asset_entries.c.reverses_entry_id).where(
        asset_entries.c.contract_id == contract_id, asset_entries.c.gift.is_(False))).all()
    kinds = {r.id: r.kind for r in rows}
    for row in rows:
        if row.kind == "consumed" or (row.kind == "reversal" and kinds.get(row.reverses_entry_id) == "consumed"):
            consumed_value -= row.value_fen
    money = contract_money(conn, contract_id)
    return ContractState(contract["number"], date.fromisoformat(contract["signed_at"][:10]), received,
                         settled_fen(conn, contract_id), consumed_value, money["arrears_fen"], lines)


def policy_row_for(conn: Connection, line: dict[str, Any]) -> dict[str, Any] | None:
    """The policy of a line: its product's, else its product line's (subject), else the default."""
    live = and_(refund_policies.c.active.is_(True), refund_policies.c.deleted.is_(False))
    for condition in ((refund_policies.c.product_id == line["product_id"]) if line.get("product_id") else None,
                      refund_policies.c.subject == line["subject"], refund_policies.c.is_default.is_(True)):
        if condition is None:
            continue
        row = conn.execute(select(refund_policies).where(live, condition).order_by(refund_policies.c.code)
                           ).mappings().first()
        if row is not None:
            return dict(row)
    return None


def policies_for(conn: Connection, contract_id: str) -> dict[str, tuple[str, Policy]]:
    """line id → (policy id, policy), for the lines some policy covers."""
    found = {}
    for line in conn.execute(select(contract_lines).where(contract_lines.c.contract_id == contract_id)).mappings():
        row = policy_row_for(conn, dict(line))
        if row is not None:
            found[line["id"]] = (row["id"], policy_from_row(row))
    return found


def open_refund_lines(conn: Connection, contract_id: str) -> dict[str, str]:
    """line id → number of the open refund (requested or approved) that names it."""
    taken = {}
    for row in conn.execute(select(refunds.c.number, refunds.c.lines).where(
            refunds.c.contract_id == contract_id, refunds.c.status.in_(OPEN), refunds.c.deleted.is_(False))):
        for item in json.loads(row.lines):
            taken[item["line_id"]] = row.number
    return taken


def original_channel(conn: Connection, contract_id: str) -> str | None:
    """The fund account the contract's money came in by (the latest receipt; a deposit's own)."""
    row = conn.execute(select(payments.c.fund_account, payments.c.source_payment_id).where(
        payments.c.contract_id == contract_id, payments.c.kind.in_(("payment", "deposit_applied")))
        .order_by(payments.c.paid_at.desc(), payments.c.id.desc())).first()
    if row is None:
        return None
    if row.fund_account:
        return str(row.fund_account)
    return conn.execute(select(payments.c.fund_account).where(payments.c.id == row.source_payment_id)).scalar()


def refund_row(conn: Connection, refund_id: str) -> dict[str, Any]:
    row = conn.execute(select(refunds).where(refunds.c.id == refund_id, refunds.c.deleted.is_(False))
                       ).mappings().first()
    if row is None:
        raise RefundNotFound(f"no refund {refund_id}", refund_id=refund_id)
    return dict(row)


def _names(conn: Connection, given: set[str | None]) -> dict[str, str]:
    ids = {x for x in given if x}
    if not ids:
        return {}
    return {r.id: r.display_name for r in conn.execute(select(users.c.id, users.c.display_name)
                                                        .where(users.c.id.in_(ids)))}


def refund_view(conn: Connection, refund_id: str) -> dict[str, Any]:
    row = refund_row(conn, refund_id)
    contract = contract_row(conn, row["contract_id"])
    student = conn.execute(select(students.c.number, students.c.name).where(students.c.id == row["student_id"])
                           ).first()
    names = _names(conn, {row["requested_by"], row["decided_by"], row["paid_by"]})
    return {**row, "lines": json.loads(row["lines"]), "calculation": json.loads(row["calculation"]),
            "contract_number": contract["number"], "student_number": student.number if student else None,
            "student_name": student.name if student else None,
            "requested_by_name": names.get(row["requested_by"]), "decided_by_name": names.get(row["decided_by"]),
            "paid_by_name": names.get(row["paid_by"])}


def _refunds_of(campus_id: str, status: str | None) -> Select[Any]:
    query = (select(refunds, students.c.name.label("student_name"))
             .join(students, students.c.id == refunds.c.student_id, isouter=True)
             .where(refunds.c.deleted.is_(False),
                    or_(refunds.c.campus_id == campus_id, refunds.c.contract_campus_id == campus_id)))
    return query.where(refunds.c.status == status) if status else query


def refund_list(conn: Connection, campus_id: str, status: str | None = None,
                contract_id: str | None = None) -> list[dict[str, Any]]:
    """This campus's refunds, and every refund on its contracts paid elsewhere, newest first."""
    query = _refunds_of(campus_id, status).order_by(refunds.c.requested_at.desc(), refunds.c.id.desc())
    if contract_id:
        query = query.where(refunds.c.contract_id == contract_id)
    return [dict(r) for r in conn.execute(query).mappings()]


REFUND_SORTS = {"requested": refunds.c.requested_at, "number": refunds.c.number, "amount": refunds.c.amount_fen,
                "status": refunds.c.status, "due": refunds.c.due_on, "student": students.c.name}


def refund_page(conn: Connection, campus_id: str, limit: int, offset: int, status: str | None = None,
                sort: str = "requested", descending: bool = True, query: str | None = None
                ) -> tuple[int, list[dict[str, Any]]]:
    """One page of :func:`refund_list` in the order of one of ``REFUND_SORTS``, optionally those
    whose number or student's name holds ``query``."""
    listed = _refunds_of(campus_id, status)
    if query:
        pattern = contains_pattern(query)
        listed = listed.where(or_(refunds.c.number.like(pattern, escape="\\"),
                                  students.c.name.like(pattern, escape="\\")))
    return paged(conn, listed, ordered(REFUND_SORTS.get(sort, refunds.c.requested_at), descending, refunds.c.id),
                 limit, offset)


def overdue(conn: Connection, campus_id: str, today: date) -> list[dict[str, Any]]:
    """Approved refunds of this campus whose payout deadline has passed."""
    return [dict(r) for r in conn.execute(select(refunds).where(
        refunds.c.campus_id == campus_id, refunds.c.status == "approved", refunds.c.deleted.is_(False),
        refunds.c.due_on < today.isoformat()).order_by(refunds.c.due_on)).mappings()]


def product_name(conn: Connection, product_id: str | None) -> str | None:
    if not product_id:
        return None
    return conn.execute(select(products.c.name).where(products.c.id == product_id)).scalar()


def refund_reminders(conn: Connection, campus_id: str, today: date, *, may_approve: bool,
                     may_pay: bool) -> list[dict[str, Any]]:
    """What waits on the signed-in user: refunds to approve (managers), refunds to pay by their
    deadline, and those past it (finance)."""
    found: list[dict[str, Any]] = []
    wanted = [s for s, ok in (("requested", may_approve), ("approved", may_pay)) if ok]
    if not wanted:
        return found
    rows = conn.execute(select(refunds.c.id, refunds.c.number, refunds.c.status, refunds.c.due_on,
                               refunds.c.amount_fen, refunds.c.requested_at, students.c.name)
                        .join(students, students.c.id == refunds.c.student_id, isouter=True)
                        .where(refunds.c.campus_id == campus_id, refunds.c.status.in_(wanted),
                               refunds.c.deleted.is_(False)).order_by(refunds.c.requested_at))
    for row in rows:
        if row.status == "requested":
            kind, on = "refund_to_approve", row.requested_at[:10]
        else:
            kind, on = ("refund_overdue" if row.due_on < today.isoformat() else "refund_to_pay"), row.due_on
        found.append({"refund_id": row.id, "number": row.number, "name": row.name, "kind": kind, "on": on,
                      "amount_fen": row.amount_fen})
    return found
