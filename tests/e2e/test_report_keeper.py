"""The hub's report roll-ups kept by :class:`ReportsKeeper` through the edges a merge can bring: a
mark corrected after confirmation (its deduction reversed), a contract shrunk, a campus read again
from its first change; ``campus hub reports verify|rebuild``; the hub's ``[reports]`` settings; and
the group's own campaigns' costs, counted in the group's ROI and in no campus's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, update

from campus.cli import main
from campus.hub.config import HubConfig
from campus.hub.report_rollups import built_line, verify
from campus.schema.tables import hub_report_marks, hub_report_rollups
from tests.e2e.sync_helpers import Campus, Group, running_group
from tests.e2e.test_group_reports import _span, _synced
from tests.node.risk_helpers import LINE, Seeded, ok, seed_student


def _figures(report: dict[str, Any]) -> dict[str, Any]:
    return {f["key"]: f["value"] for f in report["figures"]}


def _day(days_ago: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days_ago)).isoformat()


def _student(group: Group, campus: Campus, hours_x100: int = 2000) -> Seeded:
    ok(group.hub_http.post("/api/v1/price-list/items", json={**LINE, "unit_price_fen": 20000}))
    campus.sync()
    return seed_student(campus.http, name="王小明", phone="13800138001", price_item=False,
                        hours_x100=hours_x100, expires_on=_day(-200))


def _keep(group: Group) -> Any:
    state = group.hub_server.server.config.app.state  # type: ignore[attr-defined]
    state.reports.run_once()
    return state


def _output(group: Group, campus: Campus | None = None) -> dict[str, Any]:
    scope = f"&campus={campus.config.campus_id}" if campus else ""
    return _figures(ok(group.hub_http.get(f"/api/v1/reports/output?{_span()}{scope}"), 200))


def test_a_mark_corrected_after_confirmation_moves_the_groups_lesson_value_hours_and_attendance(
        group: Group) -> None:
    bj = group.campuses["BJ01"]
    seeded = _student(group, bj)
    lessons = [seeded.lesson(_day(days_ago), mark) for days_ago, mark in ((10, "present"), (8, "present"),
                                                                         (6, "absent"))]
    bj.sync()
    hub = _keep(group)
    before = _output(group)

    ok(bj.http.post(f"/api/v1/lessons/{lessons[0]}/reconfirm", json={
        "student_id": seeded.student["id"], "mark": "leave", "reason": "家长补交了请假条"}))
    bj.sync()
    _keep(group)
    after = _output(group)

    # three deductions of 1.5 h at ¥200, two lessons attended of three; the first becomes leave
    assert [before[k] for k in ("consumed_fen", "hours_taught", "attendance_bp")] == [90000, 300, 6666]
    assert [after[k] for k in ("consumed_fen", "hours_taught", "attendance_bp")] == [60000, 150, 3333]
    assert verify(hub.hub.store) == []
    at_home = _figures(ok(bj.http.get(f"/api/v1/reports/output?{_span()}"), 200))
    assert {k: at_home[k] for k in after if k != "at_risk"} == {k: v for k, v in after.items() if k != "at_risk"}


def test_a_contract_shrunk_below_the_low_hours_line_makes_the_next_lesson_run_the_student_low(
        group: Group) -> None:
    bj = group.campuses["BJ01"]
    seeded = _student(group, bj)  # 20 hours
    seeded.lesson(_day(9), "present")
    seeded.lesson(_day(7), "present")  # 17 hours left
    bj.sync()
    hub = _keep(group)
    before = _output(group)

    ok(bj.http.post(f"/api/v1/contracts/{seeded.contract['id']}/changes", json={
        "kind": "shrink", "line_id": seeded.line_id, "hours_x100": 600}))  # 11 hours left
    seeded.lesson(_day(5), "present")  # 9.5 hours left: ran low, not renewed
    bj.sync()
    _keep(group)
    after = _output(group)

    assert before["renewal_rate_bp"] is None  # nobody ran low
    assert after["renewal_rate_bp"] == 0  # one ran low, none renewed
    assert verify(hub.hub.store) == []


def test_a_campus_whose_roll_ups_and_place_in_its_log_were_lost_is_read_again_from_its_first_change(
        group: Group) -> None:
    campuses = _synced(group)
    hub = _keep(group)
    before = {name: ok(group.hub_http.get(f"/api/v1/reports/{name}?{_span()}"), 200)
              for name in ("marketing", "output", "heatmap")}
    bj = campuses["BJ01"].config

    with hub.hub.store.write() as conn:
        conn.execute(delete(hub_report_rollups).where(hub_report_rollups.c.campus_id == bj.campus_id))
        conn.execute(delete(hub_report_marks).where(hub_report_marks.c.node_id == bj.node_id))
    assert _output(group, campuses["BJ01"])["students_taught"] == 0
    run = hub.reports.run_once()

    assert run.campuses == 1
    assert verify(hub.hub.store) == []
    for name, report in before.items():
        assert ok(group.hub_http.get(f"/api/v1/reports/{name}?{_span()}"), 200)["figures"] == report["figures"]
    assert _output(group)["students_taught"] == 3


def _cli(group: Group, command: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["hub", "reports", command, "--dir", str(group.hub_config.directory)])
    return code, capsys.readouterr().out


def test_reports_verify_names_a_drifted_roll_up_and_rebuild_repairs_it(group: Group,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _synced(group)
    hub = _keep(group)
    clean = _cli(group, "verify", capsys)
    with hub.hub.store.write() as conn:  # every day's hours taught off by a hundredth
        conn.execute(update(hub_report_rollups).where(hub_report_rollups.c.metric == "hours_taught",
                                                      func.length(hub_report_rollups.c.period) == 10)
                     .values(value=hub_report_rollups.c.value + 1))

    drifted = _cli(group, "verify", capsys)
    rebuilt = _cli(group, "rebuild", capsys)

    assert clean == (0, "0 difference(s) between the report roll-ups and a recompute from the facts\n")
    # BJ01 taught on five days (王小明 twice, 赵小刚 three times), SH01 on one
    assert drifted[0] == 1
    assert len([line for line in drifted[1].splitlines() if "/hours_taught/" in line]) == 6
    assert drifted[1].endswith("6 difference(s) between the report roll-ups and a recompute from the facts\n")
    assert rebuilt[0] == 0
    assert rebuilt[1].startswith("rebuilt the report roll-ups: 2 campus(es), ")
    assert verify(hub.hub.store) == []
    assert _output(group)["hours_taught"] == 6 * 150


def test_the_groups_own_campaign_costs_the_group_and_no_campus(group: Group) -> None:
    bj = group.campuses["BJ01"]
    ok(group.hub_http.post("/api/v1/price-list/items", json={**LINE, "unit_price_fen": 20000}))
    hub = group.hub_server.server.config.app.state  # type: ignore[attr-defined]
    today = datetime.now(UTC).date().isoformat()
    with hub.hub.store.unit_of_work() as uow:  # a campaign of the whole group, paid by headquarters
        group_campaign = uow.insert("campaigns", {"campus_id": None, "name": "集团抖音投放", "channel": "douyin",
                                                  "cost_fen": 100000, "created_at": f"{today}T02:00:00Z",
                                                  "starts_on": today, "deleted": False})
    bj.sync()
    ok(bj.http.post("/api/v1/campaigns", json={"name": "校区地推", "channel": "event", "cost_fen": 50000,
                                               "starts_on": today}))
    lead = ok(bj.http.post("/api/v1/leads", json={"name": "王小明", "phone": "13800138001", "channel": "抖音"}))
    ok(bj.http.put(f"/api/v1/leads/{lead['id']}/campaign", json={"campaign_id": group_campaign}), 200)
    student = ok(bj.http.post("/api/v1/students", json={"lead_id": lead["id"]}))
    ok(bj.http.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {**LINE, "hours_x100": 2000}]}))  # ¥4,000
    bj.sync()
    _keep(group)

    total = ok(group.hub_http.get(f"/api/v1/reports/marketing?{_span()}"), 200)
    campus = _figures(ok(group.hub_http.get(f"/api/v1/reports/marketing?{_span()}&campus={bj.config.campus_id}"),
                         200))
    at_home = _figures(ok(bj.http.get(f"/api/v1/reports/marketing?{_span()}"), 200))
    rows = {t["key"]: t["rows"] for t in total["tables"]}

    assert {k: _figures(total)[k] for k in ("new_fen", "cost_fen", "roi_bp")} == {
        "new_fen": 400000, "cost_fen": 150000, "roi_bp": 26666}  # ¥4,000 ÷ (¥1,000 + ¥500)
    assert (campus["cost_fen"], campus["roi_bp"]) == (50000, 80000) == (at_home["cost_fen"], at_home["roi_bp"])
    assert [(r["campus"].split()[0], r["cost_fen"]) for r in rows["by_campus"]] == [("BJ01", 50000), ("SH01", 0)]
    by_campaign = {r["campaign_name"]: (r["signed_fen"], r["cost_fen"], r["roi_bp"]) for r in rows["by_campaign"]}
    assert by_campaign == {"集团抖音投放": (400000, 100000, 40000), "校区地推": (0, 50000, 0)}
    douyin = next(r for r in rows["by_channel"] if r["channel"] == "douyin")
    assert (douyin["signed_fen"], douyin["cost_fen"], douyin["roi_bp"]) == (400000, 100000, 40000)


@pytest.fixture
def strict_group(request: pytest.FixtureRequest, tmp_path: Path, hub_config: HubConfig) -> Iterator[Group]:
    """A hub whose [reports] says dormant after 4 days and low at 9 hours (the campuses keep 90 and 10)."""
    config = replace(hub_config, reports_dormant_days=4, reports_low_hours_x100=900)
    config.save()
    with running_group(tmp_path, config, "BJ01") as running:
        yield running


def test_the_hubs_reports_settings_make_the_groups_figures(strict_group: Group) -> None:
    group = strict_group
    bj = group.campuses["BJ01"]
    seeded = _student(group, bj, hours_x100=1150)  # 11.5 hours
    seeded.lesson(_day(5), "present")  # 10 hours left
    bj.sync()
    hub = _keep(group)

    at_hub, at_home = _output(group), _figures(ok(bj.http.get(f"/api/v1/reports/output?{_span()}"), 200))

    with hub.hub.store.read() as conn:
        assert built_line(conn) == 900
    # the hub: not taught in the last 4 days, taught in the 4 before (dormant); 10 hours are above 9
    assert (at_hub["active"], at_hub["dormant"], at_hub["renewal_rate_bp"]) == (0, 1, None)
    # the campus: taught within 90 days; ran down to 10 hours and has not renewed
    assert (at_home["active"], at_home["dormant"], at_home["renewal_rate_bp"]) == (1, 0, 0)
    assert verify(hub.hub.store, 900) == []
