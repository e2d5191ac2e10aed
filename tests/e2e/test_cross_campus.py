"""A student of one campus takes lessons at another: the other campus deducts from the home
campus's contract while offline; after sync every store shows the same balance, and when
both campuses used more hours than the line held, a conflict says so and nothing is dropped."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from campus.schema.assets import balance_of
from campus.schema.tables import asset_entries, conflicts
from tests.e2e.sync_helpers import Campus, Group, differences

LINE = {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class"}


def _ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


def _teach(campus: Campus, student_id: str, line_id: str, days: list[str]) -> None:
    """A class at this campus with the visiting student in it; each day's lesson attended and confirmed."""
    http = campus.http
    teacher = _ok(http.get("/api/v1/users"), 200)["items"][0]["id"]
    room = _ok(http.post("/api/v1/rooms", json={"name": "101"}))["id"]
    course = _ok(http.post("/api/v1/courses", json={"name": "初二数学", "lesson_hours_x100": 150}))["id"]
    klass = _ok(http.post("/api/v1/classes", json={"course_id": course, "name": "周末班", "teacher_id": teacher,
                                                   "room_id": room}))["id"]
    _ok(http.post(f"/api/v1/classes/{klass}/enrolments", json={"student_id": student_id, "line_id": line_id,
                                                                "joined_on": "2026-01-01"}))
    for day in days:
        lesson = _ok(http.post(f"/api/v1/classes/{klass}/lessons", json={
            "starts_at": f"{day}T09:00:00+08:00", "ends_at": f"{day}T10:30:00+08:00"}))
        _ok(http.post(f"/api/v1/lessons/{lesson['id']}/marks", json={"student_id": student_id, "mark": "present"}))
        _ok(http.post(f"/api/v1/lessons/{lesson['id']}/confirm"))


def test_offline_consumption_at_another_campus_converges_and_an_overdraft_is_recorded(group: Group) -> None:
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    _ok(group.hub_http.post("/api/v1/price-list/items", json={**LINE, "unit_price_fen": 20000}))
    bj.sync(), sh.sync()
    student = _ok(bj.http.post("/api/v1/students", json={"name": "王小明", "phone": "13800138000",
                                                          "guardians": [{"name": "王父", "relation": "father",
                                                                         "phone": "13700137000"}]}))
    bj.sync()  # the student reaches the hub before anything says they will study in Shanghai
    contract = _ok(bj.http.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {**LINE, "hours_x100": 300, "study_campus_id": sh.config.campus_id}]}))
    line_id = contract["lines"][0]["id"]
    bj.sync(), sh.sync()
    seen_at_sh = _ok(sh.http.get(f"/api/v1/students/{student['id']}/account"), 200)
    assert seen_at_sh["remaining"]["hours_x100"] == 300  # the visiting student's account reached Shanghai
    assert _ok(sh.http.get(f"/api/v1/students/{student['id']}"), 200)["guardians"][0]["name"] == "王父"
    sh.sync()  # reading a student in full is audited at Shanghai: a fact that replicates like any other
    assert differences(group) == {"BJ01": [], "SH01": []}

    # Both campuses offline: Shanghai takes a payment on Beijing's contract, Beijing extends it;
    # Shanghai teaches one lesson, Beijing two: 4.5 hours from a 3-hour line.
    _ok(sh.http.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 10000,
                                               "fund_account": "cash"}))
    _ok(bj.http.post(f"/api/v1/contracts/{contract['id']}/changes", json={"kind": "extend",
                                                                           "expires_on": "2031-12-31"}))
    refused = sh.http.post(f"/api/v1/students/{student['id']}/withdraw")
    assert refused.status_code == 409  # the record is the home campus's
    _teach(sh, student["id"], line_id, ["2030-01-05"])
    _teach(bj, student["id"], line_id, ["2030-01-06", "2030-01-13"])
    assert _ok(sh.http.get(f"/api/v1/students/{student['id']}/account"), 200)["remaining"]["hours_x100"] == 150
    assert _ok(bj.http.get(f"/api/v1/students/{student['id']}/account"), 200)["remaining"]["hours_x100"] == 0

    bj.sync(), sh.sync(), bj.sync(), sh.sync()

    contracts = [_ok(c.http.get(f"/api/v1/contracts/{contract['id']}"), 200) for c in (bj, sh)]
    for shown in contracts:
        assert (shown["paid_fen"], shown["arrears_fen"], shown["expires_on"]) == (10000, 50000, "2031-12-31")
        assert [e["kind"] for e in shown["events"]] == ["extend"]
    accounts = [_ok(c.http.get(f"/api/v1/students/{student['id']}/account"), 200) for c in (bj, sh)]
    assert accounts[0] == accounts[1]
    assert accounts[0]["remaining"]["hours_x100"] == -150  # nothing dropped: every deduction is there
    # Each campus priced its lessons from what it could see: together they used ¥300 more than was
    # paid. The ledger shows it as it happened; the conflict asks for a renewal or a reversal.
    assert accounts[0]["remaining"]["value_fen"] == -30000
    consumed = [e for e in accounts[0]["lines"][0]["entries"] if e["kind"] == "consumed"]
    assert sorted(e["recorded_campus_id"] for e in consumed) == sorted(
        [bj.config.campus_id] * 2 + [sh.config.campus_id])
    with group.hub_store.read() as conn:
        entries = conn.execute(select(asset_entries).where(asset_entries.c.line_id == line_id)).mappings().all()
        assert balance_of(entries).hours_x100 == -150
        recorded = conn.execute(select(conflicts).where(conflicts.c.kind == "overdraft")).mappings().all()
    assert len(recorded) == 1 and recorded[0]["row_id"] == line_id
    for campus in (bj, sh):
        with campus.store().read() as conn:
            assert conn.execute(select(conflicts.c.id).where(conflicts.c.kind == "overdraft")).scalars().all() \
                == [recorded[0]["id"]]
    assert differences(group) == {"BJ01": [], "SH01": []}
    console = group.hub_http.get("/").text
    assert "课时透支" in console and "BJ01" in console  # headquarters sees the overdraft on its console
