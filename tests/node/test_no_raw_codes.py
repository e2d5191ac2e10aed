"""No Chinese screen shows a stored code where a label belongs: channels, pools, moves, class
categories, lesson kinds and statuses, marks, sources, deliveries, fund accounts, payment kinds,
enrolment and student statuses, conflict kinds. Each screen is rendered with data holding every
kind of code, and its visible text (tags and attribute values stripped) is searched for them."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

from starlette.testclient import TestClient

from campus.node.config import NodeConfig
from campus.node.crm.leads import Channel
from campus.node.crm.pools import Move, Pool
from campus.node.store import NodeStore
from campus.node.teaching.attendance import MARKS
from campus.node.teaching.scheduling import ClassCategory
from tests.node.risk_helpers import ok
from tests.node.teaching_helpers import set_up_school

CODES = ({c.value for c in Channel} | {p.value for p in Pool} | {m.value for m in Move} | {c.value for c in ClassCategory}
         | set(MARKS) | {"regular", "makeup", "scheduled", "cancelled", "kiosk", "desk", "small_class", "one_on_one",
                         "cash", "wechat", "alipay", "bank", "pos", "deposit_applied", "payment", "transferred",
                         "active", "pending", "admitted", "concurrent_edit", "double_claim", "overdraft",
                         "over_refund", "follow_up_due", "about_to_return", "not_marked", "marked", "confirmed",
                         "no_students", "import_merge", "new", "renewal", "in_force"})


def visible_text(page: str) -> str:
    body = page.split("<main>", 1)[-1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<[^>]*>", " ", body)  # tags and their attribute values
    return unescape(body)


def raw_codes(page: str) -> set[str]:
    words = set(re.findall(r"(?<![\w-])[a-z][a-z_-]*[a-z](?![\w-])", visible_text(page)))
    return words & CODES


def test_every_screen_shows_labels_not_codes(node_client: TestClient, node_config: NodeConfig) -> None:
    school = set_up_school(node_client, students=2)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    day = today.isoformat()
    first, second = school.students
    lesson = school.lesson(school.class_id, f"{day}T08:00:00+08:00", f"{day}T09:30:00+08:00")
    school.lesson(school.class_id, f"{day}T10:00:00+08:00", f"{day}T11:30:00+08:00", kind="extra")
    ok(node_client.post(f"/api/v1/lessons/{lesson['id']}/marks", json={"student_id": first["id"], "mark": "late",
                                                                       "source": "desk"}))
    ok(node_client.post(f"/api/v1/lessons/{lesson['id']}/leave", json={"student_id": second["id"]}))
    ok(node_client.post("/api/v1/payments", json={"contract_id": first["contract_id"], "amount_fen": 10000,
                                                  "fund_account": "alipay"}))
    other = school.new_class("初二数学周末班", teacher=1, room=1)
    ok(node_client.post(f"/api/v1/enrolments/{second['enrolment']['id']}/transfer", json={
        "to_class_id": other, "on": (date.today() + timedelta(days=400)).isoformat()}))
    leads = [ok(node_client.post("/api/v1/leads", json={"name": f"线索{i}", "phone": f"1370000000{i}",
                                                        "channel": channel}))
             for i, channel in enumerate(("walk-in", "转介绍", "抖音"))]
    ok(node_client.post(f"/api/v1/leads/{leads[0]['id']}/claim"), 200)
    ok(node_client.post(f"/api/v1/leads/{leads[0]['id']}/invite"), 200)
    ok(node_client.post(f"/api/v1/leads/{leads[1]['id']}/claim"), 200)
    ok(node_client.post(f"/api/v1/leads/{leads[1]['id']}/return", json={"reason": "无意向"}), 200)
    ok(node_client.post("/api/v1/deposits", json={"lead_id": leads[2]["id"], "amount_fen": 50000,
                                                  "fund_account": "cash"}))
    campaign = ok(node_client.post("/api/v1/campaigns", json={"name": "暑期活动", "channel": "xiaohongshu"}))
    node_client.put(f"/api/v1/leads/{leads[0]['id']}/campaign", json={"campaign_id": campaign["id"]})
    store = NodeStore(node_config.database_path, node_config.node_id)
    try:
        with store.unit_of_work() as uow:
            uow.insert("conflicts", {"campus_id": node_config.campus_id, "kind": "concurrent_edit",
                                     "table_name": "leads", "row_id": leads[0]["id"], "field": "channel",
                                     "kept_value": json.dumps("walk-in"), "lost_value": json.dumps("event"),
                                     "detail": "two edits", "detected_at": "2026-12-01T02:00:00Z", "deleted": False})
    finally:
        store.close()

    pages = ["/", "/leads", *(f"/leads?pool={p.value}" for p in Pool), f"/leads/{leads[0]['id']}",
             f"/leads/{leads[1]['id']}", "/students", f"/students/{first['id']}", f"/contracts/{first['contract_id']}",
             "/schedule", "/timetable", "/classes", f"/classes/{school.class_id}", f"/lessons/{lesson['id']}",
             "/rooms", "/courses", "/campaigns", f"/campaigns/{campaign['id']}", "/reminders?state=all",
             "/kiosks", "/sync", "/finance"]
    found = {}
    for path in pages:
        response = node_client.get(path)
        assert response.status_code == 200, path
        if codes := raw_codes(response.text):
            found[path] = sorted(codes)
    # the conflicts page shows stored values as they are kept (JSON), beside the labelled kind
    conflicts = node_client.get("/conflicts").text
    assert raw_codes(re.sub(r"<pre>.*?</pre>", "", conflicts, flags=re.S)) == set()
    assert found == {}
