"""Business rules checked after a merge, where offline campuses can break them together.

Double claim: two consultants claimed one lead on different nodes. The earlier claim (by
HLC) keeps the lead; each later claimant gets a conflict record and a reminder. Every store
that sees both claims reaches the same answer and writes the same correction and the same
conflict (its id is derived from the losing claim), so they converge without coordination.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Connection, func, select

from campus.node.crm.pools import Move, Pool
from campus.schema.tables import conflicts, lead_history, leads
from campus.sync.capture import UnitOfWork

CONFLICT_NAMESPACE = uuid.UUID("0b9c6f1e-6a59-4d2c-9a63-8f1b2d7c4e10")
DOUBLE_CLAIM = "double_claim"
CHUNK = 500


def competing_claims(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The claims of the latest round (since the lead last went back to the shared pool), earliest first."""
    rounds: list[list[dict[str, Any]]] = [[]]
    for event in sorted(history, key=lambda e: (e["hlc"] or 0, e["id"])):
        if event["kind"] == Move.CLAIM.value:
            rounds[-1].append(event)
        elif event["to_pool"] == Pool.LEAD.value:
            rounds.append([])
    latest = [claims for claims in rounds if claims]
    return latest[-1] if latest else []


def _claimed_twice(conn: Connection, lead_ids: set[str]) -> set[str]:
    """The leads among ``lead_ids`` with two claims or more: only those can have competing claims
    (a merge of thousands of leads then looks closer at a few, not at every one)."""
    ids = sorted(lead_ids)
    found: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        found.update(conn.execute(
            select(lead_history.c.lead_id).where(lead_history.c.lead_id.in_(ids[start:start + CHUNK]),
                                                 lead_history.c.kind == Move.CLAIM.value)
            .group_by(lead_history.c.lead_id).having(func.count() >= 2)).scalars())
    return found


def settle_double_claims(uow: UnitOfWork, lead_ids: set[str]) -> int:
    """Give each lead back to its earliest claimant and record the losers; returns conflicts recorded."""
    recorded = 0
    for lead_id in sorted(_claimed_twice(uow.conn, lead_ids)):
        lead = uow.conn.execute(select(leads).where(leads.c.id == lead_id)).mappings().first()
        if lead is None:
            continue
        history = [dict(r) for r in uow.conn.execute(
            select(lead_history).where(lead_history.c.lead_id == lead_id)).mappings()]
        claims = competing_claims(history)
        if len(claims) < 2:
            continue
        winner, losers = claims[0], claims[1:]
        if lead["pool"] == Pool.PRIVATE.value and lead["consultant_id"] != winner["by_user_id"]:
            uow.update("leads", lead_id, {"consultant_id": winner["by_user_id"]})
        for loser in losers:
            conflict_id = str(uuid.uuid5(CONFLICT_NAMESPACE, f"{DOUBLE_CLAIM}:{loser['id']}"))
            if uow.conn.execute(select(conflicts.c.id).where(conflicts.c.id == conflict_id)).first():
                continue
            uow.insert("conflicts", {
                "id": conflict_id, "campus_id": None, "kind": DOUBLE_CLAIM, "table_name": "leads",
                "row_id": lead_id, "field": "consultant_id",
                "kept_value": json.dumps(winner["by_user_id"]), "lost_value": json.dumps(loser["by_user_id"]),
                "lost_node_id": None, "lost_hlc": loser["hlc"], "kept_node_id": None, "kept_hlc": winner["hlc"],
                "detail": f"lead {lead['number']} was claimed at two places while offline; the earlier claim keeps it",
                "detected_at": loser["at"], "deleted": False})
            recorded += 1
    return recorded
