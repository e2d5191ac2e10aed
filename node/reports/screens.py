"""The campus's report screens (``/reports``): the dashboard with KPI targets, each report with its
charts and tables, the Excel download and the records behind a person's figures."""

from __future__ import annotations

from starlette.routing import Route

from campus.node.reports.api import SOURCE
from campus.web.report_pages import report_routes


def routes() -> list[Route]:
    return report_routes(SOURCE)
