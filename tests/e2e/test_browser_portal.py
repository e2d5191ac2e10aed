"""A parent on a 390-pixel-wide phone signs in to the portal with a code read from the SMS file
sink, sees the hours left and asks for leave, asks a question and replies to the answer; the class
teacher (academic advisor) finds the leave request on their reminders. Chromium, real HTTP, nothing fetched from anywhere but the node."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from campus.node.app import create_app
from campus.node.config import NodeConfig
from campus.web.serving import BackgroundServer
from tests.e2e.browser import MARKS
from tests.e2e.sync_helpers import signed_in_client
from tests.node.risk_helpers import ok, seed_student

pytestmark = MARKS
PHONE = "13900001111"


@pytest.fixture
def node(node_config: NodeConfig) -> Iterator[tuple[BackgroundServer, NodeConfig]]:
    config = replace(node_config, notify_worker_seconds=1)  # codes go out within a second
    with BackgroundServer(create_app(config)) as server:
        yield server, config


def _code_from_sms(sink: Path) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if sink.exists():
            texts = [json.loads(line)["text"] for line in sink.read_text(encoding="utf-8").splitlines()
                     if json.loads(line)["to"] == PHONE]
            if texts:
                return re.findall(r"\d{6}", texts[-1])[0]
        time.sleep(0.2)
    raise AssertionError("no code reached the SMS file sink")


def test_a_parent_on_a_phone_signs_in_with_a_code_sees_the_hours_and_asks_for_leave(
        browser, node: tuple[BackgroundServer, NodeConfig], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, config = node
    tomorrow = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date().isoformat()
    with closing(signed_in_client(server.url)) as admin:
        advisor = ok(admin.post("/api/v1/users", json={"username": "wang", "display_name": "王老师",
                                                       "password": "wang-password-1",
                                                       "roles": [{"role": "academic_advisor"}]}))
        seeded = seed_student(admin, name="李雷", phone=PHONE, expires_on="2099-12-31",
                              class_teacher_id=advisor["id"])
        seeded.lesson(tomorrow, None, confirm=False)
    page = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(server.url) else None)

    page.goto(f"{server.url}/portal/")
    page.fill("#p-phone", PHONE)
    page.click("#phone-form button[type=submit]")
    page.fill("#p-code", _code_from_sms(config.directory / config.notify_sms_file))
    page.click("#code-form button[type=submit]")

    assert "20.00" in page.inner_text("#hours")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    page.click("#lessons summary")
    page.fill("#lessons input[name=reason]", "发烧,请假一次")
    page.click("#lessons .leave-form button[type=submit]")
    assert "已请假" in page.inner_text(".flash")
    assert "已请假" in page.inner_text("#lessons")
    page.screenshot(path=str(tmp_path / "portal.png"), full_page=True)

    page.fill("#t-subject", "教材")
    page.fill("#t-body", "教材在哪里领?")
    page.click("#ticket-form button[type=submit]")
    with closing(signed_in_client(server.url)) as admin:
        (ticket,) = ok(admin.get("/api/v1/tickets"), 200)["items"]
        ok(admin.post(f"/api/v1/tickets/{ticket['id']}/replies", json={"body": "前台领取"}))
    page.goto(f"{server.url}/portal/tickets/{ticket['id']}")
    page.fill("#reply-body", "前台几点开门?")
    page.click("#ticket-reply-form button[type=submit]")
    assert [line.split(": ", 1)[-1] for line in page.inner_text("#ticket-thread").splitlines()
            if ": " in line] == ["前台领取", "前台几点开门?"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert outside == []

    staff = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    staff.goto(f"{server.url}/reminders")
    staff.fill("#f-username", "wang")
    staff.fill("#f-password", "wang-password-1")
    staff.click("button[type=submit]")
    staff.goto(f"{server.url}/reminders")
    listed = staff.inner_text("#reminders")
    assert "家长端请假" in listed and "李雷" in listed and tomorrow in listed
    page.close()
    staff.close()
