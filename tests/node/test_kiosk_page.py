"""The tablet check-in page: paired with a kiosk's secret, big answers in Chinese."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.node.teaching.kiosks import add_device
from campus.schema.ids import new_id
from tests.node.teaching_helpers import set_up_school


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_paired_tablet_checks_students_in_and_an_unpaired_one_cannot(
        node_client: TestClient, node_store: NodeStore, node_config: NodeConfig) -> None:
    school = set_up_school(node_client, students=1)
    start = datetime.now(UTC) + timedelta(minutes=20)
    school.lesson(school.class_id, start.isoformat(), (start + timedelta(hours=1)).isoformat())
    with node_store.write() as conn:
        device = add_device(conn, "前台平板", new_id())

    from campus.node.app import create_app

    with TestClient(create_app(node_config, background_sync=False)) as tablet:  # no staff sign-in at all
        assert tablet.get("/kiosk", follow_redirects=False).headers["location"] == "/kiosk/pair"
        pair_page = tablet.get("/kiosk/pair").text
        assert "将此平板绑定为考勤机" in pair_page
        wrong = tablet.post("/kiosk/pair", data={"csrf_token": _csrf(pair_page), "device_id": device["id"],
                                                 "secret": "0" * 64})
        assert wrong.status_code == 401
        paired = tablet.post("/kiosk/pair", data={"csrf_token": _csrf(pair_page), "device_id": device["id"],
                                                  "secret": device["secret"]})
        assert paired.status_code == 200 and "签到" in paired.text and "前台平板" in paired.text

        done = tablet.post("/kiosk", data={"csrf_token": _csrf(paired.text),
                                           "student_number": school.students[0]["number"].lower()})
        assert "学员0 签到成功" in done.text
        walk_in = node_client.post("/api/v1/students", json={"name": "没课的学员"}).json()
        stray = tablet.post("/kiosk", data={"csrf_token": _csrf(paired.text), "student_number": walk_in["number"]})
        assert "没课的学员 签到成功" in stray.text
        unknown = tablet.post("/kiosk", data={"csrf_token": _csrf(paired.text), "student_number": "NOPE-1"})
        assert "未找到该学号" in unknown.text
        assert tablet.get("/api/v1/leads").status_code == 401  # a kiosk can post marks and nothing else

    lesson = node_client.get("/api/v1/lessons", params={"from": start.date().isoformat()}).json()["items"][0]
    assert [a["mark"] for a in node_client.get(f"/api/v1/lessons/{lesson['id']}").json()["attendance"]] == ["present"]

    schedule = node_client.get("/schedule").text  # today, in the campus's time
    assert "未匹配课程的签到" in schedule and "没课的学员" in schedule and "前台平板" in schedule
