"""Creating a node directory: configuration, key pair, store, and enrollment with a hub."""

from __future__ import annotations

from pathlib import Path

from campus.node.config import CONFIG_FILE, NodeConfig
from campus.node.store import NodeStore
from campus.node.sync import client_for
from campus.schema.config import ConfigError
from campus.schema.ids import new_id
from campus.schema.times import utc_now_text
from campus.sync.client import enroll, rotate_key
from campus.sync.signing import generate_private_key, load_private_key, save_private_key
from campus.web.accounts.store import create_first_admin


def _refuse_existing(directory: Path) -> None:
    if (directory / CONFIG_FILE).exists():
        raise ConfigError(f"{directory} already holds a node or hub ({CONFIG_FILE} exists)")


def init_node(directory: Path, campus_code: str, campus_name: str, hub_url: str = "", token: str = "",
              admin_password: str | None = None, **overrides: object) -> NodeConfig:
    """Create ``directory`` as a campus node; with a hub URL and token, enroll it there.

    A node with no hub runs on its own: it creates its own campus record and first admin
    (``admin_password``, or one made up and left in the directory). An enrolled node gets its
    campus and its users from the hub, which owns both, and pins the hub's public key.
    """
    _refuse_existing(directory)
    if bool(hub_url) != bool(token):
        raise ConfigError("enrolling with a hub needs both --hub and --token")
    directory.mkdir(parents=True, exist_ok=True)
    private_key = generate_private_key()
    if hub_url:
        node_id = new_id()
        enrolled = enroll(hub_url, token, node_id, private_key, ca_file=str(overrides.get("ca_file", "")))
        if enrolled["campus_code"] != campus_code:
            raise ConfigError(f"the token is for campus {enrolled['campus_code']}, not {campus_code}")
        config = NodeConfig.new(directory, enrolled["campus_code"], enrolled["campus_name"],
                                node_id=enrolled["node_id"], campus_id=enrolled["campus_id"], hub_url=hub_url,
                                hub_public_key=enrolled["hub_public_key"].hex(), **overrides)
    else:
        config = NodeConfig.new(directory, campus_code, campus_name, **overrides)
    save_private_key(private_key, config.key_path)
    config.save()
    store = NodeStore(config.database_path, config.node_id)
    try:
        if hub_url:
            client = client_for(config, store)
            try:
                client.sync_once()  # the campus directory and the accounts, before anyone signs in
            finally:
                client.close()
        else:
            with store.unit_of_work() as uow:
                uow.insert("campuses", {"id": config.campus_id, "code": config.campus_code,
                                        "name": config.campus_name, "created_at": utc_now_text(), "deleted": False})
            create_first_admin(store, directory, admin_password)
    finally:
        store.close()
    return config


def rotate_node_key(config: NodeConfig) -> None:
    """A new key pair for this node, signed over by the old one; the old key stops working."""
    pending = config.key_path.with_suffix(".key.new")
    new_key = generate_private_key()
    save_private_key(new_key, pending)  # kept until the hub has accepted it, so nothing is lost either way
    rotate_key(config.hub_url, config.node_id, load_private_key(config.key_path), new_key, ca_file=config.ca_file)
    pending.replace(config.key_path)


def restore_node(directory: Path, hub_url: str, token: str, **overrides: object) -> NodeConfig:
    """Rebuild a campus whose disk died: a new key for the campus's node, then everything back from the hub."""
    _refuse_existing(directory)
    directory.mkdir(parents=True, exist_ok=True)
    private_key = generate_private_key()
    enrolled = enroll(hub_url, token, new_id(), private_key, ca_file=str(overrides.get("ca_file", "")))
    config = NodeConfig.new(directory, enrolled["campus_code"], enrolled["campus_name"],
                            node_id=enrolled["node_id"], campus_id=enrolled["campus_id"], hub_url=hub_url,
                            hub_public_key=enrolled["hub_public_key"].hex(), **overrides)
    save_private_key(private_key, config.key_path)
    config.save()
    NodeStore(config.database_path, config.node_id).close()
    return config
