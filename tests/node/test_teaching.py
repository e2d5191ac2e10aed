"""Scheduling with conflict checks, leave, make-up, transfer, confirmation and deduction."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from campus.node.store import NodeStore
from tests.node.teaching_helpers import School, set_up_school

DAY = "2030-01-08"  # a Tuesday


@pytest.fixture
def school(node_client: TestClient) -> School:
    return set_up_school(node_client)


def _snapshot(store: NodeStore) -> tuple[int, int, int]:
    with store.read() as conn:
        lessons = conn.exec_driver_sql("select count(*) from lessons").scalar_one()
        seats = conn.exec_driver_sql("select count(*) from lesson_students").scalar_one()
    return lessons, seats, store.head()[0]


def test_back_to_back_lessons_share_teacher_room_and_students(school: School) -> None:
    school.lesson(school.class_id, f"{DAY}T18:00:00+08:00", f"{DAY}T19:00:00+08:00")
    school.lesson(school.class_id, f"{DAY}T19:00:00+08:00", f"{DAY}T20:00:00+08:00")  # starts as the first ends


@pytest.mark.parametrize(("clash", "other_class"), [("teacher", {"teacher": 0, "room": 1}),
                                                    ("room", {"teacher": 1, "room": 0})])
def test_a_teacher_or_room_in_two_lessons_at_once_is_refused_naming_the_clash(
        school: School, node_store: NodeStore, clash: str, other_class: dict[str, int]) -> None:
    school.lesson(school.class_id, f"{DAY}T19:00:00+08:00", f"{DAY}T20:30:00+08:00")
    other = school.new_class("另一个班", **other_class)
    before = _snapshot(node_store)

    refused = school.lesson(other, f"{DAY}T20:00:00+08:00", f"{DAY}T21:00:00+08:00", status=409)

    assert refused["clashes"][0]["kind"] == clash
    assert clash in refused["detail"]
    assert _snapshot(node_store) == before


def test_a_student_in_two_lessons_at_once_is_refused(school: School, node_store: NodeStore) -> None:
    school.lesson(school.class_id, f"{DAY}T19:00:00+08:00", f"{DAY}T20:30:00+08:00")
    other = school.new_class("一对一", teacher=1, room=1)
    student = school.students[0]
    school.post(f"/api/v1/classes/{other}/enrolments", {"student_id": student["id"], "line_id": student["line_id"],
                                                        "joined_on": "2026-01-01"})
    before = _snapshot(node_store)

    refused = school.lesson(other, f"{DAY}T20:29:00+08:00", f"{DAY}T21:30:00+08:00", status=409)

    assert refused["clashes"] == [{"kind": "student", "id": student["id"], "lesson_id": refused["clashes"][0]
                                  ["lesson_id"], "starts_at": "2030-01-08T11:00:00Z"}]
    assert _snapshot(node_store) == before


def test_every_tuesday_and_thursday_for_twelve_weeks_books_24_lessons_or_none(school: School,
                                                                              node_store: NodeStore) -> None:
    body = {"weekdays": ["tue", "thu"], "start": "19:00", "end": "20:30", "first_date": DAY, "weeks": 12}
    made = school.post(f"/api/v1/classes/{school.class_id}/schedules", body)
    assert made["count"] == 24
    assert made["lessons"][0]["starts_at"] == "2030-01-08T11:00:00Z"
    assert made["lessons"][1]["starts_at"] == "2030-01-10T11:00:00Z"

    other = school.new_class("另一个班", teacher=0, room=1)
    before = _snapshot(node_store)
    later = (date.fromisoformat(DAY) + timedelta(weeks=11)).isoformat()
    refused = school.post(f"/api/v1/classes/{other}/schedules", {**body, "first_date": later, "weeks": 4}, 409)
    assert refused["clashes"][0]["kind"] == "teacher"
    assert _snapshot(node_store) == before  # the lessons before the clash were not kept either


def _lesson_with_marks(school: School, marks: list[str]) -> str:
    lesson = school.lesson(school.class_id, f"{DAY}T19:00:00+08:00", f"{DAY}T20:30:00+08:00")
    for student, mark in zip(school.students, marks, strict=True):
        if mark == "leave":
            school.post(f"/api/v1/lessons/{lesson['id']}/leave", {"student_id": student["id"], "reason": "发烧"})
        elif mark:
            school.post(f"/api/v1/lessons/{lesson['id']}/marks", {"student_id": student["id"], "mark": mark})
    return lesson["id"]


def _ledger_explains(account: dict) -> None:
    for line in account["lines"]:
        assert line["balance"]["hours_x100"] == sum(e["hours_x100"] for e in line["entries"])
        assert line["balance"]["value_fen"] == sum(e["value_fen"] for e in line["entries"])


def test_confirmation_deducts_present_and_absent_but_not_leave(school: School) -> None:
    lesson_id = _lesson_with_marks(school, ["present", "leave"])
    school.students.append(school.students[0])  # (the same account, read twice below)

    confirmed = school.post(f"/api/v1/lessons/{lesson_id}/confirm")["confirmed"]

    assert sorted((c["mark"], c["hours_x100"]) for c in confirmed) == [("leave", 0), ("present", 150)]
    present, on_leave = school.account(school.students[0]), school.account(school.students[1])
    assert present["remaining"]["hours_x100"] == 2000 - 150
    assert present["remaining"]["value_fen"] == 400000 - 30000
    assert on_leave["remaining"]["hours_x100"] == 2000
    consumed = [e for e in present["lines"][0]["entries"] if e["kind"] == "consumed"]
    assert consumed[0]["cause_table"] == "attendance_confirmations"
    _ledger_explains(present)
    again = school.post(f"/api/v1/lessons/{lesson_id}/confirm")["confirmed"]
    assert again == []  # confirming twice deducts once


def test_an_unmarked_student_is_confirmed_absent_and_deducted(school: School) -> None:
    lesson_id = _lesson_with_marks(school, ["present", None])
    school.post(f"/api/v1/lessons/{lesson_id}/confirm")
    shown = school.client.get(f"/api/v1/lessons/{lesson_id}").json()
    assert sorted(a["confirmed_mark"] for a in shown["attendance"]) == ["absent", "present"]
    assert school.account(school.students[1])["remaining"]["hours_x100"] == 2000 - 150


def test_reconfirmation_reverses_and_reposts_and_the_ledger_still_explains_the_balance(school: School) -> None:
    lesson_id = _lesson_with_marks(school, ["present", "present"])
    school.post(f"/api/v1/lessons/{lesson_id}/confirm")
    student = school.students[0]

    changed = school.post(f"/api/v1/lessons/{lesson_id}/reconfirm", {
        "student_id": student["id"], "mark": "leave", "reason": "家长事先请过假，前台漏记"})
    assert (changed["mark"], changed["hours_x100"]) == ("leave", 0)
    account = school.account(student)
    assert account["remaining"]["hours_x100"] == 2000
    assert account["remaining"]["value_fen"] == 400000
    kinds = [e["kind"] for e in account["lines"][0]["entries"]]
    assert kinds == ["purchased", "consumed", "reversal"]
    _ledger_explains(account)

    school.post(f"/api/v1/lessons/{lesson_id}/reconfirm", {"student_id": student["id"], "mark": "late",
                                                          "reason": "其实来了，迟到"})
    account = school.account(student)
    assert account["remaining"]["hours_x100"] == 2000 - 150
    assert [e["kind"] for e in account["lines"][0]["entries"]] == ["purchased", "consumed", "reversal", "consumed"]
    _ledger_explains(account)
    audit = school.client.get("/api/v1/audit", params={"action": "attendance_changed"}).json()["items"]
    assert len(audit) == 2 and audit[0]["client_ip"]

    no_reason = school.client.post(f"/api/v1/lessons/{lesson_id}/reconfirm",
                                   json={"student_id": student["id"], "mark": "present", "reason": ""})
    assert no_reason.status_code == 422


def test_deduction_beyond_the_hours_left_is_refused_and_nothing_is_written(node_client: TestClient,
                                                                          node_store: NodeStore) -> None:
    school = set_up_school(node_client, students=1, hours_x100=100)  # one hour left, lessons take 1.5
    lesson = school.lesson(school.class_id, f"{DAY}T19:00:00+08:00", f"{DAY}T20:30:00+08:00")
    school.post(f"/api/v1/lessons/{lesson['id']}/marks", {"student_id": school.students[0]["id"], "mark": "present"})
    before = _snapshot(node_store)
    refused = school.post(f"/api/v1/lessons/{lesson['id']}/confirm", status=409)
    assert "学员0" in refused["detail"] and refused["remaining_hours_x100"] == 100
    assert _snapshot(node_store) == before


def test_makeup_lesson_and_class_transfer_keep_their_history(school: School) -> None:
    missed = _lesson_with_marks(school, ["leave", "present"])
    student = school.students[0]
    makeup = school.post(f"/api/v1/lessons/{missed}/makeups", {
        "student_id": student["id"], "starts_at": "2030-01-12T10:00:00+08:00", "ends_at": "2030-01-12T11:30:00+08:00",
        "teacher_id": school.teachers[1]})
    assert makeup["kind"] == "makeup" and makeup["makeup_for_lesson_id"] == missed
    assert [a["student_id"] for a in school.client.get(f"/api/v1/lessons/{makeup['id']}").json()["attendance"]] \
        == [student["id"]]

    later = school.lesson(school.class_id, "2030-01-15T19:00:00+08:00", "2030-01-15T20:30:00+08:00")
    other = school.new_class("初二数学周末班", teacher=1, room=1)
    moved = school.post(f"/api/v1/enrolments/{student['enrolment']['id']}/transfer",
                        {"to_class_id": other, "on": "2030-01-14", "reason": "周二晚上要上钢琴课"})
    assert moved["class_id"] == other and moved["status"] == "active"
    old = school.client.get("/api/v1/enrolments", params={"student_id": student["id"]}).json()["items"]
    assert sorted((e["status"], e["class_id"]) for e in old) == sorted([("transferred", school.class_id),
                                                                         ("active", other)])
    roster = [a["student_id"] for a in school.client.get(f"/api/v1/lessons/{later['id']}").json()["attendance"]]
    assert student["id"] not in roster  # gone from the old class's later lessons
    earlier = [a["student_id"] for a in school.client.get(f"/api/v1/lessons/{missed}").json()["attendance"]]
    assert student["id"] in earlier  # but still in the lessons before the transfer


def test_attendance_exports_to_excel_and_the_export_is_audited(school: School) -> None:
    lesson_id = _lesson_with_marks(school, ["present", "late"])
    school.post(f"/api/v1/lessons/{lesson_id}/confirm")

    response = school.client.get("/api/v1/attendance/export.xlsx", params={"from": DAY, "to": DAY})

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("日期", "时间", "班级", "学号", "姓名", "考勤")
    assert [(r[4], r[5], r[6], r[7]) for r in rows[1:]] == [("学员0", "出勤", "出勤", "1.50"),
                                                             ("学员1", "迟到", "迟到", "1.50")]
    audit = school.client.get("/api/v1/audit", params={"action": "personal_data_exported"}).json()["items"]
    assert audit and '"rows": 2' in audit[0]["after"]


@pytest.mark.parametrize(("body", "field"), [
    ({"starts_at": "2030-01-08 19:00", "ends_at": "2030-01-08T20:00:00+08:00"}, "starts_at"),
    ({"starts_at": "2030-01-08T20:00:00+08:00", "ends_at": "2030-01-08T19:00:00+08:00"}, "ends_at"),
    ({"starts_at": "2030-01-08T19:00:00", "ends_at": "2030-01-08T20:00:00"}, "starts_at"),
])
def test_bad_lesson_times_are_refused_naming_the_field(school: School, node_store: NodeStore, body: dict,
                                                       field: str) -> None:
    before = _snapshot(node_store)
    refused = school.client.post(f"/api/v1/classes/{school.class_id}/lessons", json=body)
    assert refused.status_code == 422
    assert field in [e["field"] for e in refused.json()["errors"]]
    assert _snapshot(node_store) == before


def test_three_absences_in_a_row_remind_the_class_teacher_and_the_consultant(school: School) -> None:
    advisor = school.post("/api/v1/users", {"username": "advisor", "display_name": "班主任", "password": "advisor-pass-1",
                                            "roles": [{"role": "academic_advisor"}]})
    klass = school.post("/api/v1/classes", {"course_id": school.course_id, "name": "周六班", "teacher_id":
                                            school.teachers[1], "room_id": school.rooms[1],
                                            "class_teacher_id": advisor["id"]})
    student = school.students[0]
    school.post(f"/api/v1/classes/{klass['id']}/enrolments", {"student_id": student["id"],
                                                              "line_id": student["line_id"], "joined_on": "2026-01-01"})

    def absent_on(day: str) -> None:
        lesson = school.lesson(klass["id"], f"{day}T09:00:00+08:00", f"{day}T10:30:00+08:00")
        school.post(f"/api/v1/lessons/{lesson['id']}/marks", {"student_id": student["id"], "mark": "absent"})
        school.post(f"/api/v1/lessons/{lesson['id']}/confirm")

    def streaks(client_headers: dict | None = None) -> list[dict]:
        items = school.client.get("/api/v1/reminders", headers=client_headers or {}).json()["items"]
        return [r for r in items if r["kind"] == "absence_streak"]

    absent_on("2030-01-05"), absent_on("2030-01-12")
    assert streaks() == []
    absent_on("2030-01-19")
    token = school.client.post("/api/v1/auth/token", json={"username": "advisor", "password": "advisor-pass-1"})
    advisor_headers = {"Authorization": f"Bearer {token.json()['token']}"}
    for seen in (streaks(), streaks(advisor_headers)):  # the consultant who signed, and the class teacher
        assert [(r["number"], r["count"], r["on"]) for r in seen] == [(student["number"], 3, "2030-01-19")]


def test_an_expired_contract_cannot_be_scheduled_until_extended(school: School, node_store: NodeStore) -> None:
    student = school.students[0]
    with node_store.unit_of_work() as uow:  # time passes: the contract ran out yesterday
        uow.update("contracts", student["contract_id"], {"expires_on": (date.today() - timedelta(days=1)).isoformat()})
    before = _snapshot(node_store)

    refused = school.lesson(school.class_id, f"{DAY}T19:00:00+08:00", f"{DAY}T20:30:00+08:00", status=409)
    assert "extend" in refused["detail"] and refused["contract_id"] == student["contract_id"]
    assert _snapshot(node_store) == before

    school.post(f"/api/v1/contracts/{student['contract_id']}/changes", {"kind": "extend", "expires_on": "2031-06-30"})
    school.lesson(school.class_id, f"{DAY}T19:00:00+08:00", f"{DAY}T20:30:00+08:00")


def test_frequent_lesson_changes_remind_the_consultant(school: School) -> None:
    student = school.students[0]
    days = ["2030-01-08", "2030-01-10", "2030-01-15"]
    for day in days:
        lesson = school.lesson(school.class_id, f"{day}T19:00:00+08:00", f"{day}T20:30:00+08:00")
        school.post(f"/api/v1/lessons/{lesson['id']}/leave", {"student_id": student["id"], "reason": "出差"})
    items = school.client.get("/api/v1/reminders").json()["items"]
    changes = [r for r in items if r["kind"] == "lesson_changes"]
    assert [(r["number"], r["count"]) for r in changes] == [(student["number"], 3)]
