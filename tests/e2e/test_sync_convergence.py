"""Two campuses work offline, then sync in several orders, and every store ends identical.

Every test here runs against a SQLite hub and a PostgreSQL hub.
"""

from __future__ import annotations

import pytest

from tests.e2e.sync_helpers import Campus, Group, differences


def _lead(campus: Campus, name: str, phone: str) -> dict:
    response = campus.http.post("/api/v1/leads", json={"name": name, "phone": phone})
    assert response.status_code == 201, response.text
    return response.json()


def test_two_campuses_converge_to_identical_stores(any_group: Group) -> None:
    group = any_group
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    bj.sync(), sh.sync()  # both get the campus directory
    _lead(bj, "张伟", "13800138000")
    _lead(sh, "陈静", "(021)64381234")

    sh.sync(), bj.sync(), sh.sync()

    assert bj.digests() == group.hub_digests(bj)
    assert sh.digests() == group.hub_digests(sh)
    assert _shared(bj.digests()) == _shared(sh.digests())
    with group.hub_store.read() as conn:
        assert conn.exec_driver_sql("select count(*) from leads").scalar_one() == 2


def _shared(digests: dict[str, str]) -> dict[str, str]:
    """Tables every campus holds whole (no campus column): identical at every node."""
    from campus.schema.tables import metadata
    from campus.sync.policy import policy_of

    return {name: d for name, d in digests.items() if policy_of(metadata.tables[name]).campus_column is None}


def _edit(campus: Campus, lead_id: str, **fields: str) -> None:
    response = campus.http.patch(f"/api/v1/leads/{lead_id}", json=fields)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("order", ["bj-first", "sh-first", "interleaved"])
def test_offline_edits_of_one_lead_merge_per_field_in_any_sync_order(any_group: Group, order: str) -> None:
    group = any_group
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    lead = _lead(bj, "张伟", "13800138000")
    bj.sync(), sh.sync()  # SH01 now holds BJ01's lead too: leads are institution-wide
    # Offline: different fields at each campus, and the same field at both (SH01 writes it last).
    _edit(bj, lead["id"], notes="想学钢琴")
    _edit(bj, lead["id"], channel="douyin")
    _edit(sh, lead["id"], name="张伟(家长)")
    _edit(sh, lead["id"], channel="referral")

    syncs = {"bj-first": [bj, sh, bj], "sh-first": [sh, bj, sh], "interleaved": [sh, bj, sh, bj, sh]}[order]
    for campus in syncs:
        campus.sync()

    assert differences(group) == {"BJ01": [], "SH01": []}
    merged = bj.http.get(f"/api/v1/leads/{lead['id']}").json()
    assert (merged["name"], merged["notes"], merged["channel"]) == ("张伟(家长)", "想学钢琴", "referral")
    # Whichever arrived first, the two channel edits were made at the same time: the earlier one
    # loses and is kept for a person to restore. The other fields were edited at one place each.
    conflicts = group.hub_http.get("/api/v1/conflicts").json()["items"]
    assert [(c["field"], c["lost_value"], c["kept_value"]) for c in conflicts] == [
        ("channel", '"douyin"', '"referral"')
    ]


def test_an_edit_made_after_seeing_another_is_not_a_conflict(any_group: Group) -> None:
    group = any_group
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    lead = _lead(bj, "张伟", "13800138000")
    bj.sync(), sh.sync()
    _edit(bj, lead["id"], channel="douyin")
    bj.sync(), sh.sync()  # SH01 sees BJ01's edit, then changes it
    _edit(sh, lead["id"], channel="referral")
    sh.sync(), bj.sync()

    assert bj.http.get(f"/api/v1/leads/{lead['id']}").json()["channel"] == "referral"
    assert group.hub_http.get("/api/v1/conflicts").json()["items"] == []
    bj.sync()  # reading the lead in full is audited: that fact replicates too
    assert differences(group) == {"BJ01": [], "SH01": []}


def test_resolving_a_conflict_by_restoring_the_lost_value_replicates_everywhere(any_group: Group) -> None:
    group = any_group
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    lead = _lead(bj, "张伟", "13800138000")
    bj.sync(), sh.sync()
    _edit(bj, lead["id"], channel="douyin")
    _edit(sh, lead["id"], channel="referral")
    sh.sync(), bj.sync()  # BJ01's earlier edit arrives last and loses
    conflict = bj.http.get("/api/v1/conflicts").json()["items"][0]
    assert "&#34;douyin&#34;" in bj.http.get("/conflicts").text  # staff see the value that lost

    response = bj.http.post(f"/api/v1/conflicts/{conflict['id']}/resolve",
                          json={"resolution": "家长确认是抖音来的", "restore_lost_value": True})
    bj.sync(), sh.sync()

    assert response.status_code == 200
    assert sh.http.get(f"/api/v1/leads/{lead['id']}").json()["channel"] == "douyin"
    assert sh.http.get("/api/v1/conflicts").json()["items"] == []
    sh.sync()  # reading the lead in full is audited: that fact replicates too
    assert differences(group) == {"BJ01": [], "SH01": []}
    again = bj.http.post(f"/api/v1/conflicts/{conflict['id']}/resolve", json={"resolution": "x"})
    assert again.status_code == 409


def test_checkpoint_confirms_convergence_and_reports_a_diverged_table(any_group: Group) -> None:
    group = any_group
    bj = group.campuses["BJ01"]
    _lead(bj, "张伟", "13800138000")

    first = bj.sync(checkpoint=True)
    with bj.store().write() as conn:  # damage the copy behind sync's back
        conn.exec_driver_sql("update leads set name = '被改坏的名字'")
    second = bj.sync(checkpoint=True)

    assert first.divergent_tables == []
    assert second.divergent_tables == ["leads"]
    assert bj.http.get("/api/v1/sync/status").json()["divergent_tables"] == 1
