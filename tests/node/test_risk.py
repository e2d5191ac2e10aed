"""The refund-risk score (危单预警) on a seeded history, through the real store and the JSON API:
each factor's contribution, the alert raised once and not again daily, cleared when the score
falls, raised anew on a new crossing, and the reminder reaching the consultant and the advisor."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from campus.node.app import create_app
from campus.node.config import NodeConfig
from campus.node.risk.use_cases import evaluate_due
from campus.schema.config import ConfigError
from campus.schema.tables import audit_events, risk_alerts
from tests.conftest import sign_in
from tests.node.risk_helpers import Seeded, ok, seed_student


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def noon(day: str) -> datetime:
    """Noon of a Beijing day."""
    return datetime.fromisoformat(f"{day}T12:00:00+08:00").astimezone(UTC)


@dataclass
class Campus:
    client: TestClient
    clock: Clock
    users: dict[str, dict[str, Any]]  # consultant, advisor, teacher: each with "headers"

    @property
    def node(self) -> Any:
        return self.client.app.state.node  # type: ignore[attr-defined]

    def evaluate(self, day: str) -> dict[str, list[str]] | None:
        """The hourly job, run at noon of ``day``."""
        self.clock.now = noon(day)
        return evaluate_due(self.node.store, self.node.ctx)

    def alerts(self) -> list[dict[str, Any]]:
        with self.node.store.read() as conn:
            return [dict(r) for r in conn.execute(select(risk_alerts).order_by(risk_alerts.c.raised_at)).mappings()]

    def reminders(self, who: str) -> list[dict[str, Any]]:
        items = ok(self.client.get("/api/v1/reminders", headers=self.users[who]["headers"]), 200)["items"]
        return [r for r in items if r["kind"] == "refund_risk"]


def _user(client: TestClient, username: str, role: str) -> dict[str, Any]:
    password = f"{username}-pass-1"
    user = ok(client.post("/api/v1/users", json={"username": username, "display_name": username, "password": password,
                                                 "roles": [{"role": role}]}))
    token = ok(client.post("/api/v1/auth/token", json={"username": username, "password": password}))["token"]
    return {**user, "headers": {"Authorization": f"Bearer {token}"}}


@pytest.fixture
def campus(node_config: NodeConfig) -> Iterator[Campus]:
    clock = Clock(noon("2030-01-01"))
    with TestClient(create_app(node_config, clock=clock), raise_server_exceptions=False) as client:
        sign_in(client)
        users = {name: _user(client, name, role) for name, role in (
            ("consultant", "consultant"), ("advisor", "academic_advisor"), ("teacher", "teacher"))}
        yield Campus(client, clock, users)


def _seed(campus: Campus) -> Seeded:
    """20 hours at ¥200 (¥4,000), ¥3,400 paid, expiring 2030-02-15: present on 5 January, then
    absent three lessons running (each deducts 1.5 hours)."""
    seeded = seed_student(campus.client, name="李雷", phone="13900001111", expires_on="2030-02-15", paid_fen=340000,
                          class_teacher_id=campus.users["advisor"]["id"],
                          consultant_headers=campus.users["consultant"]["headers"])
    for day, mark in (("2030-01-05", "present"), ("2030-01-08", "absent"), ("2030-01-10", "absent"),
                      ("2030-01-12", "absent")):
        seeded.lesson(day, mark)
    return seeded


def _points(shown: dict[str, Any]) -> dict[str, tuple[Any, int]]:
    return {f["factor"]: (f["figure"], f["points"]) for f in shown["factors"]}


def test_each_factor_of_a_seeded_history_contributes_its_points(campus: Campus) -> None:
    seeded = _seed(campus)
    campus.clock.now = noon("2030-01-26")

    shown = ok(campus.client.get(f"/api/v1/students/{seeded.student['id']}/risk"), 200)

    assert _points(shown) == {
        "absence_streak": (3, 30),  # three absences in a row: the threshold, the weight
        "leave_streak": (0, 0),
        "lesson_changes": (0, 0),
        "silent_days": (21, 37),  # nothing attended since 5 January, hours left, nothing booked: 25 × 21 / 14
        "arrears": (60000, 24),  # ¥600 owed against a ¥500 threshold: 20 × 600 / 500
        "expiry": (20, 20),  # 14 hours left, 20 days before 15 February: 15 × (60 − 20) / 30
        "complaints": (0, 0),  # the service desk's factors: nothing written about him
        "low_ratings": (0, 0),
    }
    assert (shown["score"], shown["alert_threshold"], shown["at_risk"]) == (111, 50, True)
    assert shown["contracts"] == [{"id": seeded.contract["id"], "number": seeded.contract["number"],
                                   "expires_on": "2030-02-15", "days_left": 20, "remaining_hours_x100": 1400,
                                   "remaining_value_fen": 280000, "arrears_fen": 60000}]
    assert sorted(shown["watchers"]) == sorted([campus.users["consultant"]["id"], campus.users["advisor"]["id"]])
    assert shown["alert"] is None  # not evaluated yet


def test_the_alert_is_raised_once_reminds_consultant_and_advisor_and_is_not_repeated_daily(campus: Campus) -> None:
    seeded = _seed(campus)

    first = campus.evaluate("2030-01-26")
    again_within_the_hour = campus.evaluate("2030-01-26")
    next_day = campus.evaluate("2030-01-27")
    day_after = campus.evaluate("2030-01-28")

    assert first == {"raised": [seeded.student["id"]], "updated": [], "cleared": []}
    assert again_within_the_hour is None  # nothing changed: no write, no audit event
    assert next_day == day_after == {"raised": [], "updated": [seeded.student["id"]], "cleared": []}
    alerts = campus.alerts()
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert["raised_on"], alert["cleared_at"], alert["threshold"]) == ("2030-01-26", None, 50)
    assert alert["score"] == 30 + 25 * 23 // 14 + 24 + 15 * (60 - 18) // 30  # as of 28 January
    assert sorted(json.loads(alert["notified"])) == sorted([campus.users["consultant"]["id"],
                                                            campus.users["advisor"]["id"]])
    for who in ("consultant", "advisor"):
        reminded = campus.reminders(who)
        assert [(r["number"], r["on"]) for r in reminded] == [(seeded.student["number"], "2030-01-26")]
    assert campus.reminders("teacher") == []
    home = campus.client.get("/", headers=campus.users["consultant"]["headers"]).text
    assert "危单预警学员" in home and seeded.student["number"] in home
    with campus.node.store.read() as conn:
        audited = conn.execute(select(audit_events.c.username, audit_events.c.after)
                               .where(audit_events.c.action == "risk_evaluated")).all()
    assert [username for username, _ in audited] == ["refund-risk"] * 3
    assert json.loads(audited[0].after)["raised"] == [seeded.student["id"]]


def test_the_alert_clears_when_the_score_falls_and_a_new_crossing_raises_a_new_one(campus: Campus) -> None:
    seeded = _seed(campus)
    campus.evaluate("2030-01-26")
    campus.clock.now = noon("2030-01-27")
    seeded.pay(60000)  # the arrears paid
    seeded.lesson("2030-01-29", "present")  # back in class

    cleared = campus.evaluate("2030-01-29")

    assert cleared == {"raised": [], "updated": [], "cleared": [seeded.student["id"]]}
    shown = ok(campus.client.get(f"/api/v1/students/{seeded.student['id']}/risk"), 200)
    assert (shown["score"], shown["alert"]) == (15 * (60 - 17) // 30, None)  # only the coming expiry is left
    assert campus.reminders("consultant") == []

    # Silent again for 16 days, one day before the hours expire: 28 + 29 points
    raised = campus.evaluate("2030-02-14")

    assert raised == {"raised": [seeded.student["id"]], "updated": [], "cleared": []}
    alerts = campus.alerts()
    assert [(a["raised_on"], a["cleared_at"] is None, a["score"]) for a in alerts] == [
        ("2030-01-26", False, alerts[0]["score"]), ("2030-02-14", True, 28 + 29)]
    assert [r["on"] for r in campus.reminders("advisor")] == ["2030-02-14"]


def test_leave_in_a_row_and_lesson_changes_count(node_config: NodeConfig) -> None:
    # Leave requests are dated by the server's clock: the campus's clock is a few days ahead of it.
    today = datetime.now(UTC)
    clock = Clock(today + timedelta(days=10))
    with TestClient(create_app(node_config, clock=clock), raise_server_exceptions=False) as client:
        sign_in(client)
        seeded = seed_student(client, name="韩梅梅", phone="13900002222",
                              expires_on=(today + timedelta(days=300)).date().isoformat(), paid_fen=400000)
        for ahead in (1, 3, 5):
            seeded.lesson((today + timedelta(days=ahead)).astimezone(UTC).date().isoformat(), "leave")

        shown = ok(client.get(f"/api/v1/students/{seeded.student['id']}/risk"), 200)

    assert _points(shown)["leave_streak"] == (3, 15)
    assert _points(shown)["lesson_changes"] == (3, 15)
    assert _points(shown)["absence_streak"] == (0, 0)
    assert shown["score"] == 30 + _points(shown)["silent_days"][1]


def test_the_campus_lists_its_students_at_risk_with_their_contracts(campus: Campus) -> None:
    seeded = _seed(campus)
    calm = seed_student(campus.client, name="韩梅梅", phone="13900003333", expires_on="2030-12-31", paid_fen=400000,
                        price_item=False)
    calm.lesson("2030-01-30", None, confirm=False)  # paid up, nothing missed, a lesson booked: not at risk
    campus.evaluate("2030-01-26")

    listed = ok(campus.client.get("/api/v1/risk"), 200)
    everyone = ok(campus.client.get("/api/v1/risk", params={"min_score": "0"}), 200)
    as_consultant = campus.client.get("/api/v1/risk", headers=campus.users["consultant"]["headers"])
    as_teacher = campus.client.get("/api/v1/risk", headers=campus.users["teacher"]["headers"])
    page = campus.client.get("/risk")
    detail = campus.client.get(f"/students/{seeded.student['id']}/risk")

    assert (listed["total"], listed["min_score"], listed["remaining_value_fen"]) == (1, 50, 280000)
    item = listed["items"][0]
    assert (item["number"], item["score"], item["alert"]["raised_on"]) == (seeded.student["number"], 111, "2030-01-26")
    assert [c["number"] for c in item["contracts"]] == [seeded.contract["number"]]
    assert everyone["total"] == 2 and everyone["items"][1]["score"] == 0
    assert as_consultant.status_code == 200
    assert as_teacher.status_code == 403
    assert page.status_code == 200 and seeded.student["number"] in page.text and "¥2800.00" in page.text
    assert detail.status_code == 200
    for label in ("连续旷课", "未上课天数", "欠费", "距课时到期天数"):
        assert label in detail.text
    assert "absence_streak" not in detail.text.replace('data-factor="absence_streak"', "")


def test_evaluating_on_demand_is_for_managers_and_advisors_and_is_audited(campus: Campus) -> None:
    seeded = _seed(campus)
    campus.clock.now = noon("2030-01-26")

    refused = campus.client.post("/api/v1/risk/evaluate", headers=campus.users["consultant"]["headers"])
    done = campus.client.post("/api/v1/risk/evaluate", headers=campus.users["advisor"]["headers"])
    nothing_new = campus.client.post("/api/v1/risk/evaluate")

    assert refused.status_code == 403
    assert done.json() == {"raised": [seeded.student["id"]], "updated": [], "cleared": []}
    assert nothing_new.json() == {"raised": [], "updated": [], "cleared": []}
    with campus.node.store.read() as conn:
        who = conn.execute(select(audit_events.c.username).where(audit_events.c.action == "risk_evaluated")
                           .order_by(audit_events.c.at, audit_events.c.id)).scalars().all()
    assert who == ["advisor", "admin"]


@pytest.mark.parametrize(("path", "params", "status", "field"), [
    ("/api/v1/risk", {"min_score": "abc"}, 422, "min_score"),
    ("/api/v1/risk", {"min_score": "-1"}, 422, "min_score"),
    ("/api/v1/risk", {"min_score": "1.5"}, 422, "min_score"),
    ("/api/v1/risk", {"limit": "0"}, 422, "limit"),
    ("/api/v1/students/no-such-student/risk", {}, 404, None),
])
def test_bad_input_is_a_problem_naming_the_field(campus: Campus, path: str, params: dict[str, str], status: int,
                                                 field: str | None) -> None:
    response = campus.client.get(path, params=params)

    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    if field:
        assert [e["field"] for e in response.json()["errors"]] == [field]


def test_risk_settings_come_from_campus_toml_and_bad_ones_are_refused(node_config: NodeConfig) -> None:
    toml = node_config.directory / "campus.toml"
    text = toml.read_text(encoding="utf-8")
    assert "[risk]" in text and "alert_threshold = 50" in text  # a new campus states the defaults
    toml.write_text(text.replace("alert_threshold = 50", "alert_threshold = 80")
                    .replace("silent_days_weight = 25", "silent_days_weight = 40"), encoding="utf-8")
    loaded = NodeConfig.load(node_config.directory)
    assert (loaded.risk_settings().alert_threshold, loaded.risk_settings().silent_days.weight) == (80, 40)
    assert loaded.risk_settings().arrears.threshold == 50000

    toml.write_text(text.replace("expiry_days = 30", "expiry_days = 0"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[risk\]"):
        NodeConfig.load(node_config.directory)


def test_the_evaluate_button_on_the_risk_screen_raises_the_alert(campus: Campus) -> None:
    seeded = _seed(campus)
    campus.clock.now = noon("2030-01-26")
    token = re.search(r'name="csrf_token" value="([^"]+)"', campus.client.get("/risk").text)
    assert token

    shown = campus.client.post("/risk/evaluate", data={"csrf_token": token.group(1)})

    assert shown.status_code == 200 and "风险评估完成：新发预警 1 个" in shown.text
    assert "2030-01-26" in shown.text and seeded.student["number"] in shown.text
