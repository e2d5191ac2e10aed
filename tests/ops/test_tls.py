"""TLS with uvicorn's own: a hub served with its own certificate, a node that pins it with
``[sync] ca_file`` and syncs (a node that does not is refused), Secure session cookies over TLS."""

from __future__ import annotations

import dataclasses
import ssl
from pathlib import Path

import httpx
import pytest

from campus.hub.app import create_app as create_hub_app
from campus.hub.config import HubConfig
from campus.node.app import create_app as create_node_app
from campus.node.bootstrap import init_node
from campus.node.config import NodeConfig
from campus.node.ops.doctor import check_certificate
from campus.node.store import NodeStore
from campus.node.sync import client_for
from campus.sync.client import HubUnreachable
from campus.web.serving import BackgroundServer
from tests.ops.certs import make_certificates


def test_a_node_pins_a_hub_served_with_its_own_certificate_and_syncs_over_tls(hub_config: HubConfig,
                                                                              tmp_path: Path) -> None:
    ca, cert, key = make_certificates(tmp_path / "tls")
    config = dataclasses.replace(hub_config, certfile=str(cert), keyfile=str(key))
    with BackgroundServer(create_hub_app(config), certfile=str(cert), keyfile=str(key)) as hub_server:
        assert hub_server.url.startswith("https://127.0.0.1:")
        hub = hub_server.server.config.app.state.hub  # type: ignore[attr-defined]
        _id, token = hub.sync.add_campus("BJ01", "北京海淀校区")
        with pytest.raises(HubUnreachable, match="CERTIFICATE_VERIFY_FAILED"):  # not pinned: not trusted
            init_node(tmp_path / "unpinned", "BJ01", "北京海淀校区", hub_url=hub_server.url, token=token)

        node = init_node(tmp_path / "bj01", "BJ01", "北京海淀校区", hub_url=hub_server.url, token=token,
                         ca_file=str(ca))
        assert node.ca_file == str(ca)
        store = NodeStore(node.database_path, node.node_id)
        client = client_for(node, store)
        try:
            with store.unit_of_work() as uow:
                uow.insert("campaigns", {"campus_id": node.campus_id, "name": "地推", "channel": "offline",
                                         "cost_fen": 100, "created_at": "2026-12-01T00:00:00Z", "deleted": False})
            report = client.sync_once()
        finally:
            client.close()
            store.close()
        assert report.pushed == 1
        assert hub.sync.status()[0]["hub_known_head"] == report.head_seq

        assert check_certificate(node).ok
        unpinned = check_certificate(dataclasses.replace(node, ca_file=""))
        assert not unpinned.ok and "not trusted" in unpinned.detail

        with httpx.Client(verify=ssl.create_default_context(cafile=ca)) as browser:
            cookie = browser.get(f"{hub_server.url}/login").headers["set-cookie"]
        assert "campus_hub_session=" in cookie and "secure" in cookie.lower()


def test_a_node_served_over_tls_sets_secure_cookies_and_plain_http_does_not(node_config: NodeConfig, tmp_path: Path) -> None:
    ca, cert, key = make_certificates(tmp_path / "tls")
    over_tls = dataclasses.replace(node_config, certfile=str(cert), keyfile=str(key))
    with BackgroundServer(create_node_app(over_tls), certfile=str(cert), keyfile=str(key)) as server, \
            httpx.Client(verify=ssl.create_default_context(cafile=ca)) as browser:
        cookie = browser.get(f"{server.url}/login").headers["set-cookie"]
        assert "secure" in cookie.lower()
    with BackgroundServer(create_node_app(node_config)) as server:
        cookie = httpx.get(f"{server.url}/login").headers["set-cookie"]
        assert "secure" not in cookie.lower()


def test_doctor_names_a_hub_certificate_about_to_expire(node_config: NodeConfig, tmp_path: Path) -> None:
    ca, cert, key = make_certificates(tmp_path / "tls", days=5)
    with BackgroundServer(create_node_app(node_config), certfile=str(cert), keyfile=str(key)) as server:
        pinned = dataclasses.replace(node_config, hub_url=server.url, ca_file=str(ca))
        finding = check_certificate(pinned)
    assert not finding.ok and "expires in" in finding.detail
