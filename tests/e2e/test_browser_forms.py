"""Refused forms in Chromium, by keyboard: the message stands beside the field it names, the field
is marked invalid and takes the focus, and what was typed is still there — on a form drawn with
forms.html's macros (a lead's follow-up) and on one drawn by hand (a student's deposit), which
app.js marks the same way."""

from __future__ import annotations

from contextlib import closing

from campus.web.serving import BackgroundServer
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.browser import MARKS
from tests.e2e.sync_helpers import signed_in_client

pytestmark = MARKS


def test_refused_forms_show_the_message_beside_the_field_and_focus_it(
    browser, live_node: BackgroundServer  # type: ignore[no-untyped-def]
) -> None:
    with closing(signed_in_client(live_node.url, {"username": "admin", "password": ADMIN_PASSWORD})) as admin:
        lead = admin.post("/api/v1/leads", json={"name": "李娜", "phone": "13912345678"}).json()
        student = admin.post("/api/v1/students", json={"name": "王小明", "phone": "13800138000"}).json()
    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page.goto(f"{live_node.url}/leads/{lead['id']}")
    page.fill("#f-username", "admin")
    page.fill("#f-password", ADMIN_PASSWORD)
    page.press("#f-password", "Enter")

    page.focus("#f-next")
    page.keyboard.type("12092026")  # a date field, typed as a keyboard user does
    page.focus("#f-content")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # past the date to the save button, then Enter
    with page.expect_navigation():  # the refused form's page, not the one it was sent from
        page.keyboard.press("Enter")

    assert page.get_attribute("#f-content", "aria-invalid") == "true"
    assert page.inner_text("#f-content-error") == "沟通内容：请填写沟通内容"
    assert page.evaluate("document.activeElement.id") == "f-content"
    assert page.input_value("#f-next") == "2026-12-09"

    page.goto(f"{live_node.url}/students/{student['id']}")
    page.fill("#student-deposit-form input[name=amount]", "十块")
    with page.expect_navigation():
        page.press("#student-deposit-form input[name=amount]", "Enter")

    amount = "#student-deposit-form input[name=amount]"
    assert page.get_attribute(amount, "aria-invalid") == "true"
    described = page.get_attribute(amount, "aria-describedby")
    assert page.inner_text(f"#{described}").endswith("：不是以元为单位的金额，例如 1280.50")
    assert page.evaluate("document.activeElement.name") == "amount"
    assert page.input_value(amount) == "十块"
    page.close()
