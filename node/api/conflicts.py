"""``/api/v1/conflicts``: what merges found, and resolving it."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from campus.node.context import NodeWork
from campus.schema.conflicts import list_conflicts
from campus.schema.conflicts import resolve_conflict as apply_resolution
from campus.schema.tables import conflicts
from campus.web.api import Api, Input, items_model, json_response, parse_body, row_model
from campus.web.usecase import performs, use_case


class ResolutionIn(Input):
    resolution: str = Field(min_length=1, max_length=2000)
    restore_lost_value: bool = False


@use_case("conflicts.resolve")
def resolve_conflict(work: NodeWork, conflict_id: str, resolution: str, restore_lost_value: bool) -> dict[str, Any]:
    row = apply_resolution(work.uow, conflict_id, resolution, restore_lost_value, work.actor.user_id)
    work.audit("conflict_resolved", target_table="conflicts", target_id=row["id"],
               after={"resolution": row["resolution"], "restored": restore_lost_value})
    return row


ConflictOut = row_model(conflicts, "Conflict")


def register(api: Api) -> None:
    @api.route("/conflicts", "GET", "Conflicts of this campus (open ones unless ?all=1)", "conflicts.read",
               tags=["sync"], response=items_model(ConflictOut, "ConflictList"))
    async def index(request: Request) -> Response:
        node = request.app.state.node
        rows = await node.query(list_conflicts, node.config.campus_id, open_only=request.query_params.get("all") != "1")
        return json_response({"items": rows})

    @api.route("/conflicts/{conflict_id}/resolve", "POST", "Resolve a conflict, optionally restoring the lost value",
               "conflicts.resolve", body=ResolutionIn, tags=["sync"], response=ConflictOut)
    @performs(resolve_conflict)
    async def resolve(request: Request) -> Response:
        resolution = await parse_body(request, ResolutionIn)
        row = await request.app.state.node.perform(request, resolve_conflict, request.path_params["conflict_id"],
                                                   resolution.resolution, resolution.restore_lost_value)
        return json_response(row)
