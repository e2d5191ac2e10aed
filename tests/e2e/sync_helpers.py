"""A hub and enrolled nodes on loopback, for end-to-end sync tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from campus.hub.app import create_app as create_hub_app
from campus.hub.config import HubConfig
from campus.hub.store import HubStore
from campus.node.app import create_app as create_node_app
from campus.node.bootstrap import init_node
from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.node.sync import client_for
from campus.schema.tables import metadata
from campus.sync.client import SyncReport
from campus.sync.digest import subscription_digests
from campus.web.serving import BackgroundServer

ADMIN = {"username": "admin", "password": "admin-password-1"}


def signed_in_client(base_url: str, credentials: dict[str, str] = ADMIN) -> httpx.Client:
    """An HTTP client to a node or hub that sends a bearer token with every request."""
    client = httpx.Client(base_url=base_url, timeout=30)
    response = client.post("/api/v1/auth/token", json=credentials)
    response.raise_for_status()
    client.headers["Authorization"] = f"Bearer {response.json()['token']}"
    return client


@dataclass
class Campus:
    config: NodeConfig
    server: BackgroundServer
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = signed_in_client(self.server.url)

    @property
    def url(self) -> str:
        return self.server.url

    def store(self) -> NodeStore:
        return self.server.server.config.app.state.node.store  # type: ignore[attr-defined]

    def sync(self, checkpoint: bool = False, **options: object) -> SyncReport:
        client = client_for(self.config, self.store(), **options)
        try:
            return client.sync_once(checkpoint=checkpoint)
        finally:
            client.close()

    def digests(self) -> dict[str, str]:
        """Digests of every table this campus subscribes to (shared tables whole, its own campus rows)."""
        with self.store().read() as conn:
            return subscription_digests(conn, metadata, self.config.campus_id)


@dataclass
class Group:
    hub_config: HubConfig
    hub_server: BackgroundServer
    base: Path
    campuses: dict[str, Campus] = field(default_factory=dict)

    @property
    def hub(self):  # type: ignore[no-untyped-def]
        return self.hub_server.server.config.app.state.hub  # type: ignore[attr-defined]

    @property
    def hub_store(self) -> HubStore:
        return self.hub.store

    def add_campus(self, code: str, name: str) -> Campus:
        _campus_id, token = self.hub.sync.add_campus(code, name)
        config = init_node(self.base / code.lower(), code, name, hub_url=self.hub_server.url, token=token)
        server = BackgroundServer(create_node_app(config, background_sync=False)).start()
        campus = Campus(config, server)
        self.campuses[code] = campus
        return campus

    def hub_digests(self, campus: Campus) -> dict[str, str]:
        """The hub's digests of what ``campus`` subscribes to: equal to the campus's own when converged."""
        with self.hub_store.read() as conn:
            return subscription_digests(conn, metadata, campus.config.campus_id)

    def converged(self) -> bool:
        return all(campus.digests() == self.hub_digests(campus) for campus in self.campuses.values())

    @property
    def hub_http(self) -> httpx.Client:
        if not hasattr(self, "_hub_http"):
            self._hub_http = signed_in_client(self.hub_server.url)
        return self._hub_http

    def stop(self) -> None:
        for campus in self.campuses.values():
            campus.http.close()
            campus.server.stop()
        self.hub_server.stop()


CAMPUS_NAMES = {"BJ01": "北京海淀校区", "SH01": "上海徐汇校区"}


def start_group(base: Path, hub_config: HubConfig) -> Group:
    server = BackgroundServer(create_hub_app(hub_config)).start()
    return Group(hub_config, server, base)


@contextmanager
def running_group(base: Path, hub_config: HubConfig, *codes: str) -> Iterator[Group]:
    """A hub on loopback with enrolled, running campus nodes; all stopped afterwards."""
    group = start_group(base, hub_config)
    try:
        for code in codes:
            group.add_campus(code, CAMPUS_NAMES[code])
        yield group
    finally:
        group.stop()


def differences(group: Group) -> dict[str, list[str]]:
    """Per campus, the tables whose digest differs from the hub's view of that campus."""
    return {code: sorted(name for name, d in campus.digests().items() if group.hub_digests(campus)[name] != d)
            for code, campus in group.campuses.items()}
