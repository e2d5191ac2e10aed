"""The refund report, the same at a campus and for the group at the hub: refunds paid in a span
of months by reason, kind (full or partial) and stage (new or continuing), amount and count per
month, the refund rate (refunded ÷ received), refunds waiting, and the students at risk (危单)
with the value their contracts still hold."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, and_, func, select

from campus.schema.tables import asset_entries, payments, refunds, risk_alerts, students

OPEN = ("requested", "approved")


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
    if campus_id:
        pending = pending.where(refunds.c.campus_id == campus_id)
    at_risk = students_at_risk(conn, campus_id)
    return {"from": start, "to": end, "refunded_fen": total, "count": len(rows), "received_fen": got,
            "refund_rate_bp": (total * 10_000 // got) if got else 0,
            "by_reason": group("reason_category", "reason"), "by_kind": group("kind"), "by_stage": group("stage"),
            "by_month": group("month"), "by_campus": group("contract_campus_id"),
            "open": [{"status": s, "count": n, "refundable_fen": int(v)} for s, n, v in conn.execute(pending)],
            "at_risk": at_risk, "at_risk_value_fen": sum(r["remaining_value_fen"] for r in at_risk)}


def students_at_risk(conn: Connection, campus_id: str | None) -> list[dict[str, Any]]:
    """The students whose risk alert is raised (at one campus, or the group), highest score first,
    with the value their contracts still hold."""
    alerts = select(risk_alerts).where(risk_alerts.c.cleared_at.is_(None), risk_alerts.c.deleted.is_(False))
    if campus_id:
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
    return sorted(at_risk, key=lambda r: -r["score"])
