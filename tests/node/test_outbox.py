"""The outbox on a real store with a real SMTP server (aiosmtpd) and the SMS file sink: a message is
written in the transaction of its fact and sent once; refusals and timeouts are retried with
backoff; quiet hours, opt-outs and the per-recipient limit hold; a message interrupted mid-send is
never sent again by itself; templates are checked when saved; what falls due with time is queued once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from campus.node.app import create_app
from campus.node.config import NodeConfig
from campus.node.notify.channels import Senders, SmtpMailer, SmtpSettings
from campus.node.notify.outbox import queue
from campus.node.notify.setup import senders_for
from campus.node.notify.templates import Channel
from campus.node.notify.use_cases import queue_due
from campus.node.notify.worker import _claim, recover, send_due
from campus.schema.tables import outbox
from tests.conftest import sign_in
from tests.node.risk_helpers import Seeded, ok, seed_student
from tests.node.smtp_server import Inbox, silent_server, smtp_server

MORNING = datetime(2030, 1, 7, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Campus:
    client: TestClient
    clock: Clock
    inbox: Inbox

    @property
    def node(self) -> Any:
        return self.client.app.state.node  # type: ignore[attr-defined]

    def send(self, senders: Senders | None = None) -> dict[str, int]:
        return send_due(self.node.store, self.node.ctx, senders or senders_for(self.node.config))

    def messages(self, **where: Any) -> list[dict[str, Any]]:
        with self.node.store.read() as conn:
            query = select(outbox).where(*(outbox.c[k] == v for k, v in where.items())).order_by(outbox.c.created_at,
                                                                                                outbox.c.channel)
            return [dict(r) for r in conn.execute(query).mappings()]

    def sms(self) -> list[dict[str, str]]:
        sink = self.node.config.directory / self.node.config.notify_sms_file
        return [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines()] if sink.exists() else []

    def family(self, name: str = "李雷", phone: str = "13900001111", email: str = "lilei@example.com") -> Seeded:
        seeded = seed_student(self.client, name=name, phone=phone, expires_on="2030-12-31")
        ok(self.client.post("/api/v1/notifications/addresses", json={"student_id": seeded.student["id"],
                                                                   "email": email}), 200)
        return seeded


@pytest.fixture
def campus(node_config: NodeConfig) -> Iterator[Campus]:
    with smtp_server() as inbox:
        config = replace(node_config, notify_smtp_host="127.0.0.1", notify_smtp_port=inbox.port,
                         notify_worker_seconds=0, notify_smtp_timeout_seconds=2)
        clock = Clock(MORNING)
        with TestClient(create_app(config, background_sync=False, clock=clock),
                        raise_server_exceptions=False) as client:
            sign_in(client)
            yield Campus(client, clock, inbox)


def test_a_receipt_is_queued_with_its_payment_and_sent_once_by_email_and_sms(campus: Campus) -> None:
    seeded = campus.family()
    seeded.pay(200000)
    overpaid = campus.client.post("/api/v1/payments", json={"contract_id": seeded.contract["id"],
                                                           "amount_fen": 10 ** 9, "fund_account": "wechat"})
    assert overpaid.status_code == 409  # refused: neither the payment nor its message is written

    queued = campus.messages(kind="receipt_issued")
    assert [(m["channel"], m["recipient"], m["status"]) for m in queued] == [
        ("email", "lilei@example.com", "queued"), ("sms", "13900001111", "queued")]

    assert campus.send() == {"sent": 2}
    assert campus.send() == {}  # nothing left: nothing sent twice

    (mail,) = campus.inbox.received
    assert mail["Subject"] == "北京海淀校区收款收据 BJ01-R-000001"
    assert mail["Message-ID"] == f"<{queued[0]['id']}@campus.outbox>"
    assert "已收到学费 2000.00 元（收据号 BJ01-R-000001，2030-01-07）" in campus.inbox.texts()[0]
    (sms,) = campus.sms()
    assert (sms["to"], sms["text"][:8]) == ("13900001111", "【北京海淀校区】")
    assert [m["status"] for m in campus.messages(kind="receipt_issued")] == ["sent", "sent"]


def test_a_server_that_refuses_is_retried_with_backoff_until_it_accepts(campus: Campus) -> None:
    campus.family().pay(100000)
    campus.inbox.refuse_next = 2

    assert campus.send() == {"retry": 1, "sent": 1}  # the SMS went; the e-mail waits
    (mail,) = campus.messages(channel="email")
    assert (mail["status"], mail["attempts"], mail["not_before"]) == ("queued", 1, "2030-01-07T02:01:00Z")
    assert "451" in mail["last_error"]
    assert campus.send() == {}  # not due yet
    campus.clock.now += timedelta(seconds=60)
    assert campus.send() == {"retry": 1}
    assert campus.messages(channel="email")[0]["not_before"] == "2030-01-07T02:03:00Z"  # twice as long
    campus.clock.now += timedelta(seconds=120)
    assert campus.send() == {"sent": 1}
    assert len(campus.inbox.received) == 1


def test_a_server_that_never_answers_times_out_and_is_retried(campus: Campus) -> None:
    campus.family().pay(100000)
    with silent_server() as port:
        hanging = Senders(email=SmtpMailer(SmtpSettings("127.0.0.1", port, timeout_seconds=1)))
        assert campus.send(hanging) == {"retry": 1, "failed": 1}  # no SMS adapter in this set: that one fails
    (mail,) = campus.messages(channel="email")
    assert (mail["status"], mail["attempts"]) == ("queued", 1)
    assert "timed out" in mail["last_error"]
    campus.clock.now += timedelta(minutes=1)
    assert campus.send() == {"sent": 1}  # the real server is back


def test_quiet_hours_hold_messages_until_morning_and_opted_out_families_get_none(campus: Campus) -> None:
    night = campus.family()
    quiet = campus.family("韩梅梅", "13900002222", "hmm@example.com")
    ok(campus.client.post("/api/v1/notifications/opt-outs", json={"student_id": quiet.student["id"],
                                                                 "kind": "receipt_issued", "opted_out": True}), 200)
    campus.clock.now = datetime(2030, 1, 7, 14, 30, tzinfo=UTC)  # 22:30 in Beijing
    night.pay(100000)
    quiet.pay(100000)

    assert campus.send() == {}
    assert {m["not_before"] for m in campus.messages(student_id=night.student["id"])} == {"2030-01-08T00:00:00Z"}
    assert [(m["status"], m["last_error"]) for m in campus.messages(student_id=quiet.student["id"])] == [
        ("skipped", "the family opted out of this kind")] * 2
    campus.clock.now = datetime(2030, 1, 8, 0, 0, tzinfo=UTC)  # 08:00
    assert campus.send() == {"sent": 2}
    assert [m["To"] for m in campus.inbox.received] == ["lilei@example.com"]


def test_one_recipient_gets_at_most_the_hourly_limit(campus: Campus) -> None:
    node = campus.node
    with node.store.unit_of_work() as uow:
        for k in range(8):
            queue(uow.conn, node.ctx, "birthday", key=f"greeting-{k}", to=[(Channel.SMS, "13900003333")],
                  fields={"student_name": "小明"})
    assert campus.send() == {"sent": 6}
    held = campus.messages(status="queued")
    assert len(held) == 2 and {m["not_before"] for m in held} == {"2030-01-07T02:10:00Z"}


def test_a_message_interrupted_mid_send_is_never_sent_again_by_itself(campus: Campus) -> None:
    campus.family().pay(100000)
    claimed = _claim(campus.node.store, campus.node.ctx, 10)  # the node dies here, after claiming
    assert len(claimed) == 2

    assert recover(campus.node.store) == 2  # the next start
    assert campus.send() == {}
    assert {m["status"] for m in campus.messages()} == {"interrupted"}
    (mail,) = campus.messages(channel="email")
    ok(campus.client.post(f"/api/v1/notifications/{mail['id']}/send-again"), 200)  # staff judged it did not go
    assert campus.send() == {"sent": 1}
    assert len(campus.inbox.received) == 1 and campus.sms() == []


def test_a_template_naming_a_field_its_kind_lacks_is_refused_when_saved(campus: Campus) -> None:
    refused = campus.client.put("/api/v1/notifications/templates/receipt_issued/sms/zh_CN",
                                json={"body": "{student_name} 交了 {amount} 元，余额 {balance}"})
    assert refused.status_code == 422 and refused.json()["field"] == "body"
    ok(campus.client.put("/api/v1/notifications/templates/receipt_issued/sms/zh_CN",
                         json={"body": "收到{student_name}的学费{amount}元"}), 200)
    campus.family().pay(100000)
    assert campus.messages(channel="sms")[0]["body"] == "【北京海淀校区】收到李雷的学费1000.00元"


def test_birthdays_lessons_low_hours_expiry_and_absences_are_queued_once_when_due(campus: Campus) -> None:
    client = campus.client
    seeded = seed_student(client, name="王芳", phone="13900004444", expires_on="2030-01-15", hours_x100=450,
                          price_item=True)
    lesson = seeded.lesson("2030-01-06", "absent")  # yesterday: 1.5 hours deducted, 3 left
    campus.clock.now = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)  # 18:00: tomorrow's reminders are written
    ok(client.post(f"/api/v1/classes/{seeded.class_id}/lessons", json={
        "starts_at": "2030-01-08T09:00:00+08:00", "ends_at": "2030-01-08T10:30:00+08:00"}))
    ok(client.post("/api/v1/students", json={"name": "生日学员", "phone": "13900005555", "birthday": "2015-01-07"}))

    first = queue_due(campus.node.store, campus.node.ctx)
    again = queue_due(campus.node.store, campus.node.ctx)

    assert first == {"birthday": 1, "lesson_reminder": 1, "low_hours": 1, "contract_expiring": 1, "absence_alert": 1}
    assert again is None
    texts = {m["kind"]: m["body"] for m in campus.messages(channel="sms")}
    assert "王芳同学明天 01-08 09:00 有初二数学提高课" in texts["lesson_reminder"]
    assert "仅剩 3.00 课时" in texts["low_hours"] and "2030-01-15 到期" in texts["contract_expiring"]
    assert "01-06 09:00" in texts["absence_alert"]
    assert lesson
