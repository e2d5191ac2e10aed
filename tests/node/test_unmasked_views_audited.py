"""Every view of a lead or a student with its phone or ID number in full is audited: who saw whose
record and which fields (never their values), on the detail screens and the API; a viewer who sees
them masked, and the lists, leave no such event."""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import TestClient


def _user(admin: TestClient, username: str, role: str) -> dict[str, str]:
    made = admin.post("/api/v1/users", json={"username": username, "display_name": username,
                                             "password": f"{username}-pass-1", "roles": [{"role": role}]})
    assert made.status_code == 201, made.text
    answer = admin.post("/api/v1/auth/token", json={"username": username, "password": f"{username}-pass-1"})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _views(admin: TestClient) -> list[tuple[Any, ...]]:
    events = admin.get("/api/v1/audit", params={"action": "personal_data_viewed"}).json()["items"]
    return [(e["username"], e["target_table"], e["target_id"], json.loads(e["after"])) for e in events]


def _student(admin: TestClient) -> dict[str, Any]:
    made = admin.post("/api/v1/students", json={
        "name": "钱小明", "phone": "13800138077", "id_number": "110105201001011234",
        "guardians": [{"name": "钱大伟", "relation": "父亲", "phone": "13900139000"}]})
    assert made.status_code == 201, made.text
    return made.json()


def test_a_finance_user_reading_a_student_in_full_is_audited_with_the_fields_shown(node_client: TestClient) -> None:
    student = _student(node_client)
    finance = _user(node_client, "finance8", "finance")

    seen = node_client.get(f"/api/v1/students/{student['id']}", headers=finance).json()

    assert seen["id_number"] == "110105201001011234"
    assert _views(node_client) == [("finance8", "students", student["id"], {
        "number": student["number"], "fields": ["phone", "guardians.phone", "id_number"]})]


def test_a_teacher_who_sees_a_student_masked_and_the_lists_leave_no_view_event(node_client: TestClient) -> None:
    student = _student(node_client)
    teacher = _user(node_client, "teacher7", "teacher")

    seen = node_client.get(f"/api/v1/students/{student['id']}", headers=teacher).json()
    node_client.get("/api/v1/students")
    node_client.get("/students")
    node_client.get("/api/v1/leads")

    assert (seen["phone"], seen["id_number"]) == ("138****8077", "110105********1234")
    assert _views(node_client) == []


def test_each_showing_of_the_student_detail_screen_records_one_view_event(node_client: TestClient) -> None:
    student = _student(node_client)

    for _ in range(2):
        assert node_client.get(f"/students/{student['id']}").status_code == 200

    assert _views(node_client) == [("admin", "students", student["id"], {
        "number": student["number"], "fields": ["phone", "guardians.phone", "id_number"]})] * 2


def test_a_lead_shown_in_full_on_its_screen_and_by_the_api_is_audited_as_its_phone(node_client: TestClient) -> None:
    lead = node_client.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"}).json()

    assert node_client.get(f"/leads/{lead['id']}").status_code == 200
    assert node_client.get(f"/api/v1/leads/{lead['id']}").json()["phone"] == "13800138000"

    assert _views(node_client) == [("admin", "leads", lead["id"], {"number": lead["number"], "fields": ["phone"]})] * 2
