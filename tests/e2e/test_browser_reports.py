"""The owner opens the group dashboard and the attendance heatmap at headquarters in Chromium, in
Chinese: the charts are the page's own SVG and no request leaves the machine."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import ADMIN_PASSWORD
from tests.e2e.browser import MARKS
from tests.e2e.sync_helpers import Group
from tests.e2e.test_group_reports import _span, _synced
from tests.node.risk_helpers import ok

pytestmark = MARKS
SHOTS = Path(__file__).parents[2] / "bench-results"


def test_the_owner_reads_the_dashboard_and_the_heatmap_with_nothing_from_outside(
        browser, group: Group) -> None:  # type: ignore[no-untyped-def]
    campuses = _synced(group)
    month = datetime.now(UTC).date().strftime("%Y-%m")
    ok(group.hub_http.put("/api/v1/kpi-targets", json={
        "campus_id": campuses["BJ01"].config.campus_id, "period": month,
        "targets": [{"metric": "new_leads", "target": 4}, {"metric": "signed_fen", "target": 2000000}]}), 200)
    hub = group.hub_server.url
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="zh-CN")  # type: ignore[attr-defined]
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{hub}/reports")
    page.fill("#f-username", "admin")
    page.fill("#f-password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{hub}/reports?period=month&on={month}")
    dashboard = page.content()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "reports-dashboard.png"), full_page=True)
    page.goto(f"{hub}/reports/heatmap?{_span()}")
    heatmap = page.content()
    page.screenshot(path=str(SHOTS / "reports-heatmap.png"), full_page=True)
    page.close()

    assert "仪表盘" in dashboard and "月度目标" in dashboard and "完成率" in dashboard
    assert "出勤热力图" in heatmap and "按星期和时段的出勤人次" in heatmap and "周二" in heatmap
    assert heatmap.count("<svg") >= 3  # the group's two grids and one per campus
    assert requested and all(url.startswith(("http://127.0.0.1", "data:")) for url in requested), requested
    assert (SHOTS / "reports-heatmap.png").stat().st_size > 20_000
