"""The hub's group books over real nodes, real pushes and real HTTP on loopback: after every merge
the roll-ups equal a GROUP BY of the journal lines, each campus's journal at the hub equals the one
its node derives, and consolidation eliminates the settlement between two campuses."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from campus.hub.books import rollups
from campus.hub.books.rollups import BooksKeeper
from campus.schema.tables import hub_book_rollups, hub_journal_lines
from tests.e2e.sync_helpers import Campus, Group
from tests.e2e.test_cross_campus import LINE, _teach

EVERY_MONTH = {"from": "2020-01", "to": "2035-12"}


def _ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


def keeper(group: Group) -> BooksKeeper:
    return group.hub_server.server.config.app.state.books  # type: ignore[attr-defined]


def rollups_and_group_by(group: Group) -> tuple[dict[tuple, tuple[int, int]], dict[tuple, tuple[int, int]]]:
    with group.hub_store.read() as conn:
        held = {(r.campus_id, r.period, r.account): (int(r.debit_fen), int(r.credit_fen))
                for r in conn.execute(select(hub_book_rollups))}
        line = hub_journal_lines.c
        summed = {(c, p, a): (int(d), int(k)) for c, p, a, d, k in conn.execute(
            select(line.campus_id, line.period, line.account, func.sum(line.debit_fen), func.sum(line.credit_fen))
            .group_by(line.campus_id, line.period, line.account))}
    return held, summed


def settle(group: Group) -> None:
    """Bring the hub's books up to what was merged, and check them against a recompute."""
    keeper(group).run_once()
    held, summed = rollups_and_group_by(group)
    assert held == summed
    assert rollups.verify(group.hub_store) == []


def same_journal_at_node_and_hub(group: Group, campus: Campus) -> list:
    campus_id = campus.config.campus_id
    with campus.store().read() as conn:
        at_node = sorted(rollups.derive(conn, campus_id), key=lambda e: e.id)
    with group.hub_store.read() as conn:
        at_hub = sorted(rollups.stored_journal(conn, campus_id), key=lambda e: e.id)
    assert at_hub == at_node
    return at_hub


def sync_round(group: Group, *campuses: Campus) -> None:
    for campus in campuses:
        campus.sync()
        settle(group)


def test_two_campuses_one_teaching_the_others_student_consolidate(any_group: Group) -> None:
    group = any_group
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    _ok(group.hub_http.post("/api/v1/price-list/items", json={**LINE, "unit_price_fen": 20000}))
    sync_round(group, bj, sh)
    student = _ok(bj.http.post("/api/v1/students", json={"name": "王小明", "phone": "13800138000", "guardians": [
        {"name": "王父", "relation": "father", "phone": "13700137000"}]}))
    sync_round(group, bj)
    contract = _ok(bj.http.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {**LINE, "hours_x100": 300, "study_campus_id": sh.config.campus_id}]}))
    line_id = contract["lines"][0]["id"]
    sync_round(group, bj, sh)

    # Offline at both: Shanghai takes ¥100 on Beijing's contract and teaches a 1.5-hour lesson (¥300);
    # Beijing takes ¥500 by bank and teaches one lesson too.
    _ok(sh.http.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 10000,
                                               "fund_account": "cash"}))
    _ok(bj.http.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 50000,
                                               "fund_account": "bank"}))
    _teach(sh, student["id"], line_id, ["2030-01-05"])
    _teach(bj, student["id"], line_id, ["2030-01-06"])
    sync_round(group, sh, bj, sh, bj)

    bj_entries = same_journal_at_node_and_hub(group, bj)
    sh_entries = same_journal_at_node_and_hub(group, sh)
    assert {e.rule for e in sh_entries} == {"receipt.transfer", "teaching_settlement"}
    assert "consumption" in {e.rule for e in bj_entries}

    income = _ok(group.hub_http.get("/api/v1/books/income-statement", params=EVERY_MONTH), 200)
    by_code = {c["campus_code"]: c["total"] for c in income["campuses"]}
    assert (by_code["BJ01"]["revenue_fen"], by_code["BJ01"]["expenses_fen"]) == (60000, 15000)
    assert (by_code["SH01"]["revenue_fen"], by_code["SH01"]["expenses_fen"]) == (15000, 0)
    eliminated = income["eliminations"]["total"]
    assert (eliminated["revenue_fen"], eliminated["expenses_fen"], eliminated["profit_fen"]) == (15000, 15000, 0)
    assert income["group"]["total"] == {"revenue_fen": 60000, "expenses_fen": 0, "profit_fen": 60000,
                                        "by_account": {"6001": 60000}}
    assert sum(month["profit_fen"] for month in income["group"]["months"]) == 60000

    sheet = _ok(group.hub_http.get("/api/v1/books/balance-sheet", params={"period": "2035-12"}), 200)
    campuses = {c["campus_code"]: c for c in sheet["campuses"]}
    assert campuses["BJ01"]["liabilities"]["1221.SH01"] == 5000  # owes Shanghai its share less the ¥100 taken
    assert campuses["SH01"]["assets"]["1221.BJ01"] == 5000
    assert campuses["SH01"]["funds"] == {"1001": 10000} and campuses["BJ01"]["funds"] == {"1002": 50000}
    assert sheet["group"]["funds"] == {"1001": 10000, "1002": 50000}
    assert not any(code.startswith("1221") for part in ("assets", "liabilities") for code in sheet["group"][part])
    assert sheet["group"]["balanced"] and all(c["balanced"] for c in sheet["campuses"])
    assert all(row["balanced"] for row in sheet["books_balance"])

    trial = _ok(group.hub_http.get("/api/v1/books/trial-balance", params=EVERY_MONTH), 200)
    assert trial["group"]["total"]["balanced"] and all(c["total"]["balanced"] for c in trial["campuses"])
    group_rows = {r["code"]: r for r in trial["group"]["rows"]}
    assert "1221.SH01" not in group_rows and group_rows["6001"]["closing_fen"] == -60000
    assert group_rows["6001"]["name_zh"] == "主营业务收入"

    settlement = next(e for e in sh_entries if e.rule == "teaching_settlement")
    journal = _ok(group.hub_http.get("/api/v1/books/journal", params={"campus": "SH01",
                                                                     "period": settlement.period}), 200)
    shown = next(e for e in journal["items"] if e["id"] == settlement.id)
    assert shown["lines"][0] == {"account": "1221.BJ01", "account_name": "内部往来—BJ01", "debit_fen": 15000,
                                 "credit_fen": 0, "contract_id": settlement.lines[0].contract_id}


def test_the_background_job_follows_pushes_without_being_asked(group: Group) -> None:
    bj = group.campuses["BJ01"]
    _ok(group.hub_http.post("/api/v1/price-list/items", json={**LINE, "unit_price_fen": 20000}))
    bj.sync()
    student = _ok(bj.http.post("/api/v1/students", json={"name": "李雷", "phone": "13800138001", "guardians": [
        {"name": "李母", "relation": "mother", "phone": "13700137001"}]}))
    contract = _ok(bj.http.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {**LINE, "hours_x100": 1000}]}))
    _ok(bj.http.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 200000,
                                               "fund_account": "wechat"}))
    bj.sync()

    deadline = time.monotonic() + 20
    while rollups.behind(group.hub_store) and time.monotonic() < deadline:
        time.sleep(0.2)
    keeper(group).run_once()  # the job may be half-way through a run: one more brings it to rest
    assert rollups.behind(group.hub_store) == 0
    held, summed = rollups_and_group_by(group)
    assert held == summed and held
    sheet = _ok(group.hub_http.get("/api/v1/books/balance-sheet", params={"period": "2099-12"}), 200)
    assert sheet["group"]["funds"] == {"1012.01": 200000}
    assert sheet["group"]["liabilities"] == {"2204": 200000}
    status = _ok(group.hub_http.get("/api/v1/books/status"), 200)
    assert status["changes_behind"] == 0


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-13"}, "from"), ({"to": "26-01"}, "to"), ({"from": "2026-05", "to": "2026-01"}, "from")])
def test_a_bad_month_is_a_problem_naming_the_field(group: Group, params: dict[str, str], field: str) -> None:
    response = group.hub_http.get("/api/v1/books/trial-balance", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_the_journal_needs_a_known_campus_and_a_month(group: Group) -> None:
    for params, field in (({"period": "2026-01"}, "campus"), ({"campus": "XX99", "period": "2026-01"}, "campus"),
                          ({"campus": "BJ01"}, "period"), ({"campus": "BJ01", "period": "2026/01"}, "period")):
        response = group.hub_http.get("/api/v1/books/journal", params=params)
        assert response.status_code == 422, params
        assert [e["field"] for e in response.json()["errors"]] == [field]


def test_the_books_need_the_group_reports_permission(group: Group) -> None:
    with httpx.Client(base_url=group.hub_server.url) as anonymous:
        assert anonymous.get("/api/v1/books/income-statement").status_code == 401
        assert anonymous.get("/books", follow_redirects=False).status_code == 303


def test_the_screen_shows_labels_and_exports_to_excel(group: Group) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    bj = group.campuses["BJ01"]
    _ok(group.hub_http.post("/api/v1/price-list/items", json={**LINE, "unit_price_fen": 20000}))
    bj.sync()
    student = _ok(bj.http.post("/api/v1/students", json={"name": "韩梅梅", "phone": "13800138002", "guardians": [
        {"name": "韩父", "relation": "father", "phone": "13700137002"}]}))
    contract = _ok(bj.http.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {**LINE, "hours_x100": 1000}]}))
    _ok(bj.http.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 100000,
                                               "fund_account": "alipay"}))
    bj.sync()
    keeper(group).run_once()

    page = group.hub_http.get("/books", params={"from": "2020-01", "to": "2035-12"})
    assert page.status_code == 200, page.text
    assert "集团账务" in page.text and "合同负债" in page.text and "其他货币资金—支付宝" in page.text
    assert "借贷平衡" in page.text
    export = group.hub_http.get("/books/export.xlsx", params={"from": "2020-01", "to": "2035-12"})
    assert export.status_code == 200
    book = load_workbook(BytesIO(export.content))
    assert book.sheetnames == ["科目余额表", "利润表", "资产负债表", "资金余额"]
    funds = [row for row in book["资金余额"].iter_rows(values_only=True)]
    assert ("集团合计", "1012.02", "其他货币资金—支付宝", 100000) in funds
