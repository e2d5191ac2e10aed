"""Headquarters' group payroll: every campus's approved runs per month, and the group's total per
month, which is the sum of the campuses' (read from the merged ``payroll_runs``; a draft is not
pay yet and is left out)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.hub.books.api import month_range, read
from campus.schema.tables import campuses, payroll_runs, payslips
from campus.web.api import Api, json_response
from campus.web.auth import guard
from campus.web.templating import make_templates, render

TEMPLATES = make_templates(Path(__file__).parent / "templates")
PERMISSION = "reports.group"
FIGURES = ("payslips", "lesson_fees_fen", "commissions_fen", "other_pay_fen", "total_fen")


def group_payroll(conn: Connection, start: str, end: str) -> dict[str, Any]:
    """Per month from ``start`` to ``end``: each campus's approved (or paid) run and the group's total."""
    heads: dict[str, int] = dict(conn.execute(select(payslips.c.run_id, func.count()).where(payslips.c.deleted.is_(False))
                              .group_by(payslips.c.run_id)).all())
    names = {r.id: (r.code, r.name) for r in conn.execute(select(campuses.c.id, campuses.c.code, campuses.c.name))}
    rows = []
    for run in conn.execute(select(payroll_runs).where(
            payroll_runs.c.status.in_(("approved", "paid")), payroll_runs.c.deleted.is_(False),
            payroll_runs.c.period >= start, payroll_runs.c.period <= end)).mappings():
        code, name = names.get(run["campus_id"], (run["campus_id"], ""))
        rows.append({"period": run["period"], "campus_id": run["campus_id"], "campus_code": code, "campus_name": name,
                     "status": run["status"], "approved_at": run["approved_at"], "paid_at": run["paid_at"],
                     "payslips": int(heads.get(run["id"], 0)),
                     **{k: int(run[k]) for k in FIGURES if k != "payslips"}})
    rows.sort(key=lambda r: (r["period"], r["campus_code"]))
    months: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    for row in rows:
        for key in FIGURES:
            months[row["period"]][key] += row[key]
    total = {key: sum(m[key] for m in months.values()) for key in FIGURES}
    return {"from": start, "to": end, "items": rows,
            "months": [{"period": period, **figures} for period, figures in sorted(months.items())], "total": total}


def register_group_payroll_api(api: Api) -> None:
    @api.route("/payroll/group", "GET", "Group payroll: each campus's approved run per month and the group total "
               "(?from=YYYY-MM&to=YYYY-MM)", PERMISSION, tags=["payroll"])
    async def group(request: Request) -> Response:
        start, end = month_range(request.query_params)
        return json_response(await read(request, lambda conn: group_payroll(conn, start, end)))


async def group_payroll_page(request: Request) -> Response:
    start, end = month_range(request.query_params)
    figures = await read(request, lambda conn: group_payroll(conn, start, end))
    by_month: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in figures["items"]:
        by_month[row["period"]].append(row)
    return render(TEMPLATES, request, "payroll_group.html", {
        "app_title": request.app.state.title, "figures": figures, "by_month": by_month, "start": start, "end": end})


def group_payroll_routes() -> list[Route]:
    return [Route("/payroll", guard(PERMISSION, group_payroll_page, screen=True))]
