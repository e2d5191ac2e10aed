"""Two campuses take money while offline; after sync every receipt number is unique everywhere,
and the hub's price list reached both campuses (which cannot change it themselves)."""

from __future__ import annotations

from tests.e2e.sync_helpers import Campus, Group, differences

PAYMENTS_PER_CAMPUS = 12


def _take_money(campus: Campus, product_id: str) -> list[str]:
    receipts = []
    for k in range(PAYMENTS_PER_CAMPUS // 3):
        student = campus.http.post("/api/v1/students", json={"name": f"学员{k}", "phone": f"1390000{k:04d}"}).json()
        deposit = campus.http.post("/api/v1/deposits", json={"student_id": student["id"], "amount_fen": 20000,
                                                              "fund_account": "wechat"}).json()
        contract = campus.http.post("/api/v1/contracts", json={
            "student_id": student["id"], "lines": [{"product_id": product_id}], "deposit_ids": [deposit["id"]]})
        assert contract.status_code == 201, contract.text
        payment = campus.http.post("/api/v1/payments", json={"contract_id": contract.json()["id"],
                                                             "amount_fen": 100000, "fund_account": "cash"}).json()
        receipts += [deposit["receipt_number"], contract.json()["payments"][0]["receipt_number"],
                     payment["receipt_number"]]
    return receipts


def test_receipts_issued_offline_at_two_campuses_stay_unique_after_sync(group: Group) -> None:
    hub = group.hub_http
    item = hub.post("/api/v1/price-list/items", json={"grade": "初二", "subject": "数学", "level": "提高",
                                                      "delivery": "small_class", "unit_price_fen": 18000}).json()
    product = hub.post("/api/v1/price-list/products", json={
        "code": "MATH8-48", "name": "初二数学 48 课时", "price_item_id": item["id"], "hours_x100": 4800}).json()
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    bj.sync(), sh.sync()
    assert bj.http.get("/api/v1/price-list").json()["products"][0]["code"] == "MATH8-48"
    refused = sh.http.post("/api/v1/price-list/items", json={"grade": "初二", "subject": "数学", "level": "提高",
                                                             "delivery": "small_class", "unit_price_fen": 1})
    assert refused.status_code == 409  # an enrolled campus's price list is headquarters'

    issued = _take_money(bj, product["id"]) + _take_money(sh, product["id"])  # neither has synced since
    bj.sync(), sh.sync(), bj.sync()

    assert len(issued) == len(set(issued)) == 2 * PAYMENTS_PER_CAMPUS
    with group.hub_store.read() as conn:
        at_hub = [r[0] for r in conn.exec_driver_sql("select receipt_number from payments")]
    assert sorted(at_hub) == sorted(issued)
    for campus in (bj, sh):  # a campus holds its own campus's payments
        with campus.store().read() as conn:
            held = conn.exec_driver_sql("select count(distinct receipt_number) from payments").scalar_one()
        assert held == PAYMENTS_PER_CAMPUS
    assert differences(group) == {"BJ01": [], "SH01": []}
    report = {row["campus_code"]: row for row in group.hub_http.get("/api/v1/reports/campuses").json()["items"]}
    students = PAYMENTS_PER_CAMPUS // 3
    per_campus = (students * 864000, students * 120000)  # each student: list price; deposit + instalment
    assert (report["BJ01"]["tuition_fen"], report["BJ01"]["received_fen"]) == per_campus
    assert report["ALL"]["received_fen"] == 2 * per_campus[1]
    console = group.hub_http.get("/").text
    assert "签约金额" in console and "¥69120.00" in console  # the group's tuition at the hub console
    audit = group.hub_http.get("/api/v1/audit", params={"action": "price_changed"}).json()["items"]
    assert len(audit) == 2 and all(a["client_ip"] == "127.0.0.1" for a in audit)  # the price and the product
