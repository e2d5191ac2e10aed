"""The products (课时包) on the price-list screen: made through the price-list use case, listed in
labels, and a refused field named beside it with what was typed kept."""

from __future__ import annotations

import re

from sqlalchemy import select
from starlette.testclient import TestClient

from campus.hub.app import create_app as create_app_of_hub
from campus.hub.config import HubConfig
from campus.node.app import create_app as create_app_of_node
from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.schema.tables import audit_events
from tests.conftest import sign_in


def _csrf(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def _price(client: TestClient) -> str:
    item = client.post("/api/v1/price-list/items", json={"grade": "初二", "subject": "数学", "level": "提高",
                                                         "delivery": "small_class", "unit_price_fen": 18050})
    return str(item.json()["id"])


def _products_table(html: str) -> str:
    return html[html.index('<table id="products">'):].split("</table>", 1)[0]


def _error_of(html: str, field_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field_id}-error" role="alert">([^<]*)</p>', html)
    return found.group(1) if found else ""


def _audited(config: NodeConfig, action: str) -> int:
    store = NodeStore(config.database_path, config.node_id)
    try:
        with store.read() as conn:
            return len(conn.execute(select(audit_events.c.id).where(audit_events.c.action == action)).all())
    finally:
        store.close()


def test_a_product_typed_on_the_price_list_screen_is_saved_in_hundredths_and_listed_in_labels(
        node_client: TestClient, node_config: NodeConfig) -> None:
    item_id = _price(node_client)
    token = _csrf(node_client, "/price-list")
    before = _audited(node_config, "price_changed")

    saved = node_client.post("/price-list/products", data={
        "csrf_token": token, "code": "MATH8-20", "name": "初二数学 20 课时", "price_item_id": item_id,
        "hours": "20", "gift_hours": "1.5", "validity_days": "180", "prepaid_rule": "warn"}, follow_redirects=False)

    assert saved.status_code == 303 and saved.headers["location"] == "/price-list#products"
    product = node_client.get("/api/v1/price-list").json()["products"][0]
    assert (product["code"], product["name"], product["price_item_id"]) == ("MATH8-20", "初二数学 20 课时", item_id)
    assert (product["hours_x100"], product["gift_hours_x100"], product["validity_days"]) == (2000, 150, 180)
    assert product["prepaid_rule"] == "warn"
    assert _audited(node_config, "price_changed") == before + 1
    page = node_client.get("/price-list")
    assert "已保存课时包 MATH8-20" in page.text
    row = re.sub(r"\s+", " ", _products_table(page.text))
    assert ("<td>MATH8-20</td><td>初二数学 20 课时</td><td>初二 · 数学 · 提高 · 小班</td>"
            '<td class="num">20.00</td> <td class="num">1.50</td><td class="num">¥3610.00</td>') in row
    assert "<td>适用：合同违规时提示</td><td>是</td>" in row
    assert "small_class" not in row and ">warn<" not in row  # labels, never the stored codes
    student = node_client.post("/api/v1/students", json={"name": "王小明"}).json()
    signing = node_client.get(f"/students/{student['id']}")
    assert re.search(r'<option value="[^"]+">MATH8-20 · 初二数学 20 课时</option>', signing.text)


def test_saving_a_listed_code_again_changes_that_product(node_client: TestClient) -> None:
    item_id = _price(node_client)
    token = _csrf(node_client, "/price-list")
    for hours in ("20", "30"):
        node_client.post("/price-list/products", data={"csrf_token": token, "code": "MATH8", "name": "初二数学",
                                                       "price_item_id": item_id, "hours": hours})
    products = node_client.get("/api/v1/price-list").json()["products"]
    assert [(p["code"], p["hours_x100"], p["gift_hours_x100"], p["validity_days"], p["prepaid_rule"])
            for p in products] == [("MATH8", 3000, 0, 365, "off")]


def test_a_refused_product_field_is_named_beside_it_and_what_was_typed_stays(node_client: TestClient) -> None:
    item_id = _price(node_client)
    token = _csrf(node_client, "/price-list")
    good = {"csrf_token": token, "code": "MATH8-20", "name": "初二数学 20 课时", "price_item_id": item_id,
            "hours": "20", "gift_hours": "", "validity_days": "365", "prepaid_rule": "off"}
    cases = [
        ({"hours": "abc"}, "prod-hours", "课时：大于 0 且不超过 10000，例如 20 或 1.5"),
        ({"hours": "0"}, "prod-hours", "课时：大于 0 且不超过 10000，例如 20 或 1.5"),
        ({"hours": "1.234"}, "prod-hours", "课时：大于 0 且不超过 10000，例如 20 或 1.5"),
        ({"gift_hours": "-1"}, "prod-gift", "赠送课时：0 至 10000，例如 2 或 0.5"),
        ({"code": "  "}, "prod-code", "编码：1 至 32 个字符，例如 MATH8-20"),
        ({"name": "x" * 101}, "prod-name", "课时包名称：1 至 100 个字符"),
        ({"price_item_id": "no-such-item"}, "prod-item", "价目：请从价目表中选择"),
        ({"validity_days": "0"}, "prod-validity", "有效期（天）：1 至 3660 的整数"),
        ({"prepaid_rule": "sometimes"}, "prod-prepaid", "预收费监管：请从列表中选择"),
    ]
    for changed, field_id, said in cases:
        refused = node_client.post("/price-list/products", data={**good, **changed})
        assert refused.status_code == 422, changed
        assert _error_of(refused.text, field_id) == said, changed
        assert f'id="{field_id}"' in refused.text and 'aria-invalid="true"' in refused.text
        assert refused.text.count('class="field-error"') == 1, changed  # only the field at fault
        assert 'value="初二数学 20 课时"' in refused.text or "name" in changed  # what was typed stays
    assert node_client.get("/api/v1/price-list").json()["products"] == []

    english = node_client.post("/price-list/products?lang=en", data={**good, "hours": "0"})
    assert _error_of(english.text, "prod-hours") == "Hours: more than 0 and at most 10000, e.g. 20 or 1.5"


def test_only_who_may_manage_prices_can_add_a_product(node_client: TestClient) -> None:
    item_id = _price(node_client)
    node_client.post("/api/v1/users", json={"username": "zhao", "display_name": "赵顾问",
                                            "password": "zhao-password-1", "roles": [{"role": "consultant"}]})
    consultant = node_client.post("/api/v1/auth/token", json={"username": "zhao", "password": "zhao-password-1"})
    headers = {"Authorization": f"Bearer {consultant.json()['token']}"}
    page = node_client.get("/price-list", headers=headers)
    assert page.status_code == 200 and 'id="product-form"' not in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    refused = node_client.post("/price-list/products", headers=headers, data={
        "csrf_token": token, "code": "MATH8", "name": "初二数学", "price_item_id": item_id, "hours": "10"})
    assert refused.status_code == 403
    assert node_client.get("/api/v1/price-list").json()["products"] == []


def test_headquarters_adds_a_product_on_the_hubs_price_list_screen(hub_config: HubConfig) -> None:
    with TestClient(create_app_of_hub(hub_config), raise_server_exceptions=False) as client:
        sign_in(client)
        item_id = _price(client)
        saved = client.post("/price-list/products", data={
            "csrf_token": _csrf(client, "/price-list"), "code": "ENG-40", "name": "英语 40 课时",
            "price_item_id": item_id, "hours": "40", "gift_hours": "4"})
        products = client.get("/api/v1/price-list").json()["products"]

    assert "已保存课时包 ENG-40" in saved.text
    assert [(p["code"], p["hours_x100"], p["gift_hours_x100"]) for p in products] == [("ENG-40", 4000, 400)]
    assert "¥7220.00" in _products_table(saved.text)  # 40 h at ¥180.50; the gift hours are free


def test_a_campus_enrolled_with_a_hub_shows_products_but_no_form_and_refuses_a_posted_one(
        node_config: NodeConfig) -> None:
    app = create_app_of_node(node_config)
    app.state.manages_price_list = False  # as create_app sets it for a node with a hub: the list is kept at HQ
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client)
        page = client.get("/price-list")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        refused = client.post("/price-list/products", data={"csrf_token": token, "code": "MATH8", "name": "初二数学",
                                                             "price_item_id": "x", "hours": "10"})

    assert page.status_code == 200 and 'id="products"' in page.text and 'id="product-form"' not in page.text
    assert "flash-error" in refused.text and "本校区已接入总部：价目表由总部维护" in refused.text
