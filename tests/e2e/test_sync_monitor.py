"""What headquarters and a campus can see of sync: status, metrics, the background loop."""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from campus.hub.app import create_app as create_hub_app
from campus.hub.config import HubConfig
from campus.node.app import create_app as create_node_app
from campus.node.config import NodeConfig
from campus.node.sync import client_for
from campus.sync import protocol
from campus.sync.client import SyncRefused
from campus.sync.signing import load_private_key, sign
from campus.web.serving import BackgroundServer
from tests.e2e.sync_helpers import Campus, Group, signed_in_client


def _lead(campus: Campus | httpx.Client, name: str, phone: str) -> None:
    client = campus if isinstance(campus, httpx.Client) else campus.http
    client.post("/api/v1/leads", json={"name": name, "phone": phone}).raise_for_status()


def test_hub_status_shows_heads_lag_and_errors_per_campus(group: Group) -> None:
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    _lead(bj, "张伟", "13800138000")
    _lead(bj, "李娜", "13912345678")
    bj.sync()

    campuses = {c["campus_code"]: c for c in group.hub_http.get("/api/v1/sync/status").json()["campuses"]}

    assert campuses["BJ01"]["hub_known_head"] == 3  # the admin's sign-in (audited) and two leads
    assert campuses["BJ01"]["lag_changes"] == 0
    assert campuses["BJ01"]["key_status"] == "active"
    assert campuses["SH01"]["hub_known_head"] == 0  # synced once at enrollment, has written nothing since
    assert campuses["SH01"]["lag_changes"] == 2  # BJ01's two leads; BJ01's audit trail is not SH01's
    sh.sync()
    after = {c["campus_code"]: c for c in group.hub_http.get("/api/v1/sync/status").json()["campuses"]}
    assert (after["SH01"]["lag_changes"], after["SH01"]["lag_seconds"]) == (0, 0)
    assert campuses["SH01"]["lag_seconds"] < 60  # the oldest change it had not pulled was just made
    assert after["SH01"]["seconds_since_contact"] < 60


def test_the_monitor_shows_how_far_a_campus_has_applied_not_how_far_it_has_asked(group: Group) -> None:
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    for i in range(6):  # a push each: the feed holds a segment per push, and a page is whole segments
        _lead(bj, f"学员{i}", f"1380013{i:04d}")
        bj.sync()
    requests: list[tuple[int, int, int]] = []  # (cursor asked from, applied claimed, applied in fact)
    client = client_for(sh.config, sh.store(), max_batch_bytes=1024)  # a page per few leads
    client.http.event_hooks["request"] = [lambda request: requests.append((
        (body := protocol.decode_body(request.content)["request"])["cursor"], body["applied"],
        client.replica.pull_cursor())) if request.url.path.endswith("/pull") else None]
    try:
        client.pull()
    finally:
        client.close()

    assert len(requests) >= 2
    assert all(claimed <= in_fact for _, claimed, in_fact in requests)
    assert any(asked > claimed for asked, claimed, _ in requests)  # pages were asked for ahead of applying


def test_the_hub_records_the_applied_cursor_a_pull_names(group: Group) -> None:
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    for i in range(3):
        _lead(bj, f"学员{i}", f"1380013{i:04d}")
    bj.sync()
    head = group.hub.sync.status()[0]["feed_head"]
    key = load_private_key(sh.config.key_path)
    request = {"cursor": head, "applied": 1, "max_bytes": 1 << 20, "sent_at_ms": protocol.now_ms()}

    group.hub.sync.pull(sh.config.node_id, request,
                        sign(key, protocol.request_statement("pull", sh.config.node_id, request)))

    campuses = {c["campus_code"]: c for c in group.hub.sync.status()}
    assert campuses["SH01"]["pull_cursor"] == 1
    assert campuses["SH01"]["lag_changes"] >= 3  # BJ01's three leads, at least, count as not yet applied


def test_node_status_shows_outbox_and_last_successful_sync(group: Group) -> None:
    bj = group.campuses["BJ01"]
    _lead(bj, "张伟", "13800138000")
    before = bj.http.get("/api/v1/sync/status").json()

    bj.sync()
    after = bj.http.get("/api/v1/sync/status").json()

    assert before["outbox_size"] == 2  # the sign-in's audit event and the lead
    assert after["outbox_size"] == 0
    assert after["last_successful_sync"] >= before["last_successful_sync"]  # the first was at enrollment


def test_metrics_count_ingested_changes_refusals_and_lag(group: Group) -> None:
    bj = group.campuses["BJ01"]
    _lead(bj, "张伟", "13800138000")
    bj.sync()
    group.hub.sync.revoke_keys("BJ01")
    _lead(bj, "李娜", "13912345678")
    with pytest.raises(SyncRefused):
        bj.sync()

    text = httpx.get(f"{group.hub_server.url}/metrics").text

    assert "campus_sync_changes_ingested_total 2.0" in text  # the lead and its sign-in audit event
    assert 'campus_sync_lag_changes{campus="SH01"}' in text
    assert 'campus_sync_batches_refused_total{reason="revoked_key"} 1.0' in text
    assert "campus_sync_quarantined" in text


def test_background_loop_keeps_trying_while_the_hub_is_down_and_syncs_when_it_returns(
    tmp_path: Path, hub_config: HubConfig
) -> None:
    hub_server = BackgroundServer(create_hub_app(hub_config)).start()
    hub = hub_server.server.config.app.state.hub  # type: ignore[attr-defined]
    _, token = hub.sync.add_campus("BJ01", "北京海淀校区")
    from campus.node.bootstrap import init_node

    config = init_node(tmp_path / "bj01", "BJ01", "北京海淀校区", hub_url=hub_server.url, token=token,
                       sync_interval_seconds=1)
    hub_server.stop()
    assert NodeConfig.load(config.directory).sync_interval_seconds == 1
    with BackgroundServer(create_node_app(config)) as node, closing(signed_in_client(node.url)) as http:
        _lead(http, "张伟", "13800138000")
        loop = node.server.config.app.state.node.sync_loop  # type: ignore[attr-defined]
        _wait(lambda: loop.failures >= 1)
        offline = http.get("/api/v1/sync/status").json()
        hub_server = BackgroundServer(create_hub_app(hub_config), port=hub_server.port).start()
        try:
            # A round that succeeds whole resets the failures (its push empties the outbox before
            # its pull and closing hello are done: stopping the hub then would fail the round).
            # The loop backs off up to 2^failures s between tries, longer under load.
            _wait(lambda: loop.failures == 0, timeout=90)
            online = http.get("/api/v1/sync/status").json()
        finally:
            hub_server.stop()

    assert offline["outbox_size"] == 2  # the sign-in's audit event and the lead
    assert "127.0.0.1" in offline["last_error"]  # names the hub it could not reach
    assert online["outbox_size"] == 0


def _wait(condition, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)
