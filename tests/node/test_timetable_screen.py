"""The week timetable (周课表): a grid of days × hours by campus, teacher or room, each lesson a block
with class, teacher, room and roll-call state linking to the roll call; a list of days for phones."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.conftest import sign_in
from tests.node.teaching_helpers import set_up_school


def _row(page: str, hour: str) -> str:
    found = re.search(rf'<tr><th class="hour">{hour}</th>(.*?)</tr>', page, re.S)
    assert found, f"no row {hour}"
    return found.group(1)


def test_the_week_grid_places_each_lesson_by_day_and_hour_with_its_state(node_client: TestClient) -> None:
    school = set_up_school(node_client, students=1)
    other = school.new_class("初二数学周末班", teacher=1, room=1)
    tuesday = school.lesson(school.class_id, "2030-01-08T19:00:00+08:00", "2030-01-08T20:30:00+08:00")
    school.lesson(other, "2030-01-12T07:00:00+08:00", "2030-01-12T08:30:00+08:00")
    school.lesson(school.class_id, "2030-01-15T19:00:00+08:00", "2030-01-15T20:30:00+08:00")  # next week
    school.post(f"/api/v1/lessons/{tuesday['id']}/marks", {"student_id": school.students[0]["id"], "mark": "present"})
    school.post(f"/api/v1/lessons/{tuesday['id']}/confirm")

    page = node_client.get("/timetable", params={"week": "2030-01-10"}).text  # any day of the week

    assert "2030-01-07 – 2030-01-13" in page and "全校区" in page
    evening = _row(page, "19:00").split("<td")
    assert f'href="/lessons/{tuesday["id"]}"' in evening[2]  # Monday is cell 1, Tuesday cell 2
    assert "初二数学周二周四班" in evening[2] and "老师0" in evening[2] and "101 教室" in evening[2]
    assert "已点名确认" in evening[2] and "state-confirmed" in evening[2] and "span-2" in evening[2]
    assert "初二数学周末班" in _row(page, "07:00").split("<td")[6]  # an early lesson widens the grid
    assert "2030-01-15" not in re.search(r'id="week-grid">(.*?)</table>', page, re.S).group(1)
    assert 'href="/timetable?week=2030-01-14&amp;all=1"' in page and 'data-action="print"' in page
    week_list = re.search(r'id="week-list">(.*)', page, re.S).group(1)
    assert week_list.index("初二数学周二周四班") < week_list.index("初二数学周末班")


def test_the_timetable_by_teacher_and_by_room_shows_only_theirs(node_client: TestClient) -> None:
    school = set_up_school(node_client, students=1)
    other = school.new_class("初二数学周末班", teacher=1, room=1)
    school.lesson(school.class_id, "2030-01-08T19:00:00+08:00", "2030-01-08T20:30:00+08:00")
    school.lesson(other, "2030-01-12T10:00:00+08:00", "2030-01-12T11:30:00+08:00")

    by_teacher = node_client.get("/timetable", params={"week": "2030-01-07", "teacher": school.teachers[1]}).text
    by_room = node_client.get("/timetable", params={"week": "2030-01-07", "by": "room", "id": school.rooms[0]}).text

    assert "初二数学周末班" in by_teacher and "初二数学周二周四班" not in by_teacher and "老师1" in by_teacher
    assert "初二数学周二周四班" in by_room and "初二数学周末班" not in by_room


def test_a_teacher_opens_their_own_week_by_default(node_client: TestClient) -> None:
    school = set_up_school(node_client, students=1)
    other = school.new_class("初二数学周末班", teacher=1, room=1)
    school.lesson(school.class_id, "2030-01-08T19:00:00+08:00", "2030-01-08T20:30:00+08:00")
    school.lesson(other, "2030-01-12T10:00:00+08:00", "2030-01-12T11:30:00+08:00")
    sign_in(node_client, "teacher1", "teacher-pass-1")

    mine = node_client.get("/timetable", params={"week": "2030-01-07"}).text
    everyone = node_client.get("/timetable", params={"week": "2030-01-07", "all": "1"}).text

    assert "初二数学周末班" in mine and "初二数学周二周四班" not in mine
    assert "初二数学周二周四班" in everyone
