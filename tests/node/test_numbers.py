"""Human numbers stay unique when a campus comes back from the hub without its counters."""

from __future__ import annotations

from campus.node.config import NodeConfig
from campus.node.crm.leads import Campus, create_lead
from campus.node.store import NodeStore


def test_a_campus_restored_without_counters_resumes_after_its_highest_number(
        node_store: NodeStore, node_config: NodeConfig) -> None:
    campus = Campus(node_config.campus_id, node_config.campus_code)
    with node_store.unit_of_work() as uow:
        for k in range(3):
            create_lead(uow, campus, f"学员{k}", f"1380000{k:04d}")
    with node_store.write() as conn:  # what a restore from the hub starts with: rows, no counters
        conn.exec_driver_sql("delete from number_counters")

    with node_store.unit_of_work() as uow:
        lead = create_lead(uow, campus, "新学员", "13900000000")

    assert lead["number"] == "BJ01-L-000004"
