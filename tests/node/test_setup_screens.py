"""Teaching set-up from the screens: rooms, courses, classes, enrolments paid from a contract line,
recurring schedules with their clash preview, single lessons, moves, leave, make-ups, cancelling
and class transfers; each refusal flashed in Chinese naming the field or the clash."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from starlette.testclient import TestClient

from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.schema.tables import audit_events, lessons
from tests.conftest import sign_in
from tests.node.teaching_helpers import School, set_up_school


def _csrf(client: TestClient, path: str = "/classes") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def _flash(page: str) -> str:
    found = re.search(r'<div class="flash flash-(\w+)" role="status">([^<]*)</div>', page)
    assert found, "no flash"
    return f"{found.group(1)}: {found.group(2)}"


def _count(config: NodeConfig, table: object, *where: object) -> int:
    store = NodeStore(config.database_path, config.node_id)
    try:
        with store.read() as conn:
            return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())
    finally:
        store.close()


def test_rooms_courses_and_classes_are_set_up_from_their_screens(node_client: TestClient) -> None:
    token = _csrf(node_client, "/rooms")
    added_room = node_client.post("/rooms", data={"csrf_token": token, "name": "201 教室", "capacity": "16"})
    assert _flash(added_room.text) == "success: 已添加教室 201 教室"
    rooms = node_client.get("/rooms").text
    assert re.search(r"<td>201 教室</td><td class=\"num\">16</td>", rooms)
    refused = node_client.post("/rooms", data={"csrf_token": token, "name": "", "capacity": "-3"})
    assert _flash(refused.text).startswith("error: 教室名称:") and "必填" in _flash(refused.text)

    added = node_client.post("/courses", data={"csrf_token": token, "name": "初三物理", "lesson_hours": "2"})
    assert _flash(added.text) == "success: 已添加课程 初三物理"
    assert re.search(r"<td>初三物理</td><td class=\"num\">2.00</td>", node_client.get("/courses").text)
    bad_hours = node_client.post("/courses", data={"csrf_token": token, "name": "初三化学", "lesson_hours": "两"})
    assert _flash(bad_hours.text).startswith("error: 每次课时:")

    page = node_client.get("/classes").text
    course_id = re.search(r'<option value="([^"]+)">初三物理', page).group(1)
    room_id = re.search(r'<option value="([^"]+)">201 教室', page).group(1)
    admin_id = re.search(r'id="class-teacher" name="teacher_id"><option value="">—</option><option value="([^"]+)"',
                         page).group(1)
    opened = node_client.post("/classes", data={
        "csrf_token": token, "course_id": course_id, "name": "物理冲刺班", "category": "exam", "teacher_id": admin_id,
        "class_teacher_id": admin_id, "room_id": room_id, "capacity": "12"})
    assert _flash(opened.text) == "success: 已开班 物理冲刺班"
    listed = node_client.get("/classes?category=exam").text
    assert "物理冲刺班" in listed and "考试班" in listed and ">exam<" not in listed
    assert "物理冲刺班" not in node_client.get("/classes?category=regular").text
    wrong = node_client.post("/classes", data={"csrf_token": token, "course_id": course_id, "name": "错班",
                                               "category": "weekend"})
    assert _flash(wrong.text).startswith("error: 类别:")


def test_a_student_is_enrolled_from_the_class_page_with_the_contract_line_that_pays(node_client: TestClient) -> None:
    school = set_up_school(node_client, students=1)
    other = school.new_class("初二数学周末班", teacher=1, room=1)
    student = node_client.post("/api/v1/students", json={"name": "王小明", "phone": "13800138000"}).json()
    contract = school.post("/api/v1/contracts", {"student_id": student["id"], "lines": [
        {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "hours_x100": 1000}]})

    found = node_client.get(f"/classes/{other}", params={"q": "王小明"}).text

    seat = re.search(r'<option value="([^"]+)">王小明 BJ01-S-\d+ · ' + contract["number"], found)
    assert seat and "剩余 10.00 课时" in found
    done = node_client.post(f"/classes/{other}/enrolments", data={"csrf_token": _csrf(node_client),
                                                                  "seat": seat.group(1), "joined_on": "2026-01-01"})
    assert _flash(done.text) == "success: 学员已报班"
    assert "王小明" in re.search(r'id="enrolments">(.*?)</table>', done.text, re.S).group(1)
    again = node_client.post(f"/classes/{other}/enrolments", data={"csrf_token": _csrf(node_client),
                                                                   "seat": seat.group(1)})
    assert _flash(again.text) == "error: 学员已在这个班级"
    nothing = node_client.post(f"/classes/{other}/enrolments", data={"csrf_token": _csrf(node_client), "seat": ""})
    assert _flash(nothing.text) == "error: 合同明细:请选择支付课时的合同明细"
    assert "没有找到有合同的学员" in node_client.get(f"/classes/{other}", params={"q": "无此人"}).text


def _busy_teacher(school: School) -> str:
    """Teacher 0 teaches the first class on Tuesday 2030-01-08 at 19:00; a second class of theirs."""
    school.lesson(school.class_id, "2030-01-08T19:00:00+08:00", "2030-01-08T20:30:00+08:00")
    return school.new_class("初二数学周二晚班", teacher=0, room=1)


def test_the_schedule_preview_names_each_clash_and_writes_nothing(node_client: TestClient,
                                                                  node_config: NodeConfig) -> None:
    school = set_up_school(node_client, students=1)
    second = _busy_teacher(school)
    before = _count(node_config, lessons)
    query = {"weekdays": ["tue", "thu"], "start": "19:30", "end": "21:00", "first_date": "2030-01-07", "weeks": "2"}

    preview = node_client.get(f"/api/v1/classes/{second}/schedules/preview", params=query)

    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert [lesson["date"] for lesson in body["lessons"]] == ["2030-01-08", "2030-01-10", "2030-01-15", "2030-01-17"]
    assert body["count"] == 4 and body["clashing"] == 1
    (clash,) = body["lessons"][0]["clashes"]
    assert (clash["kind"], clash["name"], clash["class_name"], clash["at"]) == (
        "teacher", "老师0", "初二数学周二周四班", "2030-01-08 19:00–20:30")
    assert _count(node_config, lessons) == before
    bad = node_client.get(f"/api/v1/classes/{second}/schedules/preview", params={**query, "start": "7pm"})
    assert bad.status_code == 422 and "start" in bad.text
    assert node_client.get(f"/api/v1/classes/{second}/schedules/preview").status_code == 422


def test_a_clashing_schedule_is_refused_naming_the_teacher_and_a_free_one_is_booked(
        node_client: TestClient, node_config: NodeConfig) -> None:
    school = set_up_school(node_client, students=1)
    second = _busy_teacher(school)
    token = _csrf(node_client, f"/classes/{second}")
    form = {"csrf_token": token, "weekdays": ["tue", "thu"], "start": "19:30", "end": "21:00",
            "first_date": "2030-01-07", "weeks": "2"}
    before = _count(node_config, lessons)

    refused = node_client.post(f"/classes/{second}/schedules", data=form)

    assert _flash(refused.text) == "error: 冲突:老师 老师0 在 2030-01-08 19:00–20:30 已有课"
    assert _count(node_config, lessons) == before  # all or none
    booked = node_client.post(f"/classes/{second}/schedules", data={**form, "start": "20:30", "end": "22:00"})
    assert _flash(booked.text) == "success: 已排 4 次课"
    assert booked.text.count("20:30–22:00") == 4
    no_days = node_client.post(f"/classes/{second}/schedules", data={**form, "weekdays": []})
    assert _flash(no_days.text).startswith("error: 上课日:")


def test_a_lesson_is_moved_booked_cancelled_and_a_student_takes_leave_and_a_make_up(
        node_client: TestClient, node_config: NodeConfig) -> None:
    school = set_up_school(node_client, students=2)
    lesson = school.lesson(school.class_id, "2030-01-08T19:00:00+08:00", "2030-01-08T20:30:00+08:00")
    token = _csrf(node_client, f"/lessons/{lesson['id']}")
    first, second = school.students

    leave = node_client.post(f"/lessons/{lesson['id']}/leave", data={"csrf_token": token, "student_id": first["id"],
                                                                     "reason": "发烧"})
    assert _flash(leave.text) == "success: 已登记请假" and "请假: 学员0" in leave.text
    moved = node_client.post(f"/lessons/{lesson['id']}/move", data={
        "csrf_token": token, "date": "2030-01-09", "start": "18:00", "end": "19:30", "teacher_id": school.teachers[1]})
    assert _flash(moved.text) == "success: 已调课"
    assert "2030-01-09 18:00–19:30" in moved.text and "老师1" in moved.text and "请假: 学员0" in moved.text
    new_id = str(moved.url.path).rsplit("/", 1)[-1]
    assert node_client.get(f"/api/v1/lessons/{lesson['id']}").json()["status"] == "cancelled"
    assert sorted(s["student_id"] for s in node_client.get(f"/api/v1/lessons/{new_id}").json()["attendance"]) == \
        sorted([first["id"], second["id"]])
    assert _count(node_config, audit_events, audit_events.c.action == "lesson_moved") == 1

    makeup = node_client.post(f"/lessons/{new_id}/makeups", data={
        "csrf_token": token, "student_id": first["id"], "date": "2030-01-12", "start": "10:00", "end": "11:30"})
    assert _flash(makeup.text) == "success: 已安排补课"
    late = node_client.post(f"/lessons/{new_id}/makeups", data={
        "csrf_token": token, "student_id": first["id"], "date": "2030-01-12", "start": "11:00", "end": "10:00"})
    assert _flash(late.text) == "error: 结束:结束时间必须晚于开始时间"
    one = node_client.post(f"/classes/{school.class_id}/lessons", data={
        "csrf_token": token, "date": "2030-01-10", "start": "19:00", "end": "20:30", "kind": "extra"})
    assert _flash(one.text) == "success: 已排课"
    cancelled = node_client.post(f"/lessons/{new_id}/cancel", data={"csrf_token": token})
    assert _flash(cancelled.text) == "success: 课程已取消"
    assert 'id="move-form"' not in cancelled.text


def test_moving_a_lesson_with_attendance_is_refused_and_the_api_moves_with_the_same_use_case(
        node_client: TestClient, node_config: NodeConfig) -> None:
    school = set_up_school(node_client, students=1)
    marked = school.lesson(school.class_id, "2030-01-08T19:00:00+08:00", "2030-01-08T20:30:00+08:00")
    free = school.lesson(school.class_id, "2030-01-10T19:00:00+08:00", "2030-01-10T20:30:00+08:00")
    school.post(f"/api/v1/lessons/{marked['id']}/marks", {"student_id": school.students[0]["id"], "mark": "present"})

    refused = node_client.post(f"/lessons/{marked['id']}/move", data={
        "csrf_token": _csrf(node_client, f"/lessons/{marked['id']}"), "date": "2030-01-09", "start": "18:00",
        "end": "19:30"})
    through_api = node_client.post(f"/api/v1/lessons/{free['id']}/move", json={
        "starts_at": "2030-01-11T19:00:00+08:00", "ends_at": "2030-01-11T20:30:00+08:00"})
    clash = node_client.post(f"/api/v1/lessons/{through_api.json()['id']}/move", json={
        "starts_at": "2030-01-08T19:30:00+08:00", "ends_at": "2030-01-08T21:00:00+08:00"})

    assert _flash(refused.text) == "error: 这次课已有考勤记录,不能调课"
    assert through_api.status_code == 201 and through_api.json()["starts_at"] == "2030-01-11T11:00:00Z"
    assert clash.status_code == 409 and clash.json()["clashes"][0]["kind"] == "teacher"
    assert _count(node_config, audit_events, audit_events.c.action == "lesson_moved") == 1


def test_a_class_transfer_from_the_screen_moves_the_student_to_the_other_class(node_client: TestClient) -> None:
    school = set_up_school(node_client, students=1)
    other = school.new_class("初二数学周末班", teacher=1, room=1)
    enrolment = school.students[0]["enrolment"]
    page = node_client.get(f"/classes/{school.class_id}").text
    assert f'action="/enrolments/{enrolment["id"]}/transfer?class={school.class_id}"' in page

    done = node_client.post(f"/enrolments/{enrolment['id']}/transfer?class={school.class_id}", data={
        "csrf_token": _csrf(node_client), "to_class_id": other, "on": "2030-01-01", "reason": "时间冲突"})

    assert _flash(done.text) == "success: 学员已转班"
    assert "已转班" in re.search(r'id="enrolments">(.*?)</table>', done.text, re.S).group(1)
    assert "学员0" in node_client.get(f"/classes/{other}").text


def test_a_teacher_reads_the_set_up_screens_but_changes_nothing(node_client: TestClient) -> None:
    school = set_up_school(node_client, students=1)
    lesson = school.lesson(school.class_id, "2030-01-08T19:00:00+08:00", "2030-01-08T20:30:00+08:00")
    token = _csrf(node_client)
    sign_in(node_client, "teacher0", "teacher-pass-0")

    page = node_client.get(f"/classes/{school.class_id}").text
    lesson_page = node_client.get(f"/lessons/{lesson['id']}").text

    assert "学员0" in page and 'id="schedule-form"' not in page and 'id="enrol-search"' not in page
    assert 'id="leave-form"' in lesson_page and 'id="move-form"' not in lesson_page
    assert node_client.post("/rooms", data={"csrf_token": token, "name": "X"}).status_code == 403
