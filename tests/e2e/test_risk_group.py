"""The group's students at refund risk: each campus raises its alerts offline; after sync the hub
lists them all, with the campus, the score and the value left on the contracts at stake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.sync_helpers import Campus, Group
from tests.node.risk_helpers import LINE, ok, seed_student


def _absent_three_times(campus: Campus, name: str, phone: str, paid_fen: int) -> dict:
    """A student who missed the last three lessons (10, 8 and 6 days ago) on a 20-hour contract at
    ¥200 expiring in 10 days."""
    today = datetime.now(UTC).date()
    seeded = seed_student(campus.http, name=name, phone=phone, paid_fen=paid_fen, price_item=False,
                          expires_on=(today + timedelta(days=10)).isoformat())
    for days_ago in (10, 8, 6):
        seeded.lesson((today - timedelta(days=days_ago)).isoformat(), "absent")
    return {**seeded.student, "contract": seeded.contract}


def test_the_hub_lists_the_groups_students_at_risk_after_sync(group: Group) -> None:
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    ok(group.hub_http.post("/api/v1/price-list/items", json={**LINE, "unit_price_fen": 20000}))
    bj.sync(), sh.sync()
    owing = _absent_three_times(bj, "王小明", "13800138001", paid_fen=0)  # ¥4,000 owed
    paid_up = _absent_three_times(sh, "李小红", "13800138002", paid_fen=400000)

    raised = [ok(c.http.post("/api/v1/risk/evaluate"), 200)["raised"] for c in (bj, sh)]
    assert raised == [[owing["id"]], [paid_up["id"]]]
    before_sync = ok(group.hub_http.get("/api/v1/risk"), 200)
    bj.sync(), sh.sync()

    listed = ok(group.hub_http.get("/api/v1/risk"), 200)
    page = group.hub_http.get("/risk")

    assert before_sync["total"] == 0
    assert [(i["campus_code"], i["number"], i["score"]) for i in listed["items"]] == [
        ("BJ01", owing["number"], 30 + 40 + 25),  # three absences, ¥4,000 owed, hours expiring in 10 days
        ("SH01", paid_up["number"], 30 + 25)]
    remaining = 400000 - 3 * 30000  # three 1.5-hour lessons at ¥200 deducted
    assert [c["remaining_value_fen"] for c in listed["items"][0]["contracts"]] == [remaining]
    assert listed["items"][0]["contracts"][0]["number"] == owing["contract"]["number"]
    assert {f["factor"]: f["points"] for f in listed["items"][0]["factors"]}["arrears"] == 40
    assert listed["campuses"] == [
        {"campus_code": "BJ01", "campus_name": "北京海淀校区", "students": 1, "remaining_value_fen": remaining},
        {"campus_code": "SH01", "campus_name": "上海徐汇校区", "students": 1, "remaining_value_fen": remaining}]
    assert listed["remaining_value_fen"] == 2 * remaining
    assert page.status_code == 200
    assert owing["number"] in page.text and "北京海淀校区" in page.text and "¥6200.00" in page.text
