"""A hub and enrolled nodes on loopback, for end-to-end sync tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
from campus.sync.digest import replicated_tables, store_digests
from campus.web.serving import BackgroundServer


@dataclass
class Campus:
    config: NodeConfig
    server: BackgroundServer

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
        with self.store().read() as conn:
            return store_digests(conn, replicated_tables(metadata))


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

    def hub_digests(self) -> dict[str, str]:
        with self.hub_store.read() as conn:
            return store_digests(conn, replicated_tables(metadata))

    def stop(self) -> None:
        for campus in self.campuses.values():
            campus.server.stop()
        self.hub_server.stop()


def start_group(base: Path, hub_config: HubConfig) -> Group:
    server = BackgroundServer(create_hub_app(hub_config)).start()
    return Group(hub_config, server, base)
