"""The hub's sync page for headquarters: each campus's sync state and every authentic change it sent
that was refused, with the campus, the record (by its label) and why."""

from __future__ import annotations

from starlette.testclient import TestClient

from campus.hub.app import create_app
from campus.hub.config import HubConfig
from campus.schema.tables import sync_rejections
from tests.conftest import sign_in


def test_the_hub_sync_page_lists_campuses_and_the_changes_it_refused(hub_config: HubConfig) -> None:
    with TestClient(create_app(hub_config), raise_server_exceptions=False) as client:
        sign_in(client)
        hub = client.app.state.hub  # type: ignore[attr-defined]
        campus_id, _token = hub.sync.add_campus("BJ01", "北京海淀校区")
        other_id, _other = hub.sync.add_campus("SH01", "上海徐汇校区")
        with hub.store.write() as conn:
            for row_id, campus, reason in (("r1", campus_id, "campus mismatch"), ("r2", other_id, "stale schema")):
                conn.execute(sync_rejections.insert().values(
                    id=row_id, campus_id=campus, node_id="n1", seq=7, table_name="leads", row_id="0190abcd-0000",
                    reason=reason, created_at="2026-12-01T02:00:00Z"))

        page = client.get("/sync").text
        one = client.get("/sync", params={"campus": "SH01"}).text

    assert "北京海淀校区" in page and "上海徐汇校区" in page and "未接入" in page
    assert "campus mismatch" in page and "stale schema" in page and "线索" in page and "2026-12-01 10:00" in page
    assert "stale schema" in one and "campus mismatch" not in one
    assert 'href="/sync"' in page  # in the menu for headquarters
