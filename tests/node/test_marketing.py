"""Messages to staff and to segments on a real store: a lead's follow-up falling due is told to the
consultant who holds it (at the phone they gave (e-mail too where the campus sends it), without the lead's phone), once; a marketing
wording in Chinese and English is checked when saved and sent to the students of a class, all
studying students or the leads of a channel, one outbox row per address, opted-out families skipped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from campus.node.app import create_app
from campus.node.config import NodeConfig
from campus.node.notify.use_cases import queue_due
from campus.schema.tables import audit_events, outbox
from tests.conftest import sign_in
from tests.node.risk_helpers import ok, seed_student

MORNING = datetime(2030, 1, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing


@dataclass
class Campus:
    client: TestClient

    @property
    def node(self) -> Any:
        return self.client.app.state.node  # type: ignore[attr-defined]

    def messages(self, kind: str) -> list[tuple[str, str, str, str, str]]:
        with self.node.store.read() as conn:
            return [(r.channel, r.recipient, r.locale, r.status, r.body) for r in conn.execute(
                select(outbox).where(outbox.c.kind == kind).order_by(outbox.c.recipient, outbox.c.channel))]

    def lead(self, name: str, phone: str, channel: str) -> dict[str, Any]:
        return ok(self.client.post("/api/v1/leads", json={"name": name, "phone": phone, "channel": channel}))


@pytest.fixture
def campus(node_config: NodeConfig) -> Iterator[Campus]:
    config = replace(node_config, notify_worker_seconds=0)
    with TestClient(create_app(config, background_sync=False, clock=lambda: MORNING),
                    raise_server_exceptions=False) as client:
        sign_in(client)
        yield Campus(client)


def test_a_follow_up_falling_due_is_told_once_to_the_consultant_holding_the_lead(campus: Campus) -> None:
    ok(campus.client.put("/api/v1/notifications/my-address", json={"phone": "139 0000 9999",
                                                                   "email": "admin@example.com"}), 200)
    held = campus.lead("张三", "13800001234", "抖音")
    shared = campus.lead("李四", "13800005678", "抖音")
    ok(campus.client.post(f"/api/v1/leads/{held['id']}/claim"), 200)
    for lead in (held, shared):
        ok(campus.client.post(f"/api/v1/leads/{lead['id']}/follow-ups", json={
            "channel": "call", "content": "约了试听", "next_follow_up_on": "2030-01-07"}))

    first = queue_due(campus.node.store, campus.node.ctx)
    again = queue_due(campus.node.store, campus.node.ctx)

    assert (first or {}).get("follow_up_due") == 1 and again is None
    told = campus.messages("follow_up_due")
    assert [(channel, to, status) for channel, to, _, status, _ in told] == [("sms", "13900009999", "queued")]
    assert "张三（BJ01-L-000001）约定 2030-01-07 跟进" in told[0][4] and "13800001234" not in told[0][4]


def test_a_consultant_without_an_address_is_not_told_and_nothing_is_queued(campus: Campus) -> None:
    held = campus.lead("张三", "13800001234", "抖音")
    ok(campus.client.post(f"/api/v1/leads/{held['id']}/claim"), 200)
    ok(campus.client.post(f"/api/v1/leads/{held['id']}/follow-ups", json={
        "channel": "call", "content": "约了试听", "next_follow_up_on": "2030-01-06"}))

    assert queue_due(campus.node.store, campus.node.ctx) is None
    assert campus.messages("follow_up_due") == []


def test_a_marketing_wording_naming_a_field_it_does_not_have_is_refused_when_saved(campus: Campus) -> None:
    refused = campus.client.post("/api/v1/notifications/marketing/templates", json={
        "name": "春季班", "body_zh": "{name}家长您好，春季班开始报名", "body_en": "Dear {parent}, spring term is open"})

    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "body_en" in refused.text and "parent" in refused.text
    assert ok(campus.client.get("/api/v1/notifications/marketing/templates"), 200)["items"] == []


def test_marketing_to_a_class_reaches_its_families_only_and_skips_those_who_opted_out(campus: Campus) -> None:
    lilei = seed_student(campus.client, name="李雷", phone="13900001111", expires_on="2030-12-31")
    hanmei = seed_student(campus.client, name="韩梅梅", phone="13900002222", expires_on="2030-12-31",
                          price_item=False)
    wang = seed_student(campus.client, name="王芳", phone="13900003333", expires_on="2030-12-31", price_item=False)
    ok(campus.client.post("/api/v1/notifications/opt-outs", json={"student_id": wang.student["id"],
                                                                   "kind": "marketing", "opted_out": True}), 200)
    template = ok(campus.client.post("/api/v1/notifications/marketing/templates", json={
        "name": "春季班", "body_zh": "{name}家长您好，{campus_name}春季班开始报名", "body_en": "Dear {name}'s family"}))

    to_class = ok(campus.client.post("/api/v1/notifications/marketing/sends", json={
        "template_id": template["id"], "segment": {"audience": "students", "class_id": lilei.class_id}}))
    to_all = ok(campus.client.post("/api/v1/notifications/marketing/sends", json={
        "template_id": template["id"], "segment": {"audience": "students"}}))

    assert (to_class["recipients"], to_class["messages"], to_class["skipped"]) == (1, 1, 0)
    assert (to_all["recipients"], to_all["messages"], to_all["skipped"]) == (3, 3, 1)
    sent = campus.messages("marketing")
    name = campus.node.ctx.name
    assert [(to, status, body) for _, to, _, status, body in sent] == [
        ("13900001111", "queued", f"【{name}】李雷家长您好，{name}春季班开始报名"),
        ("13900001111", "queued", f"【{name}】李雷家长您好，{name}春季班开始报名"),
        ("13900002222", "queued", f"【{name}】韩梅梅家长您好，{name}春季班开始报名"),
        ("13900003333", "skipped", f"【{name}】王芳家长您好，{name}春季班开始报名")]
    assert hanmei.student["id"] != wang.student["id"]
    with campus.node.store.read() as conn:
        audited = [json.loads(r) if isinstance(r, str) else r for r in conn.execute(
            select(audit_events.c.after).where(audit_events.c.action == "marketing_sent")).scalars()]
    assert [(a["segment"], a["messages"]) for a in audited] == [
        ({"audience": "students", "class_id": lilei.class_id}, 1), ({"audience": "students"}, 3)]


def test_marketing_to_the_leads_of_a_channel_texts_each_of_them_once(campus: Campus) -> None:
    campus.lead("张三", "13800001234", "抖音")
    campus.lead("李四", "13800005678", "百度")
    template = ok(campus.client.post("/api/v1/notifications/marketing/templates", json={
        "name": "试听课", "body_zh": "{name}您好，本周六有免费试听课", "body_en": "Hello {name}, free trial Saturday"}))

    done = ok(campus.client.post("/api/v1/notifications/marketing/sends", json={
        "template_id": template["id"], "segment": {"audience": "leads", "channel": "抖音"}}))

    assert (done["recipients"], done["messages"]) == (1, 1)
    assert [(channel, to, body[-14:]) for channel, to, _, _, body in campus.messages("marketing")] == [
        ("sms", "13800001234", "张三您好，本周六有免费试听课")]


def test_a_lead_whose_phone_belongs_to_a_family_that_opted_out_is_not_texted_offers(campus: Campus) -> None:
    wang = seed_student(campus.client, name="王芳", phone="13900003333", expires_on="2030-12-31")
    ok(campus.client.post("/api/v1/notifications/opt-outs", json={"student_id": wang.student["id"],
                                                                   "kind": "marketing", "opted_out": True}), 200)
    campus.lead("王芳妈妈", "13900003333", "抖音")
    campus.lead("张三", "13800001234", "抖音")
    template = ok(campus.client.post("/api/v1/notifications/marketing/templates", json={
        "name": "试听课", "body_zh": "{name}您好，本周六有免费试听课", "body_en": "Hello {name}, free trial Saturday"}))

    done = ok(campus.client.post("/api/v1/notifications/marketing/sends", json={
        "template_id": template["id"], "segment": {"audience": "leads", "channel": "douyin"}}))

    assert (done["recipients"], done["messages"], done["skipped"]) == (2, 1, 1)
    assert [to for _, to, _, _, _ in campus.messages("marketing")] == ["13800001234"]


def test_a_segment_mixing_students_and_leads_is_refused_naming_the_field(campus: Campus) -> None:
    template = ok(campus.client.post("/api/v1/notifications/marketing/templates", json={
        "name": "试听课", "body_zh": "{name}您好", "body_en": "Hello {name}"}))

    refused = campus.client.post("/api/v1/notifications/marketing/sends", json={
        "template_id": template["id"], "segment": {"audience": "students", "pool": "private"}})

    assert refused.status_code == 422 and "segment.pool" in refused.text
    assert campus.messages("marketing") == []


def test_the_marketing_screen_sends_to_a_segment_and_says_how_many(campus: Campus) -> None:
    seed_student(campus.client, name="李雷", phone="13900001111", expires_on="2030-12-31")
    template = ok(campus.client.post("/api/v1/notifications/marketing/templates", json={
        "name": "春季班", "body_zh": "{name}家长您好", "body_en": "Dear {name}'s family"}))
    page = campus.client.get("/notifications/marketing")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]

    sent = campus.client.post("/notifications/marketing/sends", data={
        "csrf_token": token, "template_id": template["id"], "audience": "students", "grade": "", "class_id": "",
        "channel": "", "pool": ""})

    assert page.status_code == 200 and "春季班" in page.text and "按人群发送" in page.text
    assert sent.status_code == 200, sent.text[:3000]
    assert "已排队：共 1 人、1 条消息" in sent.text


def test_marketing_queued_in_the_evening_waits_for_the_end_of_quiet_hours(node_config: NodeConfig) -> None:
    from campus.node.notify.setup import senders_for
    from campus.node.notify.worker import send_due

    evening = datetime(2030, 1, 7, 14, 0, tzinfo=UTC)  # 22:00 in Beijing
    config = replace(node_config, notify_worker_seconds=0)
    with TestClient(create_app(config, background_sync=False, clock=lambda: evening),
                    raise_server_exceptions=False) as client:
        sign_in(client)
        campus = Campus(client)
        campus.lead("张三", "13800001234", "抖音")
        template = ok(client.post("/api/v1/notifications/marketing/templates", json={
            "name": "试听课", "body_zh": "{name}您好", "body_en": "Hello {name}"}))
        ok(client.post("/api/v1/notifications/marketing/sends", json={
            "template_id": template["id"], "segment": {"audience": "leads"}}))

        sent = send_due(campus.node.store, campus.node.ctx, senders_for(config))

        with campus.node.store.read() as conn:
            waiting = conn.execute(select(outbox.c.status, outbox.c.not_before)
                                   .where(outbox.c.kind == "marketing")).one()
    assert sent == {} and tuple(waiting) == ("queued", "2030-01-08T00:00:00Z")  # 08:00 the next morning
