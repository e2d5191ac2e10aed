"""The campus's books over the JSON API: a real store, real use cases, the journal projected
from the facts; bad input is refused naming the field and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from campus.node.app import create_app
from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.schema.tables import fund_releases, invoices, manual_entries
from tests.conftest import sign_in
from tests.node.teaching_helpers import School, set_up_school

NEXT_YEAR = datetime.now(UTC) + timedelta(days=40)  # a clock past the month the facts are made in


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def books(node_config: NodeConfig, clock: Clock) -> Iterator[TestClient]:
    config = NodeConfig(**{**vars(node_config), "supervised_accounts": ("bank",)})
    config.save()
    with TestClient(create_app(config, clock=clock), raise_server_exceptions=False) as client:
        sign_in(client)
        yield client


def _count(config: NodeConfig, table: object) -> int:
    store = NodeStore(config.database_path, config.node_id)
    try:
        with store.read() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()
    finally:
        store.close()


def _taught(client: TestClient) -> tuple[School, dict]:
    """One student, 20 hours at ¥200, ¥3,000 paid by bank, one 1.5-hour lesson confirmed."""
    school = set_up_school(client, students=1)
    student = school.students[0]
    paid = client.post("/api/v1/payments", json={"contract_id": student["contract_id"], "amount_fen": 300000,
                                                 "fund_account": "bank"})
    assert paid.status_code == 201, paid.text
    now = datetime.now(UTC) - timedelta(hours=3)
    lesson = school.lesson(school.class_id, now.isoformat(timespec="seconds"),
                           (now + timedelta(minutes=90)).isoformat(timespec="seconds"))
    school.post(f"/api/v1/lessons/{lesson['id']}/marks", {"student_id": student["id"], "mark": "present"})
    school.post(f"/api/v1/lessons/{lesson['id']}/confirm")
    return school, student


def test_a_paid_and_taught_contract_shows_in_balanced_books(books: TestClient) -> None:
    _, student = _taught(books)

    trial = books.get("/api/v1/books/trial-balance").json()
    income = books.get("/api/v1/books/income-statement").json()
    deferred = books.get("/api/v1/books/deferred-tuition").json()
    sheet = books.get("/api/v1/books/balance-sheet").json()

    closing = {row["account"]: row["closing_fen"] for row in trial["items"]}
    assert trial["balanced"] and trial["closing_sum_fen"] == 0
    assert closing["1002"] == 300000  # the bank received ¥3,000
    assert income["tuition_revenue_fen"] == 30000  # 1.5 h × ¥200 taught
    assert closing["2204"] == -(300000 - 30000)  # what is still owed in lessons, a credit
    row = next(r for r in deferred["items"] if r["contract_id"] == student["contract_id"])
    assert (row["received_fen"], row["recognised_fen"], row["closing_fen"]) == (300000, 30000, 270000)
    assert sheet["balanced"]


def test_consumption_beyond_what_was_paid_is_a_receivable_not_negative_deferred_tuition(books: TestClient) -> None:
    school = set_up_school(books, students=1)
    student = school.students[0]
    books.post("/api/v1/payments", json={"contract_id": student["contract_id"], "amount_fen": 10000,
                                         "fund_account": "cash"})
    now = datetime.now(UTC) - timedelta(hours=3)
    lesson = school.lesson(school.class_id, now.isoformat(timespec="seconds"),
                           (now + timedelta(minutes=90)).isoformat(timespec="seconds"))
    school.post(f"/api/v1/lessons/{lesson['id']}/marks", {"student_id": student["id"], "mark": "present"})
    school.post(f"/api/v1/lessons/{lesson['id']}/confirm")

    closing = {r["account"]: r["closing_fen"] for r in books.get("/api/v1/books/trial-balance").json()["items"]}

    assert closing["1122"] == 20000 and closing.get("2204", 0) == 0
    assert closing["6001"] == -30000


@pytest.mark.parametrize(("lines", "field"), [
    ([{"account": "1001", "debit_fen": 100}, {"account": "6602", "credit_fen": 90}], "lines"),
    ([{"account": "1001", "debit_fen": 1.5}, {"account": "6602", "credit_fen": 1}], "lines.0.debit_fen"),
    ([{"account": "9999", "debit_fen": 100}, {"account": "6602", "credit_fen": 100}], "lines.0.account"),
    ([{"account": "1001", "debit_fen": 100, "credit_fen": 100}, {"account": "6602", "credit_fen": 0}], "lines.0"),
])
def test_a_bad_manual_entry_is_refused_naming_the_field_and_writes_nothing(
        books: TestClient, node_config: NodeConfig, lines: list, field: str) -> None:
    answer = books.post("/api/v1/books/entries", json={"entry_date": datetime.now(UTC).date().isoformat(),
                                                       "memo": "调整", "lines": lines})

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in answer.json()["errors"]]
    assert _count(node_config, manual_entries) == 0


def test_a_closed_month_refuses_postings_and_a_second_close(books: TestClient, clock: Clock,
                                                            node_config: NodeConfig) -> None:
    _taught(books)
    month = datetime.now(UTC).astimezone().date().isoformat()[:7]
    early = books.post("/api/v1/books/closes", json={"period": month})
    assert early.status_code == 409 and early.json()["field"] == "period"  # the month is not over

    clock.now = NEXT_YEAR
    closed = books.post("/api/v1/books/closes", json={"period": month})
    again = books.post("/api/v1/books/closes", json={"period": month})
    late = books.post("/api/v1/books/entries", json={"entry_date": f"{month}-01", "memo": "补记", "lines": [
        {"account": "6602", "debit_fen": 5000}, {"account": "1001", "credit_fen": 5000}]})
    fine = books.post("/api/v1/books/entries", json={"entry_date": NEXT_YEAR.date().isoformat(), "memo": "补记",
                                                     "lines": [{"account": "6602", "debit_fen": 5000},
                                                               {"account": "1001", "credit_fen": 5000}]})

    assert closed.status_code == 201, closed.text
    assert closed.json()["entries"] == 2  # the receipt and the lesson
    assert again.status_code == 409
    assert late.status_code == 409 and late.json()["field"] == "entry_date"
    assert fine.status_code == 201 and fine.json()["number"].endswith("-J-000001")
    assert _count(node_config, manual_entries) == 1
    assert books.get("/api/v1/books/closes").json()["closed"] == [month]


def test_invoices_stop_at_the_value_consumed_and_a_red_invoice_frees_the_room(books: TestClient,
                                                                               node_config: NodeConfig) -> None:
    _, student = _taught(books)
    body = {"contract_id": student["contract_id"], "buyer_name": "王小明家长"}

    over = books.post("/api/v1/books/invoices", json={**body, "amount_fen": 30001})
    issued = books.post("/api/v1/books/invoices", json={**body, "amount_fen": 30000})
    more = books.post("/api/v1/books/invoices", json={**body, "amount_fen": 1})
    red = books.post(f"/api/v1/books/invoices/{issued.json()['id']}/red", json={"reason": "抬头写错"})
    reissued = books.post("/api/v1/books/invoices", json={**body, "amount_fen": 30000, "buyer_name": "王父"})

    assert over.status_code == 409 and over.json()["limit_fen"] == 30000 and over.json()["field"] == "amount_fen"
    assert issued.status_code == 201 and issued.json()["number"].endswith("-I-000001")
    assert more.status_code == 409 and more.json()["limit_fen"] == 0
    assert red.status_code == 201 and red.json()["kind"] == "red"
    assert reissued.status_code == 201
    assert _count(node_config, invoices) == 3


def test_a_supervised_account_releases_only_what_lessons_consumed(books: TestClient, node_config: NodeConfig) -> None:
    _taught(books)
    today = datetime.now(UTC).date().isoformat()

    figures = books.get("/api/v1/books/supervision").json()["items"]
    above = books.post("/api/v1/books/releases", json={"fund_account": "bank", "amount_fen": 30001,
                                                       "released_on": today})
    within = books.post("/api/v1/books/releases", json={"fund_account": "bank", "amount_fen": 30000,
                                                        "released_on": today})
    unsupervised = books.post("/api/v1/books/releases", json={"fund_account": "cash", "amount_fen": 1,
                                                              "released_on": today})

    assert figures == [{"fund_account": "bank", "received_fen": 300000, "consumed_fen": 30000, "released_fen": 0,
                        "releasable_fen": 30000, "held_fen": 270000}]
    assert above.status_code == 409 and above.json()["releasable_fen"] == 30000
    assert within.status_code == 201
    assert unsupervised.status_code == 422 and unsupervised.json()["errors"][0]["field"] == "fund_account"
    assert _count(node_config, fund_releases) == 1


def test_an_approved_expense_posts_and_a_marketing_expense_names_its_campaign(books: TestClient) -> None:
    submitted = books.post("/api/v1/books/expenses", json={
        "category": "rent", "amount_fen": 800000, "fund_account": "bank",
        "incurred_on": datetime.now(UTC).date().isoformat(), "description": "十二月房租"})
    assert submitted.status_code == 201, submitted.text
    before = books.get("/api/v1/books/income-statement").json()
    approved = books.post(f"/api/v1/books/expenses/{submitted.json()['id']}/approve")
    again = books.post(f"/api/v1/books/expenses/{submitted.json()['id']}/reject")
    after = books.get("/api/v1/books/income-statement").json()
    wrong = books.post("/api/v1/books/expenses", json={
        "category": "rent", "amount_fen": 100, "fund_account": "cash", "campaign_id": "x",
        "incurred_on": datetime.now(UTC).date().isoformat(), "description": "房租"})

    assert before["administrative_expenses_fen"] == 0
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert again.status_code == 409
    assert after["administrative_expenses_fen"] == 800000 and after["profit_fen"] == -800000
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "campaign_id"


def test_the_daily_cash_count_records_the_difference_from_the_books(books: TestClient) -> None:
    school = set_up_school(books, students=1)
    books.post("/api/v1/payments", json={"contract_id": school.students[0]["contract_id"], "amount_fen": 50000,
                                         "fund_account": "cash"})

    counted = books.post("/api/v1/books/cash-counts", json={
        "day": datetime.now(UTC).astimezone().date().isoformat(), "fund_account": "cash", "counted_fen": 49000})

    assert counted.status_code == 201, counted.text
    assert (counted.json()["book_fen"], counted.json()["difference_fen"]) == (50000, -1000)


def test_the_books_screens_are_in_chinese_and_export_to_excel(books: TestClient) -> None:
    import io

    from openpyxl import load_workbook

    _taught(books)
    pages = {name: books.get(f"/books/{name}") for name in (
        "journal", "trial-balance", "income-statement", "balance-sheet", "deferred-tuition", "invoices", "expenses",
        "supervision", "cash-counts", "reconciliation")}
    export = books.get("/books/trial-balance", params={"format": "xlsx"})

    assert all(page.status_code == 200 for page in pages.values()), {k: v.status_code for k, v in pages.items()}
    assert "科目余额表" in pages["trial-balance"].text and "银行存款" in pages["trial-balance"].text
    assert "利润表" in pages["income-statement"].text and "¥300.00" in pages["income-statement"].text
    assert "合同负债" in pages["journal"].text
    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("科目编码", "科目") and ("1002", "银行存款") in [r[:2] for r in rows]


def test_the_books_are_closed_to_roles_outside_finance(books: TestClient) -> None:
    books.post("/api/v1/users", json={"username": "li", "display_name": "李老师", "password": "teacher-pass-1",
                                      "roles": [{"role": "teacher"}]})
    sign_in(books, "li", "teacher-pass-1")

    assert books.get("/api/v1/books/trial-balance").status_code == 403
    assert books.post("/api/v1/books/closes", json={"period": "2026-01"}).status_code == 403


def _csrf(client: TestClient, path: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_an_expense_is_submitted_approved_and_counted_through_the_screens(books: TestClient) -> None:
    import re

    token = _csrf(books, "/books/expenses")

    submitted = books.post("/books/expenses", data={"csrf_token": token, "category": "rent", "amount": "8,000.00",
                                                    "fund_account": "bank", "incurred_on": "2026-12-01",
                                                    "description": "十二月房租"})
    expense = books.get("/api/v1/books/expenses").json()["items"][0]
    approved = books.post(f"/books/expenses/{expense['id']}/decision", data={"csrf_token": token,
                                                                             "decision": "approve"})
    bad = books.post("/books/cash-counts", data={"csrf_token": token, "day": "2026-12-01", "fund_account": "gold",
                                                 "counted": "1"})

    assert "费用 BJ01-E-000001 已提交" in submitted.text
    assert expense["amount_fen"] == 800000 and expense["status"] == "submitted"
    assert "flash-success" in approved.text, re.findall(r'class="flash[^>]*>[^<]*', approved.text)
    table = approved.text[approved.text.index('id="books-table"'):]
    assert "<td>已批准</td>" in table and "¥8000.00" in table
    assert "flash-error" in bad.text and "fund_account" in bad.text
    assert books.get("/api/v1/books/income-statement").json()["administrative_expenses_fen"] == 800000


def test_a_bank_statement_is_matched_to_receipts_and_what_matched_nothing_is_shown_both_ways(
        books: TestClient) -> None:
    school = set_up_school(books, students=2)
    first = books.post("/api/v1/payments", json={"contract_id": school.students[0]["contract_id"],
                                                 "amount_fen": 300000, "fund_account": "bank"}).json()
    books.post("/api/v1/payments", json={"contract_id": school.students[1]["contract_id"], "amount_fen": 150000,
                                         "fund_account": "bank"})
    today = datetime.now(UTC).astimezone().date()
    fmt = books.post("/api/v1/books/statement-formats", json={
        "name": "工商银行流水", "fund_account": "bank", "date_column": "交易日期", "amount_column": "收入金额",
        "reference_column": "摘要", "counterparty_column": "对方户名"})
    assert fmt.status_code == 201, fmt.text
    csv = ("交易日期,收入金额,摘要,对方户名\n"
           f"{today:%Y/%m/%d},\"3,000.00\",学费 {first['receipt_number']},王父\n"
           f"{today:%Y%m%d},88.00,利息,银行\n").encode()

    imported = books.post("/api/v1/books/statements", params={"format_id": fmt.json()["id"]},
                          files={"file": ("icbc.csv", csv, "text/csv")})
    shown = books.get("/api/v1/books/reconciliation", params={"fund_account": "bank", "from": today.isoformat(),
                                                              "to": today.isoformat()}).json()
    bad = books.post("/api/v1/books/statements", params={"format_id": fmt.json()["id"]},
                     files={"file": ("bad.csv", "交易日期,收入金额\n2026-13-45,1\n".encode(), "text/csv")})

    assert imported.status_code == 201, imported.text
    assert (imported.json()["lines"], imported.json()["matched"]) == (2, 1)
    assert [x["matched_payment_id"] for x in shown["matched"]] == [first["id"]]
    assert [x["amount_fen"] for x in shown["unmatched_lines"]] == [8800]
    assert [r["amount_fen"] for r in shown["unmatched_receipts"]] == [150000]
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "rows.2.date"  # the spreadsheet's line 2


def test_hours_left_on_an_expired_contract_come_off_and_an_extension_gives_them_back(
        node_config: NodeConfig, clock: Clock) -> None:
    from campus.node.app import expire_due

    config = NodeConfig(**{**vars(node_config), "books_expiry": "recognise"})
    config.save()
    with TestClient(create_app(config, clock=clock), raise_server_exceptions=False) as client:
        sign_in(client)
        _, student = _taught(client)  # 20 h bought, 1.5 h taught, ¥3,000 paid of ¥4,000
        contract = client.get(f"/api/v1/contracts/{student['contract_id']}").json()
        node = client.app.state.node  # type: ignore[attr-defined]
        assert expire_due(node) == 0  # not expired yet
        clock.now = datetime.fromisoformat(contract["expires_on"] + "T12:00:00+08:00") + timedelta(days=1)

        expired = expire_due(node)
        again = expire_due(node)
        after_expiry = client.get(f"/api/v1/students/{student['id']}/account").json()["remaining"]
        income = client.get("/api/v1/books/income-statement", params={"from": "2020-01", "to": "2099-12"}).json()
        extended = client.post(f"/api/v1/contracts/{student['contract_id']}/changes", json={
            "kind": "extend", "expires_on": (clock.now + timedelta(days=90)).date().isoformat()})
        after_extension = client.get(f"/api/v1/students/{student['id']}/account").json()["remaining"]
        income_after = client.get("/api/v1/books/income-statement", params={"from": "2020-01", "to": "2099-12"}).json()

    assert (expired, again) == (1, 0)
    assert after_expiry["hours_x100"] == 0
    assert income["tuition_revenue_fen"] == 300000  # recognised on expiry: all that was paid
    assert extended.status_code == 201, extended.text
    assert after_extension["hours_x100"] == 1850
    assert income_after["tuition_revenue_fen"] == 30000  # the extension took the expiry back
