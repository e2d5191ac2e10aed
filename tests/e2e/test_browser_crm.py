"""A consultant claims a lead and records a follow-up through the staff screens, in Chromium."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from campus.web.serving import BackgroundServer
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.browser import MARKS
from tests.e2e.sync_helpers import signed_in_client

pytestmark = MARKS


def test_consultant_claims_a_lead_and_adds_a_follow_up_through_the_screens(
    browser, live_node: BackgroundServer, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    with closing(signed_in_client(live_node.url, {"username": "admin", "password": ADMIN_PASSWORD})) as admin:
        campus_id = live_node.server.config.app.state.node.config.campus_id  # type: ignore[attr-defined]
        admin.post("/api/v1/users", json={"username": "wang", "display_name": "王老师", "password": "wang-password",
                                          "roles": [{"role": "consultant", "campus_id": campus_id}]}).raise_for_status()
        admin.post("/api/v1/leads", json={"name": "李娜", "phone": "13912345678"}).raise_for_status()
    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    outside = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(live_node.url) else None)

    page.goto(f"{live_node.url}/leads")
    page.fill("#f-username", "wang")
    page.fill("#f-password", "wang-password")
    page.click("button[type=submit]")
    page.click("text=BJ01-L-000001")
    page.click("button[data-move=claim]")
    page.fill("#f-content", "电话沟通,家长想周六来试听钢琴课")
    page.fill("#f-next", "2026-11-28")
    page.click("#follow-up-form button[type=submit]")

    assert page.inner_text("#lead-pool") == "私有池"
    assert "电话沟通,家长想周六来试听钢琴课" in page.inner_text("#follow-ups")
    assert "已完成" in page.content() or "跟进记录已保存" in page.content()
    assert "领取: 线索池 → 私有池" in page.inner_text("#history")  # labels, never the stored codes
    page.screenshot(path=str(tmp_path / "lead.png"), full_page=True)
    assert (tmp_path / "lead.png").stat().st_size > 20_000
    page.goto(f"{live_node.url}/leads?pool=private")
    assert "李娜" in page.inner_text("#leads")
    assert "私有池 1" in page.inner_text("#pool-tabs").replace("\n", " ")
    assert outside == []  # every asset came from the node itself
    page.close()
