"""The e2e group (a hub with enrolled campus nodes on loopback) for the operations tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campus.hub.config import HubConfig
from tests.e2e.sync_helpers import Group, running_group


@pytest.fixture
def group(tmp_path: Path, hub_config: HubConfig) -> Iterator[Group]:
    """A SQLite hub with BJ01 enrolled and running."""
    with running_group(tmp_path, hub_config, "BJ01") as running:
        yield running
