"""The workbench home (首页工作台) per role, the sync page, the reminders list with mark-done, and the
conflicts page with kept and lost values side by side and its resolve action."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from campus.node.app import create_app
from campus.node.config import NodeConfig
from campus.node.finance.payments import contract_money
from campus.node.store import NodeStore
from campus.node.workbench.queries import arrears
from campus.schema.tables import contracts, sync_rejections
from tests.conftest import sign_in
from tests.node.risk_helpers import ok, seed_student
from tests.node.teaching_helpers import set_up_school


def _today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _csrf(client: TestClient, path: str = "/") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def _user(client: TestClient, name: str, role: str) -> str:
    return ok(client.post("/api/v1/users", json={"username": name, "display_name": name.title(),
                                                 "password": f"{name}-pass-1", "roles": [{"role": role}]}))["id"]


def _section(page: str, section_id: str) -> str:
    found = re.search(rf'<section class="card[^"]*" id="{section_id}">(.*?)</section>', page, re.S)
    assert found, f"no section {section_id}"
    return found.group(1)


@pytest.fixture
def client(node_config: NodeConfig) -> Iterator[TestClient]:
    """A node whose private pool keeps a lead two days, so a lead claimed today is about to return."""
    config = dataclasses.replace(node_config, private_pool_days=2)
    with TestClient(create_app(config), raise_server_exceptions=False) as http:
        sign_in(http)
        yield http


def test_a_consultant_sees_follow_ups_returns_assignments_and_deposits_and_no_manager_figures(
        client: TestClient) -> None:
    wang = _user(client, "wang", "consultant")
    assigned, overdue, today_lead, deposit = (ok(client.post("/api/v1/leads", json={
        "name": name, "phone": phone, "channel": "转介绍"})) for name, phone in (
        ("分配", "13800000001"), ("逾期", "13800000002"), ("今天", "13800000003"), ("订金", "13800000004")))
    ok(client.post(f"/api/v1/leads/{assigned['id']}/assign", json={"consultant_id": wang}), 200)
    sign_in(client, "wang", "wang-pass-1")
    for lead in (overdue, today_lead, deposit):
        ok(client.post(f"/api/v1/leads/{lead['id']}/claim"), 200)
    ok(client.post(f"/api/v1/leads/{overdue['id']}/follow-ups", json={
        "channel": "call", "content": "再联系", "next_follow_up_on": (_today() - timedelta(days=2)).isoformat()}))
    ok(client.post(f"/api/v1/leads/{today_lead['id']}/follow-ups", json={
        "channel": "wechat", "content": "今天再问", "next_follow_up_on": _today().isoformat()}))
    ok(client.post("/api/v1/deposits", json={"lead_id": deposit["id"], "amount_fen": 50000, "fund_account": "cash"}))

    page = client.get("/").text

    assert "工作台" in page
    assert "逾期" in _section(page, "wb-consultant").split("今日到期")[0]  # the overdue list holds 逾期's lead
    assert "BJ01-L-000003" in re.search(r'id="follow-ups-today">(.*?)</ul>', page, re.S).group(1)
    assert "BJ01-L-000001" in re.search(r'id="leads-assigned">(.*?)</ul>', page, re.S).group(1)
    assert "转介绍" in re.search(r'id="leads-assigned">(.*?)</ul>', page, re.S).group(1)  # the label, not referral
    returning = re.search(r'id="leads-returning">(.*?)</ul>', page, re.S).group(1)
    assert "BJ01-L-000001" in returning and "退回" in returning  # two days in the private pool
    assert "¥500.00" in re.search(r'id="deposits-waiting">(.*?)</ul>', page, re.S).group(1)
    assert 'id="wb-manager"' not in page and 'id="wb-teacher"' not in page and 'id="arrears"' not in page
    assert 'href="/sync"' not in page  # the technical state is for managers


def test_marking_a_follow_up_done_takes_it_off_the_workbench_and_the_list_keeps_it_under_done(
        client: TestClient) -> None:
    _user(client, "wang", "consultant")
    lead = ok(client.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"}))
    sign_in(client, "wang", "wang-pass-1")
    ok(client.post(f"/api/v1/leads/{lead['id']}/claim"), 200)
    ok(client.post(f"/api/v1/leads/{lead['id']}/follow-ups", json={
        "channel": "call", "content": "回电", "next_follow_up_on": _today().isoformat()}))
    listed = client.get("/reminders").text
    assert "待跟进" in listed and "follow_up_due" not in re.sub(r'value="[^"]*"', "", listed)
    key = f"follow_up_due:{lead['id']}:{_today().isoformat()}"
    assert f'value="{key}"' in listed

    done = client.post("/reminders/done", data={"csrf_token": _csrf(client, "/reminders"), "key": key})

    assert "提醒已标记完成" in done.text and f'value="{key}"' not in done.text
    assert "BJ01-L-000001" not in re.search(r'id="follow-ups-today">(.*?)</ul>', client.get("/").text, re.S).group(1)
    assert "待跟进" in re.search(r'id="reminders">(.*?)</table>', client.get("/reminders?state=done").text, re.S).group(1)
    assert "张伟" not in client.get("/reminders?kind=birthday&state=all").text
    refused = client.post("/reminders/done", data={"csrf_token": _csrf(client, "/reminders"), "key": "nothing"})
    assert refused.status_code == 200 and "flash-error" in refused.text


def test_the_api_marks_a_reminder_done_with_the_same_use_case(client: TestClient) -> None:
    lead = ok(client.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"}))
    key = f"follow_up_due:{lead['id']}:{_today().isoformat()}"

    answer = ok(client.post("/api/v1/reminders/done", json={"key": key}))

    assert answer["key"] == key
    assert client.post("/api/v1/reminders/done", json={"key": "bad"}).status_code == 422


def test_an_advisor_sees_low_hours_expiring_contracts_and_absences_of_their_classes(client: TestClient) -> None:
    advisor = _user(client, "zhao", "academic_advisor")
    seeded = seed_student(client, name="李雷", phone="13900001111", hours_x100=800,
                          expires_on=(_today() + timedelta(days=10)).isoformat(), class_teacher_id=advisor)
    for days in (9, 8, 7):
        seeded.lesson((_today() - timedelta(days=days)).isoformat(), "absent")
    sign_in(client, "zhao", "zhao-pass-1")

    page = client.get("/").text

    advisor_part = _section(page, "wb-advisor")
    assert "李雷" in re.search(r'id="low-hours">(.*?)</ul>', advisor_part, re.S).group(1)
    assert "剩余 3.50 课时" in advisor_part
    assert seeded.contract["number"] in re.search(r'id="expiring-contracts">(.*?)</ul>', advisor_part, re.S).group(1)
    assert "连续缺勤" in re.search(r'id="absence-alerts">(.*?)</ul>', advisor_part, re.S).group(1)
    assert "本校区全部学员" not in advisor_part  # the advisor follows a class: their students only
    assert 'id="wb-consultant"' not in page and 'id="wb-manager"' not in page


def test_a_teacher_sees_todays_lessons_with_their_roll_call_state_and_nothing_else(client: TestClient) -> None:
    school = set_up_school(client, students=2)
    day = _today().isoformat()
    first = school.lesson(school.class_id, f"{day}T08:00:00+08:00", f"{day}T09:30:00+08:00")
    school.lesson(school.class_id, f"{day}T10:00:00+08:00", f"{day}T11:30:00+08:00")
    ok(client.post(f"/api/v1/lessons/{first['id']}/marks", json={"student_id": school.students[0]["id"],
                                                                 "mark": "present"}))
    sign_in(client, "teacher0", "teacher-pass-0")

    page = client.get("/").text

    lessons = re.search(r'id="my-lessons">(.*?)</ul>', page, re.S).group(1)
    assert f'href="/lessons/{first["id"]}"' in lessons and "08:00–09:30" in lessons and "10:00–11:30" in lessons
    assert "已点名未确认" in lessons and "未点名" in lessons and "101 教室" in lessons
    assert "初二数学周二周四班" in lessons
    for other in ("wb-manager", "wb-consultant", "wb-advisor", "wb-front-desk", "wb-approvals"):
        assert f'id="{other}"' not in page
    assert client.get("/sync").status_code == 403


def test_the_front_desk_sees_check_ins_receipts_to_print_and_arrears(client: TestClient) -> None:
    school = set_up_school(client, students=1)
    day = _today().isoformat()
    lesson = school.lesson(school.class_id, f"{day}T08:00:00+08:00", f"{day}T09:30:00+08:00")
    student = school.students[0]
    payment = ok(client.post("/api/v1/payments", json={"contract_id": student["contract_id"], "amount_fen": 100000,
                                                       "fund_account": "wechat"}))
    _user(client, "desk", "front_desk")
    sign_in(client, "desk", "desk-pass-1")
    ok(client.post(f"/api/v1/lessons/{lesson['id']}/marks", json={"student_id": student["id"], "mark": "present",
                                                                  "source": "desk"}))

    page = client.get("/").text

    check_ins = re.search(r'id="check-ins">(.*?)</ul>', page, re.S).group(1)
    assert "学员0" in check_ins and "出勤" in check_ins and "前台" in check_ins and "初二数学周二周四班" in check_ins
    receipts = re.search(r'id="receipts-to-print">(.*?)</ul>', page, re.S).group(1)
    assert f'href="/receipts/{payment["id"]}"' in receipts and "¥1000.00" in receipts
    owed = re.search(r'id="arrears">(.*?)</ul>', page, re.S).group(1)
    assert f'href="/contracts/{student["contract_id"]}"' in owed and "¥3000.00" in owed  # 20 h at ¥200, ¥1000 paid
    assert 'id="wb-manager"' not in page and 'id="wb-consultant"' not in page


def test_arrears_on_the_workbench_count_as_the_contract_does(client: TestClient, node_config: NodeConfig) -> None:
    school = set_up_school(client, students=2)
    ok(client.post("/api/v1/payments", json={"contract_id": school.students[1]["contract_id"], "amount_fen": 400000,
                                             "fund_account": "cash"}))
    ok(client.post(f"/api/v1/contracts/{school.students[0]['contract_id']}/changes", json={
        "kind": "expand", "line_id": school.students[0]["line_id"], "hours_x100": 500}))
    store = NodeStore(node_config.database_path, node_config.node_id)
    try:
        with store.read() as conn:
            listed = {row["id"]: row["arrears_fen"] for row in arrears(conn, node_config.campus_id)}
            expected = {row.id: contract_money(conn, row.id)["arrears_fen"] for row in conn.execute(select(contracts.c.id))}
    finally:
        store.close()
    assert listed == {k: v for k, v in expected.items() if v > 0} and len(listed) == 1


def test_a_manager_sees_the_days_figures_and_what_waits_for_approval(client: TestClient) -> None:
    school = set_up_school(client, students=1)
    ok(client.post("/api/v1/payments", json={"contract_id": school.students[0]["contract_id"], "amount_fen": 80000,
                                             "fund_account": "cash"}))
    ok(client.post("/api/v1/leads", json={"name": "新线索", "phone": "13700137000"}))
    ok(client.post("/api/v1/books/expenses", json={"category": "rent", "amount_fen": 300000, "fund_account": "bank",
                                                   "incurred_on": _today().isoformat(), "description": "十二月房租"}))

    page = client.get("/").text

    figures = _section(page, "wb-manager")
    assert re.search(r"新增线索</dt><dd>1</dd>", figures)
    assert re.search(r"签约合同</dt><dd>1 · ¥4000.00</dd>", figures)
    assert "¥800.00" in figures
    approvals = _section(page, "wb-approvals")
    assert "十二月房租" in approvals and "房租" in approvals and ">rent<" not in approvals
    assert 'href="/sync"' in page


def test_the_sync_page_is_for_managers_and_lists_what_headquarters_refused(
        client: TestClient, node_config: NodeConfig) -> None:
    store = NodeStore(node_config.database_path, node_config.node_id)
    try:
        with store.unit_of_work() as uow:
            uow.conn.execute(sync_rejections.insert().values(id="r1", campus_id=node_config.campus_id, node_id=node_config.node_id, seq=7,
                                                             table_name="leads", row_id="0190abcd-0000",
                                                             reason="campus mismatch",
                                                             created_at="2026-12-01T02:00:00Z"))
    finally:
        store.close()

    page = client.get("/sync").text

    rejected = re.search(r'id="sync-rejections">(.*?)</table>', page, re.S).group(1)
    assert "线索" in rejected and "campus mismatch" in rejected and "2026-12-01 10:00" in rejected
    assert 'id="outbox"' in page and "未接入总部" in page


def test_conflicts_show_kept_and_lost_side_by_side_and_resolve_restores_the_lost_value(
        client: TestClient, node_config: NodeConfig) -> None:
    lead = ok(client.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"}))
    store = NodeStore(node_config.database_path, node_config.node_id)
    try:
        with store.unit_of_work() as uow:
            uow.insert("conflicts", {
                "campus_id": node_config.campus_id, "kind": "concurrent_edit", "table_name": "leads",
                "row_id": lead["id"], "field": "name", "kept_value": json.dumps("张伟"),
                "lost_value": json.dumps("张 伟(家长)"), "detail": "edited at two campuses offline",
                "detected_at": "2026-12-01T02:00:00Z", "deleted": False})
    finally:
        store.close()

    page = client.get("/conflicts").text

    assert "同时修改" in page and "concurrent_edit" not in re.sub(r'(value|href|id|action)="[^"]*"', "", page)
    assert "张伟" in re.search(r'class="kept">(.*?)</div>', page, re.S).group(1)
    assert "张 伟(家长)" in re.search(r'class="lost">(.*?)</div>', page, re.S).group(1)
    conflict_id = re.search(r'action="/conflicts/([^/]+)/resolve"', page).group(1)
    empty = client.post(f"/conflicts/{conflict_id}/resolve", data={"csrf_token": _csrf(client, "/conflicts"),
                                                                   "resolution": " "})
    assert "请填写冲突的处理方式" in empty.text

    done = client.post(f"/conflicts/{conflict_id}/resolve", data={
        "csrf_token": _csrf(client, "/conflicts"), "resolution": "家长要求用全名", "restore_lost_value": "1"})

    assert "冲突已处理" in done.text and "没有待处理的冲突" in done.text
    assert client.get(f"/api/v1/leads/{lead['id']}").json()["name"] == "张 伟(家长)"
    assert "家长要求用全名" in client.get("/conflicts?all=1").text
