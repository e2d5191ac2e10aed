"""Applying what the hub sends at a node: never part of a newer schema's changes."""

from __future__ import annotations

import time

import pytest

from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.node.sync import replica_for
from campus.schema.tables import SCHEMA_VERSION
from campus.sync.changes import Change
from campus.sync.replica import SchemaTooNew

NOW_HLC = (time.time_ns() // 1_000_000 - 60_000) << 16


def _change(seq: int, schema: int, name: str) -> bytes:
    return Change(node="other-node", seq=seq, hlc=NOW_HLC + seq, table="leads",
                  row_id=f"0190aa00-0000-7000-8000-00000000000{seq}", op="insert",
                  fields={"campus_id": "c", "number": f"X-L-{seq}", "name": name, "phone": f"1380000000{seq}",
                          "pool": "lead", "created_at": "2026-11-24T08:00:00Z", "deleted": False},
                  schema=schema).encode()


def test_changes_from_a_newer_schema_are_refused_whole_and_the_cursor_stays(
    node_config: NodeConfig, node_store: NodeStore
) -> None:
    replica = replica_for(node_store, node_config.campus_id)

    with pytest.raises(SchemaTooNew):
        replica.apply_pulled([_change(1, SCHEMA_VERSION, "张伟"), _change(2, SCHEMA_VERSION + 1, "李娜")], cursor=2)

    assert replica.pull_cursor() == 0
    with node_store.read() as conn:
        assert conn.exec_driver_sql("select count(*) from leads").scalar_one() == 0


def test_pulled_changes_and_cursor_are_applied_together(node_config: NodeConfig, node_store: NodeStore) -> None:
    replica = replica_for(node_store, node_config.campus_id)

    replica.apply_pulled([_change(1, SCHEMA_VERSION, "张伟"), _change(2, SCHEMA_VERSION, "李娜")], cursor=7)

    assert replica.pull_cursor() == 7
    with node_store.read() as conn:
        assert conn.exec_driver_sql("select name from leads order by number").scalars().all() == ["张伟", "李娜"]
    assert node_store.clock.last > NOW_HLC + 2  # the clock moved past what it saw


def test_the_domain_checks_run_in_the_transaction_that_moves_the_cursor(
    node_config: NodeConfig, node_store: NodeStore
) -> None:
    replica = replica_for(node_store, node_config.campus_id)
    seen: list[int] = []

    def crash(conn, changes):  # type: ignore[no-untyped-def]
        seen.append(conn.exec_driver_sql("select count(*) from leads").scalar_one())
        raise RuntimeError("the power went out while the checks ran")

    replica.after_apply = crash
    with pytest.raises(RuntimeError):
        replica.apply_pulled([_change(1, SCHEMA_VERSION, "张伟")], cursor=3)

    assert seen == [1]  # the checks saw the merged row
    assert replica.pull_cursor() == 0  # and nothing moved on without them: the page comes again
    with node_store.read() as conn:
        assert conn.exec_driver_sql("select count(*) from leads").scalar_one() == 0


def test_a_pulled_page_commits_in_chunks_each_moving_the_cursor_past_whole_feed_entries(
    node_config: NodeConfig, node_store: NodeStore
) -> None:
    replica = replica_for(node_store, node_config.campus_id)
    bodies = [_change(k + 1, SCHEMA_VERSION, f"学员{k}") for k in range(6)]
    newer = _change(7, SCHEMA_VERSION + 1, "后来者")
    entries = [(10, bodies[0]), (10, bodies[1]), (11, bodies[2]), (12, bodies[3]), (12, bodies[4]),
               (12, bodies[5]), (13, newer)]

    with pytest.raises(SchemaTooNew):  # the last chunk comes from a newer schema: it stops there
        replica.apply_pulled_entries(entries, 20, chunk_changes=2)

    # chunks of 2 grow to keep feed entry 12 whole: [10, 10] then [11, 12, 12, 12] committed
    assert replica.pull_cursor() == 12
    with node_store.read() as conn:
        assert conn.exec_driver_sql("select count(*) from leads").scalar_one() == 6
    assert replica.apply_pulled_entries([(14, _change(8, SCHEMA_VERSION, "再来"))], 20) == 1
    assert replica.pull_cursor() == 20
