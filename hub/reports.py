"""Consolidated figures across campuses, computed from the hub's merged store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from campus.hub.store import HubStore
from campus.schema.tables import (
    asset_entries,
    campuses,
    conflicts,
    contract_events,
    contracts,
    lead_follow_ups,
    leads,
    node_batches,
    payments,
    students,
)


def campus_summary(store: HubStore) -> list[dict[str, Any]]:
    """Per campus: leads, follow-ups on its leads, students, contracts, tuition signed (as signed plus
    changes), money received (deposits and instalments, in fen), lesson hours taught there (confirmed
    deductions, whoever's contract they came from) and open conflicts; plus a group total."""
    with store.read() as conn:
        def counts(query: Any) -> dict[str, int]:
            return {campus_id: count for campus_id, count in conn.execute(query)}

        lead_counts = counts(select(leads.c.campus_id, func.count()).where(leads.c.deleted.is_(False))
                             .group_by(leads.c.campus_id))
        follow_up_counts = counts(select(leads.c.campus_id, func.count())
                                  .select_from(lead_follow_ups.join(leads, leads.c.id == lead_follow_ups.c.lead_id))
                                  .group_by(leads.c.campus_id))
        student_counts = counts(select(students.c.home_campus_id, func.count()).where(students.c.deleted.is_(False))
                                .group_by(students.c.home_campus_id))
        live_contracts = contracts.c.deleted.is_(False)
        contract_counts = counts(select(contracts.c.campus_id, func.count()).where(live_contracts)
                                 .group_by(contracts.c.campus_id))
        signed = counts(select(contracts.c.campus_id, func.sum(contracts.c.amount_fen)).where(live_contracts)
                        .group_by(contracts.c.campus_id))
        changed = counts(select(contract_events.c.campus_id, func.sum(contract_events.c.due_delta_fen))
                         .group_by(contract_events.c.campus_id))
        received_fen = counts(select(payments.c.campus_id, func.sum(payments.c.amount_fen))
                              .where(payments.c.kind.in_(("deposit", "payment"))).group_by(payments.c.campus_id))
        consumed = counts(select(asset_entries.c.recorded_campus_id, func.sum(asset_entries.c.hours_x100))
                          .where(asset_entries.c.kind.in_(("consumed", "reversal")),
                                 asset_entries.c.cause_table == "attendance_confirmations")
                          .group_by(asset_entries.c.recorded_campus_id))
        conflict_counts = counts(select(conflicts.c.campus_id, func.count()).where(conflicts.c.resolved_at.is_(None))
                                 .group_by(conflicts.c.campus_id))
        rows = conn.execute(select(campuses.c.id, campuses.c.code, campuses.c.name)
                            .where(campuses.c.deleted.is_(False)).order_by(campuses.c.code)).all()
        received = int(conn.execute(select(func.coalesce(func.sum(  # numeric on PostgreSQL
            node_batches.c.last_seq - node_batches.c.first_seq + 1), 0))).scalar_one())
    summary = [{"campus_code": code, "campus_name": name, "leads": lead_counts.get(campus_id, 0),
                "follow_ups": follow_up_counts.get(campus_id, 0), "students": student_counts.get(campus_id, 0),
                "contracts": contract_counts.get(campus_id, 0),
                "tuition_fen": int(signed.get(campus_id) or 0) + int(changed.get(campus_id) or 0),
                "received_fen": int(received_fen.get(campus_id) or 0),
                "hours_taught_x100": -int(consumed.get(campus_id) or 0),
                "open_conflicts": conflict_counts.get(campus_id, 0)} for campus_id, code, name in rows]
    total = {"campus_code": "ALL", "campus_name": "集团合计",
             **{key: sum(row[key] for row in summary) for key in ("leads", "follow_ups", "students", "contracts",
                                                             "tuition_fen", "received_fen", "hours_taught_x100")},
             "open_conflicts": sum(conflict_counts.values()), "changes_received": received}
    return [*summary, total]
