"""The devices screens (Chinese by default, English on request), the student's PIN on their page,
the command line's ``campus node device add|list|revoke``, the [devices] settings, the metrics,
and the use cases' refusals."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from campus.cli import main
from campus.node.config import NodeConfig
from campus.node.context import NodeContext
from campus.node.devices import registry
from campus.node.devices import use_cases as cases
from campus.node.devices.runtime import RateLimiter
from campus.node.devices.settings import DeviceSettings
from campus.node.store import NodeStore
from campus.schema.context import Actor
from campus.schema.errors import Invalid


def _csrf(client: TestClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def test_the_devices_screen_lists_terminals_in_chinese_and_approves_one(node_client: TestClient) -> None:
    assert node_client.get("/iclock/cdata", params={"SN": "CNSCREEN1", "options": "all"}).status_code == 401

    page = node_client.get("/devices")
    assert page.status_code == 200
    assert "考勤机" in page.text and "待批准" in page.text and "CNSCREEN1" in page.text
    assert "Pending approval" in node_client.get("/devices?lang=en").text
    node_client.get("/devices?lang=zh_CN")

    token = _csrf(node_client, "/devices")
    approved = node_client.post("/devices", data={"csrf_token": token, "serial": "CNSCREEN1", "name": "前台考勤机",
                                                  "charset": "gb18030"}, follow_redirects=False)
    assert approved.status_code == 303
    page = node_client.get("/devices")
    assert "已批准" in page.text and "前台考勤机" in page.text
    device = node_client.get("/api/v1/devices").json()["items"][0]
    assert (device["status"], device["charset"]) == ("approved", "gb18030")

    detail = node_client.get(f"/devices/{device['id']}")
    assert detail.status_code == 200 and "GB18030" in detail.text and "考勤机上的人员" in detail.text
    queued = node_client.post(f"/devices/{device['id']}/commands", data={"csrf_token": token, "kind": "info"},
                              follow_redirects=False)
    assert queued.status_code == 303
    assert node_client.get(f"/api/v1/devices/{device['id']}").json()["commands"][0]["command"] == "INFO"
    revoked = node_client.post(f"/devices/{device['id']}/revoke", data={"csrf_token": token}, follow_redirects=False)
    assert revoked.status_code == 303 and "已撤销" in node_client.get("/devices").text


def test_the_student_page_and_record_show_the_terminal_pin(node_client: TestClient) -> None:
    student = node_client.post("/api/v1/students", json={"name": "张伟", "phone": "13800138000"}).json()
    assert node_client.get(f"/api/v1/students/{student['id']}").json()["device_pin"] is None

    assert node_client.post("/api/v1/devices/enrolments", json={"student_id": student["id"]}).status_code == 201

    assert node_client.get(f"/api/v1/students/{student['id']}").json()["device_pin"] == 1001
    page = node_client.get(f"/students/{student['id']}").text
    assert re.search(r'id="device-pin">1001<', page) and "考勤号" in page


def test_staff_pins_are_given_and_taken_away_on_the_screen(node_client: TestClient) -> None:
    teacher = node_client.post("/api/v1/users", json={"username": "t1", "display_name": "王老师",
                                                      "password": "teacher-pass-1", "roles": [{"role": "teacher"}]})
    token = _csrf(node_client, "/devices")
    given = node_client.post("/devices/staff-pins", data={"csrf_token": token, "user_id": teacher.json()["id"]},
                             follow_redirects=False)
    assert given.status_code == 303
    assert "王老师" in node_client.get("/devices").text.split('id="staff-pins"')[1].split("</table>")[0]
    taken = node_client.post(f"/devices/staff-pins/{teacher.json()['id']}/remove", data={"csrf_token": token},
                             follow_redirects=False)
    assert taken.status_code == 303
    assert node_client.get("/api/v1/devices/staff-pins").json()["items"] == []


def test_a_teacher_may_not_approve_a_terminal(node_client: TestClient) -> None:
    node_client.post("/api/v1/users", json={"username": "t2", "display_name": "李老师", "password": "teacher-pass-2",
                                            "roles": [{"role": "teacher"}]})
    answer = node_client.post("/api/v1/auth/token", json={"username": "t2", "password": "teacher-pass-2"})
    refused = node_client.post("/api/v1/devices", json={"serial": "CN1", "name": "x"},
                               headers={"Authorization": f"Bearer {answer.json()['token']}"})
    assert refused.status_code == 403


def test_the_command_line_adds_lists_and_revokes_terminals(node_config: NodeConfig,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    directory = str(node_config.directory)

    assert main(["node", "device", "add", "--dir", directory, "--serial", "CNCLI0001", "--name", "前台"]) == 0
    assert "CNCLI0001 (前台) approved" in capsys.readouterr().out
    assert main(["node", "device", "list", "--dir", directory]) == 0
    listed = capsys.readouterr().out
    assert "CNCLI0001" in listed and "approved" in listed
    assert main(["node", "device", "revoke", "--dir", directory, "--serial", "CNCLI0001"]) == 0
    assert main(["node", "device", "list", "--dir", directory]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["node", "device", "revoke", "--dir", directory, "--serial", "NOSUCH"]) == 2

    store = NodeStore(node_config.database_path, node_config.node_id)
    try:
        with store.read() as conn:
            audited = [r[0] for r in conn.exec_driver_sql(
                "select action from audit_events where action like 'device_%' order by at")]
    finally:
        store.close()
    assert audited == ["device_approved", "device_revoked"]


def test_the_devices_section_of_campus_toml_is_read(node_config: NodeConfig) -> None:
    replace(node_config, devices_port=8081, devices_keep_photos=False, devices_delay_seconds=5).save()

    settings = DeviceSettings.of(NodeConfig.load(node_config.directory))

    assert (settings.port, settings.keep_photos, settings.schedule.delay) == (8081, False, 5)
    assert "[devices]" in (node_config.directory / "campus.toml").read_text()


def test_metrics_count_each_terminals_punches(node_client: TestClient) -> None:
    node_client.post("/api/v1/devices", json={"serial": "CNMETRIC", "name": "前台"})
    node_client.post("/iclock/cdata", params={"SN": "CNMETRIC", "table": "ATTLOG", "Stamp": "2"},
                     content=b"77777\t2026-12-04 08:00:00\n77777\t2026-12-04 08:00:00\nbad\n")

    text = node_client.get("/metrics").text

    assert 'campus_device_punches_total{result="stray",serial="CNMETRIC"} 1.0' in text
    assert 'campus_device_punches_total{result="duplicates",serial="CNMETRIC"} 1.0' in text
    assert 'campus_device_punches_total{result="malformed",serial="CNMETRIC"} 1.0' in text
    assert 'campus_device_requests_total{endpoint="attlog",outcome="ok",serial="CNMETRIC"} 1.0' in text
    assert re.search(r'campus_device_last_contact_age_seconds\{serial="CNMETRIC",status="approved"\} \d', text)
    assert 'campus_device_punches_today{serial="CNMETRIC"}' in text


def test_a_photo_is_accepted_and_discarded_when_the_campus_keeps_none(node_config: NodeConfig) -> None:
    store = NodeStore(node_config.database_path, node_config.node_id)
    ctx, admin = NodeContext.of(node_config), Actor.machine("test")
    photo = b"PIN=20261204080000-1001.jpg\nSN=CNP\nsize=3\nCMD=uploadphoto\x00JPG"
    try:
        cases.approve_device(store, ctx, admin, "CNP", "前台")
        actor = cases.terminal_actor("CNP", "127.0.0.1")
        answer = cases.upload_photo(store, ctx, actor, "CNP", "127.0.0.1", "1", photo,
                                    settings=DeviceSettings(keep_photos=False))
        assert answer.text == "OK" and answer.details == {"kept": 0}
        with store.read() as conn:
            assert conn.exec_driver_sql("select count(*) from device_photos").scalar_one() == 0
    finally:
        store.close()


def test_the_node_refuses_to_queue_what_it_never_sends(node_config: NodeConfig) -> None:
    store = NodeStore(node_config.database_path, node_config.node_id)
    ctx, admin = NodeContext.of(node_config), Actor.machine("test")
    try:
        device = cases.approve_device(store, ctx, admin, "CNQ", "前台")
        for kind in ("shell", "putfile", "clear", "upgrade"):
            with pytest.raises(Invalid):
                cases.queue_command(store, ctx, admin, device["id"], kind)
        with store.write() as conn:  # whoever builds the line, the queue itself refuses it
            for command in ("SHELL reboot", "PutFile http://x/a.sh\t/tmp/a.sh", "CLEAR DATA", "UPGRADE url=x",
                            "CHECK\nSHELL reboot"):
                with pytest.raises(registry.CommandRefused):
                    registry.queue(conn, device["id"], command, "check", "2026-12-04T00:00:00Z")
            assert conn.exec_driver_sql("select count(*) from device_commands").scalar_one() == 0
    finally:
        store.close()


def test_the_rate_limiter_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])

    assert all(limiter.allow("CN1") for _ in range(60)) and not limiter.allow("CN1")
    assert limiter.allow("CN2")  # each terminal its own
    now[0] += 1.0
    assert limiter.allow("CN1") and not limiter.allow("CN1")


def test_terminal_times_are_the_campus_local_time(node_config: NodeConfig, tmp_path: Path) -> None:
    store = NodeStore(node_config.database_path, node_config.node_id)
    ctx = NodeContext.of(replace(node_config, timezone="Asia/Kolkata"))
    try:
        cases.approve_device(store, ctx, Actor.machine("test"), "CNTZ", "前台")
        handshake = cases.handshake(store, ctx, cases.terminal_actor("CNTZ", None), "CNTZ", None, "2.4.1", None,
                                    settings=DeviceSettings())
        assert "TimeZone=330" in handshake.text.splitlines()
        cases.upload_punches(store, ctx, cases.terminal_actor("CNTZ", None), "CNTZ", None, "1",
                             b"424242\t2026-12-04 08:00:00\n", settings=DeviceSettings())
        with store.read() as conn:
            punched = conn.exec_driver_sql("select punched_at from device_punches").scalar_one()
    finally:
        store.close()
    assert datetime.fromisoformat(punched.replace("Z", "+00:00")) == datetime(2026, 12, 4, 2, 30, tzinfo=UTC)


def test_a_campus_without_terminals_gives_no_pins_and_its_job_writes_nothing(node_client: TestClient,
                                                                             node_config: NodeConfig) -> None:
    student = node_client.post("/api/v1/students", json={"name": "赵敏", "phone": "13800138001"}).json()
    store = NodeStore(node_config.database_path, node_config.node_id)
    ctx = NodeContext.of(node_config)
    try:
        head = store.head()
        assert cases.keep_terminals_up_to_date(store, ctx) is None
        assert store.head() == head
        cases.approve_device(store, ctx, Actor.machine("test"), "CNFIRST", "前台")  # the first terminal
        assert cases.keep_terminals_up_to_date(store, ctx) is None  # approving it gave everyone a PIN
    finally:
        store.close()
    assert node_client.get(f"/api/v1/students/{student['id']}").json()["device_pin"] == 1001
