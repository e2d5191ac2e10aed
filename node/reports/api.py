"""``/api/v1/reports/...`` and ``/api/v1/kpi-targets`` of a campus: its own reports, built from its
store (a consultant or academic advisor sees their own targets on the dashboard)."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request

from campus.node.reports.queries import campus_report
from campus.schema.context import CampusContext
from campus.schema.report_rules import Period
from campus.web.api import Api
from campus.web.problems import InvalidInput
from campus.web.report_pages import ReportSource, register_report_api


async def _build(request: Request, name: str, period: Period, compare: bool, campus_id: str | None) -> dict[str, Any]:
    node = request.app.state.node
    _own_campus(request, campus_id)
    principal = request.state.principal
    report = await node.query(campus_report, node.ctx, name, period, compare, principal.user_id,
                              node.ctx.reports)
    if name == "dashboard" and not principal.can("reports.read", node.ctx.id):
        # a consultant or academic advisor: their own targets, not the campus's figures
        report["figures"] = report["own_figures"]
        report["tables"][0]["rows"] = [row for row in report["tables"][0]["rows"] if row["mine"]]
    return report


def _own_campus(request: Request, campus_id: str | None) -> str:
    own = request.app.state.node.ctx.id
    if campus_id not in (None, own):
        raise InvalidInput([{"field": "campus", "message": "a campus reads only its own reports"}])
    return own


async def _timezone(request: Request, _campus_id: str) -> str:
    return str(request.app.state.node.ctx.timezone)


def _today(request: Request) -> date:
    return request.app.state.node.ctx.today()


def _context(request: Request) -> CampusContext:
    return request.app.state.node.ctx


SOURCE = ReportSource(build=_build, today=_today, campus_of=_own_campus, timezone_of=_timezone, context=_context,
                      read_action="reports.read", dashboard_action="reports.dashboard")


def register(api: Api) -> None:
    register_report_api(api, SOURCE)
