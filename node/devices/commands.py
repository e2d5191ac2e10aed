"""``campus node device add|list|revoke``: the command line's side of the devices capability (it
acts as the campus's operator through the same use cases the screens call, so it is audited)."""

from __future__ import annotations

import getpass
from pathlib import Path

from campus.node.config import NodeConfig
from campus.node.context import NodeContext
from campus.node.devices import queries, registry
from campus.node.devices import use_cases as cases
from campus.node.store import NodeStore
from campus.schema.context import Actor
from campus.schema.errors import NotFound


def run(command: str, directory: Path, serial: str | None = None, name: str | None = None,
        charset: str | None = None, address: str | None = None) -> list[str]:
    """Carry out one device command on the node in ``directory``; the lines to print."""
    config = NodeConfig.load(directory)
    ctx = NodeContext.of(config)
    actor = Actor.machine(f"cli:{getpass.getuser()}")
    store = NodeStore(config.database_path, config.node_id)
    try:
        if command == "add":
            assert serial and name
            device = cases.approve_device(store, ctx, actor, serial, name, charset, address)
            port = f"{config.devices_port} (or {config.port})" if config.devices_port else str(config.port)
            return [f"terminal {device['serial']} ({device['name']}) approved; names go out as {device['charset'] or 'its language says'}"
                    + (f", only from {device['pinned_address']}" if device["pinned_address"] else ""),
                    f"point it at this node: Cloud server settings → server address of this machine, port {port}, "
                    "no proxy"]
        if command == "revoke":
            with store.read() as conn:
                found = registry.device_by_serial(conn, registry.valid_serial(serial or ""))
            if found is None:
                raise NotFound(f"no terminal {serial}", serial=serial)
            cases.revoke_device(store, ctx, actor, found["id"])
            return [f"terminal {serial} revoked: its requests are refused from now on"]
        with store.read() as conn:
            listed = queries.devices(conn, ctx)
        lines = [f"{'serial':<20} {'status':<9} {'name':<16} {'last contact':<21} {'address':<16} queued failed today"]
        for d in listed:
            contact = ctx.local(d["last_contact_at"]).strftime("%Y-%m-%d %H:%M:%S") if d["last_contact_at"] else "never"
            lines.append(f"{d['serial']:<20} {d['status']:<9} {d['name']:<16} {contact:<21} "
                         f"{d['last_address'] or '-':<16} {d['queued']:>6} {d['failed']:>6} {d['punches_today']:>5}")
        return lines if listed else ["no terminal has called this node yet"]
    finally:
        store.close()
