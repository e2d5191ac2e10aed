"""Creating a hub directory and its store."""

from __future__ import annotations

from pathlib import Path

from campus.hub.config import CONFIG_FILE, HubConfig
from campus.hub.store import HubStore
from campus.schema.config import ConfigError
from campus.sync.signing import generate_private_key, save_private_key
from campus.web.accounts.store import create_first_admin


def init_hub(directory: Path, database_url: str = "", admin_password: str | None = None,
             **overrides: object) -> HubConfig:
    if (directory / CONFIG_FILE).exists():
        raise ConfigError(f"{directory} already holds a node or hub ({CONFIG_FILE} exists)")
    config = HubConfig.new(directory, database_url=database_url, **overrides)
    config.save()
    save_private_key(generate_private_key(), config.key_path)
    store = HubStore(config.store_url, config.hub_id)  # creates and migrates the store
    try:
        create_first_admin(store, directory, admin_password)
    finally:
        store.close()
    return config
