"""What the refund use cases and screens read: a contract's position for the calculation, the
policy of each line, open and paid refunds, and the refund report."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from campus.node.finance import ledger
from campus.node.finance.contracts import contract_row
from campus.schema.errors import NotFound
from campus.schema.refunds import ContractState, LineState, Policy, policy_from_row
from campus.schema.tables import (
    asset_entries,
    contract_lines,
    payments,
    products,
    refund_policies,
    refunds,
    risk_alerts,
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
    received = int(conn.execute(select(func.coalesce(func.sum(payments.c.amount_fen), 0)).where(
        payments.c.contract_id == contract_id, payments.c.kind.in_(("payment", "deposit_applied")))).scalar_one())
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


def refund_list(conn: Connection, campus_id: str, status: str | None = None,
                contract_id: str | None = None) -> list[dict[str, Any]]:
    """This campus's refunds, and every refund on its contracts paid elsewhere, newest first."""
    query = (select(refunds, students.c.name.label("student_name"))
             .join(students, students.c.id == refunds.c.student_id, isouter=True)
             .where(refunds.c.deleted.is_(False),
                    or_(refunds.c.campus_id == campus_id, refunds.c.contract_campus_id == campus_id))
             .order_by(refunds.c.requested_at.desc(), refunds.c.id.desc()))
    if status:
        query = query.where(refunds.c.status == status)
    if contract_id:
        query = query.where(refunds.c.contract_id == contract_id)
    return [dict(r) for r in conn.execute(query).mappings()]


def overdue(conn: Connection, campus_id: str, today: date) -> list[dict[str, Any]]:
    """Approved refunds of this campus whose payout deadline has passed."""
    return [dict(r) for r in conn.execute(select(refunds).where(
        refunds.c.campus_id == campus_id, refunds.c.status == "approved", refunds.c.deleted.is_(False),
        refunds.c.due_on < today.isoformat()).order_by(refunds.c.due_on)).mappings()]


def product_name(conn: Connection, product_id: str | None) -> str | None:
    if not product_id:
        return None
    return conn.execute(select(products.c.name).where(products.c.id == product_id)).scalar()


def _in_period(column: Any, start: str, end: str) -> Any:
    return and_(column >= f"{start}-01", column < f"{_next(end)}-01")


def _next(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def refund_report(conn: Connection, campus_id: str | None, start: str, end: str) -> dict[str, Any]:
    """Refunds paid in months ``start``..``end`` (at one campus, or the group): by reason, kind and
    stage, amount and count per month, the refund rate (refunded ÷ received), and the contracts
    at risk with their remaining value. ``paid_at`` is UTC text: months are read off it."""
    query = select(refunds).where(refunds.c.status == "paid", refunds.c.deleted.is_(False),
                                  _in_period(refunds.c.paid_at, start, end))
    received = select(func.coalesce(func.sum(payments.c.amount_fen), 0)).where(
        payments.c.kind.in_(("payment", "deposit")), _in_period(payments.c.paid_at, start, end))
    if campus_id:
        query = query.where(refunds.c.contract_campus_id == campus_id)
        received = received.where(payments.c.campus_id == campus_id)
    rows = [dict(r) for r in conn.execute(query).mappings()]

    def group(*keys: str) -> list[dict[str, Any]]:
        sums: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
        for row in rows:
            key = tuple(row[k] if k != "month" else row["paid_at"][:7] for k in keys)
            sums[key][0] += row["amount_fen"]
            sums[key][1] += 1
        return [{**dict(zip(keys, key, strict=True)), "amount_fen": a, "count": n}
                for key, (a, n) in sorted(sums.items())]

    total = sum(r["amount_fen"] for r in rows)
    got = int(conn.execute(received).scalar_one())
    pending = select(refunds.c.status, func.count(), func.coalesce(func.sum(refunds.c.refundable_fen), 0)).where(
        refunds.c.status.in_(OPEN), refunds.c.deleted.is_(False)).group_by(refunds.c.status)
    alerts = select(risk_alerts).where(risk_alerts.c.cleared_at.is_(None), risk_alerts.c.deleted.is_(False))
    if campus_id:
        pending = pending.where(refunds.c.campus_id == campus_id)
        alerts = alerts.where(risk_alerts.c.campus_id == campus_id)
    at_risk = []
    for alert in conn.execute(alerts).mappings():
        value = int(conn.execute(select(func.coalesce(func.sum(asset_entries.c.value_fen), 0)).where(
            asset_entries.c.student_id == alert["student_id"])).scalar_one())
        name = conn.execute(select(students.c.name, students.c.number).where(students.c.id == alert["student_id"])
                            ).first()
        at_risk.append({"student_id": alert["student_id"], "campus_id": alert["campus_id"],
                        "student_name": name.name if name else None, "student_number": name.number if name else None,
                        "score": alert["score"], "remaining_value_fen": value})
    return {"from": start, "to": end, "refunded_fen": total, "count": len(rows), "received_fen": got,
            "refund_rate_bp": (total * 10_000 // got) if got else 0,
            "by_reason": group("reason_category", "reason"), "by_kind": group("kind"), "by_stage": group("stage"),
            "by_month": group("month"),
            "open": [{"status": s, "count": n, "refundable_fen": int(v)} for s, n, v in conn.execute(pending)],
            "at_risk": sorted(at_risk, key=lambda r: -r["score"]),
            "at_risk_value_fen": sum(r["remaining_value_fen"] for r in at_risk)}
