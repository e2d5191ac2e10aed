"""Kiosk marks over real HTTP: signed batches are stored once; tampered, stale, unknown and
replayed requests are refused and change nothing."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.node.teaching.kiosks import add_device, signature
from campus.schema.ids import new_id
from campus.web.serving import BackgroundServer
from tests.conftest import ADMIN_PASSWORD
from tests.node.teaching_helpers import set_up_school


@pytest.fixture
def staff(live_node: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_node.url, timeout=10) as client:
        token = client.post("/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD})
        client.headers["Authorization"] = f"Bearer {token.json()['token']}"
        yield client


@pytest.fixture
def kiosk(node_config: NodeConfig) -> dict[str, str]:
    store = NodeStore(node_config.database_path, node_config.node_id)
    try:
        with store.write() as conn:
            return add_device(conn, "前台", new_id())
    finally:
        store.close()


def _signed(device: dict[str, str], body: bytes, stamp: int | None = None) -> dict[str, str]:
    stamp_text = str(stamp if stamp is not None else int(time.time()))
    return {"content-type": "application/json", "x-kiosk-device": device["id"], "x-kiosk-timestamp": stamp_text,
            "x-kiosk-signature": signature(device["secret"], stamp_text, body)}


def _state(node_config: NodeConfig) -> tuple[int, int]:
    store = NodeStore(node_config.database_path, node_config.node_id)
    try:
        with store.read() as conn:
            marks = conn.exec_driver_sql("select count(*) from attendance_marks").scalar_one()
        return marks, store.head()[0]
    finally:
        store.close()


def test_kiosk_batches_are_stored_once_and_bad_requests_change_nothing(
        live_node: BackgroundServer, staff: httpx.Client, kiosk: dict[str, str], node_config: NodeConfig) -> None:
    school = set_up_school(staff)  # type: ignore[arg-type]
    start = datetime.now(UTC) + timedelta(minutes=30)
    school.lesson(school.class_id, start.isoformat(), (start + timedelta(minutes=90)).isoformat())
    numbers = [s["number"] for s in school.students]
    now = datetime.now(UTC).isoformat()
    marks = [{"id": str(uuid.uuid4()), "student_number": n, "device_time": now} for n in numbers]
    body = json.dumps({"marks": marks}).encode()
    url = f"{live_node.url}/kiosk/v1/marks"

    headers = _signed(kiosk, body)
    first = httpx.post(url, content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert [r["outcome"] for r in first.json()["results"]] == ["stored", "stored"]
    assert {r["mark"] for r in first.json()["results"]} == {"present"}
    stored = _state(node_config)
    assert stored[0] == 2

    resent = httpx.post(url, content=body, headers=_signed(kiosk, body, int(time.time()) + 1))
    assert resent.status_code == 200 and resent.json()["duplicates"] == 2  # a kiosk re-sending is harmless
    assert _state(node_config) == stored

    refusals = {
        "replayed": (body, headers, 409),
        "bad_signature": (body.replace(b"present", b"absent") if b"present" in body else body + b" ",
                          _signed(kiosk, body), 401),
        "stale": (body, _signed(kiosk, body, int(time.time()) - 3600), 401),
        "unknown_device": (body, {**_signed(kiosk, body), "x-kiosk-device": new_id()}, 401),
    }
    for reason, (content, sent_headers, status) in refusals.items():
        answer = httpx.post(url, content=content, headers=sent_headers)
        assert answer.status_code == status, (reason, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["reason"] == reason
        assert _state(node_config) == stored, reason

    with_user = httpx.post(url, content=body, headers={**staff.headers, "content-type": "application/json"})
    assert with_user.status_code == 401  # a staff token is not a kiosk

    lesson = staff.get("/api/v1/lessons", params={"from": start.date().isoformat()}).json()["items"][0]
    attendance = staff.get(f"/api/v1/lessons/{lesson['id']}").json()["attendance"]
    assert [a["mark"] for a in attendance] == ["present", "present"]
