"""Attendance terminals over real HTTP (uvicorn on 127.0.0.1), driven by the simulated terminal
that behaves as ZKTeco's PUSH protocol says: handshakes, ATTLOG uploads re-sent until OK, polls
answered on devicecmd, and everything the node refuses."""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from campus.node.app import create_app
from campus.node.bootstrap import init_node
from campus.node.config import NodeConfig
from campus.node.devices.serving import BackgroundNodeServers
from campus.node.devices.terminal import Terminal
from campus.node.store import NodeStore
from campus.web.serving import BackgroundServer, free_port
from tests.conftest import ADMIN_PASSWORD
from tests.node.teaching_helpers import School, set_up_school

SHANGHAI = ZoneInfo("Asia/Shanghai")
HANDSHAKE_241 = ["GET OPTION FROM: {serial}", "ATTLOGStamp={stamp}", "OPERLOGStamp=0", "ATTPHOTOStamp=0",
                 "ErrorDelay=1", "Delay=1", "TransTimes=00:00;14:05", "TransInterval=1",
                 "TransFlag=TransData AttLog\tOpLog\tEnrollUser\tChgUser", "TimeZone=8", "Realtime=1", "Encrypt=None",
                 "ServerVer=2.4.1", "PushProtVer=2.4.1"]


def _config(tmp_path: Path, **settings: Any) -> NodeConfig:
    return init_node(tmp_path / "bj01", "BJ01", "北京海淀校区", admin_password=ADMIN_PASSWORD,
                     devices_delay_seconds=1, devices_error_delay_seconds=1, devices_max_body_bytes=64 * 1024,
                     devices_people_sync_seconds=settings.pop("devices_people_sync_seconds", 3600), **settings)


@pytest.fixture
def config(tmp_path: Path) -> NodeConfig:
    return _config(tmp_path)


@pytest.fixture
def node(config: NodeConfig) -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(config)) as server:
        yield server


@contextmanager
def _staff(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as client:
        token = client.post("/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD})
        client.headers["Authorization"] = f"Bearer {token.json()['token']}"
        yield client


@pytest.fixture
def staff(node: BackgroundServer) -> Iterator[httpx.Client]:
    with _staff(node.url) as client:
        yield client


@pytest.fixture
def terminals(node: BackgroundServer) -> Iterator[list[Terminal]]:
    made: list[Terminal] = []
    yield made
    for terminal in made:
        terminal.close()


def _terminal(made: list[Terminal], url: str, serial: str, **settings: Any) -> Terminal:
    terminal = Terminal(url, serial, **settings)
    made.append(terminal)
    return terminal


def _approve(staff: httpx.Client, serial: str, name: str = "前台考勤机", **extra: Any) -> dict[str, Any]:
    answer = staff.post("/api/v1/devices", json={"serial": serial, "name": name, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _device(staff: httpx.Client, serial: str) -> dict[str, Any]:
    listed = {d["serial"]: d for d in staff.get("/api/v1/devices").json()["items"]}
    return staff.get(f"/api/v1/devices/{listed[serial]['id']}").json()


def _count(config: NodeConfig, sql: str, *params: Any) -> int:
    store = NodeStore(config.database_path, config.node_id)
    try:
        with store.read() as conn:
            return int(conn.exec_driver_sql(sql, params).scalar_one())
    finally:
        store.close()


def _head(config: NodeConfig) -> int:
    store = NodeStore(config.database_path, config.node_id)
    try:
        return store.head()[0]
    finally:
        store.close()


def _school_with_lesson_now(staff: httpx.Client, students: int) -> tuple[School, dict[str, Any], list[str]]:
    """Students in a class whose lesson began five minutes ago, each with a PIN."""
    school = set_up_school(staff, students=students)  # type: ignore[arg-type]
    starts = datetime.now(UTC) - timedelta(minutes=5)
    lesson = school.lesson(school.class_id, starts.isoformat(), (starts + timedelta(minutes=90)).isoformat())
    pins = [str(staff.post("/api/v1/devices/enrolments", json={"student_id": s["id"]}).json()["device_pin"])
            for s in school.students]
    return school, lesson, pins


def _local_now() -> datetime:
    return datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


# --- the handshake -------------------------------------------------------------------------------


def test_the_handshake_line_by_line_for_a_241_terminal_and_an_old_one(
        node: BackgroundServer, staff: httpx.Client, terminals: list[Terminal]) -> None:
    _approve(staff, "CN241"), _approve(staff, "OLD001", name="老考勤机")
    modern = _terminal(terminals, node.url, "CN241")
    old = _terminal(terminals, node.url, "OLD001", push_version=None)

    assert modern.handshake() and old.handshake()

    assert modern.last_text.splitlines() == [line.format(serial="CN241", stamp=0) for line in HANDSHAKE_241]
    assert old.last_text.splitlines() == [
        "GET OPTION FROM: OLD001", "Stamp=0", "OpStamp=0", "PhotoStamp=0",
        *[line for line in HANDSHAKE_241[4:]]]
    answer = httpx.get(f"{node.url}/iclock/cdata", params={"SN": "CN241", "options": "all", "pushver": "2.4.1"})
    assert answer.headers["content-type"].startswith("text/plain")
    assert int(answer.headers["content-length"]) == len(answer.content)
    dates = answer.headers.get_list("date")
    assert len(dates) == 1 and dates[0].endswith(" GMT")
    assert abs((email.utils.parsedate_to_datetime(dates[0]) - datetime.now(UTC)).total_seconds()) < 5
    assert _device(staff, "OLD001")["push_version"] is None and _device(staff, "CN241")["push_version"] == "2.4.1"


def test_every_iclock_answer_is_text_with_its_length(node: BackgroundServer, staff: httpx.Client) -> None:
    _approve(staff, "CNTXT")
    answers = [httpx.get(f"{node.url}/iclock/ping", params={"SN": "CNTXT"}),
               httpx.get(f"{node.url}/iclock/getrequest", params={"SN": "CNTXT"}),
               httpx.post(f"{node.url}/iclock/devicecmd", params={"SN": "CNTXT"}, content=b"ID=1&Return=0&CMD=DATA\n"),
               httpx.post(f"{node.url}/iclock/cdata", params={"SN": "CNTXT", "table": "options"},
                          content=b"~DeviceName=F22,FWVersion=Ver 6.60"),
               httpx.get(f"{node.url}/iclock/ping"),  # no serial number
               httpx.get(f"{node.url}/iclock/cdata.aspx", params={"SN": "CNTXT", "options": "all"})]

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 401, 200]
    assert [a.text for a in answers[:4]] == ["OK", "OK", "OK", "OK"]
    for answer in answers:
        assert answer.headers["content-type"].startswith("text/plain")
        assert int(answer.headers["content-length"]) == len(answer.content)
        assert len(answer.headers.get_list("date")) == 1
    assert _device(staff, "CNTXT")["info"]["DeviceName"] == "F22"


# --- punches -------------------------------------------------------------------------------------


def test_nine_punches_make_nine_marks_and_the_same_upload_again_makes_none(
        node: BackgroundServer, staff: httpx.Client, terminals: list[Terminal], config: NodeConfig) -> None:
    _, lesson, pins = _school_with_lesson_now(staff, 9)
    _approve(staff, "CN0001")
    terminal = _terminal(terminals, node.url, "CN0001")
    assert terminal.handshake()
    now = _local_now()
    for pin in pins:
        terminal.punch(pin, now)

    assert terminal.upload_once() == 9
    assert terminal.last_text == "OK: 9"
    marks = "select count(*) from attendance_marks where lesson_id = ? and source = 'kiosk'"
    assert _count(config, marks, lesson["id"]) == 9
    head = _head(config)

    terminal.confirmed_stamp = 0  # the answer was lost: it sends the same lines again
    assert terminal.upload_once() == 9
    assert terminal.last_text == "OK: 9"
    assert _count(config, marks, lesson["id"]) == 9
    assert _count(config, "select count(*) from device_punches") == 9
    assert _head(config) == head  # not one change more to replicate

    assert terminal.handshake()  # the node kept the stamp of the upload it stored
    assert terminal.last_text.splitlines()[1] == "ATTLOGStamp=9"
    device = _device(staff, "CN0001")
    queued = staff.post(f"/api/v1/devices/{device['id']}/commands", json={
        "kind": "query", "start": now.date().isoformat(), "end": now.date().isoformat()})
    assert queued.status_code == 201
    head = _head(config)  # queuing the command was audited
    assert any(c.startswith("DATA QUERY ATTLOG") for c in terminal.poll())  # it uploads the day again
    assert terminal.last_status == 200
    assert _count(config, marks, lesson["id"]) == 9 and _head(config) == head

    assert staff.post(f"/api/v1/devices/{device['id']}/commands", json={"kind": "check"}).status_code == 201
    head = _head(config)
    assert terminal.poll() == ["CHECK"]  # it uploads everything it holds again
    assert terminal.confirmed_stamp == 9
    assert _count(config, marks, lesson["id"]) == 9 and _head(config) == head
    assert _count(config, "select count(*) from device_punches") == 9


def test_pin_and_time_suffice_a_bad_line_is_skipped_and_an_unknown_pin_is_a_stray_punch(
        node: BackgroundServer, staff: httpx.Client, terminals: list[Terminal], config: NodeConfig) -> None:
    school, lesson, pins = _school_with_lesson_now(staff, 2)
    _approve(staff, "CN0002")
    terminal = _terminal(terminals, node.url, "CN0002")
    now = _local_now()
    body = (f"{pins[0]}\t{now:%Y-%m-%d %H:%M:%S}\n"
            "this is not a punch\n"
            f"{pins[1]}\t{now:%Y-%m-%d %H:%M:%S}\t0\t15\t0\t0\t0\t1\t36.6\n"
            f"99999\t{now:%Y-%m-%d %H:%M:%S}\t0\t1\n").encode()

    assert terminal.post_table("ATTLOG", body, stamp="4") == 4

    assert _count(config, "select count(*) from attendance_marks where lesson_id = ?", lesson["id"]) == 2
    device = _device(staff, "CN0002")
    assert device["malformed_lines"] == 1 and device["last_malformed"] == "this is not a punch"
    day = staff.get("/api/v1/devices/punches").json()["items"]
    assert sorted((p["pin"], p["kind"]) for p in day) == sorted([(pins[0], "student"), (pins[1], "student"),
                                                                 ("99999", "stray")])
    stray = next(p for p in day if p["kind"] == "stray")
    assert stray["mark_id"] is None and stray["student_id"] is None
    masked = next(p for p in day if p["pin"] == pins[1])
    assert masked["verify"] == "15" and masked["extra"] == '["0", "0", "1", "36.6"]'
    local = now.replace(tzinfo=SHANGHAI)
    assert stray["punched_at"] == local.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    assert stray["local_time"] == f"{now:%Y-%m-%d %H:%M:%S}"
    assert school.students  # both students' check-ins matched their lesson


def test_a_check_in_outside_any_lesson_is_a_stray_check_in_and_a_check_out_no_mark(
        node: BackgroundServer, staff: httpx.Client, terminals: list[Terminal], config: NodeConfig) -> None:
    _, lesson, pins = _school_with_lesson_now(staff, 1)
    _approve(staff, "CN0003")
    terminal = _terminal(terminals, node.url, "CN0003")
    assert terminal.handshake()
    terminal.punch(pins[0], _local_now() - timedelta(days=3))  # no lesson then
    terminal.punch(pins[0], _local_now(), status="1")  # checking out

    assert terminal.upload_once() == 2

    assert _count(config, "select count(*) from attendance_marks where lesson_id is null") == 1
    assert _count(config, "select count(*) from attendance_marks where lesson_id = ?", lesson["id"]) == 0
    assert _count(config, "select count(*) from device_punches") == 2


def test_staff_clock_ins_never_touch_students_hours(
        node: BackgroundServer, staff: httpx.Client, terminals: list[Terminal], config: NodeConfig) -> None:
    school, _, _ = _school_with_lesson_now(staff, 1)
    given = staff.post("/api/v1/devices/staff-pins", json={"user_id": school.teachers[0]})
    assert given.status_code == 201
    pin = str(given.json()["pin"])
    _approve(staff, "CN0004")
    terminal = _terminal(terminals, node.url, "CN0004")
    terminal.handshake()
    marks = _count(config, "select count(*) from attendance_marks")

    terminal.punch(pin, _local_now())
    assert terminal.upload_once() == 1

    assert _count(config, "select count(*) from attendance_marks") == marks
    punch = staff.get("/api/v1/devices/punches").json()["items"][0]
    assert (punch["kind"], punch["user_id"], punch["student_id"], punch["mark_id"]) == (
        "staff", school.teachers[0], None, None)
    assert [p["pin"] for p in staff.get("/api/v1/devices/staff-pins").json()["items"]] == [int(pin)]


def test_names_go_out_and_come_in_as_gb18030_or_utf8_per_terminal(
        node: BackgroundServer, staff: httpx.Client, terminals: list[Terminal]) -> None:
    chinese = _terminal(terminals, node.url, "CNZH01", language="83")
    english = _terminal(terminals, node.url, "CNEN01", language="69")
    assert not chinese.handshake() and not english.handshake()  # unknown: pending, with their language
    _approve(staff, "CNZH01"), _approve(staff, "CNEN01")
    student = staff.post("/api/v1/students", json={"name": "欧阳娜娜", "phone": "13900001111"}).json()
    enrolled = staff.post("/api/v1/devices/enrolments", json={"student_id": student["id"]})
    assert enrolled.status_code == 201
    pin = str(enrolled.json()["device_pin"])

    for terminal, charset in ((chinese, "gb18030"), (english, "utf-8")):
        assert terminal.handshake()
        terminal.poll()
        raw = terminal.commands_response
        assert raw is not None and raw.headers["content-type"] == f"text/plain; charset={charset}"
        assert "Name=欧阳娜娜".encode(charset) in raw.content
        assert terminal.users == {pin: "欧阳娜娜"}
        assert terminal.upload_users({pin: "欧阳娜娜", "1": "管理员"}) == 2
        device = _device(staff, terminal.serial)
        assert device["charset"] == charset
        assert {u["pin"]: u["reported_name"] for u in device["users"]} == {pin: "欧阳娜娜", "1": "管理员"}
        assert next(u for u in device["users"] if u["pin"] == "1")["kind"] == "other"  # its own admin, untouched

    _approve(staff, "CNZH02")  # approved before it ever called: its first handshake's language decides
    assert _device(staff, "CNZH02")["charset"] == ""
    assert _terminal(terminals, node.url, "CNZH02", language="83").handshake()
    assert _device(staff, "CNZH02")["charset"] == "gb18030"


# --- refusals ------------------------------------------------------------------------------------


def test_an_unknown_serial_gets_no_options_stores_nothing_and_waits_as_pending(
        node: BackgroundServer, staff: httpx.Client, terminals: list[Terminal], config: NodeConfig) -> None:
    _, _, pins = _school_with_lesson_now(staff, 1)
    stranger = _terminal(terminals, node.url, "STRANGER1")
    stranger.punch(pins[0], _local_now())
    head = _head(config)

    assert not stranger.handshake()
    assert stranger.last_status == 401 and "ATTLOGStamp" not in stranger.last_text
    assert stranger.upload_once() is None and stranger.last_status == 401
    assert stranger.poll() == [] and stranger.last_status == 401

    assert _count(config, "select count(*) from attendance_marks") == 0
    assert _count(config, "select count(*) from device_punches") == 0
    assert _head(config) == head
    pending = _device(staff, "STRANGER1")
    assert (pending["status"], pending["last_address"], pending["first_address"]) == ("pending", "127.0.0.1",
                                                                                       "127.0.0.1")
    assert pending["commands"] == []  # a pending terminal is not given the campus's people


def test_a_revoked_terminal_gets_nothing_and_is_listed_as_revoked(
        node: BackgroundServer, staff: httpx.Client, terminals: list[Terminal], config: NodeConfig) -> None:
    _, _, pins = _school_with_lesson_now(staff, 1)
    device = _approve(staff, "CN0005")
    terminal = _terminal(terminals, node.url, "CN0005")
    assert terminal.handshake()
    assert staff.post(f"/api/v1/devices/{device['id']}/revoke").status_code == 200
    terminal.punch(pins[0], _local_now())

    assert not terminal.handshake() and terminal.last_status == 401
    assert terminal.upload_once() is None
    assert _count(config, "select count(*) from device_punches") == 0
    shown = _device(staff, "CN0005")
    assert shown["status"] == "revoked"
    assert {c["state"] for c in shown["commands"]} == {"cancelled"}  # its queue went with it


def test_a_body_above_the_limit_is_refused(node: BackgroundServer, staff: httpx.Client, config: NodeConfig) -> None:
    _approve(staff, "CN0006")
    line = b"1001\t2026-12-04 08:00:00\t0\t1\t0\n"
    body = line * (64 * 1024 // len(line) + 1)

    answer = httpx.post(f"{node.url}/iclock/cdata", params={"SN": "CN0006", "table": "ATTLOG", "Stamp": "1"},
                        content=body)

    assert answer.status_code == 413 and answer.headers["content-type"].startswith("text/plain")
    assert _count(config, "select count(*) from device_punches") == 0


def test_a_name_with_a_tab_or_newline_cannot_inject_a_second_command(
        node: BackgroundServer, staff: httpx.Client, terminals: list[Terminal]) -> None:
    _approve(staff, "CN0007")
    evil = staff.post("/api/v1/students", json={"name": "王\tPri=14\nC:99:SHELL reboot\r", "phone": "13900002222"})
    assert evil.status_code == 201, evil.text
    enrolled = staff.post("/api/v1/devices/enrolments", json={"student_id": evil.json()["id"]}).json()
    terminal = _terminal(terminals, node.url, "CN0007")
    terminal.handshake()

    raw = httpx.get(f"{node.url}/iclock/getrequest", params={"SN": "CN0007"}).text
    lines = raw.splitlines()
    assert len(lines) == 1 and lines[0].startswith("C:") and "SHELL" not in lines[0].split(":", 2)[2].split("\t")[0]
    command = lines[0].split(":", 2)[2]
    assert command.split("\t") == [f"DATA UPDATE USERINFO PIN={enrolled['device_pin']}",
                                   "Name=王Pri=14C:99:SHELL rebo", "Pri=0"]  # cleaned, then cut to 24 bytes


def test_requests_above_the_rate_are_refused_and_a_pinned_terminal_only_answers_from_its_address(
        tmp_path: Path) -> None:
    config = _config(tmp_path, devices_requests_per_minute=5)
    with BackgroundServer(create_app(config)) as node, _staff(node.url) as staff:
        _approve(staff, "CNRATE")
        statuses = [httpx.get(f"{node.url}/iclock/ping", params={"SN": "CNRATE"}).status_code for _ in range(7)]
        assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]

        pinned = _approve(staff, "CNPIN", pinned_address="10.1.2.3")
        refused = httpx.post(f"{node.url}/iclock/cdata", params={"SN": "CNPIN", "table": "ATTLOG"},
                             content=b"1001\t2026-12-04 08:00:00\n")
        assert refused.status_code == 403
        assert _count(config, "select count(*) from device_punches") == 0
        staff.patch(f"/api/v1/devices/{pinned['id']}", json={"pinned_address": "127.0.0.1"}).raise_for_status()
        assert httpx.post(f"{node.url}/iclock/cdata", params={"SN": "CNPIN", "table": "ATTLOG"},
                          content=b"1001\t2026-12-04 08:00:00\n").text == "OK: 1"


# --- people on the terminals ---------------------------------------------------------------------


def test_an_enrolled_student_is_queued_to_every_approved_terminal_return_0_clears_it_and_a_failure_stays(
        node: BackgroundServer, staff: httpx.Client, terminals: list[Terminal]) -> None:
    waiting = _terminal(terminals, node.url, "CNWAIT")
    assert not waiting.handshake()  # pending: never given anyone
    _approve(staff, "CNGOOD"), _approve(staff, "CNBAD", name="三楼考勤机")
    student = staff.post("/api/v1/students", json={"name": "李雷", "phone": "13900003333"}).json()

    enrolled = staff.post("/api/v1/devices/enrolments", json={"student_id": student["id"]}).json()
    pin = str(enrolled["device_pin"])
    assert staff.get(f"/api/v1/students/{student['id']}").json()["device_pin"] == int(pin)

    for serial in ("CNGOOD", "CNBAD"):
        assert [(c["command"], c["state"]) for c in _device(staff, serial)["commands"]] == [
            (f"DATA UPDATE USERINFO PIN={pin}\tName=李雷\tPri=0", "queued")]
    assert _device(staff, "CNWAIT")["commands"] == []
    good = _terminal(terminals, node.url, "CNGOOD")
    bad = _terminal(terminals, node.url, "CNBAD", failing_pins={pin})
    good.handshake(), bad.handshake()

    good.poll(), bad.poll()

    done = _device(staff, "CNGOOD")
    assert [(c["state"], c["return_code"]) for c in done["commands"]] == [("done", 0)]
    assert [(u["pin"], u["state"]) for u in done["users"]] == [(pin, "present")]
    assert good.users == {pin: "李雷"}
    failed = _device(staff, "CNBAD")
    assert [(c["state"], c["return_code"]) for c in failed["commands"]] == [("failed", -1002)]
    assert failed["failed"] == 1 and failed["queued"] == 0
    bad.poll()  # nothing is sent again by itself, and the failure stays listed
    assert bad.executed == [f"DATA UPDATE USERINFO PIN={pin}\tName=李雷\tPri=0"]
    assert staff.post("/api/v1/devices/sync").json()["updates_queued"] == 0
    assert [c["state"] for c in _device(staff, "CNBAD")["commands"]] == ["failed"]

    retried = staff.post(f"/api/v1/devices/commands/{failed['commands'][0]['id']}/retry")
    assert retried.status_code == 201
    bad.failing_pins.clear()
    bad.poll()
    assert sorted(c["state"] for c in _device(staff, "CNBAD")["commands"]) == ["done", "retried"]

    assert staff.post(f"/api/v1/students/{student['id']}/withdraw").status_code == 200
    assert staff.post("/api/v1/devices/sync").json()["deletions_queued"] == 2
    good.poll(), bad.poll()
    assert good.users == {} and bad.users == {}
    assert [u["state"] for u in _device(staff, "CNGOOD")["users"]] == ["deleted"]


def test_the_terminal_polls_every_delay_and_the_node_keeps_its_users_up_to_date_by_itself(tmp_path: Path) -> None:
    config = _config(tmp_path, devices_people_sync_seconds=1)
    with BackgroundServer(create_app(config)) as node, _staff(node.url) as staff:
        _approve(staff, "CNLOOP")
        terminal = Terminal(node.url, "CNLOOP")
        stop = threading.Event()
        running = threading.Thread(target=terminal.run, args=(stop,))
        running.start()
        try:
            student = staff.post("/api/v1/students", json={"name": "韩梅梅", "phone": "13900004444"}).json()
            deadline = time.monotonic() + 20
            while not terminal.users and time.monotonic() < deadline:
                time.sleep(0.2)
            pin = str(staff.get(f"/api/v1/students/{student['id']}").json()["device_pin"])
            assert terminal.users == {pin: "韩梅梅"}
            assert terminal.delay == 1.0
            terminal.punch(pin, _local_now())
            deadline = time.monotonic() + 20
            while terminal.pending() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert terminal.pending() == []
        finally:
            stop.set()
            running.join(timeout=30)
            terminal.close()
        assert _count(config, "select count(*) from device_punches where pin = ?", pin) == 1


# --- the devices port ----------------------------------------------------------------------------


def test_the_devices_port_answers_terminals_and_nothing_else(tmp_path: Path) -> None:
    config = _config(tmp_path)
    port, devices_port = free_port(), free_port()
    with BackgroundNodeServers(create_app(config), port, devices_port) as servers, _staff(servers.url) as staff:
        _approve(staff, "CNPORT")
        on_devices_port = Terminal(servers.devices_url, "CNPORT")
        on_node_port = Terminal(servers.url, "CNPORT")
        try:
            assert on_devices_port.handshake() and on_node_port.handshake()
            on_devices_port.punch("1001", _local_now())
            assert on_devices_port.upload_once() == 1
        finally:
            on_devices_port.close(), on_node_port.close()
        for path in ("/api/v1/devices", "/healthz", "/devices", "/login"):
            refused = httpx.get(f"{servers.devices_url}{path}", headers=staff.headers)
            assert refused.status_code == 404 and refused.headers["content-type"].startswith("text/plain")
        assert staff.get("/api/v1/devices").status_code == 200


# --- photos --------------------------------------------------------------------------------------


def test_a_punch_photo_is_kept_with_its_punch(node: BackgroundServer, staff: httpx.Client,
                                              terminals: list[Terminal], config: NodeConfig) -> None:
    _approve(staff, "CNPHOTO")
    terminal = _terminal(terminals, node.url, "CNPHOTO")
    now = _local_now()
    terminal.punch("1001", now)
    terminal.handshake(), terminal.upload_once()
    photo = f"PIN={now:%Y%m%d%H%M%S}-1001.jpg\nSN=CNPHOTO\nsize=5\nCMD=uploadphoto".encode() + b"\x00\xff\xd8JPG"

    assert terminal.post_table("ATTPHOTO", photo, stamp="7") == 0
    assert terminal.post_table("ATTPHOTO", photo, stamp="7") == 0  # sent again: kept once

    assert _count(config, "select count(*) from device_photos p join device_punches d on d.id = p.punch_id") == 1
    assert _device(staff, "CNPHOTO")["photo_stamp"] == "7"
