"""Staff lists page, sort and filter on the server: the page shows the total and where it is,
its links change one parameter and keep the others, and a bad parameter falls back to the default."""

from __future__ import annotations

import html
import re

from starlette.testclient import TestClient

from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.schema.tables import conflicts, outbox


def _column(page: str, table: str, cell: int) -> list[str]:
    body = page.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [re.sub(r"<[^>]+>", "", re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[cell]).strip() for row in rows]


def _links(page: str, rel: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(rf'<a href="([^"]+)" rel="{rel}"', page)]


def test_the_lead_list_pages_sorts_by_name_and_keeps_the_sort_in_its_links(node_client: TestClient) -> None:
    for k in range(23):
        made = node_client.post("/api/v1/leads", json={"name": f"学员{k:02d}", "phone": f"139000000{k:02d}",
                                                       "channel": "douyin" if k % 2 else "baidu"})
        assert made.status_code == 201, made.text

    first = node_client.get("/leads", params={"sort": "name", "dir": "asc", "size": "20"}).text

    assert _column(first, "leads", 1) == [f"学员{k:02d}" for k in range(20)]
    assert "共 23 条" in first and "第 1 / 2 页" in first
    assert _links(first, "next") == ["/leads?pool=lead&sort=name&dir=asc&size=20&page=2"]
    second = node_client.get(_links(first, "next")[0]).text
    assert _column(second, "leads", 1) == ["学员20", "学员21", "学员22"]
    assert _links(second, "prev") == ["/leads?pool=lead&sort=name&dir=asc&size=20"]
    assert 'aria-sort="ascending"' in second


def test_the_lead_list_filters_by_channel_and_search_together(node_client: TestClient) -> None:
    for k in range(6):
        node_client.post("/api/v1/leads", json={"name": f"张{k}同学", "phone": f"1380000{k:04d}",
                                                "channel": "douyin" if k % 2 else "baidu"})

    page = node_client.get("/leads", params={"channel": "douyin", "sort": "number", "dir": "asc"}).text
    assert _column(page, "leads", 1) == ["张1同学", "张3同学", "张5同学"]
    assert _column(page, "leads", 3) == ["抖音", "抖音", "抖音"]
    searched = node_client.get("/leads", params={"channel": "douyin", "q": "0003"}).text
    assert _column(searched, "leads", 1) == ["张3同学"] and "共 1 条" in searched
    assert 'name="channel"' in searched and '<option value="douyin" selected>' in searched


def test_a_list_given_parameters_it_does_not_offer_shows_its_default_order(node_client: TestClient) -> None:
    for k in range(3):
        node_client.post("/api/v1/students", json={"name": f"学生{k}", "phone": f"1370000000{k}"})

    page = node_client.get("/students", params={"sort": "password", "dir": "up", "page": "x", "size": "7",
                                                "status": "expelled"})

    assert page.status_code == 200
    assert _column(page.text, "students", 1) == ["学生2", "学生1", "学生0"]
    assert "共 3 条" in page.text and "第 1 / 1 页" in page.text


def test_the_student_list_sorts_by_name_and_filters_by_status(node_client: TestClient) -> None:
    made = [node_client.post("/api/v1/students", json={"name": name, "phone": f"1370000000{k}"}).json()
            for k, name in enumerate(("丙", "甲", "乙"))]
    assert node_client.post(f"/api/v1/students/{made[0]['id']}/admit").status_code == 200

    ordered = node_client.get("/students", params={"sort": "number", "dir": "asc"}).text
    pending = node_client.get("/students", params={"status": "pending", "sort": "number", "dir": "desc"}).text

    assert _column(ordered, "students", 1) == ["丙", "甲", "乙"]
    assert _column(pending, "students", 1) == ["乙", "甲"]


def test_the_audit_trail_pages_and_keeps_its_action_filter_in_the_links(node_client: TestClient) -> None:
    lead = node_client.post("/api/v1/leads", json={"name": "学员", "phone": "13900000100"}).json()
    for k in range(21):
        edited = node_client.patch(f"/api/v1/leads/{lead['id']}", json={"notes": f"第{k}次"})
        assert edited.status_code == 200, edited.text

    first = node_client.get("/audit", params={"action": "lead_edited", "size": "20"}).text

    assert "共 21 条" in first and "第 1 / 2 页" in first
    assert _links(first, "next") == ["/audit?action=lead_edited&size=20&page=2"]
    second = node_client.get(_links(first, "next")[0]).text
    assert len(_column(second, "audit", 1)) == 1 and '<option value="lead_edited" selected>' in second


def test_the_users_list_filters_by_role_and_finds_a_name(node_client: TestClient) -> None:
    for username, name, role in (("zhao", "赵顾问", "consultant"), ("qian", "钱老师", "teacher"),
                                 ("sun", "孙顾问", "consultant")):
        made = node_client.post("/api/v1/users", json={"username": username, "display_name": name,
                                                       "password": f"{username}-password", "roles": [{"role": role}]})
        assert made.status_code == 201, made.text

    consultants = node_client.get("/users", params={"role": "consultant", "sort": "username", "dir": "desc"}).text
    found = node_client.get("/users", params={"q": "老师"}).text

    assert _column(consultants, "users", 1) == ["赵顾问", "孙顾问"] and "共 2 条" in consultants
    assert _column(found, "users", 0) == ["qian"]


def test_the_ticket_list_sorts_by_number_filters_by_category_and_finds_a_title(node_client: TestClient) -> None:
    student = node_client.post("/api/v1/students", json={"name": "韩梅梅", "phone": "13900002222"}).json()
    for k, (category, subject) in enumerate((("complaint", "老师迟到"), ("question", "周末班几点上课"),
                                             ("complaint", "教室太冷"))):
        made = node_client.post("/api/v1/tickets", json={"category": category, "subject": subject,
                                                         "body": f"第{k}件", "student_id": student["id"]})
        assert made.status_code == 201, made.text

    complaints = node_client.get("/tickets", params={"category": "complaint", "sort": "number", "dir": "asc"}).text
    found = node_client.get("/tickets", params={"show": "all", "q": "周末"}).text

    assert _column(complaints, "ticket-list", 3) == ["老师迟到", "教室太冷"] and "共 2 条" in complaints
    assert _column(found, "ticket-list", 3) == ["周末班几点上课"]
    assert _links(complaints, "next") == [] and 'href="/tickets?show=unresolved&amp;category=complaint"' in complaints


def test_the_receipts_list_filters_by_fund_account_while_the_totals_count_the_whole_period(
        node_client: TestClient) -> None:
    student = node_client.post("/api/v1/students", json={"name": "韩梅梅", "phone": "13900002222"}).json()
    for fen, account in ((20000, "cash"), (50000, "wechat"), (30000, "wechat")):
        made = node_client.post("/api/v1/deposits", json={"student_id": student["id"], "amount_fen": fen,
                                                          "fund_account": account})
        assert made.status_code == 201, made.text

    page = node_client.get("/finance", params={"fund_account": "wechat", "sort": "amount", "dir": "desc"}).text

    assert _column(page, "receipts", 5) == ["¥500.00", "¥300.00"] and "共 2 条" in page
    assert re.search(r'id="total-received">¥1000\.00', page)


def test_the_conflicts_list_filters_by_kind_and_pages(node_client: TestClient, node_config: NodeConfig) -> None:
    store = NodeStore(node_config.database_path, node_config.node_id)
    with store.write() as conn:
        for k in range(23):
            conn.execute(conflicts.insert().values(
                id=f"c{k:02d}", campus_id=node_config.campus_id, kind="overdraft" if k % 2 else "concurrent_edit",
                table_name="leads", row_id=f"l{k}", detail=f"第{k:02d}个", detected_at=f"2026-12-01T08:{k:02d}:00Z"))
    store.close()

    overdrafts = node_client.get("/conflicts", params={"kind": "overdraft"}).text
    first = node_client.get("/conflicts", params={"size": "20"}).text

    assert "共 11 条" in overdrafts and "第22个" not in overdrafts and "第21个" in overdrafts
    assert "共 23 条" in first and _links(first, "next") == ["/conflicts?size=20&page=2"]
    assert first.index("第22个") < first.index("第21个")  # newest first
    assert "第02个" not in first and "第02个" in node_client.get(_links(first, "next")[0]).text


def test_the_message_outbox_pages_and_filters_by_kind(node_client: TestClient, node_config: NodeConfig) -> None:
    store = NodeStore(node_config.database_path, node_config.node_id)
    with store.write() as conn:
        for k in range(22):
            conn.execute(outbox.insert().values(
                id=f"m{k:02d}", campus_id=node_config.campus_id, kind="birthday" if k % 2 else "receipt_issued",
                channel="sms", recipient=f"1390000{k:04d}", locale="zh_CN", subject="", body=f"消息{k:02d}",
                dedupe_key=f"k{k}", status="sent", not_before="2026-12-01T08:00:00Z",
                created_at=f"2026-12-01T08:{k:02d}:00Z"))
    store.close()

    birthdays = node_client.get("/notifications", params={"kind": "birthday", "size": "20"}).text
    everything = node_client.get("/notifications", params={"size": "20"}).text

    assert "共 11 条" in birthdays and '<option value="birthday" selected>' in birthdays
    assert "共 22 条" in everything and _links(everything, "next") == ["/notifications?size=20&page=2"]


def test_the_list_controls_read_in_english_too(node_client: TestClient) -> None:
    node_client.post("/api/v1/leads", json={"name": "Li Na", "phone": "13912345678", "channel": "douyin"})

    page = node_client.get("/leads", params={"lang": "en"}).text

    assert "1 in all" in page and "Page 1 of 1" in page and "Per page" in page
    assert '<label for="filter-channel">Channel</label>' in page and '<option value="douyin">Douyin</option>' in page
