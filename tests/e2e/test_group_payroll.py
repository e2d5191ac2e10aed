"""A month of signing and teaching at two campuses while they are cut off from headquarters, one
teacher teaching at both; after sync each campus approves its own payroll run, headquarters' group
payroll is the sum of the campuses', and each campus's books balance and are the same at the hub."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.e2e.sync_helpers import Campus, Group, differences, signed_in_client

ZONE = ZoneInfo("Asia/Shanghai")
LINE = {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class"}
PLANS = [
    ("C-STD", "consultant", {"basis": "signed", "tier_mode": "progressive",
                             "new": [{"from_fen": 0, "to_fen": 500000, "rate_bp": 300},
                                     {"from_fen": 500000, "to_fen": None, "rate_bp": 500}],
                             "renewal": [{"from_fen": 0, "to_fen": None, "rate_bp": 200}]}),
    ("T-STD", "teacher", {"tier_mode": "progressive",
                          "fees": [{"brackets": [{"from_hours_x100": 0, "to_hours_x100": 4000, "fen_per_hour": 4000},
                                                 {"from_hours_x100": 4000, "to_hours_x100": None,
                                                  "fen_per_hour": 6000}]}],
                          "bonuses": [{"min_students": 2, "rate_bp": 500}]}),
]


def _ok(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _month_of_work(campus: Campus, teacher_id: str, consultant: str, days: list[int], period: str) -> None:
    """Staff records; the consultant signs two students; the visiting teacher teaches them on ``days``."""
    http = campus.http
    me = campus.config.campus_code
    _ok(http.post("/api/v1/payroll/staff", json={"user_id": teacher_id, "position": "teacher", "level": "3",
                                                 "base_salary_fen": 200000 if me == "BJ01" else 0,
                                                 "start_on": "2020-01-01"}))  # paid its base at home only
    users = {u["username"]: u["id"] for u in _ok(http.get("/api/v1/users"), 200)["items"]}
    _ok(http.post("/api/v1/payroll/staff", json={"user_id": users[consultant], "position": "consultant",
                                                 "base_salary_fen": 300000, "start_on": "2020-01-01"}))
    seller = signed_in_client(campus.url, {"username": consultant, "password": f"{consultant}-password"})
    students, lines = [], []
    for k in range(2):
        student = _ok(seller.post("/api/v1/students", json={"name": f"{me}学员{k}", "phone": f"1380000{k:04d}"}))
        contract = _ok(seller.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
            {**LINE, "hours_x100": 2000 * (k + 1)}]}))
        students.append(student["id"])
        lines.append(contract["lines"][0]["id"])
    seller.close()
    room = _ok(http.post("/api/v1/rooms", json={"name": "101"}))["id"]
    course = _ok(http.post("/api/v1/courses", json={"name": "初二数学", "lesson_hours_x100": 150}))["id"]
    klass = _ok(http.post("/api/v1/classes", json={"course_id": course, "name": "周末班", "teacher_id": teacher_id,
                                                   "room_id": room}))["id"]
    for student_id, line_id in zip(students, lines, strict=True):
        _ok(http.post(f"/api/v1/classes/{klass}/enrolments", json={"student_id": student_id, "line_id": line_id,
                                                                    "joined_on": "2020-01-01"}))
    for day in days:
        start = datetime(int(period[:4]), int(period[5:]), day, 9, tzinfo=ZONE)
        lesson = _ok(http.post(f"/api/v1/classes/{klass}/lessons", json={
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(minutes=90)).isoformat()}))
        for student_id in students:
            _ok(http.post(f"/api/v1/lessons/{lesson['id']}/marks", json={"student_id": student_id, "mark": "present"}))
        _ok(http.post(f"/api/v1/lessons/{lesson['id']}/confirm"))


def _approve(campus: Campus, period: str) -> dict[str, Any]:
    run = _ok(campus.http.post("/api/v1/payroll/runs", json={"period": period}))
    _ok(campus.http.post(f"/api/v1/payroll/runs/{run['id']}/submit"), 200)
    _ok(campus.http.post(f"/api/v1/payroll/runs/{run['id']}/approve"), 200)
    return _ok(campus.http.get(f"/api/v1/payroll/runs/{run['id']}"), 200)


def _closing(rows: list[dict[str, Any]], key: str) -> dict[str, int]:
    return {row[key]: row["closing_fen"] for row in rows if row["closing_fen"]}


def test_two_campuses_pay_a_month_worked_offline_and_headquarters_sees_the_sum(group: Group) -> None:
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    period = datetime.now(ZONE).strftime("%Y-%m")
    hub = group.hub_http
    _ok(hub.post("/api/v1/price-list/items", json={**LINE, "unit_price_fen": 20000}))
    for code, position, rules in PLANS:
        _ok(hub.post("/api/v1/payroll/plans", json={"code": code, "name": code, "position": position,
                                                    "effective_from": "2020-01-01", "rules": rules}))
    teacher = _ok(hub.post("/api/v1/users", json={"username": "li", "display_name": "李老师",
                                                  "password": "li-password", "roles": [{"role": "teacher"}]}))
    for username, campus in (("zhang", bj), ("wang", sh)):
        _ok(hub.post("/api/v1/users", json={"username": username, "display_name": username,
                                            "password": f"{username}-password",
                                            "roles": [{"role": "consultant", "campus_id": campus.config.campus_id}]}))
    bj.sync(), sh.sync()

    # Cut off from headquarters, each campus signs and teaches; the same teacher teaches at both.
    _month_of_work(bj, teacher["id"], "zhang", [1, 2], period)
    _month_of_work(sh, teacher["id"], "wang", [1], period)
    bj.sync(), sh.sync(), bj.sync(), sh.sync()

    runs = {campus.config.campus_code: _approve(campus, period) for campus in (bj, sh)}
    _ok(bj.http.post(f"/api/v1/payroll/runs/{runs['BJ01']['id']}/pay", json={"fund_account": "bank"}), 200)
    bj.sync(), sh.sync()
    group.hub_server.server.config.app.state.books.run_once()  # type: ignore[attr-defined]

    li = {code: next(s for s in run["payslips"] if s["user_id"] == teacher["id"]) for code, run in runs.items()}
    # BJ01: ¥2,000 base and two 1.5-hour lessons at ¥40 with the 5% class bonus; SH01: one lesson, no base
    assert [(x["category"], x["amount_fen"]) for x in li["BJ01"]["lines"]] == [
        ("base", 200000), ("lesson_fee", 6000), ("bonus", 300), ("lesson_fee", 6000), ("bonus", 300)]
    assert [(x["category"], x["amount_fen"]) for x in li["SH01"]["lines"]] == [("lesson_fee", 6000), ("bonus", 300)]
    zhang = next(s for s in runs["BJ01"]["payslips"] if s["name"] == "zhang")
    assert [x["amount_fen"] for x in zhang["lines"] if x["category"] == "commission"] == [12000, 38000]  # ¥12,000: 3% to ¥5,000, 5% beyond
    shown = _ok(hub.get("/api/v1/payroll/group", params={"from": period, "to": period}), 200)
    assert sorted((r["campus_code"], r["total_fen"], r["status"]) for r in shown["items"]) == [
        ("BJ01", runs["BJ01"]["total_fen"], "paid"), ("SH01", runs["SH01"]["total_fen"], "approved")]
    assert shown["months"] == [{"period": period, "payslips": 4,
                                **{k: runs["BJ01"][k] + runs["SH01"][k] for k in (
                                    "lesson_fees_fen", "commissions_fen", "other_pay_fen", "total_fen")}}]
    assert shown["total"]["total_fen"] == runs["BJ01"]["total_fen"] + runs["SH01"]["total_fen"]
    assert "集团工资" in hub.get("/payroll", params={"from": period, "to": period}).text

    at_hub = _ok(hub.get("/api/v1/books/trial-balance", params={"from": "2020-01", "to": "2099-12"}), 200)
    for campus in (bj, sh):
        trial = _ok(campus.http.get("/api/v1/books/trial-balance", params={"from": "2020-01", "to": "2099-12"}), 200)
        hub_rows = next(c for c in at_hub["campuses"] if c["campus_id"] == campus.config.campus_id)
        assert trial["balanced"] and hub_rows["total"]["balanced"], campus.config.campus_code
        assert _closing(hub_rows["rows"], "code") == _closing(trial["items"], "account")
        run = runs[campus.config.campus_code]
        closing = _closing(trial["items"], "account")
        assert (closing.get("6401", 0), closing.get("6601", 0), closing.get("6602", 0)) == (
            run["lesson_fees_fen"], run["commissions_fen"], run["other_pay_fen"])
    assert _closing(_ok(bj.http.get("/api/v1/books/trial-balance"), 200)["items"], "account").get("2211", 0) == 0
    assert _closing(_ok(sh.http.get("/api/v1/books/trial-balance"), 200)["items"], "account")["2211"] \
        == -runs["SH01"]["total_fen"]
    assert differences(group) == {"BJ01": [], "SH01": []}
