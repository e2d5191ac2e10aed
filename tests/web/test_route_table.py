"""A walk of the route tables: every route that changes something reaches a use case (which
cannot commit without its audit event), or its action is listed as not sensitive."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.routing import Mount, Route

from campus.hub.app import create_app as create_hub
from campus.hub.config import HubConfig
from campus.node.app import create_app as create_node
from campus.node.config import NodeConfig
from campus.schema.permissions import NOT_SENSITIVE, PERMISSIONS
from campus.web.usecase import USE_CASES, UseCase

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def _walk(routes: list, prefix: str = "") -> Iterator[tuple[str, set[str], object]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _walk(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, set(route.methods or ()), route.endpoint


def test_every_mutating_route_reaches_an_audited_use_case_or_is_listed_as_not_sensitive(
        node_config: NodeConfig, hub_config: HubConfig) -> None:
    unaccounted = []
    apps = [("node", create_node(node_config, background_sync=False)), ("hub", create_hub(hub_config))]
    for name, app in apps:
        for path, methods, endpoint in _walk(app.routes):
            if not methods & MUTATING:
                continue
            action = getattr(endpoint, "campus_action", None)
            cases = getattr(endpoint, "use_cases", ())
            assert action in PERMISSIONS or action in NOT_SENSITIVE, f"{name} {path}: unknown action {action!r}"
            if cases:
                assert all(isinstance(c, UseCase) and c in USE_CASES.values() for c in cases), path
            elif action not in NOT_SENSITIVE and not getattr(endpoint, "writes_nothing", False):
                unaccounted.append(f"{name} {sorted(methods & MUTATING)} {path} ({action})")
    assert unaccounted == []


def test_every_use_case_names_a_permission_of_the_table() -> None:
    assert USE_CASES, "no use case registered"
    assert {c.permission for c in USE_CASES.values()} <= set(PERMISSIONS)


@pytest.mark.parametrize("reason", sorted(NOT_SENSITIVE.values()))
def test_each_not_sensitive_entry_says_why(reason: str) -> None:
    assert len(reason) > 20
