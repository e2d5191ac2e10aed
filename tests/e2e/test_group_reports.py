"""The group's reports at headquarters, read from the report roll-ups after sync: each campus's
report at the hub is the one its node shows, the group's total is the sum of the campuses', and
the roll-ups match a recompute from the facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from campus.hub.report_rollups import verify
from tests.e2e.sync_helpers import Campus, Group
from tests.node.risk_helpers import LINE, ok, seed_student

ADDITIVE = ("fen", "count", "hours")


def _teach(campus: Campus, name: str, phone: str, marks: tuple[str, ...], paid_fen: int,
           days: tuple[int, ...] = (10, 8, 6)) -> None:
    """A lead claimed and signed as a student, taught ``days`` ago with ``marks``."""
    lead = ok(campus.http.post("/api/v1/leads", json={"name": name, "phone": phone, "channel": "抖音"}))
    ok(campus.http.post(f"/api/v1/leads/{lead['id']}/claim"), 200)
    today = datetime.now(UTC).date()
    seeded = seed_student(campus.http, name=name, phone=phone, paid_fen=paid_fen, price_item=False,
                          expires_on=(today + timedelta(days=200)).isoformat())
    for days_ago, mark in zip(days, marks, strict=True):
        seeded.lesson((today - timedelta(days=days_ago)).isoformat(), mark)


def _span() -> str:
    today = datetime.now(UTC).date()
    return f"from={(today - timedelta(days=20)).isoformat()}&to={(today + timedelta(days=1)).isoformat()}"


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    return {"figures": report["figures"], "tables": report["tables"], "charts": report["charts"],
            "period": report["period"], "campus": report["campus"]}


def _synced(group: Group) -> dict[str, Campus]:
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    ok(group.hub_http.post("/api/v1/price-list/items", json={**LINE, "unit_price_fen": 20000}))
    bj.sync(), sh.sync()
    _teach(bj, "王小明", "13800138001", ("present", "present", "absent"), paid_fen=200000)
    _teach(bj, "赵小刚", "13800138003", ("present", "late", "present"), paid_fen=0, days=(9, 7, 5))
    _teach(sh, "李小红", "13800138002", ("present", "absent", "leave"), paid_fen=400000)
    bj.sync(), sh.sync()
    group.hub_server.server.config.app.state.reports.run_once()  # type: ignore[attr-defined]
    return {"BJ01": bj, "SH01": sh}


def test_a_campus_reads_the_same_report_at_the_hub_as_at_home(group: Group) -> None:
    campuses = _synced(group)

    for code, campus in campuses.items():
        for name in ("marketing", "output", "leaderboard", "heatmap"):
            at_home = ok(campus.http.get(f"/api/v1/reports/{name}?{_span()}"), 200)
            at_hub = ok(group.hub_http.get(f"/api/v1/reports/{name}?{_span()}&campus={campus.config.campus_id}"),
                        200)
            assert _comparable(at_hub) == _comparable(at_home), (code, name)


def test_the_groups_figures_are_the_sum_of_its_campuses(group: Group) -> None:
    campuses = _synced(group)

    for name in ("marketing", "output"):
        total = ok(group.hub_http.get(f"/api/v1/reports/{name}?{_span()}"), 200)
        parts = [ok(group.hub_http.get(f"/api/v1/reports/{name}?{_span()}&campus={c.config.campus_id}"), 200)
                 for c in campuses.values()]
        for figure in total["figures"]:
            if figure["unit"] in ADDITIVE:
                assert figure["value"] == sum(next(f["value"] for f in part["figures"] if f["key"] == figure["key"])
                                              for part in parts), (name, figure["key"])
        by_campus = {row["campus"].split()[0]: row for row in total["tables"][0]["rows"]}
        assert sorted(by_campus) == ["BJ01", "SH01"]
        assert all(row["href"].startswith(f"/reports/{name}?") and "campus=" in row["href"]
                   for row in by_campus.values())


def test_the_groups_output_counts_what_the_campuses_taught(group: Group) -> None:
    _synced(group)

    output = ok(group.hub_http.get(f"/api/v1/reports/output?{_span()}"), 200)
    shown = {f["key"]: f["value"] for f in output["figures"]}

    assert shown["students_taught"] == 3
    assert shown["hours_taught"] == 6 * 150  # the six lessons where the student came (present or late)
    assert shown["attendance_bp"] == 6 * 10000 // 9  # present or late, of nine on the rosters (leave included)
    assert shown["consumed_fen"] == 8 * 30000  # eight deductions at ¥300 (leave deducts nothing)
    marketing = {f["key"]: f["value"] for f in ok(group.hub_http.get(f"/api/v1/reports/marketing?{_span()}"),
                                                     200)["figures"]}
    assert (marketing["leads"], marketing["new_n"], marketing["cash_fen"]) == (3, 3, 600000)


def test_the_roll_ups_match_a_recompute_and_follow_a_late_change(any_group: Group) -> None:
    """On SQLite and on PostgreSQL."""
    group = any_group
    campuses = _synced(group)
    hub = group.hub_server.server.config.app.state  # type: ignore[attr-defined]
    assert verify(hub.hub.store) == []

    _teach(campuses["SH01"], "孙小美", "13800138004", ("present", "present", "present"), paid_fen=0,
           days=(4, 3, 2))
    campuses["SH01"].sync()
    hub.reports.run_once()

    assert verify(hub.hub.store) == []
    output = ok(group.hub_http.get(f"/api/v1/reports/output?{_span()}"), 200)
    assert {f["key"]: f["value"] for f in output["figures"]}["students_taught"] == 4


def test_the_owner_sets_a_campus_target_at_the_hub_and_sees_completion(group: Group) -> None:
    campuses = _synced(group)
    bj = campuses["BJ01"].config.campus_id
    month = datetime.now(UTC).date().strftime("%Y-%m")

    ok(group.hub_http.put("/api/v1/kpi-targets", json={"campus_id": bj, "period": month, "targets": [
        {"metric": "new_leads", "target": 4}]}), 200)
    items = ok(group.hub_http.get(f"/api/v1/kpi-targets?period={month}"), 200)["items"]
    page = group.hub_http.get(f"/reports?period=month&on={month}")

    campus_rows = [i for i in items if i["campus"] == "BJ01"]
    assert [(i["metric"], i["target"], i["completion_bp"], i["gap"]) for i in campus_rows] == [
        ("new_leads", 4, 5000, 2)] or month != datetime.now(UTC).date().strftime("%Y-%m")
    assert page.status_code == 200 and "<svg" in page.text
    refused = group.hub_http.put("/api/v1/kpi-targets", json={"campus_id": "nowhere", "period": month,
                                                              "targets": [{"metric": "new_leads", "target": 4}]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "campus_id"


def test_the_owner_drills_from_the_group_to_a_campus_to_a_consultants_contracts(group: Group) -> None:
    _synced(group)

    total = ok(group.hub_http.get(f"/api/v1/reports/marketing?{_span()}"), 200)
    bj = next(row for row in total["tables"][0]["rows"] if row["campus"].startswith("BJ01"))
    campus = ok(group.hub_http.get("/api/v1" + bj["href"]), 200)
    consultant = campus["tables"][-1]["rows"][0]
    records = ok(group.hub_http.get("/api/v1" + consultant["href"]), 200)

    assert campus["campus"]["code"] == "BJ01" and bj["new_n"] == 2
    assert consultant["signed_n"] == 2
    assert sorted(r["student_name"] for r in records["items"]) == ["王小明", "赵小刚"]
