"""Change-log head and sync state of this node."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from campus.web.api import Api, Output, json_response


class LogHead(Output):
    node_id: str
    seq: int
    hash: str  # SHA-256, hex


class NodeSyncState(Output):
    """``Node.sync_state``: the log's head, what waits to be pushed, the last sync and backup."""

    enrolled: bool
    hub_url: str | None
    head_seq: int
    head_hash: str
    outbox_size: int
    pull_cursor: int
    last_successful_sync: str | None
    last_error: str | None
    divergent_tables: int
    last_backup_at: str | None
    last_backup_age_seconds: int | None


def register(api: Api) -> None:
    @api.route("/log/head", "GET", "This node's change-log head", "sync.view", tags=["sync"],
               response=LogHead)
    async def head(request: Request) -> Response:
        node = request.app.state.node
        seq, digest = await node.blocking(node.store.head)
        return json_response({"node_id": node.config.node_id, "seq": seq, "hash": digest.hex()})

    @api.route("/sync/status", "GET", "Outbox size and last successful sync", "sync.view", tags=["sync"],
               response=NodeSyncState)
    async def sync_status(request: Request) -> Response:
        node = request.app.state.node
        return json_response(await node.blocking(node.sync_state))
