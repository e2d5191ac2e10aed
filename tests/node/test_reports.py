"""A campus's reports over its own store, from data written through its use cases: the marketing
funnel, signings, cash and ROI; the output figures; leaderboards; the heatmap; KPI targets with
completion and gap; the Excel export says what the JSON says; bad input is a 422 naming the field."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from tests.node.teaching_helpers import School, set_up_school


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def figures(report: dict[str, Any]) -> dict[str, Any]:
    return {f["key"]: f["value"] for f in report["figures"]}


def table(report: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return next(t for t in report["tables"] if t["key"] == key)["rows"]


@pytest.fixture
def marketing(node_client: TestClient) -> dict[str, Any]:
    """Three leads this month (two from Douyin, one from Baidu); both Douyin leads claimed, one
    invited, paying a ¥500 deposit and signing 20 hours at ¥200; ¥3,500 paid on the contract;
    a ¥1,000 marketing expense approved."""
    ok(node_client.post("/api/v1/price-list/items", json={"grade": "初二", "subject": "数学", "level": "提高",
                                                          "delivery": "small_class", "unit_price_fen": 20000}), 201)
    made = [ok(node_client.post("/api/v1/leads", json={"name": name, "phone": phone, "channel": channel}), 201)
            for name, phone, channel in (("甲", "13800000001", "抖音"), ("乙", "13800000002", "抖音"),
                                         ("丙", "13800000003", "百度"))]
    for lead in made[:2]:
        ok(node_client.post(f"/api/v1/leads/{lead['id']}/claim"))
    ok(node_client.post(f"/api/v1/leads/{made[0]['id']}/invite"))
    deposit = ok(node_client.post("/api/v1/deposits", json={"lead_id": made[0]["id"], "amount_fen": 50000,
                                                            "fund_account": "cash"}), 201)
    student = ok(node_client.post("/api/v1/students", json={"lead_id": made[0]["id"]}), 201)
    contract = ok(node_client.post("/api/v1/contracts", json={
        "student_id": student["id"], "deposit_ids": [deposit["id"]],
        "lines": [{"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class",
                   "hours_x100": 2000}]}), 201)
    ok(node_client.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 350000,
                                                  "fund_account": "wechat"}), 201)
    expense = ok(node_client.post("/api/v1/books/expenses", json={
        "category": "marketing", "amount_fen": 100000, "fund_account": "bank",
        "incurred_on": _today(node_client), "description": "抖音投放"}), 201)
    ok(node_client.post(f"/api/v1/books/expenses/{expense['id']}/approve"))
    return {"leads": made, "contract": contract, "student": student}


def _today(client: TestClient) -> str:
    return str(client.app.state.node.ctx.today().isoformat())  # type: ignore[attr-defined]


def test_marketing_counts_leads_signings_cash_and_roi_this_month(node_client: TestClient,
                                                                  marketing: dict[str, Any]) -> None:
    report = ok(node_client.get("/api/v1/reports/marketing"))

    assert figures(report) == {"leads": 3, "new_n": 1, "new_fen": 400000, "renewal_n": 0, "renewal_fen": 0,
                               "cash_fen": 50000 + 350000, "cost_fen": 100000, "roi_bp": 40000,
                               "conversion_bp": 3333}


def test_the_funnel_by_channel_rates_each_stage_from_the_one_before(node_client: TestClient,
                                                                    marketing: dict[str, Any]) -> None:
    report = ok(node_client.get("/api/v1/reports/marketing"))

    douyin = next(r for r in table(report, "by_channel") if r["channel"] == "douyin")
    baidu = next(r for r in table(report, "by_channel") if r["channel"] == "baidu")
    assert [(douyin[s], douyin[f"{s}_rate_bp"]) for s in ("new", "claimed", "invited", "deposit", "signed")] == [
        (2, None), (2, 10000), (1, 5000), (1, 10000), (1, 10000)]
    assert [(baidu[s], baidu[f"{s}_rate_bp"]) for s in ("new", "claimed", "invited")] == [(1, None), (0, 0), (0, None)]
    assert douyin["signed_fen"] == 400000
    assert [(r["stage"], r["count"], r["overall_bp"]) for r in table(report, "funnel")] == [
        ("new", 3, 10000), ("claimed", 2, 6666), ("invited", 1, 3333), ("deposit", 1, 3333), ("signed", 1, 3333)]


def test_a_consultants_conversion_is_signings_over_leads_claimed(node_client: TestClient,
                                                                 marketing: dict[str, Any]) -> None:
    report = ok(node_client.get("/api/v1/reports/marketing"))

    assert [(r["claims"], r["signed_n"], r["signed_fen"], r["conversion_bp"])
            for r in table(report, "consultants")] == [(2, 1, 400000, 5000)]


def test_a_period_with_nothing_in_it_reads_zero_and_no_rates(node_client: TestClient,
                                                             marketing: dict[str, Any]) -> None:
    report = ok(node_client.get("/api/v1/reports/marketing?from=2020-01&to=2020-01"))

    assert report["period"] == {"from": "2020-01-01", "to": "2020-01-31"}
    assert figures(report)["leads"] == 0 and figures(report)["roi_bp"] is None


@pytest.fixture
def school(node_client: TestClient) -> School:
    """Two students on 20-hour contracts at ¥200 in one class (room of 12) with three 1.5-hour
    lessons in March 2026: on Tuesday the 3rd at 18:00 both attend; on Thursday the 5th one is
    present and one absent (deducted); on Tuesday the 10th nobody is marked."""
    school = set_up_school(node_client)
    first, second = school.students
    for day, marks in (("2026-03-03", ("present", "present")), ("2026-03-05", ("present", "absent")),
                       ("2026-03-10", None)):
        lesson = school.lesson(school.class_id, f"{day}T18:00:00+08:00", f"{day}T19:30:00+08:00")
        if marks:
            for student, mark in zip((first, second), marks, strict=True):
                school.post(f"/api/v1/lessons/{lesson['id']}/marks", {"student_id": student["id"], "mark": mark})
            school.post(f"/api/v1/lessons/{lesson['id']}/confirm")
    return school


def test_output_figures_of_a_month_of_teaching(node_client: TestClient, school: School) -> None:
    report = ok(node_client.get("/api/v1/reports/output?period=month&on=2026-03-15"))

    shown = figures(report)
    assert report["period"] == {"from": "2026-03-01", "to": "2026-03-31"}
    assert {k: shown[k] for k in ("consumed_fen", "hours_taught", "students_taught", "attendance_bp",
                                  "fill_bp", "utilisation_bp", "renewal_rate_bp", "refund_fen")} == {
        "consumed_fen": 0,  # recognised when confirmed, as the books do: this month, not March
        "hours_taught": 300, "students_taught": 2,
        "attendance_bp": 7500,  # 3 attended of the 4 on lessons whose attendance was taken
        "fill_bp": 1666,  # 6 on the rosters of 3 lessons of 12 seats
        "utilisation_bp": 6666,  # 3 of 4.5 scheduled hours taught
        "renewal_rate_bp": None, "refund_fen": 0}
    assert [(r["hours_scheduled"], r["hours_taught"], r["utilisation_bp"]) for r in table(report, "teachers")] == [
        (450, 300, 6666)]


def test_lesson_value_is_recognised_in_the_month_the_lessons_are_confirmed(node_client: TestClient,
                                                                            school: School) -> None:
    report = ok(node_client.get("/api/v1/reports/output"))  # this month: when the lessons were confirmed

    assert figures(report)["consumed_fen"] == 4 * 30000  # four deductions of 1.5 hours at ¥200 (absence too)


def test_students_are_active_within_the_dormant_window_and_dormant_after(node_client: TestClient,
                                                                          school: School) -> None:
    march = figures(ok(node_client.get("/api/v1/reports/output?from=2026-03")))
    autumn = figures(ok(node_client.get("/api/v1/reports/output?from=2026-09")))
    june = figures(ok(node_client.get("/api/v1/reports/output?from=2026-06")))

    assert (march["active"], march["dormant"]) == (2, 0)
    assert (autumn["active"], autumn["dormant"]) == (0, 0)  # more than twice 90 days ago: gone, not dormant
    assert (june["active"], june["dormant"]) == (0, 2)  # 90 to 180 days ago: lapsed


def test_compare_adds_the_previous_period_and_the_change(node_client: TestClient, school: School) -> None:
    report = ok(node_client.get("/api/v1/reports/output?from=2026-04&compare=1"))

    taught = next(f for f in report["figures"] if f["key"] == "hours_taught")
    assert report["previous"] == {"from": "2026-03-01", "to": "2026-03-31"}
    assert (taught["value"], taught["previous"], taught["change_bp"]) == (0, 300, -10000)


def test_the_heatmap_counts_attendance_by_weekday_and_hour(node_client: TestClient, school: School) -> None:
    report = ok(node_client.get("/api/v1/reports/heatmap?from=2026-03"))

    attendance = next(c for c in report["charts"] if c["key"] == "attendance")
    column = attendance["hours"].index(18)
    assert [row[column] for row in attendance["grid"]] == [0, 2, 0, 1, 0, 0, 0]  # Tue 2, Thu 1
    room = next(c for c in report["charts"] if c["key"].startswith("room:"))
    assert room["unit"] == "bp"
    assert [row[column] for row in room["grid"]] == [0, 4000, 0, 2500, 0, 0, 0]  # 2 of 5 Tuesdays, 1 of 4 Thursdays


def test_the_leaderboard_ranks_consultants_by_signed_amount(node_client: TestClient,
                                                             marketing: dict[str, Any]) -> None:
    report = ok(node_client.get("/api/v1/reports/leaderboard"))

    assert [(r["rank"], r["signed_fen"], r["signed_n"]) for r in table(report, "consultants")] == [(1, 400000, 1)]


def test_kpi_targets_show_completion_and_gap_on_the_dashboard(node_client: TestClient,
                                                              marketing: dict[str, Any]) -> None:
    month = _today(node_client)[:7]
    me = next(u for u in ok(node_client.get("/api/v1/users"))["items"] if u["username"] == "admin")
    ok(node_client.put("/api/v1/kpi-targets", json={"period": month, "targets": [
        {"metric": "signed_fen", "target": 1000000}, {"metric": "new_leads", "target": 2},
        {"user_id": me["id"], "metric": "signings", "target": 4}]}))

    items = ok(node_client.get(f"/api/v1/kpi-targets?period={month}"))["items"]

    assert sorted((i["user_id"] is not None, i["metric"], i["target"], i["actual"], i["completion_bp"], i["gap"])
                  for i in items) == [(False, "new_leads", 2, 3, 15000, 0),
                                      (False, "signed_fen", 1000000, 400000, 4000, 600000),
                                      (True, "signings", 4, 1, 2500, 3)]


def test_setting_a_target_to_zero_removes_it_and_is_audited(node_client: TestClient) -> None:
    body = {"period": "2026-12", "targets": [{"metric": "cash_fen", "target": 500000}]}
    ok(node_client.put("/api/v1/kpi-targets", json=body))
    ok(node_client.put("/api/v1/kpi-targets", json={**body, "targets": [{"metric": "cash_fen", "target": 0}]}))

    assert ok(node_client.get("/api/v1/kpi-targets?period=2026-12"))["items"] == []
    actions = [e["action"] for e in ok(node_client.get("/api/v1/audit"))["items"]]
    assert actions.count("kpi_targets_set") == 2


@pytest.mark.parametrize(("query", "field"), [("from=2026-13", "from"), ("from=2026-03-01&to=2026-02-01", "to"),
                                              ("period=year", "period"), ("on=tomorrow&period=day", "on"),
                                              ("compare=maybe", "compare"), ("campus=elsewhere", "campus"),
                                              ("from=2020-01-01&to=2026-01-01", "to")])
def test_a_bad_period_is_a_422_naming_the_parameter(node_client: TestClient, query: str, field: str) -> None:
    response = node_client.get(f"/api/v1/reports/output?{query}")

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_bad_target_is_a_422_naming_the_field(node_client: TestClient) -> None:
    response = node_client.put("/api/v1/kpi-targets", json={"period": "2026-12", "targets": [
        {"metric": "happiness", "target": 1}]})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["targets.0.metric"]


def test_the_excel_export_holds_the_same_figures_as_the_json(node_client: TestClient, school: School) -> None:
    report = ok(node_client.get("/api/v1/reports/output?from=2026-03&compare=1"))
    download = node_client.get("/api/v1/reports/output.xlsx?from=2026-03&compare=1")

    assert download.status_code == 200
    book = load_workbook(io.BytesIO(download.content))
    rows = list(book.worksheets[0].iter_rows(min_row=3, values_only=True))
    assert len(rows) == len(report["figures"])
    for figure, (_label, value, previous) in zip(report["figures"], rows, strict=True):
        for expected, cell in ((figure["value"], value), (figure["previous"], previous)):
            if expected is None:
                assert cell is None
            elif figure["unit"] in ("fen", "bp", "hours"):
                assert Decimal(str(cell)).scaleb(2) == expected
            else:
                assert cell == expected
    teachers = book["Teacher utilisation"] if "Teacher utilisation" in book.sheetnames else book["教师利用率"]
    assert [[Decimal(str(v)) for v in list(r)[2:]] for r in teachers.iter_rows(min_row=2, values_only=True)] == [
        [Decimal("4.5"), Decimal("3"), Decimal("66.66")]]


def test_each_report_page_renders_its_charts_as_svg_in_chinese(node_client: TestClient, school: School) -> None:
    for name in ("marketing", "output", "leaderboard", "heatmap"):
        page = node_client.get(f"/reports/{name}?from=2026-03")
        assert page.status_code == 200
        assert "<svg" in page.text and "<script>" not in page.text
    dashboard = node_client.get("/reports")
    assert dashboard.status_code == 200 and "月度目标" in dashboard.text or "KPI" in dashboard.text


def test_the_records_behind_a_teachers_hours_are_their_lessons(node_client: TestClient, school: School) -> None:
    report = ok(node_client.get("/api/v1/reports/output?from=2026-03"))
    href = table(report, "teachers")[0]["href"]

    found = ok(node_client.get("/api/v1" + href))

    assert [item["starts_at"][:10] for item in found["items"]] == ["2026-03-03", "2026-03-05", "2026-03-10"]


def test_a_consultant_sees_only_their_own_targets_and_figures(node_client: TestClient,
                                                               marketing: dict[str, Any]) -> None:
    campus_id = node_client.app.state.node.ctx.id  # type: ignore[attr-defined]
    wang = ok(node_client.post("/api/v1/users", json={"username": "wang", "display_name": "王顾问",
                                                      "password": "wang-password-1",
                                                      "roles": [{"role": "consultant", "campus_id": campus_id}]}), 201)
    month = _today(node_client)[:7]
    ok(node_client.put("/api/v1/kpi-targets", json={"period": month, "targets": [
        {"metric": "signed_fen", "target": 1000000}, {"user_id": wang["id"], "metric": "new_leads", "target": 5}]}))
    token = ok(node_client.post("/api/v1/auth/token", json={"username": "wang", "password": "wang-password-1"}), 201)

    mine = ok(node_client.get("/api/v1/reports/dashboard", headers={"Authorization": f"Bearer {token['token']}"}))
    refused = node_client.get("/api/v1/reports/marketing", headers={"Authorization": f"Bearer {token['token']}"})

    assert [(r["metric"], r["target"], r["actual"]) for r in mine["tables"][0]["rows"]] == [("new_leads", 5, 0)]
    assert {f["key"] for f in mine["figures"]} == {"signed_fen", "renewal_fen", "cash_fen", "consumed_fen",
                                                    "new_leads", "signings"}
    assert refused.status_code == 403


def test_the_renewal_rate_is_who_renewed_of_those_whose_hours_ran_low(node_client: TestClient) -> None:
    school = set_up_school(node_client, hours_x100=1150)  # 11.5 hours: one 1.5-hour lesson leaves 10
    lesson = school.lesson(school.class_id, "2026-03-03T18:00:00+08:00", "2026-03-03T19:30:00+08:00")
    for student in school.students:
        school.post(f"/api/v1/lessons/{lesson['id']}/marks", {"student_id": student["id"], "mark": "present"})
    school.post(f"/api/v1/lessons/{lesson['id']}/confirm")
    renewal = school.post("/api/v1/contracts", {"student_id": school.students[0]["id"], "lines": [
        {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "hours_x100": 2000}]})

    shown = figures(ok(node_client.get("/api/v1/reports/output")))  # this month: confirmed and renewed now

    assert renewal["kind"] == "renewal"
    assert shown["renewal_rate_bp"] == 5000  # both ran down to 10 hours, one renewed


def test_no_report_screen_shows_a_stored_code(node_client: TestClient, marketing: dict[str, Any]) -> None:
    from tests.node.test_no_raw_codes import raw_codes

    pages = [f"/reports/{name}" for name in ("marketing", "output", "leaderboard", "heatmap")]
    pages += ["/reports", "/reports/records?kind=signings", "/reports/records?kind=cash",
              "/reports/records?kind=lessons"]
    shown = {path: node_client.get(path) for path in pages}
    found = {path: sorted(raw_codes(page.text)) for path, page in shown.items()}

    assert {path: page.status_code for path, page in shown.items()} == dict.fromkeys(pages, 200)

    assert {path: codes for path, codes in found.items() if codes} == {}
