"""The unit of work: rows and change-log entries written together, undone together."""

from __future__ import annotations

import pytest

from campus.node.store import NodeStore
from campus.sync.capture import CaptureError

LEAD = {"campus_id": "c", "pool": "lead", "created_at": "2026-11-24T08:00:00Z", "deleted": False}


def _count(store: NodeStore, table: str) -> int:
    with store.read() as conn:
        return conn.exec_driver_sql(f"select count(*) from {table}").scalar_one()


def test_a_savepoint_that_fails_undoes_its_rows_and_its_changes_but_not_the_others(node_store: NodeStore) -> None:
    head_before = node_store.head()[0]

    with node_store.unit_of_work() as uow:
        uow.insert("leads", {**LEAD, "number": "BJ01-L-1", "name": "张伟", "phone": "13800138000"})
        with pytest.raises(RuntimeError), uow.savepoint():
            uow.insert("leads", {**LEAD, "number": "BJ01-L-2", "name": "李娜", "phone": "13912345678"})
            raise RuntimeError("the row failed half-way")
        uow.insert("leads", {**LEAD, "number": "BJ01-L-3", "name": "刘洋", "phone": "01065521234"})

    with node_store.read() as conn:
        names = conn.exec_driver_sql("select name from leads order by number").scalars().all()
    assert names == ["张伟", "刘洋"]
    assert node_store.verify_log()[0] == head_before + 2


def test_a_failed_unit_of_work_writes_neither_rows_nor_changes(node_store: NodeStore) -> None:
    head_before = node_store.head()

    with pytest.raises(RuntimeError), node_store.unit_of_work() as uow:
        uow.insert("leads", {**LEAD, "number": "BJ01-L-1", "name": "张伟", "phone": "13800138000"})
        raise RuntimeError("crash before commit")

    assert _count(node_store, "leads") == 0
    assert node_store.head() == head_before


def test_append_only_rows_cannot_be_updated(node_store: NodeStore) -> None:
    with node_store.unit_of_work() as uow:
        row_id = uow.insert("lead_follow_ups", {"lead_id": "x", "at": "2026-11-24T09:00:00Z", "channel": "call",
                                                "content": "电话沟通", "created_at": "2026-11-24T09:00:00Z"})

    with pytest.raises(CaptureError, match="append-only"), node_store.unit_of_work() as uow:
        uow.update("lead_follow_ups", row_id, {"content": "改写历史"})


def test_an_update_that_changes_nothing_records_no_change(node_store: NodeStore) -> None:
    with node_store.unit_of_work() as uow:
        row_id = uow.insert("leads", {**LEAD, "number": "BJ01-L-1", "name": "张伟", "phone": "13800138000"})
    head = node_store.head()

    with node_store.unit_of_work() as uow:
        assert uow.update("leads", row_id, {"name": "张伟"}) is None

    assert node_store.head() == head
