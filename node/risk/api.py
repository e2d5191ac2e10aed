"""``/api/v1`` refund risk (危单预警): a student's score with each factor's contribution, the
campus's students at risk with their contracts, and an evaluation on demand."""

from __future__ import annotations

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from campus.node.risk import queries
from campus.node.risk import use_cases as cases
from campus.web.api import Api, json_response, page_params
from campus.web.problems import InvalidInput
from campus.web.usecase import performs

MAX_SCORE = 1_000_000


def min_score_param(params: QueryParams, default: int) -> int:
    """``min_score``: a whole number from 0, by default the campus's alert threshold; or 422 naming it."""
    raw = params.get("min_score")
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) > MAX_SCORE:
        raise InvalidInput([{"field": "min_score", "message": f"a whole number from 0 to {MAX_SCORE}, not {raw!r}"}])
    return int(raw)


def register(api: Api) -> None:
    @api.route("/students/{student_id}/risk", "GET", "A student's refund-risk score and each factor's contribution",
               "risk.read", tags=["risk"])
    async def student_risk(request: Request) -> Response:
        node = request.app.state.node
        return json_response(await node.query(queries.student_risk, node.ctx, request.path_params["student_id"]))

    @api.route("/risk", "GET", "The campus's students at risk (score ?min_score= or more, default the alert "
               "threshold), highest first, with their contracts", "risk.read", tags=["risk"])
    async def campus_risk(request: Request) -> Response:
        node = request.app.state.node
        min_score = min_score_param(request.query_params, node.ctx.risk.alert_threshold)
        limit, offset = page_params(request)
        return json_response(await node.query(queries.campus_risk, node.ctx, min_score, limit, offset))

    @api.route("/risk/evaluate", "POST", "Evaluate now: raise, update and clear the campus's risk alerts",
               "risk.evaluate", tags=["risk"])
    @performs(cases.evaluate_risk)
    async def evaluate(request: Request) -> Response:
        return json_response(await request.app.state.node.perform(request, cases.evaluate_risk))
