"""The family portal over HTTP on a real store: sign-in codes sent through the outbox (single use,
expiring, rate-limited, five wrong ones lock the phone, never in the audit trail), a family's
password, a guardian seeing only their own students (every route walked with another family's ids
answers 404), leave reaching the class teacher, tickets, ratings counted in the risk score."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.routing import Route
from starlette.testclient import TestClient

from campus.node.app import create_app
from campus.node.config import NodeConfig
from campus.node.notify.setup import senders_for
from campus.node.notify.worker import send_due
from campus.schema.tables import audit_events, leave_requests, outbox
from tests.conftest import sign_in
from tests.node.risk_helpers import Seeded, ok, seed_student

MORNING = datetime(2030, 1, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Campus:
    staff: TestClient
    clock: Clock
    config: NodeConfig

    @property
    def node(self) -> Any:
        return self.staff.app.state.node  # type: ignore[attr-defined]

    def browser(self) -> TestClient:
        return TestClient(self.staff.app, follow_redirects=False)

    def code_sent_to(self, phone: str) -> str:
        """The code, as the family reads it: the outbox sends it and it lands in the SMS file sink."""
        send_due(self.node.store, self.node.ctx, senders_for(self.config))
        sink = self.config.directory / self.config.notify_sms_file
        texts = [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines()]
        return re.findall(r"\d{6}", [t["text"] for t in texts if t["to"] == phone][-1])[0]


def csrf(client: TestClient, path: str = "/portal/sign-in") -> str:
    return CSRF.findall(client.get(path).text)[0]


def ask_code(client: TestClient, phone: str) -> Any:
    return client.post("/portal/sign-in/code", data={"phone": phone, "csrf_token": csrf(client)})


def give_code(client: TestClient, code: str, phone: str = "") -> Any:
    return client.post("/portal/sign-in", data={"code": code, "phone": phone, "csrf_token": csrf(client)})


def signed_in(campus: Campus, phone: str) -> TestClient:
    client = campus.browser()
    assert ask_code(client, phone).status_code == 303
    assert give_code(client, campus.code_sent_to(phone)).headers["location"] == "/portal/"
    return client


@pytest.fixture
def campus(node_config: NodeConfig) -> Iterator[Campus]:
    config = replace(node_config, notify_worker_seconds=0, notify_quiet_start="00:00", notify_quiet_end="00:00")
    clock = Clock(MORNING)
    with TestClient(create_app(config, background_sync=False, clock=clock), raise_server_exceptions=False) as staff:
        sign_in(staff)
        yield Campus(staff, clock, config)


def family(campus: Campus, name: str, phone: str, advisor_id: str | None = None, day: str = "2030-01-06") -> Seeded:
    seeded = seed_student(campus.staff, name=name, phone=phone, expires_on="2030-12-31", paid_fen=100000,
                          class_teacher_id=advisor_id)
    seeded.lesson(day, "present")
    return seeded


def test_a_code_from_the_sms_signs_a_family_in_once_and_expires(campus: Campus) -> None:
    lilei = family(campus, "李雷", "13900001111")
    client = signed_in(campus, "13900001111")

    page = client.get(f"/portal/students/{lilei.student['id']}")
    assert page.status_code == 200 and "李雷" in page.text and "18.50" in page.text  # 20 hours less one lesson
    assert client.get("/portal/").headers["location"] == f"/portal/students/{lilei.student['id']}"

    used = campus.code_sent_to("13900001111")
    other = campus.browser()
    assert ask_code(other, "13900001111").status_code == 429  # a minute has not passed
    assert give_code(other, used, "13900001111").status_code == 401  # used once already
    campus.clock.now += timedelta(seconds=61)
    ask_code(other, "13900001111")
    fresh = campus.code_sent_to("13900001111")
    campus.clock.now += timedelta(seconds=301)  # five minutes and a second later
    assert give_code(other, fresh).status_code == 401

    with campus.node.store.read() as conn:
        trail = json.dumps([(r.action, r.before, r.after) for r in conn.execute(select(audit_events))])
        bodies = conn.execute(select(outbox.c.body).where(outbox.c.kind == "sign_in_code")).scalars().all()
    assert used not in trail and fresh not in trail and "portal_code_sent" in trail and "13900001111" not in trail
    assert set(bodies) == {"••••••"}  # sent: the code is not kept


def test_five_wrong_codes_lock_the_phone_for_fifteen_minutes(campus: Campus) -> None:
    family(campus, "李雷", "13900001111")
    client = campus.browser()
    ask_code(client, "13900001111")
    code = campus.code_sent_to("13900001111")

    answers = [give_code(client, "000000" if code != "000000" else "111111").status_code for _ in range(5)]
    assert answers == [401, 401, 401, 401, 429]
    assert give_code(client, code).status_code == 429  # even the right code, while locked
    assert ask_code(client, "13900001111").status_code == 429
    campus.clock.now += timedelta(minutes=15, seconds=1)
    ask_code(client, "13900001111")
    assert give_code(client, campus.code_sent_to("13900001111")).status_code == 303


def test_a_number_not_on_record_is_answered_alike_and_gets_no_code(campus: Campus) -> None:
    client = campus.browser()
    assert ask_code(client, "13911112222").status_code == 303
    with campus.node.store.read() as conn:
        assert conn.execute(select(outbox.c.id).where(outbox.c.recipient == "13911112222")).first() is None
    assert ask_code(client, "12345").status_code == 422  # not a phone number at all


def test_a_family_password_signs_in_by_student_number_and_a_new_one_ends_old_sessions(campus: Campus) -> None:
    lilei = family(campus, "李雷", "13900001111")
    by_phone = signed_in(campus, "13900001111")
    settings = f"/portal/students/{lilei.student['id']}/settings"
    by_phone.post(f"/portal/students/{lilei.student['id']}/password",
                  data={"password": "lilei-family-1", "csrf_token": csrf(by_phone, settings)})

    by_number = campus.browser()
    wrong = by_number.post("/portal/sign-in/password", data={"number": lilei.student["number"], "password": "nope",
                                                             "csrf_token": csrf(by_number)})
    right = by_number.post("/portal/sign-in/password", data={"number": lilei.student["number"].lower(),
                                                             "password": "lilei-family-1",
                                                             "csrf_token": csrf(by_number)})
    assert (wrong.status_code, right.headers["location"]) == (401, "/portal/")
    assert by_number.get(f"/portal/students/{lilei.student['id']}").status_code == 200

    campus.clock.now += timedelta(minutes=1)
    by_phone.post(f"/portal/students/{lilei.student['id']}/password",
                  data={"password": "lilei-family-2", "csrf_token": csrf(by_phone, settings)})
    assert by_number.get(f"/portal/students/{lilei.student['id']}").headers["location"] == "/portal/sign-in"


def test_a_guardian_asking_for_another_familys_anything_by_id_gets_404_on_every_route(campus: Campus) -> None:
    lilei = family(campus, "李雷", "13900001111")
    han = family(campus, "韩梅梅", "13900002222", day="2030-01-04")
    han_lesson = han.lesson("2030-01-09", None, confirm=False)
    han_client = signed_in(campus, "13900002222")
    han_client.post(f"/portal/students/{han.student['id']}/tickets", data={
        "category": "question", "subject": "教材", "body": "在哪买", "csrf_token": csrf(han_client, f"/portal/students/{han.student['id']}")})
    with campus.node.store.read() as conn:
        from campus.schema.tables import payments, tickets

        han_ticket = conn.execute(select(tickets.c.id).where(tickets.c.student_id == han.student["id"])).scalar()
        han_receipt = conn.execute(select(payments.c.id).where(payments.c.student_id == han.student["id"])).scalar()
    survey = ok(campus.staff.post("/api/v1/surveys", json={"title": "满意度", "questions": [
        {"kind": "rating", "text": "老师讲得清楚吗"}]}))
    ok(campus.staff.post(f"/api/v1/surveys/{survey['id']}/status", json={"status": "open"}), 200)
    others = {"student_id": han.student["id"], "ticket_id": han_ticket, "payment_id": han_receipt,
              "survey_id": survey["id"]}
    lilei_client = signed_in(campus, "13900001111")
    token = csrf(lilei_client, f"/portal/students/{lilei.student['id']}")
    form = {"csrf_token": token, "lesson_id": han_lesson, "rating": "5", "category": "question", "subject": "x",
            "body": "y", "password": "whatever-123", "email": "x@example.com", "q1": "5"}

    walked = []
    for route in campus.staff.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, Route) or not route.path.startswith("/portal/") or "{" not in route.path:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: str(others[m.group(1)]), route.path)
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            answer = lilei_client.request(method, url, data=form if method == "POST" else None)
            walked.append((method, route.path, answer.status_code))
    assert walked and {status for _, _, status in walked} == {404}, walked
    assert len(walked) == 12
    # and their own student with the other family's lesson
    own = lilei_client.post(f"/portal/students/{lilei.student['id']}/leave", data=form)
    assert own.status_code == 404
    with campus.node.store.read() as conn:
        assert conn.execute(select(leave_requests.c.id)).first() is None


def test_leave_asked_in_the_portal_reaches_the_class_teacher_and_a_rating_counts_in_the_risk_score(
        campus: Campus) -> None:
    advisor = ok(campus.staff.post("/api/v1/users", json={"username": "advisor", "display_name": "王老师",
                                                          "password": "advisor-pass-1",
                                                          "roles": [{"role": "academic_advisor"}]}))
    lilei = family(campus, "李雷", "13900001111", advisor_id=advisor["id"])
    past = lilei.lesson("2030-01-05", "present")
    tomorrow = lilei.lesson("2030-01-08", None, confirm=False)
    client = signed_in(campus, "13900001111")
    token = csrf(client, f"/portal/students/{lilei.student['id']}")

    client.post(f"/portal/students/{lilei.student['id']}/leave", data={"lesson_id": tomorrow, "reason": "发烧",
                                                                       "csrf_token": token})
    rated = client.post(f"/portal/students/{lilei.student['id']}/ratings", data={
        "lesson_id": past, "rating": "2", "comment": "老师讲得太快", "csrf_token": token})
    assert rated.status_code == 303, rated.text
    again = client.post(f"/portal/students/{lilei.student['id']}/ratings", data={"lesson_id": past, "rating": "5",
                                                                                 "csrf_token": token})

    shown = client.get(again.headers["location"]).text
    assert "这节课已经评价过了" in shown, re.findall(r"flash[^>]*>([^<]*)<", shown)  # a second rating is refused
    from campus.node.workbench.reminders import reminders_of
    from campus.web.accounts.store import Accounts

    principal = Accounts(campus.node.store, campus.node.config.campus_id).from_user_id(advisor["id"])
    with campus.node.store.read() as conn:
        reminded = [r for r in reminders_of(conn, campus.node.ctx, principal) if r["kind"] == "leave_requested"]
        told = conn.execute(select(outbox.c.body).where(outbox.c.kind == "leave_confirmed")).scalars().all()
    assert [(r["lesson_id"], r["reason"], r["on"]) for r in reminded] == [(tomorrow, "发烧", "2030-01-08")]
    assert told and "请假已登记" in told[0]
    risk = ok(campus.staff.get(f"/api/v1/students/{lilei.student['id']}/risk"), 200)
    assert {f["factor"]: f["figure"] for f in risk["factors"]}["low_ratings"] == 1


def test_a_ticket_from_the_portal_goes_to_the_class_teacher_and_the_family_sees_replies_not_notes(
        campus: Campus) -> None:
    lilei = family(campus, "李雷", "13900001111")
    client = signed_in(campus, "13900001111")
    client.post(f"/portal/students/{lilei.student['id']}/tickets", data={
        "category": "complaint", "subject": "作业太多", "body": "孩子每天写到十一点",
        "csrf_token": csrf(client, f"/portal/students/{lilei.student['id']}")})
    (ticket,) = ok(campus.staff.get("/api/v1/tickets"), 200)["items"]
    assert (ticket["source"], ticket["category"], ticket["about_name"]) == ("portal", "complaint", "李雷")
    ok(campus.staff.post(f"/api/v1/tickets/{ticket['id']}/replies", json={"body": "内部:先问老师", "internal": True}))
    ok(campus.staff.post(f"/api/v1/tickets/{ticket['id']}/replies", json={"body": "已和老师沟通,会减少作业"}))

    page = client.get(f"/portal/tickets/{ticket['id']}").text
    assert "已和老师沟通,会减少作业" in page and "内部" not in page


def test_a_family_reply_in_the_portal_reaches_staff_and_the_staff_answer_is_sent_to_the_family(
        campus: Campus) -> None:
    lilei = family(campus, "李雷", "13900001111")
    client = signed_in(campus, "13900001111")
    client.post(f"/portal/students/{lilei.student['id']}/tickets", data={
        "category": "question", "subject": "教材", "body": "教材在哪买",
        "csrf_token": csrf(client, f"/portal/students/{lilei.student['id']}")})
    (ticket,) = ok(campus.staff.get("/api/v1/tickets"), 200)["items"]
    ok(campus.staff.post(f"/api/v1/tickets/{ticket['id']}/replies", json={"body": "前台有售"}))
    ok(campus.staff.post(f"/api/v1/tickets/{ticket['id']}/status", json={"status": "resolved"}), 200)
    campus.clock.now += timedelta(minutes=5)

    page = f"/portal/tickets/{ticket['id']}"
    sent = client.post(f"{page}/replies", data={"body": "前台几点开门?", "csrf_token": csrf(client, page)})

    assert sent.headers["location"] == page
    seen = ok(campus.staff.get(f"/api/v1/tickets/{ticket['id']}"), 200)
    assert [(e["kind"], e["body"], e["by_family"]) for e in seen["thread"] if e["kind"] == "reply"] == [
        ("reply", "前台有售", False), ("reply", "前台几点开门?", True)]
    assert (seen["status"], seen["awaiting_staff_since"]) == ("reopened", "2030-01-07T02:05:00Z")
    assert "家长已回复" in campus.staff.get(f"/tickets/{ticket['id']}").text
    reminders = campus.staff.get("/reminders").text
    assert "家长回复了问题单 (1)" in reminders and ticket["number"] in reminders

    ok(campus.staff.post(f"/api/v1/tickets/{ticket['id']}/replies", json={"body": "早上八点"}))
    answered = ok(campus.staff.get(f"/api/v1/tickets/{ticket['id']}"), 200)
    with campus.node.store.read() as conn:
        told = conn.execute(select(outbox.c.recipient, outbox.c.body).where(outbox.c.kind == "ticket_reply")
                            .order_by(outbox.c.created_at)).all()
    assert (answered["status"], answered["awaiting_staff_since"]) == ("in_progress", None)
    assert "家长回复了问题单 (0)" in campus.staff.get("/reminders").text
    assert [(to, "早上八点" in body) for to, body in told][-1] == ("13900001111", True)
    assert "前台几点开门?" in client.get(page).text and "早上八点" in client.get(page).text


def test_a_family_reply_with_nothing_in_it_is_refused_and_written_nowhere(campus: Campus) -> None:
    lilei = family(campus, "李雷", "13900001111")
    client = signed_in(campus, "13900001111")
    client.post(f"/portal/students/{lilei.student['id']}/tickets", data={
        "category": "question", "subject": "教材", "body": "教材在哪买",
        "csrf_token": csrf(client, f"/portal/students/{lilei.student['id']}")})
    (ticket,) = ok(campus.staff.get("/api/v1/tickets"), 200)["items"]
    page = f"/portal/tickets/{ticket['id']}"

    sent = client.post(f"{page}/replies", data={"body": "   ", "csrf_token": csrf(client, page)})

    assert sent.status_code == 303 and "不能为空" in client.get(page).text
    assert [e["kind"] for e in ok(campus.staff.get(f"/api/v1/tickets/{ticket['id']}"), 200)["thread"]] == []


def test_a_family_choosing_english_gets_the_portal_and_its_messages_in_english(campus: Campus) -> None:
    lilei = family(campus, "李雷", "13900001111")
    han = family(campus, "韩梅梅", "13900002222", day="2030-01-04")
    client = signed_in(campus, "13900001111")
    settings = f"/portal/students/{lilei.student['id']}/settings"
    assert '<html lang="zh-CN">' in client.get(settings).text

    client.post(f"/portal/students/{lilei.student['id']}/preferences", data={
        "email": "", "locale": "en", "wanted": ["receipt_issued"], "csrf_token": csrf(client, settings)})
    lilei.pay(5000)
    han.pay(5000)

    page = client.get(f"/portal/students/{lilei.student['id']}").text
    assert '<html lang="en">' in page
    assert '<html lang="zh-CN">' in client.get(f"/portal/students/{lilei.student['id']}?lang=zh_CN").text
    with campus.node.store.read() as conn:
        receipts = {r.recipient: (r.locale, r.body) for r in conn.execute(
            select(outbox.c.recipient, outbox.c.locale, outbox.c.body).where(outbox.c.kind == "receipt_issued")
            .where(outbox.c.body.contains("50.00")))}
    assert receipts["13900001111"][0] == "en" and "Dear parent of 李雷, we received 50.00 yuan" in receipts["13900001111"][1]
    assert receipts["13900002222"][0] == "zh_CN" and "韩梅梅家长您好，已收到学费 50.00 元" in receipts["13900002222"][1]

    other = campus.browser()
    campus.clock.now += timedelta(seconds=61)
    ask_code(other, "13900001111")
    send_due(campus.node.store, campus.node.ctx, senders_for(campus.config))
    sink = campus.config.directory / campus.config.notify_sms_file
    assert "Your code is" in sink.read_text(encoding="utf-8").splitlines()[-1]


def test_staff_record_a_familys_language_at_the_home_campus_and_an_unknown_one_is_refused(campus: Campus) -> None:
    lilei = family(campus, "李雷", "13900001111")

    ok(campus.staff.post("/api/v1/notifications/languages", json={"student_id": lilei.student["id"], "locale": "en"}),
       200)
    refused = campus.staff.post("/api/v1/notifications/languages", json={"student_id": lilei.student["id"],
                                                                        "locale": "fr"})

    assert refused.status_code == 422 and "locale" in refused.text
    with campus.node.store.read() as conn:
        from campus.schema.tables import students

        assert conn.execute(select(students.c.locale).where(students.c.id == lilei.student["id"])).scalar() == "en"
        trail = [r.action for r in conn.execute(select(audit_events.c.action))]
    assert "family_locale_changed" in trail


def test_one_address_asking_codes_for_many_phones_is_refused_with_429_until_its_window_passes(
        node_config: NodeConfig) -> None:
    config = replace(node_config, notify_worker_seconds=0, portal_codes_per_address=3)
    clock = Clock(MORNING)
    app = create_app(config, background_sync=False, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as staff:
        sign_in(staff)
        crawler = TestClient(app, follow_redirects=False, client=("203.0.113.7", 40000))
        neighbour = TestClient(app, follow_redirects=False, client=("198.51.100.9", 40000))
        asked = [ask_code(crawler, f"1390000{n:04d}").status_code for n in range(3)]

        refused = ask_code(crawler, "13900009999")
        as_json = crawler.post("/portal/sign-in/code", headers={"accept": "application/json"},
                               data={"phone": "13900009998", "csrf_token": csrf(crawler)})

        assert asked == [303, 303, 303]
        assert refused.status_code == 429 and "此设备获取验证码次数过多，请稍后再试" in refused.text
        assert as_json.status_code == 429 and as_json.headers["content-type"] == "application/problem+json"
        assert as_json.json()["errors"] == [{"field": "phone",
                                             "message": "too many codes asked for from this device: try again later"}]
        assert ask_code(neighbour, "13900009999").status_code == 303
        clock.now += timedelta(minutes=15, seconds=1)
        assert ask_code(crawler, "13900009997").status_code == 303
