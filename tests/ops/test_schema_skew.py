"""A node and a hub one schema version apart (one was upgraded first): what each can take it takes,
and what it cannot is refused whole with a message naming both versions. Every change carries the
version it was written under; a store stamping its changes one version off stands for the other
release (same tables: the versions are all that differ on the wire)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from campus.node.store import NodeStore
from campus.schema.db import LOG_TABLES
from campus.schema.ids import new_id
from campus.schema.tables import SCHEMA_VERSION, metadata
from campus.sync.capture import UnitOfWork
from campus.sync.client import SyncClient, SyncRefused
from campus.sync.replica import NodeReplica, SchemaTooNew
from campus.sync.signing import load_private_key
from tests.e2e.sync_helpers import Campus, Group


class ReleaseStore(NodeStore):
    """The campus's store as another release writes it: its changes carry ``release``'s version."""

    release = SCHEMA_VERSION

    def capture_on(self, conn):  # type: ignore[no-untyped-def]
        return UnitOfWork(conn, metadata, LOG_TABLES, self.writer_id, self.clock, self.release, new_id)


@contextmanager
def release(campus: Campus, version: int) -> Iterator[tuple[ReleaseStore, SyncClient]]:
    campus.server.stop()
    store = ReleaseStore(campus.config.database_path, campus.config.node_id)
    store.release = version
    replica = NodeReplica(store, metadata, LOG_TABLES, campus.config.campus_id, version)
    client = SyncClient(campus.config.hub_url, campus.config.node_id, load_private_key(campus.config.key_path),
                        bytes.fromhex(campus.config.hub_public_key), replica)
    try:
        yield store, client
    finally:
        client.close()
        store.close()


def _campaign(store: NodeStore, campus_id: str, name: str) -> None:
    with store.unit_of_work() as uow:
        uow.insert("campaigns", {"campus_id": campus_id, "name": name, "channel": "offline", "cost_fen": 100,
                                 "created_at": "2026-12-01T00:00:00Z", "deleted": False})


def _hub_campaigns(group: Group) -> list[str]:
    with group.hub_store.read() as conn:
        return list(conn.exec_driver_sql("select name from campaigns order by name").scalars())


@pytest.mark.campuses("BJ01")
def test_a_node_one_release_behind_the_hub_still_pushes_and_refuses_newer_changes_naming_both(
        group: Group) -> None:
    bj = group.campuses["BJ01"]
    price = group.hub_http.post("/api/v1/price-list/items", json={  # written by the hub: its schema
        "grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "unit_price_fen": 20000})
    assert price.status_code == 201, price.text
    with release(bj, SCHEMA_VERSION - 1) as (store, client):
        _campaign(store, bj.config.campus_id, "旧版本的地推")
        cursor = client.replica.pull_cursor()
        with pytest.raises(SchemaTooNew) as refused:
            client.sync_once()
        assert client.replica.pull_cursor() == cursor  # nothing of the newer release was applied
        assert client.replica.pushed_seq() == store.head()[0]  # its own changes went through first
    message = str(refused.value)
    assert f"schema {SCHEMA_VERSION}" in message and f"schema {SCHEMA_VERSION - 1}" in message
    assert "upgrade Campus on this node" in message
    assert _hub_campaigns(group) == ["旧版本的地推"]


@pytest.mark.campuses("BJ01")
def test_a_node_one_release_ahead_of_the_hub_is_refused_whole_with_both_versions_named(group: Group) -> None:
    bj = group.campuses["BJ01"]
    with release(bj, SCHEMA_VERSION + 1) as (store, client):
        _campaign(store, bj.config.campus_id, "新版本的地推")
        with pytest.raises(SyncRefused) as refused:
            client.sync_once()
        assert client.replica.pushed_seq() < store.head()[0]  # kept in its log for when the hub is upgraded
    assert refused.value.reason == "schema_too_new"
    assert f"schema {SCHEMA_VERSION + 1}; this hub runs schema {SCHEMA_VERSION}" in refused.value.detail
    assert _hub_campaigns(group) == []
    status = group.hub.sync.status()[0]
    assert "schema_too_new" in status["last_error"] and status["quarantined"] is False
