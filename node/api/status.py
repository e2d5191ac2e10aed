"""Change-log head and sync state of this node."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from campus.web.api import Api, json_response


def register(api: Api) -> None:
    @api.route("/log/head", "GET", "This node's change-log head", "sync.view", tags=["sync"])
    async def head(request: Request) -> Response:
        node = request.app.state.node
        seq, digest = await node.blocking(node.store.head)
        return json_response({"node_id": node.config.node_id, "seq": seq, "hash": digest.hex()})

    @api.route("/sync/status", "GET", "Outbox size and last successful sync", "sync.view", tags=["sync"])
    async def sync_status(request: Request) -> Response:
        node = request.app.state.node
        return json_response(await node.blocking(node.sync_state))
