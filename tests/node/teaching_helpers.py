"""Setting up a campus with a price, a course, teachers, rooms, a class and paying students."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.testclient import TestClient


@dataclass
class School:
    client: TestClient
    teachers: list[str] = field(default_factory=list)
    rooms: list[str] = field(default_factory=list)
    course_id: str = ""
    class_id: str = ""
    students: list[dict[str, Any]] = field(default_factory=list)  # each with its contract line_id

    def post(self, path: str, body: dict[str, Any] | None = None, status: int = 201) -> dict[str, Any]:
        response = self.client.post(path, json=body or {})
        assert response.status_code == status, response.text
        return response.json()

    def account(self, student: dict[str, Any]) -> dict[str, Any]:
        return self.client.get(f"/api/v1/students/{student['id']}/account").json()

    def new_class(self, name: str, teacher: int = 0, room: int = 0) -> str:
        return self.post("/api/v1/classes", {"course_id": self.course_id, "name": name,
                                             "teacher_id": self.teachers[teacher], "room_id": self.rooms[room]})["id"]

    def lesson(self, class_id: str, starts_at: str, ends_at: str, status: int = 201, **extra: Any) -> dict[str, Any]:
        return self.post(f"/api/v1/classes/{class_id}/lessons", {"starts_at": starts_at, "ends_at": ends_at,
                                                                 **extra}, status)


def set_up_school(client: TestClient, students: int = 2, hours_x100: int = 2000) -> School:
    school = School(client)
    for k in range(2):
        user = school.post("/api/v1/users", {"username": f"teacher{k}", "display_name": f"老师{k}",
                                             "password": f"teacher-pass-{k}", "roles": [{"role": "teacher"}]})
        school.teachers.append(user["id"])
        school.rooms.append(school.post("/api/v1/rooms", {"name": f"{k + 1}01 教室", "capacity": 12})["id"])
    item = school.post("/api/v1/price-list/items", {"grade": "初二", "subject": "数学", "level": "提高",
                                                    "delivery": "small_class", "unit_price_fen": 20000})
    school.course_id = school.post("/api/v1/courses", {"name": "初二数学提高", "lesson_hours_x100": 150,
                                                       "price_item_id": item["id"]})["id"]
    school.class_id = school.new_class("初二数学周二周四班")
    for k in range(students):
        student = school.post("/api/v1/students", {"name": f"学员{k}", "phone": f"1390000{k:04d}"})
        contract = school.post("/api/v1/contracts", {"student_id": student["id"], "lines": [
            {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class",
             "hours_x100": hours_x100}]})
        student["line_id"] = contract["lines"][0]["id"]
        student["contract_id"] = contract["id"]
        student["enrolment"] = school.post(f"/api/v1/classes/{school.class_id}/enrolments", {
            "student_id": student["id"], "line_id": student["line_id"], "joined_on": "2026-01-01"})
        school.students.append(student)
    return school
