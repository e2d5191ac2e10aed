"""Campaigns (市场活动) from the screens: created with a channel, a period and a cost; leads linked
to them; the campaign's page lists its leads and how many are at each stage, in labels not codes."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.conftest import sign_in
from tests.node.risk_helpers import ok


def _csrf(client: TestClient, path: str = "/campaigns") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def _flash(page: str) -> str:
    return re.search(r'<div class="flash flash-(\w+)" role="status">([^<]*)</div>', page).group(2)


def test_a_campaign_is_created_leads_are_linked_and_its_page_counts_their_stages(node_client: TestClient) -> None:
    token = _csrf(node_client)
    created = node_client.post("/campaigns", data={"csrf_token": token, "name": "暑期地推", "channel": "event",
                                                   "starts_on": "2030-07-01", "ends_on": "2030-08-31", "cost": "3,000"})
    assert _flash(created.text) == "已创建市场活动 暑期地推"
    row = re.search(r'<tr><td><a href="/campaigns/([^"]+)">暑期地推</a>.*?</tr>', created.text, re.S)
    assert row and "地推" in row.group(0) and ">event<" not in row.group(0) and "¥3000.00" in row.group(0)
    assert "2030-07-01 – 2030-08-31" in row.group(0)
    campaign_id = row.group(1)
    first = ok(node_client.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"}))
    second = ok(node_client.post("/api/v1/leads", json={"name": "李娜", "phone": "13900139000"}))
    ok(node_client.post(f"/api/v1/leads/{second['id']}/claim"), 200)

    by_number = node_client.post(f"/campaigns/{campaign_id}/leads", data={"csrf_token": token,
                                                                           "lead": first["number"].lower()})
    by_phone = node_client.post(f"/campaigns/{campaign_id}/leads", data={"csrf_token": token, "lead": "13900139000"})
    unknown = node_client.post(f"/campaigns/{campaign_id}/leads", data={"csrf_token": token, "lead": "BJ01-L-999"})

    assert _flash(by_number.text) == f"线索 {first['number']} 已关联到该活动"
    assert _flash(by_phone.text) == f"线索 {second['number']} 已关联到该活动"
    assert _flash(unknown.text) == "线索:没有这个编号或电话的线索"
    stages = re.search(r'id="campaign-stages">(.*?)</ul>', by_phone.text, re.S).group(1)
    assert re.search(r"线索池</span> <strong>1</strong>", stages) and re.search(r"私有池</span> <strong>1</strong>", stages)
    leads = re.search(r'id="campaign-leads">(.*?)</table>', by_phone.text, re.S).group(1)
    assert "张伟" in leads and "李娜" in leads and "私有池" in leads and ">private<" not in leads
    assert "¥1500.00" in by_phone.text  # cost per lead
    listing = node_client.get("/campaigns").text
    assert re.search(r'暑期地推</a>.*?<td class="num">2</td><td class="num">0</td><td class="num">¥1500.00</td>',
                     listing, re.S)

    taken = node_client.post(f"/campaigns/{campaign_id}/leads/{first['id']}/remove", data={"csrf_token": token})
    assert _flash(taken.text) == f"线索 {first['number']} 已移出该活动"
    assert node_client.get(f"/api/v1/leads/{first['id']}").json()["campaign_id"] is None


def test_a_campaign_with_its_end_before_its_start_is_refused_naming_the_field(node_client: TestClient) -> None:
    refused = node_client.post("/campaigns", data={"csrf_token": _csrf(node_client), "name": "错误活动",
                                                   "starts_on": "2030-08-01", "ends_on": "2030-07-01"})
    assert _flash(refused.text) == "结束日期:结束日期必须晚于开始日期"
    nameless = node_client.post("/campaigns", data={"csrf_token": _csrf(node_client), "name": ""})
    assert _flash(nameless.text).startswith("活动名称:")
    assert node_client.get("/api/v1/campaigns").json()["items"] == []


def test_the_api_creates_and_links_with_the_same_use_cases_and_consultants_only_read(node_client: TestClient) -> None:
    made = ok(node_client.post("/api/v1/campaigns", json={"name": "抖音投放", "channel": "抖音", "cost_fen": 500000}))
    assert made["channel"] == "douyin"
    lead = ok(node_client.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"}))
    linked = node_client.put(f"/api/v1/leads/{lead['id']}/campaign", json={"campaign_id": made["id"]})
    assert linked.status_code == 200 and linked.json()["campaign_id"] == made["id"]
    assert node_client.put(f"/api/v1/leads/{lead['id']}/campaign", json={"campaign_id": "nope"}).status_code == 422
    view = node_client.get(f"/api/v1/campaigns/{made['id']}").json()
    assert view["total"] == 1 and dict(view["stages"])["lead"] == 1
    ok(node_client.post("/api/v1/users", json={"username": "wang", "display_name": "王", "password": "wang-pass-1",
                                               "roles": [{"role": "consultant"}]}))
    sign_in(node_client, "wang", "wang-pass-1")
    assert "抖音投放" in node_client.get("/campaigns").text and 'id="campaign-form"' not in node_client.get(
        "/campaigns").text
    assert node_client.post("/api/v1/campaigns", json={"name": "x"}).status_code == 403


def test_the_lead_page_names_its_campaign_and_links_it_to_another(node_client: TestClient) -> None:
    first = ok(node_client.post("/api/v1/campaigns", json={"name": "暑期地推", "channel": "event"}))
    second = ok(node_client.post("/api/v1/campaigns", json={"name": "抖音投放", "channel": "douyin"}))
    lead = ok(node_client.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"}))
    node_client.put(f"/api/v1/leads/{lead['id']}/campaign", json={"campaign_id": first["id"]})

    page = node_client.get(f"/leads/{lead['id']}").text
    assert f'<a href="/campaigns/{first["id"]}">暑期地推</a>' in page

    moved = node_client.post(f"/leads/{lead['id']}/campaign", data={
        "csrf_token": _csrf(node_client, f"/leads/{lead['id']}"), "campaign_id": second["id"]})
    assert _flash(moved.text) == "市场活动已保存"
    assert f'<a href="/campaigns/{second["id"]}">抖音投放</a>' in moved.text
    cleared = node_client.post(f"/leads/{lead['id']}/campaign", data={
        "csrf_token": _csrf(node_client, f"/leads/{lead['id']}"), "campaign_id": ""})
    assert node_client.get(f"/api/v1/leads/{lead['id']}").json()["campaign_id"] is None and "flash-error" not in cleared.text
