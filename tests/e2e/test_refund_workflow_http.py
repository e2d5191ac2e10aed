"""The refund workflow over real HTTP (uvicorn on loopback): a consultant requests, the campus
manager approves, finance pays; nobody takes a step that is not theirs; the audit trail shows
every step with its user and client IP."""

from __future__ import annotations

import json
from typing import Any

import httpx

from campus.schema.refunds import EXAMPLE_TIERS
from campus.web.serving import BackgroundServer
from tests.e2e.sync_helpers import signed_in_client

LINE = {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class"}


def _ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


def test_each_refund_step_is_its_roles_alone_and_audited_with_the_ip_over_real_http(live_node: BackgroundServer) -> None:
    admin = signed_in_client(live_node.url)
    staff = {}
    for username, role in (("consultant1", "consultant"), ("manager1", "campus_manager"), ("finance1", "finance")):
        _ok(admin.post("/api/v1/users", json={"username": username, "display_name": username,
                                              "password": f"{username}-pass-1", "roles": [{"role": role}]}))
        staff[role] = signed_in_client(live_node.url, {"username": username, "password": f"{username}-pass-1"})
    _ok(admin.post("/api/v1/price-list/items", json={**LINE, "unit_price_fen": 15000}))
    _ok(admin.post("/api/v1/refund-policies", json={"code": "STD", "name": "标准退费政策", "is_default": True,
                                                    "tiers": EXAMPLE_TIERS[1:]}))
    student = _ok(admin.post("/api/v1/students", json={"name": "周小北", "phone": "13800138002"}))
    contract = _ok(admin.post("/api/v1/contracts", json={"student_id": student["id"],
                                                         "lines": [{**LINE, "hours_x100": 2000}]}))
    _ok(admin.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 300000,
                                             "fund_account": "bank"}))
    consultant, manager, finance = staff["consultant"], staff["campus_manager"], staff["finance"]

    quote = _ok(consultant.post("/api/v1/refunds/quote", json={"contract_id": contract["id"]}), 200)
    assert quote["refundable_fen"] == 270000  # before the first lesson: 10% of ¥3,000 kept
    assert finance.post("/api/v1/refunds", json={"contract_id": contract["id"], "reason_category": "school",
                                                 "reason": "停班"}).status_code == 403
    refund = _ok(consultant.post("/api/v1/refunds", json={"contract_id": contract["id"], "reason_category": "school",
                                                          "reason": "停班", "notes": "已回访两次"}))
    for who in (consultant, finance):
        assert who.post(f"/api/v1/refunds/{refund['id']}/approve", json={}).status_code == 403
    assert finance.post(f"/api/v1/refunds/{refund['id']}/pay", json={}).status_code == 409  # not approved yet
    _ok(manager.post(f"/api/v1/refunds/{refund['id']}/approve", json={"note": "同意"}), 200)
    for who in (consultant, manager):
        assert who.post(f"/api/v1/refunds/{refund['id']}/pay", json={}).status_code == 403
    paid = _ok(finance.post(f"/api/v1/refunds/{refund['id']}/pay", json={}), 200)
    assert (paid["status"], paid["fund_account"], paid["amount_fen"]) == ("paid", "bank", 270000)
    assert finance.post(f"/api/v1/refunds/{refund['id']}/pay", json={}).status_code == 409  # never twice

    trail = [row for row in _ok(admin.get("/api/v1/audit", params={"limit": 1000}), 200)["items"]
             if row["target_id"] == refund["id"]]
    steps = {row["action"]: row for row in trail}
    assert {"refund_requested", "refund_approved", "refund_paid"} <= set(steps)
    assert (steps["refund_requested"]["username"], steps["refund_approved"]["username"],
            steps["refund_paid"]["username"]) == ("consultant1", "manager1", "finance1")
    assert all(row["client_ip"] == "127.0.0.1" for row in trail)
    paid_step = steps["refund_paid"]
    before, after = (json.loads(x) if isinstance(x, str) else x for x in (paid_step["before"], paid_step["after"]))
    assert before["status"] == "approved" and after["status"] == "paid"
    for client in (admin, *staff.values()):
        client.close()
