"""Two campuses work offline, then sync in several orders, and every store ends identical."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from campus.hub.config import HubConfig
from tests.e2e.sync_helpers import Group, start_group


@pytest.fixture
def group(tmp_path: Path, hub_config: HubConfig) -> Iterator[Group]:
    g = start_group(tmp_path, hub_config)
    g.add_campus("BJ01", "北京海淀校区")
    g.add_campus("SH01", "上海徐汇校区")
    yield g
    g.stop()


def _lead(url: str, name: str, phone: str) -> dict:
    response = httpx.post(f"{url}/api/v1/leads", json={"name": name, "phone": phone})
    assert response.status_code == 201, response.text
    return response.json()


def test_two_campuses_converge_to_identical_stores(group: Group) -> None:
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    bj.sync(), sh.sync()  # both get the campus directory
    _lead(bj.url, "张伟", "13800138000")
    _lead(sh.url, "陈静", "(021)64381234")

    sh.sync(), bj.sync(), sh.sync()

    hub = group.hub_digests()
    assert bj.digests() == hub
    assert sh.digests() == hub
    with group.hub_store.read() as conn:
        assert conn.exec_driver_sql("select count(*) from leads").scalar_one() == 2
