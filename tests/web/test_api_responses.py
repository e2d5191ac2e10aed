"""Every answer of the JSON API matches the schema its OpenAPI publishes: a school's working day
(leads, students, contracts, payments, lessons and their hours, refunds) through the node's API,
each answer checked against the node's own ``/api/v1/openapi.json``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from campus.hub.app import create_app as create_hub
from campus.hub.config import HubConfig
from campus.schema.refunds import EXAMPLE_TIERS
from campus.web.payroll.plans import EXAMPLES as PAY_PLAN_EXAMPLES
from campus.web.payroll.plans import Position
from tests.conftest import ADMIN_PASSWORD, sign_in
from tests.node.teaching_helpers import set_up_school
from tests.web.openapi_check import check_responses

# The operations a school's day goes through that publish their answer's schema (issue 22)
MOST_USED = {
    "POST /api/v1/leads", "GET /api/v1/leads", "GET /api/v1/leads/{lead_id}", "PATCH /api/v1/leads/{lead_id}",
    "POST /api/v1/leads/{lead_id}/follow-ups", "POST /api/v1/leads/{lead_id}/{move}",
    "GET /api/v1/leads/{lead_id}/history", "POST /api/v1/campaigns", "GET /api/v1/campaigns",
    "GET /api/v1/campaigns/{campaign_id}", "PUT /api/v1/leads/{lead_id}/campaign", "POST /api/v1/kiosks",
    "GET /api/v1/kiosks", "POST /api/v1/kiosks/{device_id}/rename", "POST /api/v1/kiosks/{device_id}/secret",
    "POST /api/v1/kiosks/{device_id}/revoke", "POST /api/v1/lessons/{lesson_id}/move",
    "POST /api/v1/students", "GET /api/v1/students", "GET /api/v1/students/{student_id}",
    "GET /api/v1/students/{student_id}/account",
    "POST /api/v1/contracts", "GET /api/v1/contracts/{contract_id}",
    "POST /api/v1/payments", "GET /api/v1/payments/{payment_id}", "POST /api/v1/deposits",
    "POST /api/v1/students/{student_id}/{move}",
    "POST /api/v1/rooms", "GET /api/v1/rooms", "POST /api/v1/courses", "GET /api/v1/courses",
    "POST /api/v1/classes", "GET /api/v1/classes", "POST /api/v1/classes/{class_id}/enrolments",
    "GET /api/v1/enrolments", "POST /api/v1/classes/{class_id}/lessons", "GET /api/v1/lessons",
    "GET /api/v1/lessons/{lesson_id}", "POST /api/v1/lessons/{lesson_id}/marks",
    "POST /api/v1/lessons/{lesson_id}/confirm", "POST /api/v1/lessons/{lesson_id}/reconfirm",
    "POST /api/v1/lessons/{lesson_id}/leave", "POST /api/v1/lessons/{lesson_id}/makeups",
    "POST /api/v1/lessons/{lesson_id}/cancel", "POST /api/v1/enrolments/{enrolment_id}/transfer",
    "POST /api/v1/refunds/quote", "POST /api/v1/refunds", "GET /api/v1/refunds", "GET /api/v1/refunds/{refund_id}",
    "POST /api/v1/refunds/{refund_id}/approve", "POST /api/v1/refunds/{refund_id}/pay",
    "GET /api/v1/books/journal", "GET /api/v1/books/trial-balance", "GET /api/v1/books/income-statement",
    "GET /api/v1/books/deferred-tuition", "GET /api/v1/books/balance-sheet", "GET /api/v1/books/closes",
    "POST /api/v1/books/expenses", "POST /api/v1/books/expenses/{expense_id}/{decision}", "GET /api/v1/books/expenses",
    "POST /api/v1/books/invoices", "POST /api/v1/books/invoices/{invoice_id}/red", "GET /api/v1/books/invoices",
    "POST /api/v1/books/statement-formats", "GET /api/v1/books/statement-formats", "POST /api/v1/books/closes",
    "POST /api/v1/books/cash-counts", "GET /api/v1/books/supervision",
    "PUT /api/v1/users/{user_id}/roles", "POST /api/v1/users/{user_id}/password", "GET /api/v1/users",
    "POST /api/v1/users", "GET /api/v1/audit", "GET /api/v1/log/head", "GET /api/v1/sync/status", "GET /api/v1/conflicts", "POST /api/v1/auth/token",
    "POST /api/v1/auth/revoke",
}


def _ok(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_a_school_days_answers_match_the_schemas_the_node_publishes(node_client: TestClient) -> None:
    checker = check_responses(node_client)
    client = node_client

    lead = _ok(client.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000", "channel": "referral"}), 201)
    _ok(client.patch(f"/api/v1/leads/{lead['id']}", json={"notes": "想报初二数学"}))
    _ok(client.post(f"/api/v1/leads/{lead['id']}/follow-ups", json={"channel": "call", "content": "回电"}), 201)
    _ok(client.post(f"/api/v1/leads/{lead['id']}/claim", json={}))
    _ok(client.get(f"/api/v1/leads/{lead['id']}/history"))
    _ok(client.get(f"/api/v1/leads/{lead['id']}"))
    _ok(client.get("/api/v1/leads", params={"q": "张"}))
    assert client.get("/api/v1/leads/nope").status_code == 404
    campaign = _ok(client.post("/api/v1/campaigns", json={"name": "春季地推", "channel": "地推", "cost_fen": 300000,
                                                           "starts_on": "2026-03-01", "ends_on": "2026-03-31"}), 201)
    _ok(client.put(f"/api/v1/leads/{lead['id']}/campaign", json={"campaign_id": campaign["id"]}))
    _ok(client.get("/api/v1/campaigns"))
    _ok(client.get(f"/api/v1/campaigns/{campaign['id']}"))
    kiosk = _ok(client.post("/api/v1/kiosks", json={"name": "前台平板"}), 201)
    _ok(client.post(f"/api/v1/kiosks/{kiosk['id']}/rename", json={"name": "一楼前台"}))
    _ok(client.post(f"/api/v1/kiosks/{kiosk['id']}/secret"), 201)
    _ok(client.get("/api/v1/kiosks"))
    _ok(client.post(f"/api/v1/kiosks/{kiosk['id']}/revoke"))
    assert client.post("/api/v1/leads", json={"name": " "}).status_code == 422

    school = set_up_school(client, students=1)
    student = school.students[0]
    _ok(client.get("/api/v1/students"))
    _ok(client.get(f"/api/v1/students/{student['id']}"))
    _ok(client.get(f"/api/v1/contracts/{student['contract_id']}"))
    payment = _ok(client.post("/api/v1/payments", json={"contract_id": student["contract_id"], "amount_fen": 400000,
                                                        "fund_account": "wechat"}), 201)
    _ok(client.get(f"/api/v1/payments/{payment['id']}"))
    _ok(client.post("/api/v1/deposits", json={"student_id": student["id"], "amount_fen": 50000,
                                               "fund_account": "cash"}), 201)
    _ok(client.post(f"/api/v1/students/{student['id']}/finish"))
    start = datetime.now(UTC) - timedelta(days=1, hours=3)
    lesson = school.lesson(school.class_id, start.isoformat(timespec="seconds"),
                           (start + timedelta(minutes=90)).isoformat(timespec="seconds"))
    _ok(client.post(f"/api/v1/lessons/{lesson['id']}/marks", json={"student_id": student["id"], "mark": "present"}),
        201)
    _ok(client.post(f"/api/v1/lessons/{lesson['id']}/confirm"), 201)
    _ok(client.get(f"/api/v1/students/{student['id']}/account"))
    invoice = _ok(client.post("/api/v1/books/invoices", json={"contract_id": student["contract_id"],
                                                               "amount_fen": 10000, "buyer_name": "钱大伟"}), 201)
    _ok(client.post(f"/api/v1/books/invoices/{invoice['id']}/red", json={"reason": "抬头开错"}), 201)
    _ok(client.post(f"/api/v1/lessons/{lesson['id']}/reconfirm", json={"student_id": student["id"], "mark": "leave",
                                                                         "reason": "家长事先请过假"}), 201)
    later = start + timedelta(days=8)
    next_lesson = school.lesson(school.class_id, later.isoformat(timespec="seconds"),
                                (later + timedelta(minutes=90)).isoformat(timespec="seconds"))
    _ok(client.post(f"/api/v1/lessons/{next_lesson['id']}/leave", json={"student_id": student["id"], "reason": "感冒"}),
        201)
    makeup = later + timedelta(days=2)
    _ok(client.post(f"/api/v1/lessons/{next_lesson['id']}/makeups", json={
        "student_id": student["id"], "starts_at": makeup.isoformat(timespec="seconds"),
        "ends_at": (makeup + timedelta(minutes=90)).isoformat(timespec="seconds")}), 201)
    moved = later + timedelta(hours=2)
    _ok(client.post(f"/api/v1/lessons/{next_lesson['id']}/move", json={
        "starts_at": moved.isoformat(timespec="seconds"),
        "ends_at": (moved + timedelta(minutes=90)).isoformat(timespec="seconds")}), 201)
    _ok(client.post(f"/api/v1/lessons/{next_lesson['id']}/cancel"))
    other_class = school.new_class("初二数学周末班", teacher=1, room=1)
    _ok(client.post(f"/api/v1/enrolments/{student['enrolment']['id']}/transfer", json={
        "to_class_id": other_class, "on": later.date().isoformat()}), 201)
    _ok(client.get(f"/api/v1/lessons/{lesson['id']}"))
    _ok(client.get("/api/v1/lessons", params={"from": start.date().isoformat()}))
    _ok(client.get("/api/v1/enrolments", params={"student_id": student["id"]}))
    for listed in ("rooms", "courses", "classes"):
        _ok(client.get(f"/api/v1/{listed}"))
    _ok(client.post("/api/v1/refund-policies", json={"code": "STD", "name": "标准退费政策", "is_default": True,
                                                      "tiers": EXAMPLE_TIERS[1:]}), 201)
    _ok(client.post("/api/v1/refunds/quote", json={"contract_id": student["contract_id"]}))
    refund = _ok(client.post("/api/v1/refunds", json={"contract_id": student["contract_id"],
                                                      "reason_category": "customer", "reason": "搬家"}), 201)
    _ok(client.post(f"/api/v1/refunds/{refund['id']}/approve", json={}))
    _ok(client.post(f"/api/v1/refunds/{refund['id']}/pay", json={}))
    _ok(client.get(f"/api/v1/refunds/{refund['id']}"))
    _ok(client.get("/api/v1/refunds"))

    month = datetime.now(UTC).date().isoformat()[:7]
    for statement in ("journal", "trial-balance", "income-statement", "deferred-tuition"):
        _ok(client.get(f"/api/v1/books/{statement}", params={"from": "2026-01", "to": month}))
    _ok(client.get("/api/v1/books/balance-sheet", params={"period": month}))
    _ok(client.post("/api/v1/books/closes", json={"period": "2025-12"}), 201)
    _ok(client.get("/api/v1/books/closes"))
    _ok(client.post("/api/v1/books/cash-counts", json={"day": datetime.now(UTC).date().isoformat(),
                                                        "fund_account": "cash", "counted_fen": 50000}), 201)
    _ok(client.get("/api/v1/books/supervision"))
    expense = _ok(client.post("/api/v1/books/expenses", json={
        "category": "rent", "amount_fen": 800000, "fund_account": "bank", "incurred_on": f"{month}-01",
        "description": "十二月房租"}), 201)
    _ok(client.post(f"/api/v1/books/expenses/{expense['id']}/approve"))
    _ok(client.get("/api/v1/books/expenses"))
    _ok(client.get("/api/v1/books/invoices"))
    _ok(client.post("/api/v1/books/statement-formats", json={
        "name": "招商银行流水", "fund_account": "bank", "date_column": "交易日期", "amount_column": "金额"}), 201)
    _ok(client.get("/api/v1/books/statement-formats"))
    _ok(client.put(f"/api/v1/users/{school.teachers[1]}/roles", json={"roles": [{"role": "teacher"},
                                                                              {"role": "front_desk"}]}))
    _ok(client.post(f"/api/v1/users/{school.teachers[1]}/password", json={"password": "teacher-pass-new"}))
    _ok(client.get("/api/v1/users"))
    _ok(client.get("/api/v1/audit", params={"limit": 50}))
    device = _ok(client.post("/api/v1/devices", json={"serial": "CKUJ201960001", "name": "一楼考勤机"}), 201)
    _ok(client.patch(f"/api/v1/devices/{device['id']}", json={"charset": "gb18030"}))
    _ok(client.post(f"/api/v1/devices/{device['id']}/commands", json={"kind": "info"}), 201)
    _ok(client.get("/api/v1/devices"))
    _ok(client.post("/api/v1/devices/staff-pins", json={"user_id": school.teachers[0]}), 201)
    _ok(client.get("/api/v1/devices/staff-pins"))
    _ok(client.delete(f"/api/v1/devices/staff-pins/{school.teachers[0]}"))
    _ok(client.post(f"/api/v1/devices/{device['id']}/revoke"))
    _ok(client.post("/api/v1/payroll/staff", json={"user_id": school.teachers[0], "position": "teacher",
                                                    "start_on": "2026-01-01", "base_salary_fen": 300000,
                                                    "bank_account": "6222 0212 3456 7890"}), 201)
    run = _ok(client.post("/api/v1/payroll/runs", json={"period": month}), 201)
    _ok(client.get("/api/v1/payroll/staff"))
    _ok(client.get("/api/v1/payroll/runs"))
    slips = _ok(client.get(f"/api/v1/payroll/runs/{run['id']}"))["payslips"]
    _ok(client.get(f"/api/v1/payroll/payslips/{slips[0]['id']}"))
    _ok(client.get("/api/v1/payroll/payslips", params={"user_id": school.teachers[0]}))
    _ok(client.get("/api/v1/log/head"))
    _ok(client.get("/api/v1/sync/status"))
    _ok(client.get("/api/v1/conflicts"))
    issued = _ok(client.post("/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}), 201)
    _ok(client.post("/api/v1/auth/revoke", headers={"Authorization": f"Bearer {issued['token']}"}))

    assert checker.failures == []
    assert sorted(MOST_USED - checker.checked) == []


def test_the_hubs_answers_match_the_schemas_it_publishes(hub_config: HubConfig) -> None:
    with TestClient(create_hub(hub_config)) as client:
        sign_in(client)
        checker = check_responses(client)
        hub = client.app.state.hub  # type: ignore[attr-defined]
        hub.sync.add_campus("BJ01", "北京海淀校区")
        hub.sync.add_campus("SH01", "上海徐汇校区")
        for path in ("/api/v1/campuses", "/api/v1/reports/campuses", "/api/v1/sync/status", "/api/v1/conflicts",
                     "/api/v1/sync/rejections"):
            _ok(client.get(path))
        _ok(client.post("/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}), 201)
        item = _ok(client.post("/api/v1/price-list/items", json={
            "grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "unit_price_fen": 20000}),
            201)
        _ok(client.post("/api/v1/price-list/products", json={"code": "M20", "name": "初二数学 20 课时",
                                                              "price_item_id": item["id"], "hours_x100": 2000}), 201)
        _ok(client.post("/api/v1/price-list/promo-codes", json={"code": "SPRING", "kind": "amount",
                                                                 "amount_fen": 10000}), 201)
        _ok(client.post("/api/v1/price-list/import", files={"file": (
            "prices.csv", "年级,科目,层级,授课方式,课时单价\n初三,英语,基础,one_on_one,260\n初三,英语,基础,one_on_one,x\n",
            "text/csv")}), 201)
        _ok(client.get("/api/v1/price-list"))
        _ok(client.post("/api/v1/refund-policies", json={"code": "STD", "name": "标准退费政策", "is_default": True,
                                                          "tiers": EXAMPLE_TIERS}), 201)
        _ok(client.get("/api/v1/refund-policies"))
        _ok(client.post("/api/v1/payroll/plans", json={
            "code": "CONS", "name": "顾问提成", "position": "consultant", "effective_from": "2026-01-01",
            "rules": PAY_PLAN_EXAMPLES[Position.CONSULTANT]}), 201)
        _ok(client.get("/api/v1/payroll/plans"))

    assert checker.failures == []
    assert sorted(checker.checked) == [
        "GET /api/v1/campuses", "GET /api/v1/conflicts", "GET /api/v1/payroll/plans", "GET /api/v1/price-list",
        "GET /api/v1/refund-policies", "GET /api/v1/reports/campuses", "GET /api/v1/sync/rejections",
        "GET /api/v1/sync/status", "POST /api/v1/auth/token", "POST /api/v1/payroll/plans",
        "POST /api/v1/price-list/import", "POST /api/v1/price-list/items", "POST /api/v1/price-list/products",
        "POST /api/v1/price-list/promo-codes", "POST /api/v1/refund-policies"]
