"""Fixtures shared by every test: fresh node and hub directories, apps, live servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from campus.hub.bootstrap import init_hub
from campus.hub.config import HubConfig
from campus.node.bootstrap import init_node
from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.web.serving import BackgroundServer

pytest_plugins = ["tests.postgres", "tests.e2e.browser"]

ADMIN_PASSWORD = "admin-password-1"


@pytest.fixture
def node_config(tmp_path: Path) -> NodeConfig:
    return init_node(tmp_path / "bj01", "BJ01", "北京海淀校区", admin_password=ADMIN_PASSWORD)


@pytest.fixture
def node_store(node_config: NodeConfig) -> Iterator[NodeStore]:
    store = NodeStore(node_config.database_path, node_config.node_id)
    yield store
    store.close()


@pytest.fixture
def node_client(node_config: NodeConfig) -> Iterator[TestClient]:
    from campus.node.app import create_app

    with TestClient(create_app(node_config), raise_server_exceptions=False) as client:
        sign_in(client)
        yield client


def sign_in(client: TestClient, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    """Give the client a bearer token for every later request; returns the token."""
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return token


@pytest.fixture
def hub_config(tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub", admin_password=ADMIN_PASSWORD)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_hub_config(request: pytest.FixtureRequest, tmp_path: Path) -> HubConfig:
    """A hub on each engine it supports: the default SQLite file, then PostgreSQL."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    return init_hub(tmp_path / "hub", database_url=url, admin_password=ADMIN_PASSWORD)


@pytest.fixture
def live_node(node_config: NodeConfig) -> Iterator[BackgroundServer]:
    """The node served by uvicorn on a loopback port: real HTTP."""
    from campus.node.app import create_app

    with BackgroundServer(create_app(node_config)) as server:
        yield server


@pytest.fixture
def live_hub(hub_config: HubConfig) -> Iterator[BackgroundServer]:
    from campus.hub.app import create_app

    with BackgroundServer(create_app(hub_config)) as server:
        yield server
