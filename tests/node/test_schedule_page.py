"""The schedule screen: its <title> is only the title; the stray check-ins table is in the page body."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from starlette.testclient import TestClient

from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.node.teaching.kiosks import add_device
from campus.schema.ids import new_id


class _Page(HTMLParser):
    """Collects the text of <title> and the ids of the tables inside <body>."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.body_tables: list[str] = []
        self._in_title = False
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag == "body":
            self._in_body = True
        elif tag == "table" and self._in_body:
            self.body_tables.append(dict(attrs).get("id") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_schedule_title_holds_no_table_and_stray_check_ins_show_in_the_body(
        node_client: TestClient, node_store: NodeStore, node_config: NodeConfig) -> None:
    with node_store.write() as conn:
        device = add_device(conn, "前台平板", new_id())
    walk_in = node_client.post("/api/v1/students", json={"name": "没课的学员"}).json()

    from campus.node.app import create_app

    with TestClient(create_app(node_config, background_sync=False)) as tablet:
        pair_page = tablet.get("/kiosk/pair").text
        paired = tablet.post("/kiosk/pair", data={"csrf_token": _csrf(pair_page), "device_id": device["id"],
                                                  "secret": device["secret"]})
        assert paired.status_code == 200, paired.text
        done = tablet.post("/kiosk", data={"csrf_token": _csrf(paired.text), "student_number": walk_in["number"]})
        assert "没课的学员 签到成功" in done.text  # no lesson today: a stray check-in

    response = node_client.get("/schedule")  # today, in the campus's time
    assert response.status_code == 200
    page = _Page()
    page.feed(response.text)
    assert "<" not in response.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert page.title.startswith("课表 ")  # the screen and its day, nothing more
    assert "没课的学员" not in page.title and "签到" not in page.title
    assert page.body_tables == ["lessons", "stray-check-ins"]
    assert "没课的学员" in response.text and "前台平板" in response.text
