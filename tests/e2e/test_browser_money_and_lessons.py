"""Front desk in Chromium: admit a student, sign, take a payment, print the receipt; then the
teacher's roll call confirms the lesson and deducts the hours."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from campus.web.serving import BackgroundServer
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.browser import MARKS
from tests.e2e.sync_helpers import signed_in_client

pytestmark = MARKS


def test_front_desk_signs_and_takes_money_then_the_roll_call_deducts(
    browser, live_node: BackgroundServer, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    with closing(signed_in_client(live_node.url, {"username": "admin", "password": ADMIN_PASSWORD})) as admin:
        item = admin.post("/api/v1/price-list/items", json={"grade": "初二", "subject": "数学", "level": "提高",
                                                            "delivery": "small_class", "unit_price_fen": 18000})
        admin.post("/api/v1/price-list/products", json={"code": "MATH8-10", "name": "初二数学 10 课时",
                                                        "price_item_id": item.json()["id"],
                                                        "hours_x100": 1000}).raise_for_status()
        admin_id = admin.get("/api/v1/users").json()["items"][0]["id"]
        course = admin.post("/api/v1/courses", json={"name": "初二数学", "lesson_hours_x100": 150}).json()
        klass = admin.post("/api/v1/classes", json={"course_id": course["id"], "name": "周三班",
                                                    "teacher_id": admin_id}).json()
    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    outside = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(live_node.url) else None)

    page.goto(f"{live_node.url}/students/new")
    page.fill("#f-username", "admin")
    page.fill("#f-password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.fill("#s-name", "王小明")
    page.fill("#s-phone", "13800138000")
    page.click("#student-form button[type=submit]")
    assert "学员 BJ01-S-000001 已建档" in page.content()
    page.click("#sign-form button[type=submit]")
    assert page.inner_text("#contract-arrears") == "¥1800.00"
    page.fill("#p-amount", "800")
    page.select_option("#p-account", "wechat")
    page.click("#payment-form button[type=submit]")
    assert page.inner_text("#contract-arrears") == "¥1000.00"
    page.click("#payments a:has-text('BJ01-R-000001')")
    assert page.inner_text("#receipt-amount") == "¥800.00"
    assert page.inner_text("#receipt-words") == "人民币捌佰元整"
    page.screenshot(path=str(tmp_path / "receipt.png"), full_page=True)
    assert (tmp_path / "receipt.png").stat().st_size > 15_000

    with closing(signed_in_client(live_node.url, {"username": "admin", "password": ADMIN_PASSWORD})) as admin:
        student = admin.get("/api/v1/students").json()["items"][0]
        line_id = admin.get(f"/api/v1/students/{student['id']}/account").json()["lines"][0]["id"]
        admin.post(f"/api/v1/classes/{klass['id']}/enrolments", json={"student_id": student["id"],
                                                                      "line_id": line_id}).raise_for_status()
        lesson = admin.post(f"/api/v1/classes/{klass['id']}/lessons", json={
            "starts_at": "2030-01-09T19:00:00+08:00", "ends_at": "2030-01-09T20:30:00+08:00"}).json()
    page.goto(f"{live_node.url}/lessons/{lesson['id']}")
    page.select_option(f"select[name='mark-{student['id']}']", "late")
    page.click("button[name=confirm]")
    assert "考勤已确认并扣课时" in page.content()
    assert "1.50" in page.inner_text("#roster")
    page.goto(f"{live_node.url}/students/{student['id']}")
    assert "剩余 8.50 课时" in page.inner_text("#account-remaining")
    assert outside == []
    page.close()
