"""Tickets (问题单): the status machine and deadlines as pure rules, then the desk over the JSON API
on a real store: numbers, response deadlines per category, replies and notes, moves, assignment,
overdue tickets on reminders, complaints in the refund-risk score, and refusals naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.testclient import TestClient

from campus.node.app import create_app
from campus.node.config import NodeConfig
from campus.node.service.tickets import (
    NEXT,
    Category,
    IllegalTicketMove,
    ServiceSettings,
    Status,
    after_reply,
    check_move,
    is_overdue,
    respond_by,
)
from campus.schema.tables import audit_events
from tests.conftest import sign_in
from tests.node.risk_helpers import ok, seed_student

T0 = datetime(2030, 1, 7, 1, 0, tzinfo=UTC)  # 09:00 in Beijing, a Monday


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# --- rules ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("current", "wanted", "allowed"), [
    (Status.OPEN, Status.IN_PROGRESS, True),
    (Status.OPEN, Status.RESOLVED, True),  # answered on the spot
    (Status.OPEN, Status.CLOSED, False),  # resolved first
    (Status.IN_PROGRESS, Status.RESOLVED, True),
    (Status.IN_PROGRESS, Status.OPEN, False),
    (Status.RESOLVED, Status.CLOSED, True),
    (Status.RESOLVED, Status.REOPENED, True),
    (Status.CLOSED, Status.REOPENED, True),
    (Status.CLOSED, Status.IN_PROGRESS, False),
    (Status.REOPENED, Status.IN_PROGRESS, True),
    (Status.REOPENED, Status.CLOSED, False),
])
def test_status_moves(current: Status, wanted: Status, allowed: bool) -> None:
    if allowed:
        assert check_move(current, wanted) is wanted
    else:
        with pytest.raises(IllegalTicketMove):
            check_move(current, wanted)


@pytest.mark.parametrize(("category", "hours"), [(Category.QUESTION, 24), (Category.COMPLAINT, 4),
                                                 (Category.REQUEST, 48)])
def test_each_category_has_its_response_deadline(category: Category, hours: int) -> None:
    assert respond_by(T0, category, ServiceSettings()) == T0 + timedelta(hours=hours)


@pytest.mark.parametrize(("status", "responded", "minutes_past", "overdue"), [
    (Status.OPEN, False, 1, True),
    (Status.OPEN, False, 0, False),  # at the deadline itself: not yet
    (Status.OPEN, True, 60, False),  # answered
    (Status.REOPENED, False, 1, True),
    (Status.RESOLVED, False, 60, False),
    (Status.CLOSED, False, 60, False),
])
def test_overdue_means_unresolved_unanswered_and_past_the_deadline(status: Status, responded: bool,
                                                                   minutes_past: int, overdue: bool) -> None:
    assert is_overdue(status, T0, responded, T0 + timedelta(minutes=minutes_past)) is overdue


@given(st.lists(st.sampled_from(list(Status)), max_size=30))
def test_any_walk_of_allowed_moves_stays_in_the_machine_and_a_reply_never_resolves(walk: list[Status]) -> None:
    current = Status.OPEN
    for wanted in walk:
        if wanted in NEXT[current]:
            current = check_move(current, wanted)
        assert after_reply(current) in (current, Status.IN_PROGRESS)
        assert NEXT[current], "every status has a way on"


def test_service_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        ServiceSettings(complaint_hours=0)
    with pytest.raises(ValueError):
        ServiceSettings(low_rating=5)


# --- the desk over the API --------------------------------------------------------------------

@pytest.fixture
def desk(node_config: NodeConfig) -> Iterator[tuple[TestClient, Clock]]:
    clock = Clock(T0)
    with TestClient(create_app(node_config, background_sync=False, clock=clock),
                    raise_server_exceptions=False) as client:
        sign_in(client)
        yield client, clock


def _user(client: TestClient, username: str, role: str) -> dict[str, Any]:
    password = f"{username}-pass-1"
    user = ok(client.post("/api/v1/users", json={"username": username, "display_name": username,
                                                 "password": password, "roles": [{"role": role}]}))
    token = ok(client.post("/api/v1/auth/token", json={"username": username, "password": password}))["token"]
    return {**user, "headers": {"Authorization": f"Bearer {token}"}}


def test_a_complaint_is_numbered_due_in_four_hours_answered_resolved_closed_and_reopened(
        desk: tuple[TestClient, Clock]) -> None:
    client, clock = desk
    student = ok(client.post("/api/v1/students", json={"name": "韩梅梅", "phone": "13900002222", "guardians": [
        {"name": "韩母", "relation": "mother", "phone": "13700137009"}]}))

    ticket = ok(client.post("/api/v1/tickets", json={"category": "complaint", "subject": "老师迟到",
                                                     "body": "周六的课老师迟到了二十分钟", "priority": "high",
                                                     "student_id": student["id"]}))
    assert (ticket["number"], ticket["status"], ticket["respond_by"], ticket["contact_phone"]) == (
        "BJ01-T-000001", "open", "2030-01-07T05:00:00Z", "13700137009")

    clock.now = T0 + timedelta(hours=1)
    ok(client.post(f"/api/v1/tickets/{ticket['id']}/replies", json={"body": "核实中,内部先记录", "internal": True}))
    ok(client.post(f"/api/v1/tickets/{ticket['id']}/replies", json={"body": "非常抱歉,已与老师沟通"}))
    for status in ("resolved", "closed"):
        ok(client.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": status}), 200)
    clock.now = T0 + timedelta(days=2)
    reopened = ok(client.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": "reopened"}), 200)

    assert (reopened["status"], reopened["responded_at"], reopened["respond_by"]) == (
        "reopened", None, "2030-01-09T05:00:00Z")  # a new response is due four hours after reopening
    shown = ok(client.get(f"/api/v1/tickets/{ticket['id']}"), 200)
    assert [(e["kind"], e["from_status"], e["to_status"]) for e in shown["thread"]] == [
        ("note", None, None), ("reply", None, None), ("status", "open", "in_progress"),
        ("status", "in_progress", "resolved"), ("status", "resolved", "closed"), ("status", "closed", "reopened")]
    with client.app.state.node.store.read() as conn:  # type: ignore[attr-defined]
        actions = conn.execute(select(audit_events.c.action).where(audit_events.c.target_id == ticket["id"])
                               .order_by(audit_events.c.id)).scalars().all()
    assert actions == ["ticket_opened", "ticket_noted", "ticket_replied", "ticket_status_changed",
                       "ticket_status_changed", "ticket_status_changed"]


def test_an_unanswered_ticket_reminds_its_assignee_once_overdue_and_the_desk_lists_it(
        desk: tuple[TestClient, Clock]) -> None:
    client, clock = desk
    advisor = _user(client, "advisor", "academic_advisor")
    lead = ok(client.post("/api/v1/leads", json={"name": "李家长", "phone": "13800138000", "channel": "walk-in"}))
    ticket = ok(client.post("/api/v1/tickets", json={"category": "question", "subject": "周末班几点上课",
                                                     "body": "想问一下周末班的时间", "lead_id": lead["id"],
                                                     "assignee_id": advisor["id"]}))

    clock.now = T0 + timedelta(hours=24)
    assert _reminders(client, advisor) == []  # at the deadline: not yet
    clock.now = T0 + timedelta(hours=25)
    assert _reminders(client, advisor) == [(ticket["id"], "2030-01-08")]
    listed = ok(client.get("/api/v1/tickets?overdue=1"), 200)
    assert [t["number"] for t in listed["items"]] == [ticket["number"]]
    assert listed["items"][0]["about_name"] == "李家长"
    page = client.get("/tickets?show=overdue")
    assert page.status_code == 200 and ticket["number"] in page.text

    ok(client.post(f"/api/v1/tickets/{ticket['id']}/replies", json={"body": "周六上午九点"}, headers=advisor["headers"]))
    assert _reminders(client, advisor) == []


def _reminders(client: TestClient, user: dict[str, Any]) -> list[tuple[str, str]]:
    from campus.node.workbench.reminders import reminders_of
    from campus.web.accounts.store import Accounts

    node = client.app.state.node  # type: ignore[attr-defined]
    principal = Accounts(node.store, node.config.campus_id).from_token(user["headers"]["Authorization"][7:])
    with node.store.read() as conn:
        return [(r["ticket_id"], r["on"]) for r in reminders_of(conn, node.ctx, principal)
                if r["kind"] == "ticket_overdue"]


@pytest.mark.parametrize(("body", "field"), [
    ({"category": "praise", "subject": "x", "body": "y", "lead_id": "L"}, "category"),
    ({"category": "question", "subject": "", "body": "y", "lead_id": "L"}, "subject"),
    ({"category": "question", "subject": "x", "body": "y"}, "student_id"),  # about nobody
    ({"category": "question", "subject": "x", "body": "y", "student_id": "nobody"}, "student_id"),
    ({"category": "question", "subject": "x", "body": "y", "lead_id": "nobody"}, "lead_id"),
])
def test_a_bad_ticket_is_refused_naming_the_field(desk: tuple[TestClient, Clock], body: dict[str, Any],
                                                   field: str) -> None:
    client, _ = desk
    response = client.post("/api/v1/tickets", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in response.json().get("errors", [])} | {response.json().get("field")}


def test_an_illegal_move_is_a_conflict_and_marketing_may_not_read_the_desk(desk: tuple[TestClient, Clock]) -> None:
    client, _ = desk
    lead = ok(client.post("/api/v1/leads", json={"name": "王家长", "phone": "13800138001", "channel": "walk-in"}))
    ticket = ok(client.post("/api/v1/tickets", json={"category": "request", "subject": "开发票", "body": "需要发票",
                                                     "lead_id": lead["id"]}))
    moved = client.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": "closed"})
    assert moved.status_code == 409 and moved.json()["field"] == "status"
    marketing = _user(client, "mkt", "marketing")
    assert client.get("/api/v1/tickets", headers=marketing["headers"]).status_code == 403


def test_complaints_about_a_student_count_in_the_refund_risk_score(desk: tuple[TestClient, Clock]) -> None:
    client, _ = desk
    seeded = seed_student(client, name="李雷", phone="13900001111", expires_on="2030-12-31", paid_fen=400000)
    for subject in ("退费太慢", "换老师"):
        ok(client.post("/api/v1/tickets", json={"category": "complaint", "subject": subject, "body": "家长不满意",
                                                "student_id": seeded.student["id"]}))
    ok(client.post("/api/v1/tickets", json={"category": "question", "subject": "教材", "body": "教材在哪买",
                                            "student_id": seeded.student["id"]}))

    shown = ok(client.get(f"/api/v1/students/{seeded.student['id']}/risk"), 200)

    complaints = next(f for f in shown["factors"] if f["factor"] == "complaints")
    assert (complaints["figure"], complaints["weight"], complaints["threshold"], complaints["points"]) == (2, 20, 1, 40)
