"""The node's home page (the workbench) and its sync page: campus name, change-log head and sync
state, in Chinese by default."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient


def test_sync_page_shows_campus_head_and_sync_state_in_chinese(node_client: TestClient) -> None:
    node_client.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"})

    page = node_client.get("/sync")

    assert page.status_code == 200
    assert "北京海淀校区" in page.text
    assert "变更日志" in page.text
    # campus row, first admin and their role, the audited sign-in, and the lead
    assert '<dd id="head-seq">5</dd>' in page.text
    assert "未接入总部" in page.text


def test_english_is_chosen_with_lang_and_remembered(node_client: TestClient) -> None:
    first = node_client.get("/?lang=en")
    again = node_client.get("/sync")

    assert "Workbench" in first.text and "工作台" not in first.text
    assert first.cookies.get("campus_lang") == "en"
    assert "Change log" in again.text and "变更日志" not in again.text


def test_static_stylesheet_is_served_by_the_app(node_client: TestClient) -> None:
    response = node_client.get("/static/app.css")

    assert response.status_code == 200
    assert "Noto Sans CJK SC" in response.text


def test_healthz_reports_campus_and_head(node_client: TestClient) -> None:
    # campus row, first admin and their role, the audited sign-in
    assert node_client.get("/healthz").json() == {"status": "ok", "role": "node", "campus": "BJ01", "head_seq": 4}


def test_conflicts_page_says_there_are_none_in_chinese(node_client: TestClient) -> None:
    page = node_client.get("/conflicts")

    assert page.status_code == 200
    assert "没有待处理的冲突" in page.text


def _csrf(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_new_lead_form_shows_field_errors_in_chinese_and_writes_nothing(node_client: TestClient) -> None:
    page = node_client.post("/leads/new", data={"name": "赵敏", "phone": "12345",
                                                "csrf_token": _csrf(node_client, "/leads/new")})

    assert page.status_code == 422
    assert "不是有效的手机号或带区号的固定电话" in page.text
    assert 'value="赵敏"' in page.text  # what was typed is kept
    assert node_client.get("/api/v1/leads").json()["total"] == 0


def test_new_lead_form_creates_the_lead_and_flashes_its_number_once(node_client: TestClient) -> None:
    response = node_client.post("/leads/new", data={"name": "张伟", "phone": "138 0013 8000",
                                                    "csrf_token": _csrf(node_client, "/leads/new")})

    assert response.status_code == 200  # followed the 303 to the home page
    assert "已创建线索 BJ01-L-000001" in response.text
    assert "已创建线索" not in node_client.get("/").text


def test_a_form_posted_without_its_csrf_token_is_refused_and_writes_nothing(node_client: TestClient) -> None:
    response = node_client.post("/leads/new", data={"name": "张伟", "phone": "13800138000"})

    assert response.status_code == 403
    assert node_client.get("/api/v1/leads").json()["total"] == 0


def test_audit_screen_lists_sign_ins_with_ip_and_filters_by_action(node_client: TestClient) -> None:
    node_client.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong-password"})

    everything = node_client.get("/audit")
    failures = node_client.get("/audit?action=login_failed")

    assert everything.status_code == 200 and "审计日志" in everything.text
    assert everything.text.count("<td>登录</td>") == 1 and "<td>登录失败</td>" in everything.text  # labels, not codes
    assert "<td>登录</td>" not in failures.text and failures.text.count("<td>登录失败</td>") == 1
    assert "testclient" in everything.text  # the client address the request came from


def test_pool_tabs_show_counts_and_the_import_page_reports_every_row(node_client: TestClient) -> None:
    node_client.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"})
    token = _csrf(node_client, "/leads/import")
    data = Path(__file__).parents[1] / "data" / "leads" / "leads-gbk.csv"

    tabs = node_client.get("/leads").text
    with data.open("rb") as upload:
        preview = node_client.post("/leads/import", data={"csrf_token": token},
                                   files={"file": ("leads-gbk.csv", upload)})
    page = node_client.post(str(preview.url.path), data={"csrf_token": token, "action": "import", "mode": "rows"})

    assert "线索池 <span class=\"count\">1</span>" in tabs
    assert page.status_code == 200
    assert "共 28 行:新建 16,合并 5,拒绝 7" in page.text  # 张伟's phone was already a lead
    assert page.text.count('class="outcome-rejected"') == 7
