"""Headquarters' refund report: the group's refunds by campus, reason, kind, stage and month, the
group's refund rate, and the students at risk at every campus (the same report a campus reads
for itself, over the merged store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.hub.books.api import this_month
from campus.schema.refund_report import refund_report
from campus.web.api import Api, json_response, month_span
from campus.web.auth import guard
from campus.web.templating import make_templates, render
from campus.web.usecase import query

TEMPLATES = make_templates(Path(__file__).parent / "templates")


async def _report(request: Request) -> dict[str, Any]:
    start, end = month_span(request.query_params, this_month())
    hub = request.app.state.hub
    report = await query(hub.store, refund_report, None, start, end)
    codes = {c["id"]: c["code"] for c in hub.store.list_campuses()}
    for row in report["by_campus"]:
        row["campus_code"] = codes.get(row["contract_campus_id"], row["contract_campus_id"])
    for row in report["at_risk"]:
        row["campus_code"] = codes.get(row["campus_id"], row["campus_id"])
    return report


def register_refund_report_api(api: Api) -> None:
    @api.route("/refunds/report", "GET", "The group's refunds by campus, reason, kind, stage and month; refund "
               "rate; students at risk (?from=YYYY-MM&to=YYYY-MM)", "reports.group", tags=["refunds"])
    async def report(request: Request) -> Response:
        return json_response(await _report(request))


async def refund_report_page(request: Request) -> Response:
    return render(TEMPLATES, request, "hub_refunds.html", {"app_title": "Campus HQ", "report": await _report(request)})


def refund_report_routes() -> list[Route]:
    return [Route("/refunds/report", guard("reports.group", refund_report_page, screen=True))]
