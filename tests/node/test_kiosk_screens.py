"""Kiosks from a screen: add one (its secret shown once), pair a tablet with it, see its last contact,
rename it, pair it again with a new secret, revoke it; managers only, each step audited, the same
use cases as the API."""

from __future__ import annotations

import re

from sqlalchemy import select
from starlette.testclient import TestClient

from campus.node.app import create_app
from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.schema.tables import audit_events
from tests.conftest import sign_in
from tests.node.teaching_helpers import set_up_school


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _flash(page: str) -> str:
    return re.search(r'<div class="flash flash-(\w+)" role="status">([^<]*)</div>', page).group(2)


def _audited(config: NodeConfig) -> list[str]:
    store = NodeStore(config.database_path, config.node_id)
    try:
        with store.read() as conn:
            return [a for a in conn.execute(select(audit_events.c.action).order_by(audit_events.c.at)).scalars()
                    if a.startswith("kiosk_")]
    finally:
        store.close()


def test_a_kiosk_is_added_paired_renamed_paired_again_and_revoked_from_the_screen(
        node_client: TestClient, node_config: NodeConfig) -> None:
    school = set_up_school(node_client, students=1)
    token = _csrf(node_client.get("/kiosks").text)

    added = node_client.post("/kiosks", data={"csrf_token": token, "name": "前门平板"})

    assert added.status_code == 200 and added.headers["cache-control"] == "no-store"
    device_id = re.search(r'<dd id="kiosk-id">([^<]+)</dd>', added.text).group(1)
    secret = re.search(r'<dd id="kiosk-secret-value">([0-9a-f]{64})</dd>', added.text).group(1)
    listing = node_client.get("/kiosks").text
    assert "前门平板" in listing and secret not in listing and "从未" in listing

    with TestClient(create_app(node_config, background_sync=False)) as tablet:
        pair_page = tablet.get("/kiosk/pair").text
        paired = tablet.post("/kiosk/pair", data={"csrf_token": _csrf(pair_page), "device_id": device_id,
                                                  "secret": secret})
        assert "前门平板" in paired.text
        checked = tablet.post("/kiosk", data={"csrf_token": _csrf(paired.text),
                                              "student_number": school.students[0]["number"]})
        assert "学员0 签到成功" in checked.text
        assert "从未" not in re.search(r'<tbody>(.*?)</tbody>', node_client.get("/kiosks").text, re.S).group(1)

        renamed = node_client.post(f"/kiosks/{device_id}/rename", data={"csrf_token": token, "name": "大厅平板"})
        assert _flash(renamed.text) == "签到机已改名为 大厅平板"
        empty = node_client.post(f"/kiosks/{device_id}/rename", data={"csrf_token": token, "name": ""})
        assert _flash(empty.text).startswith("签到机名称:")
        again = node_client.post(f"/kiosks/{device_id}/secret", data={"csrf_token": token})
        new_secret = re.search(r'<dd id="kiosk-secret-value">([0-9a-f]{64})</dd>', again.text).group(1)
        assert new_secret != secret

        revoked = node_client.post(f"/kiosks/{device_id}/revoke", data={"csrf_token": token})
        assert _flash(revoked.text) == "签到机 大厅平板 已停用:此后它的签到将被拒绝"
        assert tablet.get("/kiosk", follow_redirects=False).headers["location"] == "/kiosk/pair"
        twice = node_client.post(f"/kiosks/{device_id}/revoke", data={"csrf_token": token})
        assert "flash-error" in twice.text

    assert _audited(node_config) == ["kiosk_added", "kiosk_renamed", "kiosk_secret_renewed", "kiosk_revoked"]


def test_the_api_manages_kiosks_with_the_same_use_cases_and_only_managers_may(
        node_client: TestClient, node_config: NodeConfig) -> None:
    made = node_client.post("/api/v1/kiosks", json={"name": "后门平板"})
    assert made.status_code == 201 and len(made.json()["secret"]) == 64
    listed = node_client.get("/api/v1/kiosks").json()["items"]
    assert [(k["name"], k["last_contact"]) for k in listed] == [("后门平板", None)] and "secret" not in listed[0]
    assert node_client.post("/api/v1/kiosks", json={"name": ""}).status_code == 422
    set_up_school(node_client, students=0)
    sign_in(node_client, "teacher0", "teacher-pass-0")
    assert node_client.get("/kiosks").status_code == 403
    assert node_client.post(f"/api/v1/kiosks/{made.json()['id']}/revoke").status_code == 403
    assert _audited(node_config) == ["kiosk_added"]
