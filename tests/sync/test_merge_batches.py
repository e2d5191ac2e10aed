"""The batch merger: its fast paths give what applying the changes one by one would give."""

from __future__ import annotations

from itertools import permutations
from pathlib import Path

from campus.node.store import LOG_TABLES, NodeStore
from campus.schema.tables import metadata
from campus.sync.changes import Change
from campus.sync.merge import Merger

LEAD = "0190aa00-0000-7000-8000-000000000001"
FOLLOW_UP = "0190aa00-0000-7000-8000-0000000000f1"
HLC = 1 << 40


def _lead(node: str, hlc: int, op: str, **fields: object) -> Change:
    return Change(node=node, seq=hlc, hlc=hlc, table="leads", row_id=LEAD, op=op, fields=dict(fields), schema=1)


def _insert_lead() -> Change:
    return _lead("node-a", HLC, "insert", campus_id="c1", number="BJ01-L-1", name="张伟", phone="13800000001",
                 pool="lead", created_at="2026-11-24T08:00:00Z", deleted=False)


def _follow_up(content: str, hlc: int = HLC) -> Change:
    return Change(node="node-a", seq=hlc, hlc=hlc, table="lead_follow_ups", row_id=FOLLOW_UP, op="insert",
                  fields={"lead_id": LEAD, "at": "2026-11-24T09:00:00Z", "channel": "call", "content": content,
                          "created_at": "2026-11-24T09:00:00Z"}, schema=1)


def test_an_older_edit_arriving_later_loses_and_keeps_the_stored_value_it_lost_to(node_store: NodeStore) -> None:
    merger = Merger(metadata, LOG_TABLES.versions)
    with node_store.write() as conn:
        merger.apply_batch(conn, [_insert_lead(), _lead("node-b", HLC + 20, "update", name="张伟伟")])

    with node_store.write() as conn:  # a new batch: the row is read back from the store
        [result] = merger.apply_batch(conn, [_lead("node-c", HLC + 10, "update", name="张大伟")])

    [lost] = result.lost
    assert (lost.field, lost.kept_value, lost.lost_value) == ("name", "张伟伟", "张大伟")
    with node_store.read() as conn:
        assert conn.exec_driver_sql("select name from leads").scalar_one() == "张伟伟"


def test_a_fact_sent_twice_in_one_batch_is_stored_once_and_a_different_one_is_a_conflict(
        node_store: NodeStore) -> None:
    merger = Merger(metadata, LOG_TABLES.versions)
    with node_store.write() as conn:
        merger.apply_batch(conn, [_insert_lead()])
        first, again, other = merger.apply_batch(conn, [_follow_up("试听"), _follow_up("试听"),
                                                        _follow_up("退费", HLC + 5)])

    assert first.applied_fields["content"] == "试听" and not first.lost
    assert not again.applied_fields and not again.lost
    [lost] = other.lost
    assert (lost.kind, lost.kept_value, lost.lost_value) == ("append_only_mismatch", {"content": "试听"},
                                                              {"content": "退费"})
    with node_store.read() as conn:
        assert conn.exec_driver_sql("select content from lead_follow_ups").scalars().all() == ["试听"]


def _mark(row_id: str, campus_id: str) -> Change:
    return Change(node="node-a", seq=1, hlc=HLC, table="attendance_marks", row_id=row_id, op="insert",
                  fields={"campus_id": campus_id, "student_id": "s1", "mark": "present", "source": "kiosk",
                          "recorded_at": "2026-11-24T09:00:00Z", "hlc": HLC}, schema=1)


def test_a_campus_writes_its_own_facts_and_neither_another_campus_nor_headquarters(node_store: NodeStore) -> None:
    merger = Merger(metadata, LOG_TABLES.versions)
    campus = Change(node="node-a", seq=3, hlc=HLC, table="campuses", row_id="c9", op="insert",
                    fields={"code": "XX01", "name": "假校区", "created_at": "2026-11-24", "deleted": False}, schema=1)
    with node_store.write() as conn:
        own, foreign, hub_owned = merger.apply_batch(
            conn, [_mark("m1", "c1"), _mark("m2", "c2"), campus], writer_campus="c1", enforce_owner=True)

    assert (own.rejection, own.scope) == (None, "c1")
    assert foreign.rejection == "attendance_marks/m2 is owned by campus c2"
    assert hub_owned.rejection == "campuses is owned by headquarters"
    with node_store.read() as conn:
        assert conn.exec_driver_sql("select id from attendance_marks").scalars().all() == ["m1"]
        assert conn.exec_driver_sql("select count(*) from campuses where id = 'c9'").scalar_one() == 0


def test_two_inserts_of_one_id_and_an_edit_give_the_same_row_in_any_order(tmp_path: Path) -> None:
    # The conflict detectors insert one id at every node that notices; neither insert names
    # `channel`, which a third place edits in between.
    base = {"campus_id": "c1", "number": "BJ01-L-1", "phone": "13800000001", "pool": "lead",
            "created_at": "2026-11-24T08:00:00Z", "deleted": False}
    changes = [_lead("node-a", HLC + 14, "insert", name="A", **base), _lead("node-b", HLC + 28, "insert", name="B",
                                                                             **base),
               _lead("node-c", HLC + 20, "update", channel="douyin")]
    merger = Merger(metadata, LOG_TABLES.versions)
    rows = set()
    for number, order in enumerate(permutations(changes)):
        store = NodeStore(tmp_path / f"{number}.sqlite", "reader")
        for change in order:  # one batch each: every change after the first meets a stored row
            with store.write() as conn:
                merger.apply_batch(conn, [change])
        with store.read() as conn:
            rows.add(tuple(conn.exec_driver_sql("select name, channel, number from leads").one()))
        store.close()

    # The later insert stands for the row; the edit outranks either insert, whenever it came.
    assert rows == {("B", "douyin", "BJ01-L-1")}


def test_a_newer_edit_arriving_second_is_a_conflict_only_if_its_writer_never_saw_what_it_replaces(
        node_store: NodeStore) -> None:
    merger = Merger(metadata, LOG_TABLES.versions)
    insert = _insert_lead()
    older = _lead("node-b", HLC + 10, "update", name="张大伟")
    with node_store.write() as conn:
        merger.apply_batch(conn, [insert, older])

    blind = Change(node="node-c", seq=1, hlc=HLC + 20, table="leads", row_id=LEAD, op="update",
                   fields={"name": "张伟伟"}, schema=1, base={"name": (HLC, "node-a")})  # saw only the insert
    informed = Change(node="node-d", seq=1, hlc=HLC + 30, table="leads", row_id=LEAD, op="update",
                      fields={"name": "张小伟"}, schema=1, base={"name": (HLC + 20, "node-c")})
    with node_store.write() as conn:
        first, second = merger.apply_batch(conn, [blind, informed])

    [lost] = first.lost
    assert (lost.kind, lost.lost_value, lost.kept_value, lost.lost_version.node_id) == (
        "concurrent_edit", "张大伟", "张伟伟", "node-b")
    assert second.lost == []
    with node_store.read() as conn:
        assert conn.exec_driver_sql("select name from leads").scalar_one() == "张小伟"


def test_a_second_insert_of_one_id_never_wipes_an_edit_and_records_nothing(tmp_path: Path) -> None:
    # The double-claim detector at two campuses: one resolves its conflict row before the other's
    # insert of the same row arrives (or after it).
    conflict = "0190aa00-0000-7000-8000-0000000000c1"
    row = {"campus_id": None, "kind": "double_claim", "table_name": "leads", "row_id": LEAD, "field": "consultant_id",
           "kept_value": '"u1"', "lost_value": '"u2"', "detail": "claimed twice", "deleted": False}

    def change(node: str, hlc: int, op: str, **fields: object) -> Change:
        return Change(node=node, seq=hlc, hlc=hlc, table="conflicts", row_id=conflict, op=op, fields=fields,
                      schema=1)

    changes = [change("node-a", HLC + 10, "insert", **row, detected_at="2026-11-24T09:00:00Z"),
               change("node-a", HLC + 15, "update", resolved_at="2026-11-25T10:00:00Z", resolution="u1 keeps it"),
               change("node-b", HLC + 20, "insert", **row, detected_at="2026-11-24T09:05:00Z")]
    merger = Merger(metadata, LOG_TABLES.versions)
    outcomes = set()
    for number, order in enumerate(permutations(changes)):
        store = NodeStore(tmp_path / f"{number}.sqlite", "reader")
        lost = []
        for one in order:
            with store.write() as conn:
                lost += [loss for result in merger.apply_batch(conn, [one]) for loss in result.lost]
        with store.read() as conn:
            outcomes.add((*conn.exec_driver_sql("select resolved_at, resolution, detected_at from conflicts").one(),
                          len(lost)))
        store.close()

    assert outcomes == {("2026-11-25T10:00:00Z", "u1 keeps it", "2026-11-24T09:05:00Z", 0)}
