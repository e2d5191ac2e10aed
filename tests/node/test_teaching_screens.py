"""The schedule, the roll call with confirmation, and the printable attendance sheet."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.node.teaching_helpers import set_up_school


def test_roll_call_confirms_and_deducts_and_the_sheet_prints(node_client: TestClient) -> None:
    school = set_up_school(node_client)
    lesson = school.lesson(school.class_id, "2030-01-08T19:00:00+08:00", "2030-01-08T20:30:00+08:00")

    day = node_client.get("/schedule", params={"day": "2030-01-08"})
    assert "课表" in day.text and "19:00–20:30" in day.text and "初二数学周二周四班" in day.text
    page = node_client.get(f"/lessons/{lesson['id']}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    first, second = school.students
    done = node_client.post(f"/lessons/{lesson['id']}/marks", data={
        "csrf_token": token, f"mark-{first['id']}": "present", f"mark-{second['id']}": "late", "confirm": "1"})
    assert "考勤已确认并扣课时" in done.text
    after = node_client.get(f"/lessons/{lesson['id']}").text  # nothing left to mark: only the correction form
    assert 'name="confirm"' not in after and "保存考勤" not in after and 'id="leave-form"' not in after
    assert 'id="reconfirm-form"' in after and 'name="mark-' not in after
    assert school.account(first)["remaining"]["hours_x100"] == 2000 - 150

    corrected = node_client.post(f"/lessons/{lesson['id']}/reconfirm", data={
        "csrf_token": token, "student_id": second["id"], "mark": "leave", "reason": "家长来电请假"})
    assert "考勤已更正" in corrected.text
    assert school.account(second)["remaining"]["hours_x100"] == 2000

    sheet = node_client.get("/attendance/print", params={"from": "2030-01-08", "to": "2030-01-08"})
    assert sheet.status_code == 200
    assert re.search(r"学员0</td><td>出勤</td><td>出勤</td><td class=\"num\">1.50<", sheet.text)
    assert re.search(r"学员1</td><td>迟到</td><td>请假</td><td class=\"num\">0.00<", sheet.text)


def test_the_menu_shows_only_what_the_role_may_open(node_client: TestClient) -> None:
    node_client.post("/api/v1/users", json={"username": "teacher9", "display_name": "老师", "password": "teacher-pass-9",
                                            "roles": [{"role": "teacher"}]})
    token = node_client.post("/api/v1/auth/token", json={"username": "teacher9", "password": "teacher-pass-9"})
    home = node_client.get("/", headers={"Authorization": f"Bearer {token.json()['token']}"})
    menu = re.search(r"<nav>(.*?)</nav>", home.text, re.S).group(1)
    assert "课表" in menu and 'href="/leads"' not in menu and 'href="/audit"' not in menu
