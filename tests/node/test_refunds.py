"""Refunds at a campus over the JSON API: a real store and the real use cases. The quote writes
nothing; request → approve → pay moves the ledger, the money and the books; each step is
allowed to its roles only and audited with its IP; bad input is refused naming the field and
leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from campus.node.app import create_app
from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.schema.refunds import EXAMPLE_TIERS
from campus.schema.tables import asset_entries, audit_events, change_log, refunds
from tests.conftest import sign_in
from tests.node.teaching_helpers import School, set_up_school


@pytest.fixture
def client(node_config: NodeConfig) -> Iterator[TestClient]:
    with TestClient(create_app(node_config), raise_server_exceptions=False) as test_client:
        sign_in(test_client)
        yield test_client


def _count(config: NodeConfig, table: Any, *where: Any) -> int:
    store = NodeStore(config.database_path, config.node_id)
    try:
        with store.read() as conn:
            return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
    finally:
        store.close()


def _policy(client: TestClient, tiers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    answer = client.post("/api/v1/refund-policies", json={"code": "STD", "name": "标准退费政策", "is_default": True,
                                                          "tiers": tiers or EXAMPLE_TIERS[1:]})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _teach(school: School, student: dict[str, Any], lessons: int) -> None:
    for k in range(lessons):
        start = datetime.now(UTC) - timedelta(days=k + 1, hours=3)
        lesson = school.lesson(school.class_id, start.isoformat(timespec="seconds"),
                               (start + timedelta(minutes=90)).isoformat(timespec="seconds"))
        school.post(f"/api/v1/lessons/{lesson['id']}/marks", {"student_id": student["id"], "mark": "present"})
        school.post(f"/api/v1/lessons/{lesson['id']}/confirm")


def _paid_school(client: TestClient) -> tuple[School, dict[str, Any]]:
    """20 hours at ¥200 (¥4,000), paid in full by WeChat Pay."""
    school = set_up_school(client, students=1)
    student = school.students[0]
    paid = client.post("/api/v1/payments", json={"contract_id": student["contract_id"], "amount_fen": 400000,
                                                 "fund_account": "wechat"})
    assert paid.status_code == 201, paid.text
    return school, student


def _user(client: TestClient, username: str, role: str) -> TestClient:
    """Another signed-in browser: a user with one role at this campus."""
    made = client.post("/api/v1/users", json={"username": username, "display_name": username,
                                              "password": f"{username}-pass-1", "roles": [{"role": role}]})
    assert made.status_code == 201, made.text
    other = TestClient(client.app, raise_server_exceptions=False)
    sign_in(other, username, f"{username}-pass-1")
    return other


REQUEST = {"reason_category": "customer", "reason": "搬家"}


def test_a_quote_shows_every_step_and_writes_nothing(client: TestClient, node_config: NodeConfig) -> None:
    _policy(client)
    school, student = _paid_school(client)
    _teach(school, student, 2)  # 3 of 20 hours: 15% consumed
    before = _count(node_config, change_log)

    quote = client.post("/api/v1/refunds/quote", json={"contract_id": student["contract_id"]})

    assert quote.status_code == 200, quote.text
    body = quote.json()
    # paid ¥4,000 − 3 h × ¥200 = ¥3,400 unconsumed; 20% fee ¥680; refundable ¥2,720
    assert body["refundable_fen"] == 272000 and body["fee_fen"] == 68000
    labels = [s["label"] for s in body["steps"]]
    assert labels[0] == "Paid on the contract" and labels[-1] == "Refundable"
    assert "Policy tier applied" in labels and "Handling fee" in labels
    assert _count(node_config, change_log) == before


def test_request_approve_and_pay_take_the_hours_off_give_the_money_back_and_post_the_books(
        client: TestClient, node_config: NodeConfig) -> None:
    _policy(client)
    school, student = _paid_school(client)
    _teach(school, student, 2)

    made = client.post("/api/v1/refunds", json={"contract_id": student["contract_id"], **REQUEST})
    assert made.status_code == 201, made.text
    refund = made.json()
    assert refund["status"] == "requested" and refund["amount_fen"] == 272000 and refund["kind"] == "full"
    approved = client.post(f"/api/v1/refunds/{refund['id']}/approve", json={})
    assert approved.status_code == 200, approved.text
    assert approved.json()["due_on"] > datetime.now(UTC).date().isoformat()
    paid = client.post(f"/api/v1/refunds/{refund['id']}/pay", json={})
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid" and paid.json()["fund_account"] == "wechat"  # the original channel

    account = school.account(student)
    assert account["remaining"]["hours_x100"] == 0 and account["remaining"]["value_fen"] == 0
    contract = client.get(f"/api/v1/contracts/{student['contract_id']}").json()
    assert contract["refunded_fen"] == 272000 and contract["arrears_fen"] == 0
    trial = client.get("/api/v1/books/trial-balance").json()
    closing = {row["account"]: row["closing_fen"] for row in trial["items"]}
    assert trial["balanced"]
    assert closing["1012.01"] == 400000 - 272000  # WeChat Pay: received less paid back
    assert closing.get("2204", 0) == 0  # nothing left deferred
    assert closing["6051"] == -68000  # the handling fee kept
    income = client.get("/api/v1/books/income-statement").json()
    assert income["tuition_revenue_fen"] == 60000


def test_a_paid_or_rejected_refund_cannot_be_paid_again(client: TestClient) -> None:
    _policy(client)
    _, student = _paid_school(client)
    refund = client.post("/api/v1/refunds", json={"contract_id": student["contract_id"], **REQUEST}).json()
    client.post(f"/api/v1/refunds/{refund['id']}/approve", json={})
    assert client.post(f"/api/v1/refunds/{refund['id']}/pay", json={}).status_code == 200

    again = client.post(f"/api/v1/refunds/{refund['id']}/pay", json={})
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "status"

    _, other = _paid_school_again(client)
    second = client.post("/api/v1/refunds", json={"contract_id": other["contract_id"], **REQUEST}).json()
    rejected = client.post(f"/api/v1/refunds/{second['id']}/reject", json={"reason": "挽留成功"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert client.post(f"/api/v1/refunds/{second['id']}/pay", json={}).status_code == 409


def _paid_school_again(client: TestClient) -> tuple[None, dict[str, Any]]:
    student = client.post("/api/v1/students", json={"name": "学员二", "phone": "13900009999"}).json()
    contract = client.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "hours_x100": 1000}]}).json()
    client.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 200000, "fund_account": "cash"})
    return None, {**student, "contract_id": contract["id"]}


def test_a_payout_before_approval_is_refused_and_writes_nothing(client: TestClient, node_config: NodeConfig) -> None:
    _policy(client)
    _, student = _paid_school(client)
    refund = client.post("/api/v1/refunds", json={"contract_id": student["contract_id"], **REQUEST}).json()
    ledger_before = _count(node_config, asset_entries)

    early = client.post(f"/api/v1/refunds/{refund['id']}/pay", json={})

    assert early.status_code == 409, early.text
    assert early.headers["content-type"].startswith("application/problem+json")
    assert _count(node_config, asset_entries) == ledger_before
    assert client.get(f"/api/v1/refunds/{refund['id']}").json()["status"] == "requested"


def test_a_second_request_on_a_line_with_an_open_refund_is_refused(client: TestClient) -> None:
    _policy(client)
    _, student = _paid_school(client)
    assert client.post("/api/v1/refunds", json={"contract_id": student["contract_id"], **REQUEST}).status_code == 201

    second = client.post("/api/v1/refunds", json={"contract_id": student["contract_id"], **REQUEST})

    assert second.status_code == 409 and second.json()["errors"][0]["field"] == "line_ids.0"


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"amount_fen": 999999999}, 409, "amount_fen"),  # above the refundable
    ({"amount_fen": 1000.5}, 422, "amount_fen"),  # a float
    ({"materials_fen": 12.5}, 422, "materials_fen"),
    ({"hours_x100": 5000}, 409, "hours_x100"),  # more than the paid hours: the gift hours are not refundable
    ({"reason_category": "weather"}, 422, "reason_category"),
])
def test_bad_refund_requests_are_refused_naming_the_field_and_write_nothing(
        client: TestClient, node_config: NodeConfig, body: dict[str, Any], status: int, field: str) -> None:
    _policy(client)
    _, student = _paid_school(client)

    answer = client.post("/api/v1/refunds", json={"contract_id": student["contract_id"], **REQUEST, **body})

    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in answer.json()["errors"]]
    assert _count(node_config, refunds) == 0


def test_gift_hours_are_never_refunded(client: TestClient) -> None:
    _policy(client)
    school = set_up_school(client, students=0)
    student = client.post("/api/v1/students", json={"name": "赠课学员", "phone": "13900001111"}).json()
    contract = client.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "hours_x100": 150,
         "gift_hours_x100": 300}]}).json()
    client.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 30000, "fund_account": "cash"})
    line_id = contract["lines"][0]["id"]
    enrolment = {"student_id": student["id"], "line_id": line_id, "joined_on": "2026-01-01"}
    school.post(f"/api/v1/classes/{school.class_id}/enrolments", enrolment)
    _teach(school, student, 1)  # the 1.5 paid hours are used: only gift hours are left

    answer = client.post("/api/v1/refunds/quote", json={"contract_id": contract["id"], "line_ids": [line_id],
                                                        "hours_x100": 100})

    assert answer.status_code == 409, answer.text
    assert "gift" in answer.json()["detail"]


def test_each_step_is_allowed_only_to_its_roles_and_audited_with_the_ip(
        client: TestClient, node_config: NodeConfig) -> None:
    _policy(client)
    _, student = _paid_school(client)
    consultant = _user(client, "consultant1", "consultant")
    finance = _user(client, "finance1", "finance")
    manager = _user(client, "manager1", "campus_manager")

    made = consultant.post("/api/v1/refunds", json={"contract_id": student["contract_id"], **REQUEST})
    assert made.status_code == 201, made.text
    refund_id = made.json()["id"]
    assert consultant.post(f"/api/v1/refunds/{refund_id}/approve", json={}).status_code == 403
    assert finance.post(f"/api/v1/refunds/{refund_id}/approve", json={}).status_code == 403
    assert manager.post(f"/api/v1/refunds/{refund_id}/approve", json={}).status_code == 200
    assert consultant.post(f"/api/v1/refunds/{refund_id}/pay", json={}).status_code == 403
    assert manager.post(f"/api/v1/refunds/{refund_id}/pay", json={}).status_code == 403
    assert finance.post(f"/api/v1/refunds/{refund_id}/pay", json={"fund_account": "bank"}).status_code == 200

    store = NodeStore(node_config.database_path, node_config.node_id)
    try:
        with store.read() as conn:
            trail = conn.execute(select(audit_events.c.action, audit_events.c.username, audit_events.c.client_ip,
                                        audit_events.c.before, audit_events.c.after)
                                 .where(audit_events.c.target_id == refund_id).order_by(audit_events.c.at)).all()
    finally:
        store.close()
    steps = [(row.action, row.username) for row in trail]
    assert steps[:3] == [("refund_requested", "consultant1"), ("refund_approved", "manager1"),
                         ("refund_paid", "finance1")]
    assert all(row.client_ip for row in trail)
    paid = next(row for row in trail if row.action == "refund_paid")
    assert '"approved"' in paid.before and '"paid"' in paid.after


def test_a_partial_refund_takes_some_hours_and_leaves_the_rest(client: TestClient) -> None:
    _policy(client)
    school, student = _paid_school(client)
    _teach(school, student, 1)  # 1.5 of 20 hours

    made = client.post("/api/v1/refunds", json={"contract_id": student["contract_id"], "line_ids": [student["line_id"]],
                                                "hours_x100": 500, **REQUEST}).json()
    client.post(f"/api/v1/refunds/{made['id']}/approve", json={})
    client.post(f"/api/v1/refunds/{made['id']}/pay", json={})

    assert made["kind"] == "partial"
    assert made["amount_fen"] == 100000 - 20000  # 5 h × ¥200, less 20%
    remaining = school.account(student)["remaining"]
    assert remaining["paid_hours_x100"] == 2000 - 150 - 500
    assert client.get("/api/v1/books/trial-balance").json()["balanced"]


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def test_an_approved_refund_is_due_in_working_days_and_reminds_finance_once_overdue(node_config: NodeConfig) -> None:
    clock = Clock()
    with TestClient(create_app(node_config, clock=clock), raise_server_exceptions=False) as client:
        sign_in(client)
        _policy(client)
        _, student = _paid_school(client)  # nothing taught yet: classes have not started
        refund = client.post("/api/v1/refunds", json={"contract_id": student["contract_id"], **REQUEST}).json()
        waiting = client.get("/api/v1/reminders").json()["items"]
        assert [r["kind"] for r in waiting if r.get("refund_id") == refund["id"]] == ["refund_to_approve"]
        approved = client.post(f"/api/v1/refunds/{refund['id']}/approve", json={}).json()

        local_today = clock.now.astimezone(ZoneInfo("Asia/Shanghai")).date()
        due = date.fromisoformat(approved["due_on"])
        working_days = sum(1 for k in range(1, (due - local_today).days + 1)
                           if (local_today + timedelta(days=k)).weekday() < 5)
        assert working_days == 5  # before classes start: 5 working days (after: 15)
        kinds = [r["kind"] for r in client.get("/api/v1/reminders").json()["items"] if r.get("refund_id")]
        assert kinds == ["refund_to_pay"]
        clock.now += timedelta(days=30)
        kinds = [r["kind"] for r in client.get("/api/v1/reminders").json()["items"] if r.get("refund_id")]
        assert kinds == ["refund_overdue"]
        assert "已逾期" in client.get("/").text
