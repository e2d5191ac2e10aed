"""The workbench (首页工作台) of a consultant, an academic advisor and the front desk in Chromium, on one
live node seeded through its API: each role sees its own day's work, can click through to the record,
and sees none of the other roles' sections (the manager's and the teacher's are proven by the set-up
test). One screenshot per role goes to bench-results/screens/."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from campus.node.app import create_app
from campus.node.bootstrap import init_node
from campus.web.serving import BackgroundServer
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.browser import MARKS
from tests.e2e.sync_helpers import signed_in_client
from tests.node.risk_helpers import ok, seed_student

pytestmark = MARKS

SCREENS = Path(__file__).parents[2] / "bench-results" / "screens"
# Every section of the workbench, by the list or block it shows; each role below names its own.
SECTIONS = {
    "manager": ("#day-figures", "#approve-expenses"),
    "consultant": ("#follow-ups-overdue", "#follow-ups-today", "#leads-returning", "#leads-assigned",
                   "#deposits-waiting"),
    "advisor": ("#low-hours", "#expiring-contracts", "#absence-alerts"),
    "teacher": ("#my-lessons",),
    "front_desk": ("#check-ins", "#receipts-to-print", "#arrears"),
    "marketing": ("#leads-by-channel",),
}
PASSWORDS = {"zhang": "zhang-consultant-1", "wu": "wu-consultant-1", "zhao": "zhao-advisor-1",
             "desk": "desk-front-desk-1"}


@dataclass
class School:
    url: str
    today: date
    leads: dict[str, dict[str, Any]]
    low: dict[str, Any]  # the advisor's student with few hours, an expiring contract and three absences
    desk: dict[str, Any]  # the student who checked in at the desk today
    receipt: dict[str, Any]


def _user(admin: Any, username: str, name: str, role: str) -> str:
    return str(ok(admin.post("/api/v1/users", json={"username": username, "display_name": name,
                                                    "password": PASSWORDS[username], "roles": [{"role": role}]}))["id"])


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Iterator[School]:
    """One node whose private pool keeps a lead two days (so a lead claimed today is about to return),
    with each role's day written through the API."""
    config = init_node(tmp_path_factory.mktemp("roles") / "bj01", "BJ01", "北京海淀校区",
                       admin_password=ADMIN_PASSWORD)
    config = dataclasses.replace(config, private_pool_days=2)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the campus's day
    with BackgroundServer(create_app(config)) as server, \
            closing(signed_in_client(server.url, {"username": "admin", "password": ADMIN_PASSWORD})) as admin:
        advisor = _user(admin, "zhao", "赵班主任", "academic_advisor")
        low = seed_student(admin, name="李雷", phone="13900001111", hours_x100=800,
                           expires_on=(today + timedelta(days=10)).isoformat(), class_teacher_id=advisor)
        for days in (9, 8, 7):
            low.lesson((today - timedelta(days=days)).isoformat(), "absent")  # 1.5 h each: 3.50 left
        desk_student = seed_student(admin, name="韩梅梅", phone="13900002222", hours_x100=2000,
                                    expires_on=(today + timedelta(days=300)).isoformat(), price_item=False)
        receipt = ok(admin.post("/api/v1/payments", json={"contract_id": desk_student.contract["id"],
                                                          "amount_fen": 100000, "fund_account": "wechat"}))
        lesson = ok(admin.post(f"/api/v1/classes/{desk_student.class_id}/lessons", json={
            "starts_at": f"{today}T07:00:00+08:00", "ends_at": f"{today}T08:30:00+08:00"}))

        zhang = _user(admin, "zhang", "张顾问", "consultant")
        _user(admin, "wu", "吴顾问", "consultant")
        _user(admin, "desk", "前台小刘", "front_desk")
        leads = {name: ok(admin.post("/api/v1/leads", json={"name": name, "phone": phone, "channel": "转介绍"}))
                 for name, phone in (("分配", "13800000001"), ("逾期", "13800000002"), ("今天", "13800000003"),
                                     ("订金", "13800000004"), ("别人的", "13800000005"))}
        ok(admin.post(f"/api/v1/leads/{leads['分配']['id']}/assign", json={"consultant_id": zhang}), 200)
        with closing(signed_in_client(server.url, {"username": "zhang", "password": PASSWORDS["zhang"]})) as consultant:
            for name in ("逾期", "今天", "订金"):
                ok(consultant.post(f"/api/v1/leads/{leads[name]['id']}/claim"), 200)
            ok(consultant.post(f"/api/v1/leads/{leads['逾期']['id']}/follow-ups", json={
                "channel": "call", "content": "再联系", "next_follow_up_on": (today - timedelta(days=2)).isoformat()}))
            ok(consultant.post(f"/api/v1/leads/{leads['今天']['id']}/follow-ups", json={
                "channel": "wechat", "content": "今天再问", "next_follow_up_on": today.isoformat()}))
            ok(consultant.post("/api/v1/deposits", json={"lead_id": leads["订金"]["id"], "amount_fen": 50000,
                                                         "fund_account": "cash"}))
        with closing(signed_in_client(server.url, {"username": "wu", "password": PASSWORDS["wu"]})) as other:
            ok(other.post(f"/api/v1/leads/{leads['别人的']['id']}/claim"), 200)
            ok(other.post(f"/api/v1/leads/{leads['别人的']['id']}/follow-ups", json={
                "channel": "call", "content": "下周", "next_follow_up_on": (today - timedelta(days=1)).isoformat()}))
        with closing(signed_in_client(server.url, {"username": "desk", "password": PASSWORDS["desk"]})) as front:
            ok(front.post(f"/api/v1/lessons/{lesson['id']}/marks", json={
                "student_id": desk_student.student["id"], "mark": "present", "source": "desk"}))
        SCREENS.mkdir(parents=True, exist_ok=True)
        yield School(server.url, today, leads, {"student": low.student, "contract": low.contract},
                     {"student": desk_student.student, "contract": desk_student.contract}, receipt)


@pytest.fixture
def signed_in(browser: Any, school: School) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A fresh browser context per role (its own session cookie), watched for outside requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def open_as(username: str) -> Any:
        page = context.new_page()
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(school.url) else None)
        page.goto(f"{school.url}/login")
        page.fill("#f-username", username)
        page.fill("#f-password", PASSWORDS[username])
        page.click("button[type=submit]")
        page.wait_for_selector("h1")
        return page

    yield open_as
    context.close()
    assert outside == []  # every asset came from the node itself


def _only_sections(page: Any, role: str) -> None:
    """The role's own sections are shown and every other role's are absent."""
    for name, selectors in SECTIONS.items():
        for selector in selectors:
            assert page.is_visible(selector) is (name == role), f"{role} and {selector}"


def _list(page: Any, selector: str) -> str:
    return str(page.inner_text(selector))


def test_a_consultant_sees_their_follow_ups_returning_assigned_and_deposit_leads_and_no_figures_or_arrears(
        school: School, signed_in: Any) -> None:
    page = signed_in("zhang")

    _only_sections(page, "consultant")
    assert "BJ01-L-000002 逾期" in _list(page, "#follow-ups-overdue")
    assert "别人的" not in _list(page, "#follow-ups-overdue")  # another consultant's lead stays theirs
    assert "BJ01-L-000003 今天" in _list(page, "#follow-ups-today")
    returning = _list(page, "#leads-returning")  # a private pool of two days: each of their private leads
    assert [line.split(" · ")[0] for line in returning.splitlines()] == [
        "BJ01-L-000001 分配", "BJ01-L-000002 逾期", "BJ01-L-000003 今天"], returning
    assert f"{(school.today + timedelta(days=2)).isoformat()} 退回" in returning
    assigned = _list(page, "#leads-assigned")
    assert "BJ01-L-000001 分配" in assigned and "转介绍" in assigned  # the channel's label
    assert "¥500.00" in _list(page, "#deposits-waiting") and "订金" in _list(page, "#deposits-waiting")
    assert not page.is_visible("a[href='/sync']")  # the node's technical state is for managers
    page.screenshot(path=str(SCREENS / "workbench-consultant.png"), full_page=True)

    page.click("#follow-ups-today a:has-text('今天')")  # each item opens its record, to act on it there
    assert page.inner_text("h1").startswith("今天")
    assert "今天再问" in page.inner_text("#follow-ups")
    assert (SCREENS / "workbench-consultant.png").stat().st_size > 10_000


def test_an_academic_advisor_sees_low_hours_expiring_contracts_and_absences_and_no_leads_or_money(
        school: School, signed_in: Any) -> None:
    page = signed_in("zhao")

    _only_sections(page, "advisor")
    low = _list(page, "#low-hours")
    assert "李雷" in low and "剩余 3.50 课时" in low
    assert "韩梅梅" not in low  # 20 hours left, and not in the advisor's class
    expiring = _list(page, "#expiring-contracts")
    assert school.low["contract"]["number"] in expiring
    assert f"{(school.today + timedelta(days=10)).isoformat()} 到期" in expiring
    assert "李雷" in _list(page, "#absence-alerts") and "连续缺勤" in _list(page, "#absence-alerts")
    page.screenshot(path=str(SCREENS / "workbench-advisor.png"), full_page=True)

    page.click("#low-hours a:has-text('李雷')")
    assert page.inner_text("h1").startswith("李雷")
    assert "剩余 3.50 课时" in page.inner_text("#account-remaining")
    assert (SCREENS / "workbench-advisor.png").stat().st_size > 10_000


def test_the_front_desk_sees_check_ins_receipts_and_arrears_and_no_leads_or_students_to_follow(
        school: School, signed_in: Any) -> None:
    page = signed_in("desk")

    _only_sections(page, "front_desk")
    check_ins = _list(page, "#check-ins")
    assert "韩梅梅" in check_ins and "出勤" in check_ins and "前台" in check_ins and "韩梅梅的班" in check_ins
    receipts = _list(page, "#receipts-to-print")
    assert school.receipt["receipt_number"] in receipts and "¥1000.00" in receipts and "韩梅梅" in receipts
    arrears = _list(page, "#arrears")
    assert f"{school.desk['contract']['number']} 韩梅梅 · ¥3000.00" in arrears  # 20 h at ¥200, ¥1000 paid
    assert f"{school.low['contract']['number']} 李雷 · ¥1600.00" in arrears  # 8 h at ¥200, nothing paid
    assert "订金 · 订金 · ¥500.00" in receipts  # the deposit the consultant took today, to print too
    assert "BJ01-L-" not in page.inner_text("main")  # no lead of any consultant
    page.screenshot(path=str(SCREENS / "workbench-front-desk.png"), full_page=True)

    page.click(f"#receipts-to-print a:has-text('{school.receipt['receipt_number']}')")
    assert page.inner_text("#receipt-amount") == "¥1000.00"
    assert (SCREENS / "workbench-front-desk.png").stat().st_size > 10_000
