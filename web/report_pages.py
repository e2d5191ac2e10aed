"""The report routes both sides mount: ``/api/v1/reports/{name}`` (JSON), ``.xlsx`` beside it, the
records behind a person's figures, ``GET/PUT /api/v1/kpi-targets``, and the screens under
``/reports`` that render the same JSON with its SVG charts. A side supplies a :class:`ReportSource`:
how it builds a report (a node from its store, the hub from its roll-ups) and whose campus it is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.schema.context import CampusContext
from campus.schema.errors import Invalid
from campus.schema.report_records import KINDS, records
from campus.schema.report_rules import BadPeriod, Period, parse_period
from campus.schema.reports import KPI_LABELS, KPI_METRICS, REPORTS
from campus.schema.tables import users
from campus.web.api import Api, json_response, parse_body
from campus.web.auth import actor_of, guard
from campus.web.i18n import gettext_
from campus.web.kpi_targets import Metric, TargetIn, TargetsIn, set_kpi_targets
from campus.web.problems import InvalidInput
from campus.web.report_charts import format_value, render_chart
from campus.web.report_export import report_workbook, workbook_response
from campus.web.templating import form_action, make_templates, render
from campus.web.usecase import off_loop, perform, performs, query

TEMPLATES = make_templates(Path(__file__).parent / "templates")
Build = Callable[[Request, str, Period, bool, "str | None"], Awaitable[dict[str, Any]]]


@dataclass
class ReportSource:
    """How one side answers reports: ``build(request, name, period, compare, campus_id)``."""

    build: Build
    today: Callable[[Request], date]
    campus_of: Callable[[Request, str | None], str]  # the campus a drill or a target is about (422 if not)
    timezone_of: Callable[[Request, str], Awaitable[str]]
    context: Callable[[Request], CampusContext]
    read_action: str  # reading reports
    dashboard_action: str  # the dashboard (a consultant's own targets at a node)
    group: bool = False


def _compare(request: Request) -> bool:
    raw = request.query_params.get("compare", "")
    if raw not in ("", "0", "1", "previous", "true", "false"):
        raise InvalidInput([{"field": "compare", "message": "1 (or previous) to compare with the period before"}])
    return raw in ("1", "previous", "true")


def _period(request: Request, source: ReportSource) -> Period:
    return parse_period(request.query_params, source.today(request))


def _campus_param(request: Request) -> str | None:
    campus = request.query_params.get("campus") or None
    if campus is not None and len(campus) > 36:
        raise InvalidInput([{"field": "campus", "message": "a campus id"}])
    return campus


async def report_of(request: Request, source: ReportSource, name: str) -> dict[str, Any]:
    return await source.build(request, name, _period(request, source), _compare(request), _campus_param(request))


def _endpoints(source: ReportSource, report: str) -> tuple[Callable[[Request], Awaitable[Response]], ...]:
    async def as_json(request: Request) -> Response:
        return json_response(await report_of(request, source, report))

    async def as_xlsx(request: Request) -> Response:
        return await _xlsx(request, source, report)

    return as_json, as_xlsx


def register_report_api(api: Api, source: ReportSource) -> None:
    for name in REPORTS:
        action = source.dashboard_action if name == "dashboard" else source.read_action

        as_json, as_xlsx = _endpoints(source, name)
        where = "the group (each campus and the total; ?campus= for one)" if source.group else "the campus"
        api.route(f"/reports/{name}", "GET", f"The {name} report of {where} (?from=&to= days or months, or "
                  "?period=day|week|month&on=; ?compare=1 adds the period before)", action, tags=["reports"])(as_json)
        api.route(f"/reports/{name}.xlsx", "GET", f"The {name} report as an Excel workbook (the same figures)",
                  action, tags=["reports"])(as_xlsx)

    @api.route("/reports/records", "GET", "The records behind a person's figures (?kind=signings|renewals|lessons|"
               "cash&person=&campus=&from=&to=)", source.read_action, tags=["reports"])
    async def report_records(request: Request) -> Response:
        return json_response(await _records(request, source))

    @api.route("/kpi-targets", "GET", "A month's KPI targets (?period=YYYY-MM&campus=) with actuals, completion "
               "and gap", source.dashboard_action, tags=["reports"])
    async def get_targets(request: Request) -> Response:
        report = await _targets_report(request, source)
        return json_response({"period": request.query_params.get("period") or report["period"]["from"][:7],
                              "items": report["tables"][0]["rows"]})

    @api.route("/kpi-targets", "PUT", "Set a month's KPI targets of a campus and its people (0 removes one)",
               "kpi.manage", body=TargetsIn, tags=["reports"])
    @performs(set_kpi_targets)
    async def put_targets(request: Request) -> Response:
        given = await parse_body(request, TargetsIn)
        campus_id = source.campus_of(request, given.campus_id)
        changed = await perform(request.app.state.auth.store, source.context(request), actor_of(request),
                                set_kpi_targets, campus_id, given)
        return json_response({"period": given.period, "campus_id": campus_id, "changed": changed})


async def _targets_report(request: Request, source: ReportSource) -> dict[str, Any]:
    month = request.query_params.get("period") or ""
    params = {"on": month} if month else {}
    try:
        period = parse_period(params, source.today(request))
    except BadPeriod:
        raise InvalidInput([{"field": "period", "message": "a month like 2026-12"}]) from None
    return await source.build(request, "dashboard", period, False, _campus_param(request))


async def _records(request: Request, source: ReportSource) -> dict[str, Any]:
    kind = request.query_params.get("kind", "")
    if kind not in KINDS:
        raise InvalidInput([{"field": "kind", "message": f"one of {', '.join(KINDS)}"}])
    campus_id = source.campus_of(request, _campus_param(request))
    person = request.query_params.get("person") or None
    period = _period(request, source)
    timezone = await source.timezone_of(request, campus_id)
    items = await query(request.app.state.auth.store, records, campus_id, timezone, kind, person, period)
    return {"kind": kind, "campus_id": campus_id, "person": person, "period": period.as_dict(), "items": items}


async def _xlsx(request: Request, source: ReportSource, name: str) -> Response:
    report = await report_of(request, source, name)
    content = await off_loop(report_workbook, report, gettext_)
    scope = report["campus"]["code"] if report.get("campus") else "group"
    return workbook_response(content, f"{name}-{scope}-{report['period']['from']}-{report['period']['to']}.xlsx")


# --- screens ---------------------------------------------------------------------------------------------


def _page_context(request: Request, source: ReportSource, report: dict[str, Any]) -> dict[str, Any]:
    tables = {t["key"]: t for t in report["tables"]}
    charts = [render_chart(chart, tables, gettext_) for chart in report["charts"]]
    query_string = request.url.query
    return {"app_title": request.app.state.title, "report": report, "charts": charts, "fmt": format_value,
            "reports": [r for r in REPORTS if r != "dashboard"], "query_string": query_string,
            "group": source.group, "kpi_metrics": KPI_LABELS, "kpi_units": KPI_METRICS}


def report_routes(source: ReportSource) -> list[Route]:
    async def dashboard(request: Request) -> Response:
        report = await report_of(request, source, "dashboard")
        principal = request.state.principal
        may_set = principal.can("kpi.manage", request.app.state.auth.campus_id)
        people = await query(request.app.state.auth.store, staff) if may_set else []
        return render(TEMPLATES, request, "report.html", {**_page_context(request, source, report),
                                                          "may_set_targets": may_set, "people": people})

    def page(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def show(request: Request) -> Response:
            report = await report_of(request, source, name)
            return render(TEMPLATES, request, "report.html", {**_page_context(request, source, report),
                                                              "may_set_targets": False})
        return show

    def download(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def send(request: Request) -> Response:
            return await _xlsx(request, source, name)
        return send

    async def records_page(request: Request) -> Response:
        found = await _records(request, source)
        return render(TEMPLATES, request, "report_records.html", {"app_title": request.app.state.title,
                                                                  "records": found, "fmt": format_value,
                                                                  "group": source.group})

    @performs(set_kpi_targets)
    async def set_target(request: Request) -> Response:
        def save(form: FormData) -> str:
            campus_id = source.campus_of(request, str(form.get("campus_id") or "") or None)
            metric = str(form.get("metric") or "")
            if metric not in KPI_METRICS:
                raise Invalid("metric", "a KPI metric")
            target = _target_value(str(form.get("target") or ""), KPI_METRICS[metric])
            given = TargetsIn(period=str(form.get("period") or ""), campus_id=campus_id, targets=[
                TargetIn(user_id=str(form.get("user_id") or "") or None, metric=cast(Metric, metric), target=target)])
            set_kpi_targets(request.app.state.auth.store, source.context(request), actor_of(request), campus_id,
                            given)
            return gettext_("Target saved")

        return await form_action(request, f"/reports?period=month&on={request.query_params.get('on', '')}", save)

    routes = [Route("/reports", guard(source.dashboard_action, dashboard, screen=True)),
              Route("/reports/records", guard(source.read_action, records_page, screen=True)),
              Route("/reports/kpi-targets", guard("kpi.manage", set_target, screen=True), methods=["POST"])]
    for name in REPORTS:
        action = source.dashboard_action if name == "dashboard" else source.read_action
        routes.append(Route(f"/reports/{name}.xlsx", guard(action, download(name), screen=True)))
        routes.append(Route(f"/reports/{name}", guard(action, page(name), screen=True)))
    return routes


def staff(conn: Connection) -> list[dict[str, str]]:
    """Who a target may be set for: every active account, by name."""
    return [{"id": r.id, "name": r.display_name} for r in conn.execute(
        select(users.c.id, users.c.display_name).where(users.c.active.is_(True), users.c.deleted.is_(False))
        .order_by(users.c.display_name))]


def _target_value(text: str, unit: str) -> int:
    """A target typed on the form: yuan (two decimals at most) for money, a whole number otherwise."""
    try:
        amount = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise Invalid("target", "a number") from None
    value = amount.scaleb(2) if unit == "fen" else amount
    if value != value.to_integral_value() or value < 0 or value > 10**15:
        raise Invalid("target", "a whole amount from 0 (yuan to the fen)")
    return int(value)
