"""Payroll at a campus over the JSON API and the screens: a real store, real use cases. A month of
signing and teaching pays each employee with lines traceable to their facts; a run goes draft →
review → approved → paid, is locked once approved and posts to the books; a late fact goes into the
next month; refunds claw back; bad input is refused naming the field and writes nothing; each
employee sees only their own payslip."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.testclient import TestClient

from campus.node.app import create_app
from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.schema.quantities import Money
from campus.schema.tables import audit_events, commission_plans, payroll_adjustments, payroll_runs, payslips
from tests.conftest import ADMIN_PASSWORD, sign_in

ZONE = ZoneInfo("Asia/Shanghai")
LINE = {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class"}
CONSULTANT_RULES = {"basis": "signed", "tier_mode": "progressive",
                    "new": [{"from_fen": 0, "to_fen": None, "rate_bp": 500}],
                    "renewal": [{"from_fen": 0, "to_fen": None, "rate_bp": 200}]}
TEACHER_RULES = {"tier_mode": "progressive",
                 "fees": [{"brackets": [{"from_hours_x100": 0, "to_hours_x100": 4000, "fen_per_hour": 4000},
                                        {"from_hours_x100": 4000, "to_hours_x100": None, "fen_per_hour": 6000}]}],
                 "add_on": {"above_students": 1, "fen_per_student_hour": 500},
                 "bonuses": [{"min_students": 2, "rate_bp": 500}]}
ADVISOR_RULES = {"renewal_rate_bp": 300}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def this_month() -> str:
    return datetime.now(ZONE).strftime("%Y-%m")


def next_month(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + month // 12}-{month % 12 + 1:02d}"


@dataclass
class School:
    """A campus with plans, staff records, a consultant's three contracts and a class being taught."""

    client: TestClient
    config: NodeConfig
    clock: Clock
    users: dict[str, str] = field(default_factory=dict)  # username → id
    students: list[dict[str, Any]] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)
    class_id: str = ""
    period: str = field(default_factory=this_month)

    def ok(self, response: Any, status: int = 201) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def post(self, path: str, body: dict[str, Any] | None = None, status: int = 201) -> Any:
        return self.ok(self.client.post(path, json=body or {}), status)

    def get(self, path: str, **params: Any) -> Any:
        return self.ok(self.client.get(path, params=params), 200)

    def as_user(self, username: str) -> None:
        sign_in(self.client, username, f"{username}-password" if username != "admin" else ADMIN_PASSWORD)

    def teach(self, day: int, hour: int = 9) -> dict[str, Any]:
        """A 1.5-hour lesson on ``day`` of the month, both students present, confirmed."""
        start = datetime(int(self.period[:4]), int(self.period[5:]), day, hour, tzinfo=ZONE)
        lesson = self.post(f"/api/v1/classes/{self.class_id}/lessons", {
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(minutes=90)).isoformat()})
        for student in self.students:
            self.post(f"/api/v1/lessons/{lesson['id']}/marks", {"student_id": student["id"], "mark": "present"})
        self.post(f"/api/v1/lessons/{lesson['id']}/confirm")
        return lesson

    def store(self) -> NodeStore:
        return self.client.app.state.node.store  # type: ignore[attr-defined]

    def count(self, table: Any) -> int:
        with self.store().read() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _school(client: TestClient, config: NodeConfig, clock: Clock) -> School:
    school = School(client, config, clock)
    for name, role in (("zhang", "consultant"), ("wang", "consultant"), ("zhou", "academic_advisor"),
                       ("li", "teacher"), ("qian", "finance"), ("sun", "campus_manager")):
        school.users[name] = school.post("/api/v1/users", {"username": name, "display_name": name.capitalize(),
                                                           "password": f"{name}-password",
                                                           "roles": [{"role": role}]})["id"]
    for code, position, rules in (("C-STD", "consultant", CONSULTANT_RULES), ("T-STD", "teacher", TEACHER_RULES),
                                  ("A-STD", "academic_advisor", ADVISOR_RULES)):
        school.post("/api/v1/payroll/plans", {"code": code, "name": code, "position": position,
                                              "effective_from": "2020-01-01", "rules": rules})
    for name, position, base in (("zhang", "consultant", 300000), ("wang", "consultant", 0),
                                 ("li", "teacher", 200000), ("zhou", "academic_advisor", 250000)):
        school.post("/api/v1/payroll/staff", {"user_id": school.users[name], "position": position, "level": "3",
                                              "base_salary_fen": base, "start_on": "2020-01-01",
                                              "bank_name": "工商银行", "bank_account": "6222020200112233445"})
    item = school.post("/api/v1/price-list/items", {**LINE, "unit_price_fen": 20000})
    course = school.post("/api/v1/courses", {"name": "初二数学提高", "lesson_hours_x100": 150,
                                             "price_item_id": item["id"]})
    room = school.post("/api/v1/rooms", {"name": "101", "capacity": 12})
    school.class_id = school.post("/api/v1/classes", {"course_id": course["id"], "name": "周末班",
                                                      "teacher_id": school.users["li"],
                                                      "class_teacher_id": school.users["zhou"],
                                                      "room_id": room["id"]})["id"]
    school.as_user("zhang")  # the consultant signs: the contracts are hers
    for k in range(2):
        school.students.append(school.post("/api/v1/students", {"name": f"学员{k}", "phone": f"1390000{k:04d}"}))
        school.contracts.append(school.post("/api/v1/contracts", {"student_id": school.students[k]["id"], "lines": [
            {**LINE, "hours_x100": 2000}]}))
    renewal = school.post("/api/v1/contracts", {"student_id": school.students[0]["id"], "lines": [
        {**LINE, "hours_x100": 1000, "gift_hours_x100": 200}]})
    school.contracts.append(renewal)
    school.as_user("admin")
    lines = [renewal["lines"][0]["id"], school.contracts[1]["lines"][0]["id"]]  # student 0 studies on the renewal
    for student, line_id in zip(school.students, lines, strict=True):
        school.post(f"/api/v1/classes/{school.class_id}/enrolments", {"student_id": student["id"],
                                                                      "line_id": line_id, "joined_on": "2020-01-01"})
    return school


@pytest.fixture
def school(node_config: NodeConfig) -> Iterator[School]:
    clock = Clock()
    with TestClient(create_app(node_config, clock=clock), raise_server_exceptions=False) as client:
        sign_in(client)
        yield _school(client, node_config, clock)


def _slip(run: dict[str, Any], school: School, name: str) -> dict[str, Any]:
    return next(s for s in run["payslips"] if s["user_id"] == school.users[name])


def _approved(school: School) -> dict[str, Any]:
    run = school.post("/api/v1/payroll/runs", {"period": school.period})
    school.post(f"/api/v1/payroll/runs/{run['id']}/submit", status=200)
    school.post(f"/api/v1/payroll/runs/{run['id']}/approve", status=200)
    return school.get(f"/api/v1/payroll/runs/{run['id']}")


# --- a month's run ---------------------------------------------------------------------------------------


def test_a_month_of_signing_and_teaching_pays_each_employee_with_lines_traceable_to_their_facts(
        school: School) -> None:
    school.teach(1), school.teach(2)

    made = school.post("/api/v1/payroll/runs", {"period": school.period})
    run = school.get(f"/api/v1/payroll/runs/{made['id']}")

    zhang, li, zhou = (_slip(run, school, n) for n in ("zhang", "li", "zhou"))
    assert [(x["category"], x["amount_fen"], x["source_table"]) for x in zhang["lines"]] == [
        ("base", 300000, "staff_records"),
        ("commission", 20000, "contracts"), ("commission", 20000, "contracts"),  # 5% of two ¥4,000 new contracts
        ("commission", 4000, "contracts")]  # 2% of the ¥2,000 renewal
    assert {x["source_id"] for x in zhang["lines"][1:]} == {c["id"] for c in school.contracts}
    assert [(x["category"], x["amount_fen"]) for x in li["lines"]] == [
        ("base", 200000), *[("lesson_fee", 6000), ("add_on", 750), ("bonus", 300)] * 2]
    assert [(x["category"], x["amount_fen"]) for x in zhou["lines"]] == [
        ("base", 250000), ("renewal_vesting", 750), ("renewal_vesting", 750)]  # 1.5 h of ¥2,000 / 12 h × 3%
    assert (zhang["total_fen"], li["total_fen"], zhou["total_fen"]) == (344000, 214100, 251500)
    assert (run["total_fen"], run["lesson_fees_fen"], run["commissions_fen"], run["other_pay_fen"]) == (
        809600, 14100, 45500, 750000)
    assert run["total_fen"] == sum(x["amount_fen"] for s in run["payslips"] for x in s["lines"])
    assert made["status"] == "draft" and made["payslips"] == 4  # wang has a record and earns nothing yet


def test_recomputing_a_draft_over_the_same_facts_gives_the_same_run_and_writes_no_payslip(school: School) -> None:
    school.teach(1)
    made = school.post("/api/v1/payroll/runs", {"period": school.period})
    first = school.get(f"/api/v1/payroll/runs/{made['id']}")
    before = school.store().change_count()

    school.post(f"/api/v1/payroll/runs/{made['id']}/recompute", status=200)
    again = school.get(f"/api/v1/payroll/runs/{made['id']}")

    assert again["payslips"] == first["payslips"] and again["total_fen"] == first["total_fen"]
    assert school.store().change_count() == before + 1  # the audit event only


def test_a_recompute_picks_up_new_facts_in_the_draft(school: School) -> None:
    made = school.post("/api/v1/payroll/runs", {"period": school.period})
    school.teach(3)

    school.post(f"/api/v1/payroll/runs/{made['id']}/recompute", status=200)

    li = _slip(school.get(f"/api/v1/payroll/runs/{made['id']}"), school, "li")
    assert [x["category"] for x in li["lines"]] == ["base", "lesson_fee", "add_on", "bonus"]


def test_an_approved_run_is_locked_posts_to_the_books_and_its_payment_clears_the_liability(school: School) -> None:
    school.teach(1)
    run = _approved(school)

    refused = [school.client.post(f"/api/v1/payroll/runs/{run['id']}/recompute"),
               school.client.post(f"/api/v1/payroll/runs/{run['id']}/adjustments", json={
                   "user_id": school.users["li"], "amount_fen": 100, "reason": "补贴"}),
               school.client.post("/api/v1/payroll/runs", json={"period": school.period})]
    income = school.get("/api/v1/books/income-statement")
    accrued = {r["account"]: r["closing_fen"] for r in school.get("/api/v1/books/trial-balance")["items"]}
    school.post(f"/api/v1/payroll/runs/{run['id']}/pay", {"fund_account": "bank"}, status=200)
    paid = school.get("/api/v1/books/trial-balance")

    assert [r.status_code for r in refused] == [409, 409, 409]
    assert run["status"] == "approved" and run["approved_at"]
    assert (income["cost_of_teaching_fen"], income["selling_expenses_fen"], income["administrative_expenses_fen"]) \
        == (run["lesson_fees_fen"], run["commissions_fen"], run["other_pay_fen"])
    assert accrued["2211"] == -run["total_fen"]
    closing = {r["account"]: r["closing_fen"] for r in paid["items"]}
    assert closing.get("2211", 0) == 0 and paid["balanced"]
    assert school.get(f"/api/v1/payroll/runs/{run['id']}")["payslips"] == run["payslips"]


def test_a_late_confirmation_after_approval_is_paid_in_the_next_month_as_a_late_line(school: School) -> None:
    school.teach(1)
    run = _approved(school)
    late_lesson = school.teach(4)  # a lesson of the approved month, confirmed after the approval
    school.clock.now = datetime(*map(int, next_month(school.period).split("-")), 5, 12, tzinfo=UTC)

    made = school.post("/api/v1/payroll/runs", {"period": next_month(school.period)})
    after = school.get(f"/api/v1/payroll/runs/{made['id']}")

    li = _slip(after, school, "li")
    late = [x for x in li["lines"] if x["late"]]
    assert [(x["category"], x["source_id"], x["source_period"]) for x in late] == [
        ("lesson_fee", late_lesson["id"], school.period), ("add_on", late_lesson["id"], school.period),
        ("bonus", late_lesson["id"], school.period)]
    assert [x["late"] for x in _slip(after, school, "zhou")["lines"] if x["category"] == "renewal_vesting"] == [True]
    assert not any(x["category"] == "commission" for x in _slip(after, school, "zhang")["lines"])  # paid already
    assert school.get(f"/api/v1/payroll/runs/{run['id']}")["payslips"] == run["payslips"]


def test_runs_go_in_order_and_not_before_their_month(school: School) -> None:
    school.post("/api/v1/payroll/runs", {"period": school.period})
    school.clock.now = datetime(*map(int, next_month(school.period).split("-")), 5, 12, tzinfo=UTC)

    early = school.client.post("/api/v1/payroll/runs", json={"period": next_month(next_month(school.period))})
    out_of_order = school.client.post("/api/v1/payroll/runs", json={"period": next_month(school.period)})

    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "period"
    assert out_of_order.status_code == 409 and out_of_order.json()["open_period"] == school.period


def test_approval_is_refused_when_the_facts_moved_during_review(school: School) -> None:
    made = school.post("/api/v1/payroll/runs", {"period": school.period})
    school.post(f"/api/v1/payroll/runs/{made['id']}/submit", status=200)
    school.teach(5)

    stale = school.client.post(f"/api/v1/payroll/runs/{made['id']}/approve")
    returned = school.post(f"/api/v1/payroll/runs/{made['id']}/return", {"reason": "新的课时确认"}, status=200)

    assert stale.status_code == 409 and stale.json()["title"] == "StaleRun"
    assert returned["status"] == "draft"


def _paid_refund(school: School, contract: dict[str, Any], amount_fen: int, paid_at: str) -> None:
    with school.store().unit_of_work() as uow:
        uow.insert("refunds", {
            "campus_id": school.config.campus_id, "number": f"BJ01-F-{amount_fen:06d}", "contract_id": contract["id"],
            "contract_campus_id": school.config.campus_id, "student_id": contract["student_id"],
            "consultant_id": school.users["zhang"], "lines": "[]", "policy_id": None, "calculation": "{}",
            "refundable_fen": amount_fen, "amount_fen": amount_fen, "fee_fen": 0, "materials_fen": 0,
            "value_fen": amount_fen, "kind": "partial", "stage": "new", "reason_category": "customer",
            "reason": "搬家", "notes": None, "status": "paid", "requested_by": None, "requested_at": paid_at,
            "decided_by": None, "decided_at": paid_at, "decision_reason": None, "due_on": None,
            "fund_account": "cash", "paid_by": None, "paid_at": paid_at, "updated_at": paid_at, "deleted": False})


def test_a_refund_in_the_next_month_claws_back_the_commission_its_contract_earned(school: School) -> None:
    _approved(school)
    school.clock.now = datetime(*map(int, next_month(school.period).split("-")), 5, 12, tzinfo=UTC)
    _paid_refund(school, school.contracts[0], 100000, school.clock.now.isoformat().replace("+00:00", "Z"))

    made = school.post("/api/v1/payroll/runs", {"period": next_month(school.period)})
    zhang = _slip(school.get(f"/api/v1/payroll/runs/{made['id']}"), school, "zhang")

    assert [(x["category"], x["amount_fen"], x["source_table"]) for x in zhang["lines"]] == [
        ("base", 300000, "staff_records"), ("clawback", -5000, "refunds")]  # 5% of the ¥1,000 refunded
    assert zhang["lines"][1]["detail"]["earned_fen"] == 20000


def test_a_clawback_beyond_the_months_pay_carries_into_the_next_run(school: School) -> None:
    _approved(school)
    school.clock.now = datetime(*map(int, next_month(school.period).split("-")), 5, 12, tzinfo=UTC)
    _paid_refund(school, school.contracts[0], 8_000_000, school.clock.now.isoformat().replace("+00:00", "Z"))

    made = school.post("/api/v1/payroll/runs", {"period": next_month(school.period)})
    zhang = _slip(school.get(f"/api/v1/payroll/runs/{made['id']}"), school, "zhang")

    assert [(x["category"], x["amount_fen"]) for x in zhang["lines"]] == [
        ("base", 300000), ("clawback", -400000), ("carry_forward", 100000)]  # 5% of ¥80,000 against ¥3,000
    assert (zhang["total_fen"], zhang["carry_out_fen"]) == (0, 100000)


# --- adjustments and bad input: 4xx naming the field, nothing written ------------------------------------------


def test_an_adjustment_with_its_reason_changes_the_draft_and_is_audited_with_the_ip(school: School) -> None:
    made = school.post("/api/v1/payroll/runs", {"period": school.period})

    adjusted = school.post(f"/api/v1/payroll/runs/{made['id']}/adjustments", {
        "user_id": school.users["li"], "amount_fen": 30000, "reason": "全勤奖"})

    li = _slip(school.get(f"/api/v1/payroll/runs/{made['id']}"), school, "li")
    assert adjusted["run"]["total_fen"] == made["total_fen"] + 30000
    assert li["lines"][-1] == {"category": "adjustment", "amount_fen": 30000, "ref": "全勤奖",
                               "source_table": "payroll_adjustments", "source_id": adjusted["id"],
                               "source_period": school.period, "late": False, "detail": {"reason": "全勤奖"}}
    with school.store().read() as conn:
        event = conn.execute(select(audit_events).where(audit_events.c.action == "payroll_adjusted")).mappings().one()
    assert event["client_ip"] == "testclient" and json.loads(event["after"])["reason"] == "全勤奖"


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({"amount_fen": 30000, "reason": ""}, "reason", id="no-reason"),
    pytest.param({"amount_fen": 30000, "reason": "   "}, "reason", id="blank-reason"),
    pytest.param({"amount_fen": 300.5, "reason": "补贴"}, "amount_fen", id="float-amount"),
    pytest.param({"amount_fen": 0, "reason": "补贴"}, "amount_fen", id="zero"),
])
def test_a_bad_adjustment_is_refused_naming_the_field_and_writes_nothing(school: School, body: dict[str, Any],
                                                                        field: str) -> None:
    made = school.post("/api/v1/payroll/runs", {"period": school.period})
    before = school.store().change_count()

    refused = school.client.post(f"/api/v1/payroll/runs/{made['id']}/adjustments",
                                 json={"user_id": school.users["li"], **body})

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in refused.json()["errors"]]
    assert school.count(payroll_adjustments) == 0 and school.store().change_count() == before


@pytest.mark.parametrize(("rules", "field"), [
    pytest.param({**CONSULTANT_RULES, "new": [{"from_fen": 0, "to_fen": None, "rate_bp": 0.05}]},
                 "rules.new.0.rate_bp", id="rate-as-float"),
    pytest.param({**CONSULTANT_RULES, "new": [{"from_fen": 0, "to_fen": 5000000, "rate_bp": 300},
                                              {"from_fen": 4000000, "to_fen": None, "rate_bp": 500}]},
                 "rules.new.1.from_fen", id="overlapping-brackets"),
    pytest.param({**CONSULTANT_RULES, "new": [{"from_fen": 0, "to_fen": 5000000, "rate_bp": 300},
                                              {"from_fen": 6000000, "to_fen": None, "rate_bp": 500}]},
                 "rules.new.1.from_fen", id="gap-between-brackets"),
])
def test_a_bad_plan_is_refused_naming_the_field_and_writes_nothing(school: School, rules: dict[str, Any],
                                                                  field: str) -> None:
    before = school.count(commission_plans)

    refused = school.client.post("/api/v1/payroll/plans", json={
        "code": "C-NEW", "name": "新方案", "position": "consultant", "effective_from": "2030-01-01", "rules": rules})

    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == field
    assert school.count(commission_plans) == before


def test_a_staff_record_with_a_float_salary_is_refused(school: School) -> None:
    refused = school.client.post("/api/v1/payroll/staff", json={
        "user_id": school.users["qian"], "position": "manager", "base_salary_fen": 5000.5, "start_on": "2020-01-01"})

    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "base_salary_fen"


# --- who sees what ---------------------------------------------------------------------------------------------


def test_a_teacher_sees_only_their_own_payslip_and_a_consultant_not_anothers_commission(school: School) -> None:
    run = _approved(school)
    mine, hers = _slip(run, school, "li"), _slip(run, school, "zhang")

    school.as_user("li")
    own = school.client.get(f"/api/v1/payroll/payslips/{mine['id']}")
    listed = school.client.get("/api/v1/payroll/payslips")
    other = school.client.get(f"/api/v1/payroll/payslips/{hers['id']}")
    runs = school.client.get("/api/v1/payroll/runs")
    school.as_user("wang")
    commission = school.client.get(f"/api/v1/payroll/payslips/{hers['id']}")
    by_user = school.client.get("/api/v1/payroll/payslips", params={"user_id": school.users["zhang"]})

    assert own.status_code == 200 and own.json()["total_fen"] == mine["total_fen"]
    assert [p["id"] for p in listed.json()["items"]] == [mine["id"]]
    assert (other.status_code, runs.status_code, commission.status_code, by_user.status_code) == (403, 403, 403, 403)


def test_an_employee_does_not_see_a_draft_payslip_until_the_run_is_approved(school: School) -> None:
    made = school.post("/api/v1/payroll/runs", {"period": school.period})
    draft = _slip(school.get(f"/api/v1/payroll/runs/{made['id']}"), school, "li")

    school.as_user("li")
    hidden = (school.client.get(f"/api/v1/payroll/payslips/{draft['id']}").status_code,
              school.get("/api/v1/payroll/payslips")["items"])
    school.as_user("admin")
    school.post(f"/api/v1/payroll/runs/{made['id']}/submit", status=200)
    school.post(f"/api/v1/payroll/runs/{made['id']}/approve", status=200)
    school.as_user("li")

    assert hidden == (404, [])
    assert school.get(f"/api/v1/payroll/payslips/{draft['id']}")["run_status"] == "approved"


def test_approval_needs_a_manager_and_is_audited_with_its_ip(school: School) -> None:
    made = school.post("/api/v1/payroll/runs", {"period": school.period})
    school.as_user("qian")  # finance drafts and submits, a manager approves
    school.post(f"/api/v1/payroll/runs/{made['id']}/submit", status=200)
    by_finance = school.client.post(f"/api/v1/payroll/runs/{made['id']}/approve")
    school.as_user("sun")
    by_manager = school.client.post(f"/api/v1/payroll/runs/{made['id']}/approve")

    assert by_finance.status_code == 403 and by_manager.status_code == 200
    with school.store().read() as conn:
        event = conn.execute(select(audit_events).where(audit_events.c.action == "payroll_run_approved")
                             ).mappings().one()
    assert (event["username"], event["client_ip"], event["target_id"]) == ("sun", "testclient", made["id"])


def test_bank_accounts_are_masked_except_to_finance(school: School) -> None:
    shown = {u: None for u in ("admin", "qian")}
    for username in shown:
        school.as_user(username)
        shown[username] = school.get("/api/v1/payroll/staff")["items"][0]["bank_account"]

    assert shown == {"admin": "6222 **** 3445", "qian": "6222020200112233445"}


# --- screens and the export -----------------------------------------------------------------------------------


def test_the_payroll_screens_are_in_chinese_the_payslip_prints_and_the_run_exports_to_excel(school: School) -> None:
    from openpyxl import load_workbook

    school.teach(1)
    run = _approved(school)
    slip = _slip(run, school, "li")

    pages = {path: school.client.get(path) for path in (
        "/payroll", f"/payroll/runs/{run['id']}", f"/payroll/payslips/{slip['id']}", "/payroll/staff",
        "/payroll-plans")}
    export = school.client.get(f"/payroll/runs/{run['id']}/export.xlsx")

    assert all(p.status_code == 200 for p in pages.values()), {k: v.status_code for k, v in pages.items()}
    assert "工资" in pages["/payroll"].text and "已批准" in pages["/payroll"].text
    payslip = pages[f"/payroll/payslips/{slip['id']}"].text
    assert "工资单" in payslip and "课时费" in payslip and "打印" in payslip
    assert str(Money(slip["total_fen"])) in payslip
    book = load_workbook(io.BytesIO(export.content))
    summary, lines = (list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets)
    assert summary[0][0] == "员工" and summary[-1][0] == "合计"
    assert float(summary[-1][-1]) == run["total_fen"] / 100
    assert len(lines) - 1 == sum(len(s["lines"]) for s in run["payslips"])


def test_a_run_goes_from_draft_to_paid_through_the_screens(school: School) -> None:
    import re

    def csrf(path: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', school.client.get(path).text).group(1)  # type: ignore[union-attr]

    token = csrf("/payroll")
    drafted = school.client.post("/payroll/runs", data={"csrf_token": token, "period": school.period})
    run_id = drafted.url.path.rsplit("/", 1)[-1]
    school.client.post(f"/payroll/runs/{run_id}/adjustments", data={"csrf_token": token,
                                                                    "user_id": school.users["li"], "amount": "-50.00",
                                                                    "reason": "迟到"})
    no_reason = school.client.post(f"/payroll/runs/{run_id}/return", data={"csrf_token": token})
    for step in ("submit", "approve"):
        school.client.post(f"/payroll/runs/{run_id}/{step}", data={"csrf_token": token})
    paid = school.client.post(f"/payroll/runs/{run_id}/pay", data={"csrf_token": token, "fund_account": "bank"})

    assert "flash-error" in no_reason.text
    assert "已发放" in paid.text and "迟到" in paid.text
    assert school.get(f"/api/v1/payroll/runs/{run_id}")["status"] == "paid"


# --- hypothesis: an approved run never changes -----------------------------------------------------------------

actions = st.lists(st.sampled_from(["teach_late", "recompute", "adjust", "draft_again", "refund", "next_month"]),
                   min_size=1, max_size=6)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions)
def test_an_approved_run_never_changes_whatever_happens_after(tmp_path_factory: pytest.TempPathFactory,
                                                             steps: list[str]) -> None:
    from campus.node.bootstrap import init_node

    config = init_node(tmp_path_factory.mktemp("node") / "bj01", "BJ01", "北京海淀校区", admin_password=ADMIN_PASSWORD)
    clock = Clock()
    with TestClient(create_app(config, clock=clock), raise_server_exceptions=False) as client:
        sign_in(client)
        school = _school(client, config, clock)
        school.teach(1)
        run = _approved(school)
        with school.store().read() as conn:
            frozen = ([dict(r) for r in conn.execute(select(payslips).where(payslips.c.run_id == run["id"])
                                                     .order_by(payslips.c.id)).mappings()],
                      dict(conn.execute(select(payroll_runs).where(payroll_runs.c.id == run["id"])).mappings().one()))
        day = 10
        for step in steps:
            day += 1
            if step == "teach_late":
                school.teach(day)
            elif step == "recompute":
                assert client.post(f"/api/v1/payroll/runs/{run['id']}/recompute").status_code == 409
            elif step == "adjust":
                assert client.post(f"/api/v1/payroll/runs/{run['id']}/adjustments", json={
                    "user_id": school.users["li"], "amount_fen": 100, "reason": "补"}).status_code == 409
            elif step == "draft_again":
                assert client.post("/api/v1/payroll/runs", json={"period": school.period}).status_code == 409
            elif step == "refund":
                _paid_refund(school, school.contracts[1], 1000 + day, clock.now.isoformat().replace("+00:00", "Z"))
            elif step == "next_month":
                clock.now = datetime(*map(int, next_month(school.period).split("-")), 5, 12, tzinfo=UTC)
                client.post("/api/v1/payroll/runs", json={"period": next_month(school.period)})
        with school.store().read() as conn:
            after = ([dict(r) for r in conn.execute(select(payslips).where(payslips.c.run_id == run["id"])
                                                    .order_by(payslips.c.id)).mappings()],
                     dict(conn.execute(select(payroll_runs).where(payroll_runs.c.id == run["id"])).mappings().one()))
        assert after == frozen
