"""The student, contract, payment and receipt screens, in Chinese by default."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from starlette.testclient import TestClient


def _csrf(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_a_student_is_admitted_signed_and_paid_through_the_screens(node_client: TestClient) -> None:
    item = node_client.post("/api/v1/price-list/items", json={"grade": "初二", "subject": "数学", "level": "提高",
                                                              "delivery": "small_class", "unit_price_fen": 18000}).json()
    node_client.post("/api/v1/price-list/products", json={"code": "MATH8-10", "name": "初二数学 10 课时",
                                                          "price_item_id": item["id"], "hours_x100": 1000,
                                                          "gift_hours_x100": 100})
    token = _csrf(node_client, "/students/new")
    admitted = node_client.post("/students/new", data={
        "csrf_token": token, "name": "王小明", "phone": "13800138000", "grade": "初二",
        "guardian_name": "王父", "guardian_relation": "父亲", "guardian_phone": "13700137000"})
    assert admitted.status_code == 200 and "学员 BJ01-S-000001 已建档" in admitted.text
    assert "课时账户" in admitted.text and "签约" in admitted.text
    card = re.search(r'id="check-in-card"><svg[^>]*class="segno"><title>([^<]+)</title>', admitted.text)
    assert card and card.group(1) == "BJ01-S-000001"  # the QR code a kiosk scanner reads
    student_path = str(admitted.url.path)

    product_id = re.search(r'<option value="([^"]+)">MATH8-10', admitted.text).group(1)
    signed = node_client.post(f"{student_path}/contracts", data={"csrf_token": token, "product_id": product_id,
                                                                 "manual_discount": "100.00"})
    assert "合同 BJ01-C-000001 已签订" in signed.text
    assert re.search(r'id="contract-arrears">¥1,?700\.00<', signed.text), signed.text

    paid = node_client.post(f"{signed.url.path}/payments", data={"csrf_token": token, "amount": "700.50",
                                                                 "fund_account": "wechat"})
    assert "收款成功：收据 BJ01-R-000001" in paid.text
    assert re.search(r'id="contract-arrears">¥999\.50<', paid.text)
    receipt_path = re.search(r'href="(/receipts/[^"]+)">BJ01-R-000001', paid.text).group(1)
    receipt = node_client.get(receipt_path)
    assert "收据" in receipt.text and "¥700.50" in receipt.text and "微信支付" in receipt.text

    too_much = node_client.post(f"{signed.url.path}/payments", data={"csrf_token": token, "amount": "5000",
                                                                     "fund_account": "cash"})
    assert "flash-error" in too_much.text
    account = node_client.get(f"/api/v1/students/{student_path.rsplit('/', 1)[1]}/account").json()
    assert account["remaining"]["value_fen"] == 170000 and account["remaining"]["hours_x100"] == 1100


def test_price_list_imports_from_xlsx_with_a_result_per_row(node_client: TestClient) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["年级", "科目", "层级", "授课方式", "课时单价"])
    sheet.append(["初三", "物理", "培优", "一对一", 300])
    sheet.append(["初三", "化学", "培优", "小班", "150.50"])
    sheet.append(["初三", "生物", "培优", "火星课", 100])
    sheet.append(["初三", "语文", "培优", "大班", "1.234"])
    upload = io.BytesIO()
    book.save(upload)

    response = node_client.post("/api/v1/price-list/import",
                                files={"file": ("prices.xlsx", upload.getvalue())})

    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["set"], result["rejected"]) == (2, 2)
    assert [r["field"] for r in result["results"] if r["outcome"] == "rejected"] == ["delivery", "unit_price"]
    items = {(i["subject"], i["delivery"]): i["unit_price_fen"]
             for i in node_client.get("/api/v1/price-list").json()["items"]}
    assert items == {("物理", "one_on_one"): 30000, ("化学", "small_class"): 15050}
    page = node_client.get("/price-list")
    assert "价目表" in page.text and "¥150.50" in page.text and "一对一" in page.text


def test_the_finance_screen_is_for_finance_and_managers_and_totals_each_fund_account(node_client: TestClient) -> None:
    item = node_client.post("/api/v1/price-list/items", json={"grade": "初二", "subject": "数学", "level": "提高",
                                                              "delivery": "small_class", "unit_price_fen": 10000}).json()
    assert item["id"]
    student = node_client.post("/api/v1/students", json={"name": "王小明"}).json()
    node_client.post("/api/v1/deposits", json={"student_id": student["id"], "amount_fen": 20000,
                                               "fund_account": "wechat"})
    contract = node_client.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "hours_x100": 1000}]}).json()
    node_client.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 30050,
                                               "fund_account": "wechat"})
    node_client.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 10000,
                                               "fund_account": "cash"})
    page = node_client.get("/finance")
    assert "收款" in page.text
    assert re.search(r"微信支付</td><td class=\"num\">¥500\.50<", page.text)
    assert re.search(r"现金</td><td class=\"num\">¥100\.00<", page.text)
    assert 'id="total-received">¥600.50<' in page.text

    for role, allowed in (("consultant", False), ("teacher", False), ("finance", True)):
        node_client.post("/api/v1/users", json={"username": f"u-{role}", "display_name": role,
                                                "password": f"{role}-password-1", "roles": [{"role": role}]})
        token = node_client.post("/api/v1/auth/token", json={"username": f"u-{role}", "password": f"{role}-password-1"})
        seen = node_client.get("/finance", headers={"Authorization": f"Bearer {token.json()['token']}"})
        assert (seen.status_code == 200) is allowed, role


def test_a_lead_pays_a_deposit_and_becomes_a_student_through_the_screens(node_client: TestClient) -> None:
    lead = node_client.post("/api/v1/leads", json={"name": "李娜", "phone": "13912345678"}).json()
    node_client.post(f"/api/v1/leads/{lead['id']}/claim")
    page = node_client.get(f"/leads/{lead['id']}")
    assert 'data-move="deposit"' not in page.text  # no bare move: the deposit is taken with its money
    token = _csrf(node_client, f"/leads/{lead['id']}")

    paid = node_client.post(f"/leads/{lead['id']}/deposit", data={"csrf_token": token, "amount": "500",
                                                                  "fund_account": "alipay"})
    assert "已收订金：收据 BJ01-R-000001" in paid.text
    assert node_client.get(f"/api/v1/leads/{lead['id']}").json()["pool"] == "deposit"
    bad = node_client.post(f"/leads/{lead['id']}/deposit", data={"csrf_token": token, "amount": "12.345",
                                                                 "fund_account": "alipay"})
    assert "flash-error" in bad.text

    admitted = node_client.post(f"/students/new?lead={lead['id']}", data={"csrf_token": token, "lead_id": lead["id"]})
    assert "学员 BJ01-S-000001 已建档" in admitted.text and "李娜" in admitted.text
    assert "抵扣订金 BJ01-R-000001" in admitted.text  # offered at signing


def test_a_student_deposit_taken_on_the_student_page_is_offered_at_signing(node_client: TestClient) -> None:
    student = node_client.post("/api/v1/students", json={"name": "赵敏"}).json()
    token = _csrf(node_client, f"/students/{student['id']}")
    paid = node_client.post(f"/students/{student['id']}/deposits", data={"csrf_token": token, "amount": "300",
                                                                         "fund_account": "cash"})
    assert "已收订金：收据 BJ01-R-000001" in paid.text
    assert "抵扣订金 BJ01-R-000001（剩余 ¥300.00）" in paid.text
