"""``/api/v1/conflicts``: what merges found, and resolving it."""

from __future__ import annotations

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from campus.schema.accounts import record_audit
from campus.schema.conflicts import list_conflicts, resolve_conflict
from campus.web.api import Api, Input, json_response, parse_body
from campus.web.auth import client_ip


class ResolutionIn(Input):
    resolution: str = Field(min_length=1, max_length=2000)
    restore_lost_value: bool = False


def register(api: Api) -> None:
    @api.route("/conflicts", "GET", "Conflicts of this campus (open ones unless ?all=1)", "conflicts.read",
               tags=["sync"])
    async def index(request: Request) -> Response:
        node = request.app.state.node
        with node.store.read() as conn:
            rows = list_conflicts(conn, node.config.campus_id, open_only=request.query_params.get("all") != "1")
        return json_response({"items": rows})

    @api.route("/conflicts/{conflict_id}/resolve", "POST", "Resolve a conflict, optionally restoring the lost value",
               "conflicts.resolve", body=ResolutionIn, tags=["sync"])
    async def resolve(request: Request) -> Response:
        resolution = await parse_body(request, ResolutionIn)
        node, principal = request.app.state.node, request.state.principal
        with node.store.unit_of_work() as uow:
            row = resolve_conflict(uow, request.path_params["conflict_id"], resolution.resolution,
                                   resolution.restore_lost_value, principal.user_id)
            record_audit(uow, "conflict_resolved", campus_id=node.config.campus_id, client_ip=client_ip(request),
                         user_id=principal.user_id, username=principal.username, target_table="conflicts",
                         target_id=row["id"], after={"resolution": row["resolution"],
                                                     "restored": resolution.restore_lost_value})
        return json_response(row)
