"""Fixtures the end-to-end tests share: a hub on loopback with enrolled, running campus nodes.

``group`` holds BJ01 and SH01 on a SQLite hub; a module that needs other campuses says so with
``pytestmark = pytest.mark.campuses("BJ01")``. ``any_group`` is the same group on each engine the
hub supports (SQLite, then PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campus.hub.config import HubConfig
from tests.e2e.sync_helpers import Group, running_group

DEFAULT_CAMPUSES = ("BJ01", "SH01")


def _campuses(request: pytest.FixtureRequest) -> tuple[str, ...]:
    marker = request.node.get_closest_marker("campuses")
    return tuple(marker.args) if marker else DEFAULT_CAMPUSES


@pytest.fixture
def group(request: pytest.FixtureRequest, tmp_path: Path, hub_config: HubConfig) -> Iterator[Group]:
    with running_group(tmp_path, hub_config, *_campuses(request)) as running:
        yield running


@pytest.fixture
def any_group(request: pytest.FixtureRequest, tmp_path: Path, any_hub_config: HubConfig) -> Iterator[Group]:
    """The group with its hub on each engine the hub supports."""
    with running_group(tmp_path, any_hub_config, *_campuses(request)) as running:
        yield running
