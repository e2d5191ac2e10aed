"""A new school in Chromium, from an empty node and through its screens only: the manager adds a
teacher and a consultant, a price and a product (课时包), a room, a course and a class; the consultant
takes a lead from the lead pool through a deposit to an admitted student with a signed, paid contract;
the manager enrols the student and schedules the class every week with the live clash preview and
sees the lessons on the week timetable; the teacher, on a 390 px phone, finds today's lesson on the
workbench and the timetable, marks the roll call and confirms it; and the student's page shows the
hours deducted. Nothing is written through the API. Screenshots go to bench-results/screens/."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from campus.web.serving import BackgroundServer
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.browser import MARKS

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


def _watch(page, url: str, outside: list[str], refused: list[str]) -> None:  # type: ignore[no-untyped-def]
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url) else None)
    page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)


def test_a_new_school_is_set_up_from_the_screens_signs_and_teaches_a_student_and_deducts_the_hours(
    browser, live_node: BackgroundServer  # type: ignore[no-untyped-def]
) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    url = live_node.url
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the campus's day
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    outside: list[str] = []
    refused: list[str] = []
    _watch(page, url, outside, refused)

    _sign_in(page, url, "admin", ADMIN_PASSWORD)
    page.goto(f"{url}/users")
    for username, name, password, role in (("li", "李老师", "li-teacher-1", "teacher"),
                                           ("zhang", "张顾问", "zhang-consultant-1", "consultant")):
        page.fill("#u-username", username)
        page.fill("#u-name", name)
        page.fill("#u-password", password)
        page.select_option("#u-role", role)
        page.click("#new-user button[type=submit]")
    people = page.inner_text("#users")
    assert "李老师" in people and "张顾问" in people

    page.goto(f"{url}/price-list")
    page.fill("#p-grade", "初二")
    page.fill("#p-subject", "数学")
    page.fill("#p-level", "提高")
    page.select_option("#p-delivery", "small_class")
    page.fill("#p-price", "180")
    page.click("form:has(#p-grade) button[type=submit]")
    page.fill("#prod-code", "MATH8-20")
    page.fill("#prod-name", "初二数学 20 课时")
    page.select_option("#prod-item", label="初二 · 数学 · 提高 · 小班 · ¥180.00")
    page.fill("#prod-hours", "2O")  # a letter O typed for a zero: refused beside the field, the rest kept
    page.click("#product-form button[type=submit]")
    assert page.inner_text("#prod-hours-error") == "课时：大于 0 且不超过 10000，例如 20 或 1.5"
    assert page.input_value("#prod-name") == "初二数学 20 课时"
    page.fill("#prod-hours", "20")
    page.click("#product-form button[type=submit]")
    assert _flash(page) == "已保存课时包 MATH8-20"
    product = page.inner_text("#products tbody tr")
    assert "初二 · 数学 · 提高 · 小班" in product and "20.00" in product and "¥3600.00" in product
    page.screenshot(path=str(SCREENS / "setup-price-list.png"), full_page=True)

    page.goto(f"{url}/rooms")
    page.fill("#room-name", "201 教室")
    page.fill("#room-capacity", "12")
    page.click("#room-form button[type=submit]")
    assert _flash(page) == "已添加教室 201 教室"
    page.screenshot(path=str(SCREENS / "setup-rooms.png"))
    page.goto(f"{url}/courses")
    page.fill("#course-name", "初二数学提高")
    page.fill("#course-hours", "1.5")
    page.select_option("#course-item", index=1)
    page.click("#course-form button[type=submit]")
    assert _flash(page) == "已添加课程 初二数学提高"
    page.screenshot(path=str(SCREENS / "setup-courses.png"))
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

    # The consultant, at another desk: a lead through a deposit to a signed, paid student.
    desk = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    sales = desk.new_page()
    _watch(sales, url, outside, refused)
    _sign_in(sales, url, "zhang", "zhang-consultant-1")
    sales.goto(f"{url}/leads/new")
    sales.fill("#f-name", "王小明")
    sales.fill("#f-phone", "13800138000")
    sales.click("form[action='/leads/new'] button[type=submit]")
    assert _flash(sales) == "已创建线索 BJ01-L-000001"
    sales.goto(f"{url}/leads")
    sales.click("text=BJ01-L-000001")
    sales.click("button[data-move=claim]")
    assert sales.inner_text("#lead-pool") == "私有池"
    sales.fill("#deposit-form input[name=amount]", "500")
    sales.select_option("#deposit-form select[name=fund_account]", "wechat")
    sales.click("#deposit-form button[type=submit]")
    assert _flash(sales) == "已收订金：收据 BJ01-R-000001"
    assert sales.inner_text("#lead-pool") == "订金池"
    sales.click("a[href^='/students/new?lead=']")
    sales.fill("#s-grade", "初二")
    sales.click("#student-form button[type=submit]")
    assert _flash(sales) == "学员 BJ01-S-000001 已建档"
    student_url = sales.url
    assert sales.is_checked("#sign-form input[name=deposit_id]")  # the deposit goes towards the contract
    sales.select_option("#c-product", label="MATH8-20 · 初二数学 20 课时")
    sales.click("#sign-form button[type=submit]")
    assert _flash(sales) == "合同 BJ01-C-000001 已签订"
    assert (sales.inner_text("#contract-due"), sales.inner_text("#contract-arrears")) == ("¥3600.00", "¥3100.00")
    sales.fill("#p-amount", "3100")
    sales.select_option("#p-account", "alipay")
    sales.click("#payment-form button[type=submit]")
    assert _flash(sales) == "收款成功：收据 BJ01-R-000003"  # 000002 applied the deposit
    assert (sales.inner_text("#contract-paid"), sales.inner_text("#contract-arrears")) == ("¥3600.00", "¥0.00")
    sales.screenshot(path=str(SCREENS / "setup-contract-paid.png"), full_page=True)
    sales.goto(student_url)
    assert "剩余 20.00 课时" in sales.inner_text("#account-remaining")
    sales.click("a:has-text('线索阶段的记录')")
    assert sales.inner_text("#lead-pool") == "签约池"
    desk.close()

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
    figures = page.inner_text("#day-figures")
    assert "1 · ¥3600.00" in figures and "¥3600.00" in figures and "0 / 1 已确认" in figures  # signed, paid, to teach
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
    phone.select_option("#roster select", "present")
    phone.click("#roll-call button[name=confirm]")
    assert _flash(phone) == "考勤已确认并扣课时"
    roster = phone.inner_text("#roster tbody tr")
    assert "王小明" in roster and "出勤" in roster and "1.50" in roster
    phone.screenshot(path=str(SCREENS / "roll-call-phone.png"), full_page=True)

    page.goto(student_url)  # the manager reads the deducted hours on the student's page
    assert "剩余 18.50 课时" in page.inner_text("#account-remaining")
    line = page.inner_text("#account-lines tbody tr")
    assert "18.50" in line and "¥3330.00" in line  # 18.5 hours left at ¥180
    page.goto(f"{url}/")
    figures = page.inner_text("#day-figures")
    assert "1 / 1 已确认" in figures and "扣课时\n1.50" in figures
    assert outside == []
    assert [m for m in refused if "Content Security Policy" in m or "Refused" in m] == []
    phone_context.close()
    page.close()
    for name in ("setup-price-list", "setup-rooms", "setup-courses", "setup-contract-paid", "setup-classes", "setup-schedule-preview", "setup-class",
                 "timetable-desktop", "workbench-manager", "workbench-teacher-phone", "timetable-phone",
                 "roll-call-phone"):
        assert (SCREENS / f"{name}.png").stat().st_size > 10_000, name
