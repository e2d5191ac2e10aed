"""Students, price list, contracts, deposits and payments through the node's JSON API."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from starlette.testclient import TestClient

from campus.node.finance.contracts import schedulable
from campus.node.store import NodeStore

PROBLEM = "application/problem+json"


def _price(client: TestClient, grade: str = "初二", subject: str = "数学", level: str = "提高",
           delivery: str = "small_class", unit_price_fen: int = 18000) -> dict[str, Any]:
    response = client.post("/api/v1/price-list/items", json={
        "grade": grade, "subject": subject, "level": level, "delivery": delivery, "unit_price_fen": unit_price_fen})
    assert response.status_code == 201, response.text
    return response.json()


def _product(client: TestClient, item: dict[str, Any], code: str = "MATH8-48", hours_x100: int = 4800,
             gift_hours_x100: int = 400) -> dict[str, Any]:
    response = client.post("/api/v1/price-list/products", json={
        "code": code, "name": "初二数学提高小班 48 课时", "price_item_id": item["id"], "hours_x100": hours_x100,
        "gift_hours_x100": gift_hours_x100, "validity_days": 365})
    assert response.status_code == 201, response.text
    return response.json()


def _student(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/students", json={"name": "王小明", "phone": "13800138000", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def _snapshot(store: NodeStore) -> tuple[int, ...]:
    with store.read() as conn:
        counts = tuple(conn.exec_driver_sql(f"select count(*) from {t}").scalar_one()
                       for t in ("students", "contracts", "contract_lines", "asset_entries", "payments",
                                 "contract_events"))
    return (*counts, store.head()[0])


def test_signed_lead_becomes_a_student_with_its_history_linked_and_the_lead_moves_to_signed(
        node_client: TestClient) -> None:
    lead = node_client.post("/api/v1/leads", json={"name": "李娜", "phone": "13912345678"}).json()
    assert node_client.post(f"/api/v1/leads/{lead['id']}/claim").status_code == 200
    deposit = node_client.post("/api/v1/deposits", json={"lead_id": lead["id"], "amount_fen": 50000,
                                                         "fund_account": "wechat"})
    assert deposit.status_code == 201, deposit.text
    assert node_client.get(f"/api/v1/leads/{lead['id']}").json()["pool"] == "deposit"

    student = _student(node_client, name=None, phone=None, lead_id=lead["id"])
    assert (student["name"], student["phone"], student["lead_id"]) == ("李娜", "13912345678", lead["id"])
    assert student["number"] == "BJ01-S-000001" and student["status"] == "pending"

    product = _product(node_client, _price(node_client))
    contract = node_client.post("/api/v1/contracts", json={
        "student_id": student["id"], "lines": [{"product_id": product["id"]}],
        "deposit_ids": [deposit.json()["id"]]}).json()

    assert contract["kind"] == "new"
    assert contract["amount_fen"] == 48 * 18000
    assert contract["paid_fen"] == 50000 and contract["arrears_fen"] == 48 * 18000 - 50000
    assert [p["kind"] for p in contract["payments"]] == ["deposit_applied"]
    assert node_client.get(f"/api/v1/leads/{lead['id']}").json()["pool"] == "signed"
    assert node_client.get(f"/api/v1/students/{student['id']}").json()["status"] == "admitted"
    history = node_client.get(f"/api/v1/leads/{lead['id']}/history").json()["items"]
    assert [h["to_pool"] for h in history][-2:] == ["deposit", "signed"]


def test_account_shows_purchased_and_gift_hours_and_their_value(node_client: TestClient) -> None:
    product = _product(node_client, _price(node_client))
    student = _student(node_client)
    node_client.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [{"product_id": product["id"]}]})

    account = node_client.get(f"/api/v1/students/{student['id']}/account").json()

    assert account["remaining"] == {"hours_x100": 5200, "paid_hours_x100": 4800, "gift_hours_x100": 400,
                                    "value_fen": 864000}
    (line,) = account["lines"]
    assert [(e["kind"], e["hours_x100"], e["value_fen"]) for e in line["entries"]] == [
        ("purchased", 4800, 864000), ("gift", 400, 0)]


def test_second_contract_of_a_student_is_a_renewal(node_client: TestClient) -> None:
    _price(node_client)
    student = _student(node_client)
    line = {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "hours_x100": 1000}
    first = node_client.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [line]}).json()
    second = node_client.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [line]}).json()
    assert (first["kind"], second["kind"]) == ("new", "renewal")
    assert first["number"] == "BJ01-C-000001" and second["number"] == "BJ01-C-000002"


def test_instalments_reduce_arrears_and_more_than_owed_is_refused(node_client: TestClient,
                                                                   node_store: NodeStore) -> None:
    _price(node_client, unit_price_fen=10000)
    student = _student(node_client)
    contract = node_client.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "hours_x100": 1000}]}).json()
    assert contract["arrears_fen"] == 100000

    first = node_client.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 60000,
                                                       "fund_account": "cash"})
    assert first.status_code == 201 and first.json()["receipt_number"] == "BJ01-R-000001"
    before = _snapshot(node_store)
    too_much = node_client.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 40001,
                                                          "fund_account": "alipay"})
    assert too_much.status_code == 409
    assert too_much.headers["content-type"] == PROBLEM
    assert too_much.json()["arrears_fen"] == 40000
    assert _snapshot(node_store) == before

    rest = node_client.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 40000,
                                                      "fund_account": "pos"})
    assert rest.status_code == 201
    shown = node_client.get(f"/api/v1/contracts/{contract['id']}").json()
    assert (shown["due_fen"], shown["paid_fen"], shown["arrears_fen"]) == (100000, 100000, 0)
    assert [p["receipt_number"] for p in shown["payments"]] == ["BJ01-R-000001", "BJ01-R-000002"]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"lines": [{"product_id": "P", "hours_x100": -100}]}, 422, "lines.0.hours_x100"),
    ({"lines": [{"product_id": "P", "hours_x100": 12.5}]}, 422, "lines.0.hours_x100"),
    ({"lines": [{"product_id": "P"}], "manual_discount_fen": 99.5}, 422, "manual_discount_fen"),
    ({"lines": [{"product_id": "no-such-product"}]}, 422, "lines.0.product_id"),
    ({"lines": []}, 422, "lines"),
    ({"lines": [{"grade": "初二", "subject": "物理", "level": "提高", "delivery": "small_class", "hours_x100": 100}]},
     422, "lines.0.grade"),
    ({"lines": [{"product_id": "P"}], "promo_code": "NOPE"}, 422, "promo_code"),
])
def test_bad_contract_is_refused_naming_the_field_and_nothing_is_written(
        node_client: TestClient, node_store: NodeStore, body: dict[str, Any], status: int, field: str) -> None:
    product = _product(node_client, _price(node_client))
    student = _student(node_client)
    for line in body["lines"]:
        if line.get("product_id") == "P":
            line["product_id"] = product["id"]
    before = _snapshot(node_store)

    response = node_client.post("/api/v1/contracts", json={"student_id": student["id"], **body})

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert field in [e["field"] for e in problem.get("errors", [])] or problem.get("field") == field, problem
    assert _snapshot(node_store) == before


@pytest.mark.parametrize(("body", "field"), [
    ({"amount_fen": 100.5, "fund_account": "cash"}, "amount_fen"),
    ({"amount_fen": "100", "fund_account": "cash"}, "amount_fen"),
    ({"amount_fen": -100, "fund_account": "cash"}, "amount_fen"),
    ({"amount_fen": 100, "fund_account": "bitcoin"}, "fund_account"),
])
def test_bad_payment_is_refused_naming_the_field(node_client: TestClient, node_store: NodeStore,
                                                 body: dict[str, Any], field: str) -> None:
    _price(node_client)
    student = _student(node_client)
    contract = node_client.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "hours_x100": 100}]}).json()
    before = _snapshot(node_store)

    response = node_client.post("/api/v1/payments", json={"contract_id": contract["id"], **body})

    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert _snapshot(node_store) == before


def test_changes_post_their_amounts_and_ledger_entries(node_client: TestClient) -> None:
    math = _price(node_client, unit_price_fen=15000)
    _price(node_client, subject="英语", unit_price_fen=20000)
    student = _student(node_client)
    contract = node_client.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "hours_x100": 2000}]}).json()
    line_id = contract["lines"][0]["id"]
    assert contract["lines"][0]["price_item_id"] == math["id"]

    def change(**body: Any) -> dict[str, Any]:
        response = node_client.post(f"/api/v1/contracts/{contract['id']}/changes", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    expanded = change(kind="expand", line_id=line_id, hours_x100=1000)
    assert expanded["due_fen"] == 300000 + 150000
    shrunk = change(kind="shrink", line_id=line_id, hours_x100=500)
    assert shrunk["due_fen"] == 450000 - 75000
    extended = change(kind="extend", expires_on="2099-12-31")
    assert extended["expires_on"] == "2099-12-31"
    exchanged = change(kind="exchange", line_id=line_id, hours_x100=1000,
                       target={"grade": "初二", "subject": "英语", "level": "提高", "delivery": "small_class"})
    source, target = exchanged["lines"]
    assert source["balance"]["paid_hours_x100"] == 1500 and source["balance"]["value_fen"] == 225000
    assert target["balance"] == {"hours_x100": 750, "paid_hours_x100": 750, "gift_hours_x100": 0,
                                 "value_fen": 150000}  # ¥1,500 of maths buys 7.5 hours of English at ¥200
    assert exchanged["due_fen"] == 375000  # an exchange moves value, it does not change what is owed
    written_off = change(kind="write_off", amount_fen=75000, reason="family moved away, unreachable")
    assert (written_off["due_fen"], written_off["arrears_fen"]) == (300000, 300000)
    assert [e["kind"] for e in written_off["events"]] == ["expand", "shrink", "extend", "exchange", "write_off"]
    audit = node_client.get("/api/v1/audit").json()["items"]
    assert {"contract_expand", "contract_write_off"} <= {a["action"] for a in audit}


def test_shrink_beyond_the_paid_hours_left_is_refused_and_nothing_written(node_client: TestClient,
                                                                          node_store: NodeStore) -> None:
    _price(node_client)
    student = _student(node_client)
    contract = node_client.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "hours_x100": 1000,
         "gift_hours_x100": 200}]}).json()
    before = _snapshot(node_store)
    response = node_client.post(f"/api/v1/contracts/{contract['id']}/changes", json={
        "kind": "shrink", "line_id": contract["lines"][0]["id"], "hours_x100": 1100})
    assert response.status_code == 409
    assert response.json()["remaining_paid_hours_x100"] == 1000
    assert _snapshot(node_store) == before


def test_student_phones_are_masked_for_a_role_without_the_right(node_client: TestClient) -> None:
    student = _student(node_client, guardians=[{"name": "王父", "relation": "father", "phone": "13700137000"}])
    node_client.post("/api/v1/users", json={"username": "teacher1", "display_name": "张老师",
                                            "password": "teacher-pass-1", "roles": [{"role": "teacher"}]})
    token = node_client.post("/api/v1/auth/token", json={"username": "teacher1", "password": "teacher-pass-1"})
    seen = node_client.get(f"/api/v1/students/{student['id']}",
                           headers={"authorization": f"Bearer {token.json()['token']}"}).json()
    assert seen["phone"] == "138****8000"
    assert seen["guardians"][0]["phone"] == "137****7000"


def test_a_consultant_may_discount_at_most_five_percent(node_client: TestClient, node_store: NodeStore) -> None:
    product = _product(node_client, _price(node_client))  # list price ¥8,640.00
    student = _student(node_client)
    node_client.post("/api/v1/users", json={"username": "consultant1", "display_name": "顾问甲",
                                            "password": "consultant-pass-1", "roles": [{"role": "consultant"}]})
    token = node_client.post("/api/v1/auth/token", json={"username": "consultant1", "password": "consultant-pass-1"})
    headers = {"authorization": f"Bearer {token.json()['token']}"}
    body = {"student_id": student["id"], "lines": [{"product_id": product["id"]}]}
    before = _snapshot(node_store)

    too_much = node_client.post("/api/v1/contracts", json={**body, "manual_discount_fen": 43201}, headers=headers)
    assert too_much.status_code == 422
    assert too_much.json()["limit_fen"] == 43200
    assert _snapshot(node_store) == before
    within = node_client.post("/api/v1/contracts", json={**body, "manual_discount_fen": 43200}, headers=headers)
    assert within.status_code == 201
    assert within.json()["amount_fen"] == 864000 - 43200


def test_an_expired_contract_is_schedulable_only_under_the_lenient_policy() -> None:
    contract = {"number": "BJ01-C-000001", "expires_on": "2026-11-24"}
    assert schedulable(contract, date(2026, 11, 24), "extension_required") == (True, None)
    allowed, why = schedulable(contract, date(2026, 11, 25), "extension_required")
    assert not allowed and "extend" in why
    assert schedulable(contract, date(2026, 11, 25), "may_schedule") == (True, None)


def test_a_fresh_contract_says_it_can_be_scheduled(node_client: TestClient) -> None:
    _price(node_client)
    student = _student(node_client)
    contract = node_client.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "hours_x100": 100}]}).json()
    shown = node_client.get(f"/api/v1/contracts/{contract['id']}").json()
    assert (shown["schedulable"], shown["not_schedulable_because"]) == (True, None)


def test_a_product_under_the_prepaid_rule_blocks_or_warns(node_client: TestClient, node_store: NodeStore) -> None:
    item = _price(node_client)
    blocked = node_client.post("/api/v1/price-list/products", json={
        "code": "K12-72", "name": "初二数学 72 课时", "price_item_id": item["id"], "hours_x100": 7200,
        "validity_days": 90, "prepaid_rule": "block"}).json()
    allowed = node_client.post("/api/v1/price-list/products", json={
        "code": "K12-48", "name": "初二数学 48 课时", "price_item_id": item["id"], "hours_x100": 4800,
        "validity_days": 90, "prepaid_rule": "block"}).json()
    warned = node_client.post("/api/v1/price-list/products", json={
        "code": "K12-48W", "name": "初二数学 48 课时", "price_item_id": item["id"], "hours_x100": 4800,
        "validity_days": 365, "prepaid_rule": "warn"}).json()
    student = _student(node_client)
    before = _snapshot(node_store)

    refused = node_client.post("/api/v1/contracts", json={"student_id": student["id"],
                                                          "lines": [{"product_id": blocked["id"]}]})
    assert refused.status_code == 409 and [f["rule"] for f in refused.json()["findings"]] == ["hours"]
    assert _snapshot(node_store) == before

    first = node_client.post("/api/v1/contracts", json={"student_id": student["id"],
                                                        "lines": [{"product_id": allowed["id"]}]})
    assert first.status_code == 201 and first.json()["prepaid_warnings"] == []
    too_early = node_client.post("/api/v1/contracts", json={"student_id": student["id"],
                                                            "lines": [{"product_id": allowed["id"]}]})
    assert too_early.status_code == 409
    assert [f["rule"] for f in too_early.json()["findings"]] == ["early_renewal"]

    signed = node_client.post("/api/v1/contracts", json={"student_id": student["id"],
                                                         "lines": [{"product_id": warned["id"]}]})
    assert signed.status_code == 201
    assert [w["rule"] for w in signed.json()["prepaid_warnings"]] == ["months", "early_renewal"]
    audit = node_client.get("/api/v1/audit", params={"action": "prepaid_rule_warning"}).json()["items"]
    assert len(audit) == 1
