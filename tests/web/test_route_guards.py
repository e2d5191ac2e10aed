"""Every route of both apps is behind the permission check: a new route cannot slip in unprotected.

The walk finds each route, then asks it anonymously (401, or a redirect to /login for a
screen) and as a signed-in user with no role that allows it (403).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from campus.hub.app import create_app as create_hub_app
from campus.hub.config import HubConfig
from campus.node.app import create_app as create_node_app
from campus.node.config import NodeConfig
from campus.node.store import NodeStore
from campus.schema.permissions import PERMISSIONS, Role
from campus.web.accounts.store import create_user
from campus.web.auth import DEVICE_SIGNATURE, NODE_SIGNATURE, PUBLIC
from tests.conftest import sign_in

PUBLIC_PATHS = {"/healthz", "/login", "/logout", "/api/v1/openapi.json", "/api/v1/auth/token", "/metrics", "/kiosk/pair",
                "/portal/sign-in", "/portal/sign-in/code", "/portal/sign-in/password"}  # families sign in to the portal
FAMILY = "family"  # the portal's pages: a signed-in family only; anyone else (staff too) is sent to sign in there


def walk(routes: list, prefix: str = "") -> Iterator[tuple[str, Route]]:
    for route in routes:
        if isinstance(route, Mount):
            if route.path == "/static":
                continue  # the stylesheet, served to anyone
            yield from walk(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, route


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "0190aa00-0000-7000-8000-000000000000", path)


def _requests(app) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    found = []
    for path, route in walk(app.routes):
        action = getattr(route.endpoint, "campus_action", None)
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            found.append((method, path, action))
    return found


@pytest.fixture
def node_app(node_config: NodeConfig):  # type: ignore[no-untyped-def]
    return create_node_app(node_config, background_sync=False)


@pytest.fixture
def hub_app(hub_config: HubConfig):  # type: ignore[no-untyped-def]
    return create_hub_app(hub_config)


@pytest.mark.parametrize("side", ["node", "hub"])
def test_every_route_declares_an_action_from_the_permission_table(side: str, request: pytest.FixtureRequest) -> None:
    app = request.getfixturevalue(f"{side}_app")

    undeclared = [(method, path) for method, path, action in _requests(app) if action is None]
    unknown = [(path, action) for _, path, action in _requests(app)
               if action not in PERMISSIONS and action not in (PUBLIC, NODE_SIGNATURE, DEVICE_SIGNATURE)]

    assert len(_requests(app)) >= 12  # the walk really found the app's routes
    assert undeclared == []
    assert unknown == []
    public = {path for _, path, action in _requests(app) if action == PUBLIC}
    assert public <= PUBLIC_PATHS


def _user_without_roles(store, username: str = "nobody") -> None:  # type: ignore[no-untyped-def]
    with store.unit_of_work() as uow:
        create_user(uow, username, "没有角色的人", "nobody-password-1", [])


def _walk_refusals(app, store) -> list[str]:  # type: ignore[no-untyped-def]
    problems = []
    _user_without_roles(store)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as anonymous, \
            TestClient(app, raise_server_exceptions=False, follow_redirects=False) as nobody:
        sign_in(nobody, "nobody", "nobody-password-1")
        for method, path, action in _requests(app):
            if action in (PUBLIC, NODE_SIGNATURE):
                continue
            url = _concrete(path)
            if action == DEVICE_SIGNATURE:  # a kiosk route: no user, signed in or not, gets through
                for who, client in (("anonymous", anonymous), ("signed-in user", nobody)):
                    answer = client.request(method, url)
                    if not (answer.status_code == 401 or answer.headers.get("location") == "/kiosk/pair"):
                        problems.append(f"{who} {method} {path}: {answer.status_code}")
                continue
            if action == FAMILY:
                for who, client in (("anonymous", anonymous), ("signed-in user", nobody)):
                    answer = client.request(method, url)
                    if answer.status_code != 303 or answer.headers["location"] != "/portal/sign-in":
                        problems.append(f"{who} {method} {path}: {answer.status_code}")
                continue
            answer = anonymous.request(method, url)
            is_screen = not path.startswith("/api/")
            if is_screen:
                if answer.status_code != 303 or not answer.headers["location"].startswith("/login"):
                    problems.append(f"anonymous {method} {path}: {answer.status_code}")
            elif answer.status_code != 401:
                problems.append(f"anonymous {method} {path}: {answer.status_code}")
            answer = nobody.request(method, url)
            if answer.status_code != 403:
                problems.append(f"role-less {method} {path}: {answer.status_code}")
    return problems


def test_node_refuses_strangers_and_the_unentitled_on_every_route(node_app, node_config: NodeConfig) -> None:  # type: ignore[no-untyped-def]
    store = NodeStore(node_config.database_path, node_config.node_id)
    try:
        assert _walk_refusals(node_app, store) == []
    finally:
        store.close()


def test_hub_refuses_strangers_and_the_unentitled_on_every_route(hub_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert _walk_refusals(hub_app, hub_app.state.hub.store) == []


def test_a_teacher_at_one_campus_has_no_rights_at_another(node_config: NodeConfig) -> None:
    from campus.schema.permissions import Principal

    teacher = Principal("u", "li", "李老师", {"other-campus": frozenset({Role.CAMPUS_MANAGER})})

    assert not teacher.can("leads.read", node_config.campus_id)
    assert teacher.can("leads.read", "other-campus")
