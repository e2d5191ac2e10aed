"""A student's home campus and study campus both pay out a refund on the same contract line
while cut off from each other: both payouts stay recorded, an ``over_refund`` conflict surfaces
at the hub and at both campuses, and the books of each campus still balance."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from campus.schema.refunds import EXAMPLE_TIERS
from campus.schema.tables import conflicts, refunds
from tests.e2e.sync_helpers import Campus, Group, differences

LINE = {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class"}


def _ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


def _refund(campus: Campus, contract_id: str, line_id: str) -> dict[str, Any]:
    http = campus.http
    made = _ok(http.post("/api/v1/refunds", json={"contract_id": contract_id, "line_ids": [line_id],
                                                  "reason_category": "customer", "reason": "搬家"}))
    _ok(http.post(f"/api/v1/refunds/{made['id']}/approve", json={}), 200)
    return _ok(http.post(f"/api/v1/refunds/{made['id']}/pay", json={"fund_account": "cash"}), 200)


def test_two_campuses_refunding_one_line_offline_keep_both_payouts_and_raise_an_over_refund(group: Group) -> None:
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    _ok(group.hub_http.post("/api/v1/price-list/items", json={**LINE, "unit_price_fen": 20000}))
    _ok(group.hub_http.post("/api/v1/refund-policies", json={"code": "STD", "name": "标准退费政策",
                                                             "is_default": True, "tiers": EXAMPLE_TIERS[1:]}))
    bj.sync(), sh.sync()
    student = _ok(bj.http.post("/api/v1/students", json={"name": "李小红", "phone": "13800138001"}))
    bj.sync()
    contract = _ok(bj.http.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {**LINE, "hours_x100": 1000, "study_campus_id": sh.config.campus_id}]}))
    line_id = contract["lines"][0]["id"]
    _ok(bj.http.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 200000,
                                               "fund_account": "cash"}))
    bj.sync(), sh.sync()
    assert _ok(sh.http.get(f"/api/v1/contracts/{contract['id']}"), 200)["paid_fen"] == 200000

    # Apart: each campus refunds the whole line (¥2,000 paid, nothing taught: ¥1,800 back)
    paid_bj = _refund(bj, contract["id"], line_id)
    paid_sh = _refund(sh, contract["id"], line_id)
    assert paid_bj["amount_fen"] == paid_sh["amount_fen"] == 180000

    bj.sync(), sh.sync(), bj.sync(), sh.sync()

    with group.hub_store.read() as conn:
        at_hub = conn.execute(select(refunds.c.id).where(refunds.c.status == "paid")).scalars().all()
        found = conn.execute(select(conflicts).where(conflicts.c.kind == "over_refund")).mappings().all()
        overdrafts = conn.execute(select(conflicts.c.id).where(conflicts.c.kind == "overdraft")).all()
    assert sorted(at_hub) == sorted([paid_bj["id"], paid_sh["id"]])  # both payouts recorded
    # one for each campus that paid, the same at every store
    assert sorted(c["campus_id"] for c in found) == sorted([bj.config.campus_id, sh.config.campus_id])
    assert not overdrafts
    assert all(paid_bj["number"] in c["detail"] and paid_sh["number"] in c["detail"] for c in found)
    for campus in (bj, sh):
        with campus.store().read() as conn:
            assert sorted(conn.execute(select(conflicts.c.id).where(conflicts.c.kind == "over_refund")).scalars()) \
                == sorted(c["id"] for c in found)
        shown = _ok(campus.http.get("/api/v1/conflicts"), 200)
        assert [c["kind"] for c in shown["items"] if c["kind"] == "over_refund"] == ["over_refund"]
        trial = _ok(campus.http.get("/api/v1/books/trial-balance", params={"from": "2020-01", "to": "2099-12"}), 200)
        assert trial["balanced"], campus.config.campus_code
    # The study campus paid cash out for the home campus: it claims it back through the current account
    sh_trial = _ok(sh.http.get("/api/v1/books/trial-balance", params={"from": "2020-01", "to": "2099-12"}), 200)
    closing = {row["account"]: row["closing_fen"] for row in sh_trial["items"]}
    assert closing["1001"] == -180000 and closing["1221.BJ01"] == 180000
    assert differences(group) == {"BJ01": [], "SH01": []}
    console = group.hub_http.get("/").text
    assert "重复退费" in console  # headquarters sees it on its console
    span = {"from": "2020-01", "to": "2099-12"}
    report = _ok(group.hub_http.get("/api/v1/refunds/report", params=span), 200)
    assert (report["count"], report["refunded_fen"], report["received_fen"]) == (2, 360000, 200000)
    assert [(r["campus_code"], r["count"]) for r in report["by_campus"]] == [("BJ01", 2)]
    assert "集团退费报表" in group.hub_http.get("/refunds/report", params=span).text
