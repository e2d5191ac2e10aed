"""The last backup's age is on the node's and the hub's sync page, in words, warning when it is
older than twice the scheduled interval (as ``campus doctor`` does)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from starlette.testclient import TestClient

from campus.hub.app import create_app as create_hub
from campus.hub.config import HubConfig
from campus.node.app import create_app as create_node
from campus.node.config import NodeConfig
from campus.schema.backups import record_backup
from tests.conftest import sign_in

HOUR_MS = 3600 * 1000


def _last_backup(page: str) -> str:
    found = re.search(r'<dd>\s*(<span class="[^"]*" id="last-backup">.*?)</dd>', page, re.S)
    assert found, page
    return " ".join(found.group(1).split())


def test_a_node_never_backed_up_says_so_on_its_sync_page(node_config: NodeConfig) -> None:
    with TestClient(create_node(node_config, background_sync=False)) as client:
        sign_in(client)
        page = client.get("/sync").text

    assert _last_backup(page).startswith('<span class="status-warn" id="last-backup">从未备份</span>')


def test_a_node_backed_up_three_days_ago_shows_the_age_as_overdue(node_config: NodeConfig) -> None:
    with TestClient(create_node(node_config, background_sync=False)) as client:
        sign_in(client)
        with client.app.state.node.store.write() as conn:  # type: ignore[attr-defined]
            record_backup(conn, int(time.time() * 1000) - 73 * HOUR_MS, Path("bj01.campus-backup"))
        page = client.get("/sync").text
        english = client.get("/sync?lang=en").text

    assert _last_backup(page).startswith('<span class="status-warn" id="last-backup">3 天前</span> (')
    assert "3 days ago" in _last_backup(english)


def test_the_hub_sync_page_shows_its_last_backup_hours_ago(hub_config: HubConfig) -> None:
    with TestClient(create_hub(hub_config)) as client:
        sign_in(client)
        with client.app.state.hub.store.write() as conn:  # type: ignore[attr-defined]
            record_backup(conn, int(time.time() * 1000) - 5 * HOUR_MS - 60_000, Path("hub.campus-backup"))
        page = client.get("/sync").text

    shown = _last_backup(page)
    assert shown.startswith('<span class="status-ok" id="last-backup">5 小时前</span> (')
    assert shown.endswith(") · 每 24 小时一次")
