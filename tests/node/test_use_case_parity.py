"""The rules live in the use cases: the screens, the API and the CLI write the same audit events,
see the same visibility, and mean the campus's day by "today"."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from campus.node.app import create_app
from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.schema.tables import audit_events, lead_history
from tests.conftest import sign_in
from tests.node.teaching_helpers import set_up_school


def _csrf(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def _audit_actions(config: NodeConfig) -> list[tuple[str, str | None]]:
    store = NodeStore(config.database_path, config.node_id)
    try:
        with store.read() as conn:
            return [(r.action, r.username) for r in conn.execute(
                select(audit_events.c.action, audit_events.c.username).order_by(audit_events.c.at,
                                                                                 audit_events.c.id))]
    finally:
        store.close()


def _price_and_student(client: TestClient) -> tuple[str, str]:
    item = client.post("/api/v1/price-list/items", json={"grade": "初二", "subject": "数学", "level": "提高",
                                                         "delivery": "small_class", "unit_price_fen": 18000}).json()
    product = client.post("/api/v1/price-list/products", json={
        "code": "MATH8-10", "name": "初二数学 10 课时", "price_item_id": item["id"], "hours_x100": 1000}).json()
    student = client.post("/api/v1/students", json={"name": "王小明", "phone": "13800138000"}).json()
    return product["id"], student["id"]


def test_signing_and_changing_a_contract_on_the_screens_writes_the_audit_events_the_api_writes(
        node_client: TestClient, node_config: NodeConfig) -> None:
    product_id, student_id = _price_and_student(node_client)
    token = _csrf(node_client, f"/students/{student_id}")

    through_api = node_client.post("/api/v1/contracts", json={"student_id": student_id,
                                                               "lines": [{"product_id": product_id}]}).json()
    node_client.post(f"/api/v1/contracts/{through_api['id']}/changes",
                     json={"kind": "extend", "expires_on": "2030-01-01"})
    signed = node_client.post(f"/students/{student_id}/contracts", data={"csrf_token": token,
                                                                         "product_id": product_id})
    contract_path = str(signed.url.path)
    assert contract_path.startswith("/contracts/") and "flash-error" not in signed.text
    changed = node_client.post(f"{contract_path}/changes", data={"csrf_token": token, "kind": "extend",
                                                                  "expires_on": "2030-01-01"})
    assert "flash-error" not in changed.text

    actions = [a for a, _ in _audit_actions(node_config) if a.startswith("contract_")]
    assert actions == ["contract_signed", "contract_extend", "contract_signed", "contract_extend"]


def test_importing_leads_from_the_command_line_is_audited_like_the_screen(node_config: NodeConfig,
                                                                          tmp_path: Path) -> None:
    NodeStore(node_config.database_path, node_config.node_id).close()
    sheet = tmp_path / "leads.csv"
    sheet.write_text("姓名,手机\n张伟,13800138000\n李娜,13900139000\n", encoding="utf-8")

    done = subprocess.run([sys.executable, "-m", "campus", "import", "leads", str(sheet), "--dir",
                           str(node_config.directory)], capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    imported = [(a, u) for a, u in _audit_actions(node_config) if a == "leads_imported"]
    assert len(imported) == 1 and imported[0][1].startswith("cli:")


def _consultant(client: TestClient, name: str) -> dict:
    user = client.post("/api/v1/users", json={"username": name, "display_name": name, "password": f"{name}-pass-1",
                                              "roles": [{"role": "consultant"}]})
    assert user.status_code == 201, user.text
    return user.json()


def test_the_api_refuses_a_deposit_on_another_consultants_private_lead_and_records_who_took_it(
        node_config: NodeConfig) -> None:
    with TestClient(create_app(node_config), raise_server_exceptions=False) as admin, \
            TestClient(create_app(node_config), raise_server_exceptions=False) as other:
        sign_in(admin)
        owner = _consultant(admin, "wang")
        _consultant(admin, "li")
        lead = admin.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"}).json()
        sign_in(admin, "wang", "wang-pass-1")
        assert admin.post(f"/api/v1/leads/{lead['id']}/claim").json()["pool"] == "private"
        sign_in(other, "li", "li-pass-1")

        refused = other.post("/api/v1/deposits", json={"lead_id": lead["id"], "amount_fen": 50000,
                                                       "fund_account": "cash"})
        taken = admin.post("/api/v1/deposits", json={"lead_id": lead["id"], "amount_fen": 50000,
                                                     "fund_account": "cash"})

    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "private pool" in refused.json()["detail"]
    assert taken.status_code == 201, taken.text
    store = NodeStore(node_config.database_path, node_config.node_id)
    try:
        with store.read() as conn:
            moves = conn.execute(select(lead_history.c.kind, lead_history.c.by_user_id).where(
                lead_history.c.lead_id == lead["id"]).order_by(lead_history.c.at)).all()
    finally:
        store.close()
    assert [tuple(m) for m in moves] == [("claim", owner["id"]), ("deposit", owner["id"])]
    deposits = [(a, u) for a, u in _audit_actions(node_config) if a == "deposit_taken"]
    assert deposits == [("deposit_taken", "wang")]


def test_a_roll_call_asking_to_confirm_without_the_permission_is_refused_not_reported_confirmed(
        node_client: TestClient) -> None:
    school = set_up_school(node_client, students=1)
    lesson = school.lesson(school.class_id, "2026-12-01T11:00:00Z", "2026-12-01T12:30:00Z")
    school.post("/api/v1/users", {"username": "desk", "display_name": "前台小李", "password": "desk-pass-1",
                                  "roles": [{"role": "front_desk"}]})
    page = node_client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    del node_client.headers["Authorization"]
    node_client.post("/login", data={"csrf_token": token, "username": "desk", "password": "desk-pass-1"})
    token = _csrf(node_client, f"/lessons/{lesson['id']}")
    student_id = school.students[0]["id"]

    answer = node_client.post(f"/lessons/{lesson['id']}/marks", data={
        "csrf_token": token, f"mark-{student_id}": "present", "confirm": "1"})

    assert "课时已确认" not in answer.text and "Attendance confirmed" not in answer.text
    assert "无权确认课时" in answer.text
    sign_in(node_client)
    seats = node_client.get(f"/api/v1/lessons/{lesson['id']}").json()["attendance"]
    assert [s["mark"] for s in seats] == [None]  # nothing of the refused roll call was kept
    assert school.account(school.students[0])["remaining"]["hours_x100"] == 2000


def test_a_lesson_at_seven_in_beijing_is_on_the_same_day_in_the_api_and_on_the_schedule(
        node_client: TestClient) -> None:
    school = set_up_school(node_client, students=1)
    early = school.lesson(school.class_id, "2026-12-02T23:00:00Z", "2026-12-03T00:30:00Z")  # 07:00 on 3 Dec

    listed = node_client.get("/api/v1/lessons", params={"date": "2026-12-03"}).json()["items"]
    day_before = node_client.get("/api/v1/lessons", params={"date": "2026-12-02"}).json()["items"]
    screen = node_client.get("/schedule", params={"day": "2026-12-03"}).text

    assert [lesson["id"] for lesson in listed] == [early["id"]]
    assert day_before == []
    assert f'/lessons/{early["id"]}' in screen and "07:00" in screen


def test_today_is_the_campus_day_from_its_clock_not_the_servers_date(node_config: NodeConfig) -> None:
    late_evening_utc = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)  # already 3 December in Beijing
    with TestClient(create_app(node_config, clock=lambda: late_evening_utc),
                    raise_server_exceptions=False) as client:
        sign_in(client)
        school = set_up_school(client, students=1)
        early = school.lesson(school.class_id, "2026-12-02T23:00:00Z", "2026-12-03T00:30:00Z")

        today = client.get("/api/v1/lessons").json()["items"]
        schedule = client.get("/schedule").text

    assert [lesson["id"] for lesson in today] == [early["id"]]
    assert "2026-12-03" in schedule and f'/lessons/{early["id"]}' in schedule


def test_the_lead_list_shows_channel_labels_in_chinese_never_the_stored_codes(node_client: TestClient) -> None:
    lead = node_client.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000", "channel": "转介绍"}).json()
    node_client.post("/api/v1/leads", json={"name": "李娜", "phone": "13900139000", "channel": "到访"})

    listing = node_client.get("/leads").text
    detail = node_client.get(f"/leads/{lead['id']}").text

    assert lead["channel"] == "referral"  # stored as its code
    assert "<td>转介绍</td>" in listing and "<td>到访</td>" in listing
    assert ">referral<" not in listing and ">walk-in<" not in listing
    assert "<dd>转介绍</dd>" in detail and '<option value="call">电话</option>' in detail


def test_a_status_move_the_student_cannot_make_is_a_409_naming_the_status_not_a_500(node_client: TestClient) -> None:
    student = node_client.post("/api/v1/students", json={"name": "王小明", "phone": "13800138000"}).json()

    refused = node_client.post(f"/api/v1/students/{student['id']}/readmit")

    assert refused.status_code == 409, refused.text
    assert refused.json()["student_status"] == "pending" and refused.json()["status"] == 409
