"""A node killed with SIGKILL after writing a payment and before sending its receipt sends that
receipt exactly once after it restarts: by e-mail to a real SMTP server (aiosmtpd) and by SMS to
the file sink, over real HTTP to a node served by ``campus node serve`` in its own process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.schema.tables import outbox
from campus.web.serving import free_port
from tests.conftest import ADMIN_PASSWORD
from tests.node.risk_helpers import ok, seed_student
from tests.node.smtp_server import Inbox, smtp_server


def _serve(config: NodeConfig, worker_seconds: int) -> subprocess.Popen[bytes]:
    replace(config, notify_worker_seconds=worker_seconds).save()
    node = subprocess.Popen([sys.executable, "-m", "campus", "node", "serve", "--dir", str(config.directory)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{config.port}/healthz", timeout=1).status_code == 200:
                return node
        except httpx.HTTPError:
            time.sleep(0.2)
    node.kill()
    raise AssertionError(f"the node did not start: {node.stderr.read() if node.stderr else ''}")


def _statuses(config: NodeConfig) -> list[str]:
    store = NodeStore(config.database_path, config.node_id)
    try:
        with store.read() as conn:
            return sorted(conn.execute(select(outbox.c.status).where(outbox.c.kind == "receipt_issued")).scalars())
    finally:
        store.close()


def _wait(until: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not until() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.2)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.mark.slow
def test_a_receipt_written_before_a_sigkill_is_sent_exactly_once_after_the_restart(node_config: NodeConfig,
                                                                                  inbox: Inbox) -> None:
    config = replace(node_config, port=free_port(), notify_smtp_host="127.0.0.1", notify_smtp_port=inbox.port,
                     notify_quiet_start="00:00", notify_quiet_end="00:00")  # whatever the hour the test runs
    sink = Path(config.directory) / config.notify_sms_file
    node = _serve(config, worker_seconds=3600)  # its worker runs once at start, then not for an hour
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{config.port}", timeout=10) as client:
            token = ok(client.post("/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}))
            client.headers["Authorization"] = f"Bearer {token['token']}"
            seeded = seed_student(client, name="李雷", phone="13900001111", expires_on="2099-12-31")
            ok(client.post("/api/v1/notifications/addresses", json={"student_id": seeded.student["id"],
                                                                   "email": "lilei@example.com"}), 200)
            seeded.pay(100000)
    finally:
        node.send_signal(signal.SIGKILL)
        node.wait(timeout=30)
    assert _statuses(config) == ["queued", "queued"] and inbox.received == [] and not sink.exists()

    node = _serve(config, worker_seconds=1)
    try:
        _wait(lambda: _statuses(config) == ["sent", "sent"])
        time.sleep(3)  # three more rounds of the worker: nothing goes out again
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=30)

    assert _statuses(config) == ["sent", "sent"]
    assert [mail["To"] for mail in inbox.received] == ["lilei@example.com"]
    assert [json.loads(line)["to"] for line in sink.read_text(encoding="utf-8").splitlines()] == ["13900001111"]
