"""Creating a node directory: configuration, store, and the campus's own record."""

from __future__ import annotations

from pathlib import Path

from campus.node.config import CONFIG_FILE, NodeConfig
from campus.node.store import NodeStore
from campus.schema.config import ConfigError
from campus.schema.times import utc_now_text


def init_node(directory: Path, campus_code: str, campus_name: str, **overrides: object) -> NodeConfig:
    """Create ``directory`` as a campus node. Refuses a directory that already holds one."""
    if (directory / CONFIG_FILE).exists():
        raise ConfigError(f"{directory} already holds a node or hub ({CONFIG_FILE} exists)")
    config = NodeConfig.new(directory, campus_code, campus_name, **overrides)
    config.save()
    store = NodeStore(config.database_path, config.node_id)
    try:
        with store.unit_of_work() as uow:
            uow.insert(
                "campuses",
                {"id": config.campus_id, "code": config.campus_code, "name": config.campus_name,
                 "created_at": utc_now_text(), "deleted": False},
            )
    finally:
        store.close()
    return config
