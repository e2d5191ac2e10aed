"""A student with a history to score for refund risk, written through a campus's JSON API (a test
client or an HTTP client to a live node): a class, a contract, payments, lessons and their marks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

LINE = {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class"}


class Http(Protocol):
    def post(self, url: str, **kwargs: Any) -> Any: ...

    def get(self, url: str, **kwargs: Any) -> Any: ...


def ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


@dataclass
class Seeded:
    http: Http
    student: dict[str, Any]
    contract: dict[str, Any]
    class_id: str
    line_id: str
    teacher_id: str

    def lesson(self, day: str, mark: str | None, confirm: bool = True) -> str:
        """A lesson of the student's class on ``day`` (09:00–10:30 Beijing time), marked and confirmed."""
        lesson = ok(self.http.post(f"/api/v1/classes/{self.class_id}/lessons", json={
            "starts_at": f"{day}T09:00:00+08:00", "ends_at": f"{day}T10:30:00+08:00"}))
        if mark == "leave":
            ok(self.http.post(f"/api/v1/lessons/{lesson['id']}/leave", json={"student_id": self.student["id"],
                                                                            "reason": "家里有事"}))
        elif mark:
            ok(self.http.post(f"/api/v1/lessons/{lesson['id']}/marks", json={"student_id": self.student["id"],
                                                                            "mark": mark}))
        if confirm:
            ok(self.http.post(f"/api/v1/lessons/{lesson['id']}/confirm"))
        return str(lesson["id"])

    def pay(self, amount_fen: int) -> None:
        ok(self.http.post("/api/v1/payments", json={"contract_id": self.contract["id"], "amount_fen": amount_fen,
                                                    "fund_account": "wechat"}))


def seed_student(http: Http, *, name: str, phone: str, expires_on: str, hours_x100: int = 2000,
                 unit_price_fen: int = 20000, paid_fen: int = 0, class_teacher_id: str | None = None,
                 consultant_headers: dict[str, str] | None = None, price_item: bool = True) -> Seeded:
    """A student in a class of their own, on a contract of ``hours_x100`` at ``unit_price_fen`` an hour
    signed by whoever ``consultant_headers`` sign in (default: the client's user)."""
    if price_item:
        ok(http.post("/api/v1/price-list/items", json={**LINE, "unit_price_fen": unit_price_fen}))
    teacher_id = ok(http.get("/api/v1/users"), 200)["items"][0]["id"]
    room = ok(http.post("/api/v1/rooms", json={"name": f"{phone[-3:]} 教室"}))["id"]
    course = ok(http.post("/api/v1/courses", json={"name": "初二数学提高", "lesson_hours_x100": 150}))["id"]
    klass = ok(http.post("/api/v1/classes", json={"course_id": course, "name": f"{name}的班", "teacher_id": teacher_id,
                                                  "room_id": room, "class_teacher_id": class_teacher_id}))["id"]
    student = ok(http.post("/api/v1/students", json={"name": name, "phone": phone}))
    contract = ok(http.post("/api/v1/contracts", headers=consultant_headers or {}, json={
        "student_id": student["id"], "lines": [{**LINE, "hours_x100": hours_x100}], "expires_on": expires_on}))
    line_id = contract["lines"][0]["id"]
    ok(http.post(f"/api/v1/classes/{klass}/enrolments", json={"student_id": student["id"], "line_id": line_id,
                                                               "joined_on": "2026-01-01"}))
    seeded = Seeded(http, student, contract, klass, line_id, teacher_id)
    if paid_fen:
        seeded.pay(paid_fen)
    return seeded
