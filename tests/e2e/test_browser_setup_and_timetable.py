"""A new school in Chromium: the manager adds a teacher, a price, a room, a course and a class, admits
a student and signs their contract, enrols them and schedules the class every week with the live
clash preview, all from the screens, and sees the lessons on the week timetable; the teacher, on a
390 px phone, finds today's lesson on the workbench and the timetable and opens its roll call.
Screenshots go to bench-results/screens/."""

from __future__ import annotations

from contextlib import closing
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from campus.web.serving import BackgroundServer
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.browser import MARKS
from tests.e2e.sync_helpers import signed_in_client

pytestmark = MARKS

SCREENS = Path(__file__).parents[2] / "bench-results" / "screens"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _sign_in(page, url: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/login")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    page.click("button[type=submit]")


def _flash(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.inner_text(".flash"))


def test_a_new_school_sets_up_teaching_from_the_screens_and_the_teacher_sees_today_on_a_phone(
    browser, live_node: BackgroundServer  # type: ignore[no-untyped-def]
) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    url = live_node.url
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the campus's day
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    outside: list[str] = []
    refused: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url) else None)
    page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)

    _sign_in(page, url, "admin", ADMIN_PASSWORD)
    page.goto(f"{url}/users")
    page.fill("#u-username", "li")
    page.fill("#u-name", "李老师")
    page.fill("#u-password", "li-teacher-1")
    page.select_option("#u-role", "teacher")
    page.click("#new-user button[type=submit]")
    page.goto(f"{url}/price-list")
    page.fill("#p-grade", "初二")
    page.fill("#p-subject", "数学")
    page.fill("#p-level", "提高")
    page.select_option("#p-delivery", "small_class")
    page.fill("#p-price", "180")
    page.click("form:has(#p-grade) button[type=submit]")
    with closing(signed_in_client(url, {"username": "admin", "password": ADMIN_PASSWORD})) as admin:
        item = admin.get("/api/v1/price-list").json()["items"][0]  # the price item just set on the screen
        admin.post("/api/v1/price-list/products", json={  # products have no screen yet
            "code": "MATH8-20", "name": "初二数学 20 课时", "price_item_id": item["id"], "hours_x100": 2000,
        }).raise_for_status()

    page.goto(f"{url}/rooms")
    page.fill("#room-name", "201 教室")
    page.fill("#room-capacity", "12")
    page.click("#room-form button[type=submit]")
    assert _flash(page) == "已添加教室 201 教室"
    page.goto(f"{url}/courses")
    page.fill("#course-name", "初二数学提高")
    page.fill("#course-hours", "1.5")
    page.select_option("#course-item", index=1)
    page.click("#course-form button[type=submit]")
    assert _flash(page) == "已添加课程 初二数学提高"
    page.goto(f"{url}/classes")
    page.fill("#class-name", "初二数学周末班")
    page.select_option("#class-category", "regular")
    page.select_option("#class-teacher", label="李老师")
    page.select_option("#class-room", label="201 教室 (12)")
    page.fill("#class-capacity", "12")
    page.click("#class-form button[type=submit]")
    assert _flash(page) == "已开班 初二数学周末班"
    page.screenshot(path=str(SCREENS / "setup-classes.png"), full_page=True)
    class_url = url + str(page.get_attribute("#classes a:has-text('初二数学周末班')", "href"))

    page.goto(f"{url}/students/new")
    page.fill("#s-name", "王小明")
    page.fill("#s-phone", "13800138000")
    page.click("#student-form button[type=submit]")
    page.click("#sign-form button[type=submit]")
    assert "已签订" in _flash(page)

    page.goto(class_url)
    page.fill("#enrol-q", "王小明")
    page.click("#enrol-search button[type=submit]")
    assert "剩余 20.00 课时" in page.inner_text("#enrol-seat")
    page.click("#enrol-form button[type=submit]")
    assert _flash(page) == "学员已报班" and "王小明" in page.inner_text("#enrolments")

    page.check(f"#schedule-form input[value={WEEKDAYS[today.weekday()]}]")
    page.fill("#sch-start", "19:00")
    page.fill("#sch-end", "20:30")
    page.fill("#sch-first", today.isoformat())
    page.fill("#sch-weeks", "4")
    page.wait_for_selector("#preview-summary:has-text('共 4 次课')")  # the live preview (no eval: the CSP)
    assert page.inner_text("#preview-summary") == "共 4 次课,其中 0 次有冲突"
    assert page.locator("#schedule-preview li.free").count() == 4
    page.locator("#schedule").screenshot(path=str(SCREENS / "setup-schedule-preview.png"))
    page.click("#schedule-form button[type=submit]")
    assert _flash(page) == "已排 4 次课"
    page.screenshot(path=str(SCREENS / "setup-class.png"), full_page=True)

    page.goto(f"{url}/timetable")
    block = page.locator("#week-grid td.today .lesson-block")
    assert block.count() == 1
    shown = block.inner_text()
    assert "19:00–20:30" in shown and "初二数学周末班" in shown and "李老师" in shown and "201 教室" in shown
    assert "未点名" in shown and not page.is_visible("#week-list")
    page.screenshot(path=str(SCREENS / "timetable-desktop.png"), full_page=True)
    page.goto(f"{url}/")
    assert page.is_visible("#day-figures")
    page.screenshot(path=str(SCREENS / "workbench-manager.png"), full_page=True)

    phone_context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,  # type: ignore[attr-defined]
                                        is_mobile=True, has_touch=True)
    phone = phone_context.new_page()
    phone.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url) else None)
    phone.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
    _sign_in(phone, url, "li", "li-teacher-1")
    mine = phone.inner_text("#my-lessons")
    assert "19:00–20:30" in mine and "初二数学周末班" in mine and "201 教室" in mine and "未点名" in mine
    assert not phone.is_visible("#day-figures") and not phone.is_visible("#arrears")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off the screen
    phone.screenshot(path=str(SCREENS / "workbench-teacher-phone.png"), full_page=True)

    phone.goto(f"{url}/timetable")
    assert phone.is_visible("#week-list") and not phone.is_visible("#week-grid")
    assert "初二数学周末班" in phone.inner_text("#today")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(SCREENS / "timetable-phone.png"), full_page=True)
    phone.click("#today .lesson-block")
    assert "王小明" in phone.inner_text("#roster")
    assert phone.is_visible("#roll-call button[type=submit]")

    assert outside == []
    assert [m for m in refused if "Content Security Policy" in m or "Refused" in m] == []
    phone_context.close()
    page.close()
    for name in ("setup-classes", "setup-schedule-preview", "setup-class", "timetable-desktop", "workbench-manager",
                 "workbench-teacher-phone", "timetable-phone"):
        assert (SCREENS / f"{name}.png").stat().st_size > 10_000, name
