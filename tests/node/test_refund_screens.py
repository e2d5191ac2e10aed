"""The refund screens in Simplified Chinese: a policy saved from its form, a quote and a request on
a contract, approval and payout from the refund's page, and the printable refund form (退费单)
showing every step of the calculation."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.node.teaching_helpers import set_up_school


def _csrf(client: TestClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def test_a_refund_goes_from_quote_to_printed_form_through_the_screens(node_client: TestClient) -> None:
    token = _csrf(node_client, "/refund-policies")
    form = {"csrf_token": token, "code": "STD", "name": "标准退费政策", "attach": "default",
            "tier0_label": "退课在开课前：扣除已付金额的10%", "tier0_action": "keep_paid", "tier0_max": "0",
            "tier0_rate": "10",
            "tier1_label": "已上课时不足50%：退还未上课时价值，扣20%手续费", "tier1_action": "keep_unconsumed",
            "tier1_max": "50", "tier1_rate": "20",
            "tier2_label": "已上课时达到50%及以上：不予退费", "tier2_action": "none", "tier2_min": "50"}
    saved = node_client.post("/refund-policies", data=form)
    assert saved.status_code == 200 and "标准退费政策" in saved.text and "扣除未消耗价值的比例" in saved.text
    school = set_up_school(node_client, students=1)
    student = school.students[0]
    node_client.post("/api/v1/payments", json={"contract_id": student["contract_id"], "amount_fen": 400000,
                                               "fund_account": "alipay"})
    contract_page = node_client.get(f"/contracts/{student['contract_id']}")
    assert "申请退费" in contract_page.text

    quoted = node_client.get(f"/contracts/{student['contract_id']}/refund",
                             params={"quote": "1", "line_id": student["line_id"]})
    assert quoted.status_code == 200
    assert "合同已付金额" in quoted.text and "适用退费规则" in quoted.text and "¥3600.00" in quoted.text

    requested = node_client.post(f"/contracts/{student['contract_id']}/refund", data={
        "csrf_token": token, "line_id": student["line_id"], "reason_category": "customer", "reason": "时间冲突"})
    assert requested.status_code == 200 and 'id="refund-status">待审批' in requested.text
    refund_path = requested.url.path
    assert refund_path.startswith("/refunds/")
    approved = node_client.post(f"{refund_path}/approve", data={"csrf_token": token})
    assert 'id="refund-status">已批准，待付款' in approved.text
    paid = node_client.post(f"{refund_path}/pay", data={"csrf_token": token, "fund_account": ""})
    assert 'id="refund-status">已付' in paid.text and "支付宝" in paid.text  # paid back by the original channel

    printed = node_client.get(f"{refund_path}/print")
    assert "退费单" in printed.text and "应退金额" in printed.text and "叁仟陆佰元整" in printed.text
    listing = node_client.get("/refunds")
    assert "客户原因" in listing.text and "全额退费" in listing.text
    report = node_client.get("/refunds/report")
    assert "退费率" in report.text and "¥3600.00" in report.text
    assert "已退费" in node_client.get(f"/contracts/{student['contract_id']}").text
