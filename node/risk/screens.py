"""Refund-risk screens (危单预警): the campus's students at risk with their contracts, one
student's score factor by factor, and evaluating on demand."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from campus.node.risk import queries
from campus.node.risk import use_cases as cases
from campus.node.risk.api import min_score_param
from campus.node.screens import TEMPLATES
from campus.web.auth import actor_of
from campus.web.i18n import gettext_ as _
from campus.web.paging import list_view
from campus.web.templating import form_action, render
from campus.web.usecase import performs


async def risk_page(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal
    ctx = node.ctx
    min_score = min_score_param(request.query_params, ctx.risk.alert_threshold)
    view = list_view(request, ("score", "number", "name"), "score", filters={"min_score": None})
    shown = await node.query(queries.campus_risk, ctx, min_score, view.limit, view.offset, view.sort, view.descending)
    return render(TEMPLATES, request, "risk.html", {
        "app_title": node.config.campus_name, **shown, "view": view, "may_evaluate": viewer.can("risk.evaluate", ctx.id)})


async def student_risk_page(request: Request) -> Response:
    node = request.app.state.node
    shown = await node.query(queries.student_risk, node.ctx, request.path_params["student_id"])
    return render(TEMPLATES, request, "risk_student.html", {"app_title": node.config.campus_name, "risk": shown})


@performs(cases.evaluate_risk)
async def evaluate_now(request: Request) -> Response:
    node = request.app.state.node

    def evaluate(_form: FormData) -> str:
        done = cases.evaluate_risk(node.store, node.ctx, actor_of(request))
        return _("Risk evaluated: %(raised)s raised, %(cleared)s cleared") % {
            "raised": len(done["raised"]), "cleared": len(done["cleared"])}

    return await form_action(request, "/risk", evaluate)
