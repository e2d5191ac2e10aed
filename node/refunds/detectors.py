"""Over-refund after a merge: two campuses (a student's home and a study campus) paid refunds on
one contract while apart, and together they gave back more than it held. Nothing is dropped:
both payouts stay recorded, the ledger shows the line below zero, and a conflict record says so,
like an overdraft. Every store that holds the same refunds writes the same conflicts, one for each
campus that paid (their ids come from the contract, the campus and the refunds paid on it)."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import Connection, func, select

from campus.node.refunds.queries import contract_state
from campus.schema.quantities import Money
from campus.schema.tables import asset_entries, conflicts, refunds
from campus.sync.capture import UnitOfWork

CONFLICT_NAMESPACE = uuid.UUID("1f0c7b2e-9a54-4c1d-8e3f-6a2b9d0c7e15")
OVER_REFUND = "over_refund"


def _over(conn: Connection, contract_id: str) -> tuple[bool, int, int]:
    """(over-refunded?, what the paid refunds settled, what the contract's money allowed)."""
    negative = conn.execute(select(asset_entries.c.line_id).where(
        asset_entries.c.contract_id == contract_id, asset_entries.c.gift.is_(False))
        .group_by(asset_entries.c.line_id).having(func.sum(asset_entries.c.hours_x100) < 0)).first()
    state = contract_state(conn, contract_id)
    allowed = state.received_fen - state.consumed_value_fen
    return negative is not None or state.settled_fen > allowed, state.settled_fen, allowed


def record_over_refunds(uow: UnitOfWork, contract_ids: set[str]) -> int:
    recorded = 0
    for contract_id in sorted(contract_ids):
        paid = uow.conn.execute(select(refunds.c.id, refunds.c.number, refunds.c.campus_id,
                                       refunds.c.contract_campus_id, refunds.c.amount_fen).where(
            refunds.c.contract_id == contract_id, refunds.c.status == "paid", refunds.c.deleted.is_(False))
            .order_by(refunds.c.paid_at, refunds.c.id)).all()
        if len(paid) < 2 or len({row.campus_id for row in paid}) < 2:
            continue  # one campus cannot pay twice: its own store refuses a second open refund
        over, settled, allowed = _over(uow.conn, contract_id)
        if not over:
            continue
        numbers = "、".join(row.number for row in paid)
        detected = min(r for r in uow.conn.execute(select(refunds.c.paid_at).where(
            refunds.c.id.in_([row.id for row in paid]))).scalars())
        key = ",".join(sorted(row.id for row in paid))
        for campus_id in sorted({row.campus_id for row in paid}):  # one for each campus that paid out
            conflict_id = str(uuid.uuid5(CONFLICT_NAMESPACE, f"{OVER_REFUND}:{contract_id}:{campus_id}:{key}"))
            if uow.conn.execute(select(conflicts.c.id).where(conflicts.c.id == conflict_id)).first():
                continue
            own = [row for row in paid if row.campus_id == campus_id][-1]
            uow.insert("conflicts", {
                "id": conflict_id, "campus_id": campus_id, "kind": OVER_REFUND, "table_name": "refunds",
                "row_id": own.id, "field": "amount_fen", "kept_value": json.dumps([row.id for row in paid]),
                "lost_value": None, "lost_node_id": None, "lost_hlc": None, "kept_node_id": None, "kept_hlc": None,
                "detail": f"refunds {numbers} were paid on one contract at more than one campus while offline; "
                          f"together they settled {Money(settled)} where {Money(max(allowed, 0))} was paid and not "
                          f"consumed. Both payouts are kept: recover the excess from the family or write it off",
                "detected_at": detected, "deleted": False})
            recorded += 1
    return recorded
