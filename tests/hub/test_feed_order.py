"""The feed's order holds under concurrent writers, on both hub engines: a pull never moves a
node's cursor past a segment it has not been sent."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from campus.hub.reports import campus_summary
from campus.hub.store import HubStore
from campus.hub.sync import HubSync
from campus.schema.db import sqlite_url
from campus.schema.tables import SCHEMA_VERSION
from campus.sync import protocol
from campus.sync.changes import GENESIS_HASH, Change, link_hash
from campus.sync.signing import generate_private_key, public_key_bytes, sign


class FakeNode:
    """An enrolled node that writes hand-made changes and talks to HubSync in process."""

    def __init__(self, hub: HubSync, code: str) -> None:
        self.hub = hub
        self.campus_id, token = hub.add_campus(code, code)
        self.node_id = str(uuid.uuid4())
        self.key = generate_private_key()
        public = public_key_bytes(self.key)
        hub.enroll(token, self.node_id, public, sign(self.key, protocol.enroll_statement(token, self.node_id, public)))
        self.links: list[tuple[int, bytes, bytes]] = []
        self.head = GENESIS_HASH

    def add_lead(self, number: int) -> None:
        seq = len(self.links) + 1
        body = Change(node=self.node_id, seq=seq, hlc=(1 << 40) + seq, table="leads", row_id=str(uuid.uuid4()),
                      op="insert", schema=SCHEMA_VERSION,
                      fields={"campus_id": self.campus_id, "number": f"L{number}", "name": f"学员{number}",
                              "phone": f"1380000{number:04d}", "pool": "lead", "created_at": "2026-11-24T08:00:00Z",
                              "deleted": False}).encode()
        self.head = link_hash(self.head, body)
        self.links.append((seq, body, self.head))

    def push(self) -> dict:
        last = self.links[-1]
        return self.hub.push(self.node_id, list(self.links), sign(self.key, protocol.push_statement(
            self.node_id, self.links[0][0], last[0], last[2])))

    def pull(self, cursor: int) -> dict:
        request = {"cursor": cursor, "max_bytes": 1 << 20, "checkpoint": False, "sent_at_ms": protocol.now_ms()}
        return self.hub.pull(self.node_id, request, sign(self.key, protocol.request_statement(
            "pull", self.node_id, request)))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubSync]:
    url = sqlite_url(tmp_path / "hub.sqlite") if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    store = HubStore(url, str(uuid.uuid4()))
    yield HubSync(store, generate_private_key())
    store.close()


@pytest.mark.postgres
def test_a_pull_never_moves_a_cursor_past_a_push_still_being_merged(postgres_url: str) -> None:
    """PostgreSQL only: on SQLite the paused push holds the one write lock, so neither the hub's
    write nor the pull's bookkeeping could run meanwhile, and feed_seq is never drawn out of order."""
    store = HubStore(postgres_url, str(uuid.uuid4()))
    try:
        _pull_during_a_push(HubSync(store, generate_private_key()))
    finally:
        store.close()


def _pull_during_a_push(hub: HubSync) -> None:
    bj, sh = FakeNode(hub, "BJ01"), FakeNode(hub, "SH01")
    cursor = sh.pull(0)["cursor"]
    bj.add_lead(1)
    in_feed, go_on = threading.Event(), threading.Event()

    @event.listens_for(hub.store.engine, "after_cursor_execute")
    def pause(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if threading.current_thread().name == "push" and statement.startswith("INSERT INTO hub_feed "):
            in_feed.set()
            go_on.wait(timeout=30)

    pushing = threading.Thread(target=bj.push, name="push")
    pushing.start()
    assert in_feed.wait(timeout=30)
    # A hub-owned write meanwhile, on its own thread: it must not publish ahead of the push.
    writing = threading.Thread(target=hub.add_campus, args=("GZ01", "广州"), name="hub-write")
    writing.start()
    writing.join(timeout=2)  # without the feed's lock it commits now, ahead of the push
    during = sh.pull(cursor)
    go_on.set()
    pushing.join(timeout=30)
    writing.join(timeout=30)
    after = sh.pull(during["cursor"])

    event.remove(hub.store.engine, "after_cursor_execute", pause)
    delivered = [entry[1] for entry in during["entries"] + after["entries"]]
    assert bj.links[0][1] in delivered  # BJ01's lead reached SH01, whatever the timing
    assert sh.pull(after["cursor"])["entries"] == []


def test_the_campus_report_counts_received_changes_as_a_plain_integer(hub: HubSync) -> None:
    bj = FakeNode(hub, "BJ01")
    for number in range(3):
        bj.add_lead(number)
    bj.push()

    total = campus_summary(hub.store)[-1]

    assert total["changes_received"] == 3 and type(total["changes_received"]) is int
